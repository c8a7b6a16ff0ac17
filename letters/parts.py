"""Parts that letters and memos share: labelled lines, numbered lists, the body, the signature
block (and where it landed on the page)."""

from __future__ import annotations

from dataclasses import dataclass

from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, KeepTogether, Spacer

from letters.fonts import FontFamily
from letters.layout import LetterLayout
from letters.model import DEFAULT_CLOSING, DIGITALLY_SIGNED, Letter
from letters.paragraph import TextStyle, ThaiParagraph
from letters.segment import NBSP
from letters.thaitext import numerals, thai_date


def body_style(family: FontFamily, layout: LetterLayout) -> TextStyle:
    """The text's style: regular, body size, the letter's leading."""
    return TextStyle(font=family.regular, size=family.size(layout.size), leading=layout.leading)


def label_gap(style: TextStyle) -> float:
    """Between a label and its text: two spaces of the text's font."""
    return style.font.shape("  ").points(style.size)


def labelled(
    label: str,
    text: str,
    style: TextStyle,
    *,
    gap_after: float = 0.0,
    label_style: TextStyle | None = None,
) -> Flowable:
    """``label`` then ``text``, continuation lines hanging under the text (เรื่อง, เรียน, a
    memo's ส่วนราชการ); the label in ``label_style`` if given, else in the text's style."""
    own = label_style or style
    indent = own.font.shape(label).points(own.size) + label_gap(style)
    return ThaiParagraph(
        text,
        style.but(first_indent=indent, rest_indent=indent, space_after=gap_after),
        label=label,
        label_style=label_style,
    )


def numbered_items(label: str, items: list[str], style: TextStyle, thai: bool) -> list[Flowable]:
    """อ้างถึง / สิ่งที่ส่งมาด้วย: one item follows the label; several are numbered, hanging."""
    if len(items) == 1:
        return [labelled(label, items[0], style)]
    indent = style.font.shape(label).points(style.size) + label_gap(style)
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


def references_and_enclosures(letter: Letter, style: TextStyle) -> list[Flowable]:
    """อ้างถึง and สิ่งที่ส่งมาด้วย, where the letter has them."""
    thai = letter.thai_digits
    story: list[Flowable] = []
    if letter.references:
        references = [numerals(r, thai) for r in letter.references]
        story += numbered_items("อ้างถึง", references, style, thai)
    if letter.enclosures:
        items = [
            numerals(
                f"{e.title} จำนวน\u00a0{e.count.replace(' ', NBSP)}" if e.count else e.title, thai
            )
            for e in letter.enclosures
        ]
        story += numbered_items("สิ่งที่ส่งมาด้วย", items, style, thai)
    return story


def body(letter: Letter, style: TextStyle, layout: LetterLayout) -> list[Flowable]:
    """The body's paragraphs: justified (Thai distributed), the first line indented."""
    paragraph = style.but(
        align="justify", first_indent=layout.body_indent, space_before=layout.paragraph_gap * 2
    )
    return [ThaiParagraph(numerals(p, letter.thai_digits), paragraph) for p in letter.body]


@dataclass(frozen=True)
class SignatureBox:
    """Where a signature block landed: the page (0-based index in the PDF) and its rectangle
    in PDF points (x0, y0 bottom left; x1, y1 top right): the space for the signature, the
    typed name, the position lines. A signer puts the signature's widget over it."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def rect(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


class _Place(Flowable):
    """Takes no room and draws nothing (not even a graphics state): records the page and
    the point where it would be drawn."""

    def __init__(self, marks: list[tuple[int, float, float]]) -> None:
        super().__init__()
        self.marks = marks

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0, 0

    def drawOn(self, canvas: Canvas, x: float, y: float, _sW: float = 0) -> None:
        ax, ay = canvas.absolutePosition(x, y)
        self.marks.append((canvas.getPageNumber(), ax, ay))


class SignaturePlace:
    """Records, as the document is drawn, where a signature block lands (:meth:`box`)."""

    def __init__(self, x0: float, x1: float, pad: float) -> None:
        self.x0, self.x1, self.pad = x0, x1, pad  # from the frame's left edge
        self.marks: list[tuple[int, float, float]] = []

    def marker(self) -> Flowable:
        return _Place(self.marks)

    def box(self, first_page: int = 1) -> SignatureBox:
        """The block's box; page indexes count from ``first_page`` (the document's page
        number of the PDF's first page of this letter)."""
        if len(self.marks) != 2:
            raise RuntimeError("the signature block was not drawn")
        (page, left, top), (end_page, _x, bottom) = self.marks
        if page != end_page:  # a KeepTogether of a few lines never splits
            raise RuntimeError("the signature block was split across pages")
        return SignatureBox(
            page - first_page,
            left + self.x0 - self.pad,
            bottom - self.pad,
            left + self.x1 + self.pad,
            top + self.pad,
        )


def signature_lines(letter: Letter) -> list[str]:
    """(name), the position with its acting relation, the post acted for: as printed."""
    signer = letter.signer
    position = " ".join(p for p in (signer.position, signer.acting) if p)
    lines = [f"({signer.name})", position, signer.on_behalf_of]
    return [numerals(line, letter.thai_digits) for line in lines if line]


def signed_line(letter: Letter) -> str | None:
    """``ลงนามด้วยลายมือชื่อดิจิทัล ๑๐ เมษายน ๒๕๖๙`` for a digitally signed letter."""
    if letter.signed_on is None:
        return None
    return f"{DIGITALLY_SIGNED} {thai_date(letter.signed_on, thai=letter.thai_digits)}"


def signature_block(
    letter: Letter, style: TextStyle, layout: LetterLayout
) -> tuple[Flowable, SignaturePlace]:
    """The closing (none on a memo), space to sign, (name), position with its acting relation,
    the post acted for: one block, centred on the closing's centre where the closing starts
    at the page's centre (a memo's block stands where a letter's would). A digitally signed
    letter prints ``ลงนามด้วยลายมือชื่อดิจิทัล`` and the date in the middle of the space left
    for the hand signature: nothing else moves."""
    closing = DEFAULT_CLOSING if letter.is_memo else letter.closing
    closing_width = style.font.shape(closing).points(style.size)
    axis = layout.date_x - layout.left + closing_width / 2
    half = min(axis, layout.text_width - axis)
    centred = style.but(
        align="center",
        first_indent=axis - half,
        rest_indent=axis - half,
        right_indent=layout.text_width - axis - half,
    )
    lines = signature_lines(letter)
    signed = signed_line(letter)
    widest = max(
        style.font.shape(line).points(style.size) for line in [*lines, signed] if line
    )
    place = SignaturePlace(axis - widest / 2, axis + widest / 2, pad=style.size * 0.25)
    parts: list[Flowable] = []
    if not letter.is_memo:
        parts.append(ThaiParagraph(letter.closing, centred))
    parts.append(place.marker())
    space = layout.signature_space * layout.leading
    if signed is None:
        parts.append(Spacer(1, space))
    else:
        before = (layout.signature_space - 1) // 2 * layout.leading
        parts += [
            Spacer(1, before),
            ThaiParagraph(signed, centred),
            Spacer(1, space - before - layout.leading),
        ]
    parts += [ThaiParagraph(line, centred) for line in lines]
    parts.append(place.marker())
    return KeepTogether(parts), place
