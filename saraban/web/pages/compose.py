"""Composing a letter in the web (เขียนหนังสือ): the compose form with its live preview, the
drafts, a draft's page with its route for signature, and the organisation's own details.

The form works without JavaScript: "แสดงตัวอย่าง" posts it and the page comes back with the
letter's pages as images; with JavaScript (``/static/compose.js``, the only script: CSP
``script-src 'self'`` on these pages) the preview refreshes as the clerk types. Every action
calls the same service (saraban.services.drafts) as the JSON API.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from saraban.domain import drafts as rules
from saraban.domain.errors import Invalid, Refused
from saraban.domain.principal import Principal
from saraban.domain.roster import RosterError
from saraban.domain.vocabulary import bangkok_today
from saraban.services import deliveries, drafts, organisations, replies, sending
from saraban.services.drafts import ComposeIn, ReturnIn, SubmitIn
from saraban.services.organisations import OrganisationUpdate
from saraban.settings import Settings
from saraban.web.deps import CheckedForm, EngineDep, PageUser, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages import received
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import date_values, form_date, text
from saraban.web.pages.render import NO_STORE, SECURITY, page, redirect
from saraban.web.pages.thai import BadDate

router = APIRouter(include_in_schema=False)
DraftId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PageNo = Annotated[int, Path(ge=1, le=30)]
# The compose pages run one script of our own, and nothing else.
SCRIPTED = {
    "Content-Security-Policy": SECURITY["Content-Security-Policy"].replace(
        "script-src 'none'", "script-src 'self'"
    )
}
KINDS = list(rules.KIND_NAMES.items())
URGENCIES = [("", "— ปกติ —"), ("ด่วน", "ด่วน"), ("ด่วนมาก", "ด่วนมาก"), ("ด่วนที่สุด", "ด่วนที่สุด")]
SECRECY = [("", "— ไม่มี —"), ("ลับ", "ลับ"), ("ลับมาก", "ลับมาก"), ("ลับที่สุด", "ลับที่สุด")]
ACTING = [
    ("", "— ลงนามในตำแหน่งของตน —"),
    ("ปฏิบัติราชการแทน", "ปฏิบัติราชการแทน"),
    ("รักษาราชการแทน", "รักษาราชการแทน"),
    ("รักษาการในตำแหน่ง", "รักษาการในตำแหน่ง"),
]
MADE = {"qr-sheet": "แผ่น QR Code (ทำจากรายการด้านล่าง)", "credential-slip": "ใบแจ้งรหัสผ่าน"}
LABELS = {
    "kind": "ชนิดหนังสือ",
    "date": "ลงวันที่",
    "urgency": "ชั้นความเร็ว",
    "secrecy": "ชั้นความลับ",
    "subject": "เรื่อง",
    "to": "เรียน",
    "references": "อ้างถึง",
    "enclosures": "สิ่งที่ส่งมาด้วย",
    "body": "ข้อความ",
    "thai_digits": "ใช้เลขไทย",
    "unit": "ส่วนราชการเจ้าของเรื่อง",
    "phone": "โทร.",
    "signer_id": "ผู้ลงนาม",
    "acting": "การลงนามแทน",
    "on_behalf_of": "ตำแหน่งที่ลงนามแทน",
    "qr_title": "หัวเรื่องแผ่น QR Code",
    "qr_rows": "รายการ QR Code",
    "agency_code": "รหัสหน่วยงาน (ที่)",
}


# --------------------------------------------------------------------------- #
# The form, both ways
# --------------------------------------------------------------------------- #


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.replace("\r\n", "\n").split("\n") if line.strip()]


def _enclosure_rows(form: FormData) -> list[dict[str, str]]:
    titles = form.getlist("enc_title")
    counts = form.getlist("enc_count")
    files = form.getlist("enc_file")
    makes = form.getlist("enc_make")
    removed = set(form.getlist("enc_remove"))
    rows = []
    for i, title in enumerate(titles):
        if str(i) in removed:
            continue
        rows.append(
            {
                "title": str(title),
                "count": str(counts[i]) if i < len(counts) else "",
                "file": str(files[i]) if i < len(files) else "",
                "make": str(makes[i]) if i < len(makes) else "",
            }
        )
    return rows


def form_values(form: FormData) -> dict[str, Any]:
    """The form as it was filled in (to show it again)."""
    values: dict[str, Any] = {
        name: text(form, name)
        for name in (
            "kind",
            "urgency",
            "secrecy",
            "subject",
            "to",
            "references",
            "body",
            "unit",
            "phone",
            "signer_id",
            "acting",
            "on_behalf_of",
            "qr_title",
            "qr_rows",
            "new_title",
            "new_count",
            "new_kind",
            "reply_to",
            "reply_to_received",
        )
    }
    values["thai_digits"] = bool(text(form, "thai_digits"))
    values.update(date_values(form, "date"))
    values["enclosures"] = _enclosure_rows(form)
    return values


def _qr_rows(value: str) -> list[dict[str, str]]:
    rows = []
    for n, line in enumerate(_lines(value), start=1):
        url, sep, caption = line.partition("|")
        if not sep:
            raise Invalid("qr_rows", f"บรรทัดที่ {n}: เขียน URL | คำอธิบาย / line {n}: URL | caption")
        rows.append({"url": url.strip(), "caption": caption.strip()})
    return rows


def compose_in(values: dict[str, Any], when: date | None) -> ComposeIn:
    """The service's input from the form's values (Invalid or ValidationError if wrong)."""
    enclosures = []
    for row in values["enclosures"]:
        item: dict[str, Any] = {"title": row["title"], "count": row["count"]}
        if row["file"]:
            item["file"] = row["file"]
        if row["make"]:
            item["make"] = row["make"]
        enclosures.append(item)
    return ComposeIn.model_validate(
        {
            "kind": values["kind"] or "external",
            "date": when,
            "urgency": values["urgency"],
            "secrecy": values["secrecy"],
            "subject": values["subject"],
            "to": values["to"],
            "references": _lines(values["references"]),
            "enclosures": enclosures,
            "body": values["body"],
            "thai_digits": values["thai_digits"],
            "unit": values["unit"],
            "phone": values["phone"],
            "signer_id": int(values["signer_id"]) if values["signer_id"].isdigit() else None,
            "acting": values["acting"],
            "on_behalf_of": values["on_behalf_of"],
            "qr_title": values["qr_title"],
            "qr_rows": _qr_rows(values["qr_rows"]),
        }
    )


def values_of(data: ComposeIn) -> dict[str, Any]:
    """The form's values for a stored draft."""
    when = data.date or bangkok_today()
    return {
        "kind": data.kind,
        "urgency": data.urgency,
        "secrecy": data.secrecy,
        "subject": data.subject,
        "to": data.to,
        "references": "\n".join(data.references),
        "body": data.body,
        "unit": data.unit,
        "phone": data.phone,
        "signer_id": str(data.signer_id or ""),
        "acting": data.acting,
        "on_behalf_of": data.on_behalf_of,
        "qr_title": data.qr_title,
        "qr_rows": "\n".join(f"{r.url} | {r.caption}" for r in data.qr_rows),
        "thai_digits": data.thai_digits,
        "date_day": str(when.day),
        "date_month": str(when.month),
        "date_year": str(when.year + 543),
        "enclosures": [
            {"title": e.title, "count": e.count, "file": e.file or "", "make": e.make or ""}
            for e in data.enclosures
        ],
        "new_kind": "file",
        "new_title": "",
        "new_count": "",
    }


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "form"
        label = LABELS.get(field, field)
        errors.setdefault(field, f"{label}: {error['msg']}")
    return errors


