"""The font family is configuration: another family's files dropped in work with no code change."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pytest

from letters.fonts import FONTS_DIR, FontConfigError, find_family_files
from tests.support.letters import EXAMPLE_LETTER, ROOT
from tests.support.pdftext import page_texts

SARABUN_NAMES = {
    "Laksaman.ttf": "THSarabunNew.ttf",
    "Laksaman-Bold.ttf": "THSarabunNew Bold.ttf",
    "Laksaman-Italic.ttf": "THSarabunNew Italic.ttf",
    "Laksaman-BoldItalic.ttf": "THSarabunNew BoldItalic.ttf",
}


def test_dropped_in_family_is_used(tmp_path: Path) -> None:
    # Stand-ins named as TH Sarabun New's files are (its files are not ours to ship).
    folder = tmp_path / "fonts"
    folder.mkdir()
    for source, target in SARABUN_NAMES.items():
        shutil.copy(FONTS_DIR / source, folder / target)
    output = tmp_path / "letter.pdf"
    env = {**os.environ, "SARABAN_FONTS_DIR": str(folder), "SARABAN_FONT_FAMILY": "TH Sarabun New"}
    result = subprocess.run(
        [sys.executable, "-m", "saraban.cli", "letter", str(EXAMPLE_LETTER), "-o", str(output)],
        capture_output=True, text=True, cwd=ROOT, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    pdf = output.read_bytes()
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        sizes = {round(c["size"], 2) for c in doc.pages[0].chars}
    assert 16.0 in sizes  # no scale entry for this family: nominal 16 pt is set as 16 pt
    assert "สำนักงานคณะกรรมการการอาชีวศึกษา" in page_texts(pdf, "pypdf")[0]


def test_style_files_found_by_name_and_missing_family_explained(tmp_path: Path) -> None:
    files = find_family_files("Laksaman", FONTS_DIR)
    assert files["bolditalic"].name == "Laksaman-BoldItalic.ttf"
    with pytest.raises(FontConfigError, match="no regular file"):
        find_family_files("TH Sarabun New", tmp_path)
