"""Login throttling that an attacker cannot turn against the real user, decided before any
password hash is computed.

**Three budgets per attempt**, each a row of ``login_throttle`` named by its key, kept apart
per *scope* (``login``: the web's logins and password changes; ``emvs``: e-MVS's credential
checks), so that one never spends the other's budget:

- ``SCOPE:pair:ACCOUNT|ADDRESS``, one client trying one account: ``account_free_failures``
  failures, then a lock of ``first_lock_seconds`` doubled per further failure, up to
  ``max_lock_seconds``. This is what a flood from one client meets: its hashes are at most the
  free failures plus one per lock (about 3 + log2(t) in t seconds, then one per
  ``max_lock_seconds``), and it locks only itself: the real user, from another address,
  has a budget of their own.
- ``SCOPE:addr:ADDRESS``, one client trying many accounts: ``address_free_failures``, locked
  the same way.
- ``SCOPE:user:ACCOUNT``, everyone trying one account: a leaky bucket of
  ``account_burst_failures`` failures that gets one back every ``account_refill_seconds``.
  A single client, already slowed by its pair budget to one failure per lock, cannot empty it
  (with the defaults: about 12 failures in the first quarter hour, then one every 15 minutes,
  against a refill of one a minute). Many clients (a botnet) can: then the account is locked
  for new devices, and the hashes computed for the whole botnet stay bounded by the bucket.
  A device that has logged in to this account before carries a signed **device cookie**
  (:func:`device_token`, HMAC under the service's secret key, naming the account and an
  expiry): it proves a right password without another hash, and gives that device a pair
  budget of its own (``SCOPE:pair:ACCOUNT|ADDRESS|device``) in place of the three above: past
  the account-wide budget, and past the address's, so that an attacker behind the same
  address (one college's NAT) does not lock it out either. A stolen device cookie buys its
  thief no more than a pair budget, for that one account. So the real user is locked out
  only when a botnet attacks their account *and* they log in from a device never used
  before: throttling that cannot lock a known user out (ASVS 2.2.1).

**In-flight attempts are not failures.** A failure is counted when its hash says so. So that
many attempts at once cannot all slip past a budget while the first ones are hashing, each
admitted attempt is counted as *in flight* on each key (a second row, ``KEY#busy``), in a short
transaction that locks the rows (always in the same order): a key admits only as many
attempts as its remaining failures allow, counting those in flight; a further attempt waits
(a few tenths of a second: until those in flight end) rather than being refused, unless the
key is locked. So correct logins at once (ten people of one college behind one address) all
succeed, and concurrent wrong ones compute no more hashes than the budget. An in-flight count
not released (a process killed mid-hash) is forgotten ``STALE_SECONDS`` after it last moved.

A locked key is answered after one read that takes no lock and counts nothing: a flood of
attempts on a locked key costs the server one indexed read each. A right password resets its
pair budget; failures are otherwise forgotten ``forget_failures_seconds`` after the last one,
unless a lock is still running.

**Rows that no longer hold anything are swept** (:func:`sweep`), so that an attacker rotating
usernames or addresses cannot grow the table without bound: a row goes once it carries no
state (no lock in force, its failures forgotten or leaked away, nothing in flight), which is
exactly a row that :func:`_ensure_rows` would make afresh. Every ``SWEEP_EVERY``-th attempt in
a process sweeps, in a transaction of its own, at most ``SWEEP_BATCH`` rows read by key from
where the previous sweep stopped (a cursor walking the primary key round), so a sweep reads a
bounded slice whatever the table's size and every row is looked at in turn. The rows are
locked while judged (on PostgreSQL, skipping those an attempt holds): a row that an attempt
changes is never judged on a stale copy, and an attempt never waits for a sweep.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel import Session, col, delete, select

from saraban.storage.models import LoginThrottle

LOGIN = "login"
EMVS = "emvs"
BUSY = "#busy"
STALE_SECONDS = 60
SWEEP_EVERY = 64
SWEEP_BATCH = 500


@dataclass(frozen=True)
class Limit:
    """Free failures, then locks doubling from ``first_lock_seconds`` to ``max_lock_seconds``."""

    free_failures: int
    max_lock_seconds: int
    forget_seconds: int
    first_lock_seconds: int = 1

    def lock_seconds(self, failures: int) -> int:
        if failures < self.free_failures:
            return 0
        exponent = min(failures - self.free_failures, 31)
        return min(self.first_lock_seconds * 2**exponent, self.max_lock_seconds)

    def current(self, row: LoginThrottle, now: datetime) -> int:
        """The failures that still count."""
        last = row.last_failure_at
        locked = row.locked_until is not None and row.locked_until > now
        if last is not None and not locked and now - last > timedelta(seconds=self.forget_seconds):
            return 0
        return row.failures

    def room(self, row: LoginThrottle, now: datetime) -> int:
        """How many attempts may be in flight: the free failures left, else one (once the
        lock has run out)."""
        failures = self.current(row, now)
        return self.free_failures - failures if failures < self.free_failures else 1

    def count_failure(self, row: LoginThrottle, now: datetime) -> None:
        row.failures = self.current(row, now) + 1
        row.last_failure_at = now
        lock = self.lock_seconds(row.failures)
        row.locked_until = now + timedelta(seconds=lock) if lock else None


@dataclass(frozen=True)
class Bucket:
    """A leaky bucket: ``capacity`` failures, one given back every ``refill_seconds``."""

    capacity: int
    refill_seconds: int

    def current(self, row: LoginThrottle, now: datetime) -> int:
        if row.last_failure_at is None:
            return row.failures
        # Clocks of concurrent attempts interleave: an elapsed time below zero is none.
        elapsed = max(0.0, (now - row.last_failure_at).total_seconds())
        leaked = int(elapsed // self.refill_seconds)
        return max(0, row.failures - leaked)

    def room(self, row: LoginThrottle, now: datetime) -> int:
        return self.capacity - self.current(row, now)

    def count_failure(self, row: LoginThrottle, now: datetime) -> None:
        row.failures = self.current(row, now) + 1
        row.last_failure_at = now
        full = row.failures >= self.capacity
        row.locked_until = now + timedelta(seconds=self.refill_seconds) if full else None


Rule = Limit | Bucket


def pair_key(scope: str, username: str, address: str) -> str:
    return f"{scope}:pair:{username[:64]}|{address[:64]}"


def account_key(scope: str, username: str) -> str:
    return f"{scope}:user:{username}"[:150]


def address_key(scope: str, address: str) -> str:
    return f"{scope}:addr:{address}"[:150]


# --------------------------------------------------------------------------- #
# The device cookie: a right password proved once, for the account-wide budget
# --------------------------------------------------------------------------- #

DEVICE_COOKIE = "saraban_device"


def _device_mac(secret: bytes, username: str, expires: int) -> str:
    message = f"device\0{username}\0{expires}".encode()
    mac = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def device_token(secret: bytes, username: str, now: datetime, days: int) -> str:
    """The device cookie's value after a right password for ``username``."""
    expires = int((now + timedelta(days=days)).timestamp())
    return f"{expires}.{_device_mac(secret, username, expires)}"


