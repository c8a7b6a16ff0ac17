"""Reading submitted forms: text fields, and dates written in Thai (day, month, BE year)."""

from __future__ import annotations

from datetime import date

from starlette.datastructures import FormData

from saraban.web.pages.thai import be_date

DATE_PARTS = ("day", "month", "year")


def text(form: FormData, name: str) -> str:
    """A text field ('' when missing or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def date_values(form: FormData, prefix: str) -> dict[str, str]:
    return {f"{prefix}_{part}": text(form, f"{prefix}_{part}") for part in DATE_PARTS}


def form_date(form: FormData, prefix: str) -> date | None:
    """The date of a day / month / Buddhist-era year group of fields (BadDate if wrong)."""
    return be_date(*(text(form, f"{prefix}_{part}") for part in DATE_PARTS))