def _refusal(exc: Refused) -> dict[str, str]:
    if isinstance(exc, Invalid) and exc.field in LABELS:
        return {exc.field: f"{LABELS[exc.field]}: {thai_part(exc.message)}"}
    return {"form": thai_part(exc.message)}


def _new_enclosure(
    db: Session, who: Principal, form: FormData, values: dict[str, Any], settings: Settings
) -> None:
    """The "add" row of the enclosures: an uploaded PDF, the QR sheet or the slip."""
    kind = values["new_kind"] or "file"
    title = values["new_title"].strip()
    upload = form.get("new_file")
    has_file = isinstance(upload, UploadFile) and bool(upload.filename)
    if not title and not has_file:
        if values.get("_adding"):
            raise Invalid("new_title", "โปรดกรอกชื่อสิ่งที่ส่งมาด้วย / the enclosure needs a title")
        return
    if not title:
        raise Invalid("new_title", "โปรดกรอกชื่อสิ่งที่ส่งมาด้วย / the enclosure needs a title")
    row = {"title": title, "count": values["new_count"].strip(), "file": "", "make": ""}
    if kind == "file":
        if not has_file or not isinstance(upload, UploadFile):
            raise Invalid("new_file", "โปรดเลือกไฟล์ PDF / choose the PDF")
        data = upload.file.read(settings.max_upload_bytes + 1)
        row["file"] = drafts.keep_file(db, who=who, data=data, settings=settings, field="new_file")
    elif kind in MADE:
        row["make"] = kind
    else:
        raise Invalid("new_kind", "unknown kind of enclosure")
    values["enclosures"].append(row)
    values["new_title"] = values["new_count"] = ""
    values["new_kind"] = "file"


