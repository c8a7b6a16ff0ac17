"""Digital signatures in the service: signing a letter with a personal key or the organisation's
seal, and checking every received PDF's signatures against the administrator's trust store.

**Keys, two ways.** A signer may give a personal PKCS#12 file and its passphrase with a request
(:func:`sign_for` ``personal_p12=``): it is used for that request and never kept. Otherwise the
organisation's seal, if configured (``SARABAN_SEAL_FILE``, ``SARABAN_SEAL_PASSPHRASE``), is
loaded once (:func:`organisation_seal`) and signs; with neither, the letter goes unsigned. A key
or a passphrase never reaches the database, a log or an error message: the refusals name the
key file, never what was typed.

**Checks on arrival.** Every PDF that arrives (a delivered letter when it is registered, an
upload when it is registered) is checked (:func:`verdicts_of`, letters.verification) against
the CA certificates in ``SARABAN_TRUST_DIR``; without a trust store every signature shows as
untrusted, no trust store configured. The result is stored per stored document (the college's
copy, named by its sha256: ``signature_check`` and ``signature_verdict``) and written to the
audit log (``signature_check``). A tampered, untrusted or unreadable signature is a verdict,
never an error. The work is bounded: the size of what is checked (``max_upload_bytes``), and
letters.verification's caps on signatures and revisions; it runs in the request's worker
thread, never in the event loop (:func:`async_verdicts_of` for async callers).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Literal, Protocol

from asn1crypto import x509 as asn1_x509
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, delete, select

from letters.letter import render_letter_layout
from letters.model import Letter
from letters.signing import SigningKey, SigningKeyError, async_sign_pdf, load_signing_key
from letters.verification import (
    SignatureVerdict,
    load_trust_roots,
    unreadable,
    verify_pdf,
)
from saraban.domain.errors import ConfigError, Invalid
from saraban.domain.vocabulary import bangkok_today, in_bangkok
from saraban.services import audit
from saraban.settings import Settings
from saraban.storage.models import SignatureCheck, SignatureVerdictRow, utcnow

log = logging.getLogger(__name__)

SIGNING_REASON = "ลงนามหนังสือราชการ"
# The least good verdict speaks for a document with several signatures.
_WORST_FIRST = (
    "unreadable",
    "tampered",
    "invalid",
    "modified",
    "revoked",
    "expired",
    "not_yet_valid",
    "not_for_signing",
    "untrusted",
    "unverified",
    "valid_when_signed",
    "valid",
)
UNSIGNED = "unsigned"
UNSIGNED_SUMMARY = "ไม่มีลายมือชื่อดิจิทัล"


# --------------------------------------------------------------------------- #
# The trust store
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class TrustStore:
    """The roots the administrator trusts, and their fingerprint (None: no store set)."""

    roots: tuple[asn1_x509.Certificate, ...]
    fingerprint: str | None


_NO_STORE = TrustStore((), None)
_stores: dict[tuple[object, ...], TrustStore] = {}
_stores_lock = threading.Lock()


def _folder_state(folder: Path) -> tuple[object, ...]:
    """What changes when the folder's certificates change: names, sizes, times."""
    entries = []
    for path in sorted(folder.iterdir()):
        info = path.stat()
        entries.append((path.name, info.st_size, info.st_mtime_ns))
    return (str(folder), tuple(entries))


def trust_store(settings: Settings) -> TrustStore:
    """The CA certificates in ``SARABAN_TRUST_DIR``, read again only when the folder
    changes. A folder that cannot be used is a ConfigError naming the file."""
    folder = settings.trust_dir
    if folder is None:
        return _NO_STORE
    try:
        state = _folder_state(folder)
    except OSError as exc:
        raise ConfigError(f"SARABAN_TRUST_DIR: {folder}: {exc.strerror}") from None
    with _stores_lock:
        found = _stores.get(state)
    if found is not None:
        return found
    roots = load_trust_roots(folder)
    digest = hashlib.sha256(b"".join(sorted(root.dump() for root in roots))).hexdigest()
    store = TrustStore(roots, digest)
    with _stores_lock:
        _stores.clear()
        _stores[state] = store
    return store


# --------------------------------------------------------------------------- #
# Checking a PDF
# --------------------------------------------------------------------------- #


def _bounded(pdf: bytes, settings: Settings) -> list[SignatureVerdict] | None:
    if len(pdf) > settings.max_upload_bytes:
        return [unreadable(f"larger than {settings.max_upload_bytes} bytes: not checked")]
    return None