def device_ok(secret: bytes, username: str, token: str | None, now: datetime) -> bool:
    """Whether ``token`` is this service's device cookie for ``username``, not expired."""
    if not token or len(token) > 100:
        return False
    expires_text, _, mac = token.partition(".")
    if not expires_text.isdigit() or int(expires_text) < now.timestamp():
        return False
    return hmac.compare_digest(_device_mac(secret, username, int(expires_text)), mac)


# --------------------------------------------------------------------------- #
# The rows
# --------------------------------------------------------------------------- #


def _ensure_rows(session: Session, keys: Sequence[str]) -> None:
    conn = session.connection()
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    insert: Any = pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert
    stmt = insert(table).values([{"key": key, "failures": 0} for key in keys])
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[table.c.key]))


def _locked(session: Session, keys: Iterable[str]) -> dict[str, LoginThrottle]:
    wanted = sorted({*keys, *(key + BUSY for key in keys)})  # one order: no deadlock
    query = (
        select(LoginThrottle)
        .where(col(LoginThrottle.key).in_(wanted))
        .order_by(col(LoginThrottle.key))
        .with_for_update()
    )
    while True:
        _ensure_rows(session, wanted)
        rows = session.exec(query.execution_options(populate_existing=True))
        found = {row.key: row for row in rows}
        # A sweep may delete a harmless row between the insert that found it there and the
        # select (PostgreSQL, read committed): make it afresh, as the sweep's rule allows.
        if len(found) == len(wanted):
            return found


def _in_flight(row: LoginThrottle, now: datetime) -> int:
    moved = row.last_failure_at
    if moved is None or now - moved > timedelta(seconds=STALE_SECONDS):
        return 0
    return max(0, row.failures)


