"""The college inbox (หนังสือเข้า): delivered letters (a mailout's; and those delivered
directly, registered on arrival, whose page is /received/{id}) and the receipt register in one
list, with its states (unread, received, routed, decided) and a search by subject, sender and
number; a delivered letter's page, where it is registered (ลงรับ)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from saraban.domain.errors import Refused
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import REGISTRAR_ROLES, SessionKind
from saraban.services import endorsement, previews, receipts, replies
from saraban.services.receipts import RECEIPT, InboxItem, ReceiptEntry
from saraban.services.replies import ReceivedEntry
from saraban.services.signatures import SignatureHeadline
from saraban.settings import Settings
from saraban.storage.models import CleanStr
from saraban.web.deps import CheckedForm, CollegeUser, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import date_values, form_date, text
from saraban.web.pages.render import page, redirect
from saraban.web.pages.responses import pdf_response, png_response
from saraban.web.pages.signatures import check_view, headline_mark
from saraban.web.pages.thai import INBOX_STATES, BadDate, be_parts, inbox_state

router = APIRouter(include_in_schema=False)
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647)]
PageNo = Annotated[int, Path(ge=1, le=previews.MAX_PREVIEW_PAGES)]


def may_register(who: Principal) -> bool:
    return who.kind == SessionKind.COLLEGE or (
        who.kind == SessionKind.STAFF and who.role in REGISTRAR_ROLES
    )


@dataclass(frozen=True)
class InboxRow:
    url: str
    subject: str
    sender: str
    letter_number: str
    letter_date: date | None  # ลงวันที่: the date the letter bears
    receipt_number: str
    arrived: datetime | None
    due_date: date | None
    state: str
    signature: SignatureHeadline | None = None

    @property
    def signature_mark(self) -> tuple[str, str] | None:
        return headline_mark(self.signature)

    def matches(self, query: str) -> bool:
        wanted = query.casefold()
        return any(
            wanted in field.casefold()
            for field in (self.subject, self.sender, self.letter_number, self.receipt_number)
        )


def _rows(
    items: list[InboxItem], register: list[ReceiptEntry], delivered: list[ReceivedEntry], ovec: str
) -> list[InboxRow]:
    entries = [e for e in register if e.kind == RECEIPT]  # ``delivered`` lists the others
    status = {e.id: e.route_status for e in entries}
    checked = {e.id: e.signature for e in entries}
    # A registered letter's date as the register has it, else as the mailout gives it.
    dated = {e.id: e.letter_date for e in entries if e.letter_date is not None}
    rows = [
        InboxRow(
            url=f"/receipts/{i.receipt_id}" if i.receipt_id else f"/inbox/{i.item_id}",
            subject=i.subject,
            sender=ovec,
            letter_number=i.reference or "",
            letter_date=dated.get(i.receipt_id or 0, i.letter_date),
            receipt_number=i.receipt_number or "",
            arrived=i.delivered_at,
            due_date=i.due_date,
            state=inbox_state(i.receipt_id, status.get(i.receipt_id or 0)),
            signature=checked.get(i.receipt_id or 0) or i.signature,
        )
        for i in items
    ]
    rows += [
        InboxRow(
            url=f"/receipts/{e.id}",
            subject=e.subject,
            sender=e.sender,
            letter_number=e.letter_number or "",
            letter_date=e.letter_date,
            receipt_number=e.receipt_number,
            arrived=e.received_at,
            due_date=None,
            state=inbox_state(e.id, e.route_status),
            signature=e.signature,
        )
        for e in entries
        if e.mailout_item_id is None
    ]
    rows += [
        InboxRow(
            url=f"/received/{d.item.id}",
            subject=d.item.subject,
            sender=d.item.sender,
            letter_number=d.item.letter_number,
            letter_date=d.letter_date,
            receipt_number=d.item.receipt_number,
            arrived=d.item.received_at,
            due_date=None,
            state=inbox_state(d.item.id, d.route_status),
            signature=d.signature,
        )
        for d in delivered
    ]
    far_past = datetime.min.replace(tzinfo=None)
    return sorted(
        rows, key=lambda r: r.arrived.replace(tzinfo=None) if r.arrived else far_past, reverse=True
    )


@router.get("/inbox")
def inbox(
    request: Request,
    who: CollegeUser,
    db: SessionDep,
    settings: SettingsDep,
    q: Annotated[CleanStr, Query(max_length=200)] = "",
    state: Annotated[CleanStr, Query(max_length=20)] = "",
) -> Response:
    items = receipts.inbox(db, who=who)
    entries = receipts.receipt_register(db, who=who, limit=receipts.MAX_REGISTER_PAGE, direct=False)
    delivered = replies.inbox_entries(db, who=who)
    rows = _rows(items, entries, delivered, settings.ovec_sender)
    query = " ".join(q.split())
    found = [r for r in rows if r.matches(query)] if query else rows
    counts = {key: sum(1 for r in found if r.state == key) for key in INBOX_STATES}
    if state in INBOX_STATES:
        found = [r for r in found if r.state == state]
    tasks = endorsement.tasks(db, who=who) if who.kind == SessionKind.STAFF else []
    context = {
        "rows": found,
        "total": len(rows),
        "counts": counts,
        "q": query,
        "state": state if state in INBOX_STATES else "",
        "tasks": tasks,
        "may_register": may_register(who),
    }
    return page(request, "inbox.html", context, who=who)


REGISTER_PAGE = 100
YearBE = Annotated[int | None, Query(ge=2500, le=2800)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


def register_url(entry: ReceiptEntry) -> str:
    """The entry's own page: a letter delivered directly has its page among /received."""
    return f"/receipts/{entry.id}" if entry.kind == RECEIPT else f"/received/{entry.id}"


