"""Cells of a CSV file that a spreadsheet opens: never a formula (CSV injection).

Excel, LibreOffice and Google Sheets read a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (``=HYPERLINK("http://...","คลิก")`` becomes a live link, ``=cmd|...`` worse), and
a leading tab or carriage return can hide such a start. OWASP's advice: put a single quote
before such a cell, which the spreadsheet shows as text and does not print. The full-width
forms (``＝``, ``＋``, ``－``, ``＠``) are neutralised too, since some spreadsheets fold them.

Every CSV the service or the command line writes passes each cell through :func:`safe_cell`.
"""

from __future__ import annotations

FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def safe_cell(value: object) -> str:
    """``value`` as text that a spreadsheet shows as it is: a cell starting with a formula
    character gets a leading ``'``; anything else is unchanged (``None`` is empty)."""
    text = "" if value is None else str(value)
    if text and text[0] in FORMULA_STARTS:
        return "'" + text
    return text


__all__ = ["FORMULA_STARTS", "safe_cell"]
