"""Digitally signed letters, checked by two validators: pyHanko (saraban's verdicts) and poppler's
pdfsig (independent, NSS), against a test PKI made here.

Both say valid and trusted for the seed letter signed by a certificate under the test root; a
byte edited after signing, a certificate under another root and an expired certificate each get
the right verdict from both. The signed letter reads as the unsigned one plus exactly the line
``ลงนามด้วยลายมือชื่อดิจิทัล ๑๐ เมษายน ๒๕๖๙``, which sits in the blank space left for a hand
signature: the pages print as the unsigned letter's but for that line.
"""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pdfplumber
import pypdf
import pypdfium2
import pytest
from PIL import Image, ImageChops, ImageStat

from letters.letter import RenderedLetter, render_letter, render_letter_layout
from letters.letterfile import load_letter_file
from letters.model import DIGITALLY_SIGNED
from letters.signing import (
    SigningError,
    SigningKey,
    SigningKeyError,
    load_signing_key,
    sign_letter,
    sign_pdf,
)
from letters.verification import verify_pdf
from tests.support.pdfsig import pdfsig
from tests.support.pki import TestPKI, TimestampServer, sign_unchecked
from tests.unit.pdfreaders import read

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
MEMO = ROOT / "examples" / "memo" / "memo.toml"
REFERENCE_PAGE = ROOT / "tests" / "data" / "seed-letter-page1.png"
SIGNED_ON = date(2026, 4, 10)
SIGNED_LINE = f"{DIGITALLY_SIGNED} ๑๐ เมษายน ๒๕๖๙"


def seed() -> RenderedLetter:
    return render_letter_layout(replace(load_letter_file(SEED).merge(), signed_on=SIGNED_ON))


@pytest.fixture(scope="module")
def unsigned() -> bytes:
    return render_letter(load_letter_file(SEED).merge())


@pytest.fixture(scope="module")
def rendered() -> RenderedLetter:
    return seed()


@pytest.fixture(scope="module")
def signed(rendered: RenderedLetter, signing_key: SigningKey) -> bytes:
    return sign_letter(rendered, signing_key, reason="ลงนามหนังสือราชการ", location="กรุงเทพมหานคร")


# --- valid, and the same letter ---------------------------------------------------------------


