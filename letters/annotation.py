"""The annotated letter (เกษียนหนังสือ): a received letter's PDF with the receipt stamp and the
routing notes written on it.

Pure: PDF bytes and plain data in, PDF bytes out. The original pages are kept as they are (their
text layer too); the stamp and the notes are drawn on overlays merged onto them, and notes that
do not fit are written on appended note sheets.

Layout rules:

- The receipt stamp (ตรารับหนังสือ) goes at the top right of page 1, about 6 mm from the top and
  right edges, 55 mm wide: the receiving agency's name, ``เลขรับ``, ``วันที่``, ``เวลา``. Among
  nearby positions it takes the one covering the least of the letter's ink.
- Notes go in the blank space at the foot of the last page, found from the page's pixels (so any
  PDF works, scanned or uploaded): the page is rendered at low resolution, its ink is grown by a
  clearance, and the text band (the letter's left and right ink edges) is split into columns of
  65-95 mm (two on A4, one on a narrow page). A column's space runs from below the lowest ink in
  it (gaps between paragraphs or the signature's space are never used) to the bottom margin, or
  to above a footer.
- Notes fill the columns in order, each column top-down, whole notes only; the columns start on
  one line when that fits as many notes, and are balanced (the seed's three notes: the clerk's
  at the left, the deputy's and the decision at the right). From the first note that does not
  fit, the rest go to A4 note sheets (``บันทึกเกษียนหนังสือ``) in two columns; only a note taller
  than a whole sheet column is cut, between lines, and continued in the next column.
- Within a note: ``เรียน ...`` flush left; the summary and ticked proposals indented (a ticked
  line's continuation hangs under its text); the signature (name, position, date) centred.
  Long lines break at Thai word boundaries.
- A note may carry a label above it (``บันทึกฉบับแก้ไข``, ``(แก้ไขโดยบันทึกถัดไป)``), set in
  bold, and may be struck through (a signed note corrected by a later one): a line through the
  middle of each printed line's consonants, drawn as a path, so the text layer keeps the note's
  exact text.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import pypdfium2
import uharfbuzz as hb
from PIL import Image, ImageFilter
from pypdf import PageObject, PdfReader, PdfWriter, Transformation
from pypdf.errors import PdfReadError
from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from letters.fonts import FontFamily, load_family
from letters.paragraph import TextStyle, placed_lines
from letters.pdfglyphs import draw_glyphs, pdf_canvas
from letters.provenance import Source, attach_source, drop_signature_fields, is_signed
from letters.shaping import Glyph, ShapingFont
from letters.thaitext import numerals
from saraban.domain.vocabulary import abbreviated_thai_date, thai_time

PEN_BLUE = Color(0.05, 0.15, 0.55)
STAMP_RED = Color(0.78, 0.1, 0.12)
RULE_GREY = Color(0.6, 0.6, 0.6)
STRIKE_WIDTH = 0.45  # points: thin enough to leave the struck Thai legible
SHEET_TITLE = "บันทึกเกษียนหนังสือ"

# Tick marks a proposal line may start with ("/ เพื่อโปรดทราบ", as saraban.routing prints them).
_TICKS = ("/", "-", "•", "☐", "☑", "☒", "✓", "✔")
_TITLES = ("(", "นาย", "นาง", "นางสาว", "ว่าที่", "ดร.", "ผศ.", "รศ.", "ศ.", "พล", "พ.", "ร.", "จ.")
_SHORT_DATE = re.compile(r"^[0-9๐-๙]{1,2}\s+\S+\s+[0-9๐-๙]{2,4}$")


# --- input -----------------------------------------------------------------------------------


def _clean(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


@dataclass(frozen=True)
class ReceiptStamp:
    """What the receiving office stamps on a letter: who received it, the receipt number, when."""

    agency: str
    number: str
    received_at: datetime  # timezone-aware
    thai_digits: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "agency", _clean(self.agency))
        object.__setattr__(self, "number", _clean(self.number))
        if not self.agency:
            raise ValueError("receipt stamp: agency must not be empty")
        if not self.number:
            raise ValueError("receipt stamp: number must not be empty")
        at = self.received_at
        if not isinstance(at, datetime) or at.tzinfo is None or at.utcoffset() is None:
            raise ValueError("receipt stamp: received_at must be a timezone-aware datetime")

    @property
    def date_text(self) -> str:
        """``20 เม.ย. 2569``: the day in Thailand, short month, Buddhist-era year."""
        return abbreviated_thai_date(self.received_at, thai=self.thai_digits)

    @property
    def time_text(self) -> str:
        """``10.35 น.``"""
        return numerals(thai_time(self.received_at), self.thai_digits)

    @property
    def number_text(self) -> str:
        return numerals(self.number, self.thai_digits)

    def fields(self) -> list[tuple[str, str]]:
        return [("เลขรับ", self.number_text), ("วันที่", self.date_text), ("เวลา", self.time_text)]


@dataclass(frozen=True)
class NoteBlock:
    """One routing note as printed lines (``saraban.routing.note_lines`` / ``decision_lines``).

    ``signature``: how many trailing lines are the signature block (name, position, date), set
    centred; ``None`` guesses it from the lines. ``label``: a line set above the note, not part
    of it (``บันทึกฉบับแก้ไข``); ``struck``: the note's lines struck through (a signed note that
    a later one corrects; the label stays clear).
    """

    lines: Sequence[str]
    signature: int | None = None
    label: str = ""
    struck: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.lines, str):
            raise TypeError("note: lines must be a sequence of lines, not one string")
        object.__setattr__(self, "label", _clean(self.label))
        lines = tuple(_clean(line) for line in self.lines)
        if not lines or not all(lines):
            raise ValueError("note: needs at least one line, and no empty lines")
        object.__setattr__(self, "lines", lines)
        if self.signature is not None and not 0 <= self.signature <= len(lines):
            raise ValueError(f"note: signature must be 0 to {len(lines)} lines")

    @property
    def signature_start(self) -> int:
        if self.signature is not None:
            return len(self.lines) - self.signature
        return _guess_signature_start(self.lines)


def _is_tick(line: str) -> bool:
    return line.startswith(_TICKS)


def _guess_signature_start(lines: Sequence[str]) -> int:
    """The signature follows the last เรียน or ticked line: at most four lines (name, position,
    post acted for, date), starting at a name (a title or a parenthesis); else the last three
    when the last is a short date; else none."""
    after = 0
    for i, line in enumerate(lines):
        if _is_tick(line) or (i == 0 and line.startswith("เรียน")):
            after = i + 1
    window = range(max(after, len(lines) - 4), len(lines))
    for i in window:
        if lines[i].startswith(_TITLES):
            return i
    if _SHORT_DATE.match(lines[-1]):
        return max(after, len(lines) - 3)
    return len(lines)


@dataclass(frozen=True)
class AnnotationLayout:
    """Measures in points (nominal TH SarabunPSK sizes for text)."""

    dpi: float = 50.0  # for finding blank space
    ink_contrast: int = 40  # darker than the paper by this much (0-255) is ink
    clearance: float = 4 * mm  # kept between the letter's ink and anything drawn
    edge: float = 12 * mm  # nothing closer to the page's edges
    footer_band: float = 18 * mm  # ink this close to the bottom is a footer (page number)
    gutter: float = 8 * mm
    min_column: float = 65 * mm
    max_column: float = 95 * mm
    note_gap: float = 5 * mm  # between notes in a column
    note_size: float = 14.0
    note_leading: float = 17.5
    note_indent: float = 8 * mm
    stamp_width: float = 55 * mm
    stamp_min_height: float = 25 * mm
    stamp_offset: float = 6 * mm  # from the top and right edges
    stamp_pad: float = 3 * mm
    stamp_title_size: float = 14.0
    stamp_size: float = 13.0
    stamp_leading: float = 14.5
    sheet_margin: float = 20 * mm
    sheet_title_size: float = 20.0
    sheet_size: float = 16.0
    sheet_leading: float = 20.0


# --- shaped lines ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """One printed line: ``x`` from the block's left; ``drop`` (the baseline) and the line's
    ``top`` and ``bottom`` below the block's top; ``struck``: a line drawn through it."""

    font: ShapingFont
    size: float
    x: float
    drop: float
    glyphs: tuple[Glyph, ...]
    top: float = 0.0
    bottom: float = 0.0
    struck: bool = False

    @property
    def width(self) -> float:
        return sum(g.advance for g in self.glyphs) * self.size / 1000.0

    def moved(self, down: float) -> _Run:
        return replace(self, drop=self.drop + down, top=self.top + down, bottom=self.bottom + down)


