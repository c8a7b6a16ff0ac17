"""Page furniture for multi-page official documents: ``- ๒ -`` page numbers, continuation words
and the secrecy class (ชั้นความลับ) at the top and bottom of every page.

Continuation words (คำต่อ) are the first words of the next page, printed with ``...`` at the
bottom right of every page that continues. The next page is not laid out when a page ends, so
the canvas adds them to each finished page's content just before it saves, when every page's
first line is known: one pass, no second build. (Drawn in the page's own content, not in a form
XObject: pdf.js runs a form's text into the line before it.)

A document with a secrecy class has it in red at the top centre of every page, drawn first, and
at the bottom centre, added with the continuation words: each page's text reads top to bottom.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from reportlab import rl_config
from reportlab.lib.colors import Color
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from letters.pdfglyphs import (
    canvas_code,
    canvas_doc,
    canvas_forms,
    draw_glyphs,
    glyph_operators,
)
from letters.segment import break_units
from letters.shaping import ShapingFont
from letters.textlayer import KEPT_FLATE
from letters.thaitext import numerals

SECRECY_RED = Color(0.85, 0.0, 0.0)

# The page number is set a hair (0.2 %, a thousandth of a millimetre on a glyph) smaller than
# the text: poppler (pdftotext, Evince, Okular) reads a line that ends with a hyphen, as
# ``- ๒ -`` does, as a word broken across lines and joins it to the next line of its flow, and
# starts a new flow only where the text below is set larger.
NUMBER_SCALE = 0.998

_LIST_NUMBER = set("0123456789๐๑๒๓๔๕๖๗๘๙.()")


def continuation_words(first_line: str, words: int = 2) -> str:
    """``๒. การใช้งาน...`` from the next page's first line: a leading list number and two words."""
    taken: list[str] = []
    count = 0
    for unit in break_units(first_line.strip()):
        if count >= words:
            break
        taken.append(unit)
        if not unit.isspace() and not set(unit) <= _LIST_NUMBER:
            count += 1
    text = "".join(taken).rstrip()
    return f"{text}..." if text else ""


@dataclass(frozen=True)
class Furniture:
    font: ShapingFont
    size: float
    thai_digits: bool
    page_width: float
    right_x: float  # right edge of the text block
    number_baseline: float  # y of the page number on pages after the first
    continuation_baseline: float  # y of the continuation words
    secrecy_font: ShapingFont | None = None  # bold
    secrecy_size: float = 0.0
    secrecy_top_baseline: float = 0.0
    secrecy_bottom_baseline: float = 0.0


