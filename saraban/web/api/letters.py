"""A college's inbox, its receipt register, and the routing of registered letters."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError

from saraban.domain.errors import PayloadTooLarge
from saraban.services import annotated_letter as annotated
from saraban.services import endorsement, receipts
from saraban.services.endorsement import (
    DecisionIn,
    NoteIn,
    ReceiptDetail,
    RoutePlan,
    RouteView,
    Task,
)
from saraban.services.receipts import InboxItem, ReceiptEntry
from saraban.services.signatures import SignatureCheckPublic
from saraban.storage.models import ReceiptCreate, VisibleStr
from saraban.web.deps import ActiveUser, SessionDep, SettingsDep
from saraban.web.pages.responses import pdf_headers

router = APIRouter(tags=["correspondence"])
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647, description="an inbox item")]
ReceiptId = Annotated[int, Path(ge=1, le=2_147_483_647, description="a register entry")]
NOT_YOURS = {404: {"description": "not a letter of your college"}}
REFUSED = {
    **NOT_YOURS,
    409: {"description": "not now: out of turn, already done, or not routed yet"},
}
PDF = {200: {"content": {"application/pdf": {}}, "description": "the PDF"}, **NOT_YOURS}


class ReceiveIn(BaseModel):
    letter_date: date | None = Field(default=None, description="ลงวันที่, if not known to OVEC")
    action: VisibleStr | None = Field(default=None, max_length=255, description="การปฏิบัติ")
    note: VisibleStr | None = Field(default=None, max_length=1000, description="หมายเหตุ")


def _pdf(name: str, data: bytes, *, untrusted: bool = False) -> Response:
    """A PDF; one from outside (uploaded) as a sandboxed download (saraban.web.pages.responses)."""
    headers = pdf_headers(name, untrusted=untrusted)
    return Response(data, media_type="application/pdf", headers=headers)


@router.get("/inbox")
def inbox(who: ActiveUser, db: SessionDep) -> list[InboxItem]:
    """Letters delivered to your college, newest first."""
    return receipts.inbox(db, who=who)


@router.get("/inbox/{item_id}", responses=NOT_YOURS)
def inbox_item(item_id: ItemId, who: ActiveUser, db: SessionDep) -> InboxItem:
    return receipts.inbox_item(db, who=who, item_id=item_id)


@router.get("/inbox/{item_id}/letter", response_class=Response, responses=PDF)
def inbox_letter(item_id: ItemId, who: ActiveUser, db: SessionDep) -> Response:
    """The letter and its enclosures (never the credential slip); a letter signed digitally
    as signed, byte for byte, its enclosures apart (``/enclosures``)."""
    return _pdf(*receipts.inbox_letter(db, who=who, item_id=item_id))


@router.get("/inbox/{item_id}/enclosures", response_class=Response, responses=PDF)
def inbox_enclosures(item_id: ItemId, who: ActiveUser, db: SessionDep) -> Response:
    """A letter signed digitally is served as signed (``/letter``); its enclosures apart."""
    return _pdf(*receipts.inbox_enclosures(db, who=who, item_id=item_id))


@router.get("/inbox/{item_id}/signatures", responses=NOT_YOURS)
def inbox_signatures(
    item_id: ItemId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> SignatureCheckPublic:
    """The digital signatures of the delivered letter: who signed, whether the file is as
    signed, whether the certificate chains to a trusted root, when."""
    return receipts.inbox_signatures(db, who=who, item_id=item_id, settings=settings)


@router.post(
    "/inbox/{item_id}/receive",
    status_code=status.HTTP_201_CREATED,
    responses={**NOT_YOURS, 409: {"description": "already registered"}},
)
def receive(
    item_id: ItemId, body: ReceiveIn, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> ReceiptEntry:
    """Register a delivered letter (ลงรับ): its receipt number for this year."""
    return receipts.receive(
        db,
        who=who,
        item_id=item_id,
        settings=settings,
        action=body.action,
        note=body.note,
        letter_date=body.letter_date,
    )


@router.get("/receipts")
def receipt_register(
    who: ActiveUser,
    db: SessionDep,
    year: Annotated[int | None, Query(ge=2500, le=2800, description="Buddhist era")] = None,
    limit: Annotated[int, Query(ge=1, le=receipts.MAX_REGISTER_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ReceiptEntry]:
    """The receipt register (ทะเบียนหนังสือรับ), latest first: every letter your college
    registered, in one numbering. An entry of ``kind`` ``org_receipt`` (channel ``direct``) is
    a letter delivered directly through saraban: its ``id`` is one of /api/received, not of
    /api/receipts."""
    return receipts.receipt_register(db, who=who, year=year, limit=limit, offset=offset)


@router.post(
    "/receipts", status_code=status.HTTP_201_CREATED, responses={413: {"description": "too big"}}
)
def receive_uploaded(
    who: ActiveUser,
    db: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="the letter as a PDF")],
    sender: Annotated[str, Form(max_length=255)],
    subject: Annotated[str, Form(max_length=1000)],
    addressee: Annotated[str, Form(max_length=255)] = "ผู้อำนวยการ",
    letter_number: Annotated[str | None, Form(max_length=100)] = None,
    letter_date: Annotated[date | None, Form()] = None,
    action: Annotated[str | None, Form(max_length=255)] = None,
    note: Annotated[str | None, Form(max_length=1000)] = None,
    channel: Annotated[Literal["paper", "email"], Form()] = "paper",
) -> ReceiptEntry:
    """Register a letter that came on paper or by e-mail, with its PDF."""
    try:
        data = ReceiptCreate.model_validate(
            {
                "sender": sender,
                "subject": subject,
                "addressee": addressee,
                "letter_number": letter_number,
                "letter_date": letter_date,
                "action": action,
                "note": note,
                "channel": channel,
            }
        )
    except ValidationError as exc:
        raise RequestValidationError(exc.errors(include_url=False)) from None
    pdf = file.file.read(settings.max_upload_bytes + 1)
    if len(pdf) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes:,} bytes")
    return receipts.receive_uploaded(
        db, who=who, data=data, pdf=pdf, settings=settings, filename=file.filename or ""
    )


@router.get("/receipts/{receipt_id}", responses=NOT_YOURS)
def receipt(receipt_id: ReceiptId, who: ActiveUser, db: SessionDep) -> ReceiptDetail:
    """A register entry and its route so far: steps, signed notes, decision, acknowledgements."""
    return endorsement.detail(db, who=who, receipt_id=receipt_id)


@router.get("/receipts/{receipt_id}/signatures", responses=NOT_YOURS)
def receipt_signatures(
    receipt_id: ReceiptId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> SignatureCheckPublic:
    """The digital signatures of the registered letter's PDF, as checked when it arrived:
    who signed (subject and issuer), whether the signature covers the whole file, whether it
    chains to a trusted root, the signing time (the signer's claim, or a timestamp)."""
    return receipts.receipt_signatures(db, who=who, receipt_id=receipt_id, settings=settings)


@router.get("/receipts/{receipt_id}/letter", response_class=Response, responses=PDF)
def receipt_letter(
    receipt_id: ReceiptId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """The letter's PDF; an uploaded one byte for byte as it came (its signatures intact)."""
    return _pdf(
        *receipts.receipt_letter(db, who=who, receipt_id=receipt_id, settings=settings),
        untrusted=receipts.is_uploaded(db, who=who, receipt_id=receipt_id),
    )


@router.get("/receipts/{receipt_id}/enclosures", response_class=Response, responses=PDF)
def receipt_enclosures(receipt_id: ReceiptId, who: ActiveUser, db: SessionDep) -> Response:
    """A delivered letter signed digitally: its enclosures, apart from the signed letter."""
    return _pdf(*receipts.receipt_enclosures(db, who=who, receipt_id=receipt_id))


@router.get("/receipts/{receipt_id}/annotated", response_class=Response, responses=PDF)
def annotated_letter(
    receipt_id: ReceiptId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """The letter as on paper (เกษียนหนังสือ): the receipt stamp and every note written on it."""
    return _pdf(
        *annotated.annotated_letter(db, who=who, receipt_id=receipt_id, settings=settings),
        untrusted=receipts.is_uploaded(db, who=who, receipt_id=receipt_id),
    )


@router.post("/receipts/{receipt_id}/route", status_code=status.HTTP_201_CREATED, responses=REFUSED)
def plan_route(
    receipt_id: ReceiptId, body: RoutePlan, who: ActiveUser, db: SessionDep
) -> RouteView:
    """Route a registered letter: notes in order (same order: in parallel), then the decision."""
    return endorsement.plan(db, who=who, receipt_id=receipt_id, data=body)


@router.post("/receipts/{receipt_id}/notes", status_code=status.HTTP_201_CREATED, responses=REFUSED)
def add_note(receipt_id: ReceiptId, body: NoteIn, who: ActiveUser, db: SessionDep) -> RouteView:
    """Sign a note (เกษียน) on your step; a correction amends an earlier note of yours."""
    return endorsement.add_note(db, who=who, receipt_id=receipt_id, data=body)


@router.post(
    "/receipts/{receipt_id}/decision", status_code=status.HTTP_201_CREATED, responses=REFUSED
)
def decide(receipt_id: ReceiptId, body: DecisionIn, who: ActiveUser, db: SessionDep) -> RouteView:
    """The director's (or acting director's) order: ทราบ, แจ้ง, มอบ, ... or ส่งคืน."""
    return endorsement.decide(db, who=who, receipt_id=receipt_id, data=body)


@router.post(
    "/receipts/{receipt_id}/acknowledgement",
    status_code=status.HTTP_201_CREATED,
    responses=REFUSED,
)
def acknowledge(receipt_id: ReceiptId, who: ActiveUser, db: SessionDep) -> RouteView:
    """รับทราบ: an assignee acknowledges the decision."""
    return endorsement.acknowledge(db, who=who, receipt_id=receipt_id)


@router.get("/tasks")
def tasks(who: ActiveUser, db: SessionDep) -> list[Task]:
    """Letters waiting for you to act now."""
    return endorsement.tasks(db, who=who)
