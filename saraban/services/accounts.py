"""Accounts and logging in: OVEC staff, colleges (by their credential) and college staff.

A college logs in with its code and the password from its credential slip, checked against
the live credential's argon2 hash (a hash made with other settings is replaced on success, as
``saraban.services.credentials.verify`` does). OVEC staff are made with ``saraban user add``;
college staff by their college, with a first password they must change at their first login.

Logging in takes two short transactions around the hash: the first asks the throttle
(saraban.services.throttle) and reads the stored hash, the second records the outcome. No
transaction is open while the hash is computed, and a throttled attempt computes none.

``hash_work`` counts the argon2 computations this process made for logins and passwords:
the throttle's tests and the benchmark read it.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from passlib.context import CryptContext
from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from credentials import LONG_POLICY, HashSettings, generate, hash_password, verify_password
from saraban.domain import principal
from saraban.domain.errors import Conflict, Forbidden, Invalid, NotFound, Throttled, Unauthorized
from saraban.domain.principal import Principal
from saraban.domain.routing import RoutingError, Staff
from saraban.services import audit, sessions, throttle
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    Account,
    AccountKind,
    Credential,
    SessionKind,
    StaffCreate,
    StaffUpdate,
    normalise_college_code,
    utcnow,
)

log = logging.getLogger(__name__)

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 128
_OVEC_USERNAME = re.compile(r"[a-z][a-z0-9._-]{2,63}")


class HashWork:
    """A thread-safe count of argon2 computations."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._count = 0

    def add(self) -> None:
        with self._lock:
            self._count += 1

    @property
    def value(self) -> int:
        return self._count


hash_work = HashWork()


@lru_cache(maxsize=8)
def crypt_context(hashing: HashSettings) -> CryptContext:
    return hashing.context()


@lru_cache(maxsize=8)
def _decoy_hash(hashing: HashSettings) -> str:
    """A hash no password matches, checked for unknown usernames so that they take as long
    as known ones."""
    return crypt_context(hashing).hash(generate(LONG_POLICY) + generate(LONG_POLICY))


def check_password(
    hashing: HashSettings, password: str, stored_hash: str
) -> tuple[bool, str | None]:
    """``credentials.verify_password``, counted."""
    hash_work.add()
    return verify_password(crypt_context(hashing), password, stored_hash)


def make_hash(hashing: HashSettings, password: str) -> str:
    hash_work.add()
    return hash_password(crypt_context(hashing), password)


@dataclass(frozen=True)
class Client:
    """Where a request came from, as the trusted proxies tell it."""

    address: str
    https: bool = False


@dataclass(frozen=True)
class _Target:
    """What a username logs in as: a college's live credential, or an account."""

    kind: SessionKind
    stored_hash: str
    college_code: str | None = None
    credential_id: int | None = None
    account_id: int | None = None


def normalise_username(username: str) -> str:
    name = username.strip().lower()
    try:
        return normalise_college_code(name)
    except ValueError:
        return name[:64]


def _limits(settings: Settings, username: str, address: str) -> dict[str, throttle.Limit]:
    def limit(free: int) -> throttle.Limit:
        return throttle.Limit(
            free,
            settings.max_lock_seconds,
            settings.forget_failures_seconds,
            settings.first_lock_seconds,
        )

    return {
        throttle.account_key(username): limit(settings.account_free_failures),
        throttle.address_key(address): limit(settings.address_free_failures),
    }


def _target(session: Session, username: str, *, colleges_only: bool = False) -> _Target | None:
    if re.fullmatch(r"[0-9]{10}", username):
        credential = store.live_credential(session=session, code=username)
        if credential is None:
            return None
        return _Target(
            SessionKind.COLLEGE,
            credential.password_hash,
            college_code=credential.college_code,
            credential_id=credential.id,
        )
    if colleges_only:
        return None
    account = session.exec(select(Account).where(Account.username == username)).one_or_none()
    if account is None or not account.active:
        return None
    kind = SessionKind.OVEC if account.kind == AccountKind.OVEC else SessionKind.STAFF
    return _Target(
        kind, account.password_hash, college_code=account.college_code, account_id=account.id
    )


def _attempt(
    engine: Engine,
    limits: Mapping[str, throttle.Limit],
    username: str,
    now: datetime,
    *,
    colleges_only: bool = False,
) -> _Target | None:
    """Transaction 1: the throttle's word, then the hash to check (None: no such login)."""
    with Session(engine) as session:
        wait = throttle.locked_for(session, limits, now)
    if wait:
        raise Throttled(wait)
    with session_scope(engine, immediate=True) as session:
        wait = throttle.reserve(session, limits, now)
        target = None if wait else _target(session, username, colleges_only=colleges_only)
    if wait:
        raise Throttled(wait)
    return target


