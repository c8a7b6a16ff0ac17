"""Checking passwords, and making their hashes, under the login throttle.

Every check of a password someone typed (logging in, a college's credential checked for
e-MVS or from the command line, the current password before a change) takes two short
transactions around the hash: the first asks the throttle (saraban.services.throttle) and
reads the stored hash (:func:`attempt`), the second records the outcome. No transaction is open
while the hash is computed, a throttled attempt computes none, and an unknown username is
checked against a decoy hash, so that it takes as long as a known one.

``hash_work`` counts the argon2 computations this process made for logins and passwords:
the throttle's tests and the benchmark read it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from passlib.context import CryptContext
from sqlalchemy import Engine, update
from sqlmodel import Session, col, select

from credentials import LONG_POLICY, HashSettings, generate, hash_password, verify_password
from saraban.domain.colleges import is_college_code, normalise_college_code
from saraban.domain.errors import Throttled
from saraban.domain.vocabulary import SessionKind
from saraban.services import audit, throttle
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import Account, AccountKind, Credential, utcnow

log = logging.getLogger(__name__)


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
class Target:
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


@dataclass(frozen=True)
class Budget:
    """The throttle's budgets one attempt spends (saraban.services.throttle)."""

    rules: dict[str, throttle.Rule]
    pair: str


def _limit(settings: Settings, free: int) -> throttle.Limit:
    return throttle.Limit(
        free,
        settings.max_lock_seconds,
        settings.forget_failures_seconds,
        settings.first_lock_seconds,
    )


def _bucket(settings: Settings) -> throttle.Bucket:
    return throttle.Bucket(settings.account_burst_failures, settings.account_refill_seconds)


def limits_for(
    settings: Settings,
    username: str,
    address: str,
    *,
    scope: str = throttle.LOGIN,
    known_device: bool = False,
) -> Budget:
    """The budgets of ``username`` tried from ``address`` in ``scope`` (``login`` or
    ``emvs``): the pair's, the address's and the account's; or, for a device that proved a
    right password before (its device cookie, or a live session), a pair budget of its own."""
    if known_device:  # a budget of its own, even behind the attacker's address (one NAT)
        pair = throttle.pair_key(scope, username, f"{address}|device")
        return Budget({pair: _limit(settings, settings.account_free_failures)}, pair)
    pair = throttle.pair_key(scope, username, address)
    rules: dict[str, throttle.Rule] = {
        pair: _limit(settings, settings.account_free_failures),
        throttle.address_key(scope, address): _limit(settings, settings.address_free_failures),
        throttle.account_key(scope, username): _bucket(settings),
    }
    return Budget(rules, pair)


def rule_of_key(settings: Settings, key: str) -> throttle.Rule | None:
    """The rule a stored throttle key is judged by, from its kind (``SCOPE:KIND:...``), as
    :func:`limits_for` made it; None for a key of no known kind (never swept)."""
    kind = key.split(":", 2)[1] if key.count(":") >= 2 else ""
    if kind == "pair":
        return _limit(settings, settings.account_free_failures)
    if kind == "addr":
        return _limit(settings, settings.address_free_failures)
    if kind == "user":
        return _bucket(settings)
    return None


sweep_cursor = throttle.SweepCursor()


def sweep(engine: Engine, settings: Settings, cursor: throttle.SweepCursor) -> int:
    """One bounded sweep of the throttle's harmless rows, in a transaction of its own."""
    with session_scope(engine, immediate=True) as session:
        return throttle.sweep(session, lambda key: rule_of_key(settings, key), utcnow(), cursor)


def college_open(session: Session, code: str) -> bool:
    """Whether the college's staff may log in: the college has a live credential."""
    return store.live_credential(session=session, code=code) is not None


def _target(session: Session, username: str, *, colleges_only: bool = False) -> Target | None:
    if is_college_code(username):
        credential = store.live_credential(session=session, code=username)
        if credential is None:
            return None
        return Target(
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
    if account.college_code is not None and not college_open(session, account.college_code):
        return None  # the college's credential is void: its staff wait for a new one
    kind = SessionKind.OVEC if account.kind == AccountKind.OVEC else SessionKind.STAFF
    return Target(
        kind, account.password_hash, college_code=account.college_code, account_id=account.id
    )


# How long an attempt waits, at most, for attempts in flight on its keys to end.
BUSY_WAIT_SECONDS = 10.0
BUSY_POLL_SECONDS = 0.02


def attempt(
    engine: Engine,
    settings: Settings,
    budget: Budget,
    username: str,
    now: datetime,
    *,
    colleges_only: bool = False,
) -> Target | None:
    """Transaction 1: the throttle's word, then the hash to check (None: no such login).

    The attempt is then in flight on its keys: end it with :func:`failed`, :func:`succeeded`
    or :func:`released`. While attempts in flight fill a key's budget, it waits for them.
    Every ``throttle.SWEEP_EVERY``-th attempt first sweeps the throttle's harmless rows."""
    if sweep_cursor.due():
        sweep(engine, settings, sweep_cursor)
    rules = budget.rules
    deadline = time.monotonic() + BUSY_WAIT_SECONDS
    pause = BUSY_POLL_SECONDS
    while True:
        with Session(engine) as session:
            wait = throttle.locked_for(session, rules, now)
        if wait:
            raise Throttled(wait)
        with session_scope(engine, immediate=True) as session:
            verdict = throttle.reserve(session, rules, now)
            target = (
                _target(session, username, colleges_only=colleges_only)
                if verdict.admitted
                else None
            )
        if verdict.admitted:
            return target
        if verdict.retry_after is not None:
            raise Throttled(verdict.retry_after)
        if time.monotonic() > deadline:
            raise Throttled(1)
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
        now = utcnow()


def released(engine: Engine, budget: Budget) -> None:
    """An admitted attempt ended without a verdict (an error while hashing)."""
    with session_scope(engine, immediate=True) as session:
        throttle.released(session, budget.rules, utcnow())


def succeeded(session: Session, budget: Budget) -> None:
    """An admitted attempt was right: its pair budget starts afresh."""
    throttle.succeeded(session, budget.rules, utcnow(), reset=[budget.pair])


def check(settings: Settings, password: str, target: Target | None) -> tuple[bool, str | None]:
    if target is None:
        check_password(settings.hashing, password, _decoy_hash(settings.hashing))
        return False, None
    return check_password(settings.hashing, password, target.stored_hash)


def store_rehash(session: Session, target: Target, new_hash: str) -> None:
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


def failed(engine: Engine, username: str, client: Client, via: str, budget: Budget) -> None:
    """An admitted attempt was wrong: a failure on each of its budgets, and in the audit log
    (one ``login_failed`` event per hash computed for a wrong password)."""
    with session_scope(engine, immediate=True) as session:
        throttle.failed(session, budget.rules, utcnow())
        details = {"address": client.address, "via": via}
        audit.record(session, "login_failed", username, f"user:{username}", details)
    log.info("failed login for %s from %s (%s)", username, client.address, via)
