"""The letter page: a preview of the PDF, the receipt register entry and the route so far,
with the one form that is the visitor's to fill now (saraban.web.pages.route_forms takes them):
planning the route (the clerk or the college), a note with its proposal checkboxes, the
director's decision, or รับทราบ. Also the letter as PDF, plain or annotated.

A signed note is never edited. Its signer, on a note step of theirs (a letter returned to
them), may correct it: "แก้ไขบันทึก" opens the note form filled in from it, and what they sign
is a new note that amends it. The page (and the annotated letter) then shows the old note
struck through, marked "แก้ไขโดยบันทึกถัดไป", with its correction right after it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlmodel import Session

from saraban.domain import pdfactions, vocabulary
from saraban.domain.errors import NotFound
from saraban.domain.principal import Principal
from saraban.services import accounts, annotated_letter, endorsement, previews, receipts
from saraban.services.endorsement import (
    EventView,
    RouteView,
)
from saraban.services.receipts import ReceiptEntry
from saraban.settings import Settings
from saraban.storage.models import AccountKind, ReceiptChannel
from saraban.web.deps import CollegeUser, SessionDep, SettingsDep
from saraban.web.pages.inbox import may_register
from saraban.web.pages.render import page
from saraban.web.pages.responses import pdf_response, png_response
from saraban.web.pages.signatures import check_view

router = APIRouter(include_in_schema=False)
ReceiptId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PageNo = Annotated[int, Path(ge=1, le=previews.MAX_PREVIEW_PAGES)]
NoteId = Annotated[str, Path(min_length=1, max_length=40)]
NOTE_SLOTS = 4  # note writers a route plan names, in order, before the decision
# Proposals with a text box beside them: the box's field name.
PROPOSAL_TEXT = {
    vocabulary.SUGGEST_INFORM: "inform_text",
    vocabulary.SUGGEST_ASSIGN: "assign_text",
    vocabulary.OTHER: "other_text",
}


def my_step(route: RouteView | None, who: Principal) -> str | None:
    """The kind of step the visitor may take now (note, decision, acknowledge), if any."""
    if route is None or who.account_id is None or who.account_id not in route.waiting_for:
        return None
    mine = [s for s in route.steps if s.staff_id == who.account_id and not s.done]
    return min(mine, key=lambda s: s.order).kind if mine else None


def _suggested_people(route: RouteView | None) -> str:
    """Whom the notes so far (as corrected) suggest to inform or assign: the decision form's
    default."""
    if route is None:
        return ""
    found = ""
    for event in route.events:
        current = event.kind == "note" and event.amended_by is None
        for proposal in event.payload.get("proposals", []) if current else []:
            if proposal["kind"] in (vocabulary.SUGGEST_INFORM, vocabulary.SUGGEST_ASSIGN):
                found = proposal["text"] or found
    return found


@dataclass(frozen=True)
class NoteView:
    """An event as written on the letter: its text, then the signature (set centred); for a
    correction, the event it corrects."""

    event: EventView
    body: list[str]
    signature: list[str]
    corrects: EventView | None = None


def note_views(route: RouteView | None) -> list[NoteView]:
    """The events in order, each correction moved up to stand right after the note it
    corrects (``annotated_letter.page_order``: the annotated letter's order too)."""
    views = []
    for event, corrects in annotated_letter.page_order(route.events if route else []):
        signature = annotated_letter.signature_line_count(event)
        split = len(event.lines) - min(signature, len(event.lines))
        views.append(NoteView(event, event.lines[:split], event.lines[split:], corrects))
    return views


def amend_values(note: EventView) -> dict[str, Any]:
    """The note form filled in from a signed note, to correct it."""
    values: dict[str, Any] = {
        "amends": note.payload["id"],
        "to_position": note.payload["to_position"],
        "summary": note.payload["summary"] or "",
        "proposal": [],
    }
    for proposal in note.payload["proposals"]:
        values["proposal"].append(proposal["kind"])
        name = PROPOSAL_TEXT.get(proposal["kind"])
        if name and proposal["text"]:
            values[name] = " ".join(filter(None, [values.get(name, ""), proposal["text"]]))
    return values


def _letter_date(session: Session, who: Principal, entry: ReceiptEntry) -> date | None:
    """The date the letter bears: the register's, else (a delivered letter registered with
    none) the one its mailout gives it, as in the inbox."""
    if entry.letter_date is not None or entry.mailout_item_id is None:
        return entry.letter_date
    return receipts.inbox_item(session, who=who, item_id=entry.mailout_item_id).letter_date


def letter_context(
    session: Session, who: Principal, receipt_id: int, settings: Settings
) -> dict[str, Any]:
    detail = endorsement.detail(session, who=who, receipt_id=receipt_id)
    _, pdf = receipts.receipt_letter(session, who=who, receipt_id=receipt_id, settings=settings)
    staff = [
        a for a in accounts.list_staff(session, who=who) if a.active and a.kind == AccountKind.STAFF
    ]
    route = detail.route
    amendable = route.may_amend.get(who.account_id, []) if route and who.account_id else []
    entry = detail.receipt
    check = receipts.receipt_signatures(session, who=who, receipt_id=receipt_id, settings=settings)
    uploaded = entry.channel != ReceiptChannel.MAILOUT
    signed, enclosures = receipts.delivered_signed(session, who=who, receipt_id=receipt_id)
    flags = [f for f in (entry.active_content or "").split(",") if f]
    return {
        "active_content": [pdfactions.LABELS_TH.get(f, f) for f in flags],
        "sig": check_view(check),
        # the file as it came, byte for byte (a delivered bundle is served without its slip;
        # a signed mailout's letter as signed, its enclosures apart)
        "original_url": f"/receipts/{entry.id}/letter.pdf" if uploaded or signed else None,
        "enclosures": enclosures,
        "entry": entry,
        "letter_date": _letter_date(session, who, entry),
        "received_by": receipts.registrar_name(session, entry),
        "route": route,
        "notes": note_views(route),
        "by_id": {a.id: a for a in staff},
        "pages": previews.page_count(pdf, settings),
        "step": my_step(route, who),
        "amendable": amendable,
        "may_plan": route is None and may_register(who),
        "staff": staff,
        "deciders": [a for a in staff if accounts.routing_staff(a).may_decide],
        "note_slots": range(1, NOTE_SLOTS + 1),
        "proposal_kinds": vocabulary.PROPOSAL_KINDS,
        "proposal_text": PROPOSAL_TEXT,
        "decision_kinds": vocabulary.DECISION_KINDS,
        "suggested_people": _suggested_people(route),
        "error": "",
        "form": {},
    }


def letter_page(
    request: Request,
    who: Principal,
    session: Session,
    receipt_id: int,
    settings: Settings,
    *,
    error: str = "",
    form: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    context = letter_context(session, who, receipt_id, settings)
    context.update(error=error, form=form or {})
    return page(request, "letter.html", context, who=who, status_code=status_code)


@router.get("/receipts/{receipt_id}")
def letter(
    request: Request, receipt_id: ReceiptId, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    return letter_page(request, who, db, receipt_id, settings)


@router.get("/receipts/{receipt_id}/notes/{note_id}/amend")
def amend_form(
    request: Request,
    receipt_id: ReceiptId,
    note_id: NoteId,
    who: CollegeUser,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    """The letter page with the note form filled in from the signed note ``note_id``, to sign
    a correction of it; refused (409, on the letter page) unless it is the visitor's to
    correct now."""
    route = endorsement.detail(db, who=who, receipt_id=receipt_id).route
    events = route.events if route else []
    note = next((e for e in events if e.kind == "note" and e.payload["id"] == note_id), None)
    if route is None or note is None:
        raise NotFound(f"no note {note_id}")
    if note_id not in route.may_amend.get(who.account_id or 0, []):
        error = (
            "แก้ไขบันทึกนี้ไม่ได้ในขณะนี้ แก้ไขได้เฉพาะบันทึกที่ท่านลงนามเอง ฉบับล่าสุด "
            "และเมื่อถึงลำดับเกษียนของท่าน (เช่น เมื่อผู้สั่งการส่งคืนหนังสือมาให้ท่าน)"
        )
        return letter_page(request, who, db, receipt_id, settings, error=error, status_code=409)
    return letter_page(request, who, db, receipt_id, settings, form=amend_values(note))


@router.get("/receipts/{receipt_id}/letter.pdf")
def letter_pdf(
    receipt_id: ReceiptId, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    return pdf_response(
        *receipts.receipt_letter(db, who=who, receipt_id=receipt_id, settings=settings),
        untrusted=receipts.is_uploaded(db, who=who, receipt_id=receipt_id),
    )


@router.get("/receipts/{receipt_id}/enclosures.pdf")
def enclosures_pdf(receipt_id: ReceiptId, who: CollegeUser, db: SessionDep) -> Response:
    return pdf_response(*receipts.receipt_enclosures(db, who=who, receipt_id=receipt_id))


@router.get("/receipts/{receipt_id}/pages/{page_no}.png")
def letter_page_image(
    receipt_id: ReceiptId,
    page_no: PageNo,
    who: CollegeUser,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    _, pdf = receipts.receipt_letter(db, who=who, receipt_id=receipt_id, settings=settings)
    return png_response(previews.page_png(pdf, page_no - 1, settings))


@router.get("/receipts/{receipt_id}/annotated.pdf")
def annotated_pdf(
    receipt_id: ReceiptId, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """The letter as on paper: the receipt stamp and every note written on it."""
    return pdf_response(
        *annotated_letter.annotated_letter(db, who=who, receipt_id=receipt_id, settings=settings),
        untrusted=receipts.is_uploaded(db, who=who, receipt_id=receipt_id),
    )
