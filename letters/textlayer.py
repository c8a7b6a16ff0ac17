"""A reportlab TrueType font whose PDF text layer gives back exactly the text that was typeset.

reportlab maps every subset code to one Unicode code point, the first one the font's cmap gives
its glyph. After HarfBuzz shaping that loses Thai: shifted and lowered marks are glyphs with
private-use or no code points, and SARA AM is split into NIKHAHIT + SARA AA. Here every glyph
drawn is given a code for the pair (glyph, text it stands for), and the ToUnicode CMap maps that
code to that text: a real character where the glyph is the character's own, the whole cluster's
text on its first glyph, and nothing (``<>``) on the cluster's other glyphs.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from reportlab.pdfbase import pdfdoc
from reportlab.pdfbase.ttfonts import TTFont

# Supplementary Private Use Area-A: never in real text, so never confused with a character.
_FIRST_VIRTUAL = 0xF0000


def _utf16_hex(text: str) -> str:
    return text.encode("utf-16-be").hex().upper()


def subset_tag(fontname: str, contents: Sequence[object]) -> str:
    """Six capital letters naming one subset of a font by what it holds (ISO 32000-1, 9.6.4).

    Equal subsets get equal tags and different ones, all but surely, different tags: across a
    mailout's print file a RIP or print server that keys fonts by name never takes one subset
    for another.
    """
    digest = hashlib.sha256(repr((fontname, list(contents))).encode("utf-8")).digest()
    value = int.from_bytes(digest[:8], "big")
    letters = []
    for _ in range(6):
        value, k = divmod(value, 26)
        letters.append(chr(ord("A") + k))
    return "".join(letters)


def to_unicode_cmap(fontname: str, entries: Sequence[tuple[int, str]]) -> str:
    """A ToUnicode CMap for one-byte codes; each code maps to its (maybe empty) text."""
    lines = [
        "/CIDInit /ProcSet findresource begin",
        "12 dict begin",
        "begincmap",
        "/CIDSystemInfo",
        f"<< /Registry ({fontname})",
        f"/Ordering ({fontname})",
        "/Supplement 0",
        ">> def",
        f"/CMapName /{fontname} def",
        "/CMapType 2 def",
        "1 begincodespacerange",
        "<00> <FF>",
        "endcodespacerange",
    ]
    mapped = [f"<{code:02X}> <{_utf16_hex(text)}>" for code, text in entries]
    # A bfchar block holds at most 100 entries.
    for start in range(0, len(mapped), 100):
        chunk = mapped[start : start + 100]
        lines += [f"{len(chunk)} beginbfchar", *chunk, "endbfchar"]
    lines += ["endcmap", "CMapName currentdict /CMap defineresource pop", "end", "end"]
    return "\n".join(lines)


def cmap_stream(
    doc: pdfdoc.PDFDocument, fontname: str, entries: Sequence[tuple[int, str]]
) -> pdfdoc.PDFStream:
    stream = pdfdoc.PDFStream()
    stream.content = to_unicode_cmap(fontname, entries)
    if doc.compression:
        stream.filters = [KEPT_FLATE]
    return stream


class _KeptFlate(pdfdoc.PDFStreamFilterZCompress):
    """reportlab's Flate filter, remembering what it compressed last: a font subset, a mark
    glyph or a page that every letter of a mailout (or every warm render of a letter) embeds is
    compressed once. (Enough kept for a few documents' streams: an LRU smaller than one
    document's set of streams would miss every time.)"""

    def __init__(self, kept: int = 1024) -> None:
        self._done: OrderedDict[bytes, bytes] = OrderedDict()
        self._kept = kept

    def encode(self, text: str | bytes) -> bytes:
        data = text.encode("utf8") if isinstance(text, str) else text
        done = self._done.get(data)
        if done is None:
            done = self._done[data] = super().encode(data)
            if len(self._done) > self._kept:
                self._done.popitem(last=False)
        else:
            self._done.move_to_end(data)
        return done


KEPT_FLATE = _KeptFlate()


class TextLayerTTFont(TTFont):
    """TTFont with per-(glyph, text) codes and a ToUnicode CMap that honours them."""

    def __init__(self, name: str, filename: str, glyph_widths: list[float]) -> None:
        """``glyph_widths``: every glyph's advance in thousandths of an em.

        They come from the caller (HarfBuzz) because reportlab's ``hmetrics`` holds raw font
        units only for the first ``numberOfHMetrics`` glyphs and already-scaled ones after:
        in a monospaced font, which lists one advance for all, nearly every width is off.
        """
        super().__init__(name, filename, shapable=False)
        self.code_text: dict[int, str] = {}
        self._codes: dict[tuple[int, str, float], int] = {}
        self._next_virtual = _FIRST_VIRTUAL
        self._glyph_widths = [round(w, 1) for w in glyph_widths]
        # The same reportlab bug reaches the embedded subset: its hmtx table is written from
        # ``hmetrics``, so past ``numberOfHMetrics`` glyphs advanced a fraction of their width
        # (a monospaced font's 1233 units written as 602) and MuPDF, which reads advances from
        # the font program, found a space after every character. Font units, from HarfBuzz.
        face = self.face
        # A subset's font program depends only on its codes (a code never changes its glyph):
        # made once, not once per document.
        made: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        make_subset = face.makeSubset

        def kept_subset(subset: Sequence[int]) -> bytes:
            key = tuple(subset)
            program = made.get(key)
            if program is None:
                program = made[key] = make_subset(subset)
                if len(made) > 64:
                    made.popitem(last=False)
            return program

        face.makeSubset = kept_subset  # type: ignore[method-assign]
        per_unit = face.unitsPerEm / 1000.0
        face.hmetrics = [
            (round(glyph_widths[gid] * per_unit) if gid < len(glyph_widths) else aw, lsb)
            for gid, (aw, lsb) in enumerate(face.hmetrics)
        ]

    def glyph_width(self, gid: int) -> float:
        """Advance of a glyph in thousandths of an em, as the PDF's Widths array holds it."""
        return self._glyph_widths[gid] if gid < len(self._glyph_widths) else 0.0

    def code_for(self, gid: int, text: str, width: float) -> int:
        """The code point that draws glyph ``gid``, extracts as ``text`` and advances ``width``.

        ``width`` (thousandths of an em) becomes the code's entry in the PDF Widths array.
        """
        width = round(width, 1)
        key = (gid, text, width)
        code = self._codes.get(key)
        if code is not None:
            return code
        face = self.face
        if (
            len(text) == 1
            and face.charToGlyph.get(ord(text)) == gid
            and round(face.charWidths.get(ord(text), -1.0), 1) == width
        ):
            code = ord(text)
        else:
            code = self._next_virtual
            self._next_virtual += 1
            face.charToGlyph[code] = gid
            face.charWidths[code] = width
            self.code_text[code] = text
        self._codes[key] = code
        return code

    def addObjects(self, document: pdfdoc.PDFDocument) -> None:
        """As ``TTFont.addObjects``, with the exact ToUnicode CMap."""
        # reportlab's internals, which its type stubs do not describe.
        doc: Any = document
        state: Any = self._assignState(doc)  # type: ignore[attr-defined]
        state.frozen = 1
        face: Any = self.face
        for n, subset in enumerate(state.subsets):
            internal_name = self.getSubsetInternalName(n, doc)[1:]
            contents = [
                (face.charToGlyph.get(c, 0), face.getCharWidth(c), self.code_text.get(c, chr(c)))
                for c in subset
            ]
            tag = subset_tag(face.name.decode("latin-1") + face.subfontNameX.decode("latin-1"),
                             contents)
            base_font_name = b"".join(
                (tag.encode("ascii"), b"+", face.name, face.subfontNameX)
            ).decode("pdfdoc")

            pdf_font: Any = pdfdoc.PDFTrueTypeFont()
            pdf_font.__Comment__ = f"Font {self.fontName} subset {n}"
            pdf_font.Name = internal_name
            pdf_font.BaseFont = base_font_name
            pdf_font.FirstChar = 0
            pdf_font.LastChar = len(subset) - 1
            pdf_font.Widths = pdfdoc.PDFArray([face.getCharWidth(c) for c in subset])
            entries = [(i, self.code_text.get(code, chr(code))) for i, code in enumerate(subset)]
            pdf_font.ToUnicode = doc.Reference(
                cmap_stream(doc, base_font_name, entries), "toUnicodeCMap:" + base_font_name
            )
            pdf_font.FontDescriptor = face.addSubsetObjects(doc, base_font_name, subset)
            font_file = doc.idToObject.get(f"fontFile:{face.filename}({base_font_name})")
            if font_file is not None and doc.compression:
                font_file.filters = [KEPT_FLATE]

            doc.Reference(pdf_font, internal_name)
            doc.idToObject["BasicFonts"].dict[internal_name] = pdf_font
        del self.state[doc]