def _context(
    db: Session,
    who: Principal,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    preview: drafts.PreviewOut | None = None,
    draft: Any = None,
) -> dict[str, Any]:
    org = organisations.organisation_of(db, who)
    return {
        "org": org,
        "signer_options": [
            (str(m.id), f"{m.name} · {m.position}" if m.position else m.name)
            for m in organisations.members(db, org)
        ],
        "form": values,
        "errors": errors or {},
        "preview": preview,
        "draft": draft,
        "labels": LABELS,
        "kinds": KINDS,
        "urgencies": URGENCIES,
        "secrecy_classes": SECRECY,
        "acting_choices": ACTING,
        "made": MADE,
        "merge_fields": rules.MERGE_FIELDS,
    }


def _compose_page(
    request: Request, who: Principal, context: dict[str, Any], status_code: int = 200
) -> Response:
    return page(
        request, "compose.html", context, who=who, status_code=status_code, headers=SCRIPTED
    )


def _blank(db: Session, who: Principal) -> dict[str, Any]:
    org = organisations.organisation_of(db, who)
    ovec = org.kind == "ovec"
    data = ComposeIn(
        kind="circular" if ovec else "external",
        subject="-",
        to="ผู้อำนวยการสถานศึกษาของรัฐ สังกัดสำนักงานคณะกรรมการการอาชีวศึกษา ทุกแห่ง"
        if ovec
        else "เลขาธิการคณะกรรมการการอาชีวศึกษา",
        body="-",
        closing="",
    )
    values = values_of(data)
    values["subject"] = values["body"] = ""
    return values


async def _handle(
    request: Request,
    who: Principal,
    db: Session,
    settings: Settings,
    form: FormData,
    draft_id: int | None,
) -> Response:
    values = form_values(form)
    action = text(form, "action") or "preview"
    values["_adding"] = action == "add_enclosure"
    draft = drafts.get(db, who=who, draft_id=draft_id) if draft_id else None
    try:
        _new_enclosure(db, who, form, values, settings)
        if action == "add_enclosure":  # the rest is checked when previewed or saved
            return _compose_page(request, who, _context(db, who, values, draft=draft))
        when = form_date(form, "date")
        data = compose_in(values, when)
        if action == "save":
            reply_to = values.get("reply_to", "")
            reply_to_received = values.get("reply_to_received", "")
            if draft is None and reply_to_received.isdigit():
                created = replies.start_received(
                    db, who=who, item_id=int(reply_to_received), data=data, settings=settings
                )
                return redirect(f"/drafts/{created.id}", "บันทึกร่างแล้ว")
            if draft is None and reply_to.isdigit():
                created = replies.start(
                    db, who=who, receipt_id=int(reply_to), data=data, settings=settings
                )
                return redirect(f"/drafts/{created.id}", "บันทึกร่างแล้ว")
            if draft is None:
                created = drafts.create(db, who=who, data=data, settings=settings)
                return redirect(f"/drafts/{created.id}", "บันทึกร่างแล้ว")
            drafts.update(db, who=who, draft_id=draft.id or 0, data=data, settings=settings)
            return redirect(f"/drafts/{draft.id}", f"บันทึกเป็นฉบับที่ {draft.version} แล้ว")
        preview = None
        if action == "preview":
            preview = drafts.preview(db, who=who, data=data, settings=settings)
        return _compose_page(request, who, _context(db, who, values, preview=preview, draft=draft))
    except BadDate as exc:
        errors = {"date": f"ลงวันที่: {thai_part(exc.message)}"}
    except ValidationError as exc:
        errors = _errors(exc)
    except Refused as exc:
        if not isinstance(exc, Invalid):
            raise
        errors = (
            _refusal(exc)
            if exc.field not in ("new_title", "new_file", "new_kind")
            else {exc.field or "form": thai_part(exc.message)}
        )
    context = _context(db, who, values, errors=errors, draft=draft)
    return _compose_page(request, who, context, status_code=422)


