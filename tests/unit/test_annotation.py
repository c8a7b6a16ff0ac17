"""The annotated letter (เกษียนหนังสือ): the seed's receipt stamp and routing notes written on the
seed letter, read back by pypdf, pdfplumber and pdfium; notes kept off the letter's ink; the
overflow on a note sheet; any uploaded PDF."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pdfplumber
import pypdf
import pypdfium2
import pytest
from PIL import Image, ImageChops
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from letters.annotation import SHEET_TITLE, NoteBlock, ReceiptStamp, annotate
from letters.letter import render_letter
from letters.letterfile import load_letter_file
from saraban.domain.routing import (
    SUGGEST_ASSIGN,
    SUGGEST_INFORM,
    TO_CONSIDER,
    TO_KNOW,
    Decision,
    Note,
    Proposal,
    Signature,
    decision_lines,
    note_lines,
)
from tests.support.letters import EXAMPLE_LETTER
from tests.support.pdftext import EXTRACTORS, page_texts, render_page, squash, words_in_order

ICT = timezone(timedelta(hours=7))
COLLEGE = "วิทยาลัยสารพัดช่างลำปาง"
RECEIVED = datetime(2026, 4, 20, 10, 35, tzinfo=ICT)
STAMP = ReceiptStamp(COLLEGE, "1234", RECEIVED)
STAMP_LINES = [COLLEGE, "เลขรับ 1234", "วันที่ 20 เม.ย. 2569", "เวลา 10.35 น."]
SUMMARY = (
    "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของ สถานศึกษา ในการขับเคลื่อนการอาชีวศึกษา "
    "ปีงบประมาณ พ.ศ. 2569 มาเพื่อ"
)
PEOPLE = "รองฯ ผ.ผ., หน.งานวางแผนฯ"


def _signature(staff_id: int, name: str, position: str, hour: int, **acting: str) -> Signature:
    at = datetime(2026, 4, 20, hour, tzinfo=ICT)
    return Signature(staff_id=staff_id, name=name, position=position, at=at, **acting)


def seed_notes() -> list[NoteBlock]:
    """The seed's three notes, printed by saraban.domain.routing as the letter shows them."""
    clerk = Note(
        id="n1",
        to_position="ผู้อำนวยการ",
        summary=SUMMARY,
        proposals=(
            Proposal(TO_KNOW),
            Proposal(TO_CONSIDER),
            Proposal(SUGGEST_INFORM, PEOPLE),
            Proposal(SUGGEST_ASSIGN, PEOPLE),
        ),
        signature=_signature(1, "นางสาวอัญชลี ธรรมศรีใจ", "หัวหน้างานบริหารงานทั่วไป", 9),
    )
    deputy = Note(
        id="n2",
        to_position="ผู้อำนวยการ",
        summary=None,
        proposals=(),
        signature=_signature(2, "นายสมพงษ์ นันตะภาพ", f"รองผู้อำนวยการ{COLLEGE}", 11),
    )
    decision = Decision(
        kind="แจ้ง",
        people=PEOPLE,
        assignees=(4, 5),
        signature=_signature(
            3,
            "นายภาณุวัฒน์ ลาสูทธิ",
            "รองผู้อำนวยการ",
            14,
            acting="รักษาการในตำแหน่ง",
            acting_for=f"ผู้อำนวยการ{COLLEGE}",
        ),
    )
    return [
        NoteBlock(note_lines(clerk)),
        NoteBlock(note_lines(deputy)),
        NoteBlock(decision_lines(decision)),
    ]


def long_notes(count: int = 8) -> list[NoteBlock]:
    """Clerk-sized notes, each signed by someone else so that each can be found once."""
    return [
        NoteBlock(
            [
                "เรียน ผู้อำนวยการ",
                f"{SUMMARY} ครั้งที่ {n} โดยขอให้งานที่เกี่ยวข้องรายงานผลการดำเนินงานภายในกำหนด",
                "/ เพื่อโปรดทราบ",
                "/ เพื่อโปรดพิจารณา",
                f"/ เห็นควรแจ้ง/มอบ.....{PEOPLE}",
                f"นางสาวผู้บันทึก ลำดับที่{n}",
                "หัวหน้างานบริหารงานทั่วไป",
                "20 เม.ย. 69",
            ]
        )
        for n in range(1, count + 1)
    ]


@pytest.fixture(scope="module")
def letter_pdf() -> bytes:
    return render_letter(load_letter_file(EXAMPLE_LETTER).merge())


