"""The mark font: a Type 3 font per document that draws a cluster's marks where HarfBuzz put
them while their text sits where PDF readers expect it.

A Thai mark drawn as a TrueType glyph must stand where it prints, and there it confuses the
readers' word finding (see ``letters.shaping._MARK_SLOTS``). A Type 3 glyph is a small content
stream: it can draw its outlines anywhere relative to its own origin, so its origin (where
readers see the character) and its width are free. Each glyph of this font speaks one
character (its ToUnicode entry) and the first mark of a cluster draws all the cluster's glyphs
after the first as filled outlines, in the current fill colour (``d1``), as the TrueType
glyphs would print.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from reportlab.pdfbase import pdfdoc

from letters.shaping import MarkChar, ShapingFont
from letters.textlayer import KEPT_FLATE, cmap_stream, subset_tag

# Code 33 is a blank glyph named ``a``, 0.5 em wide, never shown: poppler guesses a Type 3
# font's size from the width of its first glyph named with one letter (taken as 0.5 em; an
# ``m`` as 0.6 em in some versions, so there is none), and must find the marks' size equal to
# their base's to keep them in its word and line. Codes below 33 are not used: code
# 32 reads as a word space to some readers.
_SIZE_CODE = 33
_FIRST_CODE = 34
_CODES_PER_SUBSET = 256 - _FIRST_CODE


@dataclass
class MarkFont:
    """One shaping font's marks in one document: codes given out as marks are drawn."""

    font: ShapingFont
    prefix: str
    codes: dict[MarkChar, tuple[int, int]] = field(default_factory=dict)
    subsets: list[list[MarkChar]] = field(default_factory=list)

    def code_for(self, mark: MarkChar) -> tuple[int, int]:
        """(subset, code) of the glyph for ``mark``."""
        found = self.codes.get(mark)
        if found is None:
            if not self.subsets or len(self.subsets[-1]) == _CODES_PER_SUBSET:
                self.subsets.append([])
            subset = self.subsets[-1]
            found = self.codes[mark] = (len(self.subsets) - 1, _FIRST_CODE + len(subset))
            subset.append(mark)
        return found

    def internal_name(self, subset: int) -> str:
        return f"/{self.prefix}+{subset}"

    def box(self) -> tuple[int, int, int, int]:
        """The font's box, thousandths of an em: the TrueType font's box, widened by the
        furthest a mark's text origin sits from its outlines. Every glyph's ``d1`` box is this
        box: renderers (poppler's) refuse a glyph box outside the font's."""
        x0, y0, x1, y1 = self.font.rl.face.bbox
        reach = 400
        return (
            int(x0) - reach,
            min(int(y0), round(self.font.descent)),
            int(x1) + reach,
            max(int(y1), round(self.font.ascent)),
        )

    def _charproc(self, mark: MarkChar) -> bytes:
        x0, y0, x1, y1 = self.box()
        ops = [f"{mark.width:g} 0 {x0} {y0} {x1} {y1} d1"]
        for gid, ox, oy in mark.outlines:
            path = self.font.outline_ops(gid)
            if path:
                ops.append(f"q 1 0 0 1 {ox:g} {oy:g} cm {path} f Q")
        return "\n".join(ops).encode("latin-1")

    def addObjects(self, document: pdfdoc.PDFDocument) -> None:
        """Write each subset as a Type 3 font (reportlab calls this when the document is
        saved, as for its own delayed fonts)."""
        doc: Any = document  # reportlab's internals, which its type stubs do not describe
        for n, marks in enumerate(self.subsets):
            name = self.internal_name(n)[1:]
            face_name = self.font.rl.face.name.decode("latin-1") + "Marks"
            tag = subset_tag(face_name, [(m.text, m.x, m.width, m.outlines) for m in marks])
            font_name = f"{tag}+{face_name}"
            procs = pdfdoc.PDFDictionary()
            x0, y0, x1, y1 = self.box()
            blank = pdfdoc.PDFStream(content=f"500 0 {x0} {y0} {x1} {y1} d1".encode("ascii"))
            procs["a"] = doc.Reference(blank, f"{name}:a")
            names = [pdfdoc.PDFName("a")]
            # Glyphs that draw the same (the later marks of a cluster draw nothing) share one
            # stream: fewer objects for every bundle and the print file to carry.
            made: dict[bytes, pdfdoc.PDFObjectReference] = {}
            for k, mark in enumerate(marks):
                content = self._charproc(mark)
                glyph = f"g{k}"
                ref = made.get(content)
                if ref is None:
                    stream = pdfdoc.PDFStream(content=content)
                    if doc.compression:
                        stream.filters = [KEPT_FLATE]
                    ref = made[content] = doc.Reference(stream, f"{name}:{glyph}")
                procs[glyph] = ref
                names.append(pdfdoc.PDFName(glyph))
            last = _FIRST_CODE + len(marks) - 1
            font = pdfdoc.PDFDictionary(
                {
                    "Type": pdfdoc.PDFName("Font"),
                    "Subtype": pdfdoc.PDFName("Type3"),
                    "Name": pdfdoc.PDFName(font_name),
                    "FontBBox": pdfdoc.PDFArray([x0, y0, x1, y1]),
                    "FontMatrix": pdfdoc.PDFArray([0.001, 0, 0, 0.001, 0, 0]),
                    "CharProcs": procs,
                    "Encoding": pdfdoc.PDFDictionary(
                        {
                            "Type": pdfdoc.PDFName("Encoding"),
                            "Differences": pdfdoc.PDFArray([_SIZE_CODE, *names]),
                        }
                    ),
                    "FirstChar": _SIZE_CODE,
                    "LastChar": last,
                    "Widths": pdfdoc.PDFArray([500, *(round(m.width, 1) for m in marks)]),
                    "Resources": pdfdoc.PDFDictionary({}),
                }
            )
            ascent, descent = round(self.font.ascent), round(self.font.descent)
            font.dict["FontDescriptor"] = doc.Reference(
                pdfdoc.PDFDictionary(
                    {
                        "Type": pdfdoc.PDFName("FontDescriptor"),
                        "FontName": pdfdoc.PDFName(font_name),
                        "Flags": 4,  # symbolic
                        # pdfminer takes a Type 3 character's height from here: the
                        # TrueType font's ascent and descent keep marks on their line.
                        "FontBBox": pdfdoc.PDFArray([x0, descent, x1, ascent]),
                        "ItalicAngle": 0,
                        "Ascent": ascent,
                        "Descent": descent,
                        "CapHeight": ascent,
                        "StemV": 80,
                    }
                ),
                f"fontDescriptor:{name}",
            )
            font.dict["ToUnicode"] = doc.Reference(
                cmap_stream(
                    doc,
                    font_name,
                    [(_FIRST_CODE + k, m.text) for k, m in enumerate(marks)],
                ),
                f"toUnicodeCMap:{name}",
            )
            doc.idToObject["BasicFonts"].dict[name] = doc.Reference(font, name)


def mark_font(doc: pdfdoc.PDFDocument, font: ShapingFont) -> MarkFont:
    """The document's mark font for ``font``, made on first use."""
    fonts: dict[str, MarkFont] = doc.__dict__.setdefault("_saraban_mark_fonts", {})
    found = fonts.get(font.name)
    if found is None:
        found = fonts[font.name] = MarkFont(font, f"SM{len(fonts) + 1}")
        doc.delayedFonts.append(found)
    return found
