"""Taking running numbers for the registers: the counter rows. What a number is (scopes,
years, references) is :mod:`saraban.domain.numbering`'s.

The counter lives in table ``number_counter`` (``scope``, ``year_be``, ``last``), one row per
sequence.

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
    ``saraban.storage.engine.session_scope(engine, immediate=True)`` -- so that it holds
    the write lock before it reads the counter; :func:`next_number` raises
    :class:`NotImmediateTransaction` otherwise.  (In a deferred transaction that
    has already read, SQLite cannot upgrade a stale snapshot to a write and
    fails at once with "database is locked".)  With the write lock held, the
    same upsert runs (``RETURNING`` needs SQLite >= 3.35; older libraries get an
    equivalent UPDATE / INSERT / SELECT, safe because nothing else can write).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy import Connection
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlmodel import Session

from saraban.domain.errors import InternalError
from saraban.domain.numbering import sequence
from saraban.storage.engine import SQLITE_IMMEDIATE
from saraban.storage.models import NumberCounter

__all__ = [
    "NotImmediateTransaction",
    "NumberingError",
    "current_number",
    "next_number",
]

# RETURNING arrived in SQLite 3.35.0 (upsert itself in 3.24.0).
SQLITE_RETURNING_VERSION = (3, 35, 0)


class NumberingError(InternalError):
    """A running number could not be taken safely."""


class NotImmediateTransaction(NumberingError):
    """On SQLite, numbers may only be taken in a ``BEGIN IMMEDIATE`` transaction."""

    def __init__(self) -> None:
        super().__init__(
            "taking a register number on SQLite needs a BEGIN IMMEDIATE transaction: "
            "use saraban.storage.engine.session_scope(engine, immediate=True)"
        )


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
    scope, year_be = sequence(scope, year_be)
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
    scope, year_be = sequence(scope, year_be)
    table = NumberCounter.__table__  # type: ignore[attr-defined]
    # Core, not the ORM: the identity map would not see next_number's upserts.
    last = (
        session.connection()
        .execute(sa.select(table.c.last).where(table.c.scope == scope, table.c.year_be == year_be))
        .scalar_one_or_none()
    )
    return int(last) if last is not None else 0
