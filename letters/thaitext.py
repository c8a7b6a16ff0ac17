"""Thai numerals and Buddhist-era dates as official letters and routing notes write them."""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from functools import lru_cache

from pythainlp.util import arabic_digit_to_thai_digit, thai_strftime

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


def _as_datetime(day: date) -> datetime:
    return day if isinstance(day, datetime) else datetime(day.year, day.month, day.day)


def thai_date(day: date, *, thai: bool = True) -> str:
    """``10 เมษายน 2569``: day, full month name, Buddhist-era year."""
    return thai_strftime(_as_datetime(day), "%-d %B %Y", thaidigit=thai)


def short_thai_date(day: date, *, thai: bool = False) -> str:
    """``20 เม.ย. 69``: the short form for routing notes."""
    return thai_strftime(_as_datetime(day), "%-d %b %y", thaidigit=thai)
