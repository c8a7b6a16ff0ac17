"""HarfBuzz shaping into glyphs that remember the text they stand for.

Units: glyph advances and offsets are in thousandths of an em; multiply by ``size / 1000`` for
points. Shaping is per word (Thai marks never attach across a word boundary) and cached.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb
from reportlab.pdfbase import pdfmetrics

from letters.textlayer import TextLayerTTFont

# Where a mark's text sits for PDF readers, before the pen after its base (thousandths of an
# em), and how wide it is there: one mark, or the first and second of two stacked marks.
# poppler starts a new word at every change of font and then writes a space where the words
# are more than 0.03 em apart, so a cluster's last mark reaches ``_MARK_OVERHANG`` past the
# cluster's end, past any justification gap (at most 0.094 em); it also starts a word where a
# character starts within 0.1 em of the one before. pdfminer writes a space where a character
# starts more than 0.1 em right of the last one's end, and breaks the line between two
# characters of no width. pdf.js restarts its run, harmlessly, past 0.2 em back.
_MARK_SLOTS: dict[int, tuple[tuple[float, float], ...]] = {
    1: ((150.0, 150.0),),
    2: ((190.0, 105.0), (85.0, 85.0)),
}
_MARK_OVERHANG = 100.0


@dataclass(frozen=True, slots=True)
class MarkChar:
    """One character of a cluster after its first, spoken in the PDF by a glyph of the
    document's mark font (letters.markfont): its text, where its text origin sits relative to
    the pen after the cluster's first glyph, its width there, and the outlines it draws (the
    cluster's other glyphs: gid and offset from the text origin, thousandths of an em; the
    first mark of a cluster draws them all, the others draw nothing)."""

    text: str
    x: float
    width: float
    outlines: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True, slots=True)
class Glyph:
    gid: int
    # The PDF code point that draws this glyph and extracts as its text, or None for a glyph
    # that the text layer does not show: drawn by its cluster's marks (``covered``) or, where
    # it stands for no text of its own, as an outline form.
    code: int | None
    advance: float
    dx: float
    dy: float
    cluster: int  # start of this glyph's grapheme cluster in the shaped string
    # On a cluster's first glyph: the cluster's other characters, each a mark-font glyph.
    marks: tuple[MarkChar, ...] = ()
    covered: bool = False  # drawn by the marks of its cluster's first glyph


class _PdfPen:
    """A fontTools-style pen that writes PDF path operators."""

    def __init__(self) -> None:
        self.ops: list[str] = []
        self._last = (0.0, 0.0)

    def moveTo(self, p: tuple[float, float]) -> None:
        self.ops.append(f"{p[0]:g} {p[1]:g} m")
        self._last = p

    def lineTo(self, p: tuple[float, float]) -> None:
        self.ops.append(f"{p[0]:g} {p[1]:g} l")
        self._last = p

    def curveTo(self, *pts: tuple[float, float]) -> None:
        (x1, y1), (x2, y2), (x3, y3) = pts
        self.ops.append(f"{x1:g} {y1:g} {x2:g} {y2:g} {x3:g} {y3:g} c")
        self._last = pts[-1]

    def qCurveTo(self, *pts: tuple[float, float]) -> None:
        # TrueType quadratic splines: implied on-curve points between off-curve ones.
        *offs, end = pts
        start = self._last
        for n, off in enumerate(offs):
            nxt = (
                end
                if n == len(offs) - 1
                else ((off[0] + offs[n + 1][0]) / 2, (off[1] + offs[n + 1][1]) / 2)
            )
            c1 = (start[0] + 2 / 3 * (off[0] - start[0]), start[1] + 2 / 3 * (off[1] - start[1]))
            c2 = (nxt[0] + 2 / 3 * (off[0] - nxt[0]), nxt[1] + 2 / 3 * (off[1] - nxt[1]))
            self.curveTo(c1, c2, nxt)
            start = nxt

    def closePath(self) -> None:
        self.ops.append("h")


@dataclass(frozen=True, slots=True)
class Shaped:
    text: str
    glyphs: tuple[Glyph, ...]
    width: float  # thousandths of an em

    def points(self, size: float) -> float:
        return self.width * size / 1000.0


@dataclass(eq=False)
class ShapingFont:
    """One font file, registered with reportlab, shaped with HarfBuzz."""

    name: str
    path: Path
    rl: TextLayerTTFont
    _hb_font: hb.Font
    _outlines: dict[int, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, name: str, path: Path) -> ShapingFont:
        face = hb.Face(hb.Blob(path.read_bytes()))
        unscaled = hb.Font(face)  # advances in font units
        per_em = 1000.0 / face.upem
        widths = [unscaled.get_glyph_h_advance(g) * per_em for g in range(face.glyph_count)]
        rl = TextLayerTTFont(name, str(path), widths)
        pdfmetrics.registerFont(rl)
        hb_font = hb.Font(face)
        hb_font.scale = (1000, 1000)  # positions come out in thousandths of an em
        font = cls(name=name, path=path, rl=rl, _hb_font=hb_font)
        font.shape = lru_cache(maxsize=16384)(font._shape)  # type: ignore[method-assign]
        return font

    @property
    def ascent(self) -> float:
        return float(self.rl.face.ascent)

    @property
    def descent(self) -> float:
        return float(self.rl.face.descent)

    def ink(self, text: str) -> tuple[float, float]:
        """The lowest and highest ink of ``text`` as shaped, thousandths of an em above the
        baseline (for placing a line by its letters, not its line box)."""
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        with self._lock:
            hb.shape(self._hb_font, buf, {"kern": True, "liga": True})
            extents = [
                (self._hb_font.get_glyph_extents(info.codepoint), pos.y_offset)
                for info, pos in zip(buf.glyph_infos, buf.glyph_positions, strict=True)
            ]
        tops = [e.y_bearing + dy for e, dy in extents if e is not None]
        bottoms = [e.y_bearing + e.height + dy for e, dy in extents if e is not None]
        return float(min(bottoms, default=0)), float(max(tops, default=0))

    def has_char(self, char: str) -> bool:
        return ord(char) in self.rl.face.charToGlyph

    def shape(self, text: str) -> Shaped:  # replaced by a cached bound copy in load()
        return self._shape(text)

    def _shape(self, text: str) -> Shaped:
        buf = hb.Buffer()
        buf.add_str(text)
        buf.guess_segment_properties()
        buf.cluster_level = hb.BufferClusterLevel.MONOTONE_GRAPHEMES
        with self._lock:
            hb.shape(self._hb_font, buf, {"kern": True, "liga": True})
        infos = buf.glyph_infos
        positions = buf.glyph_positions
        x0s, pen = [], 0.0
        for pos in positions:
            x0s.append(pen + self._snap(pos.x_offset))
            pen += pos.x_advance
        n = len(infos)
        starts = [k for k in range(n) if k == 0 or infos[k].cluster != infos[k - 1].cluster]
        glyphs: list[Glyph] = []
        width = 0.0
        for a, b in itertools.pairwise([*starts, n]):
            end = infos[b].cluster if b < n else len(text)
            chars = text[infos[a].cluster : end].replace("\u00a0", " ")
            glyphs += self._cluster(chars, infos[a:b], positions[a:b])
            width += sum(float(p.x_advance) for p in positions[a:b])
        return Shaped(text=text, glyphs=tuple(glyphs), width=width)

    @staticmethod
    def _snap(dx: float) -> float:
        # A mark nudged right by at most 1/200 em (0.03 mm at 16 pt) is drawn at its base:
        # invisible on paper, and it keeps the glyph in the text layer (see _glyph_texts).
        return 0.0 if 0 < dx <= 5 else float(dx)

    def outline_ops(self, gid: int) -> str:
        """The glyph's outline as PDF path operators, in thousandths of an em."""
        cached = self._outlines.get(gid)
        if cached is None:
            pen = _PdfPen()
            with self._lock:
                self._hb_font.draw_glyph_with_pen(gid, pen)
            cached = self._outlines[gid] = " ".join(pen.ops)
        return cached

    def _cluster(
        self, chars: str, infos: list[hb.GlyphInfo], positions: list[hb.GlyphPosition]
    ) -> list[Glyph]:
        """One grapheme cluster's glyphs, each told what it speaks in the PDF's text layer.

        The first glyph speaks the cluster's first character (a no-break space speaks as an
        ordinary space: it only glues the layout). Each further character is a glyph of the
        mark font, in the order typed; the first of them draws the cluster's other glyphs as
        outlines where HarfBuzz put them, so what prints is what HarfBuzz shaped while readers
        meet each mark where their heuristics expect it (``_MARK_SLOTS``). A mark's text alone
        on the first glyph would not do: pdf.js gives no advance to any glyph whose text holds
        a mark. Where the cluster has one glyph, it speaks all its characters (a ligature);
        where it has glyphs but no characters left, they are drawn as silent outlines.
        """
        first, rest = chars[:1], chars[1:]
        first_info, first_pos = infos[0], positions[0]
        cluster = first_info.cluster
        dx0 = self._snap(first_pos.x_offset)
        if len(infos) == 1 or not rest:
            text = chars if len(infos) == 1 else first
            own = self.rl.glyph_width(first_info.codepoint) if dx0 == 0 else first_pos.x_advance
            code = self.rl.code_for(first_info.codepoint, text, max(0.0, own - dx0))
            glyphs = [
                Glyph(first_info.codepoint, code, float(first_pos.x_advance), dx0,
                      float(first_pos.y_offset), cluster)
            ]
            glyphs += [
                Glyph(i.codepoint, None, float(p.x_advance), self._snap(p.x_offset),
                      float(p.y_offset), cluster)
                for i, p in zip(infos[1:], positions[1:], strict=True)
            ]
            return glyphs
        # Outlines of the other glyphs relative to the pen after the first glyph.
        outlines: list[tuple[int, float, float]] = []
        pen = 0.0
        for info, pos in zip(infos[1:], positions[1:], strict=True):
            outlines.append((info.codepoint, pen + self._snap(pos.x_offset), float(pos.y_offset)))
            pen += pos.x_advance
        marks: list[MarkChar] = []
        cursor = 0.0  # text position relative to the pen after the first glyph
        run: list[str] = []

        def flush_marks() -> None:
            slots = _MARK_SLOTS.get(len(run), _MARK_SLOTS[2])
            for n, char in enumerate(run):
                back, wide = slots[min(n, len(slots) - 1)]
                marks.append(MarkChar(char, cursor - back, wide, ()))
            run.clear()

        spacing_left = pen
        for char in rest:
            if unicodedata.category(char) == "Mn":
                run.append(char)
                continue
            flush_marks()
            marks.append(MarkChar(char, cursor, spacing_left, ()))
            cursor += spacing_left
            spacing_left = 0.0
        flush_marks()
        tail = marks[-1]
        marks[-1] = MarkChar(tail.text, tail.x, tail.width + _MARK_OVERHANG, tail.outlines)
        head = marks[0]
        marks[0] = MarkChar(
            head.text,
            head.x,
            head.width,
            tuple((gid, ox - head.x, oy) for gid, ox, oy in outlines),
        )
        own = self.rl.glyph_width(first_info.codepoint) if dx0 == 0 else first_pos.x_advance
        code = self.rl.code_for(first_info.codepoint, first, max(0.0, own - dx0))
        glyphs = [
            Glyph(first_info.codepoint, code, float(first_pos.x_advance), dx0,
                  float(first_pos.y_offset), cluster, marks=tuple(marks))
        ]
        glyphs += [
            Glyph(i.codepoint, None, float(p.x_advance), self._snap(p.x_offset),
                  float(p.y_offset), cluster, covered=True)
            for i, p in zip(infos[1:], positions[1:], strict=True)
        ]
        return glyphs
