"""Running numbers for the registers (ทะเบียนหนังสือส่ง / ทะเบียนหนังสือรับ).

A register number is gap-free and never reused: numbers ``1, 2, 3, ...`` per
*scope* and Buddhist-era year, restarting at 1 each calendar year.  The counter
lives in table ``number_counter`` (``scope``, ``year_be``, ``last``), one row per
sequence.  Scope names in use:

* ``dispatch:{register}:{kind}`` -- dispatch register, see :mod:`saraban.services.dispatch`
  (external letters and circulars are separate sequences);
* ``receipt:{register}`` -- suggested for a receipt register (เลขรับ).

Concurrency design
==================

:func:`next_number` increments the counter **inside the caller's transaction**
and returns the new value.  The caller writes the row that uses the number
(a register entry) in that same transaction, so the two commit together or not
at all: a rollback un-takes the number *and* its row, leaving no gap.  The price
is that takers of the same sequence are serialised for the rest of the taker's
transaction -- keep transactions that take numbers short.

PostgreSQL
    One atomic statement::

        INSERT INTO number_counter (scope, year_be, last) VALUES (:scope, :year, 1)
        ON CONFLICT (scope, year_be) DO UPDATE SET last = number_counter.last + 1
        RETURNING last

    The updated row stays locked until the transaction ends; a concurrent taker
    blocks on it and then (READ COMMITTED, PostgreSQL's default) increments the
    committed value, or the original one if the holder rolled back.  Two
    transactions creating the year's first row race on the primary key; the
    loser waits and takes the DO UPDATE branch.  Under REPEATABLE READ or
    SERIALIZABLE a concurrent taker fails with a serialisation error instead
    (no wrong number, but the caller must retry).  A transaction taking
    numbers from two sequences should take them in a consistent order, or
    PostgreSQL may abort one of two such transactions as a deadlock.

SQLite
    SQLite has one writer at a time.  The caller's transaction **must** have
    been started with ``BEGIN IMMEDIATE`` --
    ``saraban.storage.engine.session_scope(engine, immediate=True)`` -- so that it holds the
    write lock before it reads the counter; :func:`next_number` raises
    :class:`NotImmediateTransaction` otherwise.  (In a deferred transaction that
    has already read, SQLite cannot upgrade a stale snapshot to a write and
    fails at once with "database is locked".)  With the write lock held, the
    same upsert runs (``RETURNING`` needs SQLite >= 3.35; older libraries get an
    equivalent UPDATE / INSERT / SELECT, safe because nothing else can write).

Years
=====

:func:`year_be` gives the Buddhist-era year (CE + 543) of an instant in Thai
time (``Asia/Bangkok``): 31 December 17:30 UTC is already 1 January in Bangkok.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel import Field, Session, SQLModel

# saraban.storage.models sets SQLModel.metadata's naming convention; it must run before
# NumberCounter is declared, or its constraints get unprefixed names.
from saraban.storage import models as _models  # noqa: F401
from saraban.storage.engine import SQLITE_IMMEDIATE

__all__ = [
    "BANGKOK",
    "BE_OFFSET",
    "NotImmediateTransaction",
    "NumberCounter",
    "NumberingError",
    "bangkok_today",
    "current_number",
    "next_number",
    "year_be",
]

BE_OFFSET = 543
# Plausible Buddhist-era years; a CE year (e.g. 2026) passed by mistake is refused.
MIN_YEAR_BE = 2500
MAX_YEAR_BE = 2800
# RETURNING arrived in SQLite 3.35.0 (upsert itself in 3.24.0).
SQLITE_RETURNING_VERSION = (3, 35, 0)

try:
    BANGKOK: Any = ZoneInfo("Asia/Bangkok")
except ZoneInfoNotFoundError:  # no system tz database and no ``tzdata`` package
    # Thailand has kept UTC+07:00, without daylight saving, since 1920.
    BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")


class NumberingError(RuntimeError):
    """A running number could not be taken safely."""


class NotImmediateTransaction(NumberingError):
    """On SQLite, numbers may only be taken in a ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self) -> None:
        super().__init__(
            "taking a register number on SQLite needs a BEGIN IMMEDIATE transaction: "
            "use saraban.storage.engine.session_scope(engine, immediate=True)"
        )


class NumberCounter(SQLModel, table=True):
    """The last number taken in one sequence (scope, Buddhist-era year)."""

    __tablename__ = "number_counter"
    __table_args__ = (sa.CheckConstraint("last >= 1", name="last_positive"),)

    scope: str = Field(primary_key=True, max_length=255)
    year_be: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int


