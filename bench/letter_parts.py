"""The printed text of a letter, piece by piece, for the HTML and Typst equivalents.

Everything here comes from the same :class:`~letters.model.Letter` that saraban renders, through
saraban's own numeral and date helpers, so the three PDFs carry the same words. The measures
come from :class:`~letters.letter.LetterLayout` and ``fonts/families.toml``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from letters.fonts import DEFAULT_FAMILY, FONTS_DIR, family_scale
from letters.letter import LetterLayout
from letters.model import Letter
from letters.segment import NBSP
from letters.thaitext import numerals, thai_date

LAYOUT = LetterLayout()
FONT_FAMILY = DEFAULT_FAMILY  # Laksaman
FONT_DIR: Path = FONTS_DIR
FONT_SIZE = LAYOUT.size * family_scale(FONT_FAMILY, FONTS_DIR)  # 16 pt nominal -> 10.672 pt
# saraban puts a line's baseline this far below the top of its line box (ThaiParagraph).
BASELINE_DROP = LAYOUT.leading * 0.78
# Width of two spaces of Laksaman (a space is 324/1000 em): the gap after เรื่อง, เรียน, ...
LABEL_GAP_EM = 2 * 0.324
SPACE_EM = 0.324
MM = 72 / 25.4
THAI_DIGITS = "๐๑๒๓๔๕๖๗๘๙"


@dataclass(frozen=True)
class Item:
    """One line of a labelled list (สิ่งที่ส่งมาด้วย): the label on the first item only."""

    label: str
    number: str  # "๑." or "" for a single item
    text: str


@dataclass(frozen=True)
class LetterParts:
    title: str
    reference: str  # ที่ ศธ ๐๖๐๓/ว ๕๕๕๓
    address_lines: tuple[str, ...]
    date: str
    subject: str
    to: str
    references: tuple[Item, ...]
    enclosures: tuple[Item, ...]
    body: tuple[str, ...]
    closing: str
    signature: tuple[str, ...]  # (name), position and acting relation, the post acted for
    unit_lines: tuple[str, ...]
    thai_digits: bool
    emblem: Path | None


def _items(label: str, items: list[str], thai: bool) -> tuple[Item, ...]:
    if len(items) == 1:
        return (Item(label, "", items[0]),)
    return tuple(
        Item(label if n == 1 else "", numerals(f"{n}.", thai), item)
        for n, item in enumerate(items, start=1)
    )


def letter_parts(letter: Letter) -> LetterParts:
    """The letter's text as saraban prints it (see ``letters/letter.py``)."""
    thai = letter.thai_digits
    sender, signer = letter.sender, letter.signer
    address = [
        numerals(line, thai)
        for line in [sender.agency, *sender.address.splitlines()]
        if line.strip()
    ]
    enclosures = [
        numerals(f"{e.title} จำนวน{NBSP}{e.count.replace(' ', NBSP)}" if e.count else e.title, thai)
        for e in letter.enclosures
    ]
    position = " ".join(p for p in (signer.position, signer.acting) if p)
    signature = [f"({signer.name})", position, signer.on_behalf_of]
    unit = [sender.unit]
    if sender.phone:
        unit.append(f"โทร. {sender.phone}")
    if sender.fax:
        unit.append(f"โทรสาร {sender.fax}")
    if sender.email:
        unit.append(f"ไปรษณีย์อิเล็กทรอนิกส์ {sender.email}")
    unit_lines = [
        line for line in "\n".join(numerals(u, thai) for u in unit if u).splitlines() if line
    ]
    return LetterParts(
        title=letter.subject,
        reference=numerals(f"ที่ {letter.reference_number}", thai),
        address_lines=tuple(address),
        date=thai_date(letter.date, thai=thai),
        subject=numerals(letter.subject, thai),
        to=numerals(letter.to, thai),
        references=_items("อ้างถึง", [numerals(r, thai) for r in letter.references], thai)
        if letter.references
        else (),
        enclosures=_items("สิ่งที่ส่งมาด้วย", enclosures, thai) if enclosures else (),
        body=tuple(numerals(p, thai) for p in letter.body),
        closing=letter.closing,
        signature=tuple(numerals(line, thai) for line in signature if line),
        unit_lines=tuple(unit_lines),
        thai_digits=thai,
        emblem=sender.emblem,
    )