@pytest.fixture(scope="module")
def annotated(letter_pdf: bytes) -> bytes:
    return annotate(letter_pdf, STAMP, seed_notes())


# --- reading back ----------------------------------------------------------------------------


def _normal(text: str) -> str:
    return " ".join(text.split())


def _pieces_of(line: str, extracted: Sequence[str]) -> bool:
    """``line`` printed exactly: one extracted line, or consecutive ones (wrapped) that are
    each an exact piece of it and together are all of it."""
    target = squash(line)
    normal = _normal(line)
    for start in range(len(extracted)):
        joined = ""
        for piece in extracted[start:]:
            if not piece or _normal(piece) not in normal:
                break
            joined += squash(piece)
            if joined == target:
                return True
            if not target.startswith(joined):
                break
    return False


def _lines(text: str) -> list[str]:
    return [_normal(line) for line in text.splitlines()]


def _chars(pdf: bytes, index: int) -> list[dict]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        return list(doc.pages[index].chars)


def _added_chars(before: bytes, after: bytes, index: int) -> list[dict]:
    """Characters on page ``index`` of ``after`` that ``before`` does not have there."""

    def key(c: dict) -> tuple[str, float, float]:
        return c["text"], round(c["x0"], 1), round(c["top"], 1)

    old = {key(c) for c in _chars(before, index)}
    return [c for c in _chars(after, index) if key(c) not in old]


def _shapes(pdf: bytes, index: int) -> list[dict]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        page = doc.pages[index]
        return [*page.curves, *page.lines, *page.rects]


def _added_shapes(before: bytes, after: bytes, index: int) -> list[dict]:
    """Lines, curves and rectangles new on the page (glyph outlines are curves too)."""

    def key(o: dict) -> tuple[float, ...]:
        return tuple(round(o[k], 1) for k in ("x0", "top", "x1", "bottom"))

    old = {key(o) for o in _shapes(before, index)}
    return [o for o in _shapes(after, index) if key(o) not in old]


def _overlaps(a: dict, b: dict, gap: float = 0.5) -> bool:
    return not (
        a["x1"] + gap <= b["x0"]
        or b["x1"] + gap <= a["x0"]
        or a["bottom"] + gap <= b["top"]
        or b["bottom"] + gap <= a["top"]
    )


def _page_count(pdf: bytes) -> int:
    return len(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def full_page_pdf() -> bytes:
    """An uploaded letter: Latin text from the top margin to the bottom one, edge to edge."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    canvas.setFont("Helvetica", 11)
    y = A4[1] - 15 * mm
    while y > 15 * mm:
        canvas.drawString(
            15 * mm,
            y,
            "Lorem ipsum dolor sit amet, consectetur adipiscing "
            "elit, sed do eiusmod tempor incididunt ut labore et dolore.",
        )
        y -= 14
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def short_page_pdf(rotate: int = 0) -> bytes:
    """A one-page letter with a few lines at the top; ``rotate`` sets the page's /Rotate."""
    out = io.BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=True)
    canvas.setFont("Helvetica", 12)
    for n in range(6):
        canvas.drawString(30 * mm, A4[1] - (45 + 8 * n) * mm, f"Line {n} of a short letter.")
    canvas.showPage()
    canvas.save()
    if not rotate:
        return out.getvalue()
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(out.getvalue())))
    writer.pages[0].rotate(rotate)
    rotated = io.BytesIO()
    writer.write(rotated)
    return rotated.getvalue()


# --- the seed's letter -----------------------------------------------------------------------


def test_seed_notes_come_from_routing() -> None:
    clerk, deputy, decision = seed_notes()
    assert list(clerk.lines) == [
        "เรียน ผู้อำนวยการ",
        SUMMARY,
        "/ เพื่อโปรดทราบ",
        "/ เพื่อโปรดพิจารณา",
        f"/ เห็นควรแจ้ง/มอบ.....{PEOPLE}",
        "นางสาวอัญชลี ธรรมศรีใจ",
        "หัวหน้างานบริหารงานทั่วไป",
        "20 เม.ย. 69",
    ]
    # The signature block (set centred) is guessed from the lines.
    assert clerk.signature_start == 5
    assert deputy.signature_start == 1
    assert decision.signature_start == 1
    summary_only = NoteBlock(["เรียน ผู้อำนวยการ", SUMMARY, "สมชาย ใจดี", "ครู", "20 เม.ย. 69"])
    assert summary_only.signature_start == 2
    assert NoteBlock(["ทราบ"]).signature_start == 1
    assert NoteBlock(["เรียน ผอ.", "ข้อความ", "ก", "ข"], signature=1).signature_start == 3


