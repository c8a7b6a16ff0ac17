"""The dispatch register (ทะเบียนหนังสือส่ง): numbers for outgoing letters.

Each *register* (``"สอศ."``, or a unit's own register name) keeps its own
sequences, one per *kind* -- external letters (``ศธ 0603/5553``) and circulars
(``ศธ 0603/ว 5553``) are numbered separately -- restarting at 1 each
Buddhist-era year.  The year is that of the letter's date (``dated``).

Numbers are never reused.  A number is consumed and its register entry written
in one transaction (:func:`take_number` calls
:func:`saraban.storage.numbering.next_number`, then inserts the entry): if the
transaction rolls back, neither the number nor the entry exists, so the register
has no gaps.  A number that was issued and turns out unusable is *cancelled*
(:func:`cancel_number`): it stays in the register with who, when and why, and
the sequence moves on.  :func:`explain_gaps` lists numbers that were consumed
yet have no entry; it should always be empty.

Like :mod:`saraban.storage.store`, every function takes keyword-only arguments, works in
the caller's session and transaction, flushes, and never commits.  On SQLite
taking a number needs ``session_scope(engine, immediate=True)`` (see
:mod:`saraban.storage.numbering`).
"""

from __future__ import annotations

import unicodedata
import warnings
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, ValidationError, field_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from saraban.storage.models import UTCDateTime, utcnow
from saraban.storage.numbering import BE_OFFSET, current_number, next_number

__all__ = [
    "AlreadyCancelled",
    "DispatchEntry",
    "DispatchEntryBase",
    "DispatchEntryPublic",
    "DispatchKind",
    "DispatchStatus",
    "InvalidEntry",
    "NumberConflict",
    "RegisterError",
    "UnknownEntry",
    "cancel_number",
    "dispatch_scope",
    "explain_gaps",
    "format_reference",
    "get_entry",
    "register_entries",
    "take_number",
]


class DispatchKind(StrEnum):
    EXTERNAL = "external"  # หนังสือภายนอก: ศธ 0603/5553
    CIRCULAR = "circular"  # หนังสือเวียน: ศธ 0603/ว 5553


class DispatchStatus(StrEnum):
    ISSUED = "issued"
    CANCELLED = "cancelled"


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


class RegisterError(Exception):
    """Base class for dispatch-register errors."""


class InvalidEntry(RegisterError, ValueError):
    """The entry's fields failed validation (nothing was taken)."""


class UnknownEntry(RegisterError, LookupError):
    def __init__(self, entry_id: int) -> None:
        self.entry_id = entry_id
        super().__init__(f"no dispatch register entry with id {entry_id}")


class AlreadyCancelled(RegisterError):
    def __init__(self, entry: DispatchEntry) -> None:
        self.entry_id = entry.id
        super().__init__(
            f"{entry.reference} ({entry.register}, {entry.year_be}) is already cancelled: "
            f"{entry.cancelled_reason}"
        )


class NumberConflict(RegisterError):
    """The database refused the entry: the counter and the register disagree
    (e.g. entries written without :func:`take_number`)."""


# --------------------------------------------------------------------------- #
# Models
# --------------------------------------------------------------------------- #


