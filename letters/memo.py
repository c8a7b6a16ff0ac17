"""The internal memo (บันทึกข้อความ): its head and its parts, as the regulation lays them out.

From the top: the emblem, 1.5 cm tall, at the top left (the agency's image; the space left empty
without one) and ``บันทึกข้อความ`` centred on the page on the emblem's line, 29 pt bold; then
``ส่วนราชการ`` (the owning unit, the agency, its phone), ``ที่`` at the left and ``วันที่`` from the
page's centre on one line, ``เรื่อง``: labels 20 pt bold, the text after them body size, no
dotted lines (they are for filling a printed form in by hand); then ``เรียน``, the body, and the
signature block without closing words. Pages after the first as a letter's.
"""

from __future__ import annotations

from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from letters.fonts import FontFamily
from letters.layout import LetterLayout
from letters.model import Letter
from letters.paragraph import TextStyle
from letters.parts import label_gap, labelled, references_and_enclosures
from letters.pdfglyphs import draw_runs, draw_text
from letters.segment import NBSP
from letters.thaitext import numerals, thai_date

HEADING = "บันทึกข้อความ"
URGENCY_RED_RGB = (0.85, 0.0, 0.0)


class MemoHead:
    """The top of a memo's first page: emblem, heading and urgency. The labelled lines below
    flow in the story (a long ส่วนราชการ or เรื่อง wraps)."""

    def __init__(self, letter: Letter, family: FontFamily, layout: LetterLayout) -> None:
        self.letter, self.family, self.layout = letter, family, layout
        self.body_top = layout.memo_emblem_bottom_y
        heading_font = family.bold
        self.heading_size = family.size(layout.memo_heading_size)
        # The heading's letters (not its marks) centred on the emblem's height.
        bottom, top = heading_font.ink("บ")
        letters_height = (top - bottom) * self.heading_size / 1000
        middle = layout.memo_emblem_bottom_y + layout.memo_emblem_height / 2
        self.heading_baseline = middle - letters_height / 2

    def draw(self, canvas: Canvas) -> None:
        lay, letter, family = self.layout, self.letter, self.family
        page_w = lay.page[0]
        if letter.sender.emblem:
            image = ImageReader(str(letter.sender.emblem))
            iw, ih = image.getSize()
            height = lay.memo_emblem_height
            canvas.drawImage(
                image, lay.left, lay.memo_emblem_bottom_y, height * iw / ih, height, mask="auto"
            )
        if letter.urgency:  # left of the heading on its line: drawn first, read first
            canvas.setFillColorRGB(*URGENCY_RED_RGB)
            size = family.size(lay.urgency_size)
            draw_text(canvas, family.bold, size, lay.memo_urgency_x, self.heading_baseline,
                      letter.urgency + " ")
            canvas.setFillColorRGB(0, 0, 0)
        width = family.bold.shape(HEADING).points(self.heading_size)
        draw_text(
            canvas, family.bold, self.heading_size, (page_w - width) / 2, self.heading_baseline,
            HEADING,
        )


class FieldRow(Flowable):
    """Labelled fields on one line, each from its own x: ``ที่ …`` at the left, ``วันที่ …`` from
    the page's centre. One text object, a real space after each label and each field, so
    readers read the line as one."""

    def __init__(
        self, fields: list[tuple[float, str, str]], style: TextStyle, label_style: TextStyle
    ) -> None:
        super().__init__()
        self.fields, self.style, self.label_style = fields, style, label_style

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width, self.height = availWidth, self.style.leading
        return availWidth, self.height

    def getSpaceBefore(self) -> float:
        return self.style.space_before

    def draw(self) -> None:
        style, label = self.style, self.label_style
        y = self.height - style.leading * 0.78  # as ThaiParagraph sets its first baseline
        gap = label_gap(style)
        runs = []
        for n, (x, name, text) in enumerate(self.fields):
            label_width = label.font.shape(name).points(label.size)
            runs.append((label.font, label.size, x, y, label.font.shape(name + " ").glyphs))
            value = text + (" " if n + 1 < len(self.fields) else "")
            runs.append((style.font, style.size, x + label_width + gap, y,
                         style.font.shape(value).glyphs))
        draw_runs(self.canv, runs)
        note_line = getattr(self.canv, "note_line", None)
        if note_line is not None:
            note_line(" ".join(f"{name} {text}" for _x, name, text in self.fields))


def memo_fields(
    letter: Letter, family: FontFamily, layout: LetterLayout, base: TextStyle
) -> list[Flowable]:
    """ส่วนราชการ, ที่ and วันที่, เรื่อง: bold labels larger than the text after them."""
    thai = letter.thai_digits
    label_style = base.but(font=family.bold, size=family.size(layout.memo_label_size))
    # A line that starts with a label is as tall as the label's line; lines after it (a long
    # ส่วนราชการ or เรื่อง wrapping) as the body's.
    field = base.but(space_before=layout.memo_label_leading - layout.leading)
    sender = letter.sender
    unit = " ".join(line.strip() for line in sender.unit.splitlines() if line.strip())
    owner = " ".join(p for p in (unit, sender.agency) if p)
    if sender.phone:  # a phone number never breaks over lines
        owner += " " + f"โทร. {sender.phone}".replace(" ", NBSP)
    row = FieldRow(
        [
            (0.0, "ที่", numerals(letter.reference_number, thai)),
            (layout.date_x - layout.left, "วันที่", thai_date(letter.date, thai=thai)),
        ],
        field,
        label_style,
    )
    return [
        labelled("ส่วนราชการ", numerals(owner, thai), field, label_style=label_style),
        row,
        labelled("เรื่อง", numerals(letter.subject, thai), field, label_style=label_style),
    ]


def memo_opening(letter: Letter, layout: LetterLayout, base: TextStyle) -> list[Flowable]:
    """เรียน (the addressee's position), then อ้างถึง and สิ่งที่ส่งมาด้วย if the memo has them."""
    to = labelled(
        "เรียน",
        numerals(letter.to, letter.thai_digits),
        base.but(space_before=layout.paragraph_gap * 2),
    )
    return [to, *references_and_enclosures(letter, base)]