def verdicts_of(pdf: bytes, settings: Settings) -> list[SignatureVerdict]:
    """A verdict for each signature of ``pdf`` (none: unsigned), against the trust store, as
    of now. Never raises on what the PDF holds. Call it from a worker thread (a sync route),
    not from the event loop: :func:`async_verdicts_of` there."""
    store = trust_store(settings)
    return _bounded(pdf, settings) or verify_pdf(pdf, trust_roots=store.roots)


async def async_verdicts_of(pdf: bytes, settings: Settings) -> list[SignatureVerdict]:
    """:func:`verdicts_of` for async callers: the checking runs in a worker thread."""
    return await asyncio.to_thread(verdicts_of, pdf, settings)


def overall(verdicts: Sequence[SignatureVerdict]) -> str:
    """``unsigned``, or the least good status among the signatures."""
    if not verdicts:
        return UNSIGNED
    return min((v.status for v in verdicts), key=_WORST_FIRST.index)


# --------------------------------------------------------------------------- #
# A verdict in words (the pages in Thai, the command line in Thai and English)
# --------------------------------------------------------------------------- #


class _Verdict(Protocol):
    status: str
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    changes_allowed: bool
    trust_problem: str | None


_TRUST_WORDS = {
    "no_trust_store": (
        "ยังไม่ได้ตรวจ: ยังไม่ได้กำหนดรายการใบรับรองที่เชื่อถือ",
        "not checked: no trust store configured",
    ),
    "no_chain": (
        "ไม่เชื่อถือ: ใบรับรองไม่ได้ออกโดยผู้ออกใบรับรองที่อยู่ในรายการที่เชื่อถือ",
        "untrusted: the certificate does not chain to a trusted root",
    ),
    "expired": ("ไม่เชื่อถือ: ใบรับรองหมดอายุ", "untrusted: the certificate has expired"),
    "not_yet_valid": (
        "ไม่เชื่อถือ: ใบรับรองยังไม่มีผล",
        "untrusted: the certificate is not valid yet",
    ),
    "revoked": ("ไม่เชื่อถือ: ใบรับรองถูกเพิกถอน", "untrusted: the certificate is revoked"),
    "key_usage": (
        "ไม่เชื่อถือ: ใบรับรองนี้ใช้ลงนามเอกสารไม่ได้",
        "untrusted: the certificate may not sign documents",
    ),
    "other": ("ตรวจสอบใบรับรองไม่ได้", "the certificate could not be checked"),
}


def integrity_words(v: _Verdict) -> tuple[str, str]:
    """Whether the file is as signed, in Thai and English."""
    if v.status == "unreadable":
        return "อ่านลายมือชื่อไม่ได้ หรือไฟล์เสียหาย", "the signature cannot be read"
    if not v.intact:
        return (
            "ไฟล์ถูกแก้ไขหลังลงนาม: ข้อมูลไม่ตรงกับที่ลงนามไว้",
            "the signed bytes were changed after signing",
        )
    if not v.valid:
        return "ค่าลายมือชื่อไม่ถูกต้อง", "the signature value does not verify"
    if v.covers_whole_file:
        return (
            "ลายมือชื่อครอบคลุมทั้งไฟล์ ไม่มีสิ่งใดเพิ่มหลังลงนาม",
            "the signature covers the whole file",
        )
    if v.changes_allowed:
        return (
            "มีการเพิ่มเติมหลังลงนามที่อนุญาต (เช่น ลายมือชื่อเพิ่ม) ส่วนที่ลงนามไม่ถูกแก้ไข",
            "allowed additions after signing (such as another signature)",
        )
    return (
        "มีการเพิ่มหรือแก้ไขเนื้อหาหลังลงนาม: ลายมือชื่อไม่ครอบคลุมทั้งไฟล์",
        "content was added or changed after signing: the signature does not cover the file",
    )