@dataclass(frozen=True)
class _Block:
    runs: tuple[_Run, ...]
    height: float


def _paragraph(text: str, style: TextStyle, width: float, top: float) -> tuple[list[_Run], float]:
    lines, height = placed_lines(text, style, width)
    runs = [
        _Run(
            style.font,
            style.size,
            x,
            top + height - y,
            glyphs,
            top + n * style.leading,
            top + (n + 1) * style.leading,
        )
        for n, (x, y, glyphs) in enumerate(lines)
    ]
    return runs, height


def _note_style(
    index: int, text: str, signature_start: int, base: TextStyle, indent: float
) -> TextStyle:
    if index >= signature_start:
        return base.but(align="center")
    if index == 0 and text.startswith("เรียน"):
        return base
    if _is_tick(text):
        tick = text.split(" ", 1)[0] + " "
        hang = indent + base.font.shape(tick).points(base.size)
        return base.but(first_indent=indent, rest_indent=hang)
    return base.but(first_indent=indent)


def _note_block(
    note: NoteBlock, family: FontFamily, width: float, layout: AnnotationLayout
) -> _Block:
    base = TextStyle(
        font=family.regular, size=family.size(layout.note_size), leading=layout.note_leading
    )
    start = note.signature_start
    runs: list[_Run] = []
    top = 0.0
    if note.label:
        runs, top = _paragraph(note.label, base.but(font=family.bold), width, top)
        top += layout.note_leading * 0.15
    for i, text in enumerate(note.lines):
        if i == start and i > 0:
            top += layout.note_leading * 0.35  # a little air where the signature would be
        style = _note_style(i, text, start, base, layout.note_indent)
        line_runs, height = _paragraph(text, style, width, top)
        runs += [replace(r, struck=note.struck) for r in line_runs]
        top += height
    return _Block(tuple(runs), top)


