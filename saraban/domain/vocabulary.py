"""The words saraban's rules are written in, each defined once: who acts, the acting relations,
the proposals and decisions of a routing note, Thai digits, Buddhist-era years, Thai time and
Thai dates.

``letters`` (the typesetting) uses the same words from here: the relations a letter's signer
may write and the dates a letter or a note prints.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone, tzinfo
from enum import StrEnum
from typing import Final, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pythainlp.util import thai_strftime

# --- who acts -------------------------------------------------------------------------------


class SessionKind(StrEnum):
    """Who is logged in: OVEC staff, a college (its own account), or a member of its staff."""

    OVEC = "ovec"
    COLLEGE = "college"
    STAFF = "staff"


Role = Literal["clerk", "deputy", "director", "staff"]
ROLES: tuple[Role, ...] = ("clerk", "deputy", "director", "staff")
# Who may register letters and plan their routes besides the college's own account.
REGISTRAR_ROLES: frozenset[Role] = frozenset({"clerk"})

# --- acting relations -------------------------------------------------------------------------
#
# Two kinds, with different powers. Someone who holds a post as รักษาราชการแทน (acting in the
# office) or รักษาการในตำแหน่ง (acting in the position) has its authority: an acting director
# decides routing. ปฏิบัติราชการแทน (delegation) only signs for the head of the agency: it is
# printed under a letter's signature, and decides nothing.

DELEGATED: Final = "ปฏิบัติราชการแทน"
ACTING_IN_OFFICE: Final = "รักษาราชการแทน"
ACTING_IN_POSITION: Final = "รักษาการในตำแหน่ง"

PostRelation = Literal["รักษาราชการแทน", "รักษาการในตำแหน่ง"]
# Relations under which someone holds a post (a director's): theirs to decide.
POST_RELATIONS: tuple[PostRelation, ...] = (ACTING_IN_OFFICE, ACTING_IN_POSITION)
# A member of staff's stored relation: one of POST_RELATIONS, or "" for none.
ActingRelation = Literal["", "รักษาราชการแทน", "รักษาการในตำแหน่ง"]
ACTING_CHOICES: tuple[ActingRelation, ...] = ("", *POST_RELATIONS)
# What a letter's signer may write after their position.
SIGNING_RELATIONS: tuple[str, ...] = (DELEGATED, *POST_RELATIONS)

# --- a routing note's proposals and the director's decisions ----------------------------------

TO_KNOW: Final = "เพื่อโปรดทราบ"
TO_CONSIDER: Final = "เพื่อโปรดพิจารณา"
SUGGEST_INFORM: Final = "เห็นควรแจ้ง"
SUGGEST_ASSIGN: Final = "เห็นควรมอบ"
OTHER: Final = "อื่น ๆ"  # a free-text proposal
ProposalKind = Literal["เพื่อโปรดทราบ", "เพื่อโปรดพิจารณา", "เห็นควรแจ้ง", "เห็นควรมอบ", "อื่น ๆ"]
PROPOSAL_KINDS: tuple[ProposalKind, ...] = (
    TO_KNOW,
    TO_CONSIDER,
    SUGGEST_INFORM,
    SUGGEST_ASSIGN,
    OTHER,
)
# Proposals written with text: whom to inform or assign, or the free text.
PROPOSALS_WITH_TEXT: tuple[ProposalKind, ...] = (SUGGEST_INFORM, SUGGEST_ASSIGN, OTHER)

INFORM: Final = "แจ้ง"
ASSIGN: Final = "มอบ"
RETURN: Final = "ส่งคืน"
DecisionKind = Literal["ทราบ", "แจ้ง", "มอบ", "อนุญาต", "อนุมัติ", "ลงนามแล้ว", "เก็บเข้าแฟ้ม", "ส่งคืน"]
DECISION_KINDS: tuple[DecisionKind, ...] = (
    "ทราบ",
    INFORM,
    ASSIGN,
    "อนุญาต",
    "อนุมัติ",
    "ลงนามแล้ว",
    "เก็บเข้าแฟ้ม",
    RETURN,
)
# Decisions that name people, who then acknowledge.
ASSIGNING: tuple[DecisionKind, ...] = (INFORM, ASSIGN)

# --- digits ---------------------------------------------------------------------------------

THAI_DIGITS: Final = "๐๑๒๓๔๕๖๗๘๙"
ARABIC_DIGITS: Final = "0123456789"
_TO_ARABIC = str.maketrans(THAI_DIGITS, ARABIC_DIGITS)


def arabic_digits(text: str) -> str:
    """``text`` with Thai digits (๐-๙) as Arabic ones (0-9)."""
    return text.translate(_TO_ARABIC)


def has_thai_digits(text: str) -> bool:
    return any(ch in THAI_DIGITS for ch in text)


# --- Thai time and Buddhist-era years ---------------------------------------------------------

try:
    BANGKOK: tzinfo = ZoneInfo("Asia/Bangkok")
except ZoneInfoNotFoundError:  # no system tz database and no ``tzdata`` package
    # Thailand has kept UTC+07:00, without daylight saving, since 1920.
    BANGKOK = timezone(timedelta(hours=7), "Asia/Bangkok")

BE_OFFSET: Final = 543  # Buddhist-era year = CE year + 543
# Plausible Buddhist-era years; a CE year (e.g. 2026) given by mistake is refused.
MIN_YEAR_BE: Final = 2500
MAX_YEAR_BE: Final = 2800


def bangkok_now() -> datetime:
    return datetime.now(BANGKOK)


def bangkok_today() -> date:
    """Today's date in Thailand."""
    return bangkok_now().date()


