"""Database models (SQLModel), one family per entity.

Style follows tiangolo/full-stack-fastapi-template::

    XBase            shared, validated fields (no table)
    XCreate(XBase)   what callers hand in
    X(XBase, table)  the table; database-only columns live here
    XPublic(XBase)   what may leave the service (never password hashes)

Table models do not validate on ``__init__`` (SQLModel behaviour); build them
with ``X.model_validate(create_obj, update={...})`` or go through
:mod:`saraban.storage.store`, which validates input via the ``Create`` models.

All timestamps are timezone-aware UTC.  They are stored as
``DateTime(timezone=True)`` (``timestamptz`` on PostgreSQL; on SQLite, which has
no time zones, as UTC text) and always come back as aware UTC datetimes.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import pydantic
import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, StringConstraints, field_validator
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

from saraban.domain.colleges import email_problem, normalise_college_code
from saraban.domain.numbering import DispatchKind, DispatchStatus, nfc
from saraban.domain.text import no_disguise
from saraban.domain.vocabulary import ACTING_CHOICES, ROLES, ActingRelation, Role, SessionKind

# Deterministic constraint names, so that later migrations (SQLite batch mode in
# particular) can refer to constraints by name.  Must be set before any table
# model is declared.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """``DateTime(timezone=True)`` that only accepts aware datetimes and always
    returns aware UTC datetimes, on SQLite as well as PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: timestamps must be timezone-aware")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as UTC without offset
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(*, nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_type=UTCDateTime, nullable=nullable, **kw)


def _sql_list(values: Sequence[str]) -> str:
    """``'a', 'b'``: the values of a CHECK constraint's IN list."""
    return ", ".join(f"'{value}'" for value in values)


# --------------------------------------------------------------------------- #
# College
# --------------------------------------------------------------------------- #


class CollegeBase(SQLModel):
    """Only ``code`` and ``name`` are required; the roster may leave the other
    fields blank, which is stored as NULL (a college without an e-mail address
    cannot be mailed, but can be recorded)."""

    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]

    code: str = Field(min_length=10, max_length=10, description="10-digit college code")
    name: str = Field(min_length=1, max_length=255)
    province: str | None = Field(default=None, max_length=100)
    email: str | None = Field(default=None, max_length=320)
    director_title: str | None = Field(
        default=None, max_length=255, description="e.g. ผู้อำนวยการวิทยาลัยเทคนิค…"
    )

    @field_validator("code", mode="before")
    @classmethod
    def _check_code(cls, value: object) -> str:
        return normalise_college_code(value)

    @field_validator("name", "province", "email", "director_title", mode="before")
    @classmethod
    def _normalise_text(cls, value: object) -> object:
        """NFC-normalise text; blank optional fields become None."""
        if isinstance(value, str):
            value = unicodedata.normalize("NFC", no_disguise(value)).strip()
            if not value:
                return None
        return value

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is not None and email_problem(value) is not None:
            raise ValueError(f"not an e-mail address: {value!r}")
        return value


class CollegeCreate(CollegeBase):
    pass


class College(CollegeBase, table=True):
    __tablename__ = "college"

    code: str = Field(primary_key=True, min_length=10, max_length=10)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class CollegePublic(CollegeBase):
    created_at: datetime
    updated_at: datetime


# --------------------------------------------------------------------------- #
# IssueBatch
# --------------------------------------------------------------------------- #


class BatchKind(StrEnum):
    ISSUE = "issue"
    REISSUE = "reissue"


class BatchState(StrEnum):
    PENDING = "pending"
    COMMITTED = "committed"


class IssueBatchBase(SQLModel):
    created_by: str = Field(min_length=1, max_length=255)
    kind: BatchKind = Field(sa_type=sa.String(16))
    slips_path: str = Field(min_length=1, max_length=1024)


class IssueBatchCreate(IssueBatchBase):
    pass


class IssueBatch(IssueBatchBase, table=True):
    __tablename__ = "issue_batch"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('issue', 'reissue')", name="kind"),
        sa.CheckConstraint("state IN ('pending', 'committed')", name="state"),
    )

    id: str = Field(default_factory=lambda: str(uuid.uuid4()), primary_key=True, max_length=36)
    created_at: datetime = _ts(default_factory=utcnow)
    state: BatchState = Field(default=BatchState.PENDING, sa_type=sa.String(16))


class IssueBatchPublic(IssueBatchBase):
    id: str
    created_at: datetime
    state: BatchState


# --------------------------------------------------------------------------- #
# Credential
# --------------------------------------------------------------------------- #


class CredentialStatus(StrEnum):
    LIVE = "live"
    VOID = "void"


ARGON2_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$")


