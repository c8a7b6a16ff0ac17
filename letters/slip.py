"""Credential slips: one college's username and one-time password for the e-MVS system.

The slip follows OVEC's printed slip (shared/seed): the system's name in Thai and English, the
college's name, a framed table with รหัสสถานศึกษา (Username) and รหัสผ่าน (Password) with the
password policy's hint, and the issuing unit at the foot. Username and password are set in
DejaVu Sans Mono Bold, whose 0/O, 1/l/I and rn/m are easy to tell apart; every character is
shaped on its own, so no ligature can merge two of them.

Speed: a mailout prints one slip per college (hundreds to thousands). Everything that is the same
on every slip (frame, grid, system name, labels, issuer) is laid out once per :class:`SlipText`
and font family; the frame and grid are one form XObject, and the fixed text's operators are
built once per PDF and repeated in each slip's own content, in reading order (text inside a form
XObject runs into its neighbours in pdf.js, which starts no new line at a form's edge).

Secrecy: a :class:`Slip`'s password is left out of its ``repr``, never logged, never put in an
exception message, and never shaped through the font's shaping cache (which would keep it in
memory for the life of the process).
"""

from __future__ import annotations

import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Literal

from reportlab.lib.colors import Color, black
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from letters.fonts import FONTS_DIR, FontFamily, load_family
from letters.paragraph import TextStyle, placed_lines
from letters.pdfglyphs import draw_glyphs, pdf_canvas
from letters.shaping import Glyph, ShapingFont

DEFAULT_SYSTEM_TH = ("ระบบติดตามและประเมินผลการขับเคลื่อน", "การจัดการอาชีวศึกษา : e-MVS")
DEFAULT_SYSTEM_EN = "(electronic Monitoring and Evaluation Vocational System : e-MVS)"
DEFAULT_ISSUER = ("สำนักติดตามและประเมินผลการอาชีวศึกษา", "สำนักงานคณะกรรมการการอาชีวศึกษา")
DEFAULT_HINT = "ตัวอักษรภาษาอังกฤษตัวพิมพ์เล็ก"
USERNAME_LABEL = ("รหัสสถานศึกษา", "(Username)")
PASSWORD_LABEL = ("รหัสผ่าน", "(Password)")

MONO_FILES = {"regular": "DejaVuSansMono.ttf", "bold": "DejaVuSansMono-Bold.ttf"}
PER_PAGE = (1, 2, 4)
MAX_VALUE_CHARS = 32

HINT_COLOR = Color(0.2, 0.2, 0.2)
CUT_COLOR = Color(0.45, 0.45, 0.45)


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _printable_ascii(value: str) -> bool:
    return bool(value) and all("!" <= ch <= "~" for ch in value)


@dataclass(frozen=True)
class SlipText:
    """What every slip of one mailout says besides its college's values."""

    system_th: tuple[str, ...] = DEFAULT_SYSTEM_TH
    system_en: str = DEFAULT_SYSTEM_EN
    issuer: tuple[str, ...] = DEFAULT_ISSUER
    hint: str = DEFAULT_HINT  # the password policy in words; "" prints none

    def __post_init__(self) -> None:
        object.__setattr__(self, "system_th", tuple(_nfc(s.strip()) for s in self.system_th))
        object.__setattr__(self, "system_en", _nfc(self.system_en.strip()))
        object.__setattr__(self, "issuer", tuple(_nfc(s.strip()) for s in self.issuer))
        object.__setattr__(self, "hint", _nfc(self.hint.strip()))


@dataclass(frozen=True)
class Slip:
    """One college's credentials. ``repr`` never shows the password."""

    college_name: str
    code: str
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        name = _nfc(str(self.college_name).strip())
        if not name:
            raise ValueError("slip: college name must not be empty")
        object.__setattr__(self, "college_name", name)
        code = str(self.code).strip()
        if not _printable_ascii(code) or len(code) > MAX_VALUE_CHARS:
            raise ValueError(
                f"slip for {name}: code must be 1-{MAX_VALUE_CHARS} printable ASCII characters "
                f"without spaces, got {code!r}"
            )
        object.__setattr__(self, "code", code)
        # Never echo the password: say what is wrong with it, not what it is.
        if not isinstance(self.password, str):
            raise TypeError(f"slip for {code}: password must be text")
        if not _printable_ascii(self.password) or len(self.password) > MAX_VALUE_CHARS:
            raise ValueError(
                f"slip for {code}: password must be 1-{MAX_VALUE_CHARS} printable ASCII "
                "characters without spaces"
            )


