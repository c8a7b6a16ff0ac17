"""The audit log: every event the service records, chained by hash (saraban.domain.auditchain).

``record`` appends one row inside the caller's transaction, so an event and what it records
commit together or not at all. Appends are serialised on the single ``audit_head`` row, which
holds the last seq and hash: PostgreSQL locks it (``SELECT ... FOR UPDATE``) and SQLite's
``BEGIN IMMEDIATE`` already holds the only write lock, which is why, as for register numbers,
SQLite callers must use ``session_scope(engine, immediate=True)``.

Each row keeps the record exactly as hashed (canonical JSON, with its own seq) beside columns
that repeat its fields for queries. ``verify`` re-reads the rows, requires every column to
agree with the stored record (an edit to the columns or to the JSON copy, of ``at``,
``event``, ``actor`` or ``subject``, shows: saraban.domain.auditchain.stored_record) and
checks the chain against the head row: it
names the first row that was edited, deleted or inserted; rows renumbered to hide a gap or an
insertion give themselves away by the seq their record still holds. The head
row is kept in the same database, so it only catches the crude cases (the last rows deleted);
publish ``head()`` elsewhere and pass it as ``anchor`` to catch a chain rewritten to its end.

Events: login, login_failed, issue, reissue, void, receipt, route, note, decision,
acknowledgement, export, staff_created, staff_updated, password_changed, password_reset,
signature_check (the digital signatures of a received PDF, as checked on arrival),
staff_switched_off (OVEC or the college switched off staff made since the previous credential).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from saraban.domain.auditchain import (
    ChainReport,
    Row,
    append,
    canonical_json,
    stored_record,
    verify_chain,
)
from saraban.domain.errors import InternalError
from saraban.storage.engine import SQLITE_IMMEDIATE
from saraban.storage.models import AuditEvent, AuditHead, utcnow

HEAD_ID = 1


class AuditError(InternalError):
    """The audit log cannot be written or read as it must (a missing head row, a SQLite
    transaction without the write lock)."""


def _require_write_lock(session: Session) -> None:
    conn = session.connection()
    if conn.dialect.name == "sqlite" and not conn.get_execution_options().get(SQLITE_IMMEDIATE):
        raise AuditError(
            "recording an audit event on SQLite needs a BEGIN IMMEDIATE transaction: "
            "use saraban.storage.engine.session_scope(engine, immediate=True)"
        )


def _record_of(row: AuditEvent) -> Mapping[str, Any]:
    """The hashed record as stored, checked against the row's own columns: the copy and every
    column must agree (saraban.domain.auditchain.stored_record), so an edit to either makes
    the hash disagree."""
    stored = json.loads(row.record)
    if not isinstance(stored, dict):
        raise ValueError("record is not a JSON object")
    columns = {"at": row.at, "event": row.event, "actor": row.actor, "subject": row.subject}
    return stored_record(columns, stored)


def record(
    session: Session,
    event: str,
    actor: str,
    subject: str,
    details: Mapping[str, Any] | None = None,
    *,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an event to the log in ``session``'s transaction (no commit).

    ``actor``: who did it (a username, a college code, ``cli:USER``); ``subject``: what it was
    done to (``receipt:12``, ``college:1352016501``); ``details``: JSON-able facts (text,
    numbers, dates, lists, mappings) and never a password.
    """
    _require_write_lock(session)
    head = session.exec(
        select(AuditHead).where(AuditHead.id == HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        raise AuditError("the audit_head row is missing: the log has been tampered with")
    fields = {
        "at": at or utcnow(),
        "event": event,
        "actor": actor,
        "subject": subject,
        "details": dict(details or {}),
    }
    row = append((head.seq, head.hash), fields)
    stored = AuditEvent(
        seq=row.seq,
        at=fields["at"],
        event=event,
        actor=actor,
        subject=subject,
        record=canonical_json(row.record).decode("utf-8"),
        hash=row.hash,
    )
    head.seq, head.hash = row.seq, row.hash
    session.add(stored)
    session.add(head)
    session.flush()
    return stored


def head(session: Session) -> tuple[int, str]:
    """The (seq, hash) to publish outside the database as an anchor."""
    stored = session.get(AuditHead, HEAD_ID)
    if stored is None:
        raise AuditError("the audit_head row is missing: the log has been tampered with")
    return stored.seq, stored.hash


def published_head(engine: Engine) -> tuple[int, str]:
    """:func:`head`, read in a session of its own: the anchor ``saraban audit head`` prints."""
    with Session(engine) as session:
        return head(session)


def _rows(session: Session) -> list[Row]:
    rows = []
    for stored in session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))):
        try:
            rows.append(Row(stored.seq, _record_of(stored), stored.hash))
        except ValueError:  # a record that is no longer JSON cannot match its hash
            rows.append(Row(stored.seq, {"record": stored.record}, stored.hash))
    return rows


def verify(engine: Engine, *, anchor: tuple[int, str] | None = None) -> ChainReport:
    """Check the whole log against its head row; with ``anchor`` (a head published earlier)
    also a chain cut short or rewritten up to that point.

    Reads one snapshot (REPEATABLE READ on PostgreSQL; a SQLite read transaction is one), so
    events appended meanwhile are neither missed nor mistaken for tampering.
    """
    with Session(engine) as session:
        if engine.dialect.name == "postgresql":
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        stored_head = head(session)
        rows = _rows(session)
    report = verify_chain(rows, anchor=stored_head)
    if report and rows and rows[-1].seq > stored_head[0]:
        # Rows past the head were written around ``record``.
        return ChainReport(False, stored_head[0] + 1, "inserted", checked=stored_head[0])
    if report and anchor is not None:
        return verify_chain(rows, anchor=anchor)
    return report


def events(
    session: Session, *, event: str | None = None, limit: int = 100, offset: int = 0
) -> list[AuditEvent]:
    query = select(AuditEvent)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    query = query.order_by(col(AuditEvent.seq).desc()).offset(offset).limit(limit)
    return list(session.exec(query))
