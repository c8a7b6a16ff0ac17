"""OVEC's credential actions from the service (JSON API and pages): reissue a college's
credential (the new password returned once) and void it, each with a reason.

Only OVEC staff may. Anyone else asking about another college gets ``NotFound``, exactly as
for a college that does not exist; a college asking about its own credential is ``Forbidden``.

A reissue draws the password (``secrets``) and hashes it with no transaction open, then in one
transaction voids the live credential, stores the new hash and records the audit event: both
or neither. The password is returned to the caller and nowhere else: it is not written to the
database, a log, an error message or any file (no slip file: the page renders its slip in
memory), and sessions that logged in with the old credential end (saraban.services.sessions).
The CLI's batch path (saraban.services.credentials, with its slips file) records the same events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from credentials import DEFAULT_POLICY, PasswordPolicy, generate
from saraban.domain.errors import Conflict, Forbidden, Invalid, NotFound
from saraban.domain.principal import Principal, active
from saraban.services import accounts, audit
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import CredentialPublic, SessionKind, normalise_college_code

log = logging.getLogger(__name__)

MAX_REASON = 500
NO_LIVE = "สถานศึกษานี้ไม่มีรหัสผ่านที่ใช้งานอยู่ / the college has no live credential"


@dataclass(frozen=True)
class Reissued:
    """The new credential: the password is shown once and stored nowhere."""

    code: str
    college_name: str
    password: str = field(repr=False)
    credential: CredentialPublic
    slip: bytes | None = field(default=None, repr=False)  # when the caller asked for one


def reason_text(reason: str) -> str:
    """The reason on one line; required, at most ``MAX_REASON`` characters."""
    text = " ".join(reason.split())
    if not text:
        raise Invalid("reason", "โปรดระบุเหตุผล / a reason is required")
    if len(text) > MAX_REASON:
        raise Invalid("reason", f"เหตุผลยาวเกิน {MAX_REASON} ตัวอักษร / at most {MAX_REASON}")
    return text


def _normalised(code: str) -> str | None:
    try:
        return normalise_college_code(code)
    except ValueError:
        return None


def authorise(who: Principal, code: str) -> str:
    """The college code to act on, for OVEC staff; everyone else is refused without learning
    whether another college exists."""
    active(who)
    normalised = _normalised(code)
    if who.kind != SessionKind.OVEC:
        if normalised is not None and normalised == who.college_code:
            raise Forbidden("สำหรับเจ้าหน้าที่ สอศ. / for OVEC staff only")
        raise NotFound(f"no college {code}")
    if normalised is None:
        raise NotFound(f"no college {code}")
    return normalised


def _public(credential: object) -> CredentialPublic:
    return CredentialPublic.model_validate(credential, from_attributes=True)


def reissue(
    engine: Engine,
    settings: Settings,
    *,
    who: Principal,
    code: str,
    reason: str,
    policy: PasswordPolicy = DEFAULT_POLICY,
    slip: Callable[[str, str, str], bytes] | None = None,
) -> Reissued:
    """Void the college's live credential and issue a new one; returns the new password.

    ``slip(college name, code, password)`` renders the printable slip before anything is
    stored: if it fails, the old credential stays live (a new hash nobody can read would lock
    the college out)."""
    code = authorise(who, code)
    reason = reason_text(reason)
    with session_scope(engine) as session:  # a cheap refusal before the costly hash
        college = store.get_college(session=session, code=code)
        if college is None:
            raise NotFound(f"no college {code}")
        name = college.name
        if store.live_credential(session=session, code=code) is None:
            raise Conflict(NO_LIVE)
    password = generate(policy)
    try:
        printed = slip(name, code, password) if slip is not None else None
    except ValueError as exc:  # the slip's layout refused it (a name too long to fit)
        raise Invalid("slip", f"พิมพ์ใบแจ้งรหัสผ่านไม่ได้ / the slip cannot be printed: {exc}") from None
    password_hash = accounts.make_hash(settings.hashing, password)
    try:
        with session_scope(engine, immediate=True) as session:
            new = store.reissue_credential(
                session=session, code=code, password_hash=password_hash, by=who.actor, reason=reason
            )
            audit.record(
                session,
                "reissue",
                who.actor,
                f"college:{code}",
                {"reason": reason, "credential": new.id, "via": "service"},
            )
            credential = _public(new)
    except store.NoLiveCredential:  # voided meanwhile
        raise Conflict(NO_LIVE) from None
    log.info("reissued the credential of %s by %s: %s", code, who.actor, reason)
    return Reissued(code, name, password, credential, printed)


def void(engine: Engine, *, who: Principal, code: str, reason: str) -> CredentialPublic:
    """Void the college's credential: it no longer logs in, and its sessions end."""
    code = authorise(who, code)
    reason = reason_text(reason)
    try:
        with session_scope(engine, immediate=True) as session:
            if store.get_college(session=session, code=code) is None:
                raise NotFound(f"no college {code}")
            voided = store.void_credential(session=session, code=code, by=who.actor, reason=reason)
            audit.record(
                session,
                "void",
                who.actor,
                f"college:{code}",
                {"reason": reason, "credential": voided.id, "via": "service"},
            )
            credential = _public(voided)
    except store.NoLiveCredential:
        raise Conflict(NO_LIVE) from None
    log.info("voided the credential of %s by %s: %s", code, who.actor, reason)
    return credential