def check_password_hash(value: str) -> str:
    """Raise ValueError unless *value* looks like an argon2 PHC string.

    A guard against plaintext passwords reaching the database."""
    if not isinstance(value, str) or not value.startswith(ARGON2_PREFIXES):
        raise ValueError("password_hash must be an argon2 PHC string ($argon2id$…)")
    if value.count("$") < 4:
        raise ValueError("password_hash is not a complete argon2 PHC string")
    return value


class CredentialBase(SQLModel):
    college_code: str = Field(min_length=10, max_length=10)
    batch_id: str | None = Field(default=None, max_length=36)
    issued_by: str = Field(min_length=1, max_length=255)


class CredentialCreate(CredentialBase):
    password_hash: str = Field(max_length=255)

    @field_validator("password_hash")
    @classmethod
    def _check_hash(cls, value: str) -> str:
        return check_password_hash(value)


class Credential(CredentialBase, table=True):
    __tablename__ = "credential"
    __table_args__ = (
        # At most one live credential per college, enforced by the database.
        sa.Index(
            "uq_credential_live_college",
            "college_code",
            unique=True,
            sqlite_where=sa.text("status = 'live'"),
            postgresql_where=sa.text("status = 'live'"),
        ),
        sa.CheckConstraint("status IN ('live', 'void')", name="status"),
        # A void credential always says who voided it, when and why; a live one never does.
        sa.CheckConstraint(
            "(status = 'live' AND voided_at IS NULL AND voided_by IS NULL"
            " AND void_reason IS NULL)"
            " OR (status = 'void' AND voided_at IS NOT NULL AND voided_by IS NOT NULL"
            " AND void_reason IS NOT NULL)",
            name="void_fields",
        ),
        sa.CheckConstraint("password_hash LIKE '$argon2%'", name="password_hash_argon2"),
    )

    id: int | None = Field(default=None, primary_key=True)
    college_code: str = Field(foreign_key="college.code", index=True, max_length=10)
    password_hash: str = Field(max_length=255)
    status: CredentialStatus = Field(default=CredentialStatus.LIVE, sa_type=sa.String(8))
    batch_id: str | None = Field(
        default=None, foreign_key="issue_batch.id", nullable=True, index=True, max_length=36
    )
    issued_at: datetime = _ts(default_factory=utcnow)
    voided_at: datetime | None = _ts(nullable=True, default=None)
    voided_by: str | None = Field(default=None, max_length=255)
    void_reason: str | None = Field(default=None)


class CredentialPublic(CredentialBase):
    """Credential as shown to operators: no password hash."""

    id: int
    status: CredentialStatus
    issued_at: datetime
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str | None


# --------------------------------------------------------------------------- #
# Mailout
# --------------------------------------------------------------------------- #


class MailoutState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    CANCELLED = "cancelled"


class MailoutBase(SQLModel):
    name: str = Field(min_length=1, max_length=100, description="the mailout folder's name")
    folder: str = Field(min_length=1, max_length=1024)
    out_dir: str = Field(min_length=1, max_length=1024)
    fingerprint: str = Field(min_length=64, max_length=64, description="sha256 of the inputs")
    kind: str = Field(max_length=16, description="external or circular")
    subject: str = Field(max_length=1000)
    reference: str | None = Field(default=None, max_length=100, description="ที่ of a circular")
    due_date: date | None = None
    letter_date: date | None = Field(
        default=None, description="ลงวันที่: the date the letter bears (unknown before 0005)"
    )