def test_pages_are_kept_and_readable(letter_pdf: bytes, annotated: bytes) -> None:
    assert _page_count(annotated) == _page_count(letter_pdf) == 2
    for extractor in EXTRACTORS:
        before = page_texts(letter_pdf, extractor)
        after = page_texts(annotated, extractor)
        for old, new in zip(before, after, strict=True):
            # The letter's own text layer comes through untouched, the additions after it.
            assert squash(new).startswith(squash(old))
    for index in range(2):
        assert render_page(annotated, index).size[0] > 0


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_stamp_text_is_exact(annotated: bytes, extractor: str) -> None:
    lines = _lines(page_texts(annotated, extractor)[0])
    for line in STAMP_LINES:
        assert line in lines, (extractor, line, lines[-6:])


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_every_note_line_is_exact_on_the_last_page(annotated: bytes, extractor: str) -> None:
    text = page_texts(annotated, extractor)[-1]
    extracted = _lines(text)
    note_text = squash("".join(line for note in seed_notes() for line in note.lines))
    assert note_text in squash(text)  # all of it, in order
    for note in seed_notes():
        for line in note.lines:
            assert _pieces_of(line, extracted), (extractor, line)


def test_stamp_sits_in_the_top_right_corner(letter_pdf: bytes, annotated: bytes) -> None:
    added = _added_chars(letter_pdf, annotated, 0)
    assert squash("".join(c["text"] for c in added)) == squash("".join(STAMP_LINES))
    shapes = _added_shapes(letter_pdf, annotated, 0)
    assert shapes  # the frame, the rule under the name, the dotted lines
    with pdfplumber.open(io.BytesIO(annotated)) as doc:
        width = float(doc.pages[0].width)
    for obj in [*added, *shapes]:
        assert obj["x0"] >= width - 70 * mm - 0.01, obj.get("text")
        assert obj["x1"] <= width
        assert obj["top"] >= 0
        assert obj["bottom"] <= 35 * mm, obj.get("text")
    # Clear of the letter's own text.
    for char in _chars(letter_pdf, 0):
        assert not any(_overlaps(char, a) for a in added), char["text"]


def test_notes_keep_off_the_letters_ink(letter_pdf: bytes, annotated: bytes) -> None:
    added = _added_chars(letter_pdf, annotated, 1)
    assert squash("".join(c["text"] for c in added)) == squash(
        "".join(line for note in seed_notes() for line in note.lines)
    )
    own = _chars(letter_pdf, 1)
    for note_char in added:
        clash = [c["text"] for c in own if _overlaps(c, note_char, gap=2.0)]
        assert not clash, (note_char["text"], clash)
    # Below the letter's last line, within the page's edges.
    last_bottom = max(c["bottom"] for c in own)
    with pdfplumber.open(io.BytesIO(annotated)) as doc:
        width, height = float(doc.pages[1].width), float(doc.pages[1].height)
    assert min(c["top"] for c in added) > last_bottom
    assert all(10 * mm <= c["x0"] and c["x1"] <= width - 10 * mm for c in added)
    assert max(c["bottom"] for c in added) <= height - 10 * mm


def test_notes_are_written_in_pen_blue(letter_pdf: bytes, annotated: bytes) -> None:
    colours = {tuple(c["non_stroking_color"]) for c in _added_chars(letter_pdf, annotated, 1)}
    assert len(colours) == 1
    red, green, blue = colours.pop()
    assert blue > 0.4 > red and green < 0.3


# --- overflow and other PDFs -----------------------------------------------------------------


@pytest.fixture(scope="module")
def overflowing(letter_pdf: bytes) -> bytes:
    return annotate(letter_pdf, STAMP, long_notes(8), subject="การติดตามการดำเนินงาน")


