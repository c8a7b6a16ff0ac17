"""What a clerk reads when a letter file or a QR sheet file is wrong: the line of the file where
the mistake is (inside the body, not the ``body = \"\"\"`` line), the merge field as they wrote
it and the fields there are, and a date that does not exist named as such, never the TOML
parser's or Jinja2's own words. Run as the clerk runs it: ``saraban letter`` and ``saraban
qr-sheet`` in a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from letters.letterfile import LetterFileError, load_letter_file
from letters.qrsheet import load_qr_sheet
from tests.support.letters import EXAMPLE_LETTER, ROOT

SAMPLE = EXAMPLE_LETTER.read_text(encoding="utf-8")
QR_SAMPLE = (ROOT / "examples" / "emvs-2569" / "qr-sheet.toml").read_text(encoding="utf-8")
COLLEGE = {"college": {"name": "วิทยาลัยเทคนิคลำปาง", "code": "1352016501", "province": "ลำปาง"}}


def run_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "saraban.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "letter.toml"
    path.write_text(text, encoding="utf-8")
    shutil.copytree(EXAMPLE_LETTER.parent / "enclosures", tmp_path / "enclosures")
    return path


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_misspelt_merge_field_is_named_at_its_line_in_the_body(tmp_path: Path) -> None:
    text = SAMPLE.replace("{{ college.name }}", "{{ college.nmae }}")
    path = write(tmp_path, text)
    wanted = line_of(text, "college.nmae")
    assert wanted > line_of(text, 'body = """') + 1
    with pytest.raises(LetterFileError) as caught:
        load_letter_file(path).merge(COLLEGE)
    assert caught.value.line == wanted
    assert caught.value.message == (
        "unknown merge field college.nmae; known: college.name, college.code, college.province"
    )
    message = one_line(
        run_cli(
            tmp_path,
            "letter",
            str(path),
            "-o",
            str(tmp_path / "x.pdf"),
            "--set",
            "college.name=วิทยาลัย",
            "--set",
            "college.code=1352016501",
        )
    )
    assert f"letter.toml:{wanted}: key 'body': unknown merge field college.nmae" in message
    assert "known: college.name, college.code" in message
    assert "dict object" not in message and "has no attribute" not in message
    assert not (tmp_path / "x.pdf").exists()


def test_an_unknown_name_and_a_lead_of_blank_lines_still_give_the_right_line(
    tmp_path: Path,
) -> None:
    text = SAMPLE.replace('body = """\n', 'body = """\n\n\n').replace(
        "{{ college.name }}", "{{ colege.name }}"
    )
    path = write(tmp_path, text)
    with pytest.raises(LetterFileError) as caught:
        load_letter_file(path).merge(COLLEGE)
    assert caught.value.line == line_of(text, "colege.name")
    assert caught.value.message.startswith("unknown merge field colege; known: college.name")


def test_a_template_syntax_error_is_at_its_line_in_the_body(tmp_path: Path) -> None:
    text = SAMPLE.replace("{{ college.code }}", "{{ college.code }")
    path = write(tmp_path, text)
    with pytest.raises(LetterFileError) as caught:
        load_letter_file(path)
    assert caught.value.line == line_of(text, "{{ college.code }")


@pytest.mark.parametrize(
    ("written", "why"),
    [
        ("2026-02-30", "2026-02-30 does not exist: February 2026 has 28 days"),
        ('"2026-02-30"', "2026-02-30 does not exist: February 2026 has 28 days"),
        ("2028-02-30", "2028-02-30 does not exist: February 2028 has 29 days"),
        ("2026-04-31", "2026-04-31 does not exist: April 2026 has 30 days"),
        ("2026-13-01", "2026-13-01 does not exist: there is no month 13"),
    ],
)
def test_a_date_that_does_not_exist_names_its_key_and_line(
    tmp_path: Path, written: str, why: str
) -> None:
    lines = SAMPLE.splitlines()
    at = line_of(SAMPLE, "date = ")
    lines[at - 1] = f"date = {written}"
    path = write(tmp_path, "\n".join(lines) + "\n")
    message = one_line(run_cli(tmp_path, "letter", str(path), "-o", str(tmp_path / "x.pdf")))
    assert f"letter.toml:{at}: key 'date': {why}" in message
    assert "Invalid date or datetime" not in message
    assert not (tmp_path / "x.pdf").exists()


@pytest.mark.parametrize(
    ("change", "key", "needle"),
    [
        (
            lambda t: t.split("[[entry]]")[0] + '[entry]\ncaption = "a"\nurl = "https://a.b/"\n',
            "entry",
            "[entry]",
        ),
        (
            lambda t: t.replace(
                "https://example.org/emvs-2569/tools", "https://x.org/" + "x" * 3000
            ),
            "entry[2].url",
            "https://x.org/",
        ),
        (
            lambda t: t.replace("https://example.org/emvs-2569/plan", "ftp://x"),
            "entry[1].url",
            "ftp://",
        ),
        (lambda t: t + "colour = 1\n", "entry[2].colour", "colour"),
        (lambda t: t.replace("title = ", "title = 2026-02-30\n#", 1), "title", "2026-02-30"),
    ],
)
def test_every_qr_sheet_error_has_its_line(
    tmp_path: Path, change: object, key: str, needle: str
) -> None:
    text = change(QR_SAMPLE)  # type: ignore[operator]
    path = tmp_path / "qr-sheet.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LetterFileError) as caught:
        load_qr_sheet(path)
    assert caught.value.line == line_of(text, needle), caught.value
    message = one_line(run_cli(tmp_path, "qr-sheet", str(path), "-o", str(tmp_path / "q.pdf")))
    assert f"qr-sheet.toml:{line_of(text, needle)}: key '{key}'" in message
    assert "Invalid version" not in message


def test_from_the_command_line_without_values_it_says_how_to_give_them(tmp_path: Path) -> None:
    text = SAMPLE.replace("{% if college is defined %}", "{% if true %}")
    path = write(tmp_path, text)
    message = one_line(run_cli(tmp_path, "letter", str(path), "-o", str(tmp_path / "x.pdf")))
    assert f"letter.toml:{line_of(text, '{{ college.name }}')}: key 'body'" in message
    assert "unknown merge field college; known: none were given; give them with --set" in message
