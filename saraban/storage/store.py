"""Storage operations: colleges, issue batches, credentials.

Every function takes keyword-only arguments, works inside the caller's session
and transaction, and never commits: wrap calls in
:func:`saraban.storage.engine.session_scope` (or commit yourself).  Functions flush, so
database errors surface here rather than at commit.

Passwords never pass through this module: it accepts and stores argon2 PHC
hashes only (see :func:`saraban.storage.models.check_password_hash`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from saraban.domain.colleges import normalise_college_code
from saraban.domain.errors import Conflict, InternalError, Invalid, NotFound
from saraban.storage.models import (
    BatchKind,
    BatchState,
    College,
    CollegeCreate,
    Credential,
    CredentialStatus,
    IssueBatch,
    IssueBatchCreate,
    check_password_hash,
    utcnow,
)

__all__ = [
    "BatchStateError",
    "CredentialConflict",
    "CredentialRefused",
    "DuplicateCollege",
    "ImportResult",
    "InvalidCollege",
    "NoLiveCredential",
    "UnknownBatch",
    "UnknownCollege",
    "codes_with_live_credential",
    "colleges_without_live_credential",
    "commit_batch",
    "create_batch",
    "credential_history",
    "credentials_in_batch",
    "get_college",
    "import_colleges",
    "live_credential",
    "reissue_credential",
    "store_credentials",
    "void_credential",
]

# Keep IN (...) lists well below SQLite's bound-parameter limit.
_CHUNK = 500
_COLLEGE_FIELDS = ("name", "province", "email", "director_title")


# --------------------------------------------------------------------------- #
# Errors
# --------------------------------------------------------------------------- #


class InvalidCollege(Invalid):
    """An imported college record failed validation."""

    def __init__(self, index: int, code: object, error: ValidationError) -> None:
        self.index = index
        self.code = code
        self.error = error
        super().__init__(None, f"college #{index} (code {code!r}) is invalid: {error}")


class DuplicateCollege(Invalid):
    """The same college code appears more than once in one import."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(None, f"college {code} appears more than once in the import")


class UnknownCollege(NotFound):
    def __init__(self, codes: Iterable[str]) -> None:
        self.codes = tuple(sorted(codes))
        super().__init__(f"unknown college code(s): {', '.join(self.codes)}")


class UnknownBatch(NotFound):
    def __init__(self, batch_id: str) -> None:
        self.batch_id = batch_id
        super().__init__(f"unknown issue batch {batch_id!r}")


class BatchStateError(Conflict):
    pass


class CredentialConflict(Conflict):
    """The college already has a live credential (the database refused a second)."""

    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(
            f"college {code} already has a live credential; void it or reissue instead"
        )


class NoLiveCredential(Conflict, LookupError):
    def __init__(self, code: str) -> None:
        self.code = code
        super().__init__(f"สถานศึกษานี้ไม่มีรหัสผ่านที่ใช้งานอยู่ / college {code} has no live credential")


class CredentialRefused(InternalError):
    """The database refused credentials for a reason the checks before did not foresee."""


# --------------------------------------------------------------------------- #
# Colleges
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class ImportResult:
    """College codes by outcome, each tuple sorted."""

    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()

    def __str__(self) -> str:
        return (
            f"{len(self.created)} created, {len(self.updated)} updated, "
            f"{len(self.unchanged)} unchanged"
        )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _colleges_by_code(session: Session, codes: Sequence[str]) -> dict[str, College]:
    found: dict[str, College] = {}
    for chunk in _chunks(codes):
        for college in session.exec(select(College).where(col(College.code).in_(chunk))):
            found[college.code] = college
    return found


def _validate_college(index: int, item: object) -> CollegeCreate:
    if isinstance(item, CollegeCreate):
        return item
    try:
        if isinstance(item, Mapping):
            return CollegeCreate.model_validate(dict(item))
        return CollegeCreate.model_validate(item, from_attributes=True)
    except ValidationError as exc:
        code = item.get("code") if isinstance(item, Mapping) else getattr(item, "code", None)
        raise InvalidCollege(index, code, exc) from exc


