"""Organisations: OVEC and every college, one kind. Each has its staff (with roles and acting
relations), its agency code for ``ที่``, its address and its registers' name.

A college's staff are its accounts (``account.college_code``, role on the account); OVEC's
staff are the OVEC accounts, with their role in OVEC in ``organisation_member`` (``clerk``
until set otherwise with ``saraban user role``: OVEC's accounts are managed from the command
line, as ``saraban user add`` makes them). A college imported after migration 0010 gets its
organisation row the first time it is needed (:func:`of_college`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from saraban.domain import principal
from saraban.domain.errors import Forbidden, Invalid, NotFound
from saraban.domain.principal import Principal
from saraban.domain.text import visible_text
from saraban.domain.vocabulary import ACTING_CHOICES, ROLES, SessionKind
from saraban.services import audit
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    Account,
    AccountKind,
    College,
    Organisation,
    OrganisationMember,
    VisibleStr,
    utcnow,
)

OVEC_DEFAULT_ROLE = "clerk"


class Member(BaseModel):
    """A member of an organisation's staff, as the compose page and the routing offer them."""

    id: int
    username: str
    name: str
    position: str
    role: str
    acting: str
    acting_for: str


class OrganisationView(BaseModel):
    id: int
    kind: str
    college_code: str | None
    name: str
    short_name: str
    agency_code: str
    address: str


class OrganisationUpdate(BaseModel):
    short_name: VisibleStr | None = Field(default=None, max_length=100)
    agency_code: VisibleStr | None = Field(default=None, max_length=50, description="ศธ 0603")
    address: VisibleStr | None = Field(default=None, max_length=1000, description="lines")


def view(org: Organisation) -> OrganisationView:
    assert org.id is not None
    return OrganisationView(
        id=org.id,
        kind=org.kind,
        college_code=org.college_code,
        name=org.name,
        short_name=org.short_name,
        agency_code=org.agency_code,
        address=org.address,
    )


def ovec(session: Session) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.kind == "ovec")).first()
    if org is None:  # the migration made it; a database without it was tampered with
        raise NotFound("OVEC's organisation is missing (migration 0010_organisations)")
    return org


def of_college(session: Session, code: str) -> Organisation:
    org = session.exec(select(Organisation).where(Organisation.college_code == code)).first()
    if org is not None:
        return org
    college = session.get(College, code)
    if college is None:
        raise NotFound(f"no college {code}")
    org = Organisation(kind="college", college_code=code, name=college.name)
    session.add(org)
    session.flush()
    return org


def of_colleges(session: Session, codes: Sequence[str]) -> list[Organisation]:
    """:func:`of_college` for many at once (in their order), the missing made in one flush."""
    found = {
        o.college_code: o
        for o in session.exec(
            select(Organisation).where(col(Organisation.college_code).in_(codes))
        ).all()
    }
    missing = [code for code in codes if code not in found]
    if missing:
        colleges = session.exec(select(College).where(col(College.code).in_(missing))).all()
        made = [Organisation(kind="college", college_code=c.code, name=c.name) for c in colleges]
        session.add_all(made)
        session.flush()
        found.update((o.college_code, o) for o in made)
    for code in codes:
        if code not in found:
            raise NotFound(f"no college {code}")
    return [found[code] for code in codes]


def get(session: Session, organisation_id: int) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"no organisation {organisation_id}")
    return org


def organisation_of(session: Session, who: Principal) -> Organisation:
    """The organisation the principal acts in: OVEC for OVEC staff, else their college."""
    principal.active(who)
    if who.kind == SessionKind.OVEC:
        return ovec(session)
    if who.college_code is None:
        raise Forbidden("no organisation")
    return of_college(session, who.college_code)


def found_of(session: Session, who: Principal) -> Organisation | None:
    """:func:`organisation_of` for reading: a college without its row yet (it is made when
    first needed) is None, so that a page that only lists never writes (many readers at once
    would queue on SQLite's one writer)."""
    principal.active(who)
    if who.kind == SessionKind.OVEC:
        return ovec(session)
    if who.college_code is None:
        raise Forbidden("no organisation")
    return session.exec(
        select(Organisation).where(Organisation.college_code == who.college_code)
    ).first()


def _ovec_roles(session: Session, org_id: int) -> dict[int, str]:
    rows = session.exec(
        select(OrganisationMember).where(OrganisationMember.organisation_id == org_id)
    ).all()
    return {row.account_id: row.role for row in rows}


