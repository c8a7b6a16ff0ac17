"""Writing shaped glyphs into a reportlab canvas as PDF text operators.

Every glyph is placed where HarfBuzz put it: mark offsets become TJ kerning and text rise, and
the difference between HarfBuzz's advance and the PDF font's width is corrected after each
glyph, so the text position never drifts.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from reportlab.lib.rl_accel import escapePDF, fp_str
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from letters.markfont import mark_font
from letters.shaping import Glyph, MarkChar, ShapingFont


# reportlab's canvas internals, which its type stubs do not describe: the document, the page's
# operators, and the forms the page uses.
def canvas_doc(canvas: Canvas) -> Any:
    return canvas._doc  # type: ignore[attr-defined]


def canvas_code(canvas: Canvas) -> list[str]:
    code: list[str] = canvas._code  # type: ignore[attr-defined]
    return code


def canvas_forms(canvas: Canvas) -> list[str]:
    forms: list[str] = canvas._formsinuse  # type: ignore[attr-defined]
    return forms


def glyph_operators(
    canvas: Canvas,
    font: ShapingFont,
    size: float,
    x: float,
    y: float,
    glyphs: Sequence[Glyph],
    extra: Sequence[float] | None = None,
) -> str:
    """PDF operators (``BT … ET``) that draw ``glyphs`` with the baseline starting at (x, y).

    ``extra[i]`` is space in points added after glyph ``i`` (justification). A cluster's first
    glyph is a TrueType glyph; its other characters are glyphs of the document's mark font
    (``letters.markfont``), which also draw the cluster's other glyphs.
    """
    if not glyphs:
        return ""
    rl = font.rl
    doc = canvas_doc(canvas)
    scale = size / 1000.0
    text = "".join(chr(g.code) for g in glyphs if g.code is not None)
    byte_codes: list[tuple[int, int]] = []
    for subset, chunk in rl.splitString(text, doc):
        byte_codes.extend((subset, b) for b in chunk)
    codes = iter(byte_codes)
    subsets = rl._assignState(doc).subsets  # type: ignore[attr-defined]
    marks = mark_font(doc, font) if any(g.marks for g in glyphs) else None
    outlines: list[str] = []
    pen_x = x

    ops = [f"BT 1 0 0 1 {fp_str(x)} {fp_str(y)} Tm"]
    current_font = ""
    current_subset = -1  # of the TrueType font
    current_rise = 0.0
    array: list[str] = []
    pending_move = 0.0  # points to move the text position before the next glyph
    run = bytearray()

    def flush_run() -> None:
        if run:
            array.append(f"({escapePDF(bytes(run))})")
            run.clear()

    def flush_array() -> None:
        flush_run()
        if array:
            ops.append(f"[{' '.join(array)}] TJ")
            array.clear()

    def use_font(name: str) -> None:
        nonlocal current_font
        if name != current_font:
            flush_array()
            ops.append(f"{name} {fp_str(size)} Tf")
            current_font = name

    def use_rise(rise: float) -> None:
        nonlocal current_rise
        if rise != current_rise:
            flush_array()
            ops.append(f"{fp_str(rise)} Ts")
            current_rise = rise

    per_point = -1000.0 / size
    names: dict[int, str] = {}
    widths = rl.face.charWidths
    default_width = rl.face.defaultWidth

    def show(byte: int, move: float) -> None:
        if move > 1e-6 or move < -1e-6:
            if run:
                array.append(f"({escapePDF(bytes(run))})")
                run.clear()
            array.append(fp_str(move * per_point))
        run.append(byte)

    for i, glyph in enumerate(glyphs):
        gap = extra[i] if extra else 0.0
        if glyph.covered:
            pending_move += glyph.advance * scale + gap
            pen_x += glyph.advance * scale + gap
            continue
        if glyph.code is None:
            outlines.append(
                f"q {fp_str(scale)} 0 0 {fp_str(scale)} {fp_str(pen_x + glyph.dx * scale)} "
                f"{fp_str(y + glyph.dy * scale)} cm {_outline_form(canvas, font, glyph.gid)} Do Q"
            )
            pending_move += glyph.advance * scale + gap
            pen_x += glyph.advance * scale + gap
            continue
        subset, byte = next(codes)
        if glyph.code == 32 and current_subset > 0 and len(subsets[current_subset]) > 32:
            # Every reportlab subset holds the space at code 32: staying in the current font
            # spares a font switch, after which pdfium drops a following space.
            subset, byte = current_subset, 32
        if subset != current_subset:
            name = names.get(subset)
            if name is None:
                name = names[subset] = rl.getSubsetInternalName(subset, doc)
            use_font(name)
            current_subset = subset
        elif current_font != names[subset]:
            use_font(names[subset])
        if glyph.dy or current_rise:
            use_rise(glyph.dy * scale)
        show(byte, pending_move + glyph.dx * scale)
        pdf_width = widths.get(glyph.code, default_width) * scale
        # From the text position after this glyph to the pen after it.
        pending_move = (glyph.advance - glyph.dx) * scale - pdf_width
        pen_x += glyph.advance * scale
        if glyph.marks and marks is not None:
            use_rise(0.0)
            for mark in glyph.marks:
                mark_subset, mark_byte = marks.code_for(mark)
                use_font(marks.internal_name(mark_subset))
                show(mark_byte, pending_move + mark.x * scale)
                pending_move = -(mark.x + mark.width) * scale
        pending_move += gap
        pen_x += gap
    flush_array()
    if current_rise:
        ops.append("0 Ts")
    ops.append("ET")
    return "\n".join(ops + outlines)


def pdf_canvas(out: Any, font: ShapingFont | None = None, **kwargs: Any) -> Canvas:
    """A reportlab canvas whose pages name no font they do not draw with.

    reportlab starts every page (and form) by selecting its initial font, Helvetica unless
    told otherwise, so each page's resources named a standard font that no page used and no
    file embedded: preflight tools flag it, pdf.js warns. A TrueType font as the initial font
    is selected only when drawn with, so nothing is named in vain.
    """
    if font is None:
        from letters.fonts import load_family

        font = load_family().regular
    make: Any = Canvas  # the stubs take the initial font's name for a size
    canvas: Canvas = make(out, initialFontName=font.rl.fontName, **kwargs)
    return canvas


def _outline_form(canvas: Canvas, font: ShapingFont, gid: int) -> str:
    """A form XObject holding the glyph's outline (defined once per document); its name."""
    name = f"glyph-{font.name}-{gid}"
    if not canvas.hasForm(name):
        canvas.beginForm(name, -2000, -2000, 3000, 3000)
        canvas_code(canvas).append(f"{font.outline_ops(gid)} f")
        canvas.endForm()
    canvas_forms(canvas).append(name)
    return "/" + str(canvas_doc(canvas).getXObjectName(name))


