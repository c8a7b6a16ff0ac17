"""Letter files as the exchange format: a draft is read from text and written back unmerged.

Every example letter file loads, dumps and loads again to an equal source; Jinja2 templates
survive as written; the dump is readable TOML (the body a multi-line string). Memo keys and
the secrecy class are checked like every other key: named by file, key and line.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from letters.letter import render_letter
from letters.letterfile import (
    LetterFileError,
    LetterSource,
    dump_letter_file,
    load_letter_file,
    parse_letter_file,
)
from letters.model import Enclosure
from letters.thaitext import unmark

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(
    p for p in (ROOT / "examples").rglob("*.toml")
    if tomllib.loads(p.read_text(encoding="utf-8")).get("kind") is not None
)
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
MEMO = ROOT / "examples" / "memo" / "memo.toml"
COLLEGE = {"college": {"name": "วิทยาลัยสารพัดช่างลำปาง", "code": "1352016501"}}


def test_the_examples_are_found() -> None:
    assert {SEED, MEMO} <= set(EXAMPLES)
    assert ROOT / "bench" / "letters" / "four-pages.toml" not in EXAMPLES  # not an example


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(ROOT)))
def test_load_dump_load_gives_the_same_source(path: Path) -> None:
    first = load_letter_file(path)
    text = dump_letter_file(first)
    again = parse_letter_file(text, path)
    assert again.spec == first.spec
    assert dump_letter_file(again) == text  # stable
    # and the same letter for a recipient
    context = COLLEGE if "college" in first.spec.body else None
    assert again.merge(context) == first.merge(context)


def test_templates_survive_as_written() -> None:
    text = dump_letter_file(load_letter_file(SEED))
    assert "{% if college is defined %}" in text
    assert "{{ college.name }}" in text and "{{ college.code }}" in text
    merged = parse_letter_file(text, SEED).merge(COLLEGE)
    assert "ของวิทยาลัยสารพัดช่างลำปาง ชื่อผู้ใช้ 1352016501" in unmark(" ".join(merged.body))


def test_the_dump_is_readable_toml() -> None:
    text = dump_letter_file(load_letter_file(SEED))
    data = tomllib.loads(text)
    assert data["kind"] == "circular" and data["date"] == date(2026, 4, 10)
    assert 'body = """' in text  # a multi-line string, one paragraph a line
    assert "\nด้วยสำนักงานคณะกรรมการการอาชีวศึกษา ได้พิจารณา" in text
    assert "\\u0e" not in text.lower()  # Thai as Thai, not escapes
    assert '[sender]' in text and '[signer]' in text
    # enclosure files relative to the letter file's folder
    assert 'file = "enclosures/stand-in-0180.pdf"' in text


def test_dump_elsewhere_keeps_files_reachable(tmp_path: Path) -> None:
    source = load_letter_file(SEED)
    folder = tmp_path / "exported"
    folder.mkdir()
    path = folder / "letter.toml"
    path.write_text(dump_letter_file(source, folder=folder), encoding="utf-8")
    again = load_letter_file(path)
    assert again.spec == source.spec  # the same absolute enclosure files


def test_a_web_draft_round_trip_from_a_source_made_in_code(tmp_path: Path) -> None:
    """What the web does: a source from form fields, exported, imported, rendered."""
    shutil.copytree(SEED.parent / "enclosures", tmp_path / "enclosures")
    spec = replace(
        load_letter_file(SEED).spec,
        kind="external",
        number=None,
        urgency="ด่วน",
        secrecy="ลับ",
        references=("หนังสือ สอศ. ที่ ศธ 0603/ว 5000 ลงวันที่ 1 เมษายน 2569",),
        enclosures=(
            Enclosure("สำเนาหนังสือ", "1 ฉบับ", file=str(tmp_path / "enclosures/stand-in-0180.pdf")),
            Enclosure("ชื่อผู้ใช้และรหัสผ่าน", "1 แผ่น", make="credential-slip"),
        ),
        closing="ขอแสดงความนับถืออย่างสูง",
        to='{{ college.director_title | default("ผู้อำนวยการ") }}',
    )
    text = dump_letter_file(spec, folder=tmp_path)
    again = parse_letter_file(text, tmp_path / "draft.toml")
    assert again.spec == spec
    college = {**COLLEGE["college"], "director_title": "ผู้อำนวยการวิทยาลัยเทคนิคลำปาง"}
    letter = again.merge({"college": college})
    assert unmark(letter.to) == "ผู้อำนวยการวิทยาลัยเทคนิคลำปาง" and letter.secrecy == "ลับ"
    assert render_letter(letter).startswith(b"%PDF")


def test_parse_from_text_names_the_draft_in_errors() -> None:
    text = MEMO.read_text(encoding="utf-8").replace('kind = "memo"', 'kind = "minute"')
    with pytest.raises(LetterFileError) as caught:
        parse_letter_file(text, "drafts/42.toml")
    assert str(caught.value).startswith("drafts/42.toml:")
    assert "'minute' is not external, circular or memo" in str(caught.value)


def _memo_with(change: str, old: str | None = None) -> str:
    text = MEMO.read_text(encoding="utf-8")
    return text.replace(old, change) if old else text


@pytest.mark.parametrize(
    ("old", "new", "key", "words"),
    [
        ('kind = "memo"', 'kind = "memo"\nclosing = "ขอแสดงความนับถือ"', "closing",
         "a memo has no closing words"),
        ('agency = "วิทยาลัยสารพัดช่างลำปาง"',
         'agency = "วิทยาลัยสารพัดช่างลำปาง"\naddress = "ลำปาง 52000"', "address",
         "a memo prints no address"),
        ('phone = "0 5422 0000 ต่อ 101"', 'phone = "0 5422 0000"\nfax = "0 5422 0001"', "fax",
         "only the unit's phone"),
        ('unit = "งานบริหารงานทั่วไป ฝ่ายบริหารทรัพยากร"\n', "", "sender.unit", "is required"),
        ("thai_digits = true", 'thai_digits = true\nsecrecy = "ลับเฉพาะ"', "secrecy",
         "'ลับเฉพาะ' is not one of ลับที่สุด, ลับมาก, ลับ"),
        ("thai_digits = true", 'thai_digits = true\nurgency = "ด่วนจี๋"', "urgency",
         "is not one of ด่วนที่สุด, ด่วนมาก, ด่วน"),
    ],
)
def test_memo_keys_checked_by_file_key_and_line(old: str, new: str, key: str, words: str) -> None:
    text = MEMO.read_text(encoding="utf-8")
    assert old in text
    text = text.replace(old, new)
    with pytest.raises(LetterFileError) as caught:
        parse_letter_file(text, MEMO)
    error = caught.value
    assert error.key == key and words in error.message
    if error.line is not None:
        assert key.split(".")[-1] in text.splitlines()[error.line - 1] or key == "sender.unit"


def test_letters_still_need_an_address() -> None:
    text = SEED.read_text(encoding="utf-8").replace(
        'address = "กระทรวงศึกษาธิการ กทม. 10300"\n', ""
    )
    with pytest.raises(LetterFileError, match=r"key 'sender\.address': is required"):
        parse_letter_file(text, SEED)


def test_the_memo_source() -> None:
    spec = load_letter_file(MEMO).spec
    assert isinstance(spec, LetterSource)
    assert spec.kind == "memo" and spec.closing is None and spec.sender.address == ""
    assert spec.sender.unit == "งานบริหารงานทั่วไป ฝ่ายบริหารทรัพยากร"
    letter = load_letter_file(MEMO).merge()
    assert letter.is_memo and letter.number == "112" and letter.secrecy is None
