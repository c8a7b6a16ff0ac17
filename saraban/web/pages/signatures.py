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
    integrity_words,
    trust_words,
)
from saraban.web.pages.thai import thai_datetime

GOOD = ("valid", "valid_when_signed")
BROKEN = ("tampered", "invalid", "modified", "unreadable", "revoked")


def tone(status: str) -> str:
    """The alert's colour: success, error (the file is not as signed) or warning."""
    if status in GOOD:
        return "success"
    return "error" if status in BROKEN else "warning"


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
        SignatureView(v, tone(v.status), integrity_words(v)[0], trust_words(v)[0], signing_times(v))
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
