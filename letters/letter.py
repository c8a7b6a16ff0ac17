"""Lay out an official letter (หนังสือภายนอก, หนังสือเวียน) on A4 and give its PDF bytes.

Positions follow ``shared/reference/letter-format.md``: margins 3 cm left, 2 cm right, about
2 cm at the bottom; the emblem 3 cm tall, its top 1.5 cm below the page edge, centred; ``ที่`` at
the left on the emblem's bottom line and the agency's address at the right; the date starting
at the page's centre.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import cast

from reportlab.lib.colors import Color
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
)

from letters.fonts import FontFamily, load_family
from letters.model import Letter
from letters.pages import FurnishedCanvas, Furniture, canvas_maker
from letters.paragraph import TextStyle, ThaiParagraph
from letters.pdfglyphs import draw_text
from letters.segment import NBSP
from letters.thaitext import numerals, thai_date

URGENCY_RED = Color(0.85, 0.0, 0.0)


@dataclass(frozen=True)
class LetterLayout:
    """The regulation's measures, in points."""

    page: tuple[float, float] = A4
    left: float = 30 * mm
    right: float = 20 * mm
    bottom: float = 20 * mm
    emblem_top: float = 15 * mm  # from the page's top edge
    emblem_height: float = 30 * mm
    later_top: float = 25 * mm  # body top on pages after the first, below the page number
    date_x: float = 105 * mm  # the date starts at the page's centre
    size: float = 16.0
    leading: float = 20.5
    urgency_size: float = 32.0
    body_indent: float = 25 * mm
    paragraph_gap: float = 4.0
    signature_space: float = 3  # blank lines for the hand signature

    @property
    def text_width(self) -> float:
        return self.page[0] - self.left - self.right

    @property
    def emblem_bottom_y(self) -> float:
        return self.page[1] - self.emblem_top - self.emblem_height


def _label_gap(style: TextStyle) -> float:
    return style.font.shape("  ").points(style.size)


class _Head:
    """The top of the first page: emblem, urgency, ที่, agency address and date."""

    def __init__(self, letter: Letter, family: FontFamily, layout: LetterLayout) -> None:
        self.letter = letter
        self.family = family
        self.layout = layout
        lay = layout
        self.size = family.size(lay.size)
        self.ref_baseline = lay.emblem_bottom_y
        self.address_lines = [
            numerals(line, letter.thai_digits)
            for line in [letter.sender.agency, *letter.sender.address.splitlines()]
            if line.strip()
        ]
        self.date_baseline = self.ref_baseline - len(self.address_lines) * lay.leading
        # The body's frame starts one line under the date (its first baseline a line and a
        # half down, as a blank line after the date reads on paper).
        self.body_top = self.date_baseline - lay.leading * 0.6

    def draw(self, canvas: Canvas) -> None:
        lay, letter, font = self.layout, self.letter, self.family.regular
        page_w, page_h = lay.page
        if letter.sender.emblem:
            image = ImageReader(str(letter.sender.emblem))
            iw, ih = image.getSize()
            height = lay.emblem_height
            width = height * iw / ih
            canvas.drawImage(
                image, (page_w - width) / 2, lay.emblem_bottom_y, width, height, mask="auto"
            )
        if letter.urgency:
            bold = self.family.bold
            canvas.setFillColor(URGENCY_RED)
            size = self.family.size(lay.urgency_size)
            y = page_h - lay.emblem_top - size * 0.8
            draw_text(canvas, bold, size, lay.left, y, letter.urgency)
            canvas.setFillColorRGB(0, 0, 0)
        ref = numerals(f"ที่ {letter.reference_number}", letter.thai_digits)
        size = self.size
        draw_text(canvas, font, size, lay.left, self.ref_baseline, ref)
        widths = [font.shape(line).points(size) for line in self.address_lines]
        block_x = page_w - lay.right - max(widths, default=0)
        for n, line in enumerate(self.address_lines):
            draw_text(canvas, font, size, block_x, self.ref_baseline - n * lay.leading, line)
        date_text = thai_date(letter.date, thai=letter.thai_digits)
        draw_text(canvas, font, size, lay.date_x, self.date_baseline, date_text)


