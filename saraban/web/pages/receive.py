"""Receiving a letter that came on paper or by e-mail (ลงรับ), with its PDF: the form and what it
posts (saraban.services.receipts.receive_uploaded)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from saraban.domain.errors import Forbidden, Invalid, Refused
from saraban.domain.principal import Principal
from saraban.services import receipts
from saraban.storage.models import ReceiptCreate
from saraban.web.deps import CheckedForm, CollegeUser, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import date_values, form_date, text
from saraban.web.pages.inbox import may_register
from saraban.web.pages.render import page, redirect
from saraban.web.pages.thai import BadDate

router = APIRouter(include_in_schema=False)
RECEIPT_FIELDS = {
    "sender": "จาก",
    "subject": "เรื่อง",
    "addressee": "ถึง",
    "letter_number": "ที่",
    "letter_date": "ลงวันที่",
    "action": "การปฏิบัติ",
    "note": "หมายเหตุ",
    "file": "ไฟล์หนังสือ (PDF)",
}
NOT_REGISTRAR = "การลงรับหนังสือทำได้โดยงานสารบรรณหรือบัญชีของสถานศึกษา"


def _receive_page(
    request: Request,
    who: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    context = {
        "form": form or {"addressee": "ผู้อำนวยการ", "channel": "paper"},
        "errors": errors or {},
        "labels": RECEIPT_FIELDS,
    }
    return page(request, "receive_form.html", context, who=who, status_code=status_code)


@router.get("/receipts/new")
def receive_form(request: Request, who: CollegeUser) -> Response:
    if not may_register(who):
        raise Forbidden(NOT_REGISTRAR)
    return _receive_page(request, who)


def _validation_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "form"
        kind = error.get("type", "")
        if kind in ("missing", "string_too_short") or error.get("input", "") is None:
            errors[field] = "โปรดกรอกช่องนี้"
        elif kind == "string_too_long":
            errors[field] = "ข้อความยาวเกินไป"
        else:
            errors[field] = "ข้อมูลไม่ถูกต้อง"
    return errors


@router.post("/receipts")
def receive_letter(
    request: Request,
    who: CollegeUser,
    form: CheckedForm,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    fields = [name for name in RECEIPT_FIELDS if name not in ("file", "letter_date")]
    values = {name: text(form, name) for name in fields}
    values["channel"] = text(form, "channel") or "paper"
    errors: dict[str, str] = {}
    data: ReceiptCreate | None = None
    try:
        letter_date = form_date(form, "letter_date")
    except BadDate as exc:
        errors["letter_date"], letter_date = str(exc), None
    try:
        data = ReceiptCreate.model_validate(
            {name: value.strip() or None for name, value in values.items()}
            | {"channel": values["channel"], "letter_date": letter_date}
        )
    except ValidationError as exc:
        errors = _validation_errors(exc) | errors
    values |= date_values(form, "letter_date")
    upload = form.get("file")
    pdf = b""
    if not isinstance(upload, UploadFile) or not upload.filename:
        errors["file"] = "โปรดเลือกไฟล์หนังสือ (PDF)"
    else:
        pdf = upload.file.read(settings.max_upload_bytes + 1)
        if len(pdf) > settings.max_upload_bytes:
            errors["file"] = f"ไฟล์ใหญ่เกิน {settings.max_upload_bytes // (1024 * 1024)} MB"
    if errors or data is None:
        return _receive_page(request, who, form=values, errors=errors, status_code=422)
    try:
        name = upload.filename if isinstance(upload, UploadFile) else ""
        entry = receipts.receive_uploaded(
            db, who=who, data=data, pdf=pdf, settings=settings, filename=name or ""
        )
    except Refused as exc:
        if status_of(exc) in (401, 404):
            raise
        db.rollback()
        if isinstance(exc, Invalid):
            errors = {exc.field: thai_part(exc.message)}
        else:
            errors = {"form": thai_part(exc.message)}
        return _receive_page(request, who, form=values, errors=errors, status_code=status_of(exc))
    return redirect(f"/receipts/{entry.id}", f"ลงรับแล้ว เลขรับ {entry.receipt_number}")