def _check(settings: Settings, password: str, target: _Target | None) -> tuple[bool, str | None]:
    if target is None:
        check_password(settings.hashing, password, _decoy_hash(settings.hashing))
        return False, None
    return check_password(settings.hashing, password, target.stored_hash)


def _store_rehash(session: Session, target: _Target, new_hash: str) -> None:
    """Replace a hash made with other settings, unless it changed meanwhile."""
    model: type[Credential] | type[Account]
    if target.credential_id is not None:
        model, row_id = Credential, target.credential_id
    elif target.account_id is not None:
        model, row_id = Account, target.account_id
    else:
        return
    session.exec(
        update(model)
        .where(col(model.id) == row_id, col(model.password_hash) == target.stored_hash)
        .values(password_hash=new_hash)
    )


def _failed(engine: Engine, username: str, client: Client, via: str) -> None:
    with session_scope(engine, immediate=True) as session:
        details = {"address": client.address, "via": via}
        audit.record(session, "login_failed", username, f"user:{username}", details)
    log.info("failed login for %s from %s (%s)", username, client.address, via)


@dataclass(frozen=True)
class LoginResult:
    token: str
    principal: Principal


def login(
    engine: Engine, settings: Settings, *, username: str, password: str, client: Client
) -> LoginResult:
    """Check a username and password; a new session on success.

    Raises Throttled (no hash computed) or Unauthorized (the same for an unknown username,
    a wrong password, a void credential or a switched-off account).
    """
    name = normalise_username(username)
    limits = _limits(settings, name, client.address)
    target = _attempt(engine, limits, name, utcnow())
    ok, new_hash = _check(settings, password, target)
    if not ok or target is None:
        _failed(engine, name, client, "login")
        raise Unauthorized("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง / wrong username or password")
    now = utcnow()
    with session_scope(engine, immediate=True) as session:
        throttle.succeeded(session, limits, reset=throttle.account_key(name))
        if new_hash:
            _store_rehash(session, target, new_hash)
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
    return LoginResult(token, who)


def verify_credential(
    engine: Engine, settings: Settings, *, code: str, password: str, client: Client
) -> bool:
    """Whether ``password`` is the college's live credential (for e-MVS), under the same
    throttle as logging in."""
    name = normalise_username(code)
    limits = _limits(settings, name, client.address)
    target = _attempt(engine, limits, name, utcnow(), colleges_only=True)
    ok, new_hash = _check(settings, password, target)
    if not ok or target is None:
        _failed(engine, name, client, "credentials/verify")
        return False
    with session_scope(engine, immediate=True) as session:
        throttle.succeeded(session, limits, reset=throttle.account_key(name))
        if new_hash:
            _store_rehash(session, target, new_hash)
        details = {"address": client.address, "rehashed": bool(new_hash)}
        audit.record(session, "credential_verified", name, f"college:{name}", details)
    return True


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
    limits = _limits(settings, who.username, client.address)
    target = _attempt(engine, limits, who.username, utcnow())
    ok, _ = _check(settings, current, target)
    if not ok or target is None or target.account_id != who.account_id:
        _failed(engine, who.username, client, "session/password")
        raise Invalid("current_password", "ไม่ถูกต้อง / is wrong")
    new_hash = make_hash(settings.hashing, new)
    now = utcnow()
    with session_scope(engine, immediate=True) as session:
        throttle.succeeded(session, limits, reset=throttle.account_key(who.username))
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
    name = " ".join(name.split())
    if not name:
        raise Invalid("name", "must not be empty")
    check_new_password(password, username=username, field="password")
    if session.exec(select(Account.id).where(Account.username == username)).first():
        raise Conflict(f"username {username} is taken")
    account = Account(
        username=username,
        kind=AccountKind.OVEC,
        name=name,
        password_hash=make_hash(settings.hashing, password),
        must_change_password=False,
        created_by=by,
    )
    session.add(account)
    session.flush()
    audit.record(session, "user_created", by, f"account:{account.id}", {"username": username})
    return account


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
    taken = Conflict(f"{data.handle} is already a member of staff of this college")
    if session.exec(select(Account.id).where(Account.username == username)).first():
        raise taken
    password = data.password or generate(LONG_POLICY)
    account = Account.model_validate(
        data.model_dump(exclude={"handle", "password"}),
        update={
            "username": username,
            "kind": AccountKind.STAFF,
            "college_code": code,
            "password_hash": make_hash(settings.hashing, password),
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
    account = get_staff(session, who=who, staff_id=staff_id)
    password = generate(LONG_POLICY)
    now = utcnow()
    account.password_hash = make_hash(settings.hashing, password)
    account.must_change_password = True
    account.updated_at = now
    session.add(account)
    sessions.revoke_account(session, account_id=staff_id, now=now)
    session.flush()
    audit.record(session, "password_reset", who.actor, f"account:{staff_id}")
    return account, password
