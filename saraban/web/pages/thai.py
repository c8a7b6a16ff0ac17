"""Thai words for the pages: Buddhist-era dates with Thai month names, and the names of
stages, statuses and roles."""

from __future__ import annotations

from datetime import date, datetime

from saraban.domain.errors import Invalid
from saraban.domain.vocabulary import (
    abbreviated_thai_date,
    arabic_digits,
    ce_year,
    thai_time,
    year_be,
)
from saraban.domain.vocabulary import thai_date as _long_thai_date

# The pages' filters: the vocabulary's dates with Arabic digits, and nothing for no date.


def thai_date(value: date | datetime | None) -> str:
    """``20 เมษายน 2569``"""
    return _long_thai_date(value, thai=False) if value is not None else ""


def thai_short_date(value: date | datetime | None) -> str:
    """``20 เม.ย. 2569``"""
    return abbreviated_thai_date(value) if value is not None else ""


def thai_clock(value: datetime | None) -> str:
    """``10.35 น.`` in Thailand."""
    return thai_time(value) if value is not None else ""


def thai_datetime(value: datetime | None) -> str:
    """``20 เม.ย. 2569 เวลา 10.35 น.``"""
    if value is None:
        return ""
    return f"{thai_short_date(value)} เวลา {thai_clock(value)}"


# OVEC's stages of a mailed letter at a college (saraban.services.tracking).
STAGES: dict[str, str] = {
    "pending": "รอจัดส่ง",
    "delivered": "ยังไม่ลงรับ",
    "received": "ลงรับแล้ว",
    "routed": "อยู่ระหว่างเสนอ",
    "decided": "สั่งการแล้ว",
    "completed": "เสร็จสิ้น",
}

# A route's status (saraban.domain.routing.status); None: registered, not routed yet.
ROUTE_STATUSES: dict[str | None, str] = {
    None: "ลงรับแล้ว",
    "received": "รอเกษียน",
    "routing": "อยู่ระหว่างเสนอ",
    "returned": "ส่งคืนเพื่อดำเนินการเพิ่ม",
    "decided": "สั่งการแล้ว",
    "completed": "เสร็จสิ้น",
}

# The college inbox's states, as a clerk sorts the mail.
INBOX_STATES: dict[str, str] = {
    "unread": "ยังไม่ลงรับ",
    "received": "ลงรับแล้ว",
    "routed": "อยู่ระหว่างเสนอ",
    "decided": "สั่งการแล้ว",
}

ROLES: dict[str, str] = {
    "clerk": "งานสารบรรณ (ธุรการ)",
    "deputy": "รองผู้อำนวยการ",
    "director": "ผู้อำนวยการ",
    "staff": "บุคลากร",
}

STEP_KINDS: dict[str, str] = {
    "note": "เกษียนเสนอ",
    "decision": "สั่งการ",
    "acknowledge": "รับทราบ",
}

CHANNELS: dict[str, str] = {
    "mailout": "ระบบสารบรรณ (สอศ.)",
    "paper": "หนังสือกระดาษ",
    "email": "ไปรษณีย์อิเล็กทรอนิกส์",
}

CREDENTIAL_STATUSES: dict[str, str] = {
    "live": "ใช้งานได้",
    "void": "ยกเลิกแล้ว",
}


def inbox_state(receipt_id: int | None, route_status: str | None) -> str:
    """unread (not registered), received, routed (notes under way) or decided."""
    if receipt_id is None:
        return "unread"
    if route_status in ("decided", "completed"):
        return "decided"
    if route_status in ("routing", "returned", "received"):
        return "routed"
    return "received"


THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)


class BadDate(Invalid):
    """A date written wrongly; the message is for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


def be_date(day: str, month: str, year: str) -> date | None:
    """A date from day, month (1-12) and Buddhist-era year fields: None when all are blank."""
    day, month, year = (arabic_digits(part.strip()) for part in (day, month, year))
    if not (day or month or year):
        return None
    if not all(p.isascii() and p.isdecimal() and len(p) <= 4 for p in (day, month, year)):
        raise BadDate("โปรดระบุวัน เดือน และปี พ.ศ. ให้ครบ")
    be_year = int(year)
    if not 2400 <= be_year <= 2700:
        raise BadDate("ปีต้องเป็นปีพุทธศักราช เช่น 2569")
    try:
        return date(ce_year(be_year), int(month), int(day))
    except ValueError:
        raise BadDate("ไม่มีวันที่นี้ในปฏิทิน") from None


def be_parts(value: date | None) -> dict[str, str]:
    """A date as the three fields' values."""
    if value is None:
        return {"day": "", "month": "", "year": ""}
    return {"day": str(value.day), "month": str(value.month), "year": str(year_be(value))}


def wait_text(seconds: int) -> str:
    """``30 วินาที`` or ``2 นาที`` (rounded up)."""
    if seconds < 60:
        return f"{max(1, seconds)} วินาที"
    return f"{-(-seconds // 60)} นาที"
