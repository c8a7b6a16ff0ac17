"""OVEC's pages: the mailouts, and a per-college status table with its filters (not received,
not decided, overdue) and CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from saraban.services import tracking
from saraban.services.tracking import TrackingFilter
from saraban.web.deps import EngineDep, OvecUser, SessionDep
from saraban.web.pages.render import page

router = APIRouter(prefix="/ovec", include_in_schema=False)
CollegeCode = Annotated[str, Path(min_length=1, max_length=20)]
Text = Annotated[str, Query(max_length=255)]
PAGE_SIZE = 100
# The status table's views: the three filters first, then each stage.
VIEWS: dict[str, str] = {
    "": "ทุกสถานะ",
    "not_received": "ยังไม่ลงรับ",
    "not_decided": "ยังไม่สั่งการ",
    "overdue": "เกินกำหนด",
    "received": "ลงรับแล้ว",
    "routed": "อยู่ระหว่างเสนอ",
    "decided": "สั่งการแล้ว",
    "completed": "เสร็จสิ้น",
}


@dataclass(frozen=True)
class StatusQuery:
    """The table's filters as the form and the links carry them."""

    view: str = ""
    mailout_id: int | None = None
    college: str = ""
    province: str = ""

    def filters(self) -> TrackingFilter:
        base: dict[str, Any] = {
            "mailout_id": self.mailout_id,
            "college": self.college or None,
            "province": self.province or None,
        }
        if self.view == "not_received":
            return TrackingFilter(**base, stage="delivered")
        if self.view == "not_decided":
            return TrackingFilter(**base, decided=False)
        if self.view == "overdue":
            return TrackingFilter(**base, overdue=True)
        if self.view in ("received", "routed", "decided", "completed"):
            return TrackingFilter(**base, stage=self.view)
        return TrackingFilter(**base)

    def link(self, **changes: Any) -> str:
        values = {
            "view": self.view,
            "mailout_id": self.mailout_id or "",
            "college": self.college,
            "province": self.province,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 0)})


def status_query(
    view: Text = "", mailout_id: Text = "", college: Text = "", province: Text = ""
) -> StatusQuery:
    """The table's filters from the query string; an unknown view is left out, and a value the
    API's filter (TrackingFilter) refuses is a 422 naming it."""
    number = mailout_id.strip()
    if number and not (number.isascii() and number.isdecimal()):
        raise query_error("mailout_id", number, "must be a whole number (0-9)")
    query = StatusQuery(
        view=view if view in VIEWS else "",
        mailout_id=int(number) or None if number else None,
        college=" ".join(college.split())[:255],
        province=" ".join(province.split())[:100],
    )
    try:
        query.filters()  # the same checks as the API's
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("query", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    return query


def query_error(field: str, value: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        [{"loc": ("query", field), "msg": message, "type": "value_error", "input": value}]
    )


QueryDep = Annotated[StatusQuery, Depends(status_query)]


@router.get("")
def mailouts(request: Request, who: OvecUser, db: SessionDep) -> Response:
    context = {"mailouts": tracking.mailouts(db, who=who)}
    return page(request, "ovec_mailouts.html", context, who=who)


@router.get("/tracking")
def status_table(
    request: Request,
    who: OvecUser,
    db: SessionDep,
    query: QueryDep,
    start: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    found = tracking.tracking(db, who=who, filters=query.filters(), limit=PAGE_SIZE, offset=start)
    context = {
        "query": query,
        "views": VIEWS,
        "rows": found.rows,
        "total": found.total,
        "start": start,
        "page_size": PAGE_SIZE,
        "mailouts": tracking.mailouts(db, who=who),
    }
    return page(request, "ovec_tracking.html", context, who=who)


@router.get("/tracking.csv")
def status_csv(
    who: OvecUser,
    db: SessionDep,
    engine: EngineDep,
    query: QueryDep,
) -> Response:
    """The rows of the view as CSV for Excel (UTF-8 with BOM), as the API gives them."""
    data = tracking.export_csv(db, engine, who=who, filters=query.filters())
    name = f"tracking-{query.view or 'all'}.csv"
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
