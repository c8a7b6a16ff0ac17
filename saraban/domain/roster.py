"""College roster files: CSV (UTF-8, UTF-8 with BOM, cp874/TIS-620) or XLSX in, colleges out.

Pure parsing and validation, no database. Every problem in a file is collected
and raised together as one :class:`RosterError`; a roster with any bad row
never yields partial results. Row numbers are the ones a clerk sees in the
spreadsheet (the header is row 1).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import warnings
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from saraban.domain.colleges import code_problem, email_problem, is_college_code
from saraban.domain.errors import Invalid
from saraban.domain.text import disguise_problem

FIELDS = ("code", "name", "province", "email", "director_title")
REQUIRED_FIELDS = ("code", "name")

HEADER_ALIASES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "code": ("code", "college_code", "รหัสสถานศึกษา", "รหัสวิทยาลัย", "รหัส"),
        "name": ("name", "college_name", "ชื่อสถานศึกษา", "ชื่อวิทยาลัย", "ชื่อ"),
        "province": ("province", "จังหวัด"),
        "email": ("email", "e-mail", "อีเมล", "อีเมล์", "อีเมลล์"),
        "director_title": (
            "director_title",
            "ตำแหน่งผู้บริหาร",
            "ตำแหน่งผู้อำนวยการ",
            "ตำแหน่ง",
        ),
    }
)
"""Canonical field -> accepted header spellings (matched ignoring case, spaces, ``_``, ``-``)."""

THAI_HEADERS: Mapping[str, str] = MappingProxyType(
    {
        "code": "รหัสสถานศึกษา",
        "name": "ชื่อสถานศึกษา",
        "province": "จังหวัด",
        "email": "อีเมล",
        "director_title": "ตำแหน่งผู้บริหาร",
    }
)
"""The Thai header suggested in messages for each field."""

Cell = object
"""A raw cell: ``str`` from CSV; ``str``/``int``/``float``/``None``/dates from XLSX."""

_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"
_ENCODING_ALIASES = MappingProxyType(
    {"windows-874": "cp874", "windows874": "cp874", "win874": "cp874", "tis620": "tis-620"}
)


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class College:
    """One college from the roster. Text fields are NFC-normalised."""

    code: str
    name: str
    province: str = ""
    email: str = ""
    director_title: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not is_college_code(self.code):
            raise ValueError(f"college code must be exactly 10 ASCII digits, got {self.code!r}")
        for field in ("name", "province", "director_title"):
            object.__setattr__(self, field, unicodedata.normalize("NFC", getattr(self, field)))
        if not self.name.strip():
            raise ValueError(f"college {self.code} has an empty name")


@dataclass(frozen=True)
class RosterFile:
    """The validated contents of a roster file."""

    source: str
    """File name used in messages."""
    encoding: str
    """``utf-8``, ``utf-8-sig``, ``utf-16``, ``cp874``, ``tis-620``, ... or ``xlsx``."""
    rows: tuple[College, ...]
    row_numbers: tuple[int, ...] = ()
    """Each row's line in the file (the header is row 1), in the order of ``rows``."""

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[College]:
        return iter(self.rows)


@dataclass(frozen=True)
class RosterProblem:
    """One problem in a roster file; ``row``/``column``/``value`` are None when not applicable."""

    file: str
    row: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}" if self.row is not None else f" column {self.column}"
        body = f'"{_visible(self.value)}" {self.message}' if self.value else self.message
        return f"{where}: {body}"


class RosterError(Invalid):
    """A roster file could not be accepted; ``problems`` lists every reason, one per line."""

    def __init__(self, problems: Sequence[RosterProblem]) -> None:
        self.problems: list[RosterProblem] = list(problems)
        super().__init__(None, "\n".join(str(p) for p in self.problems))


def _fail(file: str, message: str, row: int | None = None) -> RosterError:
    return RosterError([RosterProblem(file, row, None, None, message)])


# --------------------------------------------------------------------------- entry points


def read_roster(path: Path, encoding: str | None = None) -> RosterFile:
    """Read and validate a roster file (CSV or XLSX, detected from its content).

    *encoding* forces the text encoding of a CSV file; by default a UTF-8 BOM
    selects ``utf-8-sig``, then strict UTF-8 is tried, then cp874 (Thai
    Windows/Excel), then TIS-620. Raises :class:`RosterError`.
    """
    path = Path(path)
    return parse_roster(path.read_bytes(), path.name, encoding)


def parse_roster(data: bytes, filename: str, encoding: str | None = None) -> RosterFile:
    """Like :func:`read_roster` for bytes already in memory (e.g. an upload)."""
    if not data.strip():
        raise _fail(filename, "the file is empty")
    if data.startswith(b"PK\x03\x04"):
        table, detected = _xlsx_table(data, filename), "xlsx"
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise _fail(
            filename,
            "is an old Excel 97-2003 (.xls) workbook; save it as .xlsx or as CSV UTF-8",
        )
    elif filename.lower().endswith((".xlsx", ".xlsm")):
        raise _fail(filename, "is named like an Excel workbook but is not a valid .xlsx file")
    else:
        text, detected = decode_text(data, filename, encoding)
        table = _csv_table(text, filename)
    colleges, numbers = _validate_table(table, filename)
    return RosterFile(filename, detected, tuple(colleges), tuple(numbers))


