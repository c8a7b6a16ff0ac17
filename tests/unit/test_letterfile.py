"""Letter files: every mistake is named by file, key and line, and no PDF is written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from letters.letterfile import LetterFileError, load_letter_file, split_paragraphs
from letters.thaitext import numerals, short_thai_date, thai_date
from tests.support.letters import EXAMPLE_LETTER, ROOT
from tests.support.pdftext import page_texts

SAMPLE = EXAMPLE_LETTER.read_text(encoding="utf-8")


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saraban.cli", *args],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )


def write(tmp_path: Path, text: str) -> Path:
    """The letter file in a folder of its own, with the enclosures it names."""
    path = tmp_path / "letter.toml"
    path.write_text(text, encoding="utf-8")
    shutil.copytree(EXAMPLE_LETTER.parent / "enclosures", tmp_path / "enclosures")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


BAD_FILES = [
    # (change to the sample, key named, text on the line named or None)
    (lambda s: s.replace("date = 2026-04-10", 'date = "10 เมษายน 2569"'), "date", 'date = "10'),
    (lambda s: s.replace("date = 2026-04-10", 'date = "2026-02-30"'), "date", 'date = "2026'),
    (lambda s: s.replace('kind = "circular"', 'kind = "notice"'), "kind", 'kind = "notice"'),
    (lambda s: s.replace('kind = "circular"', 'kind = "circular"\ncolour = "red"'), "colour",
     "colour"),
    (lambda s: s.replace("\nthai_digits = true", "\n" + 'thai_digits = "yes"'), "thai_digits",
     'thai_digits = "yes"'),
    (lambda s: s.replace('to = "ผู้อำนวยการ', 'to = "{{ college.name }} ผู้อำนวยการ'), "to",
     'to = "{{'),
    (lambda s: s.replace('to = "ผู้อำนวยการ', 'to = "{{ college.name ผู้อำนวยการ'), "to",
     'to = "{{'),
    (lambda s: s.replace('acting = "ปฏิบัติราชการแทน"', 'acting = "แทน"'), "acting", "acting ="),
    (lambda s: s.replace('name = "นายวิวัฒน์ ปัญจมะวัต"\n', ""), "signer.name", "[signer]"),
    (lambda s: s.replace(
        "\nthai_digits = true", "\n" + 'thai_digits = true\nurgency = "ด่วนพิเศษ"'
    ),
     "urgency", "urgency ="),
    (lambda s: s.replace('count = "1 ฉบับ"', 'count = "1 ฉบับ", pages = 2'), "enclosures",
     "enclosures = ["),
    (lambda s: s.replace('kind = "circular"', 'kind = "circular'), None, 'kind = "circular'),
]


@pytest.mark.parametrize(("change", "key", "needle"), BAD_FILES)
def test_bad_letter_file_names_file_key_and_line(
    tmp_path: Path, change, key: str | None, needle: str
) -> None:
    text = change(SAMPLE)
    path = write(tmp_path, text)
    output = tmp_path / "out.pdf"
    result = run_cli("letter", str(path), "-o", str(output))
    assert result.returncode == 2
    message = result.stderr
    assert str(path) in message
    if key:
        assert f"key '{key}'" in message
    assert f":{line_of(text, needle)}:" in message
    assert "Traceback" not in message
    assert not output.exists()
    # no temp file left behind either
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enclosures", "letter.toml"]


def test_missing_file_is_named(tmp_path: Path) -> None:
    result = run_cli("letter", str(tmp_path / "nope.toml"), "-o", str(tmp_path / "x.pdf"))
    assert result.returncode == 2 and "nope.toml: file not found" in result.stderr


def test_template_merges_recipient_and_keeps_its_digits(tmp_path: Path) -> None:
    text = SAMPLE.replace(
        'to = "ผู้อำนวยการสถานศึกษาของรัฐ',
        'to = "ผู้อำนวยการ{{ college.name }} (รหัส {{ college.code }}) สถานศึกษาของรัฐ',
    )
    path = write(tmp_path, text)
    output = tmp_path / "out.pdf"
    result = run_cli(
        "letter", str(path), "-o", str(output),
        "--set", "college.name=วิทยาลัยสารพัดช่างลำปาง", "--set", "college.code=1352016501",
    )
    assert result.returncode == 0, result.stderr
    first = page_texts(output.read_bytes(), "pypdf")[0]
    assert "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง (รหัส 1352016501)" in first


def test_merge_names_tell_a_letter_the_same_for_all_from_a_merged_one() -> None:
    assert load_letter_file(ROOT / "examples" / "memo" / "memo.toml").merge_names() == set()
    assert load_letter_file(EXAMPLE_LETTER).merge_names() == {"college"}


def test_cli_renders_the_example(tmp_path: Path) -> None:
    output = tmp_path / "letter.pdf"
    result = run_cli("letter", str(EXAMPLE_LETTER), "-o", str(output))
    assert result.returncode == 0, result.stderr
    assert output.read_bytes().startswith(b"%PDF-")


def test_example_parses_to_the_seed_parts() -> None:
    letter = load_letter_file(EXAMPLE_LETTER).merge()
    assert letter.kind == "circular" and letter.reference_number == "ศธ 0603/ว 5553"
    assert len(letter.body) == 7 and len(letter.enclosures) == 3
    assert letter.signer.acting == "ปฏิบัติราชการแทน"


def test_error_object_carries_its_parts(tmp_path: Path) -> None:
    path = write(tmp_path, SAMPLE.replace("date = 2026-04-10", "date = 12"))
    with pytest.raises(LetterFileError) as info:
        load_letter_file(path)
    assert (info.value.key, info.value.line) == ("date", line_of(SAMPLE, "date = 2026"))


def test_paragraphs_join_thai_lines_directly() -> None:
    assert split_paragraphs("ด้วยสำนักงาน\nคณะกรรมการ\n\nURL\nemvs") == (
        "ด้วยสำนักงานคณะกรรมการ",
        "URL emvs",
    )


def test_dates_in_buddhist_era() -> None:
    assert thai_date(date(2026, 4, 10)) == "๑๐ เมษายน ๒๕๖๙"
    assert thai_date(date(2026, 4, 10), thai=False) == "10 เมษายน 2569"
    assert short_thai_date(date(2026, 4, 20)) == "20 เม.ย. 69"
    assert short_thai_date(date(2027, 1, 5), thai=True) == "๕ ม.ค. ๗๐"


def test_thai_numerals_leave_machine_text_alone() -> None:
    text = "โทร. 0 2026 5555 URL : emvs.ovec.go.th https://x.example/a1 a1@b2.go.th พ.ศ. 2569"
    assert numerals(text, True) == (
        "โทร. ๐ ๒๐๒๖ ๕๕๕๕ URL : emvs.ovec.go.th https://x.example/a1 a1@b2.go.th พ.ศ. ๒๕๖๙"
    )
    assert numerals(text, False) == text