class Mailout(MailoutBase, table=True):
    __tablename__ = "mailout"
    __table_args__ = (
        sa.CheckConstraint("state IN ('running', 'finished', 'cancelled')", name="state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(min_length=1, max_length=100, unique=True)
    # Written into the output folder too, so a folder is never reused by another database.
    token: str = Field(default_factory=lambda: uuid.uuid4().hex, max_length=32, unique=True)
    state: MailoutState = Field(default=MailoutState.RUNNING, sa_type=sa.String(16))
    created_at: datetime = _ts(default_factory=utcnow)
    created_by: str = Field(max_length=255)
    finished_at: datetime | None = _ts(default=None, nullable=True)


class MailoutPublic(MailoutBase):
    id: int
    state: MailoutState
    created_at: datetime
    created_by: str
    finished_at: datetime | None


class MailoutItemBase(SQLModel):
    college_code: str = Field(foreign_key="college.code", max_length=10)
    reference: str | None = Field(default=None, max_length=100, description="ที่ of this copy")
    file_name: str = Field(max_length=255)


class MailoutItem(MailoutItemBase, table=True):
    """One college's bundle: ``pending`` until its credential and bundle are committed."""

    __tablename__ = "mailout_item"
    __table_args__ = (
        sa.UniqueConstraint("mailout_id", "college_code"),
        sa.CheckConstraint("state IN ('pending', 'issued')", name="state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    mailout_id: int = Field(foreign_key="mailout.id", index=True)
    college_code: str = Field(foreign_key="college.code", index=True, max_length=10)
    state: str = Field(default="pending", max_length=16)
    credential_id: int | None = Field(default=None, foreign_key="credential.id")
    pages: int | None = None
    # How many of the bundle's first pages are the letter itself (the enclosures follow);
    # unknown for bundles made before 0005.
    letter_pages: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    issued_at: datetime | None = _ts(default=None, nullable=True)
    # A signed mailout's letter as delivered (a signature does not survive being merged into
    # the bundle): its file in the mailout's folder, shared by every college when the letter
    # is the same for all; NULL for an unsigned mailout (and for items made before 0011).
    signed_file: str | None = Field(default=None, max_length=255)
    signed_sha256: str | None = Field(default=None, max_length=64)


class MailoutItemPublic(MailoutItemBase):
    id: int
    mailout_id: int
    state: str
    pages: int | None
    letter_pages: int | None
    sha256: str | None
    issued_at: datetime | None


# --------------------------------------------------------------------------- #
# Service accounts: OVEC staff and college staff (a college itself logs in with
# its credential, so it has no row here)
# --------------------------------------------------------------------------- #


class AccountKind(StrEnum):
    OVEC = "ovec"
    STAFF = "staff"


StaffRole = Role
_HANDLE_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,39}$"


# Control characters never belong in typed text (and PostgreSQL refuses NUL outright).
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_control_chars(value: str) -> str:
    if _CONTROL_CHARS.search(value):
        raise ValueError("control characters are not allowed")
    return value


CleanStr = Annotated[str, AfterValidator(no_control_chars)]
DbInt = Annotated[int, pydantic.Field(ge=1, le=2_147_483_647)]  # an id for a 32-bit column


# Names, subjects, notes: also nothing that hides or reorders the text (saraban.domain.text).
VisibleStr = Annotated[str, AfterValidator(no_control_chars), AfterValidator(no_disguise)]


def _nfc_text(value: object) -> object:
    if isinstance(value, str):
        value = no_disguise(value)
        return " ".join(unicodedata.normalize("NFC", no_control_chars(value)).split())
    return value


class StaffBase(SQLModel):
    """A member of a college's staff as the college describes them."""

    name: str = Field(min_length=1, max_length=255, description="e.g. นางสาวอัญชลี ธรรมศรีใจ")
    position: str = Field(min_length=1, max_length=255, description="e.g. หัวหน้างานบริหารงานทั่วไป")
    role: StaffRole = Field(sa_type=sa.String(16))
    acting: ActingRelation = Field(default="", sa_type=sa.String(32))
    acting_for: str = Field(default="", max_length=255, description="the post acted for")

    @field_validator("name", "position", "acting_for", mode="before")
    @classmethod
    def _normalise_text(cls, value: object) -> object:
        return _nfc_text(value)


class StaffCreate(StaffBase):
    handle: Annotated[str, StringConstraints(pattern=_HANDLE_PATTERN)] = Field(
        description="login name inside the college; the username is handle@college-code"
    )
    password: str | None = Field(
        default=None,
        min_length=10,
        max_length=128,
        description="the first password; without one a temporary password is generated",
    )

    @field_validator("handle", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class StaffUpdate(SQLModel):
    name: str | None = Field(default=None, min_length=1, max_length=255)
    position: str | None = Field(default=None, min_length=1, max_length=255)
    role: StaffRole | None = None
    acting: ActingRelation | None = None
    acting_for: str | None = Field(default=None, max_length=255)
    active: bool | None = None

    @field_validator("name", "position", "acting_for", mode="before")
    @classmethod
    def _normalise_text(cls, value: object) -> object:
        return _nfc_text(value)


class Account(SQLModel, table=True):
    """A person who logs in with a username and a password of their own."""

    __tablename__ = "account"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('ovec', 'staff')", name="kind"),
        # OVEC staff belong to no college and route nothing; college staff have a role.
        sa.CheckConstraint(
            "(kind = 'ovec' AND college_code IS NULL AND role IS NULL)"
            " OR (kind = 'staff' AND college_code IS NOT NULL"
            f" AND role IN ({_sql_list(ROLES)}))",
            name="kind_fields",
        ),
        sa.CheckConstraint(f"acting IN ({_sql_list(ACTING_CHOICES)})", name="acting_relation"),
        sa.CheckConstraint("(acting = '') = (acting_for = '')", name="acting_for"),
        sa.CheckConstraint("password_hash LIKE '$argon2%'", name="password_hash_argon2"),
    )

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True)
    kind: AccountKind = Field(sa_type=sa.String(8))
    college_code: str | None = Field(
        default=None, foreign_key="college.code", index=True, max_length=10
    )
    name: str = Field(max_length=255)
    position: str = Field(default="", max_length=255)
    role: str | None = Field(default=None, max_length=16)
    acting: str = Field(default="", max_length=32)
    acting_for: str = Field(default="", max_length=255)
    password_hash: str = Field(max_length=255)
    must_change_password: bool = True
    active: bool = True
    created_at: datetime = _ts(default_factory=utcnow)
    created_by: str = Field(max_length=64)
    updated_at: datetime = _ts(default_factory=utcnow)


class StaffPublic(StaffBase):
    id: int
    username: str
    college_code: str
    active: bool
    must_change_password: bool
    created_at: datetime


# --------------------------------------------------------------------------- #
# Login sessions and the login throttle
# --------------------------------------------------------------------------- #


class LoginSession(SQLModel, table=True):
    """A server-side session. Only the sha256 of its token is stored: a copy of this table
    logs nobody in."""

    __tablename__ = "login_session"
    __table_args__ = (
        sa.CheckConstraint("kind IN ('ovec', 'college', 'staff')", name="kind"),
        # A college session stands on the credential it logged in with: voiding or
        # reissuing that credential ends it.
        sa.CheckConstraint(
            "(kind = 'college' AND credential_id IS NOT NULL AND account_id IS NULL)"
            " OR (kind IN ('ovec', 'staff') AND account_id IS NOT NULL AND credential_id IS NULL)",
            name="kind_fields",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    token_sha256: str = Field(max_length=64, unique=True)
    kind: SessionKind = Field(sa_type=sa.String(8))
    account_id: int | None = Field(default=None, foreign_key="account.id", index=True)
    credential_id: int | None = Field(default=None, foreign_key="credential.id", index=True)
    college_code: str | None = Field(default=None, foreign_key="college.code", max_length=10)
    address: str = Field(max_length=64)
    created_at: datetime = _ts(default_factory=utcnow)
    last_seen_at: datetime = _ts(default_factory=utcnow)
    expires_at: datetime = _ts()
    revoked_at: datetime | None = _ts(default=None, nullable=True)


class LoginThrottle(SQLModel, table=True):
    """Failed attempts for one key (``user:NAME`` or ``addr:ADDRESS``)."""

    __tablename__ = "login_throttle"

    key: str = Field(primary_key=True, max_length=200)
    failures: int = 0
    last_failure_at: datetime | None = _ts(default=None, nullable=True)
    locked_until: datetime | None = _ts(default=None, nullable=True)


# --------------------------------------------------------------------------- #
# The audit log (saraban.services.audit): rows chained by hash, and the chain's head
# --------------------------------------------------------------------------- #


class AuditEvent(SQLModel, table=True):
    """One event: ``record`` is exactly what was hashed (canonical JSON, with its own seq and
    the details); the other columns repeat its fields for queries and must agree with it."""

    __tablename__ = "audit_event"

    seq: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    at: datetime = _ts()
    event: str = Field(max_length=40, index=True)
    actor: str = Field(max_length=255)
    subject: str = Field(max_length=255)
    record: str = Field(sa_type=sa.Text)
    hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """One row: the last seq and hash. Appenders lock it, so rows are added one at a time."""

    __tablename__ = "audit_head"
    __table_args__ = (sa.CheckConstraint("id = 1", name="single_row"),)

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    seq: int = 0
    hash: str = Field(max_length=64)


# --------------------------------------------------------------------------- #
# The receipt register (ทะเบียนหนังสือรับ) and the routes of received letters
# --------------------------------------------------------------------------- #


class ReceiptChannel(StrEnum):
    MAILOUT = "mailout"  # delivered through saraban
    PAPER = "paper"
    EMAIL = "email"
    # A letter delivered directly through saraban (an ``org_receipt`` row, listed with the
    # register's ``receipt`` rows); a ``receipt`` row never has it.
    DIRECT = "direct"


class ReceiptBase(SQLModel):
    """The register's fields a clerk writes."""

    letter_number: str | None = Field(default=None, max_length=100, description="ที่ of the letter")
    letter_date: date | None = Field(default=None, description="the letter's own date")
    sender: str = Field(min_length=1, max_length=255, description="จาก")
    addressee: str = Field(min_length=1, max_length=255, description="ถึง")
    subject: str = Field(min_length=1, max_length=1000, description="เรื่อง")
    action: str | None = Field(default=None, max_length=255, description="การปฏิบัติ")
    note: str | None = Field(default=None, max_length=1000, description="หมายเหตุ")

    @field_validator(
        "letter_number", "sender", "addressee", "subject", "action", "note", mode="before"
    )
    @classmethod
    def _normalise_text(cls, value: object) -> object:
        value = _nfc_text(value)
        return value if value != "" else None

    @field_validator("letter_date", mode="before")
    @classmethod
    def _date_only(cls, value: object) -> object:
        if isinstance(value, datetime):
            raise ValueError("letter_date must be a date, not a date and time")
        return value


class ReceiptCreate(ReceiptBase):
    """A letter that came on paper or by e-mail, registered with its PDF."""

    channel: Literal["paper", "email"] = "paper"


class Receipt(ReceiptBase, table=True):
    __tablename__ = "receipt"
    __table_args__ = (
        sa.UniqueConstraint("college_code", "year_be", "number"),
        sa.CheckConstraint("channel IN ('mailout', 'paper', 'email')", name="channel"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
        # A delivered letter comes with its bundle; an uploaded one with its file.
        sa.CheckConstraint(
            "(channel = 'mailout' AND mailout_item_id IS NOT NULL AND file_path IS NULL)"
            " OR (channel <> 'mailout' AND mailout_item_id IS NULL AND file_path IS NOT NULL)",
            name="source",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    college_code: str = Field(foreign_key="college.code", index=True, max_length=10)
    year_be: int
    number: int
    received_at: datetime = _ts(default_factory=utcnow)
    received_by: str = Field(max_length=64)
    channel: ReceiptChannel = Field(sa_type=sa.String(8))
    mailout_item_id: int | None = Field(
        default=None, foreign_key="mailout_item.id", unique=True, nullable=True
    )
    file_path: str | None = Field(default=None, max_length=1024)
    file_sha256: str | None = Field(default=None, max_length=64)
    # What the uploaded PDF would do when opened (saraban.domain.pdfactions), comma-separated.
    active_content: str | None = Field(default=None, max_length=100)


class ReceiptPublic(ReceiptBase):
    id: int
    college_code: str
    year_be: int
    number: int
    received_at: datetime
    received_by: str
    channel: ReceiptChannel
    mailout_item_id: int | None
    active_content: str | None = Field(
        default=None,
        description="scripts or launch actions found in the uploaded PDF "
        "(javascript, launch, open-action, unreadable), comma-separated; empty: none",
    )


class LetterRoute(SQLModel, table=True):
    """The route of a received letter: its planned steps and roster (fixed when planned; staff
    named later by a decision join the roster), and its state so far for listing. The events
    themselves are in ``route_event``; the state is rebuilt from them
    (saraban.domain.routing.replay)."""

    __tablename__ = "letter_route"

    receipt_id: int = Field(
        primary_key=True, foreign_key="receipt.id", sa_column_kwargs={"autoincrement": False}
    )
    college_code: str = Field(foreign_key="college.code", index=True, max_length=10)
    steps: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    roster: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    status: str = Field(max_length=16)
    decision: str | None = Field(default=None, max_length=1000)
    decided_by: str | None = Field(default=None, max_length=1000)
    decided_at: datetime | None = _ts(default=None, nullable=True)
    planned_at: datetime = _ts(default_factory=utcnow)
    planned_by: str = Field(max_length=64)
    updated_at: datetime = _ts(default_factory=utcnow)


class RouteEvent(SQLModel, table=True):
    """A note, decision or acknowledgement, as signed. Rows are only ever added."""

    __tablename__ = "route_event"
    __table_args__ = (
        sa.UniqueConstraint("receipt_id", "seq"),
        sa.CheckConstraint("kind IN ('note', 'decision', 'acknowledgement')", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(foreign_key="letter_route.receipt_id")
    seq: int
    kind: str = Field(max_length=16)
    staff_id: int = Field(foreign_key="account.id")
    at: datetime = _ts()
    payload: dict[str, Any] = Field(sa_type=sa.JSON)


# --------------------------------------------------------------------------- #
# Running numbers (saraban.storage.counters) and the dispatch register
# (ทะเบียนหนังสือส่ง, saraban.services.dispatch)
# --------------------------------------------------------------------------- #


class NumberCounter(SQLModel, table=True):
    """The last number taken in one sequence (scope, Buddhist-era year)."""

    __tablename__ = "number_counter"
    __table_args__ = (sa.CheckConstraint("last >= 1", name="last_positive"),)

    scope: str = Field(primary_key=True, max_length=255)
    year_be: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    last: int


class DispatchEntryBase(SQLModel):
    """What the caller says about a letter when taking its number.

    ``register_name`` is the register's name (column ``register``): a field called
    ``register`` would shadow pydantic's and ABCMeta's ``register``."""

    model_config = ConfigDict(str_strip_whitespace=True)  # type: ignore[assignment]

    register_name: str = Field(
        min_length=1, max_length=100, description="e.g. สอศ.", sa_column_kwargs={"name": "register"}
    )
    kind: DispatchKind = Field(sa_type=sa.String(16))
    dated: date = Field(description="the letter's date; its year is the register year")
    subject: str = Field(min_length=1)
    recipients: str = Field(
        min_length=1, description="one addressee, or e.g. ผู้อำนวยการสถานศึกษาของรัฐ ... ทุกแห่ง"
    )
    owning_unit: str = Field(min_length=1, max_length=255)
    mailout_id: int | None = Field(default=None, description="the mailout that sent the letter")
    created_by: str = Field(min_length=1, max_length=255)

    @field_validator(
        "register_name", "subject", "recipients", "owning_unit", "created_by", mode="before"
    )
    @classmethod
    def _normalise_text(cls, value: object) -> object:
        return nfc(value)

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
    year_be: int
    number: int
    reference: str = Field(max_length=255, description="as printed: ศธ 0603/ว 5553")
    mailout_id: int | None = Field(default=None, foreign_key="mailout.id", index=True)
    status: DispatchStatus = Field(default=DispatchStatus.ISSUED, sa_type=sa.String(16))
    cancelled_reason: str | None = Field(default=None)
    cancelled_at: datetime | None = _ts(nullable=True, default=None)
    cancelled_by: str | None = Field(default=None, max_length=255)
    created_at: datetime = _ts(default_factory=utcnow)


class DispatchEntryPublic(DispatchEntryBase):
    id: int
    year_be: int
    number: int
    reference: str
    status: DispatchStatus
    cancelled_reason: str | None
    cancelled_at: datetime | None
    cancelled_by: str | None
    created_at: datetime


# --------------------------------------------------------------------------- #
# Digital signatures of received PDFs, as checked on arrival
# (saraban.services.signatures)
# --------------------------------------------------------------------------- #

SIGNATURE_STATUSES = (
    "valid",
    "valid_when_signed",
    "tampered",
    "invalid",
    "modified",
    "untrusted",
    "expired",
    "not_yet_valid",
    "revoked",
    "not_for_signing",
    "unverified",
    "unreadable",
)
CHECK_STATUSES = ("unsigned", *SIGNATURE_STATUSES)


class SignatureCheck(SQLModel, table=True):
    """One stored document (a college's copy of a received PDF, named by its sha256) checked
    for digital signatures: when, by whom, against which trust store, and the outcome as a
    whole (``unsigned``, or the least good of its signatures' verdicts)."""

    __tablename__ = "signature_check"
    __table_args__ = (
        sa.UniqueConstraint("college_code", "document_sha256"),
        sa.CheckConstraint(f"status IN ({_sql_list(CHECK_STATUSES)})", name="status"),
        sa.CheckConstraint(
            "(status = 'unsigned') = (signatures = 0)", name="unsigned_has_no_signatures"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    college_code: str = Field(foreign_key="college.code", index=True, max_length=10)
    document_sha256: str = Field(min_length=64, max_length=64)
    checked_at: datetime = _ts(default_factory=utcnow)
    checked_by: str = Field(max_length=255)
    trust_store: str | None = Field(
        default=None, max_length=64, description="sha256 of the trusted roots; None: none set"
    )
    signatures: int = Field(ge=0)
    status: str = Field(max_length=20)


class SignatureVerdictRow(SQLModel, table=True):
    """What one signature of a checked document said (letters.verification.SignatureVerdict)."""

    __tablename__ = "signature_verdict"
    __table_args__ = (
        sa.UniqueConstraint("check_id", "position"),
        sa.CheckConstraint(f"status IN ({_sql_list(SIGNATURE_STATUSES)})", name="status"),
        sa.CheckConstraint("position >= 1", name="position_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    check_id: int = Field(foreign_key="signature_check.id", index=True)
    position: int
    status: str = Field(max_length=20)
    summary: str = Field(max_length=255, description="one line of Thai")
    field: str = Field(default="", max_length=255, description="the signature field's name")
    signer: str = Field(default="", sa_type=sa.Text, description="the certificate's subject")
    signer_name: str = Field(default="", max_length=255)
    issuer: str = Field(default="", sa_type=sa.Text)
    intact: bool = False
    valid: bool = False
    trusted: bool = False
    covers_whole_file: bool = False
    coverage: str = Field(default="", max_length=40)
    modification_level: str = Field(default="", max_length=40)
    changes_allowed: bool = False
    claimed_time: datetime | None = _ts(default=None, nullable=True)
    timestamp: datetime | None = _ts(default=None, nullable=True)
    timestamp_trusted: bool = False
    trust_problem: str | None = Field(default=None, max_length=40)
    detail: str = Field(default="", max_length=300)


# --------------------------------------------------------------------------- #
# Mailouts as background jobs (saraban.services.mailout_jobs)
# --------------------------------------------------------------------------- #


class JobState(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"


JOB_STATES = tuple(s.value for s in JobState)
JOB_DONE_STATES = (JobState.FINISHED, JobState.FAILED, JobState.CANCELLED)


class MailoutJob(SQLModel, table=True):
    """A mailout run as a background job: its inputs (a mailout folder), where its bundles go,
    and its state. Progress is counted from its mailout's items; errors name the college."""

    __tablename__ = "mailout_job"
    __table_args__ = (
        sa.CheckConstraint(f"state IN ({_sql_list(JOB_STATES)})", name="mailout_job_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(min_length=1, max_length=100, index=True)
    folder: str = Field(min_length=1, max_length=1024)
    roster_path: str | None = Field(default=None, max_length=1024)
    out_dir: str = Field(min_length=1, max_length=1024)
    mailout_id: int | None = Field(default=None, foreign_key="mailout.id", index=True)
    state: str = Field(default=JobState.QUEUED, max_length=16)
    total: int = Field(default=0)
    errors: str = Field(
        default="[]", sa_type=sa.Text, description="JSON list of {college, message}"
    )
    created_by: str = Field(max_length=255)
    created_at: datetime = _ts(default_factory=utcnow)
    started_at: datetime | None = _ts(default=None, nullable=True)
    finished_at: datetime | None = _ts(default=None, nullable=True)


# --------------------------------------------------------------------------- #
# Organisations (OVEC and every college, one kind) and the letters they send: drafts kept as
# letter files (TOML), each change a new version (saraban.services.organisations, .drafts)
# --------------------------------------------------------------------------- #

ORGANISATION_KINDS = ("ovec", "college")
DRAFT_STATUSES = ("draft", "submitted", "approved", "sent")


class Organisation(SQLModel, table=True):
    """OVEC or a college: its agency code for ``ที่``, its address and its registers' name.
    A college's staff are its accounts (``account.college_code``); OVEC's are the OVEC
    accounts, with their roles in ``organisation_member``."""

    __tablename__ = "organisation"
    __table_args__ = (
        sa.CheckConstraint(f"kind IN ({_sql_list(ORGANISATION_KINDS)})", name="kind"),
        sa.CheckConstraint(
            "(kind = 'ovec' AND college_code IS NULL)"
            " OR (kind = 'college' AND college_code IS NOT NULL)",
            name="kind_fields",
        ),
        sa.Index(
            "uq_organisation_one_ovec",
            "kind",
            unique=True,
            sqlite_where=sa.text("kind = 'ovec'"),
            postgresql_where=sa.text("kind = 'ovec'"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=8)
    college_code: str | None = Field(
        default=None, foreign_key="college.code", unique=True, nullable=True, max_length=10
    )
    name: str = Field(max_length=255)
    short_name: str = Field(default="", max_length=100, description="the registers' name: สอศ.")
    agency_code: str = Field(default="", max_length=50, description="before the slash of ที่")
    address: str = Field(default="", sa_type=sa.Text, description="lines")
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class OrganisationMember(SQLModel, table=True):
    """An OVEC account's role in OVEC (a college's staff carry theirs in ``account.role``)."""

    __tablename__ = "organisation_member"
    __table_args__ = (sa.CheckConstraint(f"role IN ({_sql_list(ROLES)})", name="role"),)

    account_id: int = Field(
        primary_key=True, foreign_key="account.id", sa_column_kwargs={"autoincrement": False}
    )
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    role: str = Field(max_length=16)


class Draft(SQLModel, table=True):
    """A letter an organisation is writing: its versions are in ``draft_version``; the number
    comes from the dispatch register at approval (``dispatch_entry_id``), never earlier."""

    __tablename__ = "draft"
    __table_args__ = (
        sa.CheckConstraint(f"status IN ({_sql_list(DRAFT_STATUSES)})", name="status"),
        sa.CheckConstraint("kind IN ('external', 'circular', 'memo')", name="kind"),
        sa.CheckConstraint(
            "(status IN ('approved', 'sent')) = (approved_version IS NOT NULL)", name="approved"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    kind: str = Field(max_length=16)
    subject: str = Field(sa_type=sa.Text)
    status: str = Field(default="draft", max_length=16)
    version: int = Field(default=1, description="the current version")
    approved_version: int | None = None
    reference: str | None = Field(default=None, max_length=255, description="ที่, once numbered")
    dispatch_entry_id: int | None = Field(
        default=None, foreign_key="dispatch_entry.id", unique=True, nullable=True
    )
    signer_id: int | None = Field(default=None, foreign_key="account.id")
    reply_to_receipt_id: int | None = Field(default=None, foreign_key="receipt.id")
    # A reply to a letter delivered through saraban (org_receipt): the two tables refer to
    # each other, so this key is added after both exist (use_alter).
    reply_to_org_receipt_id: int | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.Integer, sa.ForeignKey("org_receipt.id", use_alter=True), nullable=True
        ),
    )
    created_by: str = Field(max_length=255)
    created_at: datetime = _ts(default_factory=utcnow)
    updated_at: datetime = _ts(default_factory=utcnow)


class DraftVersion(SQLModel, table=True):
    """One version of a draft, as a letter file (and its QR sheet, if it makes one). Rows are
    only ever added: a change is a new version."""

    __tablename__ = "draft_version"
    __table_args__ = (
        sa.UniqueConstraint("draft_id", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    version: int
    letter_toml: str = Field(sa_type=sa.Text)
    qr_sheet_toml: str | None = Field(default=None, sa_type=sa.Text)
    created_by: str = Field(max_length=255)
    created_at: datetime = _ts(default_factory=utcnow)


class DraftEvent(SQLModel, table=True):
    """A step of a draft's route for signature (a note, a return, the signing), as signed.
    Rows are only ever added."""

    __tablename__ = "draft_event"
    __table_args__ = (
        sa.UniqueConstraint("draft_id", "seq"),
        sa.CheckConstraint("kind IN ('submit', 'note', 'return', 'approve', 'send')", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    draft_id: int = Field(foreign_key="draft.id", index=True)
    seq: int
    version: int
    kind: str = Field(max_length=16)
    account_id: int = Field(foreign_key="account.id")
    to_account_id: int | None = Field(default=None, foreign_key="account.id")
    at: datetime = _ts(default_factory=utcnow)
    payload: dict[str, Any] = Field(sa_type=sa.JSON)


class OrgReceipt(SQLModel, table=True):
    """A letter one organisation sent another through saraban (a reply, or a letter delivered
    directly: saraban.services.deliveries), as the recipient registered it on arrival: its
    receipt number (เลขรับ) from the recipient's receipt register of the year (a college's own
    register, shared with its ``receipt`` rows; OVEC's ``receipt:org:<id>``), the letter's own
    number and date, the file."""

    __tablename__ = "org_receipt"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "year_be", "number"),
        sa.UniqueConstraint("organisation_id", "draft_id"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: int | None = Field(default=None, primary_key=True)
    organisation_id: int = Field(foreign_key="organisation.id", index=True)
    from_organisation_id: int = Field(foreign_key="organisation.id")
    draft_id: int = Field(foreign_key="draft.id")
    year_be: int
    number: int
    letter_number: str = Field(max_length=255)
    letter_date: date
    sender: str = Field(max_length=255)
    subject: str = Field(sa_type=sa.Text)
    file_path: str = Field(max_length=1024)
    file_sha256: str = Field(max_length=64)
    received_at: datetime = _ts(default_factory=utcnow)


class OrgRoute(SQLModel, table=True):
    """The route of a letter an organisation received through saraban (as ``letter_route``
    for a college's receipt): planned steps and roster, state so far; events in
    ``org_route_event``, the state rebuilt from them (saraban.domain.routing.replay)."""

    __tablename__ = "org_route"

    org_receipt_id: int = Field(
        primary_key=True, foreign_key="org_receipt.id", sa_column_kwargs={"autoincrement": False}
    )
    steps: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    roster: list[dict[str, Any]] = Field(sa_type=sa.JSON)
    status: str = Field(max_length=16)
    decision: str | None = Field(default=None, max_length=1000)
    decided_by: str | None = Field(default=None, max_length=1000)
    decided_at: datetime | None = _ts(default=None, nullable=True)
    planned_at: datetime = _ts(default_factory=utcnow)
    planned_by: str = Field(max_length=64)
    updated_at: datetime = _ts(default_factory=utcnow)


class OrgRouteEvent(SQLModel, table=True):
    """A note, decision or acknowledgement on such a route, as signed. Rows are only added."""

    __tablename__ = "org_route_event"
    __table_args__ = (
        sa.UniqueConstraint("org_receipt_id", "seq"),
        sa.CheckConstraint("kind IN ('note', 'decision', 'acknowledgement')", name="kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_receipt_id: int = Field(foreign_key="org_route.org_receipt_id")
    seq: int
    kind: str = Field(max_length=16)
    staff_id: int = Field(foreign_key="account.id")
    at: datetime = _ts()
    payload: dict[str, Any] = Field(sa_type=sa.JSON)
