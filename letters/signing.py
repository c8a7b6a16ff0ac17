"""Digital signatures on letters (ลายมือชื่อดิจิทัล): PAdES baseline B-B, or B-T with a timestamp
authority, made with pyHanko.

Pure: PDF bytes and a key in, signed PDF bytes out. The signature's visible appearance is not
pyHanko's: the letter is rendered with ``Letter.signed_on`` set (letters/ typesets
``ลงนามด้วยลายมือชื่อดิจิทัล`` and the date in the signature block, so the Thai is shaped right,
its text layer is exact and every reader shows it), and the signature's widget lies over the
signature block with an empty appearance (``NoOpStampStyle``): the box marks where it is
signed, and viewers that list signatures take the reader there. ::

    key = load_signing_key(p12_bytes, passphrase)          # once per key: parsed once
    rendered = render_letter_layout(replace(letter, signed_on=approval_day))
    signed = sign_letter(rendered, key, reason="ลงนามหนังสือ", location="กรุงเทพมหานคร")

A key's passphrase is never kept, and never put in an exception, a log record or a repr.
"""

from __future__ import annotations

import asyncio
import io
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko.stamp import NoOpStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InvalidCertificateError,
    NotYetValidError,
    PathBuildingError,
    RevokedError,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from letters.letter import RenderedLetter
from saraban.domain.errors import Invalid

FIELD_NAME = "Signature1"
TIMESTAMP_TIMEOUT = 10  # seconds for the timestamp authority to answer


class SigningKeyError(Invalid):
    """A PKCS#12 file that gives no usable signing key (never says more than that)."""

    def __init__(self, message: str) -> None:
        super().__init__("key", message, text=message)


class SigningError(Invalid):
    """A PDF that was not signed, and why, in Thai and in English (the request as a whole)."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class _CachedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner parses its DER key again for every signature (~45 ms for RSA-2048:
    cryptography checks the key): this one signs with the key parsed once."""

    _key: Any = None

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        key = self._key
        hash_algo = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), hash_algo)
        if mechanism == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(hash_algo))
        signature: bytes = super().sign_raw(data, digest_algorithm)
        return signature


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class SigningKey:
    """A signer's private key and certificate chain, loaded once and reused for every letter.

    Its repr names the certificate, never the key; it cannot be pickled (load it in the
    process that signs)."""

    __slots__ = ("_signer", "certificate", "chain")

    def __init__(self, signer: _CachedKeySigner, certificate: x509.Certificate,
                 chain: Sequence[x509.Certificate]) -> None:
        self._signer = signer
        self.certificate = certificate
        self.chain = tuple(chain)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def issuer(self) -> str:
        return self.certificate.issuer.rfc4514_string()

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    def __repr__(self) -> str:
        return f"SigningKey(subject={self.subject!r}, issuer={self.issuer!r}, " \
               f"not_after={self.not_after:%Y-%m-%d})"

    def __reduce__(self) -> Any:
        raise TypeError("a SigningKey is not pickled: load it in the process that signs")


def load_signing_key(p12: bytes, passphrase: str | bytes | None) -> SigningKey:
    """The signing key in a PKCS#12 file (bytes, not a path: the file is never stored).

    A wrong passphrase and a damaged file are one error, :class:`SigningKeyError`, raised
    with no exception chained and with the passphrase gone from this frame."""
    secret = passphrase.encode("utf-8") if isinstance(passphrase, str) else passphrase
    del passphrase
    try:
        loaded = pkcs12.load_key_and_certificates(p12, secret)
    except (ValueError, TypeError):
        loaded = None
    finally:
        del secret
    if loaded is None:
        raise SigningKeyError(
            "รหัสผ่านไม่ถูกต้องหรือไฟล์ .p12 เสียหาย (wrong passphrase or damaged PKCS#12 file)"
        )
    key, cert, chain = loaded
    if key is None or cert is None:
        raise SigningKeyError(
            "ไฟล์ .p12 ไม่มีกุญแจหรือใบรับรองของผู้ลงนาม (no private key or signer certificate)"
        )
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        raise SigningKeyError(
            "กุญแจในไฟล์ .p12 ไม่ตรงกับใบรับรอง (the key does not match the certificate)"
        )
    if not isinstance(key, (RSAPrivateKey, EllipticCurvePrivateKey)):
        raise SigningKeyError("กุญแจต้องเป็น RSA หรือ EC (the key must be RSA or EC)")
    signer = _CachedKeySigner(
        signing_cert=_asn1_cert(cert),
        signing_key=asn1_keys.PrivateKeyInfo.load(
            key.private_bytes(der, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())
        ),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [_asn1_cert(c) for c in chain]
        ),
    )
    signer._key = key
    return SigningKey(signer, cert, chain)


def _check_period(key: SigningKey, now: datetime) -> None:
    cert = key.certificate
    if now > cert.not_valid_after_utc:
        raise SigningError(
            f"ใบรับรองของผู้ลงนามหมดอายุแล้วเมื่อ {cert.not_valid_after_utc:%Y-%m-%d} "
            "(the signer's certificate has expired)"
        )
    if now < cert.not_valid_before_utc:
        raise SigningError(
            f"ใบรับรองของผู้ลงนามยังไม่มีผลจนถึง {cert.not_valid_before_utc:%Y-%m-%d} "
            "(the signer's certificate is not valid yet)"
        )


