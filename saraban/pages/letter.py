"""The letter page: a preview of the PDF, the receipt register entry and the route so far,
with the one form that is the visitor's to fill now (saraban.pages.route_forms takes them):
planning the route (the clerk or the college), a note with its proposal checkboxes, the
director's decision, or รับทราบ. Also the letter as PDF, plain or annotated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from sqlmodel import Session

from saraban import accounts, correspondence, endorsement, routing
from saraban.app import SessionDep, SettingsDep
from saraban.endorsement import (
    EventView,
    RouteView,
)
from saraban.models import AccountKind
from saraban.pages import pdfs
from saraban.pages.deps import CollegeUser
from saraban.pages.inbox import may_register
from saraban.pages.render import page
from saraban.pages.responses import pdf_response, png_response
from saraban.principal import Principal
from saraban.settings import Settings

router = APIRouter(include_in_schema=False)
ReceiptId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PageNo = Annotated[int, Path(ge=1, le=pdfs.MAX_PREVIEW_PAGES)]
NOTE_SLOTS = 4  # note writers a route plan names, in order, before the decision
# Proposals with a text box beside them: the box's field name.
PROPOSAL_TEXT = {
    routing.SUGGEST_INFORM: "inform_text",
    routing.SUGGEST_ASSIGN: "assign_text",
    routing.OTHER: "other_text",
}


def my_step(route: RouteView | None, who: Principal) -> str | None:
    """The kind of step the visitor may take now (note, decision, acknowledge), if any."""
    if route is None or who.account_id is None or who.account_id not in route.waiting_for:
        return None
    mine = [s for s in route.steps if s.staff_id == who.account_id and not s.done]
    return min(mine, key=lambda s: s.order).kind if mine else None


def _suggested_people(route: RouteView | None) -> str:
    """Whom the notes so far suggest to inform or assign: the decision form's default."""
    if route is None:
        return ""
    found = ""
    for event in route.events:
        for proposal in event.payload.get("proposals", []) if event.kind == "note" else []:
            if proposal["kind"] in (routing.SUGGEST_INFORM, routing.SUGGEST_ASSIGN):
                found = proposal["text"] or found
    return found


@dataclass(frozen=True)
class NoteView:
    """An event as written on the letter: its text, then the signature (set centred)."""

    event: EventView
    body: list[str]
    signature: list[str]


def note_views(route: RouteView | None) -> list[NoteView]:
    views = []
    for event in route.events if route else []:
        split = len(event.lines) - min(pdfs.signature_line_count(event), len(event.lines))
        views.append(NoteView(event, event.lines[:split], event.lines[split:]))
    return views


def letter_context(
    session: Session, who: Principal, receipt_id: int, settings: Settings
) -> dict[str, Any]:
    detail = endorsement.detail(session, who=who, receipt_id=receipt_id)
    _, pdf = correspondence.receipt_letter(
        session, who=who, receipt_id=receipt_id, settings=settings
    )
    staff = [
        a for a in accounts.list_staff(session, who=who) if a.active and a.kind == AccountKind.STAFF
    ]
    route = detail.route
    return {
        "entry": detail.receipt,
        "route": route,
        "notes": note_views(route),
        "by_id": {a.id: a for a in staff},
        "pages": pdfs.page_count(pdf),
        "step": my_step(route, who),
        "may_plan": route is None and may_register(who),
        "staff": staff,
        "deciders": [a for a in staff if accounts.routing_staff(a).may_decide],
        "note_slots": range(1, NOTE_SLOTS + 1),
        "proposal_kinds": routing.PROPOSAL_KINDS,
        "proposal_text": PROPOSAL_TEXT,
        "decision_kinds": routing.DECISION_KINDS,
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


@router.get("/receipts/{receipt_id}/letter.pdf")
def letter_pdf(
    receipt_id: ReceiptId, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    return pdf_response(
        *correspondence.receipt_letter(db, who=who, receipt_id=receipt_id, settings=settings)
    )


@router.get("/receipts/{receipt_id}/pages/{page_no}.png")
def letter_page_image(
    receipt_id: ReceiptId,
    page_no: PageNo,
    who: CollegeUser,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    _, pdf = correspondence.receipt_letter(db, who=who, receipt_id=receipt_id, settings=settings)
    return png_response(pdfs.page_png(pdf, page_no - 1))


@router.get("/receipts/{receipt_id}/annotated.pdf")
def annotated_pdf(
    receipt_id: ReceiptId, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """The letter as on paper: the receipt stamp and every note written on it."""
    return pdf_response(
        *pdfs.annotated_letter(db, who=who, receipt_id=receipt_id, settings=settings)
    )