# --------------------------------------------------------------------------- #
# Routes
# --------------------------------------------------------------------------- #


@router.get("/drafts")
def draft_list(request: Request, who: PageUser, db: SessionDep) -> Response:
    org = organisations.organisation_of(db, who)
    items = [drafts.draft_view(db, d) for d in drafts.list_drafts(db, who=who)]
    staff = {m.id: m for m in organisations.members(db, org)}
    context = {
        "drafts": items,
        "staff": staff,
        "org": org,
        "kind_names": rules.KIND_NAMES,
        "status_names": rules.STATUS_NAMES,
    }
    return page(request, "drafts.html", context, who=who)


@router.get("/drafts/new")
def compose_form(
    request: Request,
    who: PageUser,
    db: SessionDep,
    reply_to: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    reply_to_received: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    if reply_to_received is not None:
        form = replies.received_reply_form(db, who=who, item_id=reply_to_received)
        values = values_of(form)
        values["reply_to_received"] = str(reply_to_received)
        return _compose_page(request, who, _context(db, who, values))
    if reply_to is None:
        return _compose_page(request, who, _context(db, who, _blank(db, who)))
    values = values_of(replies.reply_form(db, who=who, receipt_id=reply_to))
    values["reply_to"] = str(reply_to)
    return _compose_page(request, who, _context(db, who, values))


@router.post("/drafts/new")
async def compose_post(
    request: Request, who: PageUser, db: SessionDep, settings: SettingsDep, form: CheckedForm
) -> Response:
    return await _handle(request, who, db, settings, form, None)


@router.post("/drafts/preview.json")
async def compose_preview_json(
    who: PageUser, db: SessionDep, settings: SettingsDep, form: CheckedForm
) -> Response:
    """The live preview's refresh (compose.js): the form as it is now, typeset."""
    values = form_values(form)
    try:
        data = compose_in(values, form_date(form, "date"))
        out = drafts.preview(db, who=who, data=data, settings=settings)
    except BadDate as exc:
        return JSONResponse({"errors": {"date": thai_part(exc.message)}}, 422, headers=NO_STORE)
    except ValidationError as exc:
        return JSONResponse({"errors": _errors(exc)}, 422, headers=NO_STORE)
    except Invalid as exc:
        return JSONResponse({"errors": _refusal(exc)}, 422, headers=NO_STORE)
    return JSONResponse(out.model_dump(), headers=NO_STORE)


@router.get("/drafts/preview/{key}/{n}.png")
def preview_png(key: Sha, n: PageNo, who: PageUser, db: SessionDep) -> Response:
    png = drafts.preview_png(db, who=who, key=key, page=n - 1)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})


@router.get("/drafts/{draft_id}")
def draft_page(
    request: Request, draft_id: DraftId, who: PageUser, db: SessionDep, settings: SettingsDep
) -> Response:
    return page(request, "draft.html", _draft_context(db, who, draft_id, settings), who=who)


def _draft_context(
    db: Session, who: Principal, draft_id: int, settings: Settings
) -> dict[str, Any]:
    detail = drafts.detail(db, who=who, draft_id=draft_id, settings=settings)
    org = organisations.organisation_of(db, who)
    staff = {m.id: m for m in organisations.members(db, org)}
    preview = drafts.draft_preview(db, who=who, draft_id=draft_id, settings=settings)
    state = detail.draft
    me = who.account_id
    draft = drafts.get(db, who=who, draft_id=draft_id)
    reply = replies.is_reply(draft)
    context = {
        "detail": detail,
        "d": state,
        "staff": staff,
        "org": org,
        "preview": preview,
        "kind_names": rules.KIND_NAMES,
        "status_names": rules.STATUS_NAMES,
        "proposals": rules.DRAFT_PROPOSALS,
        "may_edit": state.status in ("draft", "approved"),
        "may_submit": state.status == "draft" and me is not None,
        "may_act": state.status == "submitted" and me is not None and state.holder_id == me,
        "may_approve": state.status == "submitted"
        and me is not None
        and state.holder_id == me
        and state.signer_id == me,
        "may_send": state.status == "approved" and not reply,
        "may_send_reply": state.status == "approved" and reply,
        "carries_slip": state.status == "approved" and sending.carries_slip(db, draft, settings),
        "max_merged": deliveries.MAX_MERGED,
        "deliveries": replies.deliveries_of(db, draft) if state.status == "sent" else [],
        "provinces": sorted({c.province for c in organisations.colleges(db) if c.province}),
        "colleges": organisations.colleges(db)
        if state.status == "approved" and org.kind == "ovec"
        else [],
        "send_errors": {},
        "roster_problems": [],
    }
    return context


