"""Rendering pages: the Jinja2 environment over ``templates/``, the context every page gets,
and one-time messages carried across a redirect (a short cookie)."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from sqlmodel import Session

from saraban.domain.principal import Principal
from saraban.domain.vocabulary import REGISTRAR_ROLES, SessionKind
from saraban.services import sessions
from saraban.storage.models import College
from saraban.web.pages import thai

# The repository's templates/ folder, installed as the package saraban.web.templates.
TEMPLATES_DIR = Path(str(resources.files("saraban.web.templates")))
FLASH_COOKIE = "saraban_flash"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# No script, no inline style, nothing from elsewhere; the reissued slip's PDF is a data: link.
SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'none'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'; img-src 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

# A mailout job's state (saraban.storage.models.JobState), as the pages say it.
JOB_STATES_TH = {
    "queued": "รอคิว",
    "running": "กำลังจัดทำ",
    "finished": "เสร็จแล้ว",
    "failed": "ไม่สำเร็จ",
    "cancelled": "ยกเลิกแล้ว",
}

# An era and its year ("พ.ศ. 2569") are never split across two lines.
_ERA_YEAR = re.compile(r"((?:พ\.ศ\.|ค\.ศ\.)\s+[0-9๐-๙]{4})")


def keep_years(value: object) -> Markup:
    """Text with each "พ.ศ. 2569" kept on one line (the text itself is unchanged)."""
    return Markup(_ERA_YEAR.sub(r'<span class="nowrap">\1</span>', str(escape(value or ""))))


def keep_words(value: object) -> Markup:
    """Text that breaks only at its spaces: a person's name, a role (a line breaker cuts
    names it does not know, "นายสมพงษ์ นัน|ตะภาพ")."""
    words = str(value or "").split()
    return Markup(" ").join(Markup('<span class="nowrap">%s</span>') % word for word in words)


templates = Jinja2Templates(directory=TEMPLATES_DIR)
_env = templates.env
_env.filters.update(
    keep_years=keep_years,
    keep_words=keep_words,
    thai_date=thai.thai_date,
    thai_short_date=thai.thai_short_date,
    thai_time=thai.thai_clock,
    thai_datetime=thai.thai_datetime,
    stage=lambda value: thai.STAGES.get(value, value),
    route_status=lambda value: thai.ROUTE_STATUSES.get(value, value),
    role=lambda value: thai.ROLES.get(value, value or ""),
    step_kind=lambda value: thai.STEP_KINDS.get(value, value),
    channel=lambda value: thai.CHANNELS.get(getattr(value, "value", value), value),
    credential_status=lambda value: thai.CREDENTIAL_STATUSES.get(
        getattr(value, "value", value), value
    ),
    job_state=lambda value: JOB_STATES_TH.get(value, value),
)
_env.globals.update(
    STAGES=thai.STAGES,
    INBOX_STATES=thai.INBOX_STATES,
    ROLES=thai.ROLES,
    CSRF_FIELD=sessions.CSRF_FIELD,
    THAI_MONTHS=thai.THAI_MONTHS,
)


def csrf_for(request: Request) -> str:
    settings = request.app.state.settings
    return sessions.csrf_token(settings.secret, request.cookies.get(sessions.COOKIE_NAME, ""))


def _org_name(request: Request, who: Principal | None) -> str:
    """The masthead's organisation: the visitor's college, else OVEC."""
    if who is None or who.college_code is None:
        return ""
    if who.kind == SessionKind.COLLEGE:
        return who.name
    with Session(request.app.state.engine) as session:
        college = session.get(College, who.college_code)
    return college.name if college else ""


def nav_for(who: Principal | None) -> list[tuple[str, str]]:
    """The main menu: what this kind of user does."""
    if who is None or who.must_change_password:
        return []
    if who.kind == SessionKind.OVEC:
        return [
            ("/ovec", "หนังสือเวียนที่ส่ง"),
            ("/ovec/tracking", "ติดตามสถานะ"),
            ("/ovec/jobs", "งานจัดทำหนังสือเวียน"),
            ("/drafts", "หนังสือส่ง"),
            ("/received", "หนังสือรับ"),
            ("/password", "เปลี่ยนรหัสผ่าน"),
        ]
    items = [("/inbox", "หนังสือเข้า")]
    if who.kind == SessionKind.COLLEGE or who.role in REGISTRAR_ROLES:
        items.append(("/receipts/new", "ลงรับหนังสือ"))
    items.append(("/drafts", "หนังสือส่ง"))
    if who.kind == SessionKind.COLLEGE:
        items.append(("/staff", "บุคลากร"))
    else:
        items.append(("/password", "เปลี่ยนรหัสผ่าน"))
    return items


def page(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    who: Principal | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A rendered page; a pending flash message is shown once and its cookie cleared."""
    flash = request.cookies.get(FLASH_COOKIE)
    values: dict[str, Any] = {
        "who": who,
        "csrf": csrf_for(request) if who is not None else "",
        "flash": unquote(flash)[:300] if flash else None,
        "path": request.url.path,
        "nav": nav_for(who),
        "org_name": _org_name(request, who),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request,
        name,
        values,
        status_code=status_code,
        headers={**NO_STORE, **SECURITY, **(headers or {})},
    )
    if flash:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    """303 See Other (after a POST), with a message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(
            FLASH_COOKIE, quote(flash), max_age=60, path="/", httponly=True, samesite="lax"
        )
    return response
