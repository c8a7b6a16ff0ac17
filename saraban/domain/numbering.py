"""How the registers number letters (ทะเบียนหนังสือส่ง, ทะเบียนหนังสือรับ), as rules.

A register number is gap-free and never reused: ``1, 2, 3, ...`` per *sequence* (a scope and
a Buddhist-era year), restarting at 1 each year. Scopes in use:

* ``dispatch:{register}:{kind}``: the dispatch register (external letters and circulars are
  separate sequences), see :mod:`saraban.services.dispatch`;
* ``receipt:{college code}``: a college's receipt register, see
  :mod:`saraban.services.receipts`.

Taking a number (the counter row, its locking) is storage's: :mod:`saraban.storage.counters`.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

from saraban.domain.vocabulary import MAX_YEAR_BE, MIN_YEAR_BE

MAX_SCOPE_LENGTH = 255


class DispatchKind(StrEnum):
    EXTERNAL = "external"  # หนังสือภายนอก: ศธ 0603/5553
    CIRCULAR = "circular"  # หนังสือเวียน: ศธ 0603/ว 5553


class DispatchStatus(StrEnum):
    ISSUED = "issued"
    CANCELLED = "cancelled"


def nfc(value: object) -> object:
    """NFC and stripped, for text; anything else as it is (for validators)."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def sequence(scope: object, year: object) -> tuple[str, int]:
    """A sequence's key, checked: a non-empty scope (NFC) and a Buddhist-era year."""
    if not isinstance(scope, str):
        raise TypeError(f"scope must be a string, got {type(scope).__name__}")
    scope = unicodedata.normalize("NFC", scope).strip()
    if not scope or len(scope) > MAX_SCOPE_LENGTH:
        raise ValueError(
            f"scope must be a non-empty string of at most {MAX_SCOPE_LENGTH} characters"
        )
    if isinstance(year, bool) or not isinstance(year, int):
        raise TypeError(f"year_be must be an int, got {type(year).__name__}")
    if not MIN_YEAR_BE <= year < MAX_YEAR_BE:
        raise ValueError(f"year_be {year} is not a Buddhist-era year (CE + 543)")
    return scope, year


def dispatch_scope(register: str, kind: DispatchKind | str) -> str:
    """The sequence of a dispatch register's kind of letter."""
    return f"dispatch:{nfc(register)}:{DispatchKind(kind).value}"


def format_reference(agency_code: str, kind: DispatchKind | str, number: int) -> str:
    """``ศธ 0603/5553`` or, for a circular, ``ศธ 0603/ว 5553`` (Arabic digits; Thai numerals
    are the letter's typesetting choice)."""
    circular = DispatchKind(kind) is DispatchKind.CIRCULAR
    return f"{agency_code}/{'ว ' if circular else ''}{number}"


def receipt_scope(college_code: str) -> str:
    """The sequence of a college's receipt register."""
    return f"receipt:{college_code}"


def receipt_number(number: int, year: int) -> str:
    """``12/2569``, as stamped (เลขรับ)."""
    return f"{number}/{year}"
