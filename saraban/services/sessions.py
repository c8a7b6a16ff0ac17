"""Server-side login sessions and their CSRF tokens.

The browser holds a random token (cookie); the database holds only its sha256, so a copy of
the sessions table logs nobody in. A session ends when it is revoked (logout, a password
change or reset, the account switched off), when it has been idle for
``session_idle_minutes``, after ``session_max_hours``, or, for a college, when the credential
it logged in with is voided or reissued; and then every session of the college's staff ends
too (:func:`revoke_college`): whoever held a leaked slip keeps no access through the staff
accounts they made with it.

The CSRF token is an HMAC of the session token under the service's secret key: it needs no
storage, changes with every new session, and cannot be computed from the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.settings import Settings
from saraban.storage.engine import SQLITE_IMMEDIATE, SQLITE_PRAGMAS, session_scope
from saraban.storage.models import (
    Account,
    College,
    Credential,
    CredentialStatus,
    LoginSession,
)

COOKIE_NAME = "saraban_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"  # the form field, for server-rendered pages
# last_seen_at is written at most this often: reads stay reads.
TOUCH_EVERY = timedelta(minutes=1)
# How long a touch waits for SQLite's write lock before leaving it to the session's next
# request (unless the session is half-way to its idle end: then it waits as any write does).
TOUCH_WAIT_MS = 50


class Due(StrEnum):
    """A session's last_seen_at is due a touch: when the write lock is free (``QUIET``), or
    now, whatever it waits (``NOW``: half of the idle time has passed)."""

    QUIET = "quiet"
    NOW = "now"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(secret: bytes, token: str) -> str:
    mac = hmac.new(secret, b"csrf\0" + token.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def csrf_ok(secret: bytes, token: str, supplied: str | None) -> bool:
    return bool(supplied) and hmac.compare_digest(csrf_token(secret, token), supplied or "")


def create(
    session: Session,
    *,
    kind: SessionKind,
    address: str,
    now: datetime,
    settings: Settings,
    account_id: int | None = None,
    credential_id: int | None = None,
    college_code: str | None = None,
) -> tuple[str, LoginSession]:
    """A new session (a new token every login); returns the token, which is stored nowhere."""
    token = secrets.token_urlsafe(32)
    row = LoginSession(
        token_sha256=token_hash(token),
        kind=kind,
        account_id=account_id,
        credential_id=credential_id,
        college_code=college_code,
        address=address[:64],
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_max_hours),
    )
    session.add(row)
    session.flush()
    return token, row


def principal_of(row: LoginSession, account: Account | None, college_name: str | None) -> Principal:
    assert row.id is not None
    if account is None:
        return Principal(
            kind=SessionKind(row.kind),
            session_id=row.id,
            username=row.college_code or "",
            name=college_name or "",
            college_code=row.college_code,
        )
    return Principal(
        kind=SessionKind(row.kind),
        session_id=row.id,
        username=account.username,
        name=account.name,
        college_code=account.college_code,
        account_id=account.id,
        role=account.role,
        must_change_password=account.must_change_password,
    )


# The session and who it belongs to, in one query built once: only its token's hash changes.
_LOOKUP = (
    sa.select(
        col(LoginSession.id),
        col(LoginSession.kind),
        col(LoginSession.college_code),
        col(LoginSession.last_seen_at),
        col(LoginSession.expires_at),
        col(LoginSession.revoked_at),
        col(Account.id),
        col(Account.username),
        col(Account.name),
        col(Account.college_code),
        col(Account.role),
        col(Account.must_change_password),
        col(Account.active),
        col(Credential.status),
        col(College.name),
    )
    .outerjoin(Account, col(Account.id) == col(LoginSession.account_id))
    .outerjoin(Credential, col(Credential.id) == col(LoginSession.credential_id))
    .outerjoin(College, col(College.code) == col(LoginSession.college_code))
    .where(col(LoginSession.token_sha256) == sa.bindparam("token_sha256"))
)


def lookup(
    session: Session, *, token: str | None, now: datetime, settings: Settings
) -> tuple[Principal, Due | None] | None:
    """The principal of a live session, and whether its last_seen_at is due a touch.

    Every request asks this, so it reads plain columns on the session's connection rather
    than loading ORM objects: a tenth of the time, the same answer."""
    if not token or len(token) > 128:
        return None
    found = session.connection().execute(_LOOKUP, {"token_sha256": token_hash(token)}).one_or_none()
    if found is None:
        return None
    (session_id, kind, college_code, last_seen_at, expires_at, revoked_at) = found[:6]
    (account_id, username, name, account_college, role, must_change, active) = found[6:13]
    credential_status, college_name = found[13:]
    idle = timedelta(minutes=settings.session_idle_minutes)
    if revoked_at is not None or expires_at <= now or last_seen_at + idle <= now:
        return None
    kind = SessionKind(kind)
    if kind == SessionKind.COLLEGE:
        if credential_status != CredentialStatus.LIVE:
            return None
        who = Principal(
            kind=kind,
            session_id=session_id,
            username=college_code or "",
            name=college_name or "",
            college_code=college_code,
        )
    else:
        if account_id is None or not active:
            return None
        who = Principal(
            kind=kind,
            session_id=session_id,
            username=username,
            name=name,
            college_code=account_college,
            account_id=account_id,
            role=role,
            must_change_password=must_change,
        )
    seen = now - last_seen_at
    if seen < TOUCH_EVERY:
        return who, None
    return who, Due.NOW if seen >= idle / 2 else Due.QUIET


def touch(engine: Engine, session_id: int, now: datetime, *, wait: bool = True) -> bool:
    """Move last_seen_at, in a transaction of its own (the request's may be read-only).

    With ``wait=False`` on SQLite, the write lock is tried for ``TOUCH_WAIT_MS`` only. SQLite
    does not queue writers that wait: each sleeps and tries again (up to 100 ms apart) while
    the others take the lock in between, so under many short writes (a login flood) a touch
    could wait seconds, holding a thread and a connection of the pool. It is not worth that:
    if the lock stays taken, the touch is left to the session's next request (False)."""
    move = update(LoginSession).where(col(LoginSession.id) == session_id).values(last_seen_at=now)
    if wait or engine.dialect.name != "sqlite":
        with session_scope(engine, immediate=True) as session:
            session.exec(move)
        return True
    with engine.connect() as conn:
        conn = conn.execution_options(**{SQLITE_IMMEDIATE: True})
        raw = conn.connection.driver_connection
        assert raw is not None
        raw.execute(f"PRAGMA busy_timeout = {TOUCH_WAIT_MS}")
        try:
            with conn.begin():
                conn.execute(move)
        except sa.exc.OperationalError as exc:
            if getattr(exc.orig, "sqlite_errorcode", None) != sqlite3.SQLITE_BUSY:
                raise
            return False
        finally:
            raw.execute(f"PRAGMA busy_timeout = {SQLITE_PRAGMAS['busy_timeout']}")
    return True


def revoke(session: Session, *, session_id: int, now: datetime) -> None:
    session.exec(
        update(LoginSession)
        .where(col(LoginSession.id) == session_id, col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def revoke_account(session: Session, *, account_id: int, now: datetime) -> None:
    """End every session of an account (a password change or reset, the account switched off)."""
    session.exec(
        update(LoginSession)
        .where(col(LoginSession.account_id) == account_id, col(LoginSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )


def revoke_college(session: Session, *, code: str, now: datetime) -> int:
    """End every session of a college: its own account's and every member of its staff's (its
    credential voided or reissued). Returns how many ended."""
    staff = sa.select(col(Account.id)).where(col(Account.college_code) == code)
    result = session.exec(
        update(LoginSession)
        .where(
            sa.or_(
                col(LoginSession.college_code) == code,
                col(LoginSession.account_id).in_(staff),
            ),
            col(LoginSession.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )
    return int(result.rowcount or 0)
