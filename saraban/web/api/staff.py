"""A college's staff, managed by the college's own account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, status
from pydantic import BaseModel, Field

from saraban.services import accounts
from saraban.storage.models import Account, StaffCreate, StaffPublic, StaffUpdate
from saraban.web.deps import ActiveUser, SessionDep, SettingsDep

router = APIRouter(prefix="/staff", tags=["staff"])
StaffId = Annotated[int, Path(ge=1, le=2_147_483_647)]
NOT_YOURS = {404: {"description": "no such member of staff in your college"}}


class StaffWithPassword(BaseModel):
    staff: StaffPublic
    initial_password: str | None = Field(
        description="a generated first password, shown this once; the first login changes it"
    )


def _public(account: Account) -> StaffPublic:
    return StaffPublic.model_validate(account, from_attributes=True)


@router.get("")
def list_staff(who: ActiveUser, db: SessionDep) -> list[StaffPublic]:
    return [_public(a) for a in accounts.list_staff(db, who=who)]


@router.post("", status_code=status.HTTP_201_CREATED, responses={409: {"description": "taken"}})
def create_staff(
    body: StaffCreate, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> StaffWithPassword:
    account, password = accounts.create_staff(db, who=who, data=body, settings=settings)
    return StaffWithPassword(staff=_public(account), initial_password=password)


@router.get("/{staff_id}", responses=NOT_YOURS)
def get_staff(staff_id: StaffId, who: ActiveUser, db: SessionDep) -> StaffPublic:
    return _public(accounts.get_staff(db, who=who, staff_id=staff_id))


@router.patch("/{staff_id}", responses=NOT_YOURS)
def update_staff(
    staff_id: StaffId, body: StaffUpdate, who: ActiveUser, db: SessionDep
) -> StaffPublic:
    return _public(accounts.update_staff(db, who=who, staff_id=staff_id, data=body))


@router.post("/{staff_id}/password-reset", responses=NOT_YOURS)
def reset_password(
    staff_id: StaffId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> StaffWithPassword:
    """A new temporary password; the member's sessions end."""
    account, password = accounts.reset_staff_password(
        db, who=who, staff_id=staff_id, settings=settings
    )
    return StaffWithPassword(staff=_public(account), initial_password=password)
