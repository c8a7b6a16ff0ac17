"""The request dependencies of the web service, for the JSON API and the pages alike: the
settings and engine, the request's database session, the client's address, who is logged in
(one lookup of the session cookie), and the CSRF checks. A leaf: it imports no route module,
so routes, pages and the app factory import it and not each other.

Transactions: ``SessionDep`` is one transaction per request, committed before the answer is
sent (``scope="function"``), and on SQLite ``BEGIN IMMEDIATE`` for anything but
GET/HEAD/OPTIONS, so that a read-then-write cannot fail halfway on a stale snapshot (see
:func:`signed_in_session` for where the session cookie is checked).

The pages need a login (else: the login page, then back), a changed first password (else: the
password page), and the right kind of user: a page of the wrong kind is ``404`` (NotYours), so
that nothing about other colleges or OVEC leaks. Their forms carry the CSRF token in a hidden
field (``csrf_token``), the API's requests in a header.
"""

from __future__ import annotations

import asyncio
import ipaddress
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import BackgroundTasks, Depends, Request, Response
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.datastructures import FormData

from saraban.domain import principal
from saraban.domain.errors import Forbidden, NotFound, PasswordChangeRequired, Unauthorized
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.services import sessions, throttle
from saraban.services.passwords import Client
from saraban.settings import Network, Settings
from saraban.storage.models import utcnow

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Dependencies that do no I/O are ``async def``: FastAPI runs them in the event loop instead
# of sending each to a worker thread.


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_engine(request: Request) -> Engine:
    return request.app.state.engine


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[Engine, Depends(get_engine)]


async def get_db(request: Request) -> AsyncIterator[Session]:
    """The request's session: committed when the route succeeds, rolled back when it fails.

    It connects lazily, in the worker thread of the first dependency or route that queries
    (``current_user``), so opening it costs no trip to the threadpool. Ending a read's
    transaction (GET, HEAD, OPTIONS) is done in the event loop: it waits for no lock and costs
    less than another trip; a write's commit, which may wait for the disk, runs in a worker
    thread of its own (as FastAPI does for a dependency's exit: it must not queue for the
    threadpool while holding a connection). A rollback never waits, so it is done in place.
    """
    safe = request.method in SAFE_METHODS
    bind = request.app.state.engine if safe else request.app.state.write_bind
    session = Session(bind, expire_on_commit=False)
    try:
        yield session
    except BaseException:
        session.close()  # rolls back
        raise
    if safe or not session.in_transaction():
        _commit_and_close(session)
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_commit_and_close, session, limiter=anyio.CapacityLimiter(1))


def _commit_and_close(session: Session) -> None:
    try:
        session.commit()
    finally:
        session.close()


# Requests using the database at once: more would only take turns at the GIL, each holding
# a connection; the rest wait in the event loop, holding neither a thread nor a connection.
DB_CONCURRENCY = 8
# Connections kept open: the requests' own, plus the short sessions of current_user (writes),
# the pages' login check and the background touch, so that none is opened per request.
POOL_SIZE = 2 * DB_CONCURRENCY
SessionDep = Annotated[Session, Depends(get_db, scope="function", max_concurrency=DB_CONCURRENCY)]


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_of(request: Request, proxies: tuple[Network, ...]) -> Client:
    """The client's address and scheme; X-Forwarded-For/-Proto count only from a trusted proxy,
    and the address is the nearest one not itself a trusted proxy."""
    address = request.client.host if request.client else "unknown"
    https = request.url.scheme == "https"
    if not _trusted(address, proxies):
        return Client(address, https)
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = hop
        if not _trusted(hop, proxies):
            break
    proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return Client(address[:64], proto == "https" if proto else https)


async def get_client(request: Request) -> Client:
    return client_of(request, request.app.state.proxies)


ClientDep = Annotated[Client, Depends(get_client)]


NOT_LOGGED_IN = "ยังไม่ได้เข้าสู่ระบบ / not logged in, or the session has ended"


def session_principal(
    request: Request, session: Session, settings: Settings
) -> tuple[Principal, bool] | None:
    """Who the session cookie names, and whether the session is due a touch: the one lookup
    of a login, for the API, the pages and the error pages (None: no live session)."""
    token = request.cookies.get(sessions.COOKIE_NAME)
    return sessions.lookup(session, token=token, now=utcnow(), settings=settings)


