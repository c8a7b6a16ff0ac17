"""The pure rules behind issue #14's items 5, 7 and 8: spreadsheet cells, text that hides or
reorders itself, a PDF's active content, an audit row's columns against its JSON copy, and a
production secret key's entropy."""

from __future__ import annotations

import io
import secrets
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from saraban.domain.auditchain import (
    GENESIS,
    Row,
    append,
    head,
    stored_record,
    verify_chain,
)
from saraban.domain.errors import Invalid
from saraban.domain.pdfactions import active_content
from saraban.domain.roster import RosterError, parse_roster
from saraban.domain.spreadsheet import safe_cell
from saraban.domain.text import disguise_problem, disguising_characters, visible_text
from saraban.settings import Settings, estimated_bits, random_enough
from saraban.storage.models import StaffCreate

# --------------------------------------------------------------------------- spreadsheet


@pytest.mark.parametrize(
    "value",
    ["=1+1", '=HYPERLINK("http://x","คลิก")', "+66 81", "-2", "@SUM(A1)", "\tx", "\rx", "＝1"],
)
def test_a_formula_start_becomes_text(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize(
    "value", ["", "วิทยาลัยสารพัดช่างลำปาง", "1352016501", "ศธ 0603/ว 5553", "a=b", " =x"]
)
def test_other_cells_are_unchanged(value: str) -> None:
    assert safe_cell(value) == value


def test_cells_of_other_types() -> None:
    assert safe_cell(None) == ""
    assert safe_cell(12) == "12"
    assert safe_cell(-3) == "'-3"


# --------------------------------------------------------------------------- text


@pytest.mark.parametrize(
    "char",
    [
        "\u202a",
        "\u202b",
        "\u202c",
        "\u202d",
        "\u202e",
        "\u2066",
        "\u2067",
        "\u2068",
        "\u2069",
        "\u200b",
        "\u200c",
        "\u200d",
        "\u2060",
        "\ufeff",
        "\u200e",
        "\u200f",
    ],
)
def test_hiding_and_reordering_characters_are_refused(char: str) -> None:
    value = f"นายสมชาย{char}ใจดี"
    assert disguising_characters(value) == [f"U+{ord(char):04X}"]
    problem = disguise_problem(value)
    assert problem is not None and f"U+{ord(char):04X}" in problem
    with pytest.raises(Invalid) as refused:
        visible_text("name", value)
    assert refused.value.field == "name"


def test_thai_text_with_every_mark_is_visible() -> None:
    text = "นางสาวอัญชลี ธรรมศรีใจ น้ำ สำนักงาน ๑๒๓ e-MVS (สอศ.)"
    assert disguise_problem(text) is None
    assert visible_text("name", text) == text


def test_the_models_name_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        StaffCreate(handle="somchai", name="นาย\u202eสมชาย", position="ครู", role="staff")
    errors = refused.value.errors()
    assert errors[0]["loc"] == ("name",) and "U+202E" in errors[0]["msg"]


def test_a_roster_row_with_a_bidi_override_names_its_row_and_column() -> None:
    data = "code,name\n1352016501,วิทยาลัย\u202eลำปาง\n".encode()
    with pytest.raises(RosterError) as refused:
        parse_roster(data, "roster.csv")
    text = str(refused.value)
    assert "roster.csv" in text and "U+202E" in text and "2" in text


# --------------------------------------------------------------------------- PDF actions


def _pdf(action: DictionaryObject | None = None, where: str = "/OpenAction") -> bytes:
    writer = PdfWriter()
    page = writer.add_blank_page(200, 200)
    if action is not None:
        ref = writer._add_object(action)
        if where == "/OpenAction":
            writer._root_object[NameObject("/OpenAction")] = ref
        elif where == "/AA":
            page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): ref})
        else:  # a link annotation
            annot = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Annot"),
                    NameObject("/Subtype"): NameObject("/Link"),
                    NameObject("/A"): ref,
                }
            )
            page[NameObject("/Annots")] = ArrayObject([writer._add_object(annot)])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _action(kind: str) -> DictionaryObject:
    action = DictionaryObject({NameObject("/S"): NameObject(kind)})
    if kind == "/JavaScript":
        action[NameObject("/JS")] = TextStringObject("app.alert(1)")
    else:
        action[NameObject("/F")] = TextStringObject("cmd.exe")
    return action


