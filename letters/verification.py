"""Checking the digital signatures of a received PDF, with pyHanko: who signed it, whether it was
changed after, whether the signer's certificate chains to a root the administrator trusts, when.

:func:`verify_pdf` never raises: a PDF that cannot be read, or whose signature cannot be parsed,
is a verdict (``unreadable``), as untrusted input must be. Each verdict carries a one-line Thai
summary for the letter page and the receipt register.

A certificate may allow signing by digitalSignature or by nonRepudiation (pyHanko's default
asks for nonRepudiation; many Thai CAs issue document-signing certificates with either). The
work is bounded: at most ``MAX_SIGNATURES`` signatures and ``MAX_REVISIONS`` revisions are
examined. pyHanko logs a traceback at WARNING for every untrusted or expired certificate and
every change after signing: while :func:`verify_pdf` runs those records are dropped (kept at
DEBUG when the ``pyhanko`` logger is set to DEBUG), as the verdict says it all.
"""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from asn1crypto import pem
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext

from saraban.domain.errors import ConfigError

MAX_SIGNATURES = 20
MAX_REVISIONS = 64

Status = Literal[
    "valid",  # intact, trusted, nothing but allowed changes after it
    "valid_when_signed",  # as valid at its trusted timestamp; the certificate expired since
    "tampered",  # the signed bytes changed
    "invalid",  # the signature value does not verify
    "modified",  # intact, but content was added or changed after signing
    "untrusted",  # no chain to a trusted root (or no trusted root given at all)
    "expired",
    "not_yet_valid",
    "revoked",
    "not_for_signing",  # the certificate's key usage does not allow signing documents
    "unverified",  # another trust problem
    "unreadable",
]

SUMMARIES: dict[str, str] = {
    "valid": "ลายมือชื่อดิจิทัลถูกต้อง",
    "valid_changed": "ลายมือชื่อดิจิทัลถูกต้อง มีการเพิ่มเติมที่อนุญาตหลังลงนาม",
    "valid_when_signed": "ลายมือชื่อดิจิทัลถูกต้อง ณ เวลาที่ลงนาม (ใบรับรองหมดอายุแล้ว)",
    "tampered": "เอกสารถูกแก้ไขหลังลงนาม",
    "invalid": "ลายมือชื่อดิจิทัลไม่ถูกต้อง",
    "modified": "เอกสารถูกแก้ไขหลังลงนาม",
    "untrusted": "ใบรับรองไม่อยู่ในรายการที่เชื่อถือ",
    "no_trust_store": "ใบรับรองไม่อยู่ในรายการที่เชื่อถือ: ยังไม่ได้กำหนดรายการใบรับรองที่เชื่อถือ",
    "expired": "ใบรับรองหมดอายุ",
    "not_yet_valid": "ใบรับรองยังไม่มีผล",
    "revoked": "ใบรับรองถูกเพิกถอน",
    "not_for_signing": "ใบรับรองนี้ใช้ลงนามเอกสารไม่ได้",
    "unverified": "ตรวจสอบใบรับรองไม่ได้",
    "unreadable": "อ่านลายมือชื่อดิจิทัลไม่ได้ หรือไฟล์เสียหาย",
}

# The same, in English (the command line prints both; logs and administrators read these).
SUMMARIES_EN: dict[str, str] = {
    "valid": "the digital signature is valid",
    "valid_changed": "the digital signature is valid; allowed additions were made after signing",
    "valid_when_signed": "the digital signature was valid when signed (the certificate has "
    "expired since)",
    "tampered": "the document was changed after signing",
    "invalid": "the digital signature is not valid",
    "modified": "the document was changed after signing",
    "untrusted": "the certificate does not chain to a trusted root",
    "no_trust_store": "untrusted: no trust store configured",
    "expired": "the certificate has expired",
    "not_yet_valid": "the certificate is not valid yet",
    "revoked": "the certificate is revoked",
    "not_for_signing": "the certificate may not sign documents",
    "unverified": "the certificate could not be checked",
    "unreadable": "the signature cannot be read, or the file is damaged",
}

KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)