SAMPLE_SLIP = Slip(college_name="วิทยาลัย.....", code="1234567890", password="ab12cde")


@cache
def mono_font(style: Literal["regular", "bold"] = "bold") -> ShapingFont:
    """DejaVu Sans Mono (bundled in ``fonts/``), for usernames and passwords."""
    return ShapingFont.load(f"dejavusansmono-{style}", FONTS_DIR / MONO_FILES[style])


def shape_chars(font: ShapingFont, text: str) -> list[Glyph]:
    """Glyphs for ``text`` shaped one character at a time: no ligatures, and only single
    characters enter the font's shaping cache (so a password is never kept there)."""
    glyphs: list[Glyph] = []
    for ch in text:
        glyphs.extend(font.shape(ch).glyphs)
    return glyphs


def _advance(font: ShapingFont, glyphs: Sequence[Glyph], size: float) -> float:
    return sum(g.advance for g in glyphs) * size / 1000.0


# --------------------------------------------------------------------------------------------
# Layout: all in points, in the slip's own coordinates (origin at its bottom-left corner).


@dataclass(frozen=True)
class SlipLayout:
    width: float = 180 * mm
    pad: float = 7 * mm  # inside the frame
    frame_gap: float = 1.2 * mm  # between the outer and the inner rule of the frame
    label_width: float = 62 * mm  # the table's label column
    cell_pad: float = 3 * mm
    system_size: float = 20.0  # nominal (TH SarabunPSK) points
    system_leading: float = 24.0
    english_size: float = 15.0
    english_leading: float = 18.0
    name_sizes: tuple[float, ...] = (26.0, 24.0, 22.0, 20.0, 18.0)  # largest that fits one line
    name_band: float = 54.0  # height reserved for the college's name (two lines at 18)
    name_leading: float = 23.0  # when it takes two lines
    label_size: float = 16.0
    label_leading: float = 19.0
    hint_size: float = 15.0
    hint_leading: float = 16.0
    value_size: float = 17.0  # DejaVu Sans Mono Bold, real points
    issuer_size: float = 16.0
    issuer_leading: float = 19.0
    gap: float = 8.0


@dataclass(frozen=True)
class _Run:
    """One line of shaped text at its place."""

    font: ShapingFont
    size: float
    x: float
    y: float
    glyphs: tuple[Glyph, ...]
    color: Color = black


def _paragraph_runs(
    text: str, style: TextStyle, x: float, top: float, width: float
) -> tuple[list[_Run], float]:
    """Lines of ``text`` broken at Thai word boundaries to ``width``, hanging from ``top``."""
    lines, height = placed_lines(text, style, width)
    runs = [
        _Run(style.font, style.size, x + lx, top - height + ly, glyphs, style.color)
        for lx, ly, glyphs in lines
    ]
    return runs, height


@dataclass(frozen=True)
class _Design:
    """Everything about a slip that does not depend on the college, laid out once."""

    layout: SlipLayout
    height: float
    frame: list[tuple[float, float, float, float, float]]  # rects: x, y, w, h, line width
    rules: list[tuple[float, float, float, float, float]]  # lines: x1, y1, x2, y2, width
    header: list[_Run]
    username_label: list[_Run]
    password_label: list[_Run]
    issuer: list[_Run]
    name_top: float
    name_box: tuple[float, float]  # x, width
    username_mid: float  # vertical middle of the username's cell
    password_mid: float
    value_box: tuple[float, float]  # x, width of the value column's inside


