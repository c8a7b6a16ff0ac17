"""A platypus flowable for Thai text: breaks at word boundaries, Thai distributed justification."""

from __future__ import annotations

import itertools
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

from reportlab.lib.colors import Color, black
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

from letters.pdfglyphs import draw_cached, draw_glyphs, draw_runs
from letters.segment import break_units
from letters.shaping import Glyph, Shaped, ShapingFont

Align = Literal["left", "center", "right", "justify"]

# Justification spreads space between Thai grapheme clusters up to this much per gap (in ems:
# 1 pt at the letters' 16 pt, 10.67 pt of Laksaman); past it the rest goes to the spaces. Wider
# gaps inside a word read as word breaks to PDF readers: poppler and pdf.js break at 0.1 em,
# pdfminer a little past it, and a mark's text reaches 0.1 em past its cluster
# (letters.shaping._MARK_OVERHANG) to cover the gap.
MAX_CLUSTER_GAP_EM = 3 / 32


def _spreads(char: str) -> bool:
    """Whether justification may widen the gap next to a cluster starting with ``char``: Thai
    letters and signs, not Thai digits (a number stays together, as Latin words do)."""
    return "\u0e01" <= char <= "\u0e4f"


@dataclass(frozen=True)
class TextStyle:
    font: ShapingFont
    size: float = 16.0
    leading: float = 20.0
    align: Align = "left"
    first_indent: float = 0.0  # where the first line starts, from the frame's left edge
    rest_indent: float = 0.0  # where the other lines start
    right_indent: float = 0.0
    space_before: float = 0.0
    space_after: float = 0.0
    color: Color = black

    def but(self, **changes: object) -> TextStyle:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, eq=False)
class Line:
    units: tuple[Shaped, ...]
    indent: float
    width: float  # natural width in points, without trailing spaces
    available: float
    last: bool  # the last line of a paragraph or before a hard break: never justified

    @property
    def text(self) -> str:
        return "".join(u.text for u in self.units)

    @cached_property
    def drawn_as(self) -> tuple[object, ...]:
        """What the line's drawing depends on (with the style): equal lines draw the same, so
        a mailout's letters share one line's operators even where their paragraphs differ."""
        return (tuple(u.text for u in self.units), self.indent, self.available, self.last)


def _split_wide_unit(font: ShapingFont, unit: str, size: float, width: float) -> list[str]:
    """Break a unit wider than the line (a long URL) between grapheme clusters."""
    shaped = font.shape(unit)
    pieces: list[str] = []
    start = 0
    used = 0.0
    cluster_starts = [*sorted({g.cluster for g in shaped.glyphs}), len(unit)]
    for a, b in itertools.pairwise(cluster_starts):
        w = font.shape(unit[a:b]).points(size)
        if used + w > width and a > start:
            pieces.append(unit[start:a])
            start, used = a, 0.0
        used += w
    pieces.append(unit[start:])
    return pieces


def break_lines(text: str, style: TextStyle, width: float) -> list[Line]:
    """Greedy line filling over word-boundary units; hard breaks at ``\\n``.

    Cached: a mailout lays out the same paragraphs for every college, and Lines are immutable.
    """
    key = (
        text,
        style.font.name,
        style.size,
        style.first_indent,
        style.rest_indent,
        style.right_indent,
        width,
    )
    lines = _LINES.get(key)
    if lines is None:
        lines = _LINES[key] = _break_lines(text, style, width)
        if len(_LINES) > _LINES_KEPT:
            _LINES.popitem(last=False)
    else:
        _LINES.move_to_end(key)
    return list(lines)


# The least recently used paragraphs go first: a mailout's shared paragraphs stay, each
# college's own paragraph passes through, and memory does not grow with the roster.
_LINES: OrderedDict[tuple[object, ...], list[Line]] = OrderedDict()
_LINES_KEPT = 256