def _split_block(block: _Block, height: float) -> tuple[_Block, _Block]:
    """A block too tall for a whole column, cut between lines: the lines that fit (one at
    least), and the rest."""
    count = max(1, sum(1 for r in block.runs if r.bottom <= height))
    head, tail = block.runs[:count], block.runs[count:]
    cut = tail[0].top if tail else block.height
    return _Block(head, head[-1].bottom), _Block(
        tuple(r.moved(-cut) for r in tail), block.height - cut
    )


@lru_cache(maxsize=8)
def _body_height(font_path: Path) -> float:
    """How tall the font's consonants stand (``ก``), in ems: a strike goes through their middle
    whichever family is set."""
    face = hb.Face(hb.Blob(font_path.read_bytes()))
    font = hb.Font(face)
    extents = font.get_glyph_extents(font.get_nominal_glyph(ord("ก")) or 0)
    return (extents.y_bearing / face.upem) if extents else 0.5


def _draw_block(canvas: Canvas, block: _Block, x: float, top: float, page_h: float) -> None:
    for run in block.runs:
        baseline = page_h - top - run.drop
        draw_glyphs(canvas, run.font, run.size, x + run.x, baseline, run.glyphs)
        if run.struck:
            rise = run.size * _body_height(run.font.path) * 0.5
            canvas.saveState()
            canvas.setStrokeColor(PEN_BLUE)
            canvas.setLineWidth(STRIKE_WIDTH)
            canvas.line(x + run.x - 1, baseline + rise, x + run.x + run.width + 1, baseline + rise)
            canvas.restoreState()