@lru_cache(maxsize=16)
def _design(text: SlipText, family: FontFamily, layout: SlipLayout) -> _Design:
    lay = layout
    inner_x = lay.pad
    inner_w = lay.width - 2 * lay.pad
    regular, bold = family.regular, family.bold

    def style(font: ShapingFont, nominal: float, leading: float, **kw: object) -> TextStyle:
        return TextStyle(font=font, size=family.size(nominal), leading=leading, **kw)  # type: ignore[arg-type]

    # Laid out from the top at y = 0 downwards; shifted up by the height at the end.
    y = -lay.pad
    header: list[_Run] = []
    for line in text.system_th:
        runs, h = _paragraph_runs(
            line,
            style(bold, lay.system_size, lay.system_leading, align="center"),
            inner_x,
            y,
            inner_w,
        )
        header += runs
        y -= h
    if text.system_en:
        runs, h = _paragraph_runs(
            text.system_en,
            style(regular, lay.english_size, lay.english_leading, align="center"),
            inner_x,
            y,
            inner_w,
        )
        header += runs
        y -= h
    y -= lay.gap * 0.6
    header_rule = y
    y -= lay.gap * 0.6
    name_top = y
    y -= lay.name_band + lay.gap * 0.5

    # The credentials table: label column, value column; one row each.
    table_top = y
    label_x = inner_x + lay.cell_pad
    label_w = lay.label_width - 2 * lay.cell_pad
    value_x = inner_x + lay.label_width
    value_w = inner_w - lay.label_width

    def label_block(lines: Sequence[str], hint: str, top: float) -> tuple[list[_Run], float]:
        runs: list[_Run] = []
        y0 = top - lay.cell_pad
        for n, line in enumerate(lines):
            font = bold if n == 0 else regular
            r, h = _paragraph_runs(
                line, style(font, lay.label_size, lay.label_leading), label_x, y0, label_w
            )
            runs += r
            y0 -= h
        if hint:
            r, h = _paragraph_runs(
                hint,
                style(regular, lay.hint_size, lay.hint_leading, color=HINT_COLOR),
                label_x,
                y0 - 2,
                label_w,
            )
            runs += r
            y0 -= h + 2
        return runs, top - y0 + lay.cell_pad

    username_label, row1 = label_block(USERNAME_LABEL, "", table_top)
    row1 = max(row1, lay.value_size * 2.2)
    password_label, row2 = label_block(PASSWORD_LABEL, text.hint, table_top - row1)
    row2 = max(row2, lay.value_size * 2.2)
    table_bottom = table_top - row1 - row2
    y = table_bottom - lay.gap

    issuer: list[_Run] = []
    for line in text.issuer:
        runs, h = _paragraph_runs(
            line,
            style(regular, lay.issuer_size, lay.issuer_leading, align="center"),
            inner_x,
            y,
            inner_w,
        )
        issuer += runs
        y -= h
    height = -(y - lay.pad * 0.8)

    def up(runs: list[_Run]) -> list[_Run]:
        return [_Run(r.font, r.size, r.x, r.y + height, r.glyphs, r.color) for r in runs]

    g = lay.frame_gap
    frame = [
        (0.0, 0.0, lay.width, height, 1.2),
        (g, g, lay.width - 2 * g, height - 2 * g, 0.4),
        (inner_x, table_bottom + height, inner_w, row1 + row2, 0.6),
    ]
    rules = [
        (inner_x, header_rule + height, inner_x + inner_w, header_rule + height, 0.6),
        (inner_x, table_top - row1 + height, inner_x + inner_w, table_top - row1 + height, 0.6),
        (value_x, table_top + height, value_x, table_bottom + height, 0.6),
    ]
    return _Design(
        layout=lay,
        height=height,
        frame=frame,
        rules=rules,
        header=up(header),
        username_label=up(username_label),
        password_label=up(password_label),
        issuer=up(issuer),
        name_top=name_top + height,
        name_box=(inner_x, inner_w),
        username_mid=table_top - row1 / 2 + height,
        password_mid=table_top - row1 - row2 / 2 + height,
        value_box=(value_x + lay.cell_pad, value_w - 2 * lay.cell_pad),
    )


def _draw_runs(canvas: Canvas, runs: Sequence[_Run], *, repeated: bool = False) -> None:
    """Draw text runs; ``repeated`` runs (the fixed text of every slip) keep their operators
    for the rest of the document."""
    color = None
    for run in runs:
        if run.color != color:
            canvas.setFillColor(run.color)
            color = run.color
        key = (
            ("slip-run", run.font.name, run.size, run.x, run.y, tuple(g.gid for g in run.glyphs))
            if repeated
            else None
        )
        draw_glyphs(canvas, run.font, run.size, run.x, run.y, run.glyphs, cache_key=key)
    if color is not None and color != black:
        canvas.setFillColor(black)


