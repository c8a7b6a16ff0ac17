"""Database models (SQLModel), one family per entity.

Style follows tiangolo/full-stack-fastapi-template::

    XBase            shared, validated fields (no table)
    XCreate(XBase)   what callers hand in
    X(XBase, table)  the table; database-only columns live here
    XPublic(XBase)   what may leave the service (never password hashes)

Table models do not validate on ``__init__`` (SQLModel behaviour); build them
with ``X.model_validate(create_obj, update={...})`` or go through
:mod:`saraban.store`, which validates input via the ``Create`` models.

All timestamps are timezone-aware UTC.  They are stored as
``DateTime(timezone=True)`` (``timestamptz`` on PostgreSQL; on SQLite, which has
no time zones, as UTC text) and always come back as aware UTC datetimes.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import ConfigDict, field_validator
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

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


# --------------------------------------------------------------------------- #
# College
# --------------------------------------------------------------------------- #

_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_CODE_RE = re.compile(r"[0-9]{10}")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def normalise_college_code(value: object) -> str:
    """Return the 10-digit college code as ASCII digits; raise ValueError otherwise.

    Accepts surrounding whitespace and Thai numerals (๐-๙)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"college code must be a string, got {type(value).__name__}")
    code = value.strip().translate(_THAI_DIGITS)
    if not _CODE_RE.fullmatch(code):
        raise ValueError(f"college code must be exactly 10 digits, got {value!r}")
    return code


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
            value = unicodedata.normalize("NFC", value).strip()
            if not value:
                return None
        return value

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL_RE.fullmatch(value):
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
    state: str = Field(default="pending", max_length=16)
    credential_id: int | None = Field(default=None, foreign_key="credential.id")
    pages: int | None = None
    sha256: str | None = Field(default=None, max_length=64)
    issued_at: datetime | None = _ts(default=None, nullable=True)


class MailoutItemPublic(MailoutItemBase):
    id: int
    mailout_id: int
    state: str
    pages: int | None
    sha256: str | None
    issued_at: datetime | None
