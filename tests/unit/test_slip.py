"""Credential slips: exact values in the text layer, N-up pages, the seed's specimen slip."""

from __future__ import annotations

import io

import pypdf
import pytest
from reportlab.lib.pagesizes import A4, landscape

from letters.slip import (
    SAMPLE_SLIP,
    Slip,
    SlipText,
    mono_font,
    render_sample_slip,
    render_slips,
    shape_chars,
)
from tests.support.pdftext import EXTRACTORS, page_texts, squash, words_in_order

SLIPS = [
    Slip("วิทยาลัยสารพัดช่างลำปาง", "1352016501", "cu27kdo"),
    Slip("วิทยาลัยเทคนิคกาญจนาภิเษกมหานคร", "1110100001", "Il1O0rnm"),
    Slip("วิทยาลัยการอาชีพนวมินทราชินีแม่ฮ่องสอน", "1358016201", "xy34abc"),
    Slip(
        "วิทยาลัยเทคโนโลยีและการจัดการอุตสาหกรรมเกษตรและอาหารแห่งประเทศไทยจังหวัดนครศรีธรรมราช",
        "1380100001",
        "q{~|}`^Zw",
    ),
    Slip("วิทยาลัยอาชีวศึกษาเชียงใหม่", "1350100001", "zz99kkk"),
]

# The seed's second slip (shared/seed), line by line in reading order.
SEED_SAMPLE_LINES = [
    "ระบบติดตามและประเมินผลการขับเคลื่อน",
    "การจัดการอาชีวศึกษา : e-MVS",
    "(electronic Monitoring and Evaluation Vocational System : e-MVS)",
    "วิทยาลัย.....",
    "รหัสสถานศึกษา",
    "(Username)",
    "1234567890",
    "รหัสผ่าน",
    "(Password)",
    "ตัวอักษรภาษาอังกฤษ",
    "ตัวพิมพ์เล็ก",
    "ab12cde",
    "สำนักติดตามและประเมินผลการอาชีวศึกษา",
    "สำนักงานคณะกรรมการการอาชีวศึกษา",
]


@pytest.fixture(scope="module")
def slips_pdf() -> bytes:
    return render_slips(SLIPS)


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_values_are_exact_in_the_text_layer(slips_pdf: bytes, extractor: str) -> None:
    texts = page_texts(slips_pdf, extractor)
    assert len(texts) == len(SLIPS)
    for slip, text in zip(SLIPS, texts, strict=True):
        lines = [line.strip() for line in text.splitlines()]
        # Username and password each come out as one line, character for character.
        assert slip.code in lines
        assert slip.password in lines
        if slip.college_name in lines:
            continue
        # A name too long for one line wraps; joined back it is the name.
        assert slip.college_name in "".join(lines)


@pytest.mark.parametrize("extractor", ["pypdf", "pdfplumber"])
def test_reading_order(slips_pdf: bytes, extractor: str) -> None:
    slip = SLIPS[0]
    text = page_texts(slips_pdf, extractor)[0]
    words = [*SlipText().system_th, slip.college_name, "รหัสสถานศึกษา", slip.code,
             "รหัสผ่าน", slip.password, *SlipText().issuer]
    assert words_in_order(words, text) == []


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_sample_slip_matches_the_seed(extractor: str) -> None:
    text = page_texts(render_sample_slip(), extractor)[0]
    words = [word for line in SEED_SAMPLE_LINES for word in line.split()]
    assert words_in_order(words, text) == []
    # Nothing else on the slip: the same words, and only them.
    assert squash(text) == squash("".join(words))


def test_sample_slip_values() -> None:
    assert (SAMPLE_SLIP.college_name, SAMPLE_SLIP.code, SAMPLE_SLIP.password) == (
        "วิทยาลัย.....", "1234567890", "ab12cde",
    )


@pytest.mark.parametrize(
    ("per_page", "pages", "size"),
    [(1, 5, A4), (2, 3, A4), (4, 2, landscape(A4))],
)
def test_n_up_page_count(per_page: int, pages: int, size: tuple[float, float]) -> None:
    pdf = render_slips(SLIPS, per_page=per_page)
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == pages
    for page in reader.pages:
        box = page.mediabox
        assert (float(box.width), float(box.height)) == pytest.approx(size, abs=0.01)
    texts = page_texts(pdf, "pypdf")
    for n, slip in enumerate(SLIPS):
        page_text = texts[n // per_page]
        assert slip.password in page_text.splitlines()
        assert slip.code in page_text.splitlines()
    if per_page > 1:
        # Dashed cut lines between the slips.
        assert b"[4 3] 0 d" in reader.pages[0].get_contents().get_data()


def test_n_up_exact_fill() -> None:
    pdf = render_slips(SLIPS[:4], per_page=4)
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) == 1


def test_no_images(slips_pdf: bytes) -> None:
    assert b"/Subtype /Image" not in slips_pdf


def test_custom_text_and_no_hint() -> None:
    text = SlipText(
        system_th=("ระบบสารสนเทศเพื่อการบริหาร",), system_en="(Management Information System)",
        issuer=("ศูนย์เทคโนโลยีสารสนเทศ",), hint="",
    )
    page = page_texts(render_slips(SLIPS[:1], text), "pypdf")[0]
    assert "ระบบสารสนเทศเพื่อการบริหาร" in page and "(Management Information System)" in page
    assert "ศูนย์เทคโนโลยีสารสนเทศ" in page
    assert "ตัวอักษร" not in page


def test_password_never_in_repr_or_errors() -> None:
    secret = "cu27kdo"
    slip = Slip("วิทยาลัยสารพัดช่างลำปาง", "1352016501", secret)
    assert secret not in repr(slip) and secret not in str(slip)
    for bad in ("has space", "ยาว", "x" * 100, "tab\there"):
        with pytest.raises(ValueError) as info:
            Slip("วิทยาลัยสารพัดช่างลำปาง", "1352016501", bad)
        assert bad not in str(info.value)
        assert "password" in str(info.value)
    with pytest.raises(ValueError, match="password"):
        Slip("วิทยาลัยสารพัดช่างลำปาง", "1352016501", "")


def test_bad_slips() -> None:
    with pytest.raises(ValueError, match="college name"):
        Slip("  ", "1352016501", "cu27kdo")
    with pytest.raises(ValueError, match="code"):
        Slip("วิทยาลัย", "13520 16501", "cu27kdo")
    with pytest.raises(ValueError, match="per_page"):
        render_slips(SLIPS, per_page=3)
    with pytest.raises(ValueError, match="no slips"):
        render_slips([])
    with pytest.raises(ValueError, match="too long"):
        render_slips([Slip("วิทยาลัย" * 40, "1352016501", "cu27kdo")])


def test_password_characters_are_shaped_one_by_one() -> None:
    font = mono_font()
    glyphs = shape_chars(font, "fi--ffl")
    assert len(glyphs) == 7  # no ligature merges characters
    assert {g.advance for g in glyphs} == {glyphs[0].advance}  # monospaced
    # The PDF widths agree with the advances, so extractors see no gaps between characters.
    assert all(g.code is not None and g.code < 0x80 for g in glyphs)


def test_deterministic_output() -> None:
    assert render_slips(SLIPS[:2], per_page=2) == render_slips(SLIPS[:2], per_page=2)