def _ops_cache(canvas: Canvas) -> dict[Hashable, tuple[str, list[str]]]:
    cache: dict[Hashable, tuple[str, list[str]]] = canvas.__dict__.setdefault("_saraban_ops", {})
    return cache


@dataclass(frozen=True)
class _Shared:
    """A line's operators kept across documents, with what they assume of the document: the
    subset codes its glyphs and marks were given (each document gives codes in order of first
    use, so the same lines drawn in the same order get the same codes)."""

    font: ShapingFont
    text: str  # the line's TrueType codes, each once, in order of first use
    marks: tuple[MarkChar, ...]  # its marks, each once, in order of first use
    signature: tuple[object, ...]
    ops: str


# The least recently used lines go first: warm renders of a letter and a mailout's chunks
# draw the same lines again and again.
_SHARED: OrderedDict[Hashable, _Shared] = OrderedDict()
_SHARED_KEPT = 4096


def _signature(
    canvas: Canvas, font: ShapingFont, text: str, marks: Sequence[MarkChar]
) -> tuple[object, ...]:
    """What the line's operators assume of this document: the codes and font names it gives
    the line's glyphs and marks. Asked in the order :func:`glyph_operators` first asks, so
    that a document gives out codes and names (and lists its fonts) exactly as it would
    drawing the line afresh."""
    doc = canvas_doc(canvas)
    rl = font.rl
    states: Any = rl.state  # reportlab's per-document code assignments
    state = states.get(doc)
    try:
        codes = tuple([state.assignments[c] for c in map(ord, text)])
    except (AttributeError, KeyError):  # codes not all given yet: give them as drawing would
        rl.splitString(text, doc)
        assignments = states[doc].assignments
        codes = tuple([assignments.get(c, 0) for c in map(ord, text)])
    fonts = mark_font(doc, font) if marks else None
    names = tuple(rl.getSubsetInternalName(n, doc) for n in dict.fromkeys(c >> 8 for c in codes))
    if fonts is None:
        return (codes, names)
    return (codes, names, fonts.prefix, tuple(fonts.code_for(mark) for mark in marks))