def import_colleges(
    *, session: Session, colleges: Iterable[CollegeCreate | Mapping[str, Any] | Any]
) -> ImportResult:
    """Insert or update colleges by code.

    *colleges* may hold :class:`CollegeCreate` objects, mappings, or any object
    with the same attributes.  Everything is validated before the session is
    touched; a bad record raises :class:`InvalidCollege` (or
    :class:`DuplicateCollege`) and nothing is added.  Existing colleges whose
    fields differ are updated (``updated_at`` moves); identical ones are left alone.
    Colleges missing from the input are not deleted.
    """
    records: dict[str, CollegeCreate] = {}
    for index, item in enumerate(colleges):
        record = _validate_college(index, item)
        if record.code in records:
            raise DuplicateCollege(record.code)
        records[record.code] = record

    existing = _colleges_by_code(session, sorted(records))
    now = utcnow()
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for code, record in records.items():
        college = existing.get(code)
        if college is None:
            session.add(
                College.model_validate(record, update={"created_at": now, "updated_at": now})
            )
            created.append(code)
            continue
        changes = {
            field: getattr(record, field)
            for field in _COLLEGE_FIELDS
            if getattr(college, field) != getattr(record, field)
        }
        if changes:
            college.sqlmodel_update(changes)
            college.updated_at = now
            session.add(college)
            updated.append(code)
        else:
            unchanged.append(code)
    session.flush()
    return ImportResult(tuple(sorted(created)), tuple(sorted(updated)), tuple(sorted(unchanged)))


def get_college(*, session: Session, code: str) -> College | None:
    return session.get(College, normalise_college_code(code))


def colleges_without_live_credential(
    *, session: Session, codes: Iterable[str] | None = None
) -> list[College]:
    """Colleges that have no live credential, ordered by code.

    With *codes*, only those colleges are considered; an unknown code raises
    :class:`UnknownCollege`.
    """
    has_live = (
        select(Credential.id)
        .where(
            col(Credential.college_code) == col(College.code),
            col(Credential.status) == CredentialStatus.LIVE.value,
        )
        .exists()
    )
    base = select(College).where(~has_live).order_by(col(College.code))
    if codes is None:
        return list(session.exec(base))

    wanted = sorted({normalise_college_code(c) for c in codes})
    missing = set(wanted) - set(_colleges_by_code(session, wanted))
    if missing:
        raise UnknownCollege(missing)
    result: list[College] = []
    for chunk in _chunks(wanted):
        result.extend(session.exec(base.where(col(College.code).in_(chunk))))
    result.sort(key=lambda c: c.code)
    return result


# --------------------------------------------------------------------------- #
# Issue batches
# --------------------------------------------------------------------------- #


def create_batch(
    *,
    session: Session,
    created_by: str,
    kind: BatchKind | str,
    slips_path: str,
    batch_id: str | None = None,
) -> IssueBatch:
    """Record a new ``pending`` issue batch (id: a fresh uuid4 unless given)."""
    data = IssueBatchCreate.model_validate(
        {"created_by": created_by, "kind": kind, "slips_path": slips_path}
    )
    extra: dict[str, Any] = {"created_at": utcnow(), "state": BatchState.PENDING}
    if batch_id is not None:
        extra["id"] = batch_id
    batch = IssueBatch.model_validate(data, update=extra)
    session.add(batch)
    session.flush()
    return batch


def commit_batch(*, session: Session, batch_id: str) -> IssueBatch:
    """Mark a pending batch ``committed``."""
    batch = session.get(IssueBatch, batch_id, with_for_update=True)
    if batch is None:
        raise UnknownBatch(batch_id)
    if batch.state != BatchState.PENDING:
        raise BatchStateError(f"batch {batch_id} is {batch.state}, not pending")
    batch.state = BatchState.COMMITTED
    session.add(batch)
    session.flush()
    return batch


# --------------------------------------------------------------------------- #
# Credentials
# --------------------------------------------------------------------------- #


def live_credential(*, session: Session, code: str) -> Credential | None:
    """The college's live credential, or None."""
    return session.exec(
        select(Credential).where(
            col(Credential.college_code) == normalise_college_code(code),
            col(Credential.status) == CredentialStatus.LIVE.value,
        )
    ).one_or_none()


def codes_with_live_credential(*, session: Session, codes: Sequence[str]) -> list[str]:
    """Those of ``codes`` whose college has a live credential, sorted."""
    wanted = sorted({normalise_college_code(code) for code in codes})
    found: set[str] = set()
    for part in _chunks(wanted):
        found.update(
            session.exec(
                select(Credential.college_code).where(
                    col(Credential.college_code).in_(part),
                    col(Credential.status) == CredentialStatus.LIVE.value,
                )
            )
        )
    return sorted(found)


def credential_history(*, session: Session, code: str) -> list[Credential]:
    """All credentials ever issued to the college, oldest first."""
    return list(
        session.exec(
            select(Credential)
            .where(col(Credential.college_code) == normalise_college_code(code))
            .order_by(col(Credential.issued_at), col(Credential.id))
        )
    )


def credentials_in_batch(*, session: Session, batch_id: str) -> list[Credential]:
    """Credentials issued in a batch, ordered by college code."""
    return list(
        session.exec(
            select(Credential)
            .where(col(Credential.batch_id) == batch_id)
            .order_by(col(Credential.college_code), col(Credential.id))
        )
    )