# --- blank space -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Page:
    """A page's ink at low resolution: ``ink`` as rendered, ``blocked`` grown by the clearance
    (255 = ink). Pixel ``(x, y)`` counts from the top left; ``scale`` is pixels per point."""

    width: float
    height: float
    scale: float
    ink: Image.Image
    blocked: Image.Image
    reach: int  # the clearance in pixels

    def px(self, points: float) -> int:
        return round(points * self.scale)


def _ink_mask(gray: Image.Image, contrast: int) -> Image.Image:
    """Pixels darker than the paper (the commonest light shade, so grey scans work too)."""
    histogram = gray.histogram()
    paper = max(range(128, 256), key=lambda v: histogram[v])
    cut = max(paper - contrast, 1)
    return gray.point(lambda v: 255 if v < cut else 0)


def _scan_page(doc: pypdfium2.PdfDocument, index: int, layout: AnnotationLayout) -> _Page:
    page = doc[index]
    width, height = page.get_size()
    scale = layout.dpi / 72.0
    gray = page.render(scale=scale).to_pil().convert("L")
    ink = _ink_mask(gray, layout.ink_contrast)
    reach = max(1, round(layout.clearance * scale))
    blocked = ink.filter(ImageFilter.MaxFilter(2 * reach + 1))
    return _Page(width, height, gray.width / width, ink, blocked, reach)


@dataclass(frozen=True)
class _Column:
    x: float
    width: float
    top: float  # from the page's top edge
    bottom: float


def _band(page: _Page, layout: AnnotationLayout) -> tuple[float, float]:
    """The x range the notes use: the letter's own text band, or the page within its edges
    when that is too narrow for two columns."""
    low, high = layout.edge, page.width - layout.edge
    box = page.ink.getbbox()
    if box:
        left, right = max(low, box[0] / page.scale), min(high, box[2] / page.scale)
        if right - left >= 2 * layout.min_column + layout.gutter:
            return left, right
    return low, high