def test_signed_seed_letter_valid_and_trusted_in_both_validators(
    signed: bytes, rendered: RenderedLetter, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    assert signed.startswith(rendered.pdf)  # an incremental update of the rendered letter
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.status == "valid" and verdict.ok
    assert verdict.summary == "ลายมือชื่อดิจิทัลถูกต้อง"
    assert verdict.intact and verdict.valid and verdict.trusted and verdict.covers_whole_file
    assert verdict.signer_name == "นายวิวัฒน์ ปัญจมะวัต"
    assert "สำนักงานคณะกรรมการการอาชีวศึกษา" in verdict.signer
    assert "saraban Test Issuing CA" in verdict.issuer
    assert verdict.claimed_time is not None and verdict.timestamp is None
    assert abs(verdict.claimed_time - datetime.now(UTC)) < timedelta(minutes=10)
    (report,) = pdfsig(signed, nss_db, tmp_path)
    assert report["Signer Certificate Common Name"] == "นายวิวัฒน์ ปัญจมะวัต"
    assert report["Signature Type"] == "ETSI.CAdES.detached"  # PAdES
    assert "Total document signed" in report
    assert report["Signature Validation"] == "Signature is Valid."
    assert report["Certificate Validation"] == "Certificate is Trusted."


def test_widget_over_the_signature_block_with_an_empty_appearance(
    signed: bytes, rendered: RenderedLetter
) -> None:
    reader = pypdf.PdfReader(io.BytesIO(signed))
    box = rendered.signature
    assert box.page == 1 and len(reader.pages) == 2
    widgets = [a.get_object() for a in reader.pages[box.page].get("/Annots", [])]
    (sig,) = [w for w in widgets if w.get("/FT") == "/Sig"]
    rect = [float(v) for v in sig["/Rect"]]
    assert rect == pytest.approx(list(box.rect), abs=1.0)
    appearance = sig["/AP"]["/N"].get_object().get_data()
    assert b"Tj" not in appearance and b"TJ" not in appearance and b"Do" not in appearance
    assert not reader.pages[0].get("/Annots")


@pytest.mark.parametrize("reader", ["pypdf", "pdfium", "pdftotext"])
def test_text_is_the_unsigned_letters_plus_the_signed_line(
    signed: bytes, unsigned: bytes, reader: str
) -> None:
    before = [[line.strip() for line in page.splitlines() if line.strip()]
              for page in read(unsigned, reader)]
    after = [[line.strip() for line in page.splitlines() if line.strip()]
             for page in read(signed, reader)]
    assert after[0] == before[0]
    assert after[1].count(SIGNED_LINE) == 1
    assert sum(page.count(DIGITALLY_SIGNED) for page in read(signed, reader)) == 1
    added = after[1].index(SIGNED_LINE)
    assert after[1][:added] + after[1][added + 1 :] == before[1]
    assert after[1][added - 1] == "ขอแสดงความนับถือ"
    assert after[1][added + 1] == "(นายวิวัฒน์ ปัญจมะวัต)"


def _render(pdf: bytes, index: int, *, forms: bool) -> Image.Image:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        if forms:
            doc.init_forms()
        return doc[index].render(scale=100 / 72, may_draw_forms=forms).to_pil().convert("L")
    finally:
        doc.close()


@pytest.mark.parametrize("forms", [False, True])
def test_pages_print_as_the_unsigned_letters_but_for_the_signed_line(
    signed: bytes, unsigned: bytes, forms: bool
) -> None:
    """The line sits in the blank space left for the hand signature: nothing else moves, and
    the widget draws nothing (with or without forms, as Chrome and a plain rasteriser draw)."""
    assert ImageChops.difference(_render(signed, 0, forms=forms),
                                 _render(unsigned, 0, forms=forms)).getbbox() is None
    diff = ImageChops.difference(_render(signed, 1, forms=forms),
                                 _render(unsigned, 1, forms=forms)).getbbox()
    assert diff is not None
    with pdfplumber.open(io.BytesIO(signed)) as doc:
        page = doc.pages[1]
        line = [c for c in page.chars if c["text"].strip()
                and abs(c["top"] - _line_top(page, SIGNED_LINE)) < 3]
    scale = 100 / 72
    # (marks stand above a character's box, tails below it)
    x0 = min(c["x0"] for c in line) * scale - 4
    x1 = max(c["x1"] for c in line) * scale + 4
    top = min(c["top"] for c in line) * scale - 12
    bottom = max(c["bottom"] for c in line) * scale + 12
    left, upper, right, lower = diff
    assert x0 <= left and right <= x1 and top <= upper and lower <= bottom


def _line_top(page: pdfplumber.page.Page, text: str) -> float:
    rows: dict[float, list[dict]] = {}
    for c in page.chars:
        rows.setdefault(round(c["top"], 0), []).append(c)
    for top, chars in rows.items():
        if "".join(c["text"] for c in sorted(chars, key=lambda c: c["x0"])).startswith(
            text.split()[0]
        ):
            return top
    raise AssertionError(text)


def test_first_page_still_matches_the_reviewed_reference_image(signed: bytes) -> None:
    doc = pypdfium2.PdfDocument(signed)
    try:
        page = doc[0].render(scale=50 / 72).to_pil().convert("L")
    finally:
        doc.close()
    reference = Image.open(REFERENCE_PAGE).convert("L")
    diff = ImageChops.difference(page, reference)
    assert ImageStat.Stat(diff).mean[0] < 1.0
    changed = diff.point(lambda v: 255 if v > 96 else 0).histogram()[255]
    assert changed / (page.size[0] * page.size[1]) < 0.002


def test_signature_box_holds_the_block_and_nothing_else(rendered: RenderedLetter) -> None:
    box = rendered.signature
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as doc:
        page = doc.pages[box.page]
        inside = "".join(
            c["text"] for c in page.chars
            if box.x0 <= c["x0"] and c["x1"] <= box.x1
            and box.y0 <= page.height - c["bottom"] and page.height - c["top"] <= box.y1
        )
    flat = "".join(inside.split())
    for part in (SIGNED_LINE, "(นายวิวัฒน์ ปัญจมะวัต)",
                 "รองเลขาธิการคณะกรรมการการอาชีวศึกษา ปฏิบัติราชการแทน",
                 "เลขาธิการคณะกรรมการการอาชีวศึกษา"):
        assert "".join(part.split()) in flat
    assert "ขอแสดงความนับถือ" not in inside and "กลุ่มติดตาม" not in inside


def test_the_unsigned_letter_prints_no_signed_line(unsigned: bytes) -> None:
    assert DIGITALLY_SIGNED not in "".join(read(unsigned, "pypdf"))
    assert render_letter_layout(load_letter_file(SEED).merge()).pdf == unsigned


def test_a_memo_signs_and_validates(signing_key: SigningKey, pki: TestPKI, nss_db: str,
                                    tmp_path: Path) -> None:
    memo = replace(load_letter_file(MEMO).merge(), signed_on=date(2026, 4, 20))
    rendered = render_letter_layout(memo)
    signed = sign_letter(rendered, signing_key)
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.status == "valid"
    (report,) = pdfsig(signed, nss_db, tmp_path)
    assert report["Certificate Validation"] == "Certificate is Trusted."
    assert "ลงนามด้วยลายมือชื่อดิจิทัล ๒๐ เมษายน ๒๕๖๙" in read(signed, "pdftotext")[0]


# --- the verdicts -------------------------------------------------------------------------------


def _edit_one_byte(pdf: bytes) -> bytes:
    at = pdf.index(b"/Creator (saraban)") + len(b"/Creator (s")
    assert pdf[at : at + 1] == b"a"
    return pdf[:at] + b"A" + pdf[at + 1 :]


def test_a_byte_edited_after_signing(signed: bytes, pki: TestPKI, nss_db: str,
                                     tmp_path: Path) -> None:
    tampered = _edit_one_byte(signed)
    (verdict,) = verify_pdf(tampered, trust_roots=pki.roots)
    assert verdict.status == "tampered" and not verdict.intact and not verdict.ok
    assert verdict.summary == "เอกสารถูกแก้ไขหลังลงนาม"
    (report,) = pdfsig(tampered, nss_db, tmp_path)
    assert report["Signature Validation"] == "Digest Mismatch."


def test_a_certificate_under_another_root(rendered: RenderedLetter, pki: TestPKI, nss_db: str,
                                          tmp_path: Path) -> None:
    stranger = load_signing_key(pki.p12("stranger"), pki.passphrase)
    signed = sign_letter(rendered, stranger)
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.status == "untrusted" and verdict.intact and not verdict.trusted
    assert verdict.trust_problem == "no_chain"
    assert verdict.summary == "ใบรับรองไม่อยู่ในรายการที่เชื่อถือ"
    (report,) = pdfsig(signed, nss_db, tmp_path)
    assert report["Signature Validation"] == "Signature is Valid."
    # The stranger's PKCS#12 carries its root: NSS knows the issuer, and does not trust it.
    assert report["Certificate Validation"] == "Certificate issuer isn't Trusted."


def test_an_expired_certificate(rendered: RenderedLetter, pki: TestPKI, nss_db: str,
                                tmp_path: Path) -> None:
    box = rendered.signature
    signed = sign_unchecked(rendered.pdf, pki.p12("expired"), pki.passphrase, page=box.page,
                            box=tuple(round(v) for v in box.rect))  # type: ignore[arg-type]
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.status == "expired" and verdict.intact and not verdict.trusted
    assert verdict.summary == "ใบรับรองหมดอายุ"
    (report,) = pdfsig(signed, nss_db, tmp_path)
    assert report["Signature Validation"] == "Signature is Valid."
    assert report["Certificate Validation"] == "Certificate has Expired"
    # as of a day when the certificate was valid, it was
    when = pki.expired.cert.not_valid_after_utc - timedelta(days=10)
    assert verify_pdf(signed, trust_roots=pki.roots, at=when)[0].status == "valid"


def test_without_a_trust_store_every_signature_is_untrusted_and_says_why(
    signed: bytes, rendered: RenderedLetter, pki: TestPKI
) -> None:
    """No trusted root configured: an intact signature is never called valid, and the verdict
    says that no trust store is configured (an expired certificate still says expired)."""
    (verdict,) = verify_pdf(signed, trust_roots=())
    assert verdict.status == "untrusted" and verdict.intact and not verdict.ok
    assert verdict.trust_problem == "no_trust_store"
    assert verdict.summary == ("ใบรับรองไม่อยู่ในรายการที่เชื่อถือ: "
                               "ยังไม่ได้กำหนดรายการใบรับรองที่เชื่อถือ")
    assert verdict.summary_en == "untrusted: no trust store configured"
    box = rendered.signature
    expired = sign_unchecked(rendered.pdf, pki.p12("expired"), pki.passphrase, page=box.page,
                             box=tuple(round(v) for v in box.rect))  # type: ignore[arg-type]
    (verdict,) = verify_pdf(expired, trust_roots=())
    assert verdict.status == "expired" and verdict.summary_en == "the certificate has expired"
    (verdict,) = verify_pdf(_edit_one_byte(signed), trust_roots=())
    assert verdict.status == "tampered"


def test_every_verdict_has_its_english(signed: bytes, pki: TestPKI) -> None:
    from letters.verification import SUMMARIES, SUMMARIES_EN

    assert set(SUMMARIES) == set(SUMMARIES_EN)
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.summary_en == "the digital signature is valid"
    assert verify_pdf(b"garbage", trust_roots=pki.roots)[0].summary_en.startswith(
        "the signature cannot be read")


def test_changed_after_signing_by_an_incremental_update(signed: bytes, pki: TestPKI,
                                                        nss_db: str, tmp_path: Path) -> None:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(signed), strict=False)
    stream = generic.StreamObject(stream_data=b"q 1 0 0 rg 100 100 200 50 re f Q")
    writer.add_stream_to_page(0, writer.add_object(stream))
    out = io.BytesIO()
    writer.write(out)
    (verdict,) = verify_pdf(out.getvalue(), trust_roots=pki.roots)
    assert verdict.status == "modified" and verdict.intact and not verdict.covers_whole_file
    assert verdict.summary == "เอกสารถูกแก้ไขหลังลงนาม"
    (report,) = pdfsig(out.getvalue(), nss_db, tmp_path)
    assert "Not total document signed" in report
    assert report["Signature Validation"] == "Signature is Valid."


