"""Accounts and logging in: OVEC staff, colleges (by their credential) and college staff.

A college logs in with its code and the password from its credential slip, checked against
the live credential's argon2 hash (a hash made with other settings is replaced on success, as
``saraban.services.credentials.verify`` does). OVEC staff are made with ``saraban user add``;
college staff by their college, with a first password they must change at their first login.

Logging in takes two short transactions around the hash: the first asks the throttle
(saraban.services.throttle) and reads the stored hash, the second records the outcome. No
transaction is open while the hash is computed, and a throttled attempt computes none.

The passwords themselves are checked and hashed by saraban.services.passwords.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from credentials import LONG_POLICY, generate
from saraban.domain import principal
from saraban.domain.colleges import normalise_college_code
from saraban.domain.errors import Conflict, Forbidden, Invalid, NotFound, Unauthorized
from saraban.domain.principal import Principal
from saraban.domain.routing import RoutingError, Staff
from saraban.domain.text import visible_text
from saraban.domain.vocabulary import SessionKind
from saraban.services import audit, passwords, sessions, throttle
from saraban.services.passwords import Client
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    Account,
    AccountKind,
    StaffCreate,
    StaffUpdate,
    utcnow,
)

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
_OVEC_USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal
    device: str | None = None  # the device cookie's new value (saraban.services.throttle)


def login(
    engine: Engine,
    settings: Settings,
    *,
    username: str,
    password: str,
    client: Client,
    device: str | None = None,
) -> LoginResult:
    """Check a username and password; a new session on success, with a device cookie for
    the next login (``LoginResult.device``).

    Raises Throttled (no hash computed) or Unauthorized (the same for an unknown username,
    a wrong password, a void credential or a switched-off account). ``device`` is the
    client's device cookie, if it sent one: a right one lets it past the account-wide budget
    (saraban.services.throttle).
    """
    name = passwords.normalise_username(username)
    known = throttle.device_ok(settings.secret, name, device, utcnow())
    budget = passwords.limits_for(settings, name, client.address, known_device=known)
    target = passwords.attempt(engine, settings, budget, name, utcnow())
    try:
        ok, new_hash = passwords.check(settings, password, target)
    except BaseException:
        passwords.released(engine, budget)
        raise
    if not ok or target is None:
        passwords.failed(engine, name, client, "login", budget)
        raise Unauthorized("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง / wrong username or password")
    now = utcnow()
    code = target.college_code
    if target.kind == SessionKind.STAFF and code:
        with session_scope(engine) as session:
            college_open = passwords.college_open(session, code)
        if not college_open:  # a void blocks its staff until a new credential is issued
            passwords.released(engine, budget)
            raise Unauthorized("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง / wrong username or password")
    with session_scope(engine, immediate=True) as session:
        if target.kind == SessionKind.STAFF and code and not passwords.college_open(session, code):
            raise Unauthorized("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง / wrong username or password")
        passwords.succeeded(session, budget)
        if new_hash:
            passwords.store_rehash(session, target, new_hash)
        token, row = sessions.create(
            session,
            kind=target.kind,
            address=client.address,
            now=now,
            settings=settings,
            account_id=target.account_id,
            credential_id=target.credential_id,
            college_code=target.college_code,
        )
        account = session.get(Account, target.account_id) if target.account_id else None
        college = None
        if target.kind == SessionKind.COLLEGE and target.college_code:
            college = store.get_college(session=session, code=target.college_code)
        who = sessions.principal_of(row, account, college.name if college else None)
        details = {"address": client.address, "kind": target.kind.value, "rehashed": bool(new_hash)}
        audit.record(session, "login", who.actor, f"session:{row.id}", details)
    device_cookie = throttle.device_token(settings.secret, name, now, settings.device_days)
    return LoginResult(token, who, device_cookie)


def logout(session: Session, *, who: Principal) -> None:
    sessions.revoke(session, session_id=who.session_id, now=utcnow())
    audit.record(session, "logout", who.actor, f"session:{who.session_id}")


# --------------------------------------------------------------------------- #
# Passwords
# --------------------------------------------------------------------------- #


def check_new_password(password: str, *, username: str, field: str = "new_password") -> None:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        limits = f"{MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH}"
        raise Invalid(field, f"ต้องยาว {limits} ตัวอักษร / must be {limits} characters long")
    if username.split("@", 1)[0] in password.lower() or len(set(password)) < 4:
        raise Invalid(field, "คาดเดาง่ายเกินไป / too easy to guess")


def change_password(
    engine: Engine,
    settings: Settings,
    *,
    who: Principal,
    current: str,
    new: str,
    client: Client,
) -> LoginResult:
    """A member of staff or OVEC changes their own password: every session of theirs ends and
    a new one begins. The current password is checked under the login throttle."""
    if who.account_id is None:
        raise Forbidden(
            "รหัสผ่านของสถานศึกษาคือรหัสในใบแจ้ง / a college's password is its credential: "
            "OVEC reissues it"
        )
    check_new_password(new, username=who.username)
    if new == current:
        raise Invalid("new_password", "must differ from the current password")
    # Logged in already: the account-wide budget is not this session's to spend.
    budget = passwords.limits_for(settings, who.username, client.address, known_device=True)
    target = passwords.attempt(engine, settings, budget, who.username, utcnow())
    try:
        ok, _ = passwords.check(settings, current, target)
        new_hash = passwords.make_hash(settings.hashing, new) if ok else ""
    except BaseException:
        passwords.released(engine, budget)
        raise
    if not ok or target is None or target.account_id != who.account_id:
        passwords.failed(engine, who.username, client, "session/password", budget)
        raise Invalid("current_password", "ไม่ถูกต้อง / is wrong")
    now = utcnow()
    with session_scope(engine, immediate=True) as session:
        passwords.succeeded(session, budget)
        account = session.get(Account, who.account_id)
        if account is None or not account.active:
            raise Unauthorized("the account is switched off")
        account.password_hash = new_hash
        account.must_change_password = False
        account.updated_at = now
        session.add(account)
        sessions.revoke_account(session, account_id=who.account_id, now=now)
        token, row = sessions.create(
            session,
            kind=who.kind,
            address=client.address,
            now=now,
            settings=settings,
            account_id=account.id,
            college_code=account.college_code,
        )
        audit.record(session, "password_changed", who.actor, f"account:{account.id}")
        return LoginResult(token, sessions.principal_of(row, account, None))


# --------------------------------------------------------------------------- #
# OVEC staff
# --------------------------------------------------------------------------- #


def create_ovec_user(
    session: Session, *, username: str, name: str, password: str, settings: Settings, by: str
) -> Account:
    """An OVEC account (``saraban user add``). Needs a write transaction (immediate on SQLite)."""
    username = username.strip().lower()
    if not _OVEC_USERNAME.fullmatch(username):
        raise Invalid("username", "3-64 of a-z, 0-9, '.', '_', '-', starting with a letter")
    name = " ".join(visible_text("name", name).split())
    if not name:
        raise Invalid("name", "must not be empty")
    check_new_password(password, username=username, field="password")
    password_hash = passwords.make_hash(settings.hashing, password)  # before the transaction
    if session.exec(select(Account.id).where(Account.username == username)).first():
        raise Conflict(f"username {username} is taken")
    account = Account(
        username=username,
        kind=AccountKind.OVEC,
        name=name,
        password_hash=password_hash,
        must_change_password=False,
        created_by=by,
    )
    session.add(account)
    session.flush()
    audit.record(session, "user_created", by, f"account:{account.id}", {"username": username})
    return account


def add_ovec_user(
    engine: Engine, settings: Settings, *, username: str, name: str, password: str, by: str
) -> Account:
    """:func:`create_ovec_user` in a write transaction of its own (``saraban user add``)."""
    with session_scope(engine, immediate=True) as session:
        return create_ovec_user(
            session, username=username, name=name, password=password, settings=settings, by=by
        )


# --------------------------------------------------------------------------- #
# College staff (managed by the college's own account)
# --------------------------------------------------------------------------- #


def routing_staff(account: Account) -> Staff:
    """The member of staff as the routing rules see them."""
    return Staff(
        id=account.id or 0,
        name=account.name,
        position=account.position,
        role=account.role,  # type: ignore[arg-type]  # checked by Staff
        acting=account.acting,
        acting_for=account.acting_for,
    )


def _check_staff(account: Account) -> None:
    """The routing rules' checks (the acting relation and the post acted for, both or none)."""
    try:
        routing_staff(account)
    except RoutingError as exc:
        raise Invalid(exc.field.removeprefix("staff."), exc.message) from None