def _require_text(name: str, value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise Invalid(name, "must be a non-empty string", text=f"{name} must be a non-empty string")
    return value.strip()


def _require_batch(session: Session, batch_id: str | None) -> None:
    if batch_id is not None and session.get(IssueBatch, batch_id) is None:
        raise UnknownBatch(batch_id)


def _insert_live(
    session: Session, *, code: str, password_hash: str, batch_id: str | None, issued_by: str
) -> Credential:
    """Insert one live credential and flush; a live duplicate becomes CredentialConflict.

    Must run inside a savepoint so that a refused row leaves the caller's
    transaction usable.
    """
    credential = Credential(
        college_code=code,
        password_hash=password_hash,
        status=CredentialStatus.LIVE,
        batch_id=batch_id,
        issued_at=utcnow(),
        issued_by=issued_by,
    )
    session.add(credential)
    try:
        session.flush()
    except IntegrityError as exc:
        raise _IntegrityAt(code) from exc
    return credential


class _IntegrityAt(Exception):
    def __init__(self, code: str) -> None:
        self.code = code


def _explain(session: Session, err: _IntegrityAt) -> Conflict | NotFound | InternalError:
    """After the savepoint rolled back: say why the database refused the row."""
    code = err.code
    if live_credential(session=session, code=code) is not None:
        return CredentialConflict(code)
    if session.get(College, code) is None:
        return UnknownCollege([code])
    return CredentialRefused(f"database refused the credential for college {code}: {err.__cause__}")


def store_credentials(
    *,
    session: Session,
    batch_id: str | None,
    issued_by: str,
    hashes: Mapping[str, str],
) -> list[Credential]:
    """Insert a live credential for each ``code -> argon2 hash`` in *hashes*.

    All or nothing: runs in a savepoint of the caller's transaction.  If any
    college already has a live credential the database refuses the row and
    :class:`CredentialConflict` (naming the code) is raised; none of this call's
    rows remain.  Unknown colleges raise :class:`UnknownCollege`, an unknown
    *batch_id* :class:`UnknownBatch`, anything but an argon2 hash ValueError.
    """
    issued_by = _require_text("issued_by", issued_by)
    items: dict[str, str] = {}
    for raw_code, password_hash in hashes.items():
        code = normalise_college_code(raw_code)
        if code in items:
            raise Invalid(None, f"college {code} given twice")
        items[code] = check_password_hash(password_hash)
    if not items:
        return []
    _require_batch(session, batch_id)
    missing = set(items) - set(_colleges_by_code(session, sorted(items)))
    if missing:
        raise UnknownCollege(missing)

    now = utcnow()
    stored = [
        Credential(
            college_code=code,
            password_hash=items[code],
            status=CredentialStatus.LIVE,
            batch_id=batch_id,
            issued_at=now,
            issued_by=issued_by,
        )
        for code in sorted(items)
    ]
    try:
        with session.begin_nested():  # one multi-row INSERT: a mailout stores hundreds
            session.add_all(stored)
            session.flush()
    except IntegrityError as exc:
        live = codes_with_live_credential(session=session, codes=list(items))
        if live:
            raise CredentialConflict(live[0]) from exc
        raise CredentialRefused(f"database refused the credentials: {exc.orig}") from exc
    return stored


def void_credential(*, session: Session, code: str, by: str, reason: str) -> Credential:
    """Void the college's live credential, recording who, when and why.

    Raises :class:`NoLiveCredential` if there is none.
    """
    by = _require_text("by", by)
    reason = _require_text("reason", reason)
    code = normalise_college_code(code)
    credential = session.exec(
        select(Credential)
        .where(
            col(Credential.college_code) == code,
            col(Credential.status) == CredentialStatus.LIVE.value,
        )
        .with_for_update()
    ).one_or_none()
    if credential is None:
        raise NoLiveCredential(code)
    credential.status = CredentialStatus.VOID
    credential.voided_at = utcnow()
    credential.voided_by = by
    credential.void_reason = reason
    session.add(credential)
    session.flush()
    return credential


def reissue_credential(
    *,
    session: Session,
    code: str,
    password_hash: str,
    by: str,
    reason: str,
    batch_id: str | None = None,
) -> Credential:
    """Void the college's live credential and issue a new one, atomically
    (one savepoint in the caller's transaction).  Returns the new credential.

    Raises :class:`NoLiveCredential` if there is nothing to reissue; use
    :func:`store_credentials` for a first issue.
    """
    by = _require_text("by", by)
    reason = _require_text("reason", reason)
    password_hash = check_password_hash(password_hash)
    code = normalise_college_code(code)
    _require_batch(session, batch_id)
    try:
        with session.begin_nested():
            void_credential(session=session, code=code, by=by, reason=reason)
            return _insert_live(
                session, code=code, password_hash=password_hash, batch_id=batch_id, issued_by=by
            )
    except _IntegrityAt as err:
        raise _explain(session, err) from err.__cause__
