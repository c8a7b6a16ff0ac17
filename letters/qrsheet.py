"""A sheet of QR codes with their captions and links (an enclosure: สิ่งที่ส่งมาด้วย).

Each code is drawn as vector rectangles from the ``qrcode`` library's module matrix, one filled
rectangle per horizontal run of dark modules, all in one path (no seams between rows when a
viewer anti-aliases). Under each code: its caption, and its URL as text for people who cannot
scan it. Entries go two to a row where they fit, and pages follow as needed.

A sheet can be written as TOML::

    title = "แผนการติดตาม..."
    note = "สแกน QR Code ด้วยกล้องโทรศัพท์มือถือ"   # optional

    [[entry]]
    caption = "แผนการติดตามการขับเคลื่อน..."
    url = "https://example.org/plan"
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import qrcode
from qrcode.constants import ERROR_CORRECT_M
from qrcode.exceptions import DataOverflowError
from reportlab.lib.colors import black, white
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from letters.fonts import FontFamily, load_family
from letters.letterfile import LetterFileError, key_line, read_toml
from letters.paragraph import TextStyle, ThaiParagraph
from letters.pdfglyphs import draw_text, pdf_canvas

QUIET_ZONE = 4  # modules of white around the code, as ISO/IEC 18004 requires
MIN_MODULE = 0.8 * mm  # smaller modules are unreliable for phone cameras on paper
TARGET_SIDE = 50 * mm  # a code's printed side (quiet zone included) when its modules allow
CAPTION_GAP = 1 * mm  # between the code's quiet zone and its caption


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be printed as a link, or None if it can."""
    if not url:
        return "must not be empty"
    if any(ch.isspace() for ch in url):
        return "must not contain spaces or line breaks"
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        return f"must start with http:// or https:// (got {url!r})"
    if not parts.netloc:
        return f"has no host name (got {url!r})"
    return None


@dataclass(frozen=True)
class QREntry:
    caption: str
    url: str

    def __post_init__(self) -> None:
        if not self.caption.strip():
            raise ValueError("QR entry caption must not be empty")
        problem = url_problem(self.url)
        if problem:
            raise ValueError(f"QR entry url {problem}")
        object.__setattr__(self, "caption", _nfc(self.caption.strip()))


@dataclass(frozen=True)
class QRSheet:
    title: str
    entries: tuple[QREntry, ...]
    note: str = ""

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("QR sheet title must not be empty")
        if not self.entries:
            raise ValueError("QR sheet needs at least one entry")
        object.__setattr__(self, "title", _nfc(self.title.strip()))
        object.__setattr__(self, "note", _nfc(self.note.strip()))
        object.__setattr__(self, "entries", tuple(self.entries))


# --------------------------------------------------------------------------------------------
# QR codes as vector paths