def test_a_second_signature_is_an_allowed_change(signed: bytes, signing_key: SigningKey,
                                                 pki: TestPKI) -> None:
    twice = sign_pdf(signed, signing_key, field_name="Signature2")
    first, second = verify_pdf(twice, trust_roots=pki.roots)
    assert first.status == "valid" and not first.covers_whole_file and first.changes_allowed
    assert first.summary == "ลายมือชื่อดิจิทัลถูกต้อง มีการเพิ่มเติมที่อนุญาตหลังลงนาม"
    assert second.status == "valid" and second.covers_whole_file


def test_digital_signature_key_usage_alone_is_enough(rendered: RenderedLetter, pki: TestPKI,
                                                     nss_db: str, tmp_path: Path) -> None:
    key = load_signing_key(pki.p12("digital_only"), pki.passphrase)
    signed = sign_letter(rendered, key, trust_roots=pki.roots)
    assert verify_pdf(signed, trust_roots=pki.roots)[0].status == "valid"
    assert pdfsig(signed, nss_db, tmp_path)[0]["Certificate Validation"] == \
        "Certificate is Trusted."


def test_timestamped_through_a_timestamp_authority_over_http(
    rendered: RenderedLetter, signing_key: SigningKey, pki: TestPKI,
    timestamp_server: TimestampServer, nss_db: str, tmp_path: Path,
) -> None:
    before = timestamp_server.requests
    signed = sign_letter(rendered, signing_key, timestamper_url=timestamp_server.url)
    assert timestamp_server.requests > before
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.status == "valid" and verdict.timestamp_trusted
    assert verdict.timestamp is not None
    assert abs(verdict.timestamp - datetime.now(UTC)) < timedelta(minutes=10)
    assert "TIMESTAMP_TOKEN<INTACT:TRUSTED>" in verdict.detail
    (report,) = pdfsig(signed, nss_db, tmp_path)
    assert report["Certificate Validation"] == "Certificate is Trusted."
    # Years later the signer's certificate has expired; the timestamp proves it was valid.
    later = datetime.now(UTC) + timedelta(days=400)
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots, at=later)
    assert verdict.status == "valid_when_signed" and verdict.ok
    assert verdict.summary == "ลายมือชื่อดิจิทัลถูกต้อง ณ เวลาที่ลงนาม (ใบรับรองหมดอายุแล้ว)"
    # Without a timestamp, only the signer's claim: expired.
    plain = sign_letter(rendered, signing_key)
    assert verify_pdf(plain, trust_roots=pki.roots, at=later)[0].status == "expired"


