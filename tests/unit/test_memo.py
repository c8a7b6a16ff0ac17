"""The internal memo (บันทึกข้อความ) on paper, read back from the PDF: the regulation's memo layout.

Emblem 1.5 cm tall at the top left, ``บันทึกข้อความ`` centred on its line (29 pt bold), the labels
ส่วนราชการ, ที่, วันที่, เรื่อง in 20 pt bold at their places with body-size text after them, ที่ and
วันที่ on one baseline with วันที่ from the page's centre, เรียน, the body, the signature block with
no closing words; later pages numbered, with continuation words, as a letter's.
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path

import pdfplumber
import pytest
from PIL import Image, ImageDraw
from reportlab.lib.units import mm

from letters.fonts import load_family
from letters.layout import LetterLayout
from letters.letter import render_letter, render_letter_layout
from letters.letterfile import load_letter_file
from letters.model import Enclosure, Letter
from tests.unit.pdfreaders import read

ROOT = Path(__file__).resolve().parents[2]
MEMO = ROOT / "examples" / "memo" / "memo.toml"
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
A4_W, A4_H = 210.0, 297.0
LAYOUT = LetterLayout()
FAMILY = load_family()

MORE = (
    "ตามที่กระทรวงศึกษาธิการได้มอบหมายให้สำนักงานคณะกรรมการการอาชีวศึกษาเร่งรัดการพัฒนาคุณภาพ"
    "การจัดการเรียนการสอนในระบบทวิภาคี เพื่อผลิตกำลังคนที่มีสมรรถนะตรงตามความต้องการของสถานประกอบการ"
    " และสอดคล้องกับยุทธศาสตร์ชาติ ระยะ 20 ปี (พ.ศ. 2561 - 2580) นั้น"
)


def _mm(points: float) -> float:
    return points / mm


def memo() -> Letter:
    return load_letter_file(MEMO).merge()


def long_memo() -> Letter:
    example = memo()
    return replace(example, body=(*example.body[:-1], *[MORE] * 8, example.body[-1]))


@pytest.fixture(scope="module")
def memo_pdf() -> bytes:
    return render_letter(memo())


def _rows(pdf: bytes, page: int = 0) -> list[list[dict]]:
    """The page's characters by baseline, top first, each row left to right."""
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = list(doc.pages[page].chars)
    rows: dict[float, list[dict]] = {}
    for c in chars:
        rows.setdefault(round(c["matrix"][5], 1), []).append(c)
    return [sorted(rows[y], key=lambda c: c["x0"]) for y in sorted(rows, reverse=True)]


def _text(chars: list[dict]) -> str:
    return "".join(c["text"] for c in chars)


def _find(pdf: bytes, text: str, page: int = 0) -> list[dict]:
    """The characters of ``text`` where it starts a row or a run within one."""
    for row in _rows(pdf, page):
        for i in range(len(row)):
            if _text(row[i:]).startswith(text):
                return row[i : i + len(text)]
    raise AssertionError(f"{text!r} not on page {page + 1}")


def _baseline(chars: list[dict]) -> float:
    return chars[0]["matrix"][5]