_FRAME_FORM = "slip-frame"


def _define_forms(canvas: Canvas, design: _Design) -> None:
    """The slip's frame and grid as a form XObject."""
    w, h = design.layout.width, design.height
    canvas.beginForm(_FRAME_FORM, 0, 0, w, h)
    canvas.setStrokeColor(black)
    for x, y, rw, rh, lw in design.frame:
        canvas.setLineWidth(lw)
        canvas.rect(x, y, rw, rh, stroke=1, fill=0)
    for x1, y1, x2, y2, lw in design.rules:
        canvas.setLineWidth(lw)
        canvas.line(x1, y1, x2, y2)
    canvas.endForm()


def _name_runs(design: _Design, family: FontFamily, name: str) -> list[_Run]:
    """The college's name, bold, as large as fits one line; else two lines at the smallest.
    Raises ValueError if it does not fit in two."""
    lay = design.layout
    x, width = design.name_box
    mid = design.name_top - lay.name_band / 2
    font = family.bold
    shaped = font.shape(name)
    for nominal in lay.name_sizes:
        size = family.size(nominal)
        w = shaped.points(size)
        if w <= width:
            # Thai sits a little above the middle of its line: centre on the x-height band.
            return [_Run(font, size, x + (width - w) / 2, mid - size * 0.28, tuple(shaped.glyphs))]
    style = TextStyle(
        font=font, size=family.size(lay.name_sizes[-1]), leading=lay.name_leading, align="center"
    )
    runs, h = _paragraph_runs(name, style, x, mid + lay.name_leading, width)
    if h > 2 * lay.name_leading + 1e-6:
        raise ValueError(f"college name too long for the slip (two lines at most): {name}")
    return runs


def _draw_name(canvas: Canvas, design: _Design, family: FontFamily, name: str) -> None:
    _draw_runs(canvas, _name_runs(design, family, name))


def check_slip_name(
    name: str,
    text: SlipText = SlipText(),
    *,
    family: FontFamily | None = None,
    layout: SlipLayout | None = None,
) -> None:
    """Raise ValueError if ``name`` cannot be printed on a slip (so a mailout or a reissue can
    refuse it before anything is issued)."""
    family = family or load_family()
    design = _design(text, family, layout or SlipLayout())
    smallest = family.size(design.layout.name_sizes[-1])
    # The font's own advances, summed, are a close estimate of the shaped width; a name well
    # inside one line needs no shaping (a roster of thousands is checked in milliseconds).
    if family.bold.rl.stringWidth(name, smallest) <= design.name_box[1] * 0.8:
        return
    _name_runs(design, family, _nfc(name))


def _draw_value(canvas: Canvas, design: _Design, mid: float, value: str) -> None:
    """A username or password, centred in its cell, each character shaped on its own."""
    font = mono_font("bold")
    x, width = design.value_box
    size = design.layout.value_size
    glyphs = shape_chars(font, value)
    w = _advance(font, glyphs, size)
    if w > width:
        size *= width / w
        w = width
    draw_glyphs(canvas, font, size, x + (width - w) / 2, mid - size * 0.36, glyphs)


def _draw_slip(canvas: Canvas, design: _Design, family: FontFamily, slip: Slip) -> None:
    canvas.doForm(_FRAME_FORM)
    _draw_runs(canvas, design.header, repeated=True)
    _draw_name(canvas, design, family, slip.college_name)
    _draw_runs(canvas, design.username_label, repeated=True)
    _draw_value(canvas, design, design.username_mid, slip.code)
    _draw_runs(canvas, design.password_label, repeated=True)
    _draw_value(canvas, design, design.password_mid, slip.password)
    _draw_runs(canvas, design.issuer, repeated=True)