def trust_words(v: _Verdict) -> tuple[str, str]:
    """Whether the signer's certificate is trusted, in Thai and English."""
    if v.status == "unreadable":
        return "—", "-"
    if not (v.intact and v.valid):
        return (
            "ไม่ได้ตรวจ เพราะไฟล์ไม่ตรงกับที่ลงนาม",
            "not checked: the file is not as signed",
        )
    if v.status == "valid_when_signed":
        return (
            "เชื่อถือได้ ณ เวลาที่ลงนามตามตราประทับเวลา (ใบรับรองหมดอายุแล้ว)",
            "trusted when signed, by its timestamp (the certificate has expired since)",
        )
    if v.trusted:
        return (
            "เชื่อถือได้: ใบรับรองออกโดยผู้ออกใบรับรองที่อยู่ในรายการที่เชื่อถือ",
            "trusted: the certificate chains to a trusted root",
        )
    return _TRUST_WORDS.get(v.trust_problem or "other", _TRUST_WORDS["other"])


def verdict_lines(v: SignatureVerdict) -> list[str]:
    """A verdict's facts, one line each, in Thai and English: for the command line."""

    def when(moment: datetime) -> str:
        return in_bangkok(moment).strftime("%Y-%m-%d %H:%M:%S %z")

    lines = [
        f"ผู้ลงนาม (signer): {v.signer or '-'}",
        f"ผู้ออกใบรับรอง (issuer): {v.issuer or '-'}",
        "ความครบถ้วน (integrity): {} ({})".format(*integrity_words(v)),
        "ความน่าเชื่อถือ (trust): {} ({})".format(*trust_words(v)),
    ]
    if v.timestamp is not None:
        proof = "เชื่อถือได้ / trusted" if v.timestamp_trusted else "ตรวจสอบไม่ได้ / not trusted"
        lines.append(f"ตราประทับเวลา (timestamp): {when(v.timestamp)} ({proof})")
    if v.claimed_time is not None:
        lines.append(f"เวลาที่ผู้ลงนามระบุ (signing time claimed by the signer): {when(v.claimed_time)}")
    return lines


def verify_file(pdf: bytes, trust_roots: Sequence[asn1_x509.Certificate]) -> list[SignatureVerdict]:
    """A PDF's verdicts against ``trust_roots`` (``saraban verify``): as on arrival."""
    return verify_pdf(pdf, trust_roots=trust_roots)


# --------------------------------------------------------------------------- #
# What the pages and the API show
# --------------------------------------------------------------------------- #


class SignatureVerdictPublic(BaseModel):
    """One signature of a received PDF: who signed, under whom, whether the file is as signed,
    whether the certificate chains to a trusted root, when."""

    status: str
    summary: str
    signer: str
    signer_name: str
    issuer: str
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    changes_allowed: bool
    modification_level: str
    claimed_time: datetime | None
    timestamp: datetime | None
    timestamp_trusted: bool
    trust_problem: str | None


class SignatureCheckPublic(BaseModel):
    """The signatures of a received PDF as checked: ``status`` is ``unsigned`` or the least good
    verdict; ``recorded`` False for a check made just now for a document that arrived before
    checks were stored."""

    status: str
    summary: str
    signatures: list[SignatureVerdictPublic]
    checked_at: datetime
    trust_store: bool
    recorded: bool
    document_sha256: str


class SignatureHeadline(BaseModel):
    """The register's column: the outcome in a few words, and who signed."""

    status: str
    summary: str
    signer_name: str
    signatures: int


def _summary(status: str, verdicts: Sequence[SignatureVerdictPublic]) -> str:
    if status == UNSIGNED:
        return UNSIGNED_SUMMARY
    return next(v.summary for v in verdicts if v.status == status)


def _public(verdict: SignatureVerdict | SignatureVerdictRow) -> SignatureVerdictPublic:
    return SignatureVerdictPublic.model_validate(verdict, from_attributes=True)


def live_check(pdf: bytes, settings: Settings) -> SignatureCheckPublic:
    """A check made now and not stored: for a document that arrived before checks were
    stored, or a delivered letter not yet registered."""
    verdicts = verdicts_of(pdf, settings)
    shown = [_public(v) for v in verdicts]
    status = overall(verdicts)
    return SignatureCheckPublic(
        status=status,
        summary=_summary(status, shown),
        signatures=shown,
        checked_at=utcnow(),
        trust_store=settings.trust_dir is not None,
        recorded=False,
        document_sha256=hashlib.sha256(pdf).hexdigest(),
    )


