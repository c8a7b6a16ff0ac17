"""A test PKI made with ``cryptography``: a root, an issuing CA under it, signers (a good one, an
expired one, one that may only make digital signatures, one under another root), a timestamp
authority; PKCS#12 files for the signers, with the issuing CA inside (as a CA delivers them).

Helpers, not fixtures (those are in tests/conftest.py): the benchmarks use them too.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

PASSPHRASE = "ม้าถูกต้อง แบตเตอรี่ ลวดเย็บ"  # Thai and spaces: a passphrase is any text
DAY = dt.timedelta(days=1)
DOCUMENT_SIGNING = ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning, RFC 9336
SIGNER_NAME = "นายวิวัฒน์ ปัญจมะวัต"
SIGNER_ORG = "สำนักงานคณะกรรมการการอาชีวศึกษา"


def _name(cn: str, org: str = "saraban test") -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "TH"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issued:
    key: rsa.RSAPrivateKey
    cert: x509.Certificate

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def asn1(self) -> asn1_x509.Certificate:
        return asn1_x509.Certificate.load(self.cert.public_bytes(serialization.Encoding.DER))

    @property
    def asn1_key(self) -> asn1_keys.PrivateKeyInfo:
        return asn1_keys.PrivateKeyInfo.load(self.key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


def _issue(
    subject: x509.Name,
    issuer: Issued | None,
    *,
    ca: bool,
    not_before: dt.datetime,
    not_after: dt.datetime,
    path_length: int | None = None,
    eku: list[ObjectIdentifier] | None = None,
    digital_signature: bool = True,
    non_repudiation: bool = True,
) -> Issued:
    key = _key()
    signing_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    usage = dict(key_encipherment=False, data_encipherment=False, key_agreement=False,
                 encipher_only=False, decipher_only=False)
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_cert_sign=True, crl_sign=True,
            **usage), critical=True)
    else:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=digital_signature, content_commitment=non_repudiation,
            key_cert_sign=False, crl_sign=False, **usage), critical=True)
        if eku:
            builder = builder.add_extension(
                x509.ExtendedKeyUsage(eku), critical=eku == [ExtendedKeyUsageOID.TIME_STAMPING]
            )
    return Issued(key, builder.sign(signing_key, hashes.SHA256()))


@dataclass
class TestPKI:
    __test__ = False  # not a test class

    root: Issued
    issuing: Issued
    signer: Issued
    expired: Issued
    digital_only: Issued  # keyUsage digitalSignature, no nonRepudiation
    other_root: Issued
    stranger: Issued  # under other_root
    tsa: Issued
    passphrase: str = PASSPHRASE
    p12s: dict[str, bytes] = field(default_factory=dict)

    def p12(self, who: str) -> bytes:
        """The PKCS#12 file of ``signer``, ``expired``, ``digital_only`` or ``stranger``."""
        if who not in self.p12s:
            self.p12s[who] = self.p12_with(who, self.passphrase)
        return self.p12s[who]

    def p12_with(self, who: str, passphrase: str) -> bytes:
        """The same, locked with another passphrase."""
        issued: Issued = getattr(self, who)
        chain = [self.other_root.cert] if who == "stranger" else [self.issuing.cert]
        encryption = (
            serialization.PrivateFormat.PKCS12.encryption_builder()
            .kdf_rounds(50000)
            .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
            .hmac_hash(hashes.SHA256())
            .build(passphrase.encode("utf-8"))
        )
        return pkcs12.serialize_key_and_certificates(
            b"signer", issued.key, issued.cert, chain, encryption
        )

    @property
    def roots(self) -> tuple[asn1_x509.Certificate, ...]:
        return (self.root.asn1,)

    def write_trust_store(self, folder: Path) -> Path:
        """The root as a CA folder an administrator would configure."""
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "saraban-test-root.pem").write_bytes(self.root.pem)
        return folder


def make_pki(now: dt.datetime | None = None) -> TestPKI:
    now = now or dt.datetime.now(dt.UTC)
    root = _issue(_name("saraban Test Root CA"), None, ca=True, not_before=now - 400 * DAY,
                  not_after=now + 3650 * DAY, path_length=1)
    issuing = _issue(_name("saraban Test Issuing CA"), root, ca=True,
                     not_before=now - 400 * DAY, not_after=now + 1825 * DAY, path_length=0)
    eku = [DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]
    signer = _issue(_name(SIGNER_NAME, SIGNER_ORG), issuing, ca=False,
                    not_before=now - DAY, not_after=now + 365 * DAY, eku=eku)
    expired = _issue(_name("Expired Signer"), issuing, ca=False,
                     not_before=now - 400 * DAY, not_after=now - 30 * DAY, eku=eku)
    digital_only = _issue(_name("Digital Signature Only"), issuing, ca=False,
                          not_before=now - DAY, not_after=now + 365 * DAY, eku=eku,
                          non_repudiation=False)
    other_root = _issue(_name("Other Root CA", "elsewhere"), None, ca=True,
                        not_before=now - 10 * DAY, not_after=now + 3650 * DAY, path_length=0)
    stranger = _issue(_name("Stranger Signer", "elsewhere"), other_root, ca=False,
                      not_before=now - DAY, not_after=now + 365 * DAY, eku=eku)
    # A timestamp authority's certificate outlives the signers' (the tokens it signs are
    # checked for years).
    tsa = _issue(_name("saraban Test TSA"), issuing, ca=False, not_before=now - DAY,
                 not_after=now + 1500 * DAY, eku=[ExtendedKeyUsageOID.TIME_STAMPING])
    return TestPKI(root, issuing, signer, expired, digital_only, other_root, stranger, tsa)


class TimestampServer:
    """An RFC 3161 timestamp authority over HTTP on 127.0.0.1: pyHanko's DummyTimeStamper
    behind http.server, so that signing goes through the real HTTPTimeStamper."""

    def __init__(self, pki: TestPKI) -> None:
        from pyhanko.sign.timestamps import DummyTimeStamper

        stamper = DummyTimeStamper(
            tsa_cert=pki.tsa.asn1, tsa_key=pki.tsa.asn1_key, certs_to_embed=[pki.issuing.asn1]
        )
        self.requests = 0
        server_self = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                server_self.requests += 1
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/tsa"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def sign_unchecked(pdf: bytes, p12: bytes, passphrase: str, *, page: int = 0,
                   box: tuple[int, int, int, int] | None = None) -> bytes:
    """Signed with pyHanko directly, as another agency's software might sign: no check of the
    certificate's validity (letters.signing refuses an expired one), for verdict tests."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = signers.SimpleSigner.load_pkcs12_data(p12, [], passphrase.encode("utf-8"))
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES, md_algorithm="sha256"
    )
    spec = fields.SigFieldSpec(sig_field_name="Signature1", on_page=page, box=box)
    out = io.BytesIO()
    signers.PdfSigner(meta, signer=signer, new_field_spec=spec).sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False), output=out
    )
    return out.getvalue()