def test_the_example_memo_renders_through_saraban_letter(tmp_path: Path) -> None:
    """``saraban letter`` renders a memo in its own code path: load_letter_file + render_letter."""
    out = tmp_path / "memo.pdf"
    result = subprocess.run(
        [sys.executable, "-m", "saraban.cli", "letter", str(MEMO), "-o", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == render_letter(memo())


def test_heading_centred_large_and_bold_on_the_emblem_line(memo_pdf: bytes) -> None:
    heading = _find(memo_pdf, "บันทึกข้อความ")
    assert all("Bold" in c["fontname"] for c in heading)
    assert heading[0]["size"] == pytest.approx(FAMILY.size(29), abs=0.01)
    centre = (heading[0]["x0"] + heading[-1]["x1"]) / 2
    assert abs(_mm(centre) - A4_W / 2) <= 1
    # On the emblem's line: the baseline within the emblem's 1.5 cm, 1.5 cm below the top.
    below_top = A4_H - _mm(_baseline(heading))
    assert 15 + 7.5 <= below_top <= 15 + 15


def test_emblem_top_left_one_and_a_half_centimetres(tmp_path: Path) -> None:
    emblem = tmp_path / "emblem.png"
    image = Image.new("RGB", (270, 300), "white")
    ImageDraw.Draw(image).ellipse((10, 10, 260, 290), outline="black", width=8)
    image.save(emblem)
    letter = memo()
    letter = replace(letter, sender=replace(letter.sender, emblem=emblem))
    pdf = render_letter(letter)
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        (img,) = doc.pages[0].images
    assert abs(_mm(img["height"]) - 15) <= 0.5
    assert abs(_mm(img["top"]) - 15) <= 0.5
    assert abs(_mm(img["x0"]) - 30) <= 0.5
    heading = _find(pdf, "บันทึกข้อความ")
    assert heading[0]["x0"] > img["x1"]  # the heading clears it
    assert img["top"] < heading[0]["bottom"] and heading[0]["top"] < img["bottom"]


def test_no_emblem_leaves_its_space_empty(memo_pdf: bytes) -> None:
    with pdfplumber.open(io.BytesIO(memo_pdf)) as doc:
        page = doc.pages[0]
        assert page.images == [] and page.rects == [] and page.curves == []
        in_box = [c for c in page.chars if _mm(c["x0"]) < 30 + 15 and _mm(c["bottom"]) < 30]
        assert in_box == []


@pytest.mark.parametrize("label", ["ส่วนราชการ", "ที่", "วันที่", "เรื่อง"])
def test_labels_bold_and_larger_the_text_after_them_body_size(memo_pdf: bytes, label: str) -> None:
    chars = _find(memo_pdf, label + " ")
    label_chars = chars[: len(label)]
    assert all("Bold" in c["fontname"] for c in label_chars)
    assert label_chars[0]["size"] == pytest.approx(FAMILY.size(20), abs=0.01)
    row = next(r for r in _rows(memo_pdf) if label_chars[0] in r)
    after = [c for c in row if c["x0"] > label_chars[-1]["x1"] + 1]
    # up to the next label on the row (ที่ is followed by วันที่)
    text = [c for c in after if "Bold" not in c["fontname"]]
    assert text, f"no text after {label}"
    assert text[0]["size"] == pytest.approx(FAMILY.size(16), abs=0.01)
    assert all("Bold" not in c["fontname"] for c in text)
    if label != "วันที่":
        assert abs(_mm(label_chars[0]["x0"]) - 30) <= 0.5


def test_reference_and_date_on_one_line_the_date_from_the_page_centre(memo_pdf: bytes) -> None:
    number = _find(memo_pdf, "ที่ ศธ ๐๖๐๓.๒๑/๑๑๒")
    day = _find(memo_pdf, "วันที่ ๒๐ เมษายน ๒๕๖๙")
    assert _baseline(number) == pytest.approx(_baseline(day), abs=0.01)
    assert abs(_mm(day[0]["x0"]) - A4_W / 2) <= 0.5


def test_parts_in_the_regulation_order(memo_pdf: bytes) -> None:
    order = ["บันทึกข้อความ", "ส่วนราชการ", "ที่ ศธ", "เรื่อง", "เรียน ผู้อำนวยการ", "ด้วยสำนักงาน",
             "จึงเรียนมาเพื่อโปรดพิจารณา", "(นางสาวอัญชลี ธรรมศรีใจ)", "หัวหน้างานบริหารงานทั่วไป"]
    baselines = [_baseline(_find(memo_pdf, text)) for text in order]
    assert baselines == sorted(baselines, reverse=True)
    unit = _find(memo_pdf, "ส่วนราชการ งานบริหารงานทั่วไป ฝ่ายบริหารทรัพยากร วิทยาลัยสารพัดช่างลำปาง")
    assert unit
    phone = _find(memo_pdf, "โทร. ๐ ๕๔๒๒ ๐๐๐๐ ต่อ ๑๐๑")  # a phone number never breaks
    assert _baseline(phone) <= _baseline(unit)


def test_no_closing_and_the_signature_block_where_a_letters_stands(memo_pdf: bytes) -> None:
    for reader in ("pypdf", "pdfium", "pdftotext"):
        text = "".join(read(memo_pdf, reader))
        assert "ขอแสดงความนับถือ" not in text
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        name = lines.index("(นางสาวอัญชลี ธรรมศรีใจ)")
        assert lines[name + 1] == "หัวหน้างานบริหารงานทั่วไป"
        assert lines[name - 1] == "จึงเรียนมาเพื่อโปรดพิจารณา"
    letter = render_letter(load_letter_file(SEED).merge())
    letter_name = _find(letter, "(นายวิวัฒน์ ปัญจมะวัต)", page=1)
    memo_name = _find(memo_pdf, "(นางสาวอัญชลี ธรรมศรีใจ)")
    axis = (letter_name[0]["x0"] + letter_name[-1]["x1"]) / 2
    assert abs((memo_name[0]["x0"] + memo_name[-1]["x1"]) / 2 - axis) <= 1 * mm
    # Space to sign: three blank lines above the name, as on a letter.
    last = _find(memo_pdf, "จึงเรียนมาเพื่อโปรดพิจารณา")
    assert _baseline(last) - _baseline(memo_name) >= 3 * LAYOUT.leading


@pytest.mark.parametrize("reader", ["pypdf", "pdfium", "pdftotext"])
def test_text_layer_is_the_memo(memo_pdf: bytes, reader: str) -> None:
    text = "".join(read(memo_pdf, reader))
    flat = "".join(text.split())
    letter = memo()
    from letters.thaitext import numerals

    pos = 0
    for part in (
        "บันทึกข้อความ",
        "ส่วนราชการ",
        "ที่ ศธ ๐๖๐๓.๒๑/๑๑๒ วันที่ ๒๐ เมษายน ๒๕๖๙",
        "เรื่อง " + numerals(letter.subject, True),
        "เรียน " + letter.to,
        *(numerals(p, True) for p in letter.body),
    ):
        squashed = "".join(part.split())
        found = flat.find(squashed, pos)
        assert found >= 0, f"{reader}: {part[:40]!r} not in order"
        pos = found + len(squashed)


def test_later_pages_numbered_with_continuation_words() -> None:
    pdf = render_letter(long_memo())
    pages = read(pdf, "pypdf")
    assert len(pages) >= 2
    assert pages[0].rstrip().endswith("...")
    assert "- ๑ -" not in pages[0]
    assert pages[1].lstrip().startswith("- ๒ -")
    # no memo head on page 2
    assert "บันทึกข้อความ" not in pages[1] and "ส่วนราชการ" not in pages[1]
    continuation = pages[0].rstrip().splitlines()[-1].removesuffix("...").strip()
    first = pages[1].split("- ๒ -", 1)[1].strip()
    assert "".join(first.split()).startswith("".join(continuation.split()))


def test_urgency_red_large_on_the_heading_line_clear_of_emblem_and_heading() -> None:
    letter = replace(memo(), urgency="ด่วนที่สุด")
    pdf = render_letter(letter)
    urgent = _find(pdf, "ด่วนที่สุด")
    heading = _find(pdf, "บันทึกข้อความ")
    number = _find(pdf, "ที่ ศธ")
    assert urgent[0]["non_stroking_color"] == pytest.approx((0.85, 0.0, 0.0))
    assert urgent[0]["size"] == pytest.approx(FAMILY.size(32), abs=0.01)  # 32 pt nominal
    assert all("Bold" in c["fontname"] for c in urgent)
    assert _baseline(urgent) > _baseline(number)  # above ที่
    assert _mm(urgent[0]["x0"]) >= 30 + 15  # right of the emblem's space
    assert urgent[-1]["x1"] < heading[0]["x0"]  # left of the heading


def test_references_and_enclosures_print_under_the_addressee_when_given() -> None:
    letter = replace(
        memo(),
        references=("หนังสือ สอศ. ที่ ศธ 0603/ว 5553 ลงวันที่ 10 เมษายน 2569",),
        enclosures=(Enclosure("สำเนาหนังสือ สอศ.", "1 ชุด"),),
    )
    text = read(render_letter(letter), "pypdf")[0]
    lines = [line.strip() for line in text.splitlines()]
    to = next(i for i, line in enumerate(lines) if line.startswith("เรียน"))
    assert lines[to + 1].startswith("อ้างถึง หนังสือ สอศ.")
    assert lines[to + 2] == "สิ่งที่ส่งมาด้วย สำเนาหนังสือ สอศ. จำนวน ๑ ชุด"
    assert "สิ่งที่ส่งมาด้วย" not in read(render_letter(memo()), "pypdf")[0]


def test_signature_box_of_a_memo_holds_its_signature_lines() -> None:
    letter = replace(memo(), signed_on=date(2026, 4, 20))
    rendered = render_letter_layout(letter)
    box = rendered.signature
    assert rendered.pages == 1 and box.page == 0
    with pdfplumber.open(io.BytesIO(rendered.pdf)) as doc:
        page = doc.pages[0]
        height = page.height
        inside = [
            c for c in page.chars
            if box.x0 <= c["x0"] and c["x1"] <= box.x1
            and box.y0 <= height - c["bottom"] and height - c["top"] <= box.y1
        ]
    text = _text(inside)
    for part in ("ลงนามด้วยลายมือชื่อดิจิทัล๒๐เมษายน๒๕๖๙", "(นางสาวอัญชลีธรรมศรีใจ)",
                 "หัวหน้างานบริหารงานทั่วไป"):
        assert part in "".join(text.split())
    assert "จึงเรียน" not in text