def in_bangkok(moment: datetime) -> datetime:
    """An aware datetime as Thai time; a naive one is taken as Thai time already."""
    return moment.astimezone(BANGKOK) if moment.tzinfo is not None else moment


def year_be(moment: datetime | date | None = None) -> int:
    """Buddhist-era year (CE + 543) of ``moment`` in Thai time (default: now).

    An aware datetime is converted to Asia/Bangkok first (31 December 17:30 UTC is already
    1 January there); a naive one is refused (it names no instant). A :class:`date` is a
    calendar date already: its own year is used.
    """
    if moment is None:
        moment = bangkok_now()
    if isinstance(moment, datetime):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"naive datetime {moment!r}: give a timezone-aware datetime or a date")
        return moment.astimezone(BANGKOK).year + BE_OFFSET
    if isinstance(moment, date):
        return moment.year + BE_OFFSET
    raise TypeError(f"expected a datetime or date, got {type(moment).__name__}")


def ce_year(be: int) -> int:
    return be - BE_OFFSET


# --- Thai dates -------------------------------------------------------------------------------


def _thai_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return in_bangkok(value)
    return datetime(value.year, value.month, value.day)


def thai_date(value: date | datetime, *, thai: bool = True) -> str:
    """``๑๐ เมษายน ๒๕๖๙`` (``thai=False``: ``10 เมษายน 2569``): day, full month, BE year."""
    return thai_strftime(_thai_datetime(value), "%-d %B %Y", thaidigit=thai)


def abbreviated_thai_date(value: date | datetime, *, thai: bool = False) -> str:
    """``20 เม.ย. 2569``: day, short month, BE year (a stamp, a table)."""
    return thai_strftime(_thai_datetime(value), "%-d %b %Y", thaidigit=thai)


def short_thai_date(value: date | datetime, *, thai: bool = False) -> str:
    """``20 เม.ย. 69``: the short form a routing note is signed with."""
    return thai_strftime(_thai_datetime(value), "%-d %b %y", thaidigit=thai)


def thai_time(value: datetime) -> str:
    """``10.35 น.`` in Thailand."""
    return f"{in_bangkok(value):%H.%M} น."


def numeric_thai_date(value: date) -> str:
    """``10/4/2569``: day, month and BE year in figures."""
    return f"{value.day}/{value.month}/{value.year + BE_OFFSET}"