class FurnishedCanvas(Canvas):
    """A canvas that knows each page's first line of text and writes the furniture from it."""

    def __init__(
        self,
        *args: Any,
        furniture: Furniture,
        appendix: Callable[[Canvas], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.furniture = furniture
        self.appendix = appendix  # draws pages after the last one, without furniture
        self.first_lines: dict[int, str] = {}
        self._continued_pages: list[int] = []
        # Several documents (letters) may share one canvas: each starts its own page count.
        self.document_starts: list[int] = [1]
        self.secrecy: str | None = None  # of the current document
        self._secret_pages: dict[int, str] = {}

    def note_line(self, text: str) -> None:
        if text.strip():
            self.first_lines.setdefault(self.getPageNumber(), text)

    def start_document(self, secrecy: str | None = None) -> None:
        """The current page begins a new document: numbering restarts, nothing continues;
        its pages carry ``secrecy`` (a secrecy class) if given."""
        page = self.getPageNumber()
        if page != self.document_starts[-1]:
            self.document_starts.append(page)
        self.secrecy = secrecy

    def mark_secrecy(self) -> None:
        """The document's secrecy class at the top centre of this page (first thing drawn on
        it); the bottom one is added when the document is saved."""
        if not self.secrecy:
            return
        self._secret_pages[self.getPageNumber()] = self.secrecy
        self.setFillColor(SECRECY_RED)
        self._draw_centred(self.secrecy, self.furniture.secrecy_top_baseline)
        self.setFillColorRGB(0, 0, 0)

    def _draw_centred(self, text: str, baseline: float) -> None:
        f = self.furniture
        if f.secrecy_font is None:
            raise ValueError("a secrecy class needs Furniture.secrecy_font")
        shaped = f.secrecy_font.shape(text)
        x = (f.page_width - shaped.points(f.secrecy_size)) / 2
        draw_glyphs(self, f.secrecy_font, f.secrecy_size, x, baseline, shaped.glyphs)

    def draw_page_number(self) -> None:
        page = self.getPageNumber() - self.document_starts[-1] + 1
        if page < 2:
            return
        f = self.furniture
        label = numerals(f"- {page} -", f.thai_digits)
        size = f.size * NUMBER_SCALE
        shaped = f.font.shape(label)
        x = (f.page_width - shaped.points(size)) / 2
        dash, space, *rest = shaped.glyphs
        # The first dash speaks "- " and spans the space after it: poppler writes no space
        # between words of one character each (it takes them for letter-spaced text), and
        # "- ๒ -" would read "-๒-".
        width = dash.advance + space.advance
        lead = replace(dash, code=f.font.rl.code_for(dash.gid, "- ", width), advance=width)
        draw_glyphs(self, f.font, size, x, f.number_baseline, [lead, *rest])

    def refer_to_continuation(self) -> None:
        self._continued_pages.append(self.getPageNumber())

    def save(self) -> None:
        if canvas_code(self):
            self.showPage()
        if self.appendix is not None:
            self.appendix(self)
        f = self.furniture
        doc = canvas_doc(self)
        pages = doc.Pages.pages
        for page in self._continued_pages:
            last_of_its_document = page + 1 in self.document_starts
            words = (
                ""
                if last_of_its_document
                else continuation_words(self.first_lines.get(page + 1, ""))
            )
            if not words:
                continue
            shaped = f.font.shape(words)
            x = f.right_x - shaped.points(f.size)
            forms_in_use = canvas_forms(self)
            forms_before = len(forms_in_use)
            ops = glyph_operators(self, f.font, f.size, x, f.continuation_baseline, shaped.glyphs)
            self._add_to_page(pages[page - 1], "0 g", ops, forms_before)
        for page, secrecy in self._secret_pages.items():
            font = f.secrecy_font
            assert font is not None  # mark_secrecy drew with it
            shaped = font.shape(secrecy)
            x = (f.page_width - shaped.points(f.secrecy_size)) / 2
            forms_before = len(canvas_forms(self))
            ops = glyph_operators(
                self, font, f.secrecy_size, x, f.secrecy_bottom_baseline, shaped.glyphs
            )
            red = " ".join(f"{c:g}" for c in SECRECY_RED.rgb())
            self._add_to_page(pages[page - 1], f"{red} rg", ops, forms_before)
        for page in pages:
            _compress_kept(page)
        super().save()


    def _add_to_page(self, target: Any, colour: str, ops: str, forms_before: int) -> None:
        """Text operators added to a finished page's content, in ``colour``; glyph outline
        forms they drew (glyphs that speak no text) named in the page's resources."""
        target.stream += f"q {colour}\n{ops}\nQ\n"
        forms_in_use = canvas_forms(self)
        forms = forms_in_use[forms_before:]
        if forms:
            del forms_in_use[forms_before:]
            named = target.XObjects or pdfdoc.PDFDictionary({})
            named.dict.update(canvas_doc(self).xobjDict(forms).dict)
            target.XObjects = named


def _compress_kept(page: Any) -> None:
    """The page's content stream as reportlab makes it, compressed through ``KEPT_FLATE``: a
    page drawn again (a warm render, a shared page) is not compressed again."""
    if page.Contents or not page.stream or not page.compression or rl_config.useA85:
        return
    stream: Any = pdfdoc.PDFStream()
    stream.filters = [KEPT_FLATE]
    stream.content = page.stream
    stream.__Comment__ = "page stream"
    page.Contents = stream


def canvas_maker(
    furniture: Furniture, appendix: Callable[[Canvas], None] | None = None
) -> Callable[..., FurnishedCanvas]:
    def make(*args: Any, **kwargs: Any) -> FurnishedCanvas:
        # A TrueType initial font: no page names reportlab's default Helvetica (pdf_canvas).
        kwargs["initialFontName"] = furniture.font.rl.fontName
        return FurnishedCanvas(*args, furniture=furniture, appendix=appendix, **kwargs)

    return make
