"""Roster parsing and validation (saraban.domain.roster)."""

from __future__ import annotations

import io
import pickle
import unicodedata
import zipfile
from pathlib import Path

import openpyxl
import pytest

from saraban.domain.roster import (
    College,
    RosterError,
    RosterFile,
    parse_roster,
    read_roster,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "emvs-2569" / "roster.csv"
HEADER = ("code", "name", "province", "email", "director_title")
ROWS = [
    (
        "1352016501",
        "วิทยาลัยสารพัดช่างลำปาง",
        "ลำปาง",
        "saraban@pclampang.example",
        "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง",
    ),
    (
        "1352016101",
        "วิทยาลัยเทคนิคลำปาง",
        "ลำปาง",
        "saraban@tclampang.example",
        "ผู้อำนวยการวิทยาลัยเทคนิคลำปาง",
    ),
    ("1357026601", "วิทยาลัยการอาชีพเวียงเชียงรุ้ง", "เชียงราย", "", ""),
    ("1390026401", "วิทยาลัยประมงติณสูลานนท์", "สงขลา", "fisheries@example.ac.th", ""),
]
EXPECTED = tuple(College(*row) for row in ROWS)


def csv_text(rows: list[tuple[str, ...]], header: tuple[str, ...] = HEADER) -> str:
    lines = [",".join(header)] + [",".join(row) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def write_csv(
    tmp_path: Path,
    rows: list[tuple[str, ...]],
    header: tuple[str, ...] = HEADER,
    encoding: str = "utf-8",
    name: str = "roster.csv",
) -> Path:
    path = tmp_path / name
    path.write_bytes(csv_text(rows, header).encode(encoding))
    return path


def write_xlsx(tmp_path: Path, rows: list[tuple[object, ...]], name: str = "roster.xlsx") -> Path:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(HEADER))
    for row in rows:
        sheet.append(list(row))
    path = tmp_path / name
    workbook.save(path)
    return path


def with_code(code: str, name: str = "วิทยาลัยเทคนิคตาก") -> tuple[str, ...]:
    return (code, name, "ตาก", "", "")


def problems_text(tmp_path: Path, rows: list[tuple[str, ...]]) -> str:
    with pytest.raises(RosterError) as info:
        read_roster(write_csv(tmp_path, rows))
    return str(info.value)


# --------------------------------------------------------------------------- formats


@pytest.mark.parametrize(
    ("encoding", "detected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp874", "cp874"), ("tis-620", "cp874")],
)
def test_csv_encodings_parse_identically(tmp_path: Path, encoding: str, detected: str) -> None:
    roster = read_roster(write_csv(tmp_path, ROWS, encoding=encoding))
    assert isinstance(roster, RosterFile)
    assert roster.encoding == detected
    assert roster.rows == EXPECTED
    assert roster.source == "roster.csv"
    assert len(roster) == 4 and list(roster) == list(EXPECTED)


def test_xlsx_parses_like_csv(tmp_path: Path) -> None:
    rows: list[tuple[object, ...]] = [(int(r[0]), *r[1:]) for r in ROWS[:2]] + ROWS[2:]
    roster = read_roster(write_xlsx(tmp_path, rows))
    assert roster.encoding == "xlsx"
    assert roster.rows == EXPECTED
    assert roster.rows[0].code == "1352016501"


def test_parse_roster_from_bytes() -> None:
    roster = parse_roster(csv_text(ROWS).encode("cp874"), "upload.csv")
    assert roster.rows == EXPECTED and roster.encoding == "cp874"


def test_rows_keep_their_line_in_the_file() -> None:
    text = csv_text(ROWS[:1]) + ",,,,\r\n" + ",".join(ROWS[1]) + "\r\n"
    roster = parse_roster(text.encode("utf-8"), "gaps.csv")
    assert [r.code for r in roster.rows] == [ROWS[0][0], ROWS[1][0]]
    assert roster.row_numbers == (2, 4)  # the blank row 3 is skipped, not renumbered


