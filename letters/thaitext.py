"""Thai numerals and Buddhist-era dates as official letters and routing notes write them."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from pythainlp.util import arabic_digit_to_thai_digit

# The dates a letter and a routing note print are the vocabulary's (one home for Thai dates).
from saraban.domain.vocabulary import short_thai_date, thai_date

__all__ = [
    "KEEP_CLOSE",
    "KEEP_OPEN",
    "nfc",
    "numerals",
    "short_thai_date",
    "thai_date",
    "thai_digits",
    "unmark",
]

# Machine-read text keeps Arabic digits even in a letter set in Thai numerals.
_MACHINE_TEXT = re.compile(
    r"(?:https?://|www\.)\S+"  # URLs
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail addresses
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:go|ac|co|or|in|mi|net)\.th\b\S*"  # Thai domains
    r"|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|gov|edu|io)\b\S*"
)
# Values merged into a template are marked with these (private-use, never in real text) so
# that they keep their own digits: an institution code is a username, not prose.
KEEP_OPEN, KEEP_CLOSE = "\ue000", "\ue001"
_KEPT = re.compile(f"{KEEP_OPEN}.*?{KEEP_CLOSE}", re.S)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def thai_digits(text: str) -> str:
    """Arabic digits to Thai (๐–๙), except in URLs, e-mail addresses and kept values."""
    out: list[str] = []
    pos = 0
    spans = sorted(
        [(m.start(), m.end()) for m in _MACHINE_TEXT.finditer(text)]
        + [(m.start(), m.end()) for m in _KEPT.finditer(text)]
    )
    for start, end in spans:
        if start < pos:
            continue
        out.append(arabic_digit_to_thai_digit(text[pos:start]) if start > pos else "")
        out.append(text[start:end])
        pos = end
    out.append(arabic_digit_to_thai_digit(text[pos:]) if pos < len(text) else "")
    return "".join(out)


def unmark(text: str) -> str:
    return text.replace(KEEP_OPEN, "").replace(KEEP_CLOSE, "")


@lru_cache(maxsize=1024)  # a mailout's letters repeat the same paragraphs
def numerals(text: str, thai: bool) -> str:
    """The letter's numeral choice applied to ``text``; kept-value marks removed."""
    return unmark(thai_digits(text) if thai else text)