def test_a_plain_pdf_has_no_active_content() -> None:
    assert active_content(_pdf()) == ()


def test_scripts_and_launch_actions_are_found() -> None:
    assert active_content(_pdf(_action("/JavaScript"))) == ("javascript", "open-action")
    assert active_content(_pdf(_action("/JavaScript"), "/AA")) == ("javascript", "open-action")
    assert active_content(_pdf(_action("/JavaScript"), "/Annots")) == ("javascript",)
    assert active_content(_pdf(_action("/Launch"), "/Annots")) == ("launch",)
    assert active_content(_pdf(_action("/Launch"))) == ("launch",)


def test_a_script_chained_after_another_action_opens_with_the_file() -> None:
    first = DictionaryObject(
        {
            NameObject("/S"): NameObject("/GoTo"),
            NameObject("/D"): ArrayObject([]),
            NameObject("/Next"): _action("/JavaScript"),
        }
    )
    assert active_content(_pdf(first)) == ("javascript", "open-action")


def test_an_unreadable_file_is_suspect() -> None:
    assert active_content(b"%PDF-1.7\n" + b"\x00" * 100) == ("unreadable",)


# --------------------------------------------------------------------------- audit rows

AT = datetime(2026, 4, 20, 3, 15, tzinfo=UTC)


def _chain() -> list[Row]:
    rows: list[Row] = []
    last = (0, GENESIS)
    for n in range(3):
        fields = {"at": AT, "event": "login", "actor": f"user{n}", "subject": "session:1"}
        row = append(last, {**fields, "details": {}})
        rows.append(row)
        last = head(rows)
    return rows


def _columns(row: Row) -> dict[str, object]:
    return {"at": AT, "event": "login", "actor": row.record["actor"], "subject": "session:1"}


def _stored(row: Row) -> dict[str, object]:
    """The JSON copy as the database returns it (times as text)."""
    return {**row.record, "at": "2026-04-20T03:15:00.000000Z"}


def test_a_row_whose_columns_agree_with_its_copy_verifies() -> None:
    rows = _chain()
    checked = [Row(r.seq, stored_record(_columns(r), _stored(r)), r.hash) for r in rows]
    assert verify_chain(checked)


@pytest.mark.parametrize("key", ["actor", "subject", "event", "at"])
def test_an_edit_to_the_copy_alone_is_found(key: str) -> None:
    rows = _chain()
    checked = []
    for r in rows:
        stored = _stored(r)
        if r.seq == 2:
            stored[key] = "2020-01-01T00:00:00.000000Z" if key == "at" else "forged"
        checked.append(Row(r.seq, stored_record(_columns(r), stored), r.hash))
    report = verify_chain(checked)
    assert not report and report.first_bad_seq == 2 and report.problem == "edited"


@pytest.mark.parametrize("key", ["actor", "subject", "event"])
def test_an_edit_to_a_column_alone_is_found(key: str) -> None:
    rows = _chain()
    checked = []
    for r in rows:
        columns = _columns(r)
        if r.seq == 3:
            columns[key] = "forged"
        checked.append(Row(r.seq, stored_record(columns, _stored(r)), r.hash))
    report = verify_chain(checked)
    assert not report and report.first_bad_seq == 3


# --------------------------------------------------------------------------- secret key


@pytest.mark.parametrize(
    "key", ["x" * 40, "changeme" * 5, "0123456789" * 4, "abcdefghijklmnopqrstuvwxyzabcdefgh"]
)
def test_keys_of_little_entropy_are_refused(key: str) -> None:
    assert not random_enough(key)
    with pytest.raises(ValidationError) as refused:
        Settings(env="production", secret_key=key)
    message = str(refused.value)
    assert "too predictable" in message and key not in message and key[:10] not in message


def test_keys_drawn_at_random_are_accepted() -> None:
    for _ in range(50):
        for key in (secrets.token_urlsafe(32), secrets.token_urlsafe(48), secrets.token_hex(16)):
            assert random_enough(key), key
            assert Settings(env="production", secret_key=key).secret == key.encode()
    assert estimated_bits("") == 0