@dataclass(frozen=True)
class SignatureVerdict:
    """What one signature of a PDF says, as a person needs it."""

    status: Status
    summary: str  # one line of Thai for the letter page
    summary_en: str = ""  # the same in English
    field: str = ""  # the signature field's name
    signer: str = ""  # the signer certificate's subject, human-friendly
    signer_name: str = ""  # its common name
    issuer: str = ""
    intact: bool = False  # the signed bytes are unchanged
    valid: bool = False  # the signature value verifies
    trusted: bool = False  # the certificate chains to a trusted root, valid at the time
    covers_whole_file: bool = False  # nothing at all was added after signing
    coverage: str = ""  # entire_file, entire_revision, contiguous_block_from_start, unclear
    modification_level: str = ""  # after signing: none, lta_updates, form_filling, other
    changes_allowed: bool = False  # whatever was added after signing is allowed
    claimed_time: datetime | None = None  # the signer's own claim (/M): not proof
    timestamp: datetime | None = None  # from a timestamp token, if any
    timestamp_trusted: bool = False
    # no_chain, no_trust_store, expired, not_yet_valid, revoked, key_usage, other
    trust_problem: str | None = None
    detail: str = ""  # for administrators and logs: pyHanko's summary, or the error's class

    @property
    def ok(self) -> bool:
        return self.status in ("valid", "valid_when_signed")


def unreadable(detail: str) -> SignatureVerdict:
    return SignatureVerdict(
        "unreadable", SUMMARIES["unreadable"], SUMMARIES_EN["unreadable"], detail=detail
    )


# --- trust store ---------------------------------------------------------------------------------

CERT_SUFFIXES = {".pem", ".crt", ".cer", ".der"}


class TrustStoreError(ConfigError):
    """A trust-store folder that cannot be used, naming the file."""


def load_certificates(data: bytes, name: str = "certificate") -> list[asn1_x509.Certificate]:
    """The certificates in PEM (one or several) or DER data."""
    try:
        if pem.detect(data):
            return [asn1_x509.Certificate.load(der) for kind, _h, der in pem.unarmor(data, True)
                    if kind == "CERTIFICATE"]
        cert = asn1_x509.Certificate.load(data)
        _ = cert.native  # parse it all now: a bad file fails here, not at validation
        return [cert]
    except Exception as exc:
        raise TrustStoreError(f"{name}: not a PEM or DER certificate ({exc})") from None


def load_trust_roots(folder: Path | str) -> tuple[asn1_x509.Certificate, ...]:
    """The CA certificates in ``folder`` (``*.pem``, ``*.crt``, ``*.cer``, ``*.der``; a PEM
    file may hold several), for :func:`verify_pdf` and signing."""
    folder = Path(folder)
    if not folder.is_dir():
        raise TrustStoreError(f"{folder}: the trust store folder does not exist")
    roots: list[asn1_x509.Certificate] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in CERT_SUFFIXES and path.is_file():
            found = load_certificates(path.read_bytes(), str(path))
            if not found:
                raise TrustStoreError(f"{path}: no certificate in it")
            roots += found
    if not roots:
        raise TrustStoreError(f"{folder}: no CA certificates (.pem, .crt, .cer, .der) in it")
    return tuple(roots)


# --- pyHanko's log ----------------------------------------------------------------------------

_VERIFYING: ContextVar[bool] = ContextVar("saraban_verifying", default=False)
_NOISY_LOGGERS = (
    "pyhanko.sign.validation.generic_cms",
    "pyhanko.sign.validation.pdf_embedded",
    "pyhanko.sign.validation.status",
    "pyhanko.sign.diff_analysis.policies",
    "pyhanko.sign.general",
)