def _wait(rows: Iterable[LoginThrottle], now: datetime) -> int | None:
    waits = [
        math.ceil((row.locked_until - now).total_seconds())
        for row in rows
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(1, *waits) if waits else None


def locked_for(session: Session, keys: Iterable[str], now: datetime) -> int | None:
    """The seconds to wait if a key is locked, read without taking any lock: a flood of
    attempts on a locked key is answered without queueing for the write lock."""
    query = select(LoginThrottle).where(col(LoginThrottle.key).in_(list(keys)))
    return _wait(session.exec(query), now)


@dataclass(frozen=True)
class Reservation:
    """What :func:`reserve` decided: admitted, or locked (``retry_after``), or busy (attempts
    in flight fill the budget: try again in a moment)."""

    admitted: bool
    retry_after: int | None = None

    @property
    def busy(self) -> bool:
        return not self.admitted and self.retry_after is None


def reserve(session: Session, rules: Mapping[str, Rule], now: datetime) -> Reservation:
    """Admit one attempt on every key (in flight, not yet a failure), unless a key is locked
    or its budget is taken by attempts in flight. Commit before checking the password."""
    rows = _locked(session, rules)
    wait = _wait((rows[key] for key in rules), now)
    if wait is not None:
        return Reservation(False, wait)
    for key, rule in rules.items():
        if _in_flight(rows[key + BUSY], now) >= rule.room(rows[key], now):
            return Reservation(False)
    for key in rules:
        busy = rows[key + BUSY]
        busy.failures = _in_flight(busy, now) + 1
        busy.last_failure_at = now
        session.add(busy)
    session.flush()
    return Reservation(True)


def _release(rows: Mapping[str, LoginThrottle], keys: Iterable[str], now: datetime) -> None:
    for key in keys:
        busy = rows[key + BUSY]
        busy.failures = max(0, _in_flight(busy, now) - 1)
        busy.last_failure_at = now


def failed(session: Session, rules: Mapping[str, Rule], now: datetime) -> None:
    """The admitted attempt was wrong: no longer in flight, a failure on every key."""
    rows = _locked(session, rules)
    _release(rows, rules, now)
    for key, rule in rules.items():
        rule.count_failure(rows[key], now)
    session.add_all(rows.values())
    session.flush()


def released(session: Session, rules: Mapping[str, Rule], now: datetime) -> None:
    """The admitted attempt ended without a verdict (an error): no longer in flight."""
    rows = _locked(session, rules)
    _release(rows, rules, now)
    session.add_all(rows.values())
    session.flush()


def succeeded(
    session: Session, rules: Mapping[str, Rule], now: datetime, *, reset: Sequence[str] = ()
) -> None:
    """The admitted attempt was right: no longer in flight, and the keys in ``reset`` (the
    client's pair budget) start afresh. The account-wide and address budgets keep their
    failures: one right password does not buy a botnet a new budget."""
    rows = _locked(session, rules)
    _release(rows, rules, now)
    for key in reset:
        row = rows[key]
        row.failures = 0
        row.last_failure_at = None
        row.locked_until = None
    session.add_all(rows.values())
    session.flush()


# --------------------------------------------------------------------------- #
# The sweep: rows that hold nothing any more
# --------------------------------------------------------------------------- #


def harmless(row: LoginThrottle, rule: Rule | None, now: datetime) -> bool:
    """Whether ``row`` carries no state: deleting it changes no decision (``rule`` is the
    rule its key is judged by; None for an in-flight row, and a key of no known rule)."""
    if row.locked_until is not None and row.locked_until > now:
        return False
    if row.key.endswith(BUSY):
        return _in_flight(row, now) == 0
    return rule is not None and rule.current(row, now) == 0


class SweepCursor:
    """Where the next sweep of this process starts: the last key it looked at."""

    def __init__(self, every: int = SWEEP_EVERY) -> None:
        self.after = ""
        self._every = every
        self._attempts = itertools.count(1)  # next() is atomic: threads share a cursor

    def due(self) -> bool:
        """Counts an attempt; true every ``every``-th."""
        return next(self._attempts) % self._every == 0


def sweep(
    session: Session,
    rule_of: Callable[[str], Rule | None],
    now: datetime,
    cursor: SweepCursor,
    *,
    batch: int = SWEEP_BATCH,
) -> int:
    """Delete the harmless rows among the next ``batch`` keys after ``cursor`` (then from the
    start again); returns how many went."""
    query = (
        select(LoginThrottle)
        .where(col(LoginThrottle.key) > cursor.after)
        .order_by(col(LoginThrottle.key))
        .limit(batch)
        .with_for_update(skip_locked=True)
    )
    rows = list(session.exec(query.execution_options(populate_existing=True)))
    cursor.after = rows[-1].key if len(rows) == batch else ""
    doomed = [
        row.key
        for row in rows
        if harmless(row, None if row.key.endswith(BUSY) else rule_of(row.key), now)
    ]
    if doomed:
        session.exec(delete(LoginThrottle).where(col(LoginThrottle.key).in_(doomed)))
    return len(doomed)
