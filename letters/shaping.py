"""HarfBuzz shaping into glyphs that remember the text they stand for.

Units: glyph advances and offsets are in thousandths of an em; multiply by ``size / 1000`` for
points. Shaping is per word (Thai marks never attach across a word boundary) and cached.
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import uharfbuzz as hb
from reportlab.pdfbase import pdfmetrics

from letters.textlayer import TextLayerTTFont

# The Windows/Mac Thai private-use convention for positional forms of marks (U+F700–U+F71A).
_PUA_NOMINAL = {
    0xF700: "\u0e10",
    0xF70F: "\u0e0d",
    0xF701: "\u0e34",
    0xF702: "\u0e35",
    0xF703: "\u0e36",
    0xF704: "\u0e37",
    0xF710: "\u0e31",
    0xF711: "\u0e4d",
    0xF712: "\u0e47",
    0xF718: "\u0e38",
    0xF719: "\u0e39",
    0xF71A: "\u0e3a",
}
for _start in (0xF705, 0xF70A, 0xF713):
    for _i, _mark in enumerate("\u0e48\u0e49\u0e4a\u0e4b\u0e4c"):
        _PUA_NOMINAL[_start + _i] = _mark

_UNI_NAME = re.compile(r"^uni([0-9A-F]{4})(?:\..*)?$")


@dataclass(frozen=True, slots=True)
class Glyph:
    gid: int
    # The PDF code point that draws this glyph and extracts as its text, or None for a glyph
    # that stands for no text of its own (the NIKHAHIT of a split SARA AM): it is drawn as an
    # outline so that extractors, which handle an empty ToUnicode entry unevenly, see nothing.
    code: int | None
    advance: float
    dx: float
    dy: float
    cluster: int  # start of this glyph's grapheme cluster in the shaped string


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
    _nominal: dict[int, str] = field(default_factory=dict)
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
        font._nominal = font._nominal_chars()
        font.shape = lru_cache(maxsize=16384)(font._shape)  # type: ignore[method-assign]
        return font

    @property
    def ascent(self) -> float:
        return float(self.rl.face.ascent)

    @property
    def descent(self) -> float:
        return float(self.rl.face.descent)

    def has_char(self, char: str) -> bool:
        return ord(char) in self.rl.face.charToGlyph

    def _nominal_chars(self) -> dict[int, str]:
        """For each glyph the character it is a form of, from the cmap, the PUA table and names."""
        nominal: dict[int, str] = {}
        for gid, chars in self.rl.face.glyphToChar.items():
            for char in chars:
                if 0xF700 <= char <= 0xF71A:
                    nominal.setdefault(gid, _PUA_NOMINAL.get(char, ""))
                elif char < 0xE000 or char > 0xF8FF:
                    nominal[gid] = chr(char)
                    break
        for gid in range(len(self.rl.face.hmetrics)):
            if gid not in nominal:
                match = _UNI_NAME.match(self._hb_font.glyph_to_string(gid))
                if match:
                    nominal[gid] = chr(int(match.group(1), 16))
        return nominal

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
        texts = self._glyph_texts(
            text,
            [i.codepoint for i in infos],
            [i.cluster for i in infos],
            x0s,
            pen,
            [pos.y_offset != 0 for pos in positions],
        )
        glyphs = []
        width = 0.0
        for info, pos, glyph_text in zip(infos, positions, texts, strict=True):
            gid, advance, dx = info.codepoint, float(pos.x_advance), self._snap(pos.x_offset)
            code = None
            if glyph_text is not None:
                # A shifted mark's PDF width brings the text position back to the pen, so
                # extractors see no gap after it and need no correcting move.
                pdf_width = self.rl.glyph_width(gid) if dx == 0 else max(0.0, advance - dx)
                code = self.rl.code_for(gid, glyph_text, pdf_width)
            glyphs.append(
                Glyph(
                    gid=gid,
                    code=code,
                    advance=advance,
                    dx=dx,
                    dy=float(pos.y_offset),
                    cluster=info.cluster,
                )
            )
            width += advance
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

    def _glyph_texts(
        self,
        text: str,
        gids: list[int],
        clusters: list[int],
        x0s: list[float],
        width: float,
        raised: list[bool],
    ) -> list[str | None]:
        """Split ``text`` over the glyphs so that, read in drawing order, they give it back.

        Each speaking glyph of a cluster gets a non-empty, consecutive piece of the cluster's
        text: its own character where glyphs and characters match one to one, else the pieces in
        order (so reordered marks still read back in the typed order). A glyph is silent (None)
        where its cluster has more glyphs than characters (the NIKHAHIT of a split SARA AM), or
        where it would start to the right of a later glyph (pdfplumber starts a new word
        whenever a character begins left of the one before it), or where it is raised or
        lowered off the baseline (a lowered vowel under ฎ can drop far enough for extractors
        to put it on a line of its own).
        """
        n = len(gids)
        silent: set[int] = set()
        starts = [k for k in range(n) if k == 0 or clusters[k] != clusters[k - 1]]
        bounds = [*starts, n]
        for a, b in itertools.pairwise(bounds):
            chars = text[clusters[a] : clusters[b] if b < n else len(text)]
            surplus = (b - a) - len(chars)
            if surplus > 0:
                group = range(a, b)
                strangers = [k for k in group if self._nominal.get(gids[k], "") not in chars]
                silent.update((strangers + list(reversed(group)))[:surplus])
        first_of_cluster = set(starts)
        silent.update(k for k in range(n) if raised[k] and k not in first_of_cluster)
        running_min = width
        for k in reversed(range(n)):
            if k in silent:
                continue
            if x0s[k] > running_min + 1e-6 and k not in first_of_cluster:
                silent.add(k)
            else:
                running_min = min(running_min, x0s[k])
        out: list[str | None] = [None] * n
        for a, b in itertools.pairwise(bounds):
            chars = text[clusters[a] : clusters[b] if b < n else len(text)]
            speaking = [k for k in range(a, b) if k not in silent] or [a]
            first_piece = len(chars) - (len(speaking) - 1)
            out[speaking[0]] = chars[:first_piece]
            for offset, k in enumerate(speaking[1:], start=first_piece):
                out[k] = chars[offset]
        return out