def _labelled(label: str, text: str, style: TextStyle, *, gap_after: float = 0.0) -> Flowable:
    indent = style.font.shape(label).points(style.size) + _label_gap(style)
    return ThaiParagraph(
        text,
        style.but(first_indent=indent, rest_indent=indent, space_after=gap_after),
        label=label,
    )


def _numbered_items(label: str, items: list[str], style: TextStyle, thai: bool) -> list[Flowable]:
    """อ้างถึง / สิ่งที่ส่งมาด้วย: one item follows the label; several are numbered, hanging."""
    if len(items) == 1:
        return [_labelled(label, items[0], style)]
    indent = style.font.shape(label).points(style.size) + _label_gap(style)
    flowables: list[Flowable] = []
    for n, item in enumerate(items, start=1):
        number = numerals(f"{n}. ", thai)
        hang = indent + style.font.shape(number).points(style.size)
        flowables.append(
            ThaiParagraph(
                number + item,
                style.but(first_indent=indent, rest_indent=hang),
                label=label if n == 1 else None,
            )
        )
    return flowables


def _signature(letter: Letter, style: TextStyle, layout: LetterLayout) -> Flowable:
    """Closing, space to sign, (name), position with its acting relation: one centred block."""
    closing_width = style.font.shape(letter.closing).points(style.size)
    axis = layout.date_x - layout.left + closing_width / 2
    half = min(axis, layout.text_width - axis)
    centred = style.but(
        align="center",
        first_indent=axis - half,
        rest_indent=axis - half,
        right_indent=layout.text_width - axis - half,
    )
    signer = letter.signer
    position = " ".join(p for p in (signer.position, signer.acting) if p)
    lines = [f"({signer.name})", position, signer.on_behalf_of]
    parts: list[Flowable] = [
        ThaiParagraph(letter.closing, centred),
        Spacer(1, layout.signature_space * layout.leading),
    ]
    parts += [ThaiParagraph(numerals(line, letter.thai_digits), centred) for line in lines if line]
    return KeepTogether(parts)


def _owning_unit(letter: Letter, style: TextStyle) -> list[Flowable]:
    sender, thai = letter.sender, letter.thai_digits
    lines = [sender.unit]
    if sender.phone:
        lines.append(f"โทร. {sender.phone}")
    if sender.fax:
        lines.append(f"โทรสาร {sender.fax}")
    if sender.email:
        lines.append(f"ไปรษณีย์อิเล็กทรอนิกส์ {sender.email}")
    text = "\n".join(numerals(line, thai) for line in lines if line)
    if not text:
        return []
    return [Spacer(1, style.leading), ThaiParagraph(text, style)]


def letter_story(letter: Letter, family: FontFamily, layout: LetterLayout) -> list[Flowable]:
    """The flowing part of the letter, from เรื่อง to the owning unit."""
    thai = letter.thai_digits
    base = TextStyle(font=family.regular, size=family.size(layout.size), leading=layout.leading)
    story: list[Flowable] = [
        _labelled("เรื่อง", numerals(letter.subject, thai), base, gap_after=layout.paragraph_gap),
        _labelled("เรียน", numerals(letter.to, thai), base, gap_after=layout.paragraph_gap),
    ]
    if letter.references:
        references = [numerals(r, thai) for r in letter.references]
        story += _numbered_items("อ้างถึง", references, base, thai)
    if letter.enclosures:
        items = [
            numerals(
                f"{e.title} จำนวน\u00a0{e.count.replace(' ', NBSP)}" if e.count else e.title, thai
            )
            for e in letter.enclosures
        ]
        story += _numbered_items("สิ่งที่ส่งมาด้วย", items, base, thai)
    body_style = base.but(
        align="justify", first_indent=layout.body_indent, space_before=layout.paragraph_gap * 2
    )
    for paragraph in letter.body:
        story.append(ThaiParagraph(numerals(paragraph, thai), body_style))
    story.append(Spacer(1, layout.leading * 0.5))
    story.append(_signature(letter, base, layout))
    story += _owning_unit(letter, base)
    return story