# --- refusals -------------------------------------------------------------------------------------


def test_an_expired_key_is_refused_at_signing(rendered: RenderedLetter, pki: TestPKI) -> None:
    key = load_signing_key(pki.p12("expired"), pki.passphrase)
    for roots in (None, pki.roots):
        with pytest.raises(SigningError, match="หมดอายุ"):
            sign_letter(rendered, key, trust_roots=roots)


def test_an_untrusted_key_is_refused_when_trust_roots_are_given(rendered: RenderedLetter,
                                                                pki: TestPKI) -> None:
    key = load_signing_key(pki.p12("stranger"), pki.passphrase)
    with pytest.raises(SigningError, match="ไม่อยู่ในรายการที่เชื่อถือ"):
        sign_letter(rendered, key, trust_roots=pki.roots)


def test_an_unreachable_timestamp_authority_is_a_signing_error(rendered: RenderedLetter,
                                                               signing_key: SigningKey) -> None:
    with pytest.raises(SigningError, match="ลงนามไม่สำเร็จ"):
        sign_letter(rendered, signing_key, timestamper_url="http://127.0.0.1:9/tsa")


def test_not_a_pdf_is_a_signing_error(signing_key: SigningKey) -> None:
    with pytest.raises(SigningError):
        sign_pdf(b"not a pdf", signing_key)