def _break_lines(text: str, style: TextStyle, width: float) -> list[Line]:
    font, size = style.font, style.size
    lines: list[Line] = []
    for hard_line in text.split("\n"):
        current: list[Shaped] = []
        current_width = 0.0
        trailing = 0.0  # width of spaces at the end of ``current``

        def available() -> float:
            indent = style.first_indent if not lines else style.rest_indent
            return width - indent - style.right_indent

        def finish(last: bool) -> None:
            nonlocal current, current_width, trailing
            while current and current[-1].text.isspace():
                current.pop()
            indent = style.first_indent if not lines else style.rest_indent
            lines.append(Line(tuple(current), indent, current_width - trailing, available(), last))
            current, current_width, trailing = [], 0.0, 0.0

        units = list(break_units(hard_line))
        i = 0
        while i < len(units):
            unit = units[i]
            shaped = font.shape(unit)
            w = shaped.points(size)
            if unit.isspace():
                if current:
                    current.append(shaped)
                    current_width += w
                    trailing += w
                i += 1
                continue
            if current and current_width - trailing + (trailing + w) > available():
                finish(last=False)
                continue
            if not current and w > available():
                pieces = _split_wide_unit(font, unit, size, available())
                units[i : i + 1] = pieces
                if len(pieces) > 1:
                    continue
            current.append(shaped)
            current_width += w
            trailing = 0.0
            i += 1
        finish(last=True)
    return lines


def _justify_extra(line: Line, glyphs: Sequence[Glyph], size: float) -> list[float] | None:
    """Extra space after each glyph so the line fills its measure (Thai distributed): between
    Thai clusters up to ``MAX_CLUSTER_GAP_EM``, the rest at the spaces; never inside a Latin
    word or a number."""
    slack = line.available - line.width
    if slack <= 0.01:
        return None
    boundaries: list[int] = []
    spaces: list[int] = []
    index = 0
    units = line.units
    for u, unit in enumerate(units):
        n = len(unit.glyphs)
        if unit.text.isspace():
            spaces.append(index + n - 1)
        else:
            text, unit_glyphs = unit.text, unit.glyphs
            for k in range(n - 1):
                left, right = unit_glyphs[k].cluster, unit_glyphs[k + 1].cluster
                if right != left and _spreads(text[left]) and _spreads(text[right]):
                    boundaries.append(index + k)
            following = units[u + 1].text if u + 1 < len(units) else ""
            if (
                following
                and not following.isspace()
                and _spreads(text[unit_glyphs[-1].cluster])
                and _spreads(following[0])
            ):
                boundaries.append(index + n - 1)
        index += n
    extra = [0.0] * len(glyphs)
    if not boundaries and not spaces:
        return None
    max_gap = MAX_CLUSTER_GAP_EM * size
    per_gap = min(max_gap, slack / len(boundaries)) if boundaries else 0.0
    for k in boundaries:
        extra[k] = per_gap
    rest = slack - per_gap * len(boundaries)
    if rest > 0.01:
        targets = spaces or boundaries
        for k in targets:
            extra[k] += rest / len(targets)
    return extra