def logged_in(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
    background: BackgroundTasks,
) -> Principal | None:
    """The logged-in principal (None: nobody), once per request.

    A read looks the session up in the request's own transaction. A write looks it up in a
    short one of its own, so that the request's transaction (on SQLite, the write lock) starts
    only when the route needs it: routes that run their own transactions around slow work
    (logging in, changing a password) hold nothing meanwhile. A session due a touch is touched
    after the answer, when this request's connection is back in the pool.
    """
    if request.method in SAFE_METHODS:
        found = session_principal(request, db, settings)
    else:
        with Session(engine) as session:
            found = session_principal(request, session, settings)
    if found is None:
        return None
    who, due = found
    if due is not None:  # waiting for the write lock only when the idle end is near
        wait = due is sessions.Due.NOW
        background.add_task(sessions.touch, engine, who.session_id, utcnow(), wait=wait)
    return who


LoggedIn = Annotated[Principal | None, Depends(logged_in)]


def current_user(request: Request, who: LoggedIn, settings: SettingsDep) -> Principal:
    """The API's logged-in principal; state-changing requests must carry the session's CSRF
    token (header X-CSRF-Token)."""
    if who is None:
        raise Unauthorized(NOT_LOGGED_IN)
    if request.method not in SAFE_METHODS and not sessions.csrf_ok(
        settings.secret,
        request.cookies.get(sessions.COOKIE_NAME, ""),
        request.headers.get(sessions.CSRF_HEADER),
    ):
        raise Forbidden(f"CSRF token missing or wrong: send it in {sessions.CSRF_HEADER}")
    return who


async def csrf_of(request: Request, settings: SettingsDep) -> str:
    return sessions.csrf_token(settings.secret, request.cookies.get(sessions.COOKIE_NAME, ""))


CurrentUser = Annotated[Principal, Depends(current_user)]
CsrfToken = Annotated[str, Depends(csrf_of)]


async def _active(who: CurrentUser) -> Principal:
    return principal.active(who)


ActiveUser = Annotated[Principal, Depends(_active)]


def set_session_cookie(response: Response, token: str, settings: Settings, client: Client) -> None:
    secure = settings.cookie_secure if settings.cookie_secure is not None else client.https
    response.set_cookie(
        sessions.COOKIE_NAME,
        token,
        max_age=settings.session_max_hours * 3600,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(sessions.COOKIE_NAME, path="/", httponly=True, samesite="lax")


def set_device_cookie(
    response: Response, value: str | None, settings: Settings, client: Client
) -> None:
    """The device cookie after a right password (saraban.services.throttle): one cookie for
    the API's and the pages' logins alike (two of one name confuse clients' cookie jars)."""
    if not value:
        return
    secure = settings.cookie_secure if settings.cookie_secure is not None else client.https
    response.set_cookie(
        throttle.DEVICE_COOKIE,
        value,
        max_age=settings.device_days * 86400,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def device_of(request: Request) -> str | None:
    return request.cookies.get(throttle.DEVICE_COOKIE)


# Password checks (logins, e-MVS's checks) run in threads of their own, at most this many at
# once: a flood of logins waits in the event loop, holding no thread the pages and the API
# need, and computes at most this many hashes at a time.
PASSWORD_THREADS = 4
_password_limiters: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, anyio.CapacityLimiter
] = weakref.WeakKeyDictionary()
T = TypeVar("T")


async def run_password_check(work: Callable[[], T]) -> T:
    """``work`` (a login, a password check) in a password thread."""
    loop = asyncio.get_running_loop()
    limiter = _password_limiters.get(loop)
    if limiter is None:
        limiter = _password_limiters[loop] = anyio.CapacityLimiter(PASSWORD_THREADS)
    return await anyio.to_thread.run_sync(work, limiter=limiter)




# The pages' refusals: what the API answers as a status, the pages answer with a redirect or a
# page of their own (saraban.web.pages.errors).


class LoginRequired(Unauthorized):
    """No live session: go to the login page, then come back to ``next_url``."""

    def __init__(self, next_url: str) -> None:
        super().__init__(NOT_LOGGED_IN)
        self.next_url = next_url


class PasswordChangeFirst(PasswordChangeRequired):
    """A first login: the password must be changed before anything else."""


class NotYours(NotFound):
    """A page for another kind of user: answered 404, like another college's letter."""

    def __init__(self) -> None:
        super().__init__("not a page of yours")


class BadCsrf(Forbidden):
    """A form without this session's CSRF token (an old tab, or another site's form)."""

    def __init__(self) -> None:
        super().__init__("CSRF token missing or wrong")


def _next_url(request: Request) -> str:
    if request.method != "GET":
        return "/"
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"


def signed_in(request: Request, who: LoggedIn) -> Principal:
    """The logged-in principal of a page, even one who must still change their password."""
    if who is None:
        raise LoginRequired(_next_url(request))
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