def test_overflow_goes_to_a_note_sheet(letter_pdf: bytes, overflowing: bytes) -> None:
    assert _page_count(overflowing) == _page_count(letter_pdf) + 1
    last_page_chars = _added_chars(letter_pdf, overflowing, 1)
    assert last_page_chars, "the notes that fit stay on the letter"
    with pdfplumber.open(io.BytesIO(overflowing)) as doc:
        sheet = doc.pages[2]
        assert (round(float(sheet.width)), round(float(sheet.height))) == (595, 842)


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_overflow_loses_nothing_and_keeps_the_order(overflowing: bytes, extractor: str) -> None:
    texts = page_texts(overflowing, extractor)
    on_letter, on_sheet = squash(texts[1]), squash(texts[2])
    sheet_lines = _lines(texts[2])
    assert sheet_lines[0] == SHEET_TITLE
    assert "เรื่อง การติดตามการดำเนินงาน" in sheet_lines
    assert "เลขรับ 1234 วันที่ 20 เม.ย. 2569 เวลา 10.35 น." in sheet_lines
    notes = long_notes(8)
    where = []
    for note in notes:
        whole = squash("".join(note.lines))
        found = [
            name for name, text in (("letter", on_letter), ("sheet", on_sheet)) if whole in text
        ]
        assert len(found) == 1, (note.lines[5], found)
        where.append(found[0])
        if found == ["sheet"]:
            for line in note.lines:
                assert _pieces_of(line, sheet_lines), (extractor, line)
    # Whole notes in order: the first ones on the letter, the rest on the sheet.
    assert where == sorted(where)
    assert "letter" in where and "sheet" in where
    positions = [
        on_sheet.find(squash("".join(n.lines)))
        for n, w in zip(notes, where, strict=True)
        if w == "sheet"
    ]
    assert positions == sorted(positions)


def test_a_full_uploaded_page_gets_its_notes_on_a_sheet() -> None:
    uploaded = full_page_pdf()
    out = annotate(uploaded, STAMP, seed_notes())
    assert _page_count(out) == 2
    assert [c["text"] for c in _added_chars(uploaded, out, 0)]  # the stamp, and nothing else
    assert squash("".join(c["text"] for c in _added_chars(uploaded, out, 0))) == squash(
        "".join(STAMP_LINES)
    )
    for extractor in EXTRACTORS:
        sheet = page_texts(out, extractor)[1]
        for note in seed_notes():
            for line in note.lines:
                assert _pieces_of(line, _lines(sheet)), (extractor, line)


def test_a_one_page_letter_takes_stamp_and_notes_apart() -> None:
    letter = short_page_pdf()
    out = annotate(letter, STAMP, seed_notes())
    assert _page_count(out) == 1
    added = _added_chars(letter, out, 0)
    stamp_chars = [c for c in added if c["top"] < 35 * mm]
    note_chars = [c for c in added if c["top"] >= 35 * mm]
    assert squash("".join(c["text"] for c in stamp_chars)) == squash("".join(STAMP_LINES))
    assert squash("".join(c["text"] for c in note_chars)) == squash(
        "".join(line for note in seed_notes() for line in note.lines)
    )
    own = _chars(letter, 0)
    stamp_bottom = max(c["bottom"] for c in stamp_chars)
    assert min(c["top"] for c in note_chars) > max(max(c["bottom"] for c in own), stamp_bottom)


def _render_rgb(pdf: bytes, index: int = 0) -> Image.Image:
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return doc[index].render(scale=50 / 72).to_pil().convert("RGB")
    finally:
        doc.close()


def _red_share(image: Image.Image) -> float:
    """The share of the stamp's red among the pixels."""
    r, g, b = image.convert("RGB").split()
    red = ImageChops.multiply(
        ImageChops.multiply(
            r.point(lambda v: 255 if v > 150 else 0), g.point(lambda v: 255 if v < 110 else 0)
        ),
        b.point(lambda v: 255 if v < 110 else 0),
    )
    return red.histogram()[255] / (image.width * image.height)


def test_a_rotated_page_is_stamped_at_its_visible_top_right() -> None:
    out = annotate(short_page_pdf(rotate=90), STAMP, seed_notes())
    image = _render_rgb(out)
    w, h = image.size
    assert w > h  # shown landscape, as the uploaded page was
    corner = image.crop((w - round(70 * 50 / 25.4), 0, w, round(35 * 50 / 25.4)))
    elsewhere = image.crop((0, round(35 * 50 / 25.4), w, h))
    assert _red_share(corner) > 0.02
    assert _red_share(elsewhere) == 0
    for extractor in EXTRACTORS:
        assert squash("".join(STAMP_LINES)) in squash(page_texts(out, extractor)[0])