def _refusal(exc: PyHankoSigningError) -> SigningError:
    """Why pyHanko would not sign, in words a signer can act on."""
    cause = exc.__cause__
    if isinstance(cause, ExpiredError):
        why = "ใบรับรองของผู้ลงนามหมดอายุ (the signer's certificate has expired)"
    elif isinstance(cause, NotYetValidError):
        why = "ใบรับรองของผู้ลงนามยังไม่มีผล (the signer's certificate is not valid yet)"
    elif isinstance(cause, RevokedError):
        why = "ใบรับรองของผู้ลงนามถูกเพิกถอน (the signer's certificate is revoked)"
    elif isinstance(cause, PathBuildingError):
        why = ("ใบรับรองของผู้ลงนามไม่อยู่ในรายการที่เชื่อถือ "
               "(the signer's certificate does not chain to a trusted root)")
    elif isinstance(cause, InvalidCertificateError):
        why = f"ใช้ใบรับรองนี้ลงนามเอกสารไม่ได้ (the certificate cannot sign documents: {cause})"
    else:
        why = f"ลงนามไม่สำเร็จ (signing failed: {exc})"
    return SigningError(why)


def _key_usage(cert: x509.Certificate) -> set[str]:
    """What a signer's certificate must allow, checked before signing: digitalSignature or
    nonRepudiation, whichever it has (pyHanko's default asks for nonRepudiation only)."""
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return set()
    return {"non_repudiation"} if usage.content_commitment and not usage.digital_signature \
        else {"digital_signature"}


def _reserve(key: SigningKey, timestamped: bool) -> int:
    """Room for the signature container, in hex digits: its certificates, the signature and
    signed attributes, a timestamp token if any; pyHanko refuses (never truncates) if short."""
    certs = sum(len(c.public_bytes(serialization.Encoding.DER)) for c in
                (key.certificate, *key.chain))
    size = certs + 3072 + (8192 if timestamped else 0)
    return 2 * ((size + 1023) // 1024 * 1024)


async def async_sign_pdf(
    pdf: bytes,
    key: SigningKey,
    *,
    box: tuple[float, float, float, float] | None = None,
    page: int = 0,
    reason: str | None = None,
    location: str | None = None,
    timestamper_url: str | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] | None = None,
    field_name: str = FIELD_NAME,
) -> bytes:
    """:func:`sign_pdf` for callers already in an event loop."""
    _check_period(key, datetime.now(UTC))
    validation = None
    if trust_roots is not None:
        validation = ValidationContext(trust_roots=list(trust_roots), allow_fetching=False)
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
        reason=reason,
        location=location,
        validation_context=validation,
        signer_key_usage=_key_usage(key.certificate),
    )
    spec = None
    if box is not None:  # whole points, outward
        widget = (math.floor(box[0]), math.floor(box[1]), math.ceil(box[2]), math.ceil(box[3]))
        spec = fields.SigFieldSpec(sig_field_name=field_name, on_page=page, box=widget)
    timestamper = (
        HTTPTimeStamper(timestamper_url, timeout=TIMESTAMP_TIMEOUT) if timestamper_url else None
    )
    pdf_signer = signers.PdfSigner(
        meta,
        signer=key._signer,
        timestamper=timestamper,
        stamp_style=NoOpStampStyle(),
    )
    reserved: int | None = _reserve(key, timestamper is not None)
    while True:
        try:
            writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
            if spec is not None:  # the widget, with an empty appearance (a blank form)
                fields.append_signature_field(writer, spec)
            out = io.BytesIO()
            await pdf_signer.async_sign_pdf(writer, output=out, bytes_reserved=reserved)
            return out.getvalue()
        except PyHankoSigningError as exc:
            if reserved is not None and "larger than expected" in str(exc):
                reserved = None  # let pyHanko measure it (a long chain, a large token)
                continue
            raise _refusal(exc) from None
        except Exception as exc:  # a PDF pyHanko cannot update, a timestamp server down
            raise SigningError(
                f"ลงนามไม่สำเร็จ (signing failed: {type(exc).__name__}: {exc})"
            ) from None


def sign_pdf(
    pdf: bytes,
    key: SigningKey,
    *,
    box: tuple[float, float, float, float] | None = None,
    page: int = 0,
    reason: str | None = None,
    location: str | None = None,
    timestamper_url: str | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] | None = None,
    field_name: str = FIELD_NAME,
) -> bytes:
    """``pdf`` signed by ``key``: PAdES B-B, B-T when ``timestamper_url`` names an RFC 3161
    timestamp authority; an incremental update, so the signed file starts with ``pdf``.

    ``box`` (x0, y0, x1, y1 in PDF points, on page index ``page``) places the signature's
    widget, with an empty appearance (the letter typesets its own); without it the signature
    is invisible. An expired or not-yet-valid certificate is always refused; with
    ``trust_roots`` so is one that does not chain to them, or may not sign. Raises
    :class:`SigningError` (Thai and English). Call :func:`async_sign_pdf` from an event loop.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        raise RuntimeError("sign_pdf called in an event loop: await async_sign_pdf instead")
    return asyncio.run(
        async_sign_pdf(
            pdf, key, box=box, page=page, reason=reason, location=location,
            timestamper_url=timestamper_url, trust_roots=trust_roots, field_name=field_name,
        )
    )


def sign_letter(
    rendered: RenderedLetter,
    key: SigningKey,
    *,
    reason: str | None = None,
    location: str | None = None,
    timestamper_url: str | None = None,
    trust_roots: Sequence[asn1_x509.Certificate] | None = None,
) -> bytes:
    """A rendered letter signed, the widget over its signature block. Render it with
    ``signed_on`` set (the approval date) so the block prints that it is signed digitally."""
    box = rendered.signature
    return sign_pdf(
        rendered.pdf, key, box=box.rect, page=box.page, reason=reason, location=location,
        timestamper_url=timestamper_url, trust_roots=trust_roots,
    )