@router.get("/drafts/{draft_id}/edit")
def edit_form(
    request: Request, draft_id: DraftId, who: PageUser, db: SessionDep, settings: SettingsDep
) -> Response:
    detail = drafts.detail(db, who=who, draft_id=draft_id, settings=settings)
    rules.may_edit(drafts.state_of(db, drafts.get(db, who=who, draft_id=draft_id)))
    values = values_of(detail.compose)
    context = _context(db, who, values, draft=drafts.get(db, who=who, draft_id=draft_id))
    return _compose_page(request, who, context)


@router.post("/drafts/{draft_id}/edit")
async def edit_post(
    request: Request,
    draft_id: DraftId,
    who: PageUser,
    db: SessionDep,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    return await _handle(request, who, db, settings, form, draft_id)


def _route_error(exc: Refused, draft_id: int) -> Response:
    return redirect(f"/drafts/{draft_id}", f"ดำเนินการไม่สำเร็จ: {thai_part(exc.message)}")


@router.post("/drafts/{draft_id}/submit")
def submit_post(draft_id: DraftId, who: PageUser, db: SessionDep, form: CheckedForm) -> Response:
    try:
        data = SubmitIn(
            to_id=int(text(form, "to_id") or 0) or 1,
            note=text(form, "note"),
            proposal=text(form, "proposal") or rules.PROPOSE_SIGNING,
        )
        action = text(form, "step")
        if action == "forward":
            drafts.forward(db, who=who, draft_id=draft_id, data=data)
        else:
            drafts.submit(db, who=who, draft_id=draft_id, data=data)
    except (Refused, ValidationError, ValueError) as exc:
        if isinstance(exc, Refused):
            status_of(exc)
            return _route_error(exc, draft_id)
        return redirect(f"/drafts/{draft_id}", "ดำเนินการไม่สำเร็จ: โปรดเลือกผู้รับเสนอ")
    return redirect(f"/drafts/{draft_id}", "เสนอแล้ว")


@router.post("/drafts/{draft_id}/return")
def return_post(draft_id: DraftId, who: PageUser, db: SessionDep, form: CheckedForm) -> Response:
    try:
        drafts.send_back(db, who=who, draft_id=draft_id, data=ReturnIn(reason=text(form, "reason")))
    except ValidationError:
        return redirect(f"/drafts/{draft_id}", "ดำเนินการไม่สำเร็จ: โปรดระบุสิ่งที่ให้แก้ไข")
    except Refused as exc:
        return _route_error(exc, draft_id)
    return redirect(f"/drafts/{draft_id}", "ส่งคืนเพื่อแก้ไขแล้ว")


@router.post("/drafts/{draft_id}/approve")
async def approve_post(
    draft_id: DraftId, who: PageUser, db: SessionDep, settings: SettingsDep, form: CheckedForm
) -> Response:
    upload = form.get("p12")
    key = None
    if isinstance(upload, UploadFile) and upload.filename:
        key = await upload.read(settings.max_upload_bytes + 1)
        if len(key) > settings.max_upload_bytes:
            return redirect(f"/drafts/{draft_id}", "ลงนามไม่สำเร็จ: p12: แฟ้มกุญแจใหญ่เกินไป")
    try:
        draft = await run_in_threadpool(
            drafts.approve,
            db,
            who=who,
            draft_id=draft_id,
            settings=settings,
            personal_p12=key,
            passphrase=text(form, "passphrase") if key is not None else None,
        )
    except Invalid as exc:
        field = f"{exc.field}: " if exc.field else ""
        return redirect(f"/drafts/{draft_id}", f"ลงนามไม่สำเร็จ: {field}{thai_part(exc.message)}")
    except Refused as exc:
        return _route_error(exc, draft_id)
    return redirect(f"/drafts/{draft_id}", f"ลงนามแล้ว: เลขที่หนังสือ {draft.reference}")


@router.get("/organisation")
def organisation_page(request: Request, who: PageUser, db: SessionDep) -> Response:
    org = organisations.organisation_of(db, who)
    context = {"org": org, "staff": organisations.members(db, org), "errors": {}, "form": {}}
    return page(request, "organisation.html", context, who=who)


@router.post("/organisation")
def organisation_post(
    request: Request, who: PageUser, db: SessionDep, form: CheckedForm
) -> Response:
    try:
        data = OrganisationUpdate(
            agency_code=text(form, "agency_code").strip(),
            address=text(form, "address").strip(),
            short_name=text(form, "short_name").strip(),
        )
        organisations.update(db, who=who, data=data)
    except ValidationError as exc:
        org = organisations.organisation_of(db, who)
        context = {"org": org, "staff": organisations.members(db, org), "errors": _errors(exc)}
        return page(request, "organisation.html", context, who=who, status_code=422)
    return redirect("/organisation", "บันทึกข้อมูลหน่วยงานแล้ว")


@router.post("/drafts/{draft_id}/send")
async def send_post(
    request: Request,
    draft_id: DraftId,
    who: PageUser,
    engine: EngineDep,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    """Send the signed letter; a bad roster shows every bad row and sends nothing."""
    upload = form.get("roster")
    roster = None
    if isinstance(upload, UploadFile) and upload.filename:
        roster = (upload.filename, await upload.read(settings.max_upload_bytes + 1))
    errors: dict[str, str] = {}
    problems: list[Any] = []
    try:
        data = sending.SendIn(
            to=text(form, "to") or "colleges",  # type: ignore[arg-type]
            codes=[str(c) for c in form.getlist("codes")],
            province=text(form, "province"),
            due_date=form_date(form, "due"),
        )
        out = await run_in_threadpool(
            sending.send,
            engine,
            who=who,
            draft_id=draft_id,
            data=data,
            settings=settings,
            roster=roster,
        )
    except RosterError as exc:
        problems = exc.problems
    except BadDate as exc:
        errors = {"due": thai_part(exc.message)}
    except ValidationError as exc:
        errors = _errors(exc)
    except Invalid as exc:
        errors = {exc.field or "form": thai_part(exc.message)}
    else:
        if out.delivered_to is not None:
            done = f"ส่งหนังสือ {out.reference} ถึง{out.delivered_to}แล้ว เลขรับ {out.receipt_number}"
            return redirect(f"/drafts/{draft_id}", done)
        if out.job_id is None:
            done = f"ส่งหนังสือ {out.reference} เข้ากล่องหนังสือของ {len(out.deliveries)} แห่งแล้ว"
            return redirect(f"/drafts/{draft_id}", done)
        return redirect(
            out.job_url or f"/drafts/{draft_id}",
            f"ส่งหนังสือ {out.reference} ถึงสถานศึกษา {out.colleges} แห่ง: กำลังจัดทำ",
        )
    with Session(engine) as db:
        context = _draft_context(db, who, draft_id, settings)
    context.update(send_errors=errors, roster_problems=problems)
    return page(request, "draft.html", context, who=who, status_code=422)


@router.get("/drafts/{draft_id}/print-all.pdf")
def print_file(draft_id: DraftId, who: PageUser, engine: EngineDep) -> Response:
    path = sending.sent_file(engine, who=who, draft_id=draft_id, name="print-all.pdf")
    return Response(path.read_bytes(), media_type="application/pdf")


@router.get("/received")
def received_list(request: Request, who: PageUser, db: SessionDep) -> Response:
    """Letters other organisations sent through saraban (replies), as registered on arrival."""
    items = [replies.view(r) for r in replies.inbox(db, who=who)]
    org = organisations.organisation_of(db, who)
    return page(request, "received.html", {"items": items, "org": org}, who=who)


@router.get("/received/{item_id}")
def received_item(
    request: Request, item_id: DraftId, who: PageUser, db: SessionDep, settings: SettingsDep
) -> Response:
    return received.received_page(request, who, db, item_id, settings)


@router.get("/received/{item_id}/letter.pdf")
def received_pdf(
    item_id: DraftId, who: PageUser, db: SessionDep, settings: SettingsDep
) -> Response:
    pdf = replies.letter_pdf(db, who=who, item_id=item_id, settings=settings)
    return Response(pdf, media_type="application/pdf")
