"""Letters and QR sheets from their files, as PDF: what ``saraban letter`` and
``saraban qr-sheet`` make (the typesetting is the letters package's)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from letters.letter import render_letter
from letters.letterfile import load_letter_file
from letters.model import Letter
from letters.qrsheet import load_qr_sheet, render_qr_sheet


def letter_from_file(path: Path, values: Mapping[str, Any] | None = None) -> Letter:
    """The letter file with ``values`` merged into its templates (``{"college": {...}}``);
    LetterFileError names the file, the line and the key at fault."""
    return load_letter_file(path).merge(dict(values or {}))


def render_letter_file(path: Path, values: Mapping[str, Any] | None = None) -> bytes:
    """:func:`letter_from_file` as PDF."""
    return render_letter(letter_from_file(path, values))


def render_qr_sheet_file(path: Path) -> bytes:
    return render_qr_sheet(load_qr_sheet(path))
