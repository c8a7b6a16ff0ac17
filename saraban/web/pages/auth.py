"""Logging in and out, the first-login password change, and the home page.

The login form has no session to tie a CSRF token to yet, so it gets a pre-session one: a
signed double-submit cookie. Showing the login page sets ``saraban_login`` (a random nonce;
HttpOnly, SameSite=Lax, only sent to ``/login``) and puts the nonce's HMAC under the service's
secret in the form; a POST whose field does not match its cookie is refused before anything
is looked up, counted or hashed. Another site can neither read the cookie nor compute the
field, so it cannot log a browser in (to its own account, say). The JSON API's ``/api/login``
is for clients without cookies of ours and keeps its own rules. Logging out and changing the
password are forms of a session and carry its token (``CheckedForm``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response

from saraban.domain.errors import Invalid, Refused, Throttled, Unauthorized
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.services import accounts
from saraban.services.passwords import Client
from saraban.settings import Settings
from saraban.storage.models import CleanStr
from saraban.web.deps import (
    CheckedForm,
    ClientDep,
    EngineDep,
    PageUser,
    SessionDep,
    SettingsDep,
    SignedIn,
    clear_session_cookie,
    device_of,
    run_password_check,
    set_device_cookie,
    set_session_cookie,
)
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import text
from saraban.web.pages.render import page, redirect
from saraban.web.pages.thai import wait_text

router = APIRouter(include_in_schema=False)
FIELD_NAMES = {"current_password": "รหัสผ่านปัจจุบัน", "new_password": "รหัสผ่านใหม่"}
LOGIN_COOKIE = "saraban_login"
LOGIN_COOKIE_HOURS = 12
_NONCE = re.compile(r"[A-Za-z0-9_-]{43}")
BAD_LOGIN_FORM = (
    "ส่งแบบฟอร์มเข้าสู่ระบบไม่ได้ เพราะแบบฟอร์มหมดอายุ หรือไม่ได้ส่งจากหน้านี้ของระบบ "
    "โปรดกรอกชื่อผู้ใช้และรหัสผ่านอีกครั้ง (เบราว์เซอร์ต้องเปิดใช้คุกกี้)"
)


def home_of(who: Principal) -> str:
    return "/ovec" if who.kind == SessionKind.OVEC else "/inbox"


def _safe_next(value: str) -> str:
    """Only a path on this site (never //host or a scheme)."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return ""


def login_csrf(secret: bytes, nonce: str) -> str:
    """The login form's token for the nonce in its cookie (never a session's CSRF token)."""
    mac = hmac.new(secret, b"login-csrf\0" + nonce.encode("ascii"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _login_nonce(request: Request) -> str | None:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return nonce if _NONCE.fullmatch(nonce) else None


def login_form_ok(request: Request, settings: Settings, supplied: str) -> bool:
    nonce = _login_nonce(request)
    return (
        nonce is not None
        and bool(supplied)
        and hmac.compare_digest(login_csrf(settings.secret, nonce), supplied)
    )


def login_page(
    request: Request,
    settings: Settings,
    client: Client,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The login form with its token, and the cookie the token must match (kept while it is
    sound, so that two open login tabs both work)."""
    nonce = _login_nonce(request) or secrets.token_urlsafe(32)
    values = {"next": "", "username": "", **context, "csrf": login_csrf(settings.secret, nonce)}
    response = page(request, "login.html", values, status_code=status_code, headers=headers)
    secure = settings.cookie_secure if settings.cookie_secure is not None else client.https
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_COOKIE_HOURS * 3600,
        path="/login",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    return response


@router.get("/")
def home(who: PageUser) -> Response:
    return redirect(home_of(who))


@router.get("/login")
def login_form(
    request: Request,
    settings: SettingsDep,
    client: ClientDep,
    next_url: Annotated[CleanStr, Query(alias="next", max_length=500)] = "",
) -> Response:
    return login_page(request, settings, client, {"next": _safe_next(next_url)})


@router.post("/login")
async def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    client: ClientDep,
    username: Annotated[str, Form(max_length=100)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    next_url: Annotated[str, Form(alias="next", max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    values = {"next": _safe_next(next_url), "username": username.strip()}
    if not login_form_ok(request, settings, csrf_token):
        # Nothing is looked up, counted or hashed; the username is not filled in again, as
        # another site may have sent it.
        context = {"next": values["next"], "error": BAD_LOGIN_FORM}
        return login_page(request, settings, client, context, status_code=403)
    if not username.strip() or not password:
        error = "โปรดกรอกชื่อผู้ใช้และรหัสผ่าน"
        return login_page(request, settings, client, {**values, "error": error}, status_code=422)
    try:
        work = partial(
            accounts.login,
            engine,
            settings,
            username=username,
            password=password,
            client=client,
            device=device_of(request),
        )
        result = await run_password_check(work)
    except Throttled as exc:
        error = (
            "เข้าสู่ระบบไม่สำเร็จหลายครั้งเกินไป ระบบระงับการเข้าสู่ระบบชั่วคราว "
            f"โปรดลองใหม่ในอีก {wait_text(exc.retry_after)}"
        )
        headers = {"Retry-After": str(exc.retry_after)}
        context = {**values, "error": error, "throttled": True}
        return login_page(request, settings, client, context, status_code=429, headers=headers)
    except Unauthorized:
        error = "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง โปรดตรวจสอบแล้วลองใหม่"
        return login_page(request, settings, client, {**values, "error": error}, status_code=401)
    who = result.principal
    target = "/password" if who.must_change_password else values["next"] or home_of(who)
    response = redirect(target)
    set_session_cookie(response, result.token, settings, client)
    set_device_cookie(response, result.device, settings, client)
    response.delete_cookie(LOGIN_COOKIE, path="/login", httponly=True, samesite="lax")
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
        except Refused as exc:
            errors["form"] = thai_part(exc.message)
            status = status_of(exc)
        else:
            response = redirect(home_of(result.principal), "เปลี่ยนรหัสผ่านเรียบร้อยแล้ว")
            set_session_cookie(response, result.token, settings, client)
            return response
    return page(request, "password.html", {"errors": errors}, who=who, status_code=status)