def test_a_note_taller_than_a_sheet_column_is_split_not_lost() -> None:
    lines = [
        "เรียน ผู้อำนวยการ",
        *(f"/ ข้อเสนอที่ {n} ให้ดำเนินการตามระเบียบ" for n in range(1, 91)),
        "นายผู้บันทึก ยาวมาก",
        "ครู",
        "20 เม.ย. 69",
    ]
    uploaded = full_page_pdf()
    out = annotate(uploaded, STAMP, [NoteBlock(lines), *seed_notes()])
    assert _page_count(out) == 3  # the page, the long note over two columns, the rest
    for extractor in EXTRACTORS:
        sheets = "".join(page_texts(out, extractor)[1:])
        every = [line for note in [NoteBlock(lines), *seed_notes()] for line in note.lines]
        assert squash("".join(every)) in squash(sheets).replace(
            squash(SHEET_TITLE + "(ต่อ)") + squash("เลขรับ 1234 วันที่ 20 เม.ย. 2569 เวลา 10.35 น."),
            "",
        )


def test_a_cropped_page_is_stamped_at_its_visible_corner() -> None:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(short_page_pdf())))
    writer.pages[0].cropbox = pypdf.generic.RectangleObject([40, 60, 520, 800])
    cropped = io.BytesIO()
    writer.write(cropped)
    out = annotate(cropped.getvalue(), STAMP, seed_notes())
    image = _render_rgb(out)  # pdfium shows the crop box
    w, h = image.size
    corner = (w - round(70 * 50 / 25.4), 0, w, round(35 * 50 / 25.4))
    assert _red_share(image.crop(corner)) > 0.02
    assert _red_share(image.crop((0, corner[3], w, h))) == 0
    # pdfplumber measures from the media box: the stamp ends some 45 mm down, the notes start
    # under the letter's lines (85 mm).
    note_chars = [c for c in _added_chars(cropped.getvalue(), out, 0) if c["top"] > 60 * mm]
    assert squash("".join(c["text"] for c in note_chars)) == squash(
        "".join(line for note in seed_notes() for line in note.lines)
    )
    # Within the visible box, not merely the page.
    assert all(c["x0"] > 40 and c["x1"] < 520 for c in note_chars)


# --- the stamp's values ----------------------------------------------------------------------


def test_stamp_in_thai_digits_and_thai_time(letter_pdf: bytes) -> None:
    stamp = ReceiptStamp(
        COLLEGE, "1234", datetime(2026, 4, 20, 3, 35, tzinfo=UTC), thai_digits=True
    )
    assert stamp.fields() == [
        ("เลขรับ", "๑๒๓๔"),
        ("วันที่", "๒๐ เม.ย. ๒๕๖๙"),
        ("เวลา", "๑๐.๓๕ น."),
    ]
    out = annotate(letter_pdf, stamp, [])
    assert _page_count(out) == 2
    lines = _lines(page_texts(out, "pdfplumber")[0])
    assert "เลขรับ ๑๒๓๔" in lines and "เวลา ๑๐.๓๕ น." in lines


def test_a_long_agency_name_wraps_inside_the_stamp(letter_pdf: bytes) -> None:
    name = "วิทยาลัยเทคโนโลยีและการจัดการอุตสาหกรรมเกษตรและอาหารแห่งประเทศไทยจังหวัดนครศรีธรรมราช"
    out = annotate(letter_pdf, ReceiptStamp(name, "99", RECEIVED), [])
    added = _added_chars(letter_pdf, out, 0)
    assert squash(name) in squash("".join(c["text"] for c in added))
    with pdfplumber.open(io.BytesIO(out)) as doc:
        frame = [c for c in doc.pages[0].curves if c["x1"] - c["x0"] > 50 * mm]
    assert frame
    for char in added:
        assert frame[0]["x0"] < char["x0"] and char["x1"] < frame[0]["x1"]
        assert frame[0]["top"] < char["top"] and char["bottom"] < frame[0]["bottom"]


# --- refusals --------------------------------------------------------------------------------


def test_bad_input_is_refused_with_a_reason() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        ReceiptStamp(COLLEGE, "1", datetime(2026, 4, 20, 10, 35))
    with pytest.raises(ValueError, match="agency"):
        ReceiptStamp("  ", "1", RECEIVED)
    with pytest.raises(ValueError, match="empty lines"):
        NoteBlock(["เรียน ผู้อำนวยการ", " "])
    with pytest.raises(TypeError):
        NoteBlock("เรียน ผู้อำนวยการ")
    with pytest.raises(ValueError, match="readable PDF"):
        annotate(b"not a pdf", STAMP, [])


# --- a corrected note ------------------------------------------------------------------------