class ThaiParagraph(Flowable):
    """A paragraph of Thai (and Latin) text in one font, broken at word boundaries."""

    def __init__(
        self,
        text: str,
        style: TextStyle,
        *,
        label: str | None = None,
        label_style: TextStyle | None = None,
        lines: list[Line] | None = None,
        continued: bool = False,
    ) -> None:
        super().__init__()
        self.text = text
        self.style = style
        self.label = label  # drawn at the left of the first line (เรื่อง, เรียน, ...)
        # The label's own font and size (a memo's bold labels), else the text's; a first line
        # with a label of its own style is not justified.
        self.label_style = label_style
        self._lines = lines
        self._lines_width: float | None = None
        self.continued = continued

    def lines_for(self, width: float) -> list[Line]:
        if self._lines is not None and (self._lines_width in (None, width)):
            return self._lines
        self._lines = break_lines(self.text, self.style, width)
        self._lines_width = width
        return self._lines

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        self.width = availWidth
        self.height = len(self.lines_for(availWidth)) * self.style.leading
        return availWidth, self.height

    def getSpaceBefore(self) -> float:
        return 0.0 if self.continued else self.style.space_before

    def getSpaceAfter(self) -> float:
        return self.style.space_after

    def split(self, availWidth: float, availHeight: float) -> list[Flowable]:
        lines = self.lines_for(availWidth)
        fit = int((availHeight + 1e-6) // self.style.leading)
        if fit >= len(lines):
            return [self]
        # No widows or orphans: keep two lines together at either end where possible.
        if len(lines) >= 4:
            fit = min(fit, len(lines) - 2)
            if fit < 2:
                return []
        if fit <= 0:
            return []
        head = ThaiParagraph(
            self.text,
            self.style,
            label=self.label,
            label_style=self.label_style,
            lines=lines[:fit],
            continued=self.continued,
        )
        tail = ThaiParagraph(self.text, self.style, lines=lines[fit:], continued=True)
        head._lines_width = tail._lines_width = availWidth
        return [head, tail]

    def line_positions(self) -> Iterator[tuple[Line, float, float]]:
        """Each line with its left x and baseline y in the flowable's coordinates."""
        style = self.style
        baseline_drop = style.leading * 0.78
        for n, line in enumerate(self._lines or []):
            x = line.indent
            if style.align == "center":
                x += (line.available - line.width) / 2
            elif style.align == "right":
                x += line.available - line.width
            yield line, x, self.height - n * style.leading - baseline_drop

    def draw(self) -> None:
        canvas: Canvas = self.canv
        style = self.style
        canvas.setFillColor(style.color)
        note_line = getattr(canvas, "note_line", None)
        justify = style.align == "justify"
        for n, (line, x, y) in enumerate(self.line_positions()):
            label = self.label if n == 0 and not self.continued else None
            if label and self.label_style is not None:
                self._draw_styled_label(canvas, label, line, x, y)
                if note_line is not None:
                    note_line(line.text)
                continue
            key = (line.drawn_as, style.font.name, style.size, x, y, justify, label)
            if not draw_cached(canvas, key):
                glyphs, extra, x = self._glyph_run(line, x, label, justify)
                draw_glyphs(canvas, style.font, style.size, x, y, glyphs, extra, cache_key=key)
            if note_line is not None:
                note_line(line.text)

    def _draw_styled_label(
        self, canvas: Canvas, label: str, line: Line, x: float, y: float
    ) -> None:
        """The label in its own style and the line's text as one text object, a real space
        after the label (as in :meth:`_glyph_run`)."""
        assert self.label_style is not None
        label_font, label_size = self.label_style.font, self.label_style.size
        glyphs = [g for unit in line.units for g in unit.glyphs]
        draw_runs(
            canvas,
            [
                (label_font, label_size, 0.0, y, label_font.shape(label + " ").glyphs),
                (self.style.font, self.style.size, x, y, glyphs),
            ],
        )

    def _glyph_run(
        self, line: Line, x: float, label: str | None, justify: bool
    ) -> tuple[list[Glyph], list[float] | None, float]:
        """The line's glyphs, the space to add after each, and where the run starts."""
        size = self.style.size
        glyphs = [g for unit in line.units for g in unit.glyphs]
        extra = _justify_extra(line, glyphs, size) if justify and not line.last else None
        if label:
            # One run from the label to the text, so extractors read "เรื่อง การ..." as one
            # line, not as two pieces; a real space after the label, so that every reader
            # finds one space there, however wide the gap.
            shaped = self.style.font.shape(label + " ")
            gap = [0.0] * len(shaped.glyphs)
            gap[-1] = x - shaped.points(size)
            extra = gap + (list(extra) if extra else [0.0] * len(glyphs))
            return [*shaped.glyphs, *glyphs], extra, 0.0
        return glyphs, extra, x


def placed_lines(
    text: str, style: TextStyle, width: float
) -> tuple[list[tuple[float, float, tuple[Glyph, ...]]], float]:
    """``text`` laid out to ``width`` for drawing outside a flowing story (slips, notes): each
    line's left x, its baseline y up from the paragraph's bottom, and its glyphs; and the
    paragraph's height."""
    para = ThaiParagraph(text, style)
    _, height = para.wrap(width, 1e6)
    lines = [
        (x, y, tuple(g for unit in line.units for g in unit.glyphs))
        for line, x, y in para.line_positions()
    ]
    return lines, height