def render_letter(
    letter: Letter, *, family: FontFamily | None = None, layout: LetterLayout | None = None
) -> bytes:
    """The letter as PDF bytes: A4, fonts embedded, text layer exact."""
    pdf, _pages = render_letters([letter], family=family, layout=layout)
    return pdf


class _NextLetter(Flowable):
    """Marks, on the last page of one letter, that the next page starts the next letter."""

    def __init__(self, index: int, heads: list[_Head]) -> None:
        super().__init__()
        self.index, self.heads = index, heads

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._saraban_letter = self.index  # type: ignore[attr-defined]


def render_letters(
    letters: Sequence[Letter],
    *,
    family: FontFamily | None = None,
    layout: LetterLayout | None = None,
    appendix: Callable[[Canvas], None] | None = None,
) -> tuple[bytes, list[list[int]]]:
    """Several letters in one PDF (fonts embedded once), each with its own head, page numbers
    and continuation words; returns the PDF and each letter's page numbers (1-based).

    ``appendix`` draws more pages after the letters in the same document (a mailout's slips,
    so they share the embedded fonts)."""
    if not letters:
        raise ValueError("no letters to render")
    family = family or load_family()
    layout = layout or LetterLayout()
    heads = [_Head(letter, family, layout) for letter in letters]
    page_w, page_h = layout.page
    body_bottom = layout.bottom + layout.leading
    # Every head has the same height unless the agency's address differs: frames per letter.
    first_frames = {
        round(head.body_top, 3): Frame(
            layout.left,
            body_bottom,
            layout.text_width,
            head.body_top - body_bottom,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            id="first",
        )
        for head in heads
    }
    later_frame = Frame(
        layout.left,
        body_bottom,
        layout.text_width,
        page_h - layout.later_top - body_bottom,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id="later",
    )
    starts: list[int] = []

    # reportlab calls these with the canvas that canvas_maker made: a FurnishedCanvas.
    def first_page(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        furnished = cast(FurnishedCanvas, canvas)
        index = getattr(canvas, "_saraban_letter", 0)
        furnished.start_document()
        starts.append(canvas.getPageNumber())
        heads[index].draw(canvas)

    def later_page(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        cast(FurnishedCanvas, canvas).draw_page_number()

    def page_end(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        cast(FurnishedCanvas, canvas).refer_to_continuation()

    out = io.BytesIO()
    doc = BaseDocTemplate(
        out,
        pagesize=layout.page,
        leftMargin=layout.left,
        rightMargin=layout.right,
        bottomMargin=layout.bottom,
        title=letters[0].subject,
        author=letters[0].sender.agency,
        creator="saraban",
        lang="th",
        invariant=True,
    )
    templates = []
    first_templates: dict[float, str] = {}
    for n, (top, frame) in enumerate(first_frames.items()):
        templates.append(
            PageTemplate(
                f"first{n}",
                [frame],
                onPage=first_page,
                onPageEnd=page_end,
                autoNextPageTemplate="later",
            )
        )
        first_templates[top] = f"first{n}"
    templates.append(PageTemplate("later", [later_frame], onPage=later_page, onPageEnd=page_end))
    doc.addPageTemplates(templates)
    furniture = Furniture(
        font=family.regular,
        size=family.size(layout.size),
        thai_digits=letters[0].thai_digits,
        page_width=page_w,
        right_x=page_w - layout.right,
        number_baseline=page_h - layout.emblem_top,
        continuation_baseline=layout.bottom,
    )
    story: list[Flowable] = []
    for n, (letter, head) in enumerate(zip(letters, heads, strict=True)):
        if n:
            story += [
                _NextLetter(n, heads),
                NextPageTemplate(first_templates[round(head.body_top, 3)]),
                PageBreak(),
            ]
        story += letter_story(letter, family, layout)
    doc.build(story, canvasmaker=canvas_maker(furniture, appendix))
    total = doc.page
    bounds = [*starts, total + 1]
    return out.getvalue(), [list(range(a, b)) for a, b in itertools.pairwise(bounds)]