def _cells(
    per_page: int, design: _Design
) -> tuple[tuple[float, float], list[tuple[float, float, float]], list[tuple[float, ...]]]:
    """Page size, each slip's (x, y, scale), and the dashed cut lines, for ``per_page``."""
    w, h = design.layout.width, design.height
    if per_page == 1:
        page_w, page_h = A4
        return A4, [((page_w - w) / 2, page_h - 20 * mm - h, 1.0)], []
    if per_page == 2:
        page_w, page_h = A4
        cell_h = page_h / 2
        scale = min(1.0, (cell_h - 16 * mm) / h, (page_w - 16 * mm) / w)
        sw, sh = w * scale, h * scale
        places = [
            ((page_w - sw) / 2, cell_h * (1 - row) + (cell_h - sh) / 2, scale) for row in (0, 1)
        ]
        return A4, places, [(0, cell_h, page_w, cell_h)]
    page_w, page_h = landscape(A4)  # four A6 slips, two by two
    cell_w, cell_h = page_w / 2, page_h / 2
    scale = min(1.0, (cell_w - 12 * mm) / w, (cell_h - 12 * mm) / h)
    sw, sh = w * scale, h * scale
    places = [
        (cell_w * col + (cell_w - sw) / 2, cell_h * (1 - row) + (cell_h - sh) / 2, scale)
        for row in (0, 1)
        for col in (0, 1)
    ]
    return (page_w, page_h), places, [(0, cell_h, page_w, cell_h), (cell_w, 0, cell_w, page_h)]


def _draw_cut_lines(canvas: Canvas, lines: Sequence[tuple[float, ...]]) -> None:
    if not lines:
        return
    canvas.saveState()
    canvas.setStrokeColor(CUT_COLOR)
    canvas.setLineWidth(0.5)
    canvas.setDash(4, 3)
    for x1, y1, x2, y2 in lines:
        canvas.line(x1, y1, x2, y2)
    canvas.restoreState()


def draw_slips(
    canvas: Canvas,
    slips: Sequence[Slip],
    text: SlipText = SlipText(),
    *,
    per_page: int = 1,
    family: FontFamily | None = None,
    layout: SlipLayout | None = None,
) -> None:
    """Draw the slips as pages of ``canvas`` (one per A4 page, or 2 or 4 with cut lines)."""
    if per_page not in PER_PAGE:
        raise ValueError(f"per_page must be one of {PER_PAGE}, got {per_page!r}")
    if not slips:
        raise ValueError("no slips to render")
    family = family or load_family()
    design = _design(text, family, layout or SlipLayout())
    pagesize, places, cut_lines = _cells(per_page, design)
    _define_forms(canvas, design)
    pages = math.ceil(len(slips) / per_page)
    for page in range(pages):
        canvas.setPageSize(pagesize)
        batch = slips[page * per_page : (page + 1) * per_page]
        if per_page > 1:
            _draw_cut_lines(canvas, cut_lines)
        for slip, (x, y, scale) in zip(batch, places, strict=False):
            canvas.saveState()
            canvas.translate(x, y)
            if scale != 1.0:
                canvas.scale(scale, scale)
            _draw_slip(canvas, design, family, slip)
            canvas.restoreState()
        canvas.showPage()


def render_slips(
    slips: Sequence[Slip],
    text: SlipText = SlipText(),
    *,
    per_page: int = 1,
    family: FontFamily | None = None,
    layout: SlipLayout | None = None,
) -> bytes:
    """The slips as PDF bytes: one per A4 page, or 2 (portrait) or 4 (landscape, A6 each) per
    page with dashed cut lines between them. Fonts embedded, text layer exact."""
    if per_page not in PER_PAGE:
        raise ValueError(f"per_page must be one of {PER_PAGE}, got {per_page!r}")
    out = io.BytesIO()
    canvas = pdf_canvas(out, (family or load_family()).regular, invariant=True, lang="th")
    canvas.setTitle("Username และ Password : " + " ".join(text.system_th))
    canvas.setCreator("saraban")
    draw_slips(canvas, slips, text, per_page=per_page, family=family, layout=layout)
    canvas.save()
    return out.getvalue()


def render_sample_slip(
    text: SlipText = SlipText(),
    *,
    family: FontFamily | None = None,
) -> bytes:
    """The seed's specimen slip: วิทยาลัย....., 1234567890, ab12cde."""
    return render_slips([SAMPLE_SLIP], text, family=family)
