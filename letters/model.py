"""An official letter as plain data: what the regulation's parts hold, nothing about pages."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from saraban.domain.vocabulary import SIGNING_RELATIONS

# external: หนังสือภายนอก; circular: หนังสือเวียน (ว numbers); memo: บันทึกข้อความ (internal).
Kind = Literal["external", "circular", "memo"]
KINDS: tuple[Kind, ...] = ("external", "circular", "memo")
URGENCIES = ("ด่วนที่สุด", "ด่วนมาก", "ด่วน")
# ชั้นความลับ, most secret first.
SECRECY_CLASSES = ("ลับที่สุด", "ลับมาก", "ลับ")
MADE_ENCLOSURES = ("qr-sheet", "credential-slip")
# What a signer may write after their position (delegation, or acting in the post).
ACTING_RELATIONS = SIGNING_RELATIONS
DEFAULT_CLOSING = "ขอแสดงความนับถือ"
# Printed in the signature block of a digitally signed letter, before the date it was signed.
DIGITALLY_SIGNED = "ลงนามด้วยลายมือชื่อดิจิทัล"
Day = date  # (a Letter's field is called date)


@dataclass(frozen=True)
class Enclosure:
    title: str
    count: str = ""  # "1 ฉบับ", "1 แผ่น"
    file: str | None = None  # a PDF the mailout puts in the bundle, relative to the letter file
    make: str | None = None  # one the mailout makes: see MADE_ENCLOSURES


@dataclass(frozen=True)
class Sender:
    code: str  # the agency's code before the slash of ที่: "ศธ 0603"
    agency: str
    address: str = ""  # printed on letters; a memo has none
    unit: str = ""  # ส่วนราชการเจ้าของเรื่อง (a memo's ส่วนราชการ)
    phone: str = ""
    fax: str = ""
    email: str = ""
    emblem: Path | None = None


@dataclass(frozen=True)
class Signer:
    name: str
    position: str
    acting: str = ""  # one of ACTING_RELATIONS, printed after the position
    on_behalf_of: str = ""  # the post acted for: "เลขาธิการคณะกรรมการการอาชีวศึกษา"


@dataclass(frozen=True)
class Letter:
    kind: Kind
    date: date
    subject: str
    to: str
    body: tuple[str, ...]  # paragraphs
    sender: Sender
    signer: Signer
    number: str | None = None
    thai_digits: bool = True
    urgency: str | None = None
    secrecy: str | None = None  # one of SECRECY_CLASSES, marked top and bottom of every page
    references: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = field(default_factory=tuple)
    closing: str = DEFAULT_CLOSING  # a memo has no closing: never printed on one
    # The day the signer approved and signed it digitally: the signature block then prints
    # ``ลงนามด้วยลายมือชื่อดิจิทัล`` and this date in the space left for a hand signature.
    signed_on: Day | None = None

    @property
    def reference_number(self) -> str:
        """The text after ที่: agency code, slash, ว for a circular, and the number."""
        prefix = "ว " if self.kind == "circular" else ""
        return f"{self.sender.code}/{prefix}{self.number or ''}".rstrip()

    @property
    def is_memo(self) -> bool:
        return self.kind == "memo"
