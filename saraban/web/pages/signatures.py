"""Digital signatures as the pages show them (the letter page, a delivered letter's page, the
inbox): each signature's verdict put plainly in Thai, who signed and under whom, whether the
file is as signed, whether the certificate is trusted, and when it was signed (the signer's
claim, or a timestamp authority's proof)."""

from __future__ import annotations

from dataclasses import dataclass

from saraban.services.signatures import (
    SignatureCheckPublic,
    SignatureHeadline,
    SignatureVerdictPublic,
)
from saraban.web.pages.thai import thai_datetime

GOOD = ("valid", "valid_when_signed")
BROKEN = ("tampered", "invalid", "modified", "unreadable", "revoked")

TRUST = {
    "no_trust_store": "ยังไม่ได้ตรวจ: ยังไม่ได้กำหนดรายการใบรับรองที่เชื่อถือ (ผู้ดูแลระบบกำหนดได้)",
    "no_chain": "ไม่เชื่อถือ: ใบรับรองไม่ได้ออกโดยผู้ออกใบรับรองที่อยู่ในรายการที่เชื่อถือ",
    "expired": "ไม่เชื่อถือ: ใบรับรองหมดอายุ",
    "not_yet_valid": "ไม่เชื่อถือ: ใบรับรองยังไม่มีผล",
    "revoked": "ไม่เชื่อถือ: ใบรับรองถูกเพิกถอน",
    "key_usage": "ไม่เชื่อถือ: ใบรับรองนี้ใช้ลงนามเอกสารไม่ได้",
    "other": "ตรวจสอบใบรับรองไม่ได้",
}


def tone(status: str) -> str:
    """The alert's colour: success, error (the file is not as signed) or warning."""
    if status in GOOD:
        return "success"
    return "error" if status in BROKEN else "warning"


def integrity(v: SignatureVerdictPublic) -> str:
    if v.status == "unreadable":
        return "อ่านลายมือชื่อไม่ได้ หรือไฟล์เสียหาย"
    if not v.intact:
        return "ไฟล์ถูกแก้ไขหลังลงนาม: ข้อมูลไม่ตรงกับที่ลงนามไว้"
    if not v.valid:
        return "ค่าลายมือชื่อไม่ถูกต้อง"
    if v.covers_whole_file:
        return "ลายมือชื่อครอบคลุมทั้งไฟล์ ไม่มีสิ่งใดเพิ่มหลังลงนาม"
    if v.changes_allowed:
        return "มีการเพิ่มเติมหลังลงนามที่อนุญาต (เช่น ลายมือชื่อเพิ่ม) ส่วนที่ลงนามไม่ถูกแก้ไข"
    return "มีการเพิ่มหรือแก้ไขเนื้อหาหลังลงนาม: ลายมือชื่อไม่ครอบคลุมทั้งไฟล์"


def trust(v: SignatureVerdictPublic) -> str:
    if v.status == "unreadable":
        return "—"
    if v.status == "valid_when_signed":
        return "เชื่อถือได้ ณ เวลาที่ลงนามตามตราประทับเวลา (ใบรับรองหมดอายุแล้ว)"
    if v.trusted:
        return "เชื่อถือได้: ใบรับรองออกโดยผู้ออกใบรับรองที่อยู่ในรายการที่เชื่อถือ"
    return TRUST.get(v.trust_problem or "other", TRUST["other"])


def signing_times(v: SignatureVerdictPublic) -> list[str]:
    times = []
    if v.timestamp is not None:
        proof = "เชื่อถือได้" if v.timestamp_trusted else "ตรวจสอบไม่ได้"
        times.append(f"{thai_datetime(v.timestamp)} ตามตราประทับเวลา ({proof})")
    if v.claimed_time is not None:
        times.append(f"{thai_datetime(v.claimed_time)} ตามที่ผู้ลงนามระบุ")
    return times or ["—"]


@dataclass(frozen=True)
class SignatureView:
    verdict: SignatureVerdictPublic
    tone: str
    integrity: str
    trust: str
    times: list[str]


@dataclass(frozen=True)
class CheckView:
    check: SignatureCheckPublic
    tone: str
    signatures: list[SignatureView]

    @property
    def signed(self) -> bool:
        return bool(self.signatures)


def check_view(check: SignatureCheckPublic) -> CheckView:
    views = [
        SignatureView(v, tone(v.status), integrity(v), trust(v), signing_times(v))
        for v in check.signatures
    ]
    return CheckView(check, tone(check.status), views)


def headline_mark(headline: SignatureHeadline | None) -> tuple[str, str] | None:
    """The inbox's note under a signed letter's subject: (tone, text); None when unsigned or
    not checked."""
    if headline is None or headline.status == "unsigned":
        return None
    mark = "✓" if headline.status in GOOD else "⚠"
    who = f" · {headline.signer_name}" if headline.signer_name else ""
    return tone(headline.status), f"{mark} {headline.summary}{who}"