def qr_matrix(data: str) -> list[list[bool]]:
    """The code's modules (True = dark), quiet zone included; error correction level M."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=QUIET_ZONE)
    code.add_data(data)
    try:
        code.make(fit=True)
    except (DataOverflowError, ValueError):  # qrcode says "Invalid version" past version 40
        raise ValueError(
            f"too much data for a QR code ({len(data)} characters; a link of at most about "
            "2,300 characters fits)"
        ) from None
    return code.get_matrix()


def dark_runs(matrix: Sequence[Sequence[bool]]) -> list[tuple[int, int, int]]:
    """Horizontal runs of dark modules as (row, first column, length)."""
    runs = []
    for r, row in enumerate(matrix):
        c, n = 0, len(row)
        while c < n:
            if row[c]:
                start = c
                while c < n and row[c]:
                    c += 1
                runs.append((r, start, c - start))
            else:
                c += 1
    return runs


def draw_qr(
    canvas: Canvas, matrix: Sequence[Sequence[bool]], x: float, y: float, module: float
) -> float:
    """Draw the code with its bottom-left corner (quiet zone included) at (x, y); its side."""
    n = len(matrix)
    side = n * module
    canvas.saveState()
    canvas.setFillColor(white)
    canvas.rect(x, y, side, side, stroke=0, fill=1)  # the quiet zone stays white on any paper
    canvas.setFillColor(black)
    path = canvas.beginPath()
    top = y + side
    for r, c, length in dark_runs(matrix):
        path.rect(x + c * module, top - (r + 1) * module, length * module, module)
    canvas.drawPath(path, stroke=0, fill=1)
    canvas.restoreState()
    return side


# --------------------------------------------------------------------------------------------
# Layout


@dataclass(frozen=True)
class QRSheetLayout:
    page: tuple[float, float] = A4
    left: float = 20 * mm
    right: float = 20 * mm
    top: float = 20 * mm
    bottom: float = 20 * mm
    gutter: float = 10 * mm  # between the two entries of a row
    row_gap: float = 12 * mm
    title_size: float = 20.0  # nominal (TH SarabunPSK) points
    title_leading: float = 26.0
    note_size: float = 16.0
    caption_size: float = 16.0
    caption_leading: float = 20.0
    url_size: float = 14.0
    url_leading: float = 17.0
    number_size: float = 16.0

    @property
    def text_width(self) -> float:
        return self.page[0] - self.left - self.right

    @property
    def column_width(self) -> float:
        return (self.text_width - self.gutter) / 2


@dataclass
class _Cell:
    entry: QREntry
    matrix: list[list[bool]]
    module: float
    width: float  # the cell's width: a column, or the page's text width for a big code
    caption: ThaiParagraph
    url: ThaiParagraph
    text_height: float = 0.0  # caption and URL under the code

    @property
    def side(self) -> float:
        return len(self.matrix) * self.module


def _module_size(modules: int) -> float:
    # Whole hundredths of a millimetre keep the coordinates in the PDF short.
    return max(MIN_MODULE, round(TARGET_SIDE / modules / mm, 2) * mm)


def _make_cell(entry: QREntry, family: FontFamily, layout: QRSheetLayout) -> _Cell:
    matrix = qr_matrix(entry.url)
    module = _module_size(len(matrix))
    side = len(matrix) * module
    if side > layout.text_width:
        raise ValueError(f"the QR code for {entry.url!r} is too big for the page")
    # A code wider than a column takes the whole row.
    width = layout.column_width if side <= layout.column_width else layout.text_width
    caption = ThaiParagraph(
        entry.caption,
        TextStyle(
            font=family.bold,
            size=family.size(layout.caption_size),
            leading=layout.caption_leading,
            align="center",
        ),
    )
    url = ThaiParagraph(
        entry.url,
        TextStyle(
            font=family.regular,
            size=family.size(layout.url_size),
            leading=layout.url_leading,
            align="center",
        ),
    )
    cell = _Cell(entry, matrix, module, width, caption, url)
    _, caption_h = caption.wrap(width, 1e6)
    _, url_h = url.wrap(width, 1e6)
    cell.text_height = CAPTION_GAP + caption_h + url_h
    return cell


def _rows(cells: list[_Cell], layout: QRSheetLayout) -> list[list[_Cell]]:
    """Two entries to a row where both fit in a column; a big code takes a row of its own."""
    rows: list[list[_Cell]] = []
    for cell in cells:
        half = cell.width <= layout.column_width
        if rows and len(rows[-1]) == 1 and half and rows[-1][0].width <= layout.column_width:
            rows[-1].append(cell)
        else:
            rows.append([cell])
    return rows


def _draw_cell(canvas: Canvas, cell: _Cell, x: float, code_bottom: float) -> None:
    """Draw the cell's code centred in its width, bottom at ``code_bottom``, text below it."""
    side = cell.side
    draw_qr(canvas, cell.matrix, x + (cell.width - side) / 2, code_bottom, cell.module)
    # The quiet zone already leaves space above the caption; a little more keeps it clear.
    y = code_bottom - CAPTION_GAP - cell.caption.height
    cell.caption.drawOn(canvas, x, y)
    y -= cell.url.height
    cell.url.drawOn(canvas, x, y)


def render_qr_sheet(
    sheet: QRSheet, family: FontFamily | None = None, layout: QRSheetLayout | None = None
) -> bytes:
    """The sheet as PDF bytes: A4, vector QR codes, captions and URLs in the text layer."""
    family = family or load_family()
    layout = layout or QRSheetLayout()
    page_w, page_h = layout.page
    out = io.BytesIO()
    canvas = pdf_canvas(out, family.regular, pagesize=layout.page, invariant=True, lang="th")
    canvas.setTitle(sheet.title)
    canvas.setCreator("saraban")

    width = layout.text_width
    title = ThaiParagraph(
        sheet.title,
        TextStyle(
            font=family.bold,
            size=family.size(layout.title_size),
            leading=layout.title_leading,
            align="center",
        ),
    )
    _, title_h = title.wrap(width, 1e6)
    y = page_h - layout.top - title_h
    title.drawOn(canvas, layout.left, y)
    if sheet.note:
        note = ThaiParagraph(
            sheet.note,
            TextStyle(
                font=family.regular,
                size=family.size(layout.note_size),
                leading=layout.caption_leading,
                align="center",
            ),
        )
        _, note_h = note.wrap(width, 1e6)
        y -= note_h
        note.drawOn(canvas, layout.left, y)
    y -= layout.row_gap

    cells = [_make_cell(entry, family, layout) for entry in sheet.entries]
    page = 1
    body_top = page_h - layout.top - 8 * mm  # below the page number on later pages
    for row in _rows(cells, layout):
        code_area = max(cell.side for cell in row)  # codes of a row share a bottom line
        height = code_area + max(cell.text_height for cell in row)
        if y - height < layout.bottom and y < body_top - 1:
            canvas.showPage()
            page += 1
            number = f"- {page} -"
            size = family.size(layout.number_size)
            number_w = family.regular.shape(number).points(size)
            draw_text(
                canvas, family.regular, size, (page_w - number_w) / 2, page_h - layout.top, number
            )
            y = body_top
        if len(row) == 2:
            xs = [layout.left, layout.left + layout.column_width + layout.gutter]
        else:
            xs = [layout.left + (width - row[0].width) / 2]
        for cell, x in zip(row, xs, strict=True):
            _draw_cell(canvas, cell, x, y - code_area)
        y -= height + layout.row_gap
    canvas.showPage()
    canvas.save()
    return out.getvalue()