def list_staff(session: Session, *, who: Principal) -> list[Account]:
    code = principal.college_of(who)
    query = select(Account).where(Account.college_code == code).order_by(col(Account.id))
    return list(session.exec(query))


def get_staff(session: Session, *, who: Principal, staff_id: int) -> Account:
    code = principal.college_of(who)
    account = session.get(Account, staff_id)
    if account is None or account.college_code != code:
        raise NotFound(f"no staff {staff_id}")
    return account


def create_staff(
    session: Session, *, who: Principal, data: StaffCreate, settings: Settings
) -> tuple[Account, str | None]:
    """A new member of staff; returns them and the generated first password, if none was
    given (shown once, stored only as its hash). Their first login asks for a new one."""
    code = principal.college_account(who)
    username = f"{data.handle}@{code}"
    if data.password is not None:
        check_new_password(data.password, username=username, field="password")
    password = data.password or generate(LONG_POLICY)
    # Hashed before the first query opens the write transaction (on SQLite, the write lock:
    # every other writer would wait for the hash).
    password_hash = passwords.make_hash(settings.hashing, password)
    taken = Conflict(f"{data.handle} is already a member of staff of this college")
    if session.exec(select(Account.id).where(Account.username == username)).first():
        raise taken
    account = Account.model_validate(
        data.model_dump(exclude={"handle", "password"}),
        update={
            "username": username,
            "kind": AccountKind.STAFF,
            "college_code": code,
            "password_hash": password_hash,
            "must_change_password": True,
            "created_by": who.actor,
        },
    )
    _check_staff(account)
    session.add(account)
    try:
        session.flush()
    except IntegrityError:
        raise taken from None
    details = {"username": username, "role": account.role, "acting": account.acting}
    audit.record(session, "staff_created", who.actor, f"account:{account.id}", details)
    return account, None if data.password else password


