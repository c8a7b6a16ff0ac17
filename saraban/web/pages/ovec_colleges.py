"""OVEC's page of a college: its letters and its credential, reissued or voided with a
reason. A reissued password is shown once, on a printable slip, and never again."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from sqlmodel import Session

from credentials import DEFAULT_POLICY
from letters.slip import DEFAULT_ISSUER, DEFAULT_SYSTEM_EN, DEFAULT_SYSTEM_TH
from saraban.domain.colleges import is_college_code
from saraban.domain.errors import NotFound, Refused
from saraban.domain.principal import Principal
from saraban.services import accounts, credentials, tracking
from saraban.services.tracking import TrackingFilter
from saraban.storage import store
from saraban.storage.models import College
from saraban.web.deps import CheckedForm, EngineDep, OvecUser, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import text
from saraban.web.pages.render import page, redirect

router = APIRouter(prefix="/ovec", include_in_schema=False)
CollegeCode = Annotated[str, Path(min_length=1, max_length=20)]
StaffId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _college(db: Session, code: str) -> College:
    college = store.get_college(session=db, code=code) if is_college_code(code) else None
    if college is None:
        raise NotFound(f"no college {code}")
    return college


def _college_page(
    request: Request,
    who: Principal,
    db: Session,
    code: str,
    *,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    college = _college(db, code)
    found = tracking.tracking(
        db, who=who, filters=TrackingFilter(college=college.code), limit=tracking.MAX_PAGE
    )
    context = {
        "college": college,
        "rows": [r for r in found.rows if r.college_code == college.code],
        "history": list(reversed(store.credential_history(session=db, code=college.code))),
        # staff made with a credential since voided or reissued: OVEC may switch them off
        "suspect_staff": accounts.staff_since_previous(db, who=who, code=college.code),
        "errors": errors or {},
        "form": form or {},
    }
    return page(request, "ovec_college.html", context, who=who, status_code=status_code)


@router.get("/colleges/{code}")
def college_page(request: Request, code: CollegeCode, who: OvecUser, db: SessionDep) -> Response:
    return _college_page(request, who, db, code)


def _refused(
    request: Request,
    who: Principal,
    db: Session,
    code: str,
    action: str,
    exc: Refused,
    reason: str,
) -> Response:
    if status_of(exc) in (401, 404):
        raise exc
    db.rollback()
    return _college_page(
        request,
        who,
        db,
        code,
        errors={action: thai_part(exc.message)},
        form={f"{action}_reason": reason},
        status_code=status_of(exc),
    )


@router.post("/colleges/{code}/reissue")
def reissue(
    request: Request,
    code: CollegeCode,
    who: OvecUser,
    form: CheckedForm,
    engine: EngineDep,
    settings: SettingsDep,
    db: SessionDep,
) -> Response:
    reason = text(form, "reissue_reason")
    try:
        slip = credentials.reissue(
            engine,
            who=who,
            code=code,
            reason=reason,
            hashing=settings.hashing,
            policy=DEFAULT_POLICY,
            slip=credentials.slip_renderer(DEFAULT_POLICY.hint_th),
        )
    except Refused as exc:
        return _refused(request, who, db, code, "reissue", exc, reason)
    assert slip.slip is not None  # rendered in memory, before anything was stored
    context = {
        "slip": slip,
        "hint": DEFAULT_POLICY.hint_th,
        "pdf_data": base64.b64encode(slip.slip).decode("ascii"),
        "system_th": DEFAULT_SYSTEM_TH,
        "system_en": DEFAULT_SYSTEM_EN,
        "issuer": DEFAULT_ISSUER,
        "reason": " ".join(reason.split()),
    }
    return page(request, "ovec_slip.html", context, who=who)


@router.post("/colleges/{code}/void")
def void(
    request: Request,
    code: CollegeCode,
    who: OvecUser,
    form: CheckedForm,
    engine: EngineDep,
    db: SessionDep,
) -> Response:
    reason = text(form, "void_reason")
    try:
        credentials.void(engine, who=who, code=code, reason=reason)
    except Refused as exc:
        return _refused(request, who, db, code, "void", exc, reason)
    return redirect(f"/ovec/colleges/{code}", "ยกเลิกรหัสผ่านของสถานศึกษาแล้ว")


@router.post("/colleges/{code}/staff/{staff_id}/switch-off")
def switch_off_staff(
    code: CollegeCode, staff_id: StaffId, who: OvecUser, form: CheckedForm, db: SessionDep
) -> Response:
    """Switch off a member of staff made since the college's previous credential."""
    account = accounts.switch_off_staff(db, who=who, code=code, staff_id=staff_id)
    return redirect(f"/ovec/colleges/{code}", f"ปิดบัญชี {account.username} แล้ว")
