"""College admin: the college's own account manages its staff, their positions and acting
relations (รักษาราชการแทน, รักษาการในตำแหน่ง). A first password is shown once, then never."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from saraban.domain.errors import Conflict, Invalid, Refused
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import POST_RELATIONS
from saraban.services import accounts
from saraban.storage.models import Account, StaffCreate, StaffUpdate
from saraban.web.deps import CheckedForm, CollegeAccount, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import text
from saraban.web.pages.render import page, redirect

router = APIRouter(include_in_schema=False)
StaffId = Annotated[int, Path(ge=1, le=2_147_483_647)]
ACTING = {"": "— ไม่มี —", **{relation: relation for relation in POST_RELATIONS}}
FIELDS = ("handle", "name", "position", "role", "acting", "acting_for")
MESSAGES = {
    "handle": "ใช้อักษรภาษาอังกฤษตัวเล็ก ตัวเลข จุด ขีด (2-40 ตัว) ขึ้นต้นด้วยอักษรหรือตัวเลข",
    "name": "โปรดกรอกชื่อ-สกุล",
    "position": "โปรดกรอกตำแหน่ง",
    "role": "โปรดเลือกบทบาท",
    "acting": "โปรดเลือกการรักษาการให้ถูกต้อง",
    "acting_for": "โปรดกรอกตำแหน่งที่รักษาการ (เมื่อเลือกการรักษาการ)",
}


def _errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "form"
        errors[field] = MESSAGES.get(field, "ข้อมูลไม่ถูกต้อง")
    return errors


def _service_errors(exc: Refused) -> dict[str, str]:
    if isinstance(exc, Invalid):
        field = exc.field if exc.field in FIELDS else "form"
        return {field: MESSAGES.get(field, thai_part(exc.message))}
    if isinstance(exc, Conflict):
        return {"handle": "ชื่อผู้ใช้นี้มีอยู่แล้วในสถานศึกษา"}
    return {"form": thai_part(exc.message)}


def _values(form: FormData) -> dict[str, str]:
    return {name: " ".join(text(form, name).split()) for name in FIELDS}


def _list_page(
    request: Request,
    who: Principal,
    db: Session,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    since = accounts.staff_since_previous(db, who=who, code=who.college_code or "")
    context: dict[str, Any] = {
        # made since the previous credential: whoever held its slip may have made them
        "suspect_ids": {a.id for a in since if a.active},
        "staff": accounts.list_staff(db, who=who),
        "form": form or {"role": "staff", "acting": ""},
        "errors": errors or {},
        "acting_choices": ACTING,
    }
    return page(request, "staff_list.html", context, who=who, status_code=status_code)


@router.get("/staff")
def staff_list(request: Request, who: CollegeAccount, db: SessionDep) -> Response:
    return _list_page(request, who, db)


def _password_page(
    request: Request, who: Principal, account: Account, password: str, *, created: bool
) -> Response:
    context = {"member": account, "password": password, "created": created}
    return page(request, "staff_password.html", context, who=who, status_code=201)


@router.post("/staff")
def create_staff(
    request: Request,
    who: CollegeAccount,
    form: CheckedForm,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    values = _values(form)
    try:
        data = StaffCreate.model_validate({**values, "handle": values["handle"].lower()})
    except ValidationError as exc:
        return _list_page(request, who, db, form=values, errors=_errors(exc), status_code=422)
    try:
        account, password = accounts.create_staff(db, who=who, data=data, settings=settings)
    except Refused as exc:
        if status_of(exc) in (401, 404):
            raise
        db.rollback()
        errors = _service_errors(exc)
        return _list_page(request, who, db, form=values, errors=errors, status_code=status_of(exc))
    assert password is not None  # generated: no first password was given
    return _password_page(request, who, account, password, created=True)


def _edit_page(
    request: Request,
    who: Principal,
    member: Account,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    values = form or {name: getattr(member, name) for name in FIELDS if name != "handle"}
    values.setdefault("active", member.active)
    context = {"member": member, "form": values, "errors": errors or {}, "acting_choices": ACTING}
    return page(request, "staff_edit.html", context, who=who, status_code=status_code)


@router.get("/staff/{staff_id}")
def staff_edit(
    request: Request, staff_id: StaffId, who: CollegeAccount, db: SessionDep
) -> Response:
    return _edit_page(request, who, accounts.get_staff(db, who=who, staff_id=staff_id))


@router.post("/staff/{staff_id}")
def staff_update(
    request: Request, staff_id: StaffId, who: CollegeAccount, form: CheckedForm, db: SessionDep
) -> Response:
    member = accounts.get_staff(db, who=who, staff_id=staff_id)
    values: dict[str, Any] = {k: v for k, v in _values(form).items() if k != "handle"}
    values["active"] = text(form, "active") == "on"
    try:
        data = StaffUpdate.model_validate(values)
        accounts.update_staff(db, who=who, staff_id=staff_id, data=data)
    except ValidationError as exc:
        return _edit_page(request, who, member, form=values, errors=_errors(exc), status_code=422)
    except Refused as exc:
        if status_of(exc) in (401, 404):
            raise
        db.rollback()
        member = accounts.get_staff(db, who=who, staff_id=staff_id)
        errors = _service_errors(exc)
        status = status_of(exc)
        return _edit_page(request, who, member, form=values, errors=errors, status_code=status)
    return redirect("/staff", f"บันทึกข้อมูลของ {member.name} แล้ว")


@router.post("/staff/{staff_id}/password-reset")
def staff_password_reset(
    request: Request,
    staff_id: StaffId,
    who: CollegeAccount,
    form: CheckedForm,
    db: SessionDep,
    settings: SettingsDep,
) -> Response:
    account, password = accounts.reset_staff_password(
        db, who=who, staff_id=staff_id, settings=settings
    )
    return _password_page(request, who, account, password, created=False)


@router.post("/staff/{staff_id}/switch-off")
def staff_switch_off(
    staff_id: StaffId, who: CollegeAccount, form: CheckedForm, db: SessionDep
) -> Response:
    """Switch off a member of staff at once (made since the previous credential)."""
    account = accounts.switch_off_staff(db, who=who, code=who.college_code or "", staff_id=staff_id)
    return redirect("/staff", f"ปิดบัญชี {account.name} แล้ว")
