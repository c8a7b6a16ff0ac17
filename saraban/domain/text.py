"""Typed text that shows what it is: no characters that hide or reorder it.

A bidi override (U+202E RIGHT-TO-LEFT OVERRIDE and its kin) makes ``นายสมชาย‮txt.exe`` show
as something else, and zero-width characters make two names that look the same differ (or
hide a word inside another). Names, positions, subjects, notes and reasons are shown to
people who decide on them, so such characters are refused, with the field named, wherever
text enters: the API's models and the pages' forms (which share them), and the roster
imported from the command line.

Refused: the bidi embeddings and overrides (U+202A-U+202E), the isolates (U+2066-U+2069),
the direction marks (U+200E, U+200F, U+061C), the zero-width characters (U+200B-U+200D,
U+2060-U+2064, U+FEFF, U+180E), the soft hyphen (U+00AD), which no Thai letter needs, and the
control characters but tab, line feed and carriage return (NUL would be a 500 on PostgreSQL).
"""

from __future__ import annotations

import re

from saraban.domain.errors import Invalid

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\u180e\u00ad"
# Control characters are invisible too (and PostgreSQL refuses NUL in text); tab, line feed
# and carriage return are layout, not disguise.
CONTROLS = "".join(chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F))
DISGUISING = BIDI_CONTROLS + ZERO_WIDTH + CONTROLS
_DISGUISING = re.compile(f"[{re.escape(DISGUISING)}]")


def disguising_characters(value: str) -> list[str]:
    """The characters of ``value`` that hide or reorder text, as ``U+XXXX``, each once, in
    order of appearance."""
    seen: list[str] = []
    for found in _DISGUISING.findall(value):
        name = f"U+{ord(found):04X}"
        if name not in seen:
            seen.append(name)
    return seen


def disguise_problem(value: str) -> str | None:
    """Why ``value`` is refused (it hides or reorders text), or None."""
    found = disguising_characters(value)
    if not found:
        return None
    codes = ", ".join(found)
    return (
        f"มีอักขระที่มองไม่เห็นหรือสลับทิศทางข้อความ ({codes}) โปรดพิมพ์ใหม่ / contains "
        f"invisible or text-direction characters ({codes}); retype the text"
    )


def no_disguise(value: str) -> str:
    """A validator for models: ``value`` unchanged, or ValueError (the field is named by the
    model that calls it)."""
    problem = disguise_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def visible_text(field: str, value: str) -> str:
    """``value`` unchanged, or :class:`Invalid` naming ``field``."""
    problem = disguise_problem(value)
    if problem is not None:
        raise Invalid(field, problem)
    return value


__all__ = [
    "BIDI_CONTROLS",
    "CONTROLS",
    "DISGUISING",
    "ZERO_WIDTH",
    "disguise_problem",
    "disguising_characters",
    "no_disguise",
    "visible_text",
]