# --- verification never raises ------------------------------------------------------------------


def test_no_signature_no_verdict(unsigned: bytes, pki: TestPKI) -> None:
    assert verify_pdf(unsigned, trust_roots=pki.roots) == []


@pytest.mark.parametrize(
    "damage",
    [
        lambda pdf: b"",
        lambda pdf: b"garbage, not a PDF at all",
        lambda pdf: pdf[: len(pdf) // 2],
        lambda pdf: pdf[:-200],
        lambda pdf: re.sub(rb"/Contents <[0-9A-Fa-f]+>", lambda m: b"/Contents <" + b"0" * (
            len(m.group(0)) - 12) + b">", pdf),
        lambda pdf: re.sub(rb"/ByteRange \[[^\]]*\]", b"/ByteRange [0 1 2 3]", pdf),
        lambda pdf: re.sub(rb"/Contents <([0-9A-Fa-f]{40})", b"/Contents <" + b"AB" * 20, pdf),
    ],
    ids=["empty", "garbage", "half", "truncated", "contents-zeroed", "byterange", "cms-broken"],
)
def test_hostile_input_is_a_verdict_never_an_exception(signed: bytes, pki: TestPKI,
                                                       damage) -> None:
    broken = damage(signed)
    verdicts = verify_pdf(broken, trust_roots=pki.roots)
    assert verdicts, "a damaged signed PDF must not pass as unsigned"
    for verdict in verdicts:
        assert not verdict.ok
        assert verdict.status in ("unreadable", "tampered", "invalid")
        assert verdict.summary
        assert "\n" not in verdict.detail and len(verdict.detail) < 300


def test_every_single_byte_flip_in_the_signature_dictionary_is_caught(signed: bytes,
                                                                      pki: TestPKI) -> None:
    start = signed.rindex(b"/ByteRange")
    for offset in range(start, start + 400, 7):
        flipped = signed[:offset] + bytes([signed[offset] ^ 0x21]) + signed[offset + 1 :]
        for verdict in verify_pdf(flipped, trust_roots=pki.roots):
            assert not (verdict.ok and verdict.covers_whole_file and
                        flipped[offset] != signed[offset] and verdict.status == "valid"
                        and offset >= start + 12), offset


def test_pyhankos_warnings_about_expected_verdicts_stay_out_of_the_log(
    rendered: RenderedLetter, pki: TestPKI, caplog: pytest.LogCaptureFixture
) -> None:
    stranger = load_signing_key(pki.p12("stranger"), pki.passphrase)
    signed = sign_letter(rendered, stranger)
    with caplog.at_level("WARNING"):
        assert verify_pdf(signed, trust_roots=pki.roots)[0].status == "untrusted"
    assert not [r for r in caplog.records if r.name.startswith("pyhanko")]


# --- keys and their passphrases ----------------------------------------------------------------


def _secret_in_library_frames(exc: BaseException, secret: str) -> list[str]:
    """Names of locals in letters/ frames of the traceback that hold ``secret``: what a
    traceback printed with locals (Rich, Sentry) would show."""
    found = []
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if "/letters/" in frame.f_code.co_filename:
            for name, value in frame.f_locals.items():
                text = value.decode("utf-8", "replace") if isinstance(value, bytes) else repr(value)
                if secret in text:
                    found.append(f"{frame.f_code.co_name}.{name}")
        tb = tb.tb_next
    return found


@pytest.mark.parametrize("passphrase", ["not the passphrase ลับสุดยอด", b"\xff\xfe binary"])
def test_a_wrong_passphrase_never_shows_the_passphrase(pki: TestPKI, passphrase) -> None:
    import traceback

    with pytest.raises(SigningKeyError) as caught:
        load_signing_key(pki.p12("signer"), passphrase)
    error = caught.value
    assert str(error) == ("รหัสผ่านไม่ถูกต้องหรือไฟล์ .p12 เสียหาย "
                          "(wrong passphrase or damaged PKCS#12 file)")
    assert error.__cause__ is None and error.__context__ is None
    secret = passphrase if isinstance(passphrase, str) else passphrase.decode("utf-8", "replace")
    formatted = "".join(traceback.format_exception(error)) + repr(error)
    assert secret not in formatted
    assert _secret_in_library_frames(error, secret) == []


def test_a_damaged_file_is_the_same_error(pki: TestPKI) -> None:
    p12 = pki.p12("signer")
    for damaged in (b"", p12[:100], p12[:-1] + bytes([p12[-1] ^ 1]), b"-----BEGIN"):
        with pytest.raises(SigningKeyError, match=r"รหัสผ่านไม่ถูกต้องหรือไฟล์ \.p12 เสียหาย"):
            load_signing_key(damaged, pki.passphrase)


def test_the_key_shows_its_certificate_never_itself(pki: TestPKI, signing_key: SigningKey,
                                                    signed: bytes) -> None:
    import pickle

    from cryptography.hazmat.primitives import serialization

    shown = repr(signing_key) + str(signing_key)
    assert "นายวิวัฒน์ ปัญจมะวัต" in shown and "saraban Test Issuing CA" in shown
    assert pki.passphrase not in shown and "PRIVATE" not in shown
    with pytest.raises(TypeError, match="not pickled"):
        pickle.dumps(signing_key)
    der = pki.signer.key.private_bytes(serialization.Encoding.DER,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
    assert der[-64:] not in signed and der[-64:].hex().encode() not in signed.lower()


def test_no_passphrase_or_key_in_any_log_record(pki: TestPKI, rendered: RenderedLetter,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("DEBUG"):
        key = load_signing_key(pki.p12("signer"), pki.passphrase)
        signed = sign_letter(rendered, key, trust_roots=pki.roots)
        verify_pdf(signed, trust_roots=pki.roots)
        with pytest.raises(SigningKeyError):
            load_signing_key(pki.p12("signer"), pki.passphrase + "x")
    for record in caplog.records:
        text = record.getMessage() + (str(record.exc_info) if record.exc_info else "")
        assert pki.passphrase not in text and "PRIVATE KEY" not in text, record.name


def test_trust_store_from_a_folder_of_ca_certificates(pki: TestPKI, signed: bytes,
                                                      tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    from letters.verification import TrustStoreError, load_trust_roots

    folder = tmp_path / "ca"
    folder.mkdir()
    (folder / "roots.pem").write_bytes(pki.root.pem + pki.other_root.pem)  # a bundle
    (folder / "issuing.der").write_bytes(pki.issuing.cert.public_bytes(
        serialization.Encoding.DER))
    (folder / "README.txt").write_text("the CA certificates we trust", encoding="utf-8")
    roots = load_trust_roots(folder)
    assert len(roots) == 3
    assert verify_pdf(signed, trust_roots=roots)[0].status == "valid"
    (folder / "broken.crt").write_bytes(b"not a certificate")
    with pytest.raises(TrustStoreError, match=r"broken\.crt: not a PEM or DER certificate"):
        load_trust_roots(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TrustStoreError, match="no CA certificates"):
        load_trust_roots(empty)
    with pytest.raises(TrustStoreError, match="does not exist"):
        load_trust_roots(tmp_path / "missing")


def test_from_an_event_loop_the_async_forms(rendered: RenderedLetter, signing_key: SigningKey,
                                            pki: TestPKI) -> None:
    """A web service's async routes await the async forms; the sync ones say so if called
    there (they run their own event loop)."""
    import asyncio

    from letters.signing import async_sign_pdf
    from letters.verification import async_verify_pdf

    async def in_a_loop() -> None:
        box = rendered.signature
        signed = await async_sign_pdf(rendered.pdf, signing_key, box=box.rect, page=box.page)
        (verdict,) = await async_verify_pdf(signed, trust_roots=pki.roots)
        assert verdict.status == "valid"
        with pytest.raises(RuntimeError, match="await async_verify_pdf"):
            verify_pdf(signed, trust_roots=pki.roots)
        with pytest.raises(RuntimeError, match="await async_sign_pdf"):
            sign_pdf(rendered.pdf, signing_key)

    asyncio.run(in_a_loop())


def test_a_naive_moment_is_a_programming_error(signed: bytes, pki: TestPKI) -> None:
    with pytest.raises(ValueError, match="aware datetime"):
        verify_pdf(signed, trust_roots=pki.roots, at=datetime(2026, 4, 10))