AMENDED = "(แก้ไขโดยบันทึกถัดไป)"
CORRECTION = "บันทึกฉบับแก้ไข"


def corrected_notes() -> list[NoteBlock]:
    """The clerk's note struck through and marked, its correction right after it, then the
    rest: as saraban.services.annotated_letter.note_blocks gives them."""
    clerk, deputy, decision = seed_notes()
    fixed = Note(
        id="n4",
        to_position="ผู้อำนวยการ",
        summary="ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของสถานศึกษา มาเพื่อ",
        proposals=(Proposal(TO_KNOW), Proposal(SUGGEST_ASSIGN, "หน.งานวางแผนฯ")),
        amends="n1",
        signature=_signature(1, "นางสาวอัญชลี ธรรมศรีใจ", "หัวหน้างานบริหารงานทั่วไป", 15),
    )
    return [
        replace(clerk, label=AMENDED, struck=True),
        NoteBlock(note_lines(fixed), label=CORRECTION),
        deputy,
        decision,
    ]


@pytest.fixture(scope="module")
def corrected(letter_pdf: bytes) -> bytes:
    return annotate(letter_pdf, STAMP, corrected_notes())


@pytest.mark.parametrize("extractor", EXTRACTORS)
def test_a_corrected_note_reads_back_with_its_marks(corrected: bytes, extractor: str) -> None:
    """The marks are text like the notes: each label on a line of its own, exact, before its
    note; the struck note's text untouched by the strike."""
    text = "".join(page_texts(corrected, extractor)[1:])
    extracted = _lines(text)
    notes = corrected_notes()
    assert AMENDED in extracted and CORRECTION in extracted, (extractor, extracted[-30:])
    for note in notes:
        for line in note.lines:
            assert _pieces_of(line, extracted), (extractor, line)
    printed = [line for note in notes for line in [note.label, *note.lines] if line]
    assert words_in_order(printed, text) == []  # marks and notes, in the page's order
    # Each label directly above its note's first line.
    for note in notes[:2]:
        at = extracted.index(note.label)
        assert extracted[at + 1] == note.lines[0], (extractor, extracted[at : at + 2])


def test_the_corrected_note_is_struck_through_line_by_line(
    letter_pdf: bytes, corrected: bytes
) -> None:
    """One thin pen-blue stroke through the middle of each printed line of the corrected note,
    end to end; none through its mark, the correction or the other notes."""
    added = _added_chars(letter_pdf, corrected, 1)
    middle = float(pypdf.PdfReader(io.BytesIO(corrected)).pages[1].mediabox.width) / 2
    strikes = [s for s in _added_shapes(letter_pdf, corrected, 1) if s["object_type"] == "line"]
    assert strikes and all(abs(s["top"] - s["bottom"]) < 0.1 for s in strikes)  # horizontal
    rows: dict[tuple[float, bool], list[dict]] = {}  # printed lines, by baseline and column
    for char in added:
        rows.setdefault((round(char["bottom"], 1), char["x0"] < middle), []).append(char)
    struck = []
    for chars in rows.values():
        x0, x1 = min(c["x0"] for c in chars), max(c["x1"] for c in chars)
        top, bottom = min(c["top"] for c in chars), max(c["bottom"] for c in chars)
        through = [s for s in strikes if top < s["top"] < bottom and s["x0"] < x1 and x0 < s["x1"]]
        if through:
            (strike,) = through
            assert x0 - 3 <= strike["x0"] <= x0 + 1.5 and x1 - 1.5 <= strike["x1"] <= x1 + 3
            red, green, blue = strike["stroking_color"]
            assert blue > 0.4 > red and green < 0.3 and strike["linewidth"] < 0.6
            struck.append(squash("".join(c["text"] for c in chars)))  # in the order drawn
    assert len(struck) == len(strikes)  # every strike goes through a printed line
    note = squash("".join(corrected_notes()[0].lines))
    assert all(line in note for line in struck), struck
    assert sum(len(line) for line in struck) == len(note)  # all of the note, nothing more


def test_marked_notes_change_nothing_else(letter_pdf: bytes, annotated: bytes) -> None:
    """Without a label or strike a note prints as before: the seed's page is unchanged."""
    plain = annotate(letter_pdf, STAMP, [replace(n, label="", struck=False) for n in seed_notes()])
    assert plain == annotated
    assert not [s for s in _added_shapes(letter_pdf, annotated, 1) if s["object_type"] == "line"]