def update_staff(session: Session, *, who: Principal, staff_id: int, data: StaffUpdate) -> Account:
    """Change a member's name, position, role or acting relation, or switch them off (which
    ends their sessions). Notes they signed keep what they were signed with."""
    principal.college_account(who)
    account = get_staff(session, who=who, staff_id=staff_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    for field, value in changes.items():
        setattr(account, field, value)
    _check_staff(account)
    now = utcnow()
    account.updated_at = now
    session.add(account)
    if changes.get("active") is False:
        sessions.revoke_account(session, account_id=staff_id, now=now)
    session.flush()
    audit.record(session, "staff_updated", who.actor, f"account:{staff_id}", changes)
    return account


def reset_staff_password(
    session: Session, *, who: Principal, staff_id: int, settings: Settings
) -> tuple[Account, str]:
    """A new temporary password (returned once); their sessions end and the next login asks
    for a new password."""
    principal.college_account(who)
    password = generate(LONG_POLICY)
    password_hash = passwords.make_hash(settings.hashing, password)  # before the transaction
    account = get_staff(session, who=who, staff_id=staff_id)
    now = utcnow()
    account.password_hash = password_hash
    account.must_change_password = True
    account.updated_at = now
    session.add(account)
    sessions.revoke_account(session, account_id=staff_id, now=now)
    session.flush()
    audit.record(session, "password_reset", who.actor, f"account:{staff_id}")
    return account, password


# --------------------------------------------------------------------------- #
# Staff made with a credential since voided or reissued (OVEC and the college)
# --------------------------------------------------------------------------- #


def _college_for(session: Session, who: Principal, code: str) -> str:
    """The college whose staff ``who`` may see and switch off: OVEC any college, a college's
    own account its own (anyone else: not found, as for a credential)."""
    if who.kind == SessionKind.OVEC:
        principal.active(who)
        normalised = _code_or_none(code)
        if normalised is None or store.get_college(session=session, code=normalised) is None:
            raise NotFound(f"no college {code}")
        return normalised
    own = principal.college_of(who)
    if _code_or_none(code) != own:
        raise NotFound(f"no college {code}")
    return principal.college_account(who)  # the college's own account: its staff may not


def _code_or_none(code: str) -> str | None:
    try:
        return normalise_college_code(code)
    except ValueError:
        return None


def staff_since_previous(session: Session, *, who: Principal, code: str) -> list[Account]:
    """The college's staff accounts made since its previous credential was issued, oldest
    first: whoever held that credential's slip may have made them. The previous credential is
    the one before the latest (a reissue voided it), or the latest itself when it is void and
    the only one. Empty when no credential was ever voided."""
    code = _college_for(session, who, code)
    history = store.credential_history(session=session, code=code)
    if not any(c.voided_at for c in history):
        return []
    since = history[-2].issued_at if len(history) >= 2 else history[0].issued_at
    query = (
        select(Account)
        .where(
            col(Account.college_code) == code,
            col(Account.kind) == AccountKind.STAFF.value,
            col(Account.created_at) >= since,
        )
        .order_by(col(Account.created_at), col(Account.id))
    )
    return list(session.exec(query))


def switch_off_staff(session: Session, *, who: Principal, code: str, staff_id: int) -> Account:
    """Switch off a member of a college's staff (OVEC, or the college's own account): they
    cannot log in and their sessions end. Their signed notes stay as signed."""
    code = _college_for(session, who, code)
    account = session.get(Account, staff_id)
    if account is None or account.college_code != code or account.kind != AccountKind.STAFF:
        raise NotFound(f"no staff {staff_id}")
    now = utcnow()
    if account.active:
        account.active = False
        account.updated_at = now
        session.add(account)
    sessions.revoke_account(session, account_id=staff_id, now=now)
    session.flush()
    audit.record(
        session, "staff_switched_off", who.actor, f"account:{staff_id}", {"college": code}
    )
    return account
