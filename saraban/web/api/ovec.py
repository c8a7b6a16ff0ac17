"""OVEC's tracking of its mailouts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from saraban.services import tracking
from saraban.services.tracking import MailoutSummary, TrackingFilter, TrackingPage
from saraban.web.deps import ActiveUser, EngineDep, SessionDep

router = APIRouter(tags=["OVEC"])


@router.get("/mailouts")
def mailouts(who: ActiveUser, db: SessionDep) -> list[MailoutSummary]:
    """Every mailout with how many colleges are at each stage, and how many are overdue."""
    return tracking.mailouts(db, who=who)


@router.get("/tracking")
def tracking_rows(
    who: ActiveUser,
    db: SessionDep,
    filters: Annotated[TrackingFilter, Query()],
    limit: Annotated[int, Query(ge=1, le=tracking.MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TrackingPage:
    """For each mailout and college: delivered, received, routed, decided, or overdue."""
    return tracking.tracking(db, who=who, filters=filters, limit=limit, offset=offset)


@router.get(
    "/tracking.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM"}},
)
def tracking_csv(
    who: ActiveUser,
    db: SessionDep,
    engine: EngineDep,
    filters: Annotated[TrackingFilter, Query()],
) -> Response:
    """The same rows as CSV for Excel (recorded in the audit log)."""
    data = tracking.export_csv(db, engine, who=who, filters=filters)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="tracking.csv"'},
    )
