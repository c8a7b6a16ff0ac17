"""Lay out an official letter (หนังสือภายนอก, หนังสือเวียน) or an internal memo (บันทึกข้อความ) on
A4 and give its PDF bytes.

Positions follow ``shared/reference/letter-format.md``: margins 3 cm left, 2 cm right, about
2 cm at the bottom; the emblem 3 cm tall, its top 1.5 cm below the page edge, centred; ``ที่`` at
the left on the emblem's bottom line and the agency's address at the right; the date starting
at the page's centre. A memo's head is in ``letters.memo``; the rest (body, signature block,
page numbers, continuation words, secrecy marks) is the same machinery for every kind.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, cast

from reportlab.lib.colors import Color
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Spacer,
)

from letters.fonts import FontFamily, load_family
from letters.layout import LetterLayout
from letters.memo import MemoHead, memo_fields, memo_opening
from letters.model import Letter
from letters.pages import FurnishedCanvas, Furniture, canvas_maker
from letters.paragraph import TextStyle, ThaiParagraph
from letters.parts import (
    SignatureBox,
    SignaturePlace,
    body,
    body_style,
    labelled,
    references_and_enclosures,
    signature_block,
)
from letters.pdfglyphs import draw_text
from letters.thaitext import numerals, thai_date

__all__ = [
    "LetterLayout",
    "RenderedLetter",
    "SignatureBox",
    "letter_story",
    "render_letter",
    "render_letter_layout",
    "render_letters",
]

URGENCY_RED = Color(0.85, 0.0, 0.0)


class Head(Protocol):
    """What draws the top of a document's first page and says where its story starts."""

    body_top: float

    def draw(self, canvas: Canvas) -> None: ...


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


def letter_story(
    letter: Letter, family: FontFamily, layout: LetterLayout
) -> tuple[list[Flowable], SignaturePlace]:
    """The flowing part of a letter or memo, from its first labelled line to the end, and
    where its signature block will land."""
    base = body_style(family, layout)
    story: list[Flowable]
    if letter.is_memo:
        story = [*memo_fields(letter, family, layout, base), *memo_opening(letter, layout, base)]
    else:
        thai = letter.thai_digits
        story = [
            labelled("เรื่อง", numerals(letter.subject, thai), base, gap_after=layout.paragraph_gap),
            labelled("เรียน", numerals(letter.to, thai), base, gap_after=layout.paragraph_gap),
            *references_and_enclosures(letter, base),
        ]
    story += body(letter, base, layout)
    story.append(Spacer(1, layout.leading * 0.5))
    signature, place = signature_block(letter, base, layout)
    story.append(signature)
    if not letter.is_memo:  # a memo names its unit and phone at the top
        story += _owning_unit(letter, base)
    return story, place


def _head(letter: Letter, family: FontFamily, layout: LetterLayout) -> Head:
    return MemoHead(letter, family, layout) if letter.is_memo else _Head(letter, family, layout)


@dataclass(frozen=True)
class RenderedLetter:
    """A rendered letter and where its parts landed: its page count and its signature
    block (for a signature widget over it)."""

    pdf: bytes
    pages: int
    signature: SignatureBox


def render_letter_layout(
    letter: Letter, *, family: FontFamily | None = None, layout: LetterLayout | None = None
) -> RenderedLetter:
    """The letter (or memo) as PDF bytes, with where its signature block landed."""
    pdf, pages, places = _render([letter], family=family, layout=layout)
    return RenderedLetter(pdf, len(pages[0]), places[0].box(first_page=1))


def render_letter(
    letter: Letter, *, family: FontFamily | None = None, layout: LetterLayout | None = None
) -> bytes:
    """The letter (or memo) as PDF bytes: A4, fonts embedded, text layer exact."""
    return render_letter_layout(letter, family=family, layout=layout).pdf


class _NextLetter(Flowable):
    """Marks, on the last page of one letter, that the next page starts the next letter."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

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
    pdf, pages, _places = _render(letters, family=family, layout=layout, appendix=appendix)
    return pdf, pages


def _frame(layout: LetterLayout, top: float, name: str) -> Frame:
    bottom = layout.bottom + layout.leading
    return Frame(
        layout.left,
        bottom,
        layout.text_width,
        top - bottom,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
        id=name,
    )


def _render(
    letters: Sequence[Letter],
    *,
    family: FontFamily | None = None,
    layout: LetterLayout | None = None,
    appendix: Callable[[Canvas], None] | None = None,
) -> tuple[bytes, list[list[int]], list[SignaturePlace]]:
    if not letters:
        raise ValueError("no letters to render")
    family = family or load_family()
    layout = layout or LetterLayout()
    heads = [_head(letter, family, layout) for letter in letters]
    page_w, page_h = layout.page
    # Every head of a kind has the same height unless the agency's address differs: a first
    # page template per height.
    first_templates: dict[float, str] = {}
    starts: list[int] = []

    # reportlab calls these with the canvas that canvas_maker made: a FurnishedCanvas.
    def first_page(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        furnished = cast(FurnishedCanvas, canvas)
        index = getattr(canvas, "_saraban_letter", 0)
        furnished.start_document(letters[index].secrecy)
        starts.append(canvas.getPageNumber())
        furnished.mark_secrecy()
        heads[index].draw(canvas)

    def later_page(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        furnished = cast(FurnishedCanvas, canvas)
        furnished.mark_secrecy()
        furnished.draw_page_number()

    def page_end(canvas: Canvas, _doc: BaseDocTemplate) -> None:
        cast(FurnishedCanvas, canvas).refer_to_continuation()

    templates = []
    for head in heads:
        top = round(head.body_top, 3)
        if top not in first_templates:
            name = first_templates[top] = f"first{len(first_templates)}"
            templates.append(
                PageTemplate(
                    name,
                    [_frame(layout, head.body_top, "first")],
                    onPage=first_page,
                    onPageEnd=page_end,
                    autoNextPageTemplate="later",
                )
            )
    later_frame = _frame(layout, page_h - layout.later_top, "later")
    templates.append(PageTemplate("later", [later_frame], onPage=later_page, onPageEnd=page_end))
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
    doc.addPageTemplates(templates)
    furniture = Furniture(
        font=family.regular,
        size=family.size(layout.size),
        thai_digits=letters[0].thai_digits,
        page_width=page_w,
        right_x=page_w - layout.right,
        number_baseline=page_h - layout.emblem_top,
        continuation_baseline=layout.bottom,
        secrecy_font=family.bold,
        secrecy_size=family.size(layout.secrecy_size),
        secrecy_top_baseline=page_h - layout.secrecy_top,
        secrecy_bottom_baseline=layout.secrecy_bottom,
    )
    story: list[Flowable] = []
    places: list[SignaturePlace] = []
    for n, (letter, head) in enumerate(zip(letters, heads, strict=True)):
        if n:
            story += [
                _NextLetter(n),
                NextPageTemplate(first_templates[round(head.body_top, 3)]),
                PageBreak(),
            ]
        own, place = letter_story(letter, family, layout)
        story += own
        places.append(place)
    doc.build(story, canvasmaker=canvas_maker(furniture, appendix))
    total = doc.page
    bounds = [*starts, total + 1]
    pages = [list(range(a, b)) for a, b in itertools.pairwise(bounds)]
    return out.getvalue(), pages, places
