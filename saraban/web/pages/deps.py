"""Who is asking, for the pages: the same session cookie as the API, with a CSRF token in a
hidden form field (``csrf_token``) instead of a header.

A page needs a login (else: the login page, then back), a changed first password (else: the
password page), and the right kind of user: a page of the wrong kind is ``404`` (NotYours),
so that nothing about other colleges or OVEC leaks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session
from starlette.datastructures import FormData

from saraban.domain.principal import Principal
from saraban.services import sessions
from saraban.storage.models import SessionKind, utcnow
from saraban.web.app import EngineDep, SettingsDep


class LoginRequired(Exception):
    """No live session: go to the login page, then come back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class PasswordChangeFirst(Exception):
    """A first login: the password must be changed before anything else."""


class NotYours(Exception):
    """A page for another kind of user: answered 404, like another college's letter."""


class BadCsrf(Exception):
    """A form without this session's CSRF token (an old tab, or another site's form)."""


def _next_url(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def signed_in(request: Request, settings: SettingsDep, engine: EngineDep) -> Principal:
    """The logged-in principal, even one who must still change their password."""
    token = request.cookies.get(sessions.COOKIE_NAME)
    now = utcnow()
    with Session(engine) as session:
        found = sessions.lookup(session, token=token, now=now, settings=settings)
    if found is None:
        raise LoginRequired(_next_url(request))
    who, due = found
    if due:
        sessions.touch(engine, who.session_id, now)
    return who


SignedIn = Annotated[Principal, Depends(signed_in)]


def page_user(who: SignedIn) -> Principal:
    if who.must_change_password:
        raise PasswordChangeFirst()
    return who


def college_user(who: Annotated[Principal, Depends(page_user)]) -> Principal:
    """A college's own account or a member of its staff."""
    if who.kind == SessionKind.OVEC or who.college_code is None:
        raise NotYours()
    return who


def college_account(who: Annotated[Principal, Depends(college_user)]) -> Principal:
    """The college's own account (it manages the staff)."""
    if who.kind != SessionKind.COLLEGE:
        raise NotYours()
    return who


def ovec_user(who: Annotated[Principal, Depends(page_user)]) -> Principal:
    if who.kind != SessionKind.OVEC:
        raise NotYours()
    return who


PageUser = Annotated[Principal, Depends(page_user)]
CollegeUser = Annotated[Principal, Depends(college_user)]
CollegeAccount = Annotated[Principal, Depends(college_account)]
OvecUser = Annotated[Principal, Depends(ovec_user)]


async def checked_form(request: Request, settings: SettingsDep) -> FormData:
    """The submitted form, once its CSRF field matches this session's token."""
    form = await request.form()
    token = request.cookies.get(sessions.COOKIE_NAME, "")
    supplied = form.get(sessions.CSRF_FIELD)
    if (
        not token
        or not isinstance(supplied, str)
        or not sessions.csrf_ok(settings.secret, token, supplied)
    ):
        raise BadCsrf()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]