class _ExpectedVerdicts(logging.Filter):
    """Drops pyHanko's WARNING records (tracebacks of untrusted or expired certificates,
    changes after signing) logged while :func:`verify_pdf` runs: its verdict says it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not _VERIFYING.get() or record.levelno != logging.WARNING:
            return True
        if not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


_FILTER = _ExpectedVerdicts()
for _logger in _NOISY_LOGGERS:
    logging.getLogger(_logger).addFilter(_FILTER)


@contextmanager
def _verifying() -> Iterator[None]:
    token = _VERIFYING.set(True)
    try:
        yield
    finally:
        _VERIFYING.reset(token)


# --- verdicts ---------------------------------------------------------------------------------


def _name(value: Any) -> str:
    return str(getattr(value, "name", value) or "").lower()


def _out_of_period(cert: Any, moment: datetime) -> str | None:
    validity = cert["tbs_certificate"]["validity"]
    if moment > validity["not_after"].native:
        return "expired"
    if moment < validity["not_before"].native:
        return "not_yet_valid"
    return None


def _trust_problem(status: Any, moment: datetime, has_roots: bool) -> str | None:
    if status.trusted:
        return None
    if status.revoked:
        return "revoked"
    indication = _name(status.trust_problem_indic)
    cert = status.signing_cert
    if "no_certificate_chain" in indication:
        if has_roots:
            return "no_chain"
        # Nothing to chain to: say what can be said without a root, the certificate's period.
        return _out_of_period(cert, moment) or "no_trust_store"
    if "out_of_bounds" in indication or "expired" in indication:
        period = _out_of_period(cert, moment)
        if period is not None:
            return period
    if "chain_constraints" in indication:
        return "key_usage"
    if "revoked" in indication:
        return "revoked"
    return "other"


_PROBLEM_STATUS: dict[str | None, Status] = {
    "no_chain": "untrusted",
    "no_trust_store": "untrusted",
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
    "revoked": "revoked",
    "key_usage": "not_for_signing",
    "other": "unverified",
}


async def _validate(
    emb: Any, roots: list[asn1_x509.Certificate], moment: datetime | None
) -> Any:
    context = ValidationContext(trust_roots=roots, allow_fetching=False, moment=moment)
    return await async_validate_pdf_signature(emb, context, key_usage_settings=KEY_USAGE)


async def _verdict(
    emb: Any, roots: list[asn1_x509.Certificate], at: datetime | None
) -> SignatureVerdict:
    moment = at or datetime.now(UTC)
    status = await _validate(emb, roots, at)
    cert = status.signing_cert
    subject = cert.subject
    coverage = _name(status.coverage)
    level = _name(status.modification_level)
    ts = status.timestamp_validity
    timestamp = ts.timestamp if ts is not None else None
    ts_trusted = bool(ts is not None and ts.intact and ts.valid and ts.trusted)
    problem = _trust_problem(status, moment, bool(roots))
    whole = coverage == "entire_file"
    allowed = bool(status.docmdp_ok) and (whole or level in ("none", "lta_updates",
                                                              "form_filling"))
    base = dict(
        field=str(emb.field_name or ""),
        signer=subject.human_friendly,
        signer_name=str(subject.native.get("common_name", "")),
        issuer=cert.issuer.human_friendly,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=whole,
        coverage=coverage,
        modification_level=level,
        changes_allowed=allowed,
        claimed_time=status.signer_reported_dt,
        timestamp=timestamp,
        timestamp_trusted=ts_trusted,
        trust_problem=problem,
        detail=status.summary(),
    )
    result: Status
    summary_key: str
    if not status.intact:
        result = summary_key = "tampered"
    elif not status.valid:
        result = summary_key = "invalid"
    elif not allowed:
        result = summary_key = "modified"
    elif problem == "expired" and ts_trusted and timestamp is not None:
        again = await _validate(emb, roots, timestamp)
        if again.trusted:
            result = summary_key = "valid_when_signed"
        else:
            result = summary_key = "expired"
    elif problem is not None:
        result = _PROBLEM_STATUS[problem]
        summary_key = "no_trust_store" if problem == "no_trust_store" else result
    else:
        result = "valid"
        summary_key = "valid" if whole else "valid_changed"
    return SignatureVerdict(result, SUMMARIES[summary_key], SUMMARIES_EN[summary_key], **base)


async def async_verify_pdf(
    pdf: bytes,
    *,
    trust_roots: Sequence[asn1_x509.Certificate],
    at: datetime | None = None,
) -> list[SignatureVerdict]:
    """:func:`verify_pdf` for callers already in an event loop."""
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be an aware datetime (with its time zone)")
    with _verifying():
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=False)
            if reader.xrefs.total_revisions > MAX_REVISIONS:
                return [unreadable(f"more than {MAX_REVISIONS} revisions")]
            embedded = list(reader.embedded_signatures)
        except Exception as exc:  # untrusted bytes: any failure is a verdict
            return [unreadable(type(exc).__name__)]
        if len(embedded) > MAX_SIGNATURES:
            return [unreadable(f"more than {MAX_SIGNATURES} signatures")]
        verdicts = []
        for emb in embedded:
            try:
                verdicts.append(await _verdict(emb, list(trust_roots), at))
            except Exception as exc:
                verdicts.append(unreadable(type(exc).__name__))
        return verdicts


def verify_pdf(
    pdf: bytes,
    *,
    trust_roots: Sequence[asn1_x509.Certificate],
    at: datetime | None = None,
) -> list[SignatureVerdict]:
    """A verdict for each signature in ``pdf`` (none for an unsigned PDF), checked against
    ``trust_roots`` at ``at`` (default now). With no trust roots at all, an intact signature
    is ``untrusted`` with ``trust_problem`` ``no_trust_store`` (or ``expired``, ``not_yet_valid``
    by its certificate's own dates). Never raises on any input: unreadable input gives
    one ``unreadable`` verdict. (Calling it from an event loop, or with a naive ``at``, is a
    programming error and raises: use :func:`async_verify_pdf` there.)"""
    _check_call(at)
    try:
        return asyncio.run(async_verify_pdf(pdf, trust_roots=trust_roots, at=at))
    except Exception as exc:
        return [unreadable(type(exc).__name__)]


def _check_call(at: datetime | None) -> None:
    if at is not None and at.tzinfo is None:
        raise ValueError("at must be an aware datetime (with its time zone)")
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError("verify_pdf called in an event loop: await async_verify_pdf instead")