def stored_check(session: Session, college_code: str, sha256: str) -> SignatureCheckPublic | None:
    """The check stored for a college's document, if any."""
    check = session.exec(
        select(SignatureCheck).where(
            SignatureCheck.college_code == college_code, SignatureCheck.document_sha256 == sha256
        )
    ).first()
    if check is None:
        return None
    rows = session.exec(
        select(SignatureVerdictRow)
        .where(SignatureVerdictRow.check_id == check.id)
        .order_by(col(SignatureVerdictRow.position))
    ).all()
    shown = [_public(row) for row in rows]
    return SignatureCheckPublic(
        status=check.status,
        summary=_summary(check.status, shown),
        signatures=shown,
        checked_at=check.checked_at,
        trust_store=check.trust_store is not None,
        recorded=True,
        document_sha256=sha256,
    )


def check_of(
    session: Session, college_code: str, sha256: str, pdf: bytes, settings: Settings
) -> SignatureCheckPublic:
    """The stored check of the document, else one made now (not stored: a GET stores
    nothing)."""
    return stored_check(session, college_code, sha256) or live_check(pdf, settings)


def headlines(
    session: Session, college_code: str, sha256s: Iterable[str]
) -> dict[str, SignatureHeadline]:
    """The stored outcome of each of a college's documents that was checked, by sha256."""
    wanted = sorted(set(sha256s))
    if not wanted:
        return {}
    checks = session.exec(
        select(SignatureCheck).where(
            SignatureCheck.college_code == college_code,
            col(SignatureCheck.document_sha256).in_(wanted),
        )
    ).all()
    ids = [c.id for c in checks if c.status != UNSIGNED]
    rows: dict[int, list[SignatureVerdictRow]] = {}
    if ids:
        for row in session.exec(
            select(SignatureVerdictRow)
            .where(col(SignatureVerdictRow.check_id).in_(ids))
            .order_by(col(SignatureVerdictRow.position))
        ):
            rows.setdefault(row.check_id, []).append(row)
    found = {}
    for check in checks:
        mine = [_public(r) for r in rows.get(check.id or 0, [])]
        worst = next((v for v in mine if v.status == check.status), None)
        found[check.document_sha256] = SignatureHeadline(
            status=check.status,
            summary=worst.summary if worst else UNSIGNED_SUMMARY,
            signer_name=worst.signer_name if worst else "",
            signatures=check.signatures,
        )
    return found


# --------------------------------------------------------------------------- #
# Storing a check
# --------------------------------------------------------------------------- #

# Text from a certificate is the signer's to choose: kept printable, and short enough.
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(value: str, limit: int) -> str:
    return _UNPRINTABLE.sub("\ufffd", value)[:limit]


def _row(check_id: int, position: int, v: SignatureVerdict) -> SignatureVerdictRow:
    return SignatureVerdictRow(
        check_id=check_id,
        position=position,
        status=v.status,
        summary=_text(v.summary, 255),
        field=_text(v.field, 255),
        signer=_text(v.signer, 2000),
        signer_name=_text(v.signer_name, 255),
        issuer=_text(v.issuer, 2000),
        intact=v.intact,
        valid=v.valid,
        trusted=v.trusted,
        covers_whole_file=v.covers_whole_file,
        coverage=_text(v.coverage, 40),
        modification_level=_text(v.modification_level, 40),
        changes_allowed=v.changes_allowed,
        claimed_time=v.claimed_time,
        timestamp=v.timestamp,
        timestamp_trusted=v.timestamp_trusted,
        trust_problem=v.trust_problem,
        detail=_text(v.detail, 300),
    )


def _stored(
    session: Session, college_code: str, sha256: str, fields: dict[str, object]
) -> SignatureCheck:
    """The check row for the document, new or brought up to date; its old verdicts gone."""
    existing = session.exec(
        select(SignatureCheck).where(
            SignatureCheck.college_code == college_code, SignatureCheck.document_sha256 == sha256
        )
    ).first()
    if existing is None:
        check = SignatureCheck(college_code=college_code, document_sha256=sha256, **fields)
        try:
            with session.begin_nested():
                session.add(check)
                session.flush()
            return check
        except IntegrityError:  # the same file arrived at the same moment: take theirs
            existing = session.exec(
                select(SignatureCheck).where(
                    SignatureCheck.college_code == college_code,
                    SignatureCheck.document_sha256 == sha256,
                )
            ).one()
    old = delete(SignatureVerdictRow).where(col(SignatureVerdictRow.check_id) == existing.id)
    session.exec(old)
    for name, value in fields.items():
        setattr(existing, name, value)
    session.add(existing)
    session.flush()
    return existing