def _ts(*, nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


def _nfc(value: object) -> object:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


# A field called "register" shadows ABCMeta.register (virtual-subclass
# registration, which no model uses) and pydantic warns.  Worse, a subclass that
# merely inherits the field takes the bound method as its default: every class
# below declares ``register`` itself.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message='Field name "register"', category=UserWarning)

    class DispatchEntryBase(SQLModel):
        """What the caller says about a letter when taking its number."""

        model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]

        register: str = Field(min_length=1, max_length=100, description="e.g. สอศ.")
        kind: DispatchKind = Field(sa_type=sa.String(16))
        dated: date = Field(description="the letter's date; its year is the register year")
        subject: str = Field(min_length=1)
        recipients: str = Field(
            min_length=1, description="one addressee, or e.g. ผู้อำนวยการสถานศึกษาของรัฐ ... ทุกแห่ง"
        )
        owning_unit: str = Field(min_length=1, max_length=255)
        mailout_id: str | None = Field(default=None, max_length=255)
        created_by: str = Field(min_length=1, max_length=255)

        @field_validator(
            "register",
            "subject",
            "recipients",
            "owning_unit",
            "mailout_id",
            "created_by",
            mode="before",
        )
        @classmethod
        def _normalise_text(cls, value: object) -> object:
            return _nfc(value)

        @field_validator("mailout_id")
        @classmethod
        def _blank_is_none(cls, value: str | None) -> str | None:
            return value or None

        @field_validator("dated", mode="before")
        @classmethod
        def _date_only(cls, value: object) -> object:
            if isinstance(value, datetime):
                raise ValueError("dated must be a date, not a datetime")
            return value

    class DispatchEntry(DispatchEntryBase, table=True):
        __tablename__ = "dispatch_entry"
        __table_args__ = (
            sa.UniqueConstraint("register", "kind", "year_be", "number"),
            sa.CheckConstraint("kind IN ('external', 'circular')", name="kind"),
            sa.CheckConstraint("status IN ('issued', 'cancelled')", name="status"),
            sa.CheckConstraint("number >= 1", name="number_positive"),
            # A cancelled number says who cancelled it, when and why; an issued one never does.
            sa.CheckConstraint(
                "(status = 'issued' AND cancelled_at IS NULL AND cancelled_by IS NULL"
                " AND cancelled_reason IS NULL)"
                " OR (status = 'cancelled' AND cancelled_at IS NOT NULL"
                " AND cancelled_by IS NOT NULL AND cancelled_reason IS NOT NULL)",
                name="cancel_fields",
            ),
        )

        id: int | None = Field(default=None, primary_key=True)
        register: str = Field(min_length=1, max_length=100)  # re-declared: see above
        year_be: int
        number: int
        reference: str = Field(max_length=255, description="as printed: ศธ 0603/ว 5553")
        mailout_id: str | None = Field(default=None, max_length=255, index=True)
        status: DispatchStatus = Field(default=DispatchStatus.ISSUED, sa_type=sa.String(16))
        cancelled_reason: str | None = Field(default=None)
        cancelled_at: datetime | None = _ts(nullable=True, default=None)
        cancelled_by: str | None = Field(default=None, max_length=255)
        created_at: datetime = _ts(default_factory=utcnow)

    class DispatchEntryPublic(DispatchEntryBase):
        id: int
        register: str = Field(min_length=1, max_length=100)  # re-declared: see above
        year_be: int
        number: int
        reference: str
        status: DispatchStatus
        cancelled_reason: str | None
        cancelled_at: datetime | None
        cancelled_by: str | None
        created_at: datetime


# --------------------------------------------------------------------------- #
# Operations
# --------------------------------------------------------------------------- #


def dispatch_scope(register: str, kind: DispatchKind | str) -> str:
    """The :mod:`saraban.storage.numbering` scope of a register's sequence."""
    return f"dispatch:{_nfc(register)}:{DispatchKind(kind).value}"


def format_reference(agency_code: str, kind: DispatchKind | str, number: int) -> str:
    """``ศธ 0603/5553`` or, for a circular, ``ศธ 0603/ว 5553`` (Arabic digits;
    Thai numerals are the letter's typesetting choice)."""
    circular = DispatchKind(kind) is DispatchKind.CIRCULAR
    return f"{agency_code}/{'ว ' if circular else ''}{number}"


def _require_text(name: str, value: object) -> str:
    text = _nfc(value)
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
    mailout_id: str | None = None,
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
                "register": register,
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

    year = data.dated.year + BE_OFFSET
    try:
        with session.begin_nested():
            number = next_number(
                session=session, scope=dispatch_scope(data.register, data.kind), year_be=year
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
        raise NumberConflict(
            f"the database refused {data.register} {data.kind.value} number for {year}: {exc.orig}"
        ) from exc
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
        col(DispatchEntry.register) == _nfc(register), col(DispatchEntry.year_be) == year_be
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
                col(DispatchEntry.register) == _nfc(register),
                col(DispatchEntry.kind) == kind.value,
                col(DispatchEntry.year_be) == year_be,
            )
        )
    )
    last = current_number(session=session, scope=dispatch_scope(register, kind), year_be=year_be)
    top = max(last, max(numbers, default=0))
    return [n for n in range(1, top + 1) if n not in numbers]
