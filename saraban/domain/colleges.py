"""A college's identity: its 10-digit institution code (also its username) and its e-mail
address, each checked by one rule.

:func:`code_problem` says what is wrong with a code as written, in words a clerk can act on
(the roster's messages); :func:`normalise_college_code` is the lenient reading of a code typed
or stored (surrounding spaces, Thai digits), then the same rule.
"""

from __future__ import annotations

import re
from typing import Final

from saraban.domain.errors import Invalid
from saraban.domain.vocabulary import ARABIC_DIGITS, arabic_digits, has_thai_digits

CODE_LENGTH: Final = 10
_CODE = re.compile(r"[0-9]{10}")
_SCIENTIFIC = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]*)?[eE][+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?[0-9]+[.,][0-9]+")
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2212"
EMAIL: Final = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)


def is_college_code(text: str) -> bool:
    """Exactly 10 ASCII digits."""
    return _CODE.fullmatch(text) is not None


def code_problem(text: str) -> str | None:
    """What is wrong with a college code as written (None: it is one)."""
    if not text:
        return "the college code is empty"
    if has_thai_digits(text):
        return "contains Thai digits; use Arabic digits 0-9"
    if _SCIENTIFIC.fullmatch(text):
        return (
            "looks like a number Excel turned into scientific notation; format the column as text"
        )
    if _DECIMAL.fullmatch(text):
        return "looks like a number with a decimal part; format the column as text"
    separators = _separator_problem(text)
    if separators:
        return separators
    others = sorted({ch for ch in text if ch not in ARABIC_DIGITS})
    if others:
        shown = " ".join(_char_name(ch) for ch in others)
        return f"contains characters that are not digits ({shown}); a code is 10 digits 0-9"
    if len(text) == CODE_LENGTH - 1:
        return "has 9 digits; Excel may have dropped a leading zero/digit"
    if len(text) != CODE_LENGTH:
        digits = "digit" if len(text) == 1 else "digits"
        return f"has {len(text)} {digits}; a college code has exactly {CODE_LENGTH}"
    return None


def _char_name(ch: str) -> str:
    if ch == " ":
        return "space"
    return ch if ch.isprintable() else f"U+{ord(ch):04X}"


def _separator_problem(text: str) -> str | None:
    has_space = any(ch.isspace() for ch in text)
    has_dash = any(ch in _DASHES for ch in text)
    if not (has_space or has_dash):
        return None
    if any(not (ch in ARABIC_DIGITS or ch.isspace() or ch in _DASHES) for ch in text):
        return None  # other characters too: report them instead
    kind = "spaces and dashes" if has_space and has_dash else "spaces" if has_space else "dashes"
    return f"contains {kind}; write the 10 digits with nothing between them"


def normalise_college_code(value: object) -> str:
    """The 10-digit college code as ASCII digits, from text (surrounding whitespace and Thai
    numerals allowed) or an int; :class:`Invalid` (a ``ValueError``) otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        message = f"college code must be a string, got {type(value).__name__}"
        raise Invalid("code", message, text=message)
    code = arabic_digits(value.strip())
    if not is_college_code(code):
        message = f"college code must be exactly 10 digits, got {value!r}"
        raise Invalid("code", message, text=message)
    return code


def email_problem(text: str) -> str | None:
    """What is wrong with an e-mail address (None: it looks like one)."""
    if text.count("@") > 1:
        return "looks like more than one address; give one address per college"
    if not EMAIL.fullmatch(text):
        return "is not a valid email address"
    return None