def draw_cached(canvas: Canvas, cache_key: Hashable) -> bool:
    """Draw what an earlier :func:`draw_glyphs` call kept under ``cache_key`` in this document
    or, where the document gives its glyphs the same codes, in an earlier one; False if none.

    Lets a caller skip building the glyphs (and their justification) for a repeated line.
    """
    cache = _ops_cache(canvas)
    hit = cache.get(cache_key)
    if hit is None:
        shared = _SHARED.get(cache_key)
        registered: object = pdfmetrics.getFont(shared.font.rl.fontName) if shared else None
        if shared is None or registered is not shared.font.rl:
            return False  # never drawn, or its font's name now names another font
        if _signature(canvas, shared.font, shared.text, shared.marks) != shared.signature:
            return False
        _SHARED.move_to_end(cache_key)
        hit = cache[cache_key] = (shared.ops, [])
    ops, forms = hit
    canvas_forms(canvas).extend(forms)
    if ops:
        canvas_code(canvas).append(ops)
    return True


def draw_glyphs(
    canvas: Canvas,
    font: ShapingFont,
    size: float,
    x: float,
    y: float,
    glyphs: Sequence[Glyph],
    extra: Sequence[float] | None = None,
    *,
    cache_key: Hashable | None = None,
) -> None:
    """Draw shaped glyphs on the canvas in the current fill colour.

    With a ``cache_key`` (which must name everything the drawing depends on), the operators
    are kept for the rest of the document, and for later documents that give the glyphs the
    same codes: a mailout's chunks repeat the same lines letter after letter.
    """
    if cache_key is not None and draw_cached(canvas, cache_key):
        return
    before = len(canvas_forms(canvas))
    ops = glyph_operators(canvas, font, size, x, y, glyphs, extra)
    if cache_key is not None:
        forms = canvas_forms(canvas)[before:]
        _ops_cache(canvas)[cache_key] = (ops, forms)
        if not forms:  # outline forms are the document's own: not shared
            # Codes and marks are given at their first use: the first of each is enough to
            # give them again, in order, and to check them.
            text = "".join(dict.fromkeys(chr(g.code) for g in glyphs if g.code is not None))
            marks = tuple(dict.fromkeys(m for g in glyphs for m in g.marks))
            _SHARED[cache_key] = _Shared(
                font, text, marks, _signature(canvas, font, text, marks), ops
            )
            _SHARED.move_to_end(cache_key)
            if len(_SHARED) > _SHARED_KEPT:
                _SHARED.popitem(last=False)
    if ops:
        canvas_code(canvas).append(ops)


def draw_text(
    canvas: Canvas, font: ShapingFont, size: float, x: float, y: float, text: str
) -> float:
    """Shape and draw one line of text; returns its width in points. Kept for the rest of the
    document like a cached :func:`draw_glyphs` call: headings and page furniture repeat."""
    shaped = font.shape(text)
    key = ("text", font.name, size, x, y, text)
    if not draw_cached(canvas, key):
        draw_glyphs(canvas, font, size, x, y, shaped.glyphs, cache_key=key)
    return shaped.points(size)


Run = tuple[ShapingFont, float, float, float, Sequence[Glyph]]  # font, size, x, y, glyphs


def draw_runs(canvas: Canvas, runs: Sequence[Run]) -> None:
    """Draw several runs, each in its own font and size, as one text object (``BT … ET``):
    readers take them for one line (a memo's bold label and the text after it), as they do
    one run. Each run starts where its x and y say."""
    texts: list[str] = []
    outlines: list[str] = []
    for font, size, x, y, glyphs in runs:
        ops = glyph_operators(canvas, font, size, x, y, glyphs)
        if not ops:
            continue
        lines = ops.split("\n")
        end = lines.index("ET")
        text = lines[:end]
        if texts:  # within one text object, a run starts by setting the text matrix anew
            text[0] = text[0].removeprefix("BT ")
        texts += text
        outlines += lines[end + 1 :]
    if texts:
        canvas_code(canvas).append("\n".join([*texts, "ET", *outlines]))