def record_check(
    session: Session,
    *,
    actor: str,
    college_code: str,
    sha256: str,
    verdicts: Sequence[SignatureVerdict],
    settings: Settings,
    subject: str,
) -> SignatureCheck:
    """Store the verdicts of a college's document (replacing an earlier check of the same
    bytes) and write them to the audit log, in the caller's transaction. ``actor`` is who
    registered it (or the mailout that delivered it); ``subject`` is what the audit event is
    about (``receipt:12``, ``mailout_item:7``)."""
    status = overall(verdicts)
    store = trust_store(settings)
    check = _stored(
        session,
        college_code,
        sha256,
        {
            "checked_at": utcnow(),
            "checked_by": actor,
            "trust_store": store.fingerprint,
            "signatures": len(verdicts),
            "status": status,
        },
    )
    assert check.id is not None
    for position, verdict in enumerate(verdicts, start=1):
        session.add(_row(check.id, position, verdict))
    session.flush()
    audit.record(
        session,
        "signature_check",
        actor,
        subject,
        {
            "college": college_code,
            "document_sha256": sha256,
            "status": status,
            "trust_store": store.fingerprint,
            "signatures": [
                {
                    "status": v.status,
                    "signer": _text(v.signer, 500),
                    "issuer": _text(v.issuer, 500),
                    "trusted": v.trusted,
                    "covers_whole_file": v.covers_whole_file,
                    "claimed_time": v.claimed_time.isoformat() if v.claimed_time else None,
                    "timestamp": v.timestamp.isoformat() if v.timestamp else None,
                }
                for v in verdicts
            ],
        },
    )
    if status not in (UNSIGNED, "valid", "valid_when_signed"):
        log.info("received %s (%s): signatures %s", subject, sha256[:12], status)
    return check


# --------------------------------------------------------------------------- #
# Signing
# --------------------------------------------------------------------------- #

KeyKind = Literal["personal", "seal"]
_SEAL = "seal"
_seals_lock = threading.Lock()


def organisation_seal(settings: Settings) -> SigningKey | None:
    """The organisation's seal (``SARABAN_SEAL_FILE`` with ``SARABAN_SEAL_PASSPHRASE``),
    loaded once for these settings (again only if the file changes; kept with the settings
    object, nowhere else); None when none is configured. A wrong passphrase or a damaged file
    is a ConfigError naming the file."""
    path = settings.seal_file
    if path is None:
        return None
    try:
        info = path.stat()
        state = (str(path), info.st_size, info.st_mtime_ns, info.st_ino)
    except OSError as exc:
        raise ConfigError(f"SARABAN_SEAL_FILE: {path}: {exc.strerror}") from None
    with _seals_lock:
        kept = settings.loaded.get(_SEAL)
        if isinstance(kept, tuple) and kept[0] == state:
            seal: SigningKey = kept[1]
            return seal
        secret = settings.seal_passphrase
        try:
            seal = load_signing_key(
                path.read_bytes(), secret.get_secret_value() if secret is not None else None
            )
        except SigningKeyError as exc:
            raise ConfigError(f"SARABAN_SEAL_FILE: {path}: {exc.message}") from None
        except OSError as exc:
            raise ConfigError(f"SARABAN_SEAL_FILE: {path}: {exc.strerror}") from None
        settings.loaded[_SEAL] = (state, seal)
        return seal


def personal_key(p12: bytes, passphrase: str | bytes | None, *, name: str = "key") -> SigningKey:
    """A signer's own key for one request, never kept. A wrong passphrase or a damaged file is
    Invalid naming ``name`` (the file, or the form's field), never the passphrase."""
    try:
        return load_signing_key(p12, passphrase)
    except SigningKeyError as exc:
        raise Invalid(name, exc.message, text=f"{name}: {exc.message}") from None
    finally:
        del passphrase


def signing_key_for(
    settings: Settings,
    *,
    personal_p12: bytes | None = None,
    passphrase: str | bytes | None = None,
    key_name: str = "key",
) -> tuple[SigningKey, KeyKind] | None:
    """The key that signs: the personal one if given, else the organisation's seal if
    configured, else none."""
    if personal_p12 is not None:
        return personal_key(personal_p12, passphrase, name=key_name), "personal"
    seal = organisation_seal(settings)
    return (seal, "seal") if seal is not None else None


@dataclass(frozen=True)
class SignedLetter:
    """A letter as PDF, signed (``key`` says with which kind of key, ``signer`` the
    certificate's subject) or not (``key`` None: no key given and no seal configured)."""

    pdf: bytes
    key: KeyKind | None
    signer: str
    signed_on: date | None


