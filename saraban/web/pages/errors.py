"""Error pages: helpful, in Thai, and never a stack trace. Requests under ``/api`` keep the
JSON answers the API gives; everything else gets a page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse
from sqlmodel import Session
from starlette.exceptions import HTTPException

from saraban.domain.errors import (
    Forbidden,
    NotFound,
    PasswordChangeRequired,
    Refused,
    Throttled,
    Unauthorized,
)
from saraban.domain.principal import Principal
from saraban.services import sessions
from saraban.web.deps import (
    BadCsrf,
    LoginRequired,
    NotYours,
    PasswordChangeFirst,
    session_principal,
)
from saraban.web.errors import api_error, status_of, validation_error
from saraban.web.pages.render import page, redirect
from saraban.web.pages.thai import wait_text

Handler = Callable[[Request, Exception], Awaitable[Response] | Response]

TITLES: dict[int, str] = {
    400: "คำขอไม่ถูกต้อง",
    403: "ไม่มีสิทธิ์ดำเนินการ",
    404: "ไม่พบหน้าที่ต้องการ",
    405: "ไม่รองรับวิธีการนี้",
    409: "ดำเนินการไม่ได้ในขณะนี้",
    413: "ไฟล์มีขนาดใหญ่เกินไป",
    422: "ข้อมูลไม่ถูกต้อง",
    429: "ลองใหม่ภายหลัง",
    500: "ระบบขัดข้อง",
}
HINTS: dict[int, str] = {
    403: "หากเห็นว่าควรมีสิทธิ์ โปรดติดต่อผู้ดูแลบัญชีของสถานศึกษา",
    404: "หน้านี้อาจถูกย้าย ที่อยู่อาจพิมพ์ผิด หรือไม่ใช่ของหน่วยงานของท่าน",
    409: "มีผู้ดำเนินการไปก่อนแล้ว หรือยังไม่ถึงลำดับของท่าน โปรดเปิดหน้าหนังสืออีกครั้ง",
    500: "เจ้าหน้าที่ได้รับแจ้งแล้ว โปรดลองใหม่อีกครั้งในภายหลัง",
}


def _is_api(request: Request) -> bool:
    return request.url.path == "/api" or request.url.path.startswith("/api/")


def _visitor(request: Request) -> Principal | None:
    """Who is logged in, for the menu (None if unknown or if looking fails)."""
    if not request.cookies.get(sessions.COOKIE_NAME):
        return None
    try:
        with Session(request.app.state.engine) as session:
            found = session_principal(request, session, request.app.state.settings)
    except Exception:  # an error page must not fail on what may have caused the error
        return None
    return found[0] if found else None


def error_page(
    request: Request,
    status: int,
    message: str = "",
    headers: dict[str, str] | None = None,
    *,
    look_up: bool = True,
) -> Response:
    """The error page, with the visitor's menu when they are logged in."""
    return page(
        request,
        "error.html",
        {
            "status": status,
            "title": TITLES.get(status, "เกิดข้อผิดพลาด"),
            "message": message,
            "hint": HINTS.get(status, ""),
        },
        who=_visitor(request) if look_up else None,
        status_code=status,
        headers=headers,
    )


def thai_part(message: str) -> str:
    """The Thai half of a bilingual service message ("ไทย / English"), else all of it."""
    head, sep, _ = message.partition(" / ")
    return head if sep and any("\u0e00" <= ch <= "\u0e7f" for ch in head) else message


def refusal_page(request: Request, exc: Refused) -> Response:
    if isinstance(exc, PasswordChangeRequired):
        return redirect("/password")
    if isinstance(exc, Unauthorized):
        return redirect(f"/login?next={quote(request.url.path)}")
    if isinstance(exc, Throttled):
        message = f"พยายามหลายครั้งเกินไป โปรดลองใหม่ในอีก {wait_text(exc.retry_after)}"
        return error_page(request, 429, message, {"Retry-After": str(exc.retry_after)})
    if isinstance(exc, NotFound):
        return error_page(request, 404)
    if isinstance(exc, Forbidden):
        return error_page(request, 403, thai_part(exc.message))
    return error_page(request, status_of(exc), thai_part(exc.message))


def _fields_message(errors: Sequence[Any]) -> str:
    """What to check, naming the fields refused (``q``, ``mailout_id``, ...)."""
    names = []
    for error in errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
        if loc and loc[0] not in names:
            names.append(loc[0])
    where = f": {', '.join(names)}" if names else ""
    return f"โปรดตรวจสอบข้อมูลในแบบฟอร์มแล้วลองใหม่{where}"


def install_error_pages(app: FastAPI) -> None:
    """Pages for every error outside ``/api``; the API's handlers stay as they were."""

    async def on_refused(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, Refused)
        if _is_api(request):
            return api_error(request, exc)
        return refusal_page(request, exc)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if _is_api(request):
            return await http_exception_handler(request, exc)
        if exc.status_code == 422 and isinstance(exc.detail, list):  # a form not in UTF-8
            return error_page(request, 422, _fields_message(exc.detail), headers=exc.headers)
        return error_page(request, exc.status_code, headers=exc.headers)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        if _is_api(request):
            return validation_error(request, exc)
        if any(error.get("loc", ("",))[0] == "path" for error in exc.errors()):
            return error_page(request, 404)  # /receipts/abc: no such page
        return error_page(request, 422, _fields_message(exc.errors()))

    async def on_login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        if exc.next_url in ("/", ""):
            return redirect("/login")
        return redirect(f"/login?next={quote(exc.next_url)}")

    async def on_password_first(request: Request, exc: Exception) -> Response:
        return redirect("/password")

    async def on_not_yours(request: Request, exc: Exception) -> Response:
        return error_page(request, 404)

    async def on_bad_csrf(request: Request, exc: Exception) -> Response:
        message = "แบบฟอร์มนี้หมดอายุแล้ว โปรดเปิดหน้าเดิมอีกครั้งแล้วส่งใหม่"
        return error_page(request, 403, message)

    async def on_crash(request: Request, exc: Exception) -> Response:
        # Starlette logs the exception and re-raises it after this answer is sent.
        if _is_api(request):
            return JSONResponse({"detail": "Internal Server Error"}, status_code=500)
        try:
            return error_page(request, 500, look_up=False)
        except Exception:  # the error page itself failed: say so plainly
            return PlainTextResponse("ระบบขัดข้อง โปรดลองใหม่ภายหลัง", status_code=500)

    app.add_exception_handler(Refused, on_refused)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(LoginRequired, on_login_required)
    app.add_exception_handler(PasswordChangeFirst, on_password_first)
    app.add_exception_handler(NotYours, on_not_yours)
    app.add_exception_handler(BadCsrf, on_bad_csrf)
    app.add_exception_handler(Exception, on_crash)
