"""A letter another organisation sent through saraban (a reply, or a letter delivered
directly: in OVEC's หนังสือรับ, in a college's หนังสือเข้า), routed to a decision with the same
forms as a college's letter (saraban.web.pages.route_forms reads them;
saraban.services.org_routes applies the endorsement engine's rules), and answered."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from saraban.domain.errors import Refused
from saraban.domain.principal import Principal
from saraban.services import drafts, org_routes, organisations, replies
from saraban.settings import Settings
from saraban.web.deps import CheckedForm, PageUser, SessionDep, SettingsDep
from saraban.web.pages.render import page, redirect
from saraban.web.pages.route_forms import decision_from, note_from, plan_from, refusal_message
from saraban.web.pages.signatures import check_view

router = APIRouter(include_in_schema=False)
ItemId = Annotated[int, Path(ge=1, le=2_147_483_647)]
ORDERS = ("ทราบ", "อนุญาต", "อนุมัติ", "เก็บเข้าแฟ้ม")


def received_page(
    request: Request,
    who: Principal,
    db: Session,
    item_id: int,
    settings: Settings,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    detail = org_routes.detail(db, who=who, item_id=item_id)
    pdf = replies.letter_pdf(db, who=who, item_id=item_id, settings=settings)
    preview = drafts.remember_preview(db, who=who, pdf=pdf, recipient="")
    org = organisations.organisation_of(db, who)
    route = detail.route
    my_step = None
    if route is not None and who.account_id in route.waiting_for:
        my_step = next(
            (s.kind for s in route.steps if s.staff_id == who.account_id and not s.done), None
        )
    context = {
        "item": detail.item,
        "route": route,
        "preview": preview,
        "staff": organisations.members(db, org),
        "my_step": my_step,
        "orders": ORDERS,
        "error": error,
        "sig": check_view(replies.signature_check(db, who=who, item_id=item_id, settings=settings)),
        "org": org,
        "head": replies.OVEC_HEAD if org.kind == "ovec" else f"ผู้อำนวยการ{org.name}",
    }
    return page(request, "received_item.html", context, who=who, status_code=status_code)


def _act(
    request: Request,
    who: Principal,
    db: Session,
    item_id: int,
    settings: Settings,
    form: FormData,
    act: Callable[[FormData], object],
    done: str,
) -> Response:
    try:
        act(form)
    except ValidationError:
        message = "ข้อมูลไม่ครบหรือไม่ถูกต้อง โปรดตรวจสอบแบบฟอร์ม"
    except Refused as exc:
        message = refusal_message(exc)
    else:
        return redirect(f"/received/{item_id}", done)
    db.rollback()
    return received_page(request, who, db, item_id, settings, error=message, status_code=422)


@router.post("/received/{item_id}/route")
def route_post(
    request: Request,
    item_id: ItemId,
    who: PageUser,
    db: SessionDep,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    def act(f: FormData) -> object:
        return org_routes.plan(db, who=who, item_id=item_id, data=plan_from(f))

    return _act(request, who, db, item_id, settings, form, act, "เสนอหนังสือตามลำดับแล้ว")


@router.post("/received/{item_id}/notes")
def note_post(
    request: Request,
    item_id: ItemId,
    who: PageUser,
    db: SessionDep,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    def act(f: FormData) -> object:
        return org_routes.add_note(db, who=who, item_id=item_id, data=note_from(f))

    return _act(request, who, db, item_id, settings, form, act, "ลงนามบันทึกเกษียนแล้ว")


@router.post("/received/{item_id}/decision")
def decision_post(
    request: Request,
    item_id: ItemId,
    who: PageUser,
    db: SessionDep,
    settings: SettingsDep,
    form: CheckedForm,
) -> Response:
    def act(f: FormData) -> object:
        return org_routes.decide(db, who=who, item_id=item_id, data=decision_from(f))

    return _act(request, who, db, item_id, settings, form, act, "ลงนามสั่งการแล้ว")
