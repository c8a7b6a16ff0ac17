"""The dispatch register (ทะเบียนหนังสือส่ง): numbers for outgoing letters.

Each *register* (``"สอศ."``, or a unit's own register name) keeps its own
sequences, one per *kind* -- external letters (``ศธ 0603/5553``) and circulars
(``ศธ 0603/ว 5553``) are numbered separately -- restarting at 1 each
Buddhist-era year.  The year is that of the letter's date (``dated``).

Numbers are never reused.  A number is consumed and its register entry written
in one transaction (:func:`take_number` calls
:func:`saraban.storage.counters.next_number`, then inserts the entry): if the
transaction rolls back, neither the number nor the entry exists, so the register
has no gaps.  A number that was issued and turns out unusable is *cancelled*
(:func:`cancel_number`): it stays in the register with who, when and why, and
the sequence moves on.  :func:`explain_gaps` lists numbers that were consumed
yet have no entry; it should always be empty.

Every function takes keyword-only arguments, works in the caller's session and
transaction, flushes, and never commits.  On SQLite taking a number needs
``session_scope(engine, immediate=True)`` (see :mod:`saraban.storage.counters`).
"""

from __future__ import annotations

from datetime import date

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from saraban.domain.errors import Conflict, Invalid, NotFound
from saraban.domain.numbering import (
    DispatchKind,
    DispatchStatus,
    dispatch_scope,
    format_reference,
    nfc,
)
from saraban.domain.vocabulary import year_be as year_of
from saraban.storage.counters import current_number, next_number
from saraban.storage.models import (
    DispatchEntry,
    DispatchEntryBase,
    DispatchEntryPublic,
    Mailout,
    utcnow,
)

__all__ = [
    "AlreadyCancelled",
    "DispatchEntry",
    "DispatchEntryBase",
    "DispatchEntryPublic",
    "DispatchKind",
    "DispatchStatus",
    "InvalidEntry",
    "NumberConflict",
    "UnknownEntry",
    "cancel_number",
    "dispatch_scope",
    "explain_gaps",
    "format_reference",
    "get_entry",
    "register_entries",
    "take_number",
]


class InvalidEntry(Invalid):
    """The entry's fields failed validation (nothing was taken)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class UnknownEntry(NotFound):
    def __init__(self, entry_id: int) -> None:
        self.entry_id = entry_id
        super().__init__(f"no dispatch register entry with id {entry_id}")


class AlreadyCancelled(Conflict):
    def __init__(self, entry: DispatchEntry) -> None:
        self.entry_id = entry.id
        super().__init__(
            f"{entry.reference} ({entry.register_name}, {entry.year_be}) is already cancelled: "
            f"{entry.cancelled_reason}"
        )


class NumberConflict(Conflict):
    """The database refused the entry: the counter and the register disagree
    (e.g. entries written without :func:`take_number`)."""


def _require_text(name: str, value: object) -> str:
    text = nfc(value)
    if not isinstance(text, str) or not text:
        raise InvalidEntry(f"{name} must be a non-empty string")
    return text


def take_number(
    *,
    session: Session,
    register: str,
    kind: DispatchKind | str,
    dated: date,
    subject: str,
    recipients: str,
    owning_unit: str,
    created_by: str,
    mailout_id: int | None = None,
    agency_code: str,
) -> DispatchEntry:
    """Take the next number of *register*'s *kind* sequence for the year of
    *dated*, and record the letter under it (status ``issued``).

    Input is validated before anything is taken (:class:`InvalidEntry`).  The
    number and the entry are written in a savepoint of the caller's
    transaction: both or neither.  Commit promptly -- other takers of the same
    sequence wait until this transaction ends.
    """
    agency_code = _require_text("agency_code", agency_code)
    if "/" in agency_code:
        raise InvalidEntry(f"agency_code {agency_code!r} must not contain '/'")
    try:
        data = DispatchEntryBase.model_validate(
            {
                "register_name": register,
                "kind": kind,
                "dated": dated,
                "subject": subject,
                "recipients": recipients,
                "owning_unit": owning_unit,
                "mailout_id": mailout_id,
                "created_by": created_by,
            }
        )
    except ValidationError as exc:
        raise InvalidEntry(f"invalid dispatch register entry: {exc}") from exc
    if data.mailout_id is not None and session.get(Mailout, data.mailout_id) is None:
        raise InvalidEntry(f"mailout_id: there is no mailout {data.mailout_id}")

    year = year_of(data.dated)
    try:
        with session.begin_nested():
            number = next_number(
                session=session, scope=dispatch_scope(data.register_name, data.kind), year_be=year
            )
            entry = DispatchEntry.model_validate(
                data,
                update={
                    "year_be": year,
                    "number": number,
                    "reference": format_reference(agency_code, data.kind, number),
                    "status": DispatchStatus.ISSUED,
                    "created_at": utcnow(),
                },
            )
            session.add(entry)
            session.flush()
    except IntegrityError as exc:
        refused = f"{data.register_name} {data.kind.value} number for {year}"
        raise NumberConflict(f"the database refused {refused}: {exc.orig}") from exc
    return entry


def get_entry(*, session: Session, entry_id: int) -> DispatchEntry | None:
    return session.get(DispatchEntry, entry_id)


def cancel_number(*, session: Session, entry_id: int, reason: str, by: str) -> DispatchEntry:
    """Mark an issued number cancelled, recording who, when and why.

    The entry stays in the register and the number is never given out again.
    Raises :class:`UnknownEntry` or :class:`AlreadyCancelled`.
    """
    reason = _require_text("reason", reason)
    by = _require_text("by", by)
    entry = session.get(DispatchEntry, entry_id, with_for_update=True)
    if entry is None:
        raise UnknownEntry(entry_id)
    if entry.status == DispatchStatus.CANCELLED:
        raise AlreadyCancelled(entry)
    entry.status = DispatchStatus.CANCELLED
    entry.cancelled_reason = reason
    entry.cancelled_by = by
    entry.cancelled_at = utcnow()
    session.add(entry)
    session.flush()
    return entry


def register_entries(
    *, session: Session, register: str, year_be: int, kind: DispatchKind | str | None = None
) -> list[DispatchEntry]:
    """The register's entries for a Buddhist-era year (issued and cancelled),
    ordered by kind then number; only one kind's if *kind* is given."""
    query = select(DispatchEntry).where(
        col(DispatchEntry.register_name) == nfc(register), col(DispatchEntry.year_be) == year_be
    )
    if kind is not None:
        query = query.where(col(DispatchEntry.kind) == DispatchKind(kind).value)
    return list(session.exec(query.order_by(col(DispatchEntry.kind), col(DispatchEntry.number))))


def explain_gaps(
    *, session: Session, register: str, kind: DispatchKind | str, year_be: int
) -> list[int]:
    """Numbers of the sequence that have no register entry, ascending.

    Looks at ``1 .. max(highest entry, counter)`` so that a number consumed
    from the counter without an entry shows up too.  Every number taken through
    :func:`take_number` is issued or cancelled, so this should be empty.
    """
    kind = DispatchKind(kind)
    numbers = set(
        session.exec(
            select(DispatchEntry.number).where(
                col(DispatchEntry.register_name) == nfc(register),
                col(DispatchEntry.kind) == kind.value,
                col(DispatchEntry.year_be) == year_be,
            )
        )
    )
    last = current_number(session=session, scope=dispatch_scope(register, kind), year_be=year_be)
    top = max(last, max(numbers, default=0))
    return [n for n in range(1, top + 1) if n not in numbers]
