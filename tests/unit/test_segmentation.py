"""The fast word dictionary (letters.segment.WordSet) segments exactly as pythainlp's trie.

newmm asks its dictionary only ``prefixes(text, start)``; WordSet must answer it with the same
words in the same order at every position of every text, and newmm's words over whole texts
must be the same. The corpus: the example letter, the reader tests' corpus letter, every
college name of the example roster, random runs of dictionary words (with the dictionary's
words that hold a space, and spaces and ๆ between), random Thai letters and marks that are in
no dictionary, and Thai mixed with Latin, digits and punctuation.
"""

from __future__ import annotations

import csv
import random
from functools import cache

import pytest
from pythainlp.corpus.common import thai_words
from pythainlp.tokenize import word_dict_trie, word_tokenize
from pythainlp.util import Trie

from letters.segment import WordSet, _dictionary
from tests.unit.reader_documents import EXAMPLE, corpus_letter

THAI = [chr(c) for c in range(0x0E01, 0x0E5C) if chr(c).isprintable()]


@cache
def _trie() -> Trie:
    return word_dict_trie()


def corpus(count: int, seed: int = 2569) -> list[str]:
    letter = corpus_letter()
    texts = [letter.subject, letter.to, *letter.body]
    with (EXAMPLE / "roster.csv").open(encoding="utf-8", newline="") as f:
        texts += [row["name"] for row in csv.DictReader(f)]
    words = sorted(thai_words())
    with_space = [w for w in words if " " in w]
    rnd = random.Random(seed)
    latin = ["e-MVS", "(electronic", "2569", "3.00", "URL", ":", "emvs.ovec.go.th", "“", "”", "ฯ"]
    for n in range(count):
        kind = n % 3
        if kind == 0:
            parts = [
                rnd.choice(with_space) if rnd.random() < 0.3 else rnd.choice(words)
                for _ in range(rnd.randint(2, 12))
            ]
            texts.append(
                "".join(p + rnd.choice(["", "", " ", "  ", " ๆ ", "ๆ "]) for p in parts)
            )
        elif kind == 1:
            texts.append("".join(rnd.choice(THAI) for _ in range(rnd.randint(1, 40))))
        else:
            parts = [rnd.choice(words if rnd.random() < 0.7 else latin) for _ in range(8)]
            texts.append("".join(p + rnd.choice(["", " "]) for p in parts))
    return texts


def test_the_word_set_holds_the_trie_words() -> None:
    assert len(_dictionary()) == len(list(_trie()))
    assert set(_dictionary()) == set(_trie())


@pytest.mark.parametrize("text", corpus(300))
def test_prefixes_are_the_tries_at_every_position(text: str) -> None:
    mine, theirs = _dictionary(), _trie()
    for start in range(len(text) + 1):
        assert mine.prefixes(text, start) == theirs.prefixes(text, start), (text, start)


def test_newmm_words_are_the_same_over_a_large_corpus() -> None:
    mine = _dictionary()
    for text in corpus(3000, seed=11):
        assert word_tokenize(text, custom_dict=mine, engine="newmm") == word_tokenize(
            text, engine="newmm"
        ), text


def test_a_word_set_of_other_words_is_the_trie_of_them() -> None:
    words = ["ก", " กา ", "กาก", "กากบาท", "ข ค"]
    mine, theirs = WordSet(words), Trie(words)
    assert len(mine) == len(theirs)
    for text in ["กากบาทข ค", "ข คกา", " กาก"]:
        for start in range(len(text) + 1):
            assert mine.prefixes(text, start) == theirs.prefixes(text, start)


@pytest.mark.parametrize(
    ("text", "units"),
    [
        # newmm cuts โทร. as โท|ร. and ผ.ผ. as ผ.|ผ.: no line may break there.
        ("ลำปาง โทร.\u00a0๐\u00a0๕๔๒๒", ("ลำปาง", " ", "โทร.\u00a0๐\u00a0๕๔๒๒")),
        ("รองฯ ผ.ผ., หน.งานวางแผนฯ", ("รองฯ", " ", "ผ.ผ.,", " ", "หน.", "งาน", "วางแผนฯ")),
        ("ปีงบประมาณ พ.ศ. 2569", ("ปีงบประมาณ", " ", "พ.ศ.", " ", "2569")),
        # a province or a district after its abbreviation still may
        ("ต.บ้านเอื้อม อ.เมือง", ("ต.", "บ้าน", "เอื้อม", " ", "อ.", "เมือง")),
    ],
)
def test_abbreviations_are_never_broken(text: str, units: tuple[str, ...]) -> None:
    from letters.segment import break_units

    assert break_units(text) == units
