"""Drafts of outgoing letters: what may happen to one, and when (pure rules).

A draft is written (``draft``), goes up for signature (``submitted``: a note to the next
person, who may forward it with a note of their own or return it for changes), is signed by
its signer (``approved``: only then does the dispatch register give it a number) and is sent
(``sent``). A signed letter is never edited: a change makes a new version, which goes back to
``draft`` and must be signed again. Returned drafts are ``draft`` again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from saraban.domain.errors import Conflict, Forbidden

DraftStatus = Literal["draft", "submitted", "approved", "sent"]
DraftKind = Literal["external", "circular", "memo"]
DRAFT_KINDS: tuple[DraftKind, ...] = ("external", "circular", "memo")
KIND_NAMES: Final = {
    "external": "หนังสือภายนอก",
    "circular": "หนังสือเวียน",
    "memo": "บันทึกข้อความ",
}
STATUS_NAMES: Final = {
    "draft": "ร่าง",
    "submitted": "เสนอลงนาม",
    "approved": "ลงนามแล้ว",
    "sent": "ส่งแล้ว",
}
# What a note up the chain proposes (the endorsement engine's words for outgoing letters).
PROPOSE_SIGNING: Final = "เพื่อโปรดพิจารณาลงนาม"
DRAFT_PROPOSALS: tuple[str, ...] = (PROPOSE_SIGNING, "เพื่อโปรดพิจารณา", "เพื่อโปรดทราบ")

# Fields a letter's templates may merge, per recipient: offered on the compose page.
MERGE_FIELDS: tuple[tuple[str, str], ...] = (
    ("college.name", "ชื่อสถานศึกษา"),
    ("college.code", "รหัสสถานศึกษา (ชื่อผู้ใช้)"),
    ("college.province", "จังหวัด"),
    ("college.director_title", "ตำแหน่งผู้อำนวยการ"),
    ("college.email", "อีเมลสถานศึกษา"),
)
# The sample recipient a preview is merged for when the organisation has no college to show.
SAMPLE_COLLEGE: Final = {
    "code": "1300000000",
    "name": "วิทยาลัยตัวอย่าง",
    "province": "กรุงเทพมหานคร",
    "email": "",
    "director_title": "ผู้อำนวยการวิทยาลัยตัวอย่าง",
}


@dataclass(frozen=True)
class DraftState:
    status: DraftStatus
    signer_id: int | None
    holder_id: int | None  # who has it now (submitted: the one a note was addressed to)


def may_edit(state: DraftState) -> None:
    """Only a draft (new, or returned) is edited in place; a signed one makes a new version."""
    if state.status == "submitted":
        raise Conflict("ร่างนี้อยู่ระหว่างเสนอลงนาม: ขอคืนก่อนแก้ไข / submitted: return it first")
    if state.status == "sent":
        raise Conflict("หนังสือที่ส่งแล้วแก้ไขไม่ได้ / a sent letter is never edited")


def may_submit(state: DraftState) -> None:
    if state.status != "draft":
        raise Conflict("เสนอได้เฉพาะร่าง / only a draft goes up for signature")
    if state.signer_id is None:
        raise Conflict("ยังไม่ได้เลือกผู้ลงนาม / choose the signer first")


def may_act(state: DraftState, actor_id: int) -> None:
    """A note or a return: only by the one who has it now."""
    if state.status != "submitted":
        raise Conflict("ร่างนี้ไม่ได้อยู่ระหว่างเสนอ / the draft is not up for signature")
    if state.holder_id != actor_id:
        raise Forbidden("ยังไม่ถึงลำดับของท่าน / not your turn")


def may_approve(state: DraftState, actor_id: int) -> None:
    """Signing: by the signer only, when the draft has reached them."""
    may_act(state, actor_id)
    if state.signer_id != actor_id:
        raise Forbidden("เฉพาะผู้ลงนามที่กำหนด / only the chosen signer signs")


def may_send(state: DraftState) -> None:
    if state.status != "approved":
        raise Conflict("ส่งได้เฉพาะหนังสือที่ลงนามแล้ว / only a signed letter is sent")