@router.get("/receipts")
def receipt_register(
    request: Request,
    who: CollegeUser,
    db: SessionDep,
    year: YearBE = None,
    offset: Offset = 0,
) -> Response:
    """The receipt register (ทะเบียนหนังสือรับ) in number order, latest first, a page at a
    time: every letter the college registered, those delivered directly included."""
    found = receipts.receipt_register(
        db, who=who, year=year, limit=REGISTER_PAGE + 1, offset=offset
    )
    entries = found[:REGISTER_PAGE]
    query = f"year={year}&" if year is not None else ""
    context = {
        "entries": [
            (e, register_url(e), inbox_state(e.id, e.route_status), headline_mark(e.signature))
            for e in entries
        ],
        "year": year,
        "first": offset + 1,
        "newer": f"/receipts?{query}offset={max(offset - REGISTER_PAGE, 0)}" if offset else None,
        "older": (
            f"/receipts?{query}offset={offset + REGISTER_PAGE}"
            if len(found) > REGISTER_PAGE
            else None
        ),
    }
    return page(request, "receipt_register.html", context, who=who)


def _item_page(
    request: Request,
    who: Principal,
    db: SessionDep,
    item_id: int,
    settings: Settings,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    item = receipts.inbox_item(db, who=who, item_id=item_id)
    _, pdf = receipts.inbox_letter(db, who=who, item_id=item_id)
    check = receipts.inbox_signatures(db, who=who, item_id=item_id, settings=settings)
    # The form starts with the letter's date when OVEC gave it (a different one is refused).
    dated = {f"letter_date_{part}": value for part, value in be_parts(item.letter_date).items()}
    context = {
        "item": item,
        "pages": previews.page_count(pdf, settings),
        "may_register": may_register(who),
        "errors": errors or {},
        "form": form or dated,
        "sig": check_view(check),
        "enclosures": item.enclosures_apart,
    }
    return page(request, "inbox_item.html", context, who=who, status_code=status_code)


@router.get("/inbox/{item_id}")
def inbox_item(
    request: Request, item_id: ItemId, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    item = receipts.inbox_item(db, who=who, item_id=item_id)
    if item.receipt_id is not None:
        return redirect(f"/receipts/{item.receipt_id}")
    return _item_page(request, who, db, item_id, settings)


@router.get("/inbox/{item_id}/letter.pdf")
def inbox_letter(item_id: ItemId, who: CollegeUser, db: SessionDep) -> Response:
    return pdf_response(*receipts.inbox_letter(db, who=who, item_id=item_id))


@router.get("/inbox/{item_id}/enclosures.pdf")
def inbox_enclosures(item_id: ItemId, who: CollegeUser, db: SessionDep) -> Response:
    return pdf_response(*receipts.inbox_enclosures(db, who=who, item_id=item_id))


@router.get("/inbox/{item_id}/pages/{page_no}.png")
def inbox_page(
    item_id: ItemId, page_no: PageNo, who: CollegeUser, db: SessionDep, settings: SettingsDep
) -> Response:
    _, pdf = receipts.inbox_letter(db, who=who, item_id=item_id)
    return png_response(previews.page_png(pdf, page_no - 1, settings))


@router.post("/inbox/{item_id}/receive")
def receive(
    request: Request,
    item_id: ItemId,
    who: CollegeUser,
    form: CheckedForm,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    values = {
        "action": text(form, "action"),
        "note": text(form, "note"),
        **date_values(form, "letter_date"),
    }
    try:
        letter_date = form_date(form, "letter_date")
    except BadDate as exc:
        return _item_page(
            request,
            who,
            db,
            item_id,
            settings,
            errors={"letter_date": str(exc)},
            form=values,
            status_code=422,
        )
    try:
        entry = receipts.receive(
            db,
            who=who,
            item_id=item_id,
            settings=settings,
            action=values["action"].strip() or None,
            note=values["note"].strip() or None,
            letter_date=letter_date,
        )
    except Refused as exc:
        if status_of(exc) in (401, 404):
            raise
        db.rollback()
        return _item_page(
            request,
            who,
            db,
            item_id,
            settings,
            errors={"form": thai_part(exc.message)},
            form=values,
            status_code=status_of(exc),
        )
    return redirect(f"/receipts/{entry.id}", f"ลงรับแล้ว เลขรับ {entry.receipt_number}")