# --------------------------------------------------------------------------------------------
# TOML files

TOP_KEYS = {"title", "note", "entry"}
ENTRY_KEYS = {"caption", "url"}


def _entry_key_line(source: str, index: int, key: str | None) -> int | None:
    """The line of ``key`` in the ``index``-th (0-based) ``[[entry]]`` table, or its header."""
    header_line = None
    seen = -1
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=') if key else None
    for number, line in enumerate(source.splitlines(), start=1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            if header_line is not None:
                break  # past the wanted table
            if re.match(r"^\s*\[\[\s*entry\s*\]\]", line):
                seen += 1
                if seen == index:
                    header_line = number
            continue
        if header_line is not None and pattern and pattern.match(line):
            return number
    return header_line or _entry_line(source)


def _entry_line(source: str) -> int | None:
    """The line of ``entry = ...`` or of an ``[entry]`` / ``[[entry]]`` header."""
    found = key_line(source, None, "entry")
    if found is not None:
        return found
    for number, line in enumerate(source.splitlines(), start=1):
        if re.match(r"^\s*\[+\s*entry\s*\]+", line):
            return number
    return None


def _text(path: Path, value: Any, key: str, line: int | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LetterFileError(path, key, line, f"must be non-empty text, got {value!r}")
    return _nfc(value.strip())


def load_qr_sheet(path: Path | str) -> QRSheet:
    """Read and check a QR sheet file; errors are :class:`LetterFileError` (file, key, line)."""
    path = Path(path)
    source, raw = read_toml(path)

    for key in raw:
        if key not in TOP_KEYS:
            raise LetterFileError(
                path,
                key,
                key_line(source, None, key),
                f"unknown key (known keys: {', '.join(sorted(TOP_KEYS))})",
            )
    if "title" not in raw:
        raise LetterFileError(path, "title", None, "is required")
    title = _text(path, raw["title"], "title", key_line(source, None, "title"))
    note = ""
    if "note" in raw:
        note_value = raw["note"]
        if not isinstance(note_value, str):
            raise LetterFileError(
                path, "note", key_line(source, None, "note"), f"must be text, got {note_value!r}"
            )
        note = _nfc(note_value.strip())

    items = raw.get("entry")
    if items is None:
        raise LetterFileError(
            path, "entry", None, "at least one [[entry]] table (caption, url) is required"
        )
    if not isinstance(items, list) or not items:
        raise LetterFileError(
            path,
            "entry",
            _entry_line(source),
            "must be one or more [[entry]] tables with caption and url (each headed [[entry]], "
            "with two pairs of brackets)",
        )
    entries = []
    for n, item in enumerate(items):
        where = f"entry[{n + 1}]"
        if not isinstance(item, dict):
            raise LetterFileError(
                path,
                where,
                _entry_key_line(source, n, None),
                f"must be a table with caption and url, got {item!r}",
            )
        for key in item:
            if key not in ENTRY_KEYS:
                raise LetterFileError(
                    path,
                    f"{where}.{key}",
                    _entry_key_line(source, n, key),
                    f"unknown key (known keys: {', '.join(sorted(ENTRY_KEYS))})",
                )
        for key in ("caption", "url"):
            if key not in item:
                raise LetterFileError(
                    path, f"{where}.{key}", _entry_key_line(source, n, None), "is required"
                )
        caption = _text(
            path, item["caption"], f"{where}.caption", _entry_key_line(source, n, "caption")
        )
        url_line = _entry_key_line(source, n, "url")
        url = item["url"]
        if not isinstance(url, str):
            raise LetterFileError(path, f"{where}.url", url_line, f"must be text, got {url!r}")
        url = url.strip()
        problem = url_problem(url)
        if problem:
            raise LetterFileError(path, f"{where}.url", url_line, problem)
        try:
            qr_matrix(url)
        except ValueError as exc:
            raise LetterFileError(path, f"{where}.url", url_line, str(exc)) from None
        entries.append(QREntry(caption=caption, url=url))
    return QRSheet(title=title, entries=tuple(entries), note=note)
