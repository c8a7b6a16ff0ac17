"""The seed letter on paper: parts in the regulation's places, every word, page furniture."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pdfplumber
import pypdf
import pytest
from PIL import Image, ImageChops, ImageDraw, ImageStat
from reportlab.lib.units import mm

from letters.letter import render_letter, render_letters
from letters.model import Sender
from tests.support.letters import DATA, example_letter
from tests.support.pdftext import EXTRACTORS, page_texts, render_page, squash, words_in_order

PT_PER_MM = mm
A4_W, A4_H = 210, 297
REFERENCE_PAGE = DATA / "seed-letter-page1.png"


@pytest.fixture(scope="module")
def seed_pdf() -> bytes:
    return render_letter(example_letter())


def seed_words() -> list[str]:
    text = (DATA / "seed-letter.txt").read_text(encoding="utf-8")
    words: list[str] = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        line = line.strip().removeprefix("- ")
        line = line.replace("[emvs.ovec.go.th](http://emvs.ovec.go.th)", "emvs.ovec.go.th")
        words += line.split()
    return words


def _chars(pdf: bytes, page: int = 0) -> list[dict]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return list(doc.pages[page].chars)


def _mm(points: float) -> float:
    return points / PT_PER_MM


def _line_starting(chars: list[dict], text: str) -> list[dict]:
    """The characters of the first printed line whose text starts with ``text``."""
    rows: dict[float, list[dict]] = {}
    for c in chars:
        rows.setdefault(round(c["matrix"][5], 1), []).append(c)
    for y in sorted(rows, reverse=True):
        row = sorted(rows[y], key=lambda c: c["x0"])
        if "".join(c["text"] for c in row).startswith(text):
            return row
        # the head's ที่ and the agency share a baseline: look for a run starting the text
        for i in range(len(row)):
            if "".join(c["text"] for c in row[i:]).startswith(text):
                return row[i:]
    raise AssertionError(f"no line starts with {text!r}")


def test_a4_two_pages_fonts_embedded(seed_pdf: bytes) -> None:
    reader = pypdf.PdfReader(io.BytesIO(seed_pdf))
    assert len(reader.pages) == 2
    for page in reader.pages:
        box = page.mediabox
        assert (round(_mm(float(box.width))), round(_mm(float(box.height)))) == (A4_W, A4_H)
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            # A TrueType subset embedded, or the Type 3 mark font (letters/markfont.py),
            # which draws Laksaman's own outlines: nothing referenced and left out.
            assert font["/Subtype"] in ("/TrueType", "/Type3")
            if font["/Subtype"] == "/TrueType":
                assert "/FontFile2" in font["/FontDescriptor"].get_object()  # subset embedded
    with pdfplumber.open(io.BytesIO(seed_pdf)) as doc:
        used = {c["fontname"].split("+")[-1] for page in doc.pages for c in page.chars}
    # every character in the bundled, embedded font (marks: its outlines in the mark font)
    assert used == {"Laksaman", "LaksamanMarks"}


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_every_seed_word_in_order(seed_pdf: bytes, extractor: str) -> None:
    text = "".join(page_texts(seed_pdf, extractor))
    assert words_in_order(seed_words(), text) == []


def test_margins_reference_line_and_date_within_a_millimetre(seed_pdf: bytes) -> None:
    chars = _chars(seed_pdf)
    body = [c for c in chars if c["text"].strip()]
    assert abs(_mm(min(c["x0"] for c in body)) - 30) <= 1  # left margin 3 cm
    assert _mm(max(c["x1"] for c in body)) <= A4_W - 20 + 1  # right margin 2 cm
    justified = _line_starting(chars, "การขับเคลื่อนการจัดการอาชีวศึกษา และกรอบ")
    assert abs(_mm(justified[-1]["x1"]) - (A4_W - 20)) <= 1  # justified lines reach it

    ref = _line_starting(chars, "ที่ ศธ")
    assert abs(_mm(ref[0]["x0"]) - 30) <= 1
    # on the emblem's bottom line: 1.5 cm + 3 cm below the top edge
    assert abs(_mm(A4_H * PT_PER_MM - ref[0]["matrix"][5]) - 45) <= 1

    date = _line_starting(chars, "๑๐ เมษายน ๒๕๖๙")
    assert abs(_mm(date[0]["x0"]) - 105) <= 1  # starts at the page's centre
    agency = _line_starting(chars, "สำนักงานคณะกรรมการการอาชีวศึกษา")
    assert abs(_mm(agency[-1]["x1"]) - (A4_W - 20)) <= 1  # address block at the right
    bottom = _mm(min(c["matrix"][5] for c in body))
    assert bottom >= 20 - 1  # nothing below the 2 cm bottom margin


def test_emblem_box_centred_three_centimetres_tall(tmp_path: Path) -> None:
    emblem = tmp_path / "emblem.png"
    image = Image.new("RGB", (270, 300), "white")
    ImageDraw.Draw(image).ellipse((10, 10, 260, 290), outline="black", width=8)
    image.save(emblem)
    letter = example_letter()
    letter = replace(letter, sender=replace(letter.sender, emblem=emblem))
    with pdfplumber.open(io.BytesIO(render_letter(letter))) as doc:
        (img,) = doc.pages[0].images
    assert abs(_mm(img["height"]) - 30) <= 1
    assert abs(_mm(img["top"]) - 15) <= 1
    assert abs(_mm((img["x0"] + img["x1"]) / 2) - A4_W / 2) <= 1


def test_no_emblem_configured_leaves_the_space_empty(seed_pdf: bytes) -> None:
    with pdfplumber.open(io.BytesIO(seed_pdf)) as doc:
        page = doc.pages[0]
        assert page.images == []
        top = [c for c in page.chars if _mm(c["bottom"]) < 38]
        assert top == []


def test_page_number_and_continuation_words(seed_pdf: bytes) -> None:
    first, second = page_texts(seed_pdf, "pypdf")
    assert first.rstrip().endswith("๒. การใช้งานระบบ...")
    assert "- ๑ -" not in first
    assert second.lstrip().startswith("- ๒ -")
    assert squash(second).startswith(squash("- ๒ - ๒. การใช้งานระบบ"))
    assert "..." not in second  # the last page continues nowhere


def test_continuation_sits_bottom_right(seed_pdf: bytes) -> None:
    chars = _chars(seed_pdf)
    dots = [c for c in chars if c["text"] == "."][-1]
    assert abs(_mm(dots["x1"]) - (A4_W - 20)) <= 1
    assert _mm(dots["matrix"][5]) <= 25


def test_signature_block_with_acting_relation(seed_pdf: bytes) -> None:
    second = page_texts(seed_pdf, "pypdf")[1]
    lines_ = [line.strip() for line in second.splitlines()]
    closing = lines_.index("ขอแสดงความนับถือ")
    assert lines_[closing + 1 : closing + 4] == [
        "(นายวิวัฒน์ ปัญจมะวัต)",
        "รองเลขาธิการคณะกรรมการการอาชีวศึกษา ปฏิบัติราชการแทน",
        "เลขาธิการคณะกรรมการการอาชีวศึกษา",
    ]
    assert lines_[-3:] == [
        "กลุ่มติดตามและรายงานผล",
        "สำนักติดตามและประเมินผลการอาชีวศึกษา",
        "โทร. ๐ ๒๐๒๖ ๕๕๕๕ ต่อ ๔๐๒๐",
    ]


def test_urgency_in_red_above_the_reference_line() -> None:
    letter = replace(example_letter(), urgency="ด่วนที่สุด")
    chars = _chars(render_letter(letter))
    urgent = _line_starting(chars, "ด่วนที่สุด")
    ref = _line_starting(chars, "ที่ ศธ")
    assert urgent[0]["non_stroking_color"] == pytest.approx((0.85, 0.0, 0.0))
    assert urgent[0]["size"] >= 32 * 0.6  # 32 pt nominal, in the family's scale
    assert urgent[0]["matrix"][5] > ref[0]["matrix"][5]


def test_arabic_digits_when_the_letter_says_so() -> None:
    letter = replace(example_letter(), thai_digits=False)
    text = "".join(page_texts(render_letter(letter), "pypdf"))
    assert "10 เมษายน 2569" in text and "ศธ 0603/ว 5553" in text
    assert not any("๐" <= c <= "๙" for c in text)


def test_external_letter_has_no_circular_mark() -> None:
    letter = replace(example_letter(), kind="external", number="123")
    text = page_texts(render_letter(letter), "pypdf")[0]
    assert "ที่ ศธ ๐๖๐๓/๑๒๓" in text


def test_first_page_matches_the_reviewed_reference_image(seed_pdf: bytes) -> None:
    page = render_page(seed_pdf, 0, dpi=50)
    if not REFERENCE_PAGE.exists():  # pragma: no cover - written once, then reviewed
        page.save(REFERENCE_PAGE)
        pytest.fail(f"wrote {REFERENCE_PAGE}; review it and run again")
    reference = Image.open(REFERENCE_PAGE).convert("L")
    assert page.size == reference.size
    diff = ImageChops.difference(page, reference)
    assert ImageStat.Stat(diff).mean[0] < 1.0  # mean difference under 1/255
    changed = diff.point(lambda v: 255 if v > 96 else 0).histogram()[255]
    assert changed / (page.size[0] * page.size[1]) < 0.002


def test_the_senders_code_is_printed_before_the_slash() -> None:
    """The agency code of ``[sender]`` is what ที่ prints before the slash (a circular's ว and
    the number follow), in the letter's numerals."""
    seed = example_letter()
    sender = Sender(code="ศธ 0999", agency=seed.sender.agency, address=seed.sender.address)
    letter = replace(seed, sender=sender)
    assert letter.reference_number == "ศธ 0999/ว 5553"
    assert "ที่ ศธ ๐๙๙๙/ว ๕๕๕๓" in page_texts(render_letter(letter), "pypdf")[0]
    arabic = replace(letter, thai_digits=False)
    assert "ที่ ศธ 0999/ว 5553" in page_texts(render_letter(arabic), "pypdf")[0]


def test_letters_rendered_together_print_as_each_alone() -> None:
    """A mailout renders a chunk of colleges' letters as one document and reuses the operators
    of lines it has drawn before; every letter must still print and read exactly as it does
    rendered alone (its own name and code, every other line the same)."""
    from saraban.services.mailouts import load_plan

    plan = load_plan(Path(__file__).resolve().parents[2] / "examples" / "emvs-2569")
    letters = [plan.letter_for(college, "5553") for college in plan.roster.rows[:6]]
    together, pages = render_letters(letters)
    assert [len(p) for p in pages] == [2] * 6
    texts = {extractor: page_texts(together, extractor) for extractor in ("pypdf", "pdfium")}
    for letter, own in zip(letters, pages, strict=True):
        alone = render_letter(letter)
        for extractor, text in texts.items():
            assert [text[page - 1] for page in own] == page_texts(alone, extractor)
        for n, page in enumerate(own):
            a, b = render_page(together, page - 1, dpi=100), render_page(alone, n, dpi=100)
            assert ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None