def _columns(page: _Page, layout: AnnotationLayout) -> list[_Column]:
    """As many columns as the band holds at ``min_column`` (up to three), none wider than
    ``max_column``: a note over the whole width of a page reads as part of the letter."""
    left, right = _band(page, layout)
    fit = int((right - left + layout.gutter) // (layout.min_column + layout.gutter))
    count = min(max(fit, 1), 3)
    width = min((right - left - (count - 1) * layout.gutter) / count, layout.max_column)
    return [
        _column_space(page, left + n * (width + layout.gutter), width, layout) for n in range(count)
    ]


def _column_space(page: _Page, x: float, width: float, layout: AnnotationLayout) -> _Column:
    """From below the lowest ink in the column's x range down to the bottom margin, or to
    above any ink in the footer band (a page number, a printed footer)."""
    x0, x1 = page.px(x), page.px(x + width)
    floor = page.px(page.height - layout.edge)
    band_top = page.px(page.height - layout.footer_band)
    footer = page.ink.crop((x0, band_top, x1, page.ink.height)).getbbox()
    if footer:
        floor = min(floor, band_top + footer[1] - page.reach - 1)
    above = page.blocked.crop((x0, 0, x1, max(floor, 1))).getbbox()
    # One pixel kept on either side for rounding.
    top = max((above[3] + 1) / page.scale if above else 0.0, layout.edge)
    bottom = (floor - 1) / page.scale
    return _Column(x, width, top, max(top, bottom))


_Placed = list[tuple[_Block, float, float]]  # a block, its left x and its top


def _stack(blocks: Sequence[_Block], column: _Column, gap: float) -> _Placed:
    placed: _Placed = []
    cursor = column.top
    for block in blocks:
        placed.append((block, column.x, cursor))
        cursor += block.height + gap
    return placed


def _fits(blocks: Sequence[_Block], column: _Column, gap: float) -> bool:
    height = sum(b.height for b in blocks) + gap * max(len(blocks) - 1, 0)
    return column.top + height <= column.bottom


def _splits(blocks: Sequence[_Block], columns: Sequence[_Column], gap: float) -> Iterator[_Placed]:
    """Every way to put all ``blocks``, in order, into the columns; fuller first columns first."""
    if not columns:
        if not blocks:
            yield []
        return
    for n in range(len(blocks), -1, -1):
        if _fits(blocks[:n], columns[0], gap):
            head = _stack(blocks[:n], columns[0], gap)
            for tail in _splits(blocks[n:], columns[1:], gap):
                yield head + tail


def _fill(blocks: Sequence[_Block], columns: Sequence[_Column], gap: float) -> _Placed:
    """As many whole blocks as fit, in order, each column top-down; of the ways to place that
    many, the one whose lowest block ends highest (balanced columns)."""
    count = 0
    for column in columns:
        while count < len(blocks) and _fits(blocks[count : count + 1], column, gap):
            column = replace(column, top=column.top + blocks[count].height + gap)
            count += 1
    if not count:
        return []
    return min(
        _splits(blocks[:count], columns, gap),
        key=lambda placed: max(top + block.height for block, _, top in placed),
    )


def _arrange(blocks: Sequence[_Block], columns: Sequence[_Column], gap: float) -> _Placed:
    """Columns starting on one line when that fits as many notes: tidier than ragged tops."""
    level = max(c.top for c in columns)
    aligned = [replace(c, top=level) for c in columns]
    tidy, ragged = _fill(blocks, aligned, gap), _fill(blocks, columns, gap)
    return tidy if len(tidy) >= len(ragged) else ragged


# --- the receipt stamp -----------------------------------------------------------------------


@dataclass(frozen=True)
class _StampDesign:
    width: float
    height: float
    title: tuple[_Run, ...]
    rule_drop: float  # the rule under the agency's name, below the stamp's top
    fields: tuple[tuple[_Run, _Run], ...]  # label and value on one baseline
    value_x: float  # where the values and their dotted lines start


def _stamp_title(
    agency: str, family: FontFamily, lay: AnnotationLayout, top: float
) -> tuple[list[_Run], float]:
    """The agency's name, centred; a long name a little smaller if that keeps it to two lines
    (the stamp grows downwards, towards the letter's address)."""
    inner = lay.stamp_width - 2 * lay.stamp_pad
    tries = []
    for shrink in (0.0, 1.0, 2.0):
        style = TextStyle(
            font=family.bold,
            size=family.size(lay.stamp_title_size - shrink),
            leading=lay.stamp_leading - shrink,
            align="center",
        )
        runs, height = _paragraph(agency, style, inner, top)
        tries.append(([replace(r, x=r.x + lay.stamp_pad) for r in runs], height))
    return next((t for t in tries if len(t[0]) <= 2), tries[0])


def _stamp_design(stamp: ReceiptStamp, family: FontFamily, lay: AnnotationLayout) -> _StampDesign:
    title_top = lay.stamp_pad * 0.7
    title, title_height = _stamp_title(stamp.agency, family, lay, title_top)
    rule_drop = title_top + title_height + 1.5
    font, size = family.regular, family.size(lay.stamp_size)
    label_width = max(font.shape(label).points(size) for label, _ in stamp.fields())
    value_x = lay.stamp_pad + label_width + font.shape("  ").points(size)
    fields: list[tuple[_Run, _Run]] = []
    baseline = rule_drop + lay.stamp_leading * 0.78
    for label, value in stamp.fields():
        baseline += lay.stamp_leading if fields else 0.0
        # The label keeps its space glyph: extractors read "เลขรับ 1234" with one space.
        fields.append(
            (
                _Run(font, size, lay.stamp_pad, baseline, font.shape(label + " ").glyphs),
                _Run(font, size, value_x + 1.5, baseline, font.shape(value).glyphs),
            )
        )
    height = max(lay.stamp_min_height, baseline + lay.stamp_pad * 0.9)
    return _StampDesign(lay.stamp_width, height, tuple(title), rule_drop, tuple(fields), value_x)


def _stamp_place(page: _Page, design: _StampDesign, lay: AnnotationLayout) -> tuple[float, float]:
    """(x, top) of the stamp near the top-right corner, over as little ink as may be."""
    offsets = [(d, r) for d in range(0, 7) for r in range(0, 9)]
    offsets.sort(key=lambda o: (o[0] ** 2 + o[1] ** 2, o))

    def ink_under(x: float, top: float) -> int:
        pad = page.reach // 2
        box = (
            page.px(x) - pad,
            page.px(top) - pad,
            page.px(x + design.width) + pad,
            page.px(top + design.height) + pad,
        )
        return sum(page.ink.crop(box).histogram()[1:])

    places = [
        (page.width - lay.stamp_offset - r * mm - design.width, lay.stamp_offset + d * mm)
        for d, r in offsets
    ]
    return min(places, key=lambda p: ink_under(*p))


def _draw_stamp(canvas: Canvas, design: _StampDesign, x: float, top: float, page_h: float) -> None:
    y = page_h - top - design.height
    canvas.saveState()
    canvas.setStrokeColor(STAMP_RED)
    canvas.setFillColor(STAMP_RED)
    canvas.setLineWidth(1.1)
    canvas.roundRect(x, y, design.width, design.height, 2 * mm, stroke=1, fill=0)
    rule_y = page_h - top - design.rule_drop
    canvas.setLineWidth(0.6)
    canvas.line(x + 1.5 * mm, rule_y, x + design.width - 1.5 * mm, rule_y)
    for run in design.title:
        draw_glyphs(canvas, run.font, run.size, x + run.x, page_h - top - run.drop, run.glyphs)
    canvas.setDash(0.6, 1.6)
    canvas.setLineWidth(0.5)
    for label, value in design.fields:
        baseline = page_h - top - label.drop
        canvas.line(x + design.value_x, baseline - 1.2, x + design.width - 2.5 * mm, baseline - 1.2)
        canvas.setFillColor(STAMP_RED)
        draw_glyphs(canvas, label.font, label.size, x + label.x, baseline, label.glyphs)
        # The values are written in by hand, in pen.
        canvas.setFillColor(PEN_BLUE)
        draw_glyphs(canvas, value.font, value.size, x + value.x, baseline, value.glyphs)
    canvas.restoreState()


# --- note sheets -----------------------------------------------------------------------------


def _sheet_heading(
    stamp: ReceiptStamp,
    subject: str,
    family: FontFamily,
    lay: AnnotationLayout,
    more: bool,
    source: Sequence[str] = (),
) -> tuple[list[_Run], float]:
    width = A4[0] - 2 * lay.sheet_margin
    title = SHEET_TITLE + (" (ต่อ)" if more else "")
    title_style = TextStyle(
        font=family.bold,
        size=family.size(lay.sheet_title_size),
        leading=lay.sheet_leading * 1.3,
        align="center",
    )
    runs, top = _paragraph(title, title_style, width, 0.0)
    base = TextStyle(
        font=family.regular, size=family.size(lay.sheet_size), leading=lay.sheet_leading
    )
    lines = []
    if subject:
        lines.append(f"เรื่อง {numerals(_clean(subject), stamp.thai_digits)}")
    lines.append(f"เลขรับ {stamp.number_text} วันที่ {stamp.date_text} เวลา {stamp.time_text}")
    if not more:
        lines += source
    for line in lines:
        indent = base.font.shape(line.split(" ", 1)[0] + " ").points(base.size)
        line_runs, height = _paragraph(line, base.but(rest_indent=indent), width, top)
        runs += line_runs
        top += height
    return runs, top


def _sheet_head(
    canvas: Canvas,
    stamp: ReceiptStamp,
    subject: str,
    family: FontFamily,
    lay: AnnotationLayout,
    more: bool,
    source: Sequence[str] = (),
) -> list[_Column]:
    """A sheet's heading, the rule under it and the rule between the columns; the columns."""
    page_w, page_h = A4
    margin = lay.sheet_margin
    heading, height = _sheet_heading(stamp, subject, family, lay, more, source)
    canvas.setFillColor(black)
    _draw_block(canvas, _Block(tuple(heading), height), margin, margin, page_h)
    rule = margin + height + 3 * mm
    canvas.setStrokeColor(RULE_GREY)
    canvas.setLineWidth(0.6)
    canvas.line(margin, page_h - rule, page_w - margin, page_h - rule)
    width = (page_w - 2 * margin - lay.gutter) / 2
    middle = margin + width + lay.gutter / 2
    canvas.line(middle, page_h - rule - 3 * mm, middle, margin)
    return [
        _Column(margin + n * (width + lay.gutter), width, rule + 5 * mm, page_h - margin)
        for n in range(2)
    ]


def _cut_to_column(blocks: Sequence[_Block], column: _Column) -> list[_Block]:
    """Blocks taller than a whole column cut into pieces that fit, continued column to column."""
    height = column.bottom - column.top
    pieces: list[_Block] = []
    for block in blocks:
        while block.height > height and len(block.runs) > 1:
            head, block = _split_block(block, height)
            pieces.append(head)
        pieces.append(block)
    return pieces


def _sheet_pages(
    blocks: Sequence[_Block],
    stamp: ReceiptStamp,
    subject: str,
    family: FontFamily,
    lay: AnnotationLayout,
    source: Sequence[str] = (),
) -> bytes:
    out = io.BytesIO()
    canvas = pdf_canvas(out, family.regular, pagesize=A4, invariant=True, lang="th")
    canvas.setTitle(SHEET_TITLE)
    canvas.setCreator("saraban")
    remaining: list[_Block] = []
    more = False
    while remaining or not more:
        columns = _sheet_head(canvas, stamp, subject, family, lay, more, source)
        if not more:
            remaining = _cut_to_column(blocks, columns[0])
        # A single line taller than a column (a heading gone wild) still goes somewhere.
        placed = _fill(remaining, columns, lay.note_gap) or _stack(remaining[:1], columns[0], 0)
        canvas.setFillColor(PEN_BLUE)
        for block, x, top in placed:
            _draw_block(canvas, block, x, top, A4[1])
        del remaining[: len(placed)]
        canvas.showPage()
        more = True
    canvas.save()
    return out.getvalue()


# --- the annotated letter --------------------------------------------------------------------


def _merge_overlay(page: PageObject, draws: Sequence[Callable[[Canvas], None]]) -> None:
    """Draw on a canvas the size of the page's visible box and merge it on top of the page;
    the page's own content (and text layer) stays as it is, under it."""
    box = page.cropbox
    out = io.BytesIO()
    canvas = pdf_canvas(
        out, pagesize=(float(box.width), float(box.height)), invariant=True, lang="th"
    )
    for draw in draws:
        draw(canvas)
    canvas.showPage()
    canvas.save()
    overlay = PdfReader(io.BytesIO(out.getvalue())).pages[0]
    page.merge_transformed_page(
        overlay, Transformation().translate(float(box.left), float(box.bottom))
    )


def _read(letter_pdf: bytes) -> PdfWriter:
    """The letter as a writable copy whose pages are upright (rotation moved into content)."""
    try:
        reader = PdfReader(io.BytesIO(letter_pdf))
        if reader.is_encrypted:
            raise ValueError("the letter's PDF is encrypted; decrypt it before annotating")
        writer = PdfWriter(clone_from=reader)
    except PdfReadError as exc:
        raise ValueError(f"not a readable PDF: {exc}") from None
    if not writer.pages:
        raise ValueError("the letter's PDF has no pages")
    for page in writer.pages:
        if page.rotation % 360:
            page.transfer_rotation_to_content()
    return writer


def _to_bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def annotate(
    letter_pdf: bytes,
    stamp: ReceiptStamp,
    notes: Sequence[NoteBlock],
    *,
    family: FontFamily | None = None,
    subject: str = "",
    layout: AnnotationLayout | None = None,
    source: Source | None = None,
) -> bytes:
    """The letter with the receipt stamp on page 1 and the notes on its last page's blank
    space, in order; notes that do not fit go to appended note sheets (headed with ``subject``
    and the receipt number).

    ``source`` is the received file the letter comes from (default: ``letter_pdf`` itself, a
    signed one attached). The result is a new document, never the signed original changed:
    signature fields copied with the pages are dropped, the metadata states the source's
    sha256, and a digitally signed source is attached byte for byte (letters.provenance), with
    a note sheet that says so (``ทำจากต้นฉบับ sha256 ...``) even when every note fits on the
    letter."""
    family = family or load_family()
    lay = layout or AnnotationLayout()
    if source is None:
        source = Source(letter_pdf, signed=is_signed(letter_pdf))
    writer = _read(letter_pdf)
    drop_signature_fields(writer)
    doc = pypdfium2.PdfDocument(_to_bytes(writer))
    try:
        first = _scan_page(doc, 0, lay)
        last_index = len(doc) - 1
        last = first if last_index == 0 else _scan_page(doc, last_index, lay)
    finally:
        doc.close()

    design = _stamp_design(stamp, family, lay)
    stamp_x, stamp_top = _stamp_place(first, design, lay)
    overlays: dict[int, list[Callable[[Canvas], None]]] = {
        0: [lambda c: _draw_stamp(c, design, stamp_x, stamp_top, first.height)]
    }
    if last_index == 0:
        _block_out(last, stamp_x, stamp_top, design)

    columns = _columns(last, lay)
    blocks = [_note_block(n, family, columns[0].width, lay) for n in notes]
    placed = _arrange(blocks, columns, lay.note_gap)
    if placed:
        overlays.setdefault(last_index, []).append(lambda c: _draw_notes(c, placed, last.height))
    for index, draws in overlays.items():
        _merge_overlay(writer.pages[index], draws)
    rest = notes[len(placed) :]
    said = source.lines() if source.signed else []
    if rest or said:
        width = (A4[0] - 2 * lay.sheet_margin - lay.gutter) / 2
        sheets = _sheet_pages(
            [_note_block(n, family, width, lay) for n in rest], stamp, subject, family, lay, said
        )
        for sheet in PdfReader(io.BytesIO(sheets)).pages:
            writer.add_page(sheet)
    attach_source(writer, source)
    return _to_bytes(writer)


def _block_out(page: _Page, x: float, top: float, design: _StampDesign) -> None:
    """A one-page letter: the stamp is ink too, as far as the notes are concerned."""
    grow = page.reach
    box = (
        page.px(x) - grow,
        page.px(top) - grow,
        page.px(x + design.width) + grow,
        page.px(top + design.height) + grow,
    )
    page.blocked.paste(255, box)
    page.ink.paste(
        255, (page.px(x), page.px(top), page.px(x + design.width), page.px(top + design.height))
    )


def _draw_notes(canvas: Canvas, placed: _Placed, page_h: float) -> None:
    canvas.setFillColor(PEN_BLUE)
    for block, x, top in placed:
        _draw_block(canvas, block, x, top, page_h)
