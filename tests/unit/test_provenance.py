"""The annotated letter of a digitally signed letter: a new document that drops the signature
fields it copied, states its original's sha256, and carries the original byte for byte as its
source, which still validates in pyHanko and in poppler's pdfsig. The annotated PDF itself is
clean (``qpdf --check``) and holds no signature to be mistaken for a broken one.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pypdf
import pytest

from letters.annotation import NoteBlock, ReceiptStamp, annotate
from letters.letter import RenderedLetter, render_letter, render_letter_layout
from letters.letterfile import load_letter_file
from letters.provenance import ORIGINAL_NAME, SOURCE_KEY, Source, attachment, is_signed
from letters.signing import SigningKey, sign_letter
from letters.verification import verify_pdf
from tests.support.pdfsig import pdfsig
from tests.support.pki import TestPKI
from tests.unit.pdfreaders import read

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
ICT = timezone(timedelta(hours=7))
STAMP = ReceiptStamp("วิทยาลัยสารพัดช่างลำปาง", "12/2569", datetime(2026, 4, 20, 10, 35, tzinfo=ICT))
NOTES = [
    NoteBlock(
        ["เรียน ผู้อำนวยการ", "/ เพื่อโปรดทราบ", "(นางสาวอัญชลี ธรรมศรีใจ)",
         "หัวหน้างานบริหารงานทั่วไป", "๒๐ เม.ย. ๖๙"],
        signature=3,
    )
]


@pytest.fixture(scope="module")
def rendered() -> RenderedLetter:
    return render_letter_layout(
        replace(load_letter_file(SEED).merge(), signed_on=date(2026, 4, 10))
    )


@pytest.fixture(scope="module")
def signed(rendered: RenderedLetter, signing_key: SigningKey) -> bytes:
    return sign_letter(rendered, signing_key)


@pytest.fixture(scope="module")
def annotated(signed: bytes) -> bytes:
    return annotate(signed, STAMP, NOTES, subject="ขอความร่วมมือ")


def test_the_original_rides_along_byte_for_byte_and_still_validates(
    annotated: bytes, signed: bytes, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    original = attachment(annotated)
    assert original == signed
    (verdict,) = verify_pdf(original, trust_roots=pki.roots)
    assert verdict.status == "valid" and verdict.covers_whole_file
    (report,) = pdfsig(original, nss_db, tmp_path)
    assert report["Signature Validation"] == "Signature is Valid."
    assert report["Certificate Validation"] == "Certificate is Trusted."
    assert "Total document signed" in report


def test_it_is_attached_as_the_source_and_named_by_its_sha256(annotated: bytes,
                                                              signed: bytes) -> None:
    digest = hashlib.sha256(signed).hexdigest()
    reader = pypdf.PdfReader(io.BytesIO(annotated))
    (spec,) = [ref.get_object() for ref in reader.root_object["/AF"]]
    assert spec["/AFRelationship"] == "/Source"
    assert spec["/F"] == spec["/UF"] == ORIGINAL_NAME
    assert digest in spec["/Desc"]
    assert spec["/EF"]["/F"].get_object()["/Subtype"] == "/application/pdf"
    assert reader.metadata[SOURCE_KEY] == f"sha256:{digest}"
    assert digest in reader.metadata.subject


def test_the_note_sheet_says_what_it_was_made_from(annotated: bytes, signed: bytes) -> None:
    """Even when every note fits on the letter, a signed original gets a note sheet that says
    so, its text exact in the text layer (the hash can be compared by copying it)."""
    digest = hashlib.sha256(signed).hexdigest()
    pages = read(annotated, "pdftotext")
    assert len(pages) == len(read(signed, "pdftotext")) + 1
    sheet = " ".join(pages[-1].split())
    assert sheet.startswith("บันทึกเกษียนหนังสือ")
    assert f"ทำจากต้นฉบับ sha256 {digest}" in sheet
    assert f"แนบอยู่ในไฟล์นี้ ({ORIGINAL_NAME})" in sheet
    # the note itself is on the letter, as for an unsigned letter
    assert "(นางสาวอัญชลี ธรรมศรีใจ)" in pages[-2]


def test_the_annotated_pdf_is_clean_and_holds_no_signature(
    annotated: bytes, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    path = tmp_path / "annotated.pdf"
    path.write_bytes(annotated)
    check = subprocess.run(["qpdf", "--check", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No syntax or stream encoding errors found" in check.stdout
    assert "WARNING" not in check.stdout + check.stderr
    assert verify_pdf(annotated, trust_roots=pki.roots) == []
    assert pdfsig(annotated, nss_db, tmp_path) == []  # "does not contain any signatures"
    reader = pypdf.PdfReader(io.BytesIO(annotated))
    assert "/AcroForm" not in reader.root_object and "/Perms" not in reader.root_object
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            assert annotation.get_object().get("/FT") != "/Sig"


def test_a_plain_copy_of_a_signed_letter_would_read_as_tampered(signed: bytes,
                                                                pki: TestPKI) -> None:
    """Why the copy drops the fields: a page copy keeps a signature whose bytes are gone."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(signed)))
    out = io.BytesIO()
    writer.write(out)
    (verdict,) = verify_pdf(out.getvalue(), trust_roots=pki.roots)
    assert not verdict.ok


def test_an_unsigned_letter_is_annotated_as_before_with_its_sha256_stated() -> None:
    letter = render_letter(load_letter_file(SEED).merge())
    annotated = annotate(letter, STAMP, NOTES)
    reader = pypdf.PdfReader(io.BytesIO(annotated))
    assert len(reader.pages) == len(pypdf.PdfReader(io.BytesIO(letter)).pages)
    assert attachment(annotated) is None and "/AF" not in reader.root_object
    assert reader.metadata[SOURCE_KEY] == f"sha256:{hashlib.sha256(letter).hexdigest()}"


def test_a_source_given_apart_from_the_letter(signed: bytes, rendered: RenderedLetter) -> None:
    """A delivered letter is annotated from its pages; the file it came in is the source."""
    source = Source(signed, "receipt-12-2569.pdf", signed=True)
    annotated = annotate(rendered.pdf, STAMP, NOTES, source=source)
    assert attachment(annotated, "receipt-12-2569.pdf") == signed


@pytest.mark.parametrize("data", [b"", b"%PDF-1.7 garbage", b"not a pdf"])
def test_is_signed_on_anything(data: bytes, signed: bytes, rendered: RenderedLetter) -> None:
    assert is_signed(signed) and not is_signed(rendered.pdf)
    assert not is_signed(data)