# --------------------------------------------------------------------------- #
# Years
# --------------------------------------------------------------------------- #


def year_be(dt: datetime | date | None = None) -> int:
    """Buddhist-era year (CE + 543) of *dt* in Thai time (default: now).

    An aware datetime is converted to Asia/Bangkok first; a naive one is refused
    (it names no instant).  A :class:`date` is a calendar date already: its own
    year is used.
    """
    if dt is None:
        dt = datetime.now(BANGKOK)
    if isinstance(dt, datetime):
        if dt.tzinfo is None or dt.utcoffset() is None:
            raise ValueError(f"naive datetime {dt!r}: give a timezone-aware datetime or a date")
        return dt.astimezone(BANGKOK).year + BE_OFFSET
    if isinstance(dt, date):
        return dt.year + BE_OFFSET
    raise TypeError(f"expected a datetime or date, got {type(dt).__name__}")


def bangkok_today() -> date:
    """Today's date in Thailand."""
    return datetime.now(BANGKOK).date()


# --------------------------------------------------------------------------- #
# Counter
# --------------------------------------------------------------------------- #


def _check_key(scope: str, year: int) -> str:
    if not isinstance(scope, str):
        raise TypeError(f"scope must be a string, got {type(scope).__name__}")
    scope = unicodedata.normalize("NFC", scope).strip()
    if not scope or len(scope) > 255:
        raise ValueError("scope must be a non-empty string of at most 255 characters")
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year_be must be an int, got {type(year).__name__}")
    if not MIN_YEAR_BE <= year < MAX_YEAR_BE:
        raise ValueError(f"year_be {year} is not a Buddhist-era year (CE + 543)")
    return scope


def _sqlite_has_returning(conn: Connection) -> bool:
    version = conn.dialect.server_version_info or (0,)
    return tuple(version) >= SQLITE_RETURNING_VERSION


def _require_immediate(conn: Connection) -> None:
    if not conn.get_execution_options().get(SQLITE_IMMEDIATE, False):
        raise NotImmediateTransaction()


def next_number(*, session: Session, scope: str, year_be: int) -> int:
    """Take the next number of sequence (*scope*, *year_be*) and return it (1 for
    the year's first).

    Runs in *session*'s current transaction (beginning one if needed) and does
    not commit: the number is consumed when that transaction commits and given
    back if it rolls back.  Write whatever uses the number in the same
    transaction.  On SQLite the transaction must be ``BEGIN IMMEDIATE``
    (:class:`NotImmediateTransaction` otherwise); see the module docstring.
    """
    scope = _check_key(scope, year_be)
    conn = session.connection()
    table = NumberCounter.__table__  # type: ignore[attr-defined]
    dialect = conn.dialect.name
    if dialect == "sqlite":
        _require_immediate(conn)
        if not _sqlite_has_returning(conn):
            return _next_number_locked(conn, table, scope, year_be)
        stmt: Any = sqlite_dialect.insert(table)
    elif dialect == "postgresql":
        stmt = pg_dialect.insert(table)
    else:
        raise NumberingError(f"next_number does not support the {dialect!r} backend")
    stmt = (
        stmt.values(scope=scope, year_be=year_be, last=1)
        .on_conflict_do_update(
            index_elements=[table.c.scope, table.c.year_be],
            set_={"last": table.c.last + 1},
        )
        .returning(table.c.last)
    )
    return int(conn.execute(stmt).scalar_one())


def _next_number_locked(conn: Connection, table: sa.Table, scope: str, year: int) -> int:
    """Increment without RETURNING; only safe while holding SQLite's write lock."""
    key = (table.c.scope == scope) & (table.c.year_be == year)
    updated = conn.execute(sa.update(table).where(key).values(last=table.c.last + 1))
    if updated.rowcount == 0:
        conn.execute(sa.insert(table).values(scope=scope, year_be=year, last=1))
        return 1
    return int(conn.execute(sa.select(table.c.last).where(key)).scalar_one())


def current_number(*, session: Session, scope: str, year_be: int) -> int:
    """The last number taken (committed, or taken in this transaction) in the
    sequence; 0 if none.  Reading it takes nothing."""
    scope = _check_key(scope, year_be)
    table = NumberCounter.__table__  # type: ignore[attr-defined]
    # Core, not the ORM: the identity map would not see next_number's upserts.
    last = (
        session.connection()
        .execute(sa.select(table.c.last).where(table.c.scope == scope, table.c.year_be == year_be))
        .scalar_one_or_none()
    )
    return int(last) if last is not None else 0