async def async_sign_with(
    letter: Letter,
    key: SigningKey,
    kind: KeyKind,
    *,
    on: date | None = None,
    reason: str | None = SIGNING_REASON,
    location: str | None = None,
    timestamp_url: str | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] | None = None,
) -> SignedLetter:
    """:func:`sign_with` for callers in an event loop (the typesetting runs in a thread)."""
    day = on or bangkok_today()
    rendered = await asyncio.to_thread(render_letter_layout, replace(letter, signed_on=day))
    box = rendered.signature
    pdf = await async_sign_pdf(
        rendered.pdf,
        key,
        box=box.rect,
        page=box.page,
        reason=reason,
        location=location,
        timestamper_url=timestamp_url,
        trust_roots=trust_roots,
    )
    return SignedLetter(pdf, kind, key.subject, day)


def _outside_a_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(f"{name} called in an event loop: await async_{name} instead")


def sign_with(
    letter: Letter,
    key: SigningKey,
    kind: KeyKind,
    *,
    on: date | None = None,
    reason: str | None = SIGNING_REASON,
    location: str | None = None,
    timestamp_url: str | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] | None = None,
) -> SignedLetter:
    """``letter`` typeset with the signed line (``ลงนามด้วยลายมือชื่อดิจิทัล`` and the day it is
    signed, ``on``: default today in Bangkok, the approval day) and signed by ``key``, the
    signature's box over the signature block. PAdES B-B, B-T with ``timestamp_url``; with
    ``trust_roots`` a key whose certificate does not chain to them is refused, an expired one
    always is (SigningError, in Thai and English)."""
    _outside_a_loop("sign_with")
    return asyncio.run(
        async_sign_with(
            letter,
            key,
            kind,
            on=on,
            reason=reason,
            location=location,
            timestamp_url=timestamp_url,
            trust_roots=trust_roots,
        )
    )


def _configured_roots(settings: Settings) -> Sequence[asn1_x509.Certificate] | None:
    store = trust_store(settings)
    return store.roots if store.fingerprint is not None else None


async def async_sign_for(
    settings: Settings,
    letter: Letter,
    *,
    personal_p12: bytes | None = None,
    passphrase: str | bytes | None = None,
    key_name: str = "key",
    on: date | None = None,
    reason: str | None = SIGNING_REASON,
    location: str | None = None,
) -> SignedLetter:
    """:func:`sign_for` for callers in an event loop."""
    chosen = signing_key_for(
        settings, personal_p12=personal_p12, passphrase=passphrase, key_name=key_name
    )
    del passphrase
    if chosen is None:
        rendered = await asyncio.to_thread(render_letter_layout, replace(letter, signed_on=None))
        return SignedLetter(rendered.pdf, None, "", None)
    key, kind = chosen
    return await async_sign_with(
        letter,
        key,
        kind,
        on=on,
        reason=reason,
        location=location,
        timestamp_url=settings.timestamp_url,
        trust_roots=_configured_roots(settings),
    )


def sign_for(
    settings: Settings,
    letter: Letter,
    *,
    personal_p12: bytes | None = None,
    passphrase: str | bytes | None = None,
    key_name: str = "key",
    on: date | None = None,
    reason: str | None = SIGNING_REASON,
    location: str | None = None,
) -> SignedLetter:
    """``letter`` typeset and signed as the service signs at approval: with ``personal_p12``
    and its ``passphrase`` if given (used for this call, never kept), else the organisation's
    seal if configured, else not at all (typeset unsigned, without the signed line: ``key``
    None). The configured timestamp authority makes it B-T; with a trust store configured a
    key that does not chain to it is refused. See :func:`sign_with`. Refusals: Invalid naming
    ``key_name`` (a wrong passphrase, a damaged key file), SigningError (the certificate, the
    timestamp authority), ConfigError (the seal)."""
    _outside_a_loop("sign_for")
    return asyncio.run(
        async_sign_for(
            settings,
            letter,
            personal_p12=personal_p12,
            passphrase=passphrase,
            key_name=key_name,
            on=on,
            reason=reason,
            location=location,
        )
    )


def check_configuration(settings: Settings) -> None:
    """At startup: the trust store reads, and the seal opens with its passphrase (a
    ConfigError naming the file otherwise), so that neither fails first at a signer's
    approval or a college's upload."""
    trust_store(settings)
    organisation_seal(settings)