def test_forced_encoding(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ROWS, encoding="cp874")
    for name, reported in (("tis-620", "tis-620"), ("windows-874", "cp874"), ("CP874", "cp874")):
        roster = read_roster(path, encoding=name)
        assert roster.rows == EXPECTED and roster.encoding == reported


def test_forced_encoding_error_names_file_and_position(tmp_path: Path) -> None:
    path = write_csv(tmp_path, ROWS, encoding="cp874")
    with pytest.raises(RosterError) as info:
        read_roster(path, encoding="utf-8")
    message = str(info.value)
    header_bytes = len(",".join(HEADER)) + 2
    assert message.startswith("roster.csv")
    assert f"offset {header_bytes + 11}" in message  # first Thai byte after "1352016501,"
    assert "(line 2)" in message and "utf-8" in message


def test_unknown_encoding(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="unknown text encoding 'klingon'"):
        read_roster(write_csv(tmp_path, ROWS), encoding="klingon")


def test_undecodable_bytes_are_reported(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(csv_text(ROWS).encode("utf-8") + b"1352016502,\xfc\xfd\r\n")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    assert "roster.csv" in str(info.value) and "line 6" in str(info.value)


def test_old_xls_rejected(tmp_path: Path) -> None:
    path = tmp_path / "roster.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(RosterError, match=r"roster\.xls: .*\.xls"):
        read_roster(path)


def test_thai_and_loose_headers(tmp_path: Path) -> None:
    header = ("รหัสสถานศึกษา", "ชื่อสถานศึกษา", "จังหวัด", "อีเมล", "ตำแหน่งผู้บริหาร")
    assert read_roster(write_csv(tmp_path, ROWS, header=header)).rows == EXPECTED
    loose = (" Code ", "NAME", "Province", "E-mail", "Director Title")
    assert read_roster(write_csv(tmp_path, ROWS, header=loose)).rows == EXPECTED


def test_optional_columns_may_be_absent(tmp_path: Path) -> None:
    rows = [r[:2] for r in ROWS]
    roster = read_roster(write_csv(tmp_path, rows, header=("code", "name")))
    assert roster.rows[2] == College("1357026601", "วิทยาลัยการอาชีพเวียงเชียงรุ้ง")


# --------------------------------------------------------------------------- headers


def test_missing_required_header_names_file(tmp_path: Path) -> None:
    path = write_csv(tmp_path, [r[1:] for r in ROWS], header=HEADER[1:], name="colleges.csv")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    assert str(info.value) == (
        'colleges.csv: missing required column "code" (or "รหัสสถานศึกษา"); '
        "the first row must hold the column headers"
    )


def test_unknown_header_lists_allowed(tmp_path: Path) -> None:
    header = (*HEADER, "phone")
    rows = [(*r, "054000000") for r in ROWS]
    with pytest.raises(RosterError) as info:
        read_roster(write_csv(tmp_path, rows, header=header))
    message = str(info.value)
    assert message.startswith("roster.csv row 1, column phone: unknown column")
    assert "code, name, province, email, director_title" in message


def test_duplicate_header_rejected(tmp_path: Path) -> None:
    header = ("code", "name", "ชื่อสถานศึกษา")
    with pytest.raises(RosterError, match="same column as name"):
        read_roster(write_csv(tmp_path, [(r[0], r[1], r[1]) for r in ROWS], header=header))


# --------------------------------------------------------------------------- codes


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        (
            "1.35202E+09",
            "looks like a number Excel turned into scientific notation; format the column as text",
        ),
        ("135201650", "has 9 digits; Excel may have dropped a leading zero/digit"),
        ("13 5201 6501", "contains spaces"),
        ("13-5201-6501", "contains dashes"),
        ("๑๓๕๒๐๑๖๕๐๑", "Thai digits; use Arabic digits 0-9"),
        ("13520165O1", "not digits (O)"),
        ("13520165", "has 8 digits"),
        ("135201650123", "has 12 digits"),
        ("1352016501.0", "decimal part"),
    ],
)
def test_bad_code_reported_with_file_row_and_value(
    tmp_path: Path, value: str, fragment: str
) -> None:
    rows = [ROWS[0], with_code(value), ROWS[1]]
    message = problems_text(tmp_path, rows)
    assert message.startswith(f'roster.csv row 3, column code: "{value}" ')
    assert fragment in message
    assert len(message.splitlines()) == 1


