"""Lines of the printed letter end only between dictionary words or at spaces.

The oracle is pythainlp's ``newmm`` run afresh on each paragraph, read against the text layer
of the rendered PDF (not the layout engine's own data).
"""

from __future__ import annotations

import io
import re

import pypdf
import pytest
from pythainlp.tokenize import word_tokenize
from reportlab.lib.units import mm

from letters.letter import LetterLayout, render_letter
from letters.thaitext import unmark
from tests.support.letters import long_letter
from tests.support.pdftext import lines, squash

MARKS = set(chr(c) for c in (0x0E31, *range(0x0E33, 0x0E3B), *range(0x0E47, 0x0E4F))) | {"ะ", "า"}
FURNITURE = re.compile(r"^(- [0-9๐-๙]+ -|.*\.\.\.)$")


def newmm_boundaries(text: str) -> set[int]:
    offsets, pos = {0}, 0
    for token in word_tokenize(text, engine="newmm", keep_whitespace=True):
        pos += len(token)
        offsets.add(pos)
    return offsets


def line_ends(paragraph: str, extracted: list[str]) -> list[int] | None:
    """Offsets in ``paragraph`` where its printed lines end, found in the extracted lines."""
    target = squash(paragraph)
    positions = [i for i, c in enumerate(paragraph) if not c.isspace()]
    for start, first in enumerate(extracted):
        head = squash(first)
        if len(head) < 4 or not target.startswith(head):
            continue
        consumed, ends = 0, []
        for line in extracted[start:]:
            piece = squash(line)
            if FURNITURE.match(line.strip()) or not piece:
                continue
            if not target.startswith(piece, consumed):
                break
            consumed += len(piece)
            ends.append(positions[consumed - 1] + 1)
            if consumed == len(target):
                return ends
    return None


@pytest.mark.parametrize("right_margin_mm", [20, 27, 41])
def test_no_line_ends_inside_a_word(right_margin_mm: int) -> None:
    letter = long_letter()
    pdf = render_letter(letter, layout=LetterLayout(right=right_margin_mm * mm))
    extracted = lines(pdf, "pypdf")
    assert len([t for t in extracted if FURNITURE.match(t.strip())]) >= 4  # 3+ pages
    joins = 0
    bad = []
    for paragraph in letter.body:
        paragraph = unmark(paragraph)
        ends = line_ends(paragraph, extracted)
        assert ends is not None, f"paragraph not found in the text layer: {paragraph[:40]}"
        allowed = newmm_boundaries(paragraph)
        for end in ends[:-1]:
            joins += 1
            at_space = paragraph[end - 1].isspace() or paragraph[end].isspace()
            if not at_space and end not in allowed:
                bad.append(f"{paragraph[max(0, end - 12):end]}|{paragraph[end:end + 12]}")
    assert joins >= 60
    assert bad == []


def test_no_line_starts_with_a_mark_or_following_vowel() -> None:
    pdf = render_letter(long_letter())
    for extractor in ("pypdf", "pdfplumber"):
        starts = [line.strip()[0] for line in lines(pdf, extractor) if line.strip()]
        assert not [c for c in starts if c in MARKS]


def test_long_letter_runs_to_at_least_three_pages() -> None:
    pdf = render_letter(long_letter())
    assert len(pypdf.PdfReader(io.BytesIO(pdf)).pages) >= 3


def test_words_found_piece_by_piece_are_the_words_of_the_whole_text() -> None:
    """break_units segments a paragraph between its spaces (so a mailout re-segments only the
    words that changed); that must give newmm's words of the whole text, also where a
    dictionary word holds a space (``ลุ่ม ๆ ดอน ๆ``)."""
    import random

    from pythainlp.corpus.common import thai_words

    from letters.segment import _pieces, _words

    words = sorted(thai_words())
    with_space = [w for w in words if " " in w]
    assert with_space, "the dictionary has words with a space: the test needs them"
    rnd = random.Random(2569)
    for _ in range(3000):
        parts = [
            rnd.choice(with_space) if rnd.random() < 0.3 else rnd.choice(words)
            for _ in range(rnd.randint(2, 10))
        ]
        text = "".join(p + rnd.choice(["", "", " ", "  ", " ๆ ", "ๆ "]) for p in parts)
        pieces = [t for piece in _pieces(text) for t in _words(piece)]
        assert pieces == word_tokenize(text, engine="newmm", keep_whitespace=True), text
