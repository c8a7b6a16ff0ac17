"""Where a line of Thai may break: between dictionary words (pythainlp ``newmm``) or at spaces.

Thai is written without spaces between words, so a break opportunity comes from a word
segmenter. Runs of non-Thai text (Latin words, URLs, numbers) break only at spaces, and
punctuation stays with the word it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from pythainlp.corpus.common import thai_words
from pythainlp.tokenize import word_tokenize

# Characters that never start a line: Thai vowels written after or over/under their consonant,
# tone marks, repetition and abbreviation signs, and closing punctuation.
_THAI_DEPENDENT = {chr(c) for c in (0x0E30, 0x0E31, 0x0E32, 0x0E33, *range(0x0E34, 0x0E3B))}
_THAI_DEPENDENT |= {chr(c) for c in (0x0E45, *range(0x0E47, 0x0E4F))}
NBSP = "\u00a0"  # glue: a space no line may break at
NO_BREAK_BEFORE = _THAI_DEPENDENT | set("ฯๆ)]}.,:;!?”’%…»") | {NBSP}
# Characters that never end a line: leading vowels (written before their consonant) and
# opening punctuation.
NO_BREAK_AFTER = {chr(c) for c in range(0x0E40, 0x0E45)} | set("([{“‘«/") | {NBSP}


def is_thai(char: str) -> bool:
    return "\u0e00" <= char <= "\u0e7f"


def _is_space(unit: str) -> bool:
    return unit.isspace() and NBSP not in unit


def _is_abbreviation_letter(token: str) -> bool:
    """A consonant and its full stop (``ร.`` of ``โทร.``, the second ``ผ.`` of ``ผ.ผ.``):
    newmm cuts abbreviations there, and no line may."""
    return len(token) >= 2 and token[1] == "." and "\u0e01" <= token[0] <= "\u0e2e"


def _may_break_between(left: str, right: str) -> bool:
    a, b = left[-1], right[0]
    if b in NO_BREAK_BEFORE or a in NO_BREAK_AFTER:
        return False
    if _is_abbreviation_letter(right) and (is_thai(a) or (a == "." and is_thai(left[-2:-1]))):
        return False
    if _is_space(left) or _is_space(right):
        return True
    return is_thai(a) or is_thai(b)


@lru_cache(maxsize=256)  # bounded: a mailout adds one paragraph per college
def break_units(text: str) -> tuple[str, ...]:
    """Split ``text`` into units between which a line may break; each space is its own unit.

    Joining the units gives back ``text`` exactly.
    """
    units: list[str] = []
    for piece in _pieces(text):
        tokens = list(_words(piece))
        for n in range(len(tokens) - 1, 0, -1):  # a lone consonant and its full stop: one
            if tokens[n].startswith(".") and _is_abbreviation_letter(tokens[n - 1] + "."):
                tokens[n - 1 : n + 1] = [tokens[n - 1] + tokens[n]]
        for token in tokens:
            for part in list(token) if token.isspace() else [token]:
                if units and not _may_break_between(units[-1], part):
                    units[-1] += part
                else:
                    units.append(part)
    return tuple(units)


@lru_cache(maxsize=8192)
def _words(piece: str) -> tuple[str, ...]:
    # WordSet answers everything newmm asks of a Trie (``prefixes``), not the rest of it.
    words: Any = _dictionary()
    return tuple(word_tokenize(piece, custom_dict=words, engine="newmm", keep_whitespace=True))


class WordSet:
    """pythainlp's word dictionary for newmm, built in a few tens of milliseconds.

    newmm asks its dictionary one question, ``prefixes(text, start)``: the dictionary's words
    that ``text`` holds at ``start``, shortest first. pythainlp answers it with a trie of
    nodes, one per letter of 62,000 words, which takes a second to build: most of a fresh
    process's first letter. This answers it from a set of the words and, per first two
    letters, the lengths of the words that start with them: the same words, in the same order
    (tests/unit/test_segmentation.py checks it over a large corpus), so segmentation is
    unchanged.
    """

    def __init__(self, words: Iterable[str]) -> None:
        # The trie strips each word and never holds the empty one.
        self._words = frozenset(w for w in (word.strip() for word in words) if w)
        lengths: dict[str, set[int]] = {}
        for word in self._words:
            lengths.setdefault(word[:2], set()).add(len(word))
        self._lengths = {head: tuple(sorted(ls)) for head, ls in lengths.items()}

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and word.strip() in self._words

    def __iter__(self) -> Iterator[str]:
        return iter(self._words)

    def prefixes(self, text: str, start: int = 0) -> list[str]:
        """The words that ``text`` holds at ``start``, shortest first (as ``Trie.prefixes``)."""
        words = self._words
        found = []
        if text[start : start + 1] in words:
            found.append(text[start : start + 1])
        end = len(text)
        for n in self._lengths.get(text[start : start + 2], ()):
            if start + n > end:
                break
            if n > 1 and text[start : start + n] in words:
                found.append(text[start : start + n])
        return found


@lru_cache(maxsize=1)
def _dictionary() -> WordSet:
    return WordSet(thai_words())


_SPACES = re.compile(" +")


def _pieces(text: str) -> list[str]:
    """``text`` cut at its spaces, where newmm's matching starts afresh, so that the pieces'
    words (cached) are the words of the whole: a mailout's paragraphs differ by a name.

    A space stays inside a piece where a dictionary word holding a space (``ฮือ ๆ``) could
    match across it.
    """
    pieces: list[str] = []
    start = 0
    for space in _SPACES.finditer(text):
        a, b = space.span()
        if a > 0 and b < len(text) and (text[a - 1], text[b]) in _joined_across_space():
            continue
        pieces += [text[start:a], text[a:b]]
        start = b
    pieces.append(text[start:])
    return [piece for piece in pieces if piece]


@lru_cache(maxsize=1)
def _joined_across_space() -> frozenset[tuple[str, str]]:
    """The characters either side of the spaces in the dictionary's words."""
    pairs = set()
    for word in thai_words():
        word = word.strip()
        for space in _SPACES.finditer(word):
            a, b = space.span()
            pairs.add((word[a - 1], word[b]))
    return frozenset(pairs)


def word_boundaries(text: str) -> set[int]:
    """Offsets in ``text`` where a line may break (used by tests on extracted text too)."""
    offsets: set[int] = set()
    pos = 0
    for unit in break_units(text):
        offsets.add(pos)
        pos += len(unit)
    offsets.add(pos)
    return offsets