# --------------------------------------------------------------------------- decoding


def decode_text(data: bytes, filename: str, encoding: str | None = None) -> tuple[str, str]:
    """Decode CSV bytes, returning ``(text, encoding_name)``; see :func:`read_roster`."""
    if encoding is not None:
        name = _canonical_encoding(encoding, filename)
        return _decode_strict(data, name, filename), name
    if data.startswith(codecs.BOM_UTF8):
        return _decode_strict(data, "utf-8-sig", filename), "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_strict(data, "utf-16", filename), "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as utf8_error:
        first_error = utf8_error
    for name in ("cp874", "tis-620"):
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    raise _fail(
        filename,
        "is neither UTF-8 nor Thai Windows (cp874/TIS-620) text: "
        f"{_decode_error_position(data, first_error)} is not valid UTF-8; "
        "save the file as CSV UTF-8 or give its encoding",
    )


def _canonical_encoding(encoding: str, filename: str) -> str:
    key = encoding.strip().lower().replace("_", "-")
    try:
        return codecs.lookup(_ENCODING_ALIASES.get(key, key)).name
    except LookupError:
        raise _fail(filename, f"unknown text encoding {encoding!r}") from None


def _decode_strict(data: bytes, encoding: str, filename: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        raise _fail(
            filename,
            f"cannot be read as {encoding}: {_decode_error_position(data, error)} is not valid "
            f"{encoding}",
        ) from None


def _decode_error_position(data: bytes, error: UnicodeDecodeError) -> str:
    line = data.count(b"\n", 0, error.start) + 1
    return f"byte 0x{data[error.start]:02X} at offset {error.start} (line {line})"


# --------------------------------------------------------------------------- tables


def _csv_table(text: str, filename: str) -> list[list[Cell]]:
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first_line:
        delimiter = "\t" if "\t" in first_line else ";" if ";" in first_line else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return [list(row) for row in reader]
    except csv.Error as error:
        message = f"is not a readable CSV file (line {reader.line_num}): {error}"
        raise _fail(filename, message) from None


def _xlsx_table(data: bytes, filename: str) -> list[list[Cell]]:
    from openpyxl import load_workbook  # imported lazily: only XLSX rosters need it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it skips
        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
            raise _fail(
                filename, f"cannot be opened as an Excel .xlsx workbook ({type(error).__name__})"
            ) from None
        try:
            if not workbook.worksheets:
                raise _fail(filename, "the workbook has no worksheets")
            sheet = workbook.worksheets[0]
            return [list(row) for row in sheet.iter_rows(values_only=True)]
        finally:
            workbook.close()


# --------------------------------------------------------------------------- cells and text


def _cell_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _float_text(value: float) -> str:
    """Show a float the way Excel's General format would (``1.35202E+09``)."""
    if not value.is_integer():
        return repr(value)
    return f"{value:.6G}" if abs(value) >= 1e9 else str(int(value))


def clean_text(text: str) -> str:
    """NFC-normalise, drop invisible characters, trim and collapse whitespace."""
    text = unicodedata.normalize("NFC", text)
    text = text.translate({ord(ch): None for ch in _INVISIBLE})
    return " ".join(text.split())


def _is_blank(cells: Sequence[Cell]) -> bool:
    return all(not clean_text(_cell_text(c)) for c in cells)


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(ord("A") + rem) + letters
    return letters


# --------------------------------------------------------------------------- header


def _header_key(label: str) -> str:
    return re.sub(r"[\s_\-.]", "", clean_text(label).casefold())


_ALIAS_INDEX: Mapping[str, str] = MappingProxyType(
    {_header_key(alias): field for field, aliases in HEADER_ALIASES.items() for alias in aliases}
)


def _allowed_columns_text() -> str:
    thai = ", ".join(THAI_HEADERS[field] for field in FIELDS)
    return f"allowed columns are {', '.join(FIELDS)} (or in Thai: {thai})"


@dataclass(frozen=True)
class _Column:
    index: int
    field: str
    label: str


def _map_header(header: Sequence[Cell], filename: str) -> list[_Column]:
    columns: list[_Column] = []
    problems: list[RosterProblem] = []
    for index, cell in enumerate(header):
        label = clean_text(_cell_text(cell))
        if not label:
            continue
        field = _ALIAS_INDEX.get(_header_key(label))
        if field is None:
            message = f"unknown column; {_allowed_columns_text()}"
            problems.append(RosterProblem(filename, 1, label, None, message))
            continue
        earlier = next((c for c in columns if c.field == field), None)
        if earlier is not None:
            problems.append(
                RosterProblem(
                    filename,
                    1,
                    label,
                    None,
                    f"is the same column as {earlier.label} (both mean {field}); keep only one",
                )
            )
            continue
        columns.append(_Column(index, field, label))
    present = {c.field for c in columns}
    for field in REQUIRED_FIELDS:
        if field not in present:
            thai = THAI_HEADERS[field]
            problems.append(
                RosterProblem(
                    filename,
                    None,
                    None,
                    None,
                    f'missing required column "{field}" (or "{thai}"); '
                    "the first row must hold the column headers",
                )
            )
    if problems:
        raise RosterError(problems)
    return columns


# --------------------------------------------------------------------------- validation


def _validate_table(
    table: Sequence[Sequence[Cell]], filename: str
) -> tuple[list[College], list[int]]:
    if not table or _is_blank(table[0]):
        raise _fail(
            filename,
            "the header row is empty; the first row must hold the column headers "
            + ", ".join(FIELDS),
            row=1,
        )
    columns = _map_header(table[0], filename)
    mapped = {c.index for c in columns}
    code_label = next(c.label for c in columns if c.field == "code")
    problems: list[RosterProblem] = []
    colleges: list[College] = []
    numbers: list[int] = []
    code_rows: dict[str, list[int]] = {}
    for row_number, cells in enumerate(table[1:], start=2):
        if _is_blank(cells):
            continue
        problems.extend(_stray_cells(cells, mapped, row_number, filename))
        values, row_problems = _parse_row(cells, columns, row_number, filename)
        problems.extend(row_problems)
        if not row_problems:
            colleges.append(College(**values))
            numbers.append(row_number)
        if not any(p.column == code_label for p in row_problems):
            code_rows.setdefault(values["code"], []).append(row_number)
    problems.extend(_duplicate_problems(code_rows, code_label, filename))
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise RosterError(problems)
    if not colleges:
        raise _fail(filename, "has a header row but no colleges under it")
    return colleges, numbers


def _stray_cells(
    cells: Sequence[Cell], mapped: set[int], row: int, filename: str
) -> list[RosterProblem]:
    return [
        RosterProblem(
            filename,
            row,
            _column_letter(index),
            clean_text(_cell_text(cell)),
            "is in a column without a header; add a header or remove the value",
        )
        for index, cell in enumerate(cells)
        if index not in mapped and clean_text(_cell_text(cell))
    ]


def _cell(cells: Sequence[Cell], index: int) -> Cell:
    return cells[index] if index < len(cells) else None


def _parse_row(
    cells: Sequence[Cell], columns: Sequence[_Column], row: int, filename: str
) -> tuple[dict[str, str], list[RosterProblem]]:
    values: dict[str, str] = dict.fromkeys(FIELDS, "")
    problems: list[RosterProblem] = []
    for column in columns:
        raw = _cell(cells, column.index)
        value, message = _check_field(column.field, raw)
        if message is not None:
            problems.append(RosterProblem(filename, row, column.label, value, message))
        values[column.field] = value
    return values, problems


def _check_field(field: str, raw: Cell) -> tuple[str, str | None]:
    """Return ``(clean value, problem message or None)`` for one cell."""
    if field == "code":
        return check_code(raw)
    text = clean_text(_cell_text(raw))  # zero-width characters dropped
    if any(unicodedata.category(ch) == "Cc" for ch in text):
        return text, "contains control characters; retype the text"
    disguised = disguise_problem(text)  # a bidi override would disguise the name
    if disguised is not None:
        return _visible(text), disguised
    if field == "name" and not text:
        return text, "the college name is empty"
    if field == "email" and text:
        return text, check_email(text)
    return text, None


def check_code(raw: Cell) -> tuple[str, str | None]:
    """Validate a college-code cell: ``(text as shown, problem message or None)``."""
    if isinstance(raw, float):
        return _float_text(raw), (
            "is stored as a decimal number, so digits may have been lost; "
            "format the column as text and type the 10-digit code again"
        )
    text = clean_text(_cell_text(raw))
    return text, code_problem(text)


def _visible(text: str) -> str:
    """*text* with control and other invisible characters shown as ``<U+XXXX>``."""
    return "".join(ch if ch.isprintable() or ch == " " else f"<U+{ord(ch):04X}>" for ch in text)


def check_email(text: str) -> str | None:
    """Problem message for an email address, or None if it looks valid."""
    return email_problem(text)


def _join_rows(rows: Sequence[int]) -> str:
    if len(rows) == 1:
        return str(rows[0])
    return ", ".join(str(r) for r in rows[:-1]) + f" and {rows[-1]}"


def _duplicate_problems(
    code_rows: Mapping[str, list[int]], label: str, filename: str
) -> list[RosterProblem]:
    return [
        RosterProblem(
            filename,
            rows[1],
            label,
            code,
            f"appears on rows {_join_rows(rows)}; each college code must be unique",
        )
        for code, rows in code_rows.items()
        if len(rows) > 1
    ]
