"""Secrecy classes (ชั้นความลับ) and urgency: marked where the regulation puts them, on every page.

A secrecy class is printed in red, bold, 20 pt (larger than the 16 pt text), centred at the top
and the bottom of every page of a letter, a circular or a memo; at the top it is the first thing
on the page and at the bottom the last, clear of the page number and the continuation words.
"""

from __future__ import annotations

import io
from dataclasses import replace

import pdfplumber
import pytest
from reportlab.lib.units import mm

from letters.fonts import load_family
from letters.letter import render_letter
from letters.letterfile import load_letter_file
from letters.model import SECRECY_CLASSES, Letter
from tests.unit.pdfreaders import read, typeset_runs
from tests.unit.reader_documents import EXTRA_PARAGRAPHS, MEMO, corpus_letter, seed_letter

A4_W, A4_H = 210.0, 297.0
FAMILY = load_family()
RED = (0.85, 0.0, 0.0)


def _memo() -> Letter:
    example = load_letter_file(MEMO).merge()
    return replace(example, body=(*example.body[:-1], *EXTRA_PARAGRAPHS * 2, example.body[-1]))


KINDS = {
    "external": lambda: replace(corpus_letter(), kind="external", number="1234"),
    "circular": corpus_letter,
    "memo": _memo,
}


def _marks(pdf: bytes, word: str) -> list[list[list[dict]]]:
    """Per page, the runs of characters spelling ``word`` alone on their baseline."""
    out = []
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            rows: dict[float, list[dict]] = {}
            for c in page.chars:
                rows.setdefault(round(c["matrix"][5], 1), []).append(c)
            found = []
            for y in sorted(rows, reverse=True):
                row = sorted(rows[y], key=lambda c: c["x0"])
                if "".join(c["text"] for c in row) == word:
                    found.append(row)
            out.append(found)
    return out


@pytest.mark.parametrize("secrecy", SECRECY_CLASSES)
@pytest.mark.parametrize("kind", list(KINDS))
def test_marked_red_top_and_bottom_centre_of_every_page(kind: str, secrecy: str) -> None:
    pdf = render_letter(replace(KINDS[kind](), secrecy=secrecy))
    pages = _marks(pdf, secrecy)
    assert len(pages) >= 2
    for n, marks in enumerate(pages, start=1):
        assert len(marks) == 2, f"page {n}: {len(marks)} marks"
        top, bottom = marks
        for mark in (top, bottom):
            assert all(c["non_stroking_color"] == pytest.approx(RED) for c in mark)
            assert all("Bold" in c["fontname"] for c in mark)
            assert mark[0]["size"] == pytest.approx(FAMILY.size(20), abs=0.01)
            centre = (mark[0]["x0"] + mark[-1]["x1"]) / 2
            assert abs(centre / mm - A4_W / 2) <= 0.5
        assert abs((A4_H * mm - top[0]["matrix"][5]) / mm - 10) <= 0.5
        assert abs(bottom[0]["matrix"][5] / mm - 8) <= 0.5
        # clear of the printer's edge
        assert top[0]["top"] / mm >= 4 and (A4_H * mm - max(c["bottom"] for c in bottom)) / mm >= 5


@pytest.mark.parametrize("kind", list(KINDS))
def test_first_and_last_on_every_page_and_clear_of_the_furniture(kind: str) -> None:
    pdf = render_letter(replace(KINDS[kind](), secrecy="ลับมาก"))
    for n, runs in enumerate(typeset_runs(pdf), start=1):
        assert runs[0].text == "ลับมาก", f"page {n}"
        assert runs[-1].text == "ลับมาก", f"page {n}"
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        for page in doc.pages:
            red = [c for c in page.chars if c["non_stroking_color"] == pytest.approx(RED)]
            top_mark = [c for c in red if c["top"] < page.height / 2]
            bottom_mark = [c for c in red if c["top"] > page.height / 2]
            others = [c for c in page.chars if c not in red]
            # below the page edge's band, above the page number and the head ...
            assert max(c["bottom"] for c in top_mark) < min(c["top"] for c in others)
            # ... and below the continuation words and the last line
            assert min(c["top"] for c in bottom_mark) > max(c["bottom"] for c in others)


@pytest.mark.parametrize("reader", ["pypdf", "pdfium", "pdftotext"])
def test_text_layer_starts_and_ends_each_page_with_the_class(reader: str) -> None:
    pdf = render_letter(replace(seed_letter(), secrecy="ลับที่สุด"))
    for text in read(pdf, reader):
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        assert lines[0] == "ลับที่สุด" and lines[-1] == "ลับที่สุด"


def test_no_secrecy_no_mark() -> None:
    text = "".join(read(render_letter(seed_letter()), "pypdf"))
    assert not any(word in text for word in SECRECY_CLASSES)


def test_urgency_and_secrecy_together_on_a_letter() -> None:
    pdf = render_letter(replace(seed_letter(), urgency="ด่วนที่สุด", secrecy="ลับ"))
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = doc.pages[0].chars
    red = [c for c in chars if c["non_stroking_color"] == pytest.approx(RED)]
    urgent = [c for c in red if c["size"] == pytest.approx(FAMILY.size(32), abs=0.01)]
    secret = [c for c in red if c["size"] == pytest.approx(FAMILY.size(20), abs=0.01)]
    assert "".join(c["text"] for c in urgent) == "ด่วนที่สุด"
    assert "".join(c["text"] for c in secret) == "ลับลับ"
    # the top mark and the urgency do not touch
    top_mark = secret[:2]
    assert max(c["x1"] for c in urgent) < min(c["x0"] for c in top_mark)
