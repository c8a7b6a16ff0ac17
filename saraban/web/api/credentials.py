"""OVEC's actions on a college's credential: reissue (the new password in this one answer)
and void, each with a reason; and the staff accounts made since the previous credential,
which OVEC (or the college's own account) may switch off."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from saraban.services import accounts, credentials
from saraban.storage.models import CleanStr, CredentialPublic, StaffPublic
from saraban.web.deps import ActiveUser, EngineDep, SessionDep, SettingsDep

router = APIRouter(prefix="/colleges/{code}/credential", tags=["OVEC"])
CollegeCode = Annotated[
    str, Path(min_length=1, max_length=20, description="the college's 10-digit code")
]
StaffId = Annotated[int, Path(ge=1, le=2_147_483_647)]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
REFUSED = {
    403: {"description": "for OVEC staff only"},
    404: {"description": "no such college (or, to a college, not its own)"},
    409: {"description": "the college has no live credential"},
}


class ReasonIn(BaseModel):
    reason: CleanStr = Field(
        min_length=1, max_length=credentials.MAX_REASON, description="why (recorded)"
    )


class ReissuedOut(BaseModel):
    code: str
    college_name: str
    password: str = Field(description="the new password, shown this once and stored nowhere")
    credential: CredentialPublic


@router.post("/reissue", responses=REFUSED)
def reissue(
    code: CollegeCode,
    body: ReasonIn,
    who: ActiveUser,
    response: Response,
    engine: EngineDep,
    settings: SettingsDep,
) -> ReissuedOut:
    """Void the college's credential and issue a new one; the college's sessions end. The
    answer is the only place the new password appears (``Cache-Control: no-store``)."""
    response.headers.update(NO_STORE)
    new = credentials.reissue(
        engine, who=who, code=code, reason=body.reason, hashing=settings.hashing
    )
    return ReissuedOut(
        code=new.code,
        college_name=new.college_name,
        password=new.password,
        credential=new.credential,
    )


@router.post("/void", responses=REFUSED)
def void(code: CollegeCode, body: ReasonIn, who: ActiveUser, engine: EngineDep) -> CredentialPublic:
    """Void the college's credential: it no longer logs in, and its sessions end."""
    return credentials.void(engine, who=who, code=code, reason=body.reason)


@router.get("/staff", responses=REFUSED)
def staff_since_previous(code: CollegeCode, who: ActiveUser, db: SessionDep) -> list[StaffPublic]:
    """The college's staff accounts made since its previous credential was issued: whoever
    held that slip may have made them. For OVEC, and for the college's own account."""
    return [
        StaffPublic.model_validate(a, from_attributes=True)
        for a in accounts.staff_since_previous(db, who=who, code=code)
    ]


@router.post("/staff/{staff_id}/switch-off", responses=REFUSED)
def switch_off(
    code: CollegeCode, staff_id: StaffId, who: ActiveUser, db: SessionDep
) -> StaffPublic:
    """Switch off a member of the college's staff: no login, every session of theirs ends."""
    account = accounts.switch_off_staff(db, who=who, code=code, staff_id=staff_id)
    return StaffPublic.model_validate(account, from_attributes=True)
