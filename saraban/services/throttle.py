"""Login throttling, decided before any password hash is computed.

Every attempt is counted as a failure *before* its hash is checked, in a short transaction of
its own that locks the attempt's rows (``user:NAME`` and ``addr:ADDRESS``): so concurrent
attempts cannot all slip past the check while the first ones are still hashing. A right
password then gives the attempt back (``succeeded``). After ``free_failures`` failures a key
is locked for ``first_lock_seconds`` × 2^(failures - free_failures) seconds, up to
``max_lock_seconds``. An attempt on a locked key is refused without being counted and without
any hash, after one read that takes no lock: a flood of bad logins costs the server little.

Simultaneous logins from one address (an office behind one NAT) are counted as failures until
their passwords are checked, so a burst larger than ``free_failures`` may be told to wait a
second (429, Retry-After) while the first ones finish.

Failures are forgotten ``forget_seconds`` after the last one, unless a lock is still running.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel import Session, col, select

from saraban.storage.models import LoginThrottle


@dataclass(frozen=True)
class Limit:
    free_failures: int
    max_lock_seconds: int
    forget_seconds: int
    first_lock_seconds: int = 1

    def lock_seconds(self, failures: int) -> int:
        if failures < self.free_failures:
            return 0
        exponent = min(failures - self.free_failures, 31)
        return min(self.first_lock_seconds * 2**exponent, self.max_lock_seconds)


def account_key(username: str) -> str:
    return f"user:{username}"[:200]


def address_key(address: str) -> str:
    return f"addr:{address}"[:200]


def _ensure_rows(session: Session, keys: Sequence[str]) -> None:
    conn = session.connection()
    table = LoginThrottle.__table__  # type: ignore[attr-defined]
    insert: Any = pg_dialect.insert if conn.dialect.name == "postgresql" else sqlite_dialect.insert
    stmt = insert(table).values([{"key": key, "failures": 0} for key in keys])
    conn.execute(stmt.on_conflict_do_nothing(index_elements=[table.c.key]))


def _locked(session: Session, limits: Mapping[str, Limit]) -> list[LoginThrottle]:
    keys = sorted(limits)  # always locked in the same order: no deadlock between attempts
    _ensure_rows(session, keys)
    query = (
        select(LoginThrottle)
        .where(col(LoginThrottle.key).in_(keys))
        .order_by(col(LoginThrottle.key))
        .with_for_update()
    )
    return list(session.exec(query.execution_options(populate_existing=True)))


def _wait(rows: Iterable[LoginThrottle], now: datetime) -> int | None:
    waits = [
        math.ceil((row.locked_until - now).total_seconds())
        for row in rows
        if row.locked_until is not None and row.locked_until > now
    ]
    return max(1, *waits) if waits else None


def locked_for(session: Session, keys: Iterable[str], now: datetime) -> int | None:
    """The seconds to wait if a key is locked, read without taking any lock: a flood of
    attempts on a locked account is answered without queueing for the write lock."""
    query = select(LoginThrottle).where(col(LoginThrottle.key).in_(list(keys)))
    return _wait(session.exec(query), now)


def reserve(session: Session, limits: Mapping[str, Limit], now: datetime) -> int | None:
    """Count an attempt on every key, unless one is locked: then count nothing and return the
    seconds to wait. Commit before checking the password."""
    rows = _locked(session, limits)
    wait = _wait(rows, now)
    if wait is not None:
        return wait
    for row in rows:
        limit = limits[row.key]
        if row.last_failure_at is not None and now - row.last_failure_at > timedelta(
            seconds=limit.forget_seconds
        ):
            row.failures = 0
        row.failures += 1
        row.last_failure_at = now
        lock = limit.lock_seconds(row.failures)
        row.locked_until = now + timedelta(seconds=lock) if lock else None
        session.add(row)
    session.flush()
    return None


def succeeded(session: Session, limits: Mapping[str, Limit], *, reset: str) -> None:
    """The reserved attempt was right: key ``reset`` (the account) starts afresh, the others
    (the address) get the attempt back."""
    for row in _locked(session, limits):
        if row.key == reset:
            session.delete(row)
            continue
        row.failures = max(0, row.failures - 1)
        if limits[row.key].lock_seconds(row.failures) == 0:
            row.locked_until = None
        session.add(row)
    session.flush()
