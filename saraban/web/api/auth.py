"""Logging in and out, the session, password changes, and e-MVS's credential check."""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from saraban.domain.principal import Principal
from saraban.services import accounts, credentials
from saraban.services.accounts import LoginResult
from saraban.services.sessions import csrf_token
from saraban.storage.models import CleanStr
from saraban.web.deps import (
    ClientDep,
    CsrfToken,
    CurrentUser,
    EngineDep,
    SessionDep,
    SettingsDep,
    clear_session_cookie,
    device_of,
    run_password_check,
    set_device_cookie,
    set_session_cookie,
)

router = APIRouter(tags=["session"])


class LoginIn(BaseModel):
    username: CleanStr = Field(
        min_length=1, max_length=100, description="college code, handle@college-code, or OVEC"
    )
    password: CleanStr = Field(min_length=1, max_length=256)


class SessionOut(BaseModel):
    kind: str
    username: str
    name: str
    college_code: str | None
    role: str | None
    must_change_password: bool
    csrf_token: str = Field(description="send as X-CSRF-Token with every state-changing request")


class PasswordChangeIn(BaseModel):
    current_password: CleanStr = Field(min_length=1, max_length=256)
    new_password: CleanStr = Field(min_length=1, max_length=256)


class VerifyIn(BaseModel):
    code: CleanStr = Field(min_length=1, max_length=20, description="the college's 10-digit code")
    password: CleanStr = Field(min_length=1, max_length=256)


class VerifyOut(BaseModel):
    valid: bool


def _session_out(who: Principal, csrf: str) -> SessionOut:
    return SessionOut(
        kind=who.kind.value,
        username=who.username,
        name=who.name,
        college_code=who.college_code,
        role=who.role,
        must_change_password=who.must_change_password,
        csrf_token=csrf,
    )


def _started(
    result: LoginResult, response: Response, settings: SettingsDep, client: ClientDep
) -> SessionOut:
    set_session_cookie(response, result.token, settings, client)
    return _session_out(result.principal, csrf_token(settings.secret, result.token))


THROTTLED = {429: {"description": "too many failed attempts; see Retry-After"}}


@router.post("/login", responses={401: {"description": "wrong username or password"}, **THROTTLED})
async def login(
    body: LoginIn,
    request: Request,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
    client: ClientDep,
) -> SessionOut:
    """Log in: a college with its code and slip password, staff as handle@college-code. A
    right password also sets a device cookie, which lets this device log in to the account
    while others' failures hold it (see saraban.services.throttle)."""
    work = partial(
        accounts.login,
        engine,
        settings,
        username=body.username,
        password=body.password,
        client=client,
        device=device_of(request),
    )
    result = await run_password_check(work)
    set_device_cookie(response, result.device, settings, client)
    return _started(result, response, settings, client)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(who: CurrentUser, db: SessionDep, response: Response) -> None:
    accounts.logout(db, who=who)
    clear_session_cookie(response)


@router.get("/session")
def get_session(who: CurrentUser, csrf: CsrfToken) -> SessionOut:
    return _session_out(who, csrf)


@router.post("/session/password", responses=THROTTLED)
def change_password(
    body: PasswordChangeIn,
    who: CurrentUser,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
    client: ClientDep,
) -> SessionOut:
    """Change one's own password (required at a first login); every other session ends."""
    result = accounts.change_password(
        engine,
        settings,
        who=who,
        current=body.current_password,
        new=body.new_password,
        client=client,
    )
    return _started(result, response, settings, client)


@router.post("/credentials/verify", tags=["e-MVS"], responses=THROTTLED)
async def verify_credential(
    body: VerifyIn, engine: EngineDep, settings: SettingsDep, client: ClientDep
) -> VerifyOut:
    """Whether a college's code and password are its live credential (for e-MVS); throttled
    like logging in, with budgets of its own (it never locks the web's logins)."""
    work = partial(
        credentials.verify, engine, settings, code=body.code, password=body.password, client=client
    )
    verdict = await run_password_check(work)
    return VerifyOut(valid=verdict.ok)
