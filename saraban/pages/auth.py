"""Logging in and out, the first-login password change, and the home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request, Response

from saraban import accounts
from saraban.app import (
    ClientDep,
    EngineDep,
    SessionDep,
    SettingsDep,
    clear_session_cookie,
    set_session_cookie,
)
from saraban.errors import Invalid, ServiceError, Throttled, Unauthorized
from saraban.models import SessionKind
from saraban.pages.deps import CheckedForm, PageUser, SignedIn
from saraban.pages.errors import thai_part
from saraban.pages.forms import text
from saraban.pages.render import page, redirect
from saraban.pages.thai import wait_text
from saraban.principal import Principal

router = APIRouter(include_in_schema=False)
FIELD_NAMES = {"current_password": "รหัสผ่านปัจจุบัน", "new_password": "รหัสผ่านใหม่"}


def home_of(who: Principal) -> str:
    return "/ovec" if who.kind == SessionKind.OVEC else "/inbox"


def _safe_next(value: str) -> str:
    """Only a path on this site (never //host or a scheme)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ""


@router.get("/")
def home(who: PageUser) -> Response:
    return redirect(home_of(who))


@router.get("/login")
def login_form(
    request: Request, next_url: Annotated[str, Query(alias="next", max_length=500)] = ""
) -> Response:
    return page(request, "login.html", {"next": _safe_next(next_url), "username": ""})


@router.post("/login")
def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    client: ClientDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "",
) -> Response:
    values = {"next": _safe_next(next_url), "username": username.strip()}
    if not username.strip() or not password:
        error = "โปรดกรอกชื่อผู้ใช้และรหัสผ่าน"
        return page(request, "login.html", {**values, "error": error}, status_code=422)
    try:
        result = accounts.login(
            engine, settings, username=username, password=password, client=client
        )
    except Throttled as exc:
        error = (
            "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป ระบบระงับการเข้าสู่ระบบชั่วคราว "
            f"โปรดลองใหม่ในอีก {wait_text(exc.retry_after)}"
        )
        headers = {"Retry-After": str(exc.retry_after)}
        context = {**values, "error": error, "throttled": True}
        return page(request, "login.html", context, status_code=429, headers=headers)
    except Unauthorized:
        error = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง โปรดตรวจสอบแล้วลองใหม่"
        return page(request, "login.html", {**values, "error": error}, status_code=401)
    who = result.principal
    target = "/password" if who.must_change_password else values["next"] or home_of(who)
    response = redirect(target)
    set_session_cookie(response, result.token, settings, client)
    return response


@router.post("/logout")
def logout(who: SignedIn, form: CheckedForm, db: SessionDep) -> Response:
    accounts.logout(db, who=who)
    response = redirect("/login", "ออกจากระบบแล้ว")
    clear_session_cookie(response)
    return response


@router.get("/password")
def password_form(request: Request, who: SignedIn) -> Response:
    return page(request, "password.html", {"errors": {}}, who=who)


@router.post("/password")
def change_password(
    request: Request,
    who: SignedIn,
    form: CheckedForm,
    engine: EngineDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    current, new = text(form, "current_password"), text(form, "new_password")
    errors: dict[str, str] = {}
    if not current:
        errors["current_password"] = "โปรดกรอกรหัสผ่านปัจจุบัน"
    if new != text(form, "confirm_password"):
        errors["confirm_password"] = "รหัสผ่านใหม่ทั้งสองช่องไม่ตรงกัน"
    status = 422
    if not errors:
        try:
            result = accounts.change_password(
                engine, settings, who=who, current=current, new=new, client=client
            )
        except Invalid as exc:
            errors[exc.field] = thai_part(exc.message)
        except Throttled as exc:
            errors["current_password"] = (
                f"ผิดหลายครั้งเกินไป โปรดลองใหม่ในอีก {wait_text(exc.retry_after)}"
            )
            status = 429
        except ServiceError as exc:
            errors["form"] = thai_part(exc.message)
            status = exc.status
        else:
            response = redirect(home_of(result.principal), "เปลี่ยนรหัสผ่านเรียบร้อยแล้ว")
            set_session_cookie(response, result.token, settings, client)
            return response
    return page(request, "password.html", {"errors": errors}, who=who, status_code=status)