def members(session: Session, org: Organisation) -> list[Member]:
    """The organisation's active staff, by name."""
    query = select(Account).where(col(Account.active).is_(True))
    if org.kind == "ovec":
        query = query.where(Account.kind == AccountKind.OVEC)
        roles = _ovec_roles(session, org.id or 0)
    else:
        query = query.where(Account.college_code == org.college_code)
        roles = {}
    out = []
    for account in session.exec(query.order_by(col(Account.name))).all():
        assert account.id is not None
        out.append(
            Member(
                id=account.id,
                username=account.username,
                name=account.name,
                position=account.position,
                role=roles.get(account.id, OVEC_DEFAULT_ROLE)
                if org.kind == "ovec"
                else (account.role or "staff"),
                acting=account.acting,
                acting_for=account.acting_for,
            )
        )
    return out


def member(session: Session, org: Organisation, account_id: int) -> Member:
    for found in members(session, org):
        if found.id == account_id:
            return found
    raise NotFound(f"no member of staff {account_id} in {org.name}")


def role_of(session: Session, org: Organisation, who: Principal) -> str | None:
    """The principal's role in the organisation (None: the college's own account)."""
    if who.account_id is None:
        return None
    return member(session, org, who.account_id).role


def update(session: Session, *, who: Principal, data: OrganisationUpdate) -> Organisation:
    """The organisation's agency code, address, registers' name: its own account (a college)
    or an OVEC clerk."""
    org = organisation_of(session, who)
    if who.kind == SessionKind.STAFF:
        raise Forbidden("เฉพาะบัญชีของสถานศึกษา / only the college's own account may do this")
    changes = data.model_dump(exclude_none=True)
    for key, value in changes.items():
        setattr(org, key, unicodedata.normalize("NFC", value).strip())
    org.updated_at = utcnow()
    session.add(org)
    session.flush()
    audit.record(session, "organisation_updated", who.actor, f"organisation:{org.id}", changes)
    return org


def set_ovec_member(
    session: Session,
    *,
    username: str,
    role: str,
    position: str | None = None,
    acting: str | None = None,
    acting_for: str | None = None,
    by: str,
) -> Member:
    """An OVEC account's role, position and acting relation in OVEC (``saraban user role``);
    what is None stays as it is. Needs a write transaction (immediate on SQLite)."""
    if role not in ROLES:
        raise Invalid("role", f"{role!r} is not one of {', '.join(ROLES)}")
    account = session.exec(
        select(Account).where(Account.username == username.strip().lower())
    ).first()
    if account is None or account.kind != AccountKind.OVEC or account.id is None:
        raise NotFound(f"no OVEC account {username}")
    if acting is not None and acting not in ACTING_CHOICES:
        raise Invalid("acting", f"{acting!r} is not one of {', '.join(ACTING_CHOICES[1:])}")
    if position is not None:
        position = visible_text("position", position)
        account.position = " ".join(unicodedata.normalize("NFC", position).split())
    if acting is not None:
        account.acting = acting
        acting_for = visible_text("acting_for", acting_for or "")
        account.acting_for = (
            " ".join(unicodedata.normalize("NFC", acting_for).split()) if acting else ""
        )
        if acting and not account.acting_for:
            raise Invalid("acting_for", "the post acted for is required with an acting relation")
    account.updated_at = utcnow()
    session.add(account)
    org = ovec(session)
    row = session.get(OrganisationMember, account.id)
    if row is None:
        row = OrganisationMember(account_id=account.id, organisation_id=org.id or 0, role=role)
    row.role = role
    session.add(row)
    session.flush()
    audit.record(
        session,
        "organisation_member_set",
        by,
        f"account:{account.id}",
        {"role": role, "position": account.position, "acting": account.acting},
    )
    return member(session, org, account.id)


def assign_ovec_member(
    engine: Engine,
    *,
    username: str,
    role: str,
    position: str | None = None,
    acting: str | None = None,
    acting_for: str | None = None,
    by: str,
) -> Member:
    """:func:`set_ovec_member` in a write transaction of its own (``saraban user role``)."""
    with session_scope(engine, immediate=True) as session:
        return set_ovec_member(
            session,
            username=username,
            role=role,
            position=position,
            acting=acting,
            acting_for=acting_for,
            by=by,
        )


def colleges(session: Session, province: str | None = None) -> list[College]:
    query = select(College)
    if province:
        query = query.where(College.province == province)
    return list(session.exec(query.order_by(col(College.code))).all())