def test_thai_digits_not_converted(tmp_path: Path) -> None:
    mixed = "1352016๕01"
    message = problems_text(tmp_path, [with_code(mixed)])
    assert f'"{mixed}" contains Thai digits' in message


def test_empty_code(tmp_path: Path) -> None:
    message = problems_text(tmp_path, [ROWS[0], with_code("")])
    assert message == "roster.csv row 3, column code: the college code is empty"


def test_code_whitespace_is_trimmed(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("code,name\n  1352016501 , วิทยาลัยสารพัดช่างลำปาง \n", encoding="utf-8")
    assert read_roster(path).rows == (College("1352016501", "วิทยาลัยสารพัดช่างลำปาง"),)


def test_multiple_bad_rows_all_reported(tmp_path: Path) -> None:
    rows = [
        ROWS[0],
        with_code("1.35202E+09"),  # row 3
        ROWS[1],
        with_code("๑๓๕๒๐๑๖๕๐๒"),  # row 5
        with_code("1363016102", name="  "),  # row 6
        (*with_code("1363016103")[:3], "not-an-email", ""),  # row 7
    ]
    with pytest.raises(RosterError) as info:
        read_roster(write_csv(tmp_path, rows))
    problems = info.value.problems
    assert [(p.row, p.column) for p in problems] == [
        (3, "code"),
        (5, "code"),
        (6, "name"),
        (7, "email"),
    ]
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    assert all(line.startswith("roster.csv row ") for line in lines)
    assert lines[3] == 'roster.csv row 7, column email: "not-an-email" is not a valid email address'


def test_duplicate_codes_name_both_rows(tmp_path: Path) -> None:
    rows = [ROWS[0], ROWS[1], with_code("1352016501")]
    with pytest.raises(RosterError) as info:
        read_roster(write_csv(tmp_path, rows))
    assert str(info.value) == (
        'roster.csv row 4, column code: "1352016501" appears on rows 2 and 4; '
        "each college code must be unique"
    )


def test_blank_rows_skipped_and_row_numbers_kept(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    text = csv_text([ROWS[0]]) + ",,,,\r\n\r\n" + "1352016,วิทยาลัยเทคนิคลำปาง,,,\r\n"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RosterError) as info:
        read_roster(path)
    assert [p.row for p in info.value.problems] == [5]


def test_value_in_column_without_header(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_text("code,name\n1352016501,วิทยาลัยสารพัดช่างลำปาง,extra\n", encoding="utf-8")
    with pytest.raises(RosterError, match=r'row 2, column C: "extra" is in a column without'):
        read_roster(path)


def test_no_rows_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="no colleges"):
        read_roster(write_csv(tmp_path, []))


# --------------------------------------------------------------------------- other fields


def test_empty_name(tmp_path: Path) -> None:
    message = problems_text(tmp_path, [with_code("1363016101", name="")])
    assert message == "roster.csv row 2, column name: the college name is empty"


@pytest.mark.parametrize(
    ("email", "fragment"),
    [
        ("someone@", "is not a valid email address"),
        ("a b@example.com", "is not a valid email address"),
        ("อีเมล@example.com", "is not a valid email address"),
        ("a@example.com; b@example.com", "looks like more than one address"),
    ],
)
def test_invalid_email(tmp_path: Path, email: str, fragment: str) -> None:
    rows = [(*with_code("1363016101")[:3], email, "")]
    message = problems_text(tmp_path, rows)
    assert message.startswith(f'roster.csv row 2, column email: "{email}" {fragment}')


def test_names_stripped_and_nfc(tmp_path: Path) -> None:
    not_nfc = "วิทยาลัยการอาชีพป\u0e48\u0e39"  # tone mark before sara uu
    assert not unicodedata.is_normalized("NFC", not_nfc)
    rows = [("1363016101", f"  {not_nfc}\u200b ", " ตาก", "", "  ผู้อำนวยการ  วิทยาลัย ")]
    college = read_roster(write_csv(tmp_path, rows)).rows[0]
    assert college.name == unicodedata.normalize("NFC", not_nfc)
    assert college.province == "ตาก"
    assert college.director_title == "ผู้อำนวยการ วิทยาลัย"


# --------------------------------------------------------------------------- xlsx specifics


def test_xlsx_float_code_rejected(tmp_path: Path) -> None:
    rows: list[tuple[object, ...]] = [(1352016501.5, "วิทยาลัยสารพัดช่างลำปาง"), ROWS[1]]
    with pytest.raises(RosterError) as info:
        read_roster(write_xlsx(tmp_path, rows))
    message = str(info.value)
    assert message.startswith(
        'roster.xlsx row 2, column code: "1352016501.5" is stored as a decimal'
    )


def test_xlsx_scientific_number_cell_rejected(tmp_path: Path) -> None:
    """A numeric cell whose stored value is in E-notation has lost digits."""
    path = write_xlsx(tmp_path, [(1352016501, "วิทยาลัยสารพัดช่างลำปาง"), ROWS[1]])
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    assert b"<v>1352016501</v>" in parts[sheet]
    parts[sheet] = parts[sheet].replace(b"<v>1352016501</v>", b"<v>1.35202E+09</v>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    with pytest.raises(RosterError) as info:
        parse_roster(buffer.getvalue(), "roster.xlsx")
    assert str(info.value).startswith('roster.xlsx row 2, column code: "1.35202E+09" is stored as')


def test_xlsx_text_scientific_code_rejected(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path, [("1.35202E+09", "วิทยาลัยสารพัดช่างลำปาง")])
    with pytest.raises(RosterError, match="scientific notation"):
        read_roster(path)


def test_broken_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(RosterError, match=r"roster\.xlsx: cannot be opened"):
        read_roster(path)


# --------------------------------------------------------------------------- records


def test_college_validates_code() -> None:
    for bad in ("135201650", "๑๓๕๒๐๑๖๕๐๑", "13520165O1", " 1352016501"):
        with pytest.raises(ValueError, match="10 ASCII digits"):
            College(bad, "x")
    with pytest.raises(ValueError, match="empty name"):
        College("1352016501", " ")


def test_roster_error_pickles(tmp_path: Path) -> None:
    with pytest.raises(RosterError) as info:
        read_roster(write_csv(tmp_path, [with_code("123")]))
    copy = pickle.loads(pickle.dumps(info.value))
    assert str(copy) == str(info.value) and copy.problems == info.value.problems


# --------------------------------------------------------------------------- example


def test_example_roster() -> None:
    assert not EXAMPLE.read_bytes().startswith(b"\xef\xbb\xbf")
    roster = read_roster(EXAMPLE)
    assert roster.encoding == "utf-8"
    assert 400 <= len(roster) <= 440
    codes = [c.code for c in roster]
    assert len(set(codes)) == len(codes)
    assert all(code.startswith("13") for code in codes)
    by_code = {c.code: c for c in roster}
    lampang = by_code["1352016501"]
    assert lampang.name == "วิทยาลัยสารพัดช่างลำปาง" and lampang.province == "ลำปาง"
    assert lampang.director_title == "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง"
    assert len({c.name for c in roster}) == len(codes)
    assert all(c.email and c.province and c.director_title for c in roster)
    text = EXAMPLE.read_text(encoding="utf-8")
    assert unicodedata.is_normalized("NFC", text)


def test_invisible_characters_are_made_visible() -> None:
    data = "code,name\n13520\x0016501,วิทยาลัยเทคนิคตาก\n1352016502,วิทยาลัย\x01\n".encode()
    with pytest.raises(RosterError) as info:
        parse_roster(data, "roster.csv")
    lines = str(info.value).splitlines()
    assert lines[0].startswith('roster.csv row 2, column code: "13520<U+0000>16501" contains')
    assert lines[1] == (
        'roster.csv row 3, column name: "วิทยาลัย<U+0001>" contains control characters; '
        "retype the text"
    )
