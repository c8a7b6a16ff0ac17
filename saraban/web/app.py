"""The web service: ``create_app(settings, engine)`` and the dependencies its routes share.

Routes stay thin: they take a principal (``CurrentUser``), a database session (``SessionDep``)
and validated input, call a function of the service layer (saraban.services: accounts,
receipts, endorsement, tracking), and shape its answer. The service layer raises
saraban.domain.errors, which are turned into HTTP answers here; server-rendered pages use the
same dependencies.

Transactions: ``SessionDep`` is one transaction per request, committed before the answer is
sent (``scope="function"``), and on SQLite ``BEGIN IMMEDIATE`` for anything but
GET/HEAD/OPTIONS, so that a read-then-write cannot fail halfway on a stale snapshot (see
``current_user`` for where the session cookie is checked).
"""

from __future__ import annotations

import gc
import ipaddress
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import BackgroundTasks, Depends, FastAPI, Request, Response
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session

from saraban.domain import principal
from saraban.domain.errors import Forbidden, Unauthorized
from saraban.domain.principal import Principal
from saraban.services import sessions
from saraban.services.passwords import Client
from saraban.settings import Network, Settings
from saraban.storage.engine import SQLITE_IMMEDIATE, database_url, make_engine
from saraban.storage.models import utcnow
from saraban.web.errors import install_api_errors

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
        await anyio.to_thread.run_sync(
            _commit_and_close, session, limiter=anyio.CapacityLimiter(1)
        )


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


def current_user(
    request: Request,
    db: SessionDep,
    settings: SettingsDep,
    engine: EngineDep,
    background: BackgroundTasks,
) -> Principal:
    """The logged-in principal; state-changing requests must carry the session's CSRF token
    (header X-CSRF-Token).

    A read looks the session up in the request's own transaction. A write looks it up in a
    short one of its own, so that the request's transaction (on SQLite, the write lock) starts
    only when the route needs it: routes that run their own transactions around slow work
    (logging in, changing a password) hold nothing meanwhile.
    """
    token = request.cookies.get(sessions.COOKIE_NAME)
    now = utcnow()
    safe = request.method in SAFE_METHODS
    if safe:
        found = sessions.lookup(db, token=token, now=now, settings=settings)
    else:
        with Session(engine) as session:
            found = sessions.lookup(session, token=token, now=now, settings=settings)
    if found is None or token is None:
        raise Unauthorized("ยังไม่ได้เข้าสู่ระบบ / not logged in, or the session has ended")
    who, due = found
    if not safe and not sessions.csrf_ok(
        settings.secret, token, request.headers.get(sessions.CSRF_HEADER)
    ):
        raise Forbidden(f"CSRF token missing or wrong: send it in {sessions.CSRF_HEADER}")
    if due:  # after the answer, when this request's connection is back in the pool
        background.add_task(sessions.touch, engine, who.session_id, now)
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


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    """The service over ``engine`` (default: the configured database, which must already be
    migrated)."""
    from saraban.web.api import router  # the routes import this module's dependencies

    settings = settings if settings is not None else Settings()
    app = FastAPI(
        title="saraban",
        version="0.1.0",
        summary="สารบรรณ: receipt, routing to the director's decision, and OVEC's tracking",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    if engine is None:
        url = make_url(database_url())
        in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
        engine = make_engine(url) if in_memory else make_engine(url, pool_size=POOL_SIZE)
    app.state.engine = engine
    # On SQLite, a write's transaction starts with BEGIN IMMEDIATE (see saraban.storage.engine).
    app.state.write_bind = engine.execution_options(**{SQLITE_IMMEDIATE: True})
    app.state.proxies = settings.proxy_networks()
    install_api_errors(app)
    app.include_router(router, prefix="/api")
    from saraban.web.pages import install_pages  # the server-rendered pages share this layer

    install_pages(app)
    return app


def served_app() -> FastAPI:
    """The app as each worker of ``saraban serve`` builds it (uvicorn's factory).

    Then the garbage collector is told to leave alone the objects that exist now (modules,
    routes, schemas, SQLAlchemy's mappers: some 170,000), which live as long as the process:
    otherwise each full collection walks them all and stops every request for some 100 ms,
    which is the p99."""
    app = create_app()
    gc.collect()
    gc.freeze()
    return app
