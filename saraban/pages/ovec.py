"""OVEC's pages: the mailouts, and a per-college status table with its filters (not received,
not decided, overdue) and CSV download."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request, Response
from sqlmodel import Session

from saraban import tracking
from saraban.app import EngineDep, SessionDep
from saraban.pages.deps import OvecUser
from saraban.pages.render import page
from saraban.principal import Principal
from saraban.tracking import TrackingFilter, TrackingRow

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
UNDECIDED = ("delivered", "received", "routed")


@dataclass(frozen=True)
class StatusQuery:
    """The table's filters as the form and the links carry them."""

    view: str = ""
    mailout_id: int | None = None
    college: str = ""
    province: str = ""

    def filters(self) -> list[TrackingFilter]:
        """One filter, or several whose rows together make the view (not decided)."""
        base: dict[str, Any] = {
            "mailout_id": self.mailout_id,
            "college": self.college or None,
            "province": self.province or None,
        }
        if self.view == "not_received":
            return [TrackingFilter(**base, stage="delivered")]
        if self.view == "not_decided":
            return [TrackingFilter(**base, stage=stage) for stage in UNDECIDED]
        if self.view == "overdue":
            return [TrackingFilter(**base, overdue=True)]
        if self.view in ("received", "routed", "decided", "completed"):
            return [TrackingFilter(**base, stage=self.view)]
        return [TrackingFilter(**base)]

    def link(self, **changes: Any) -> str:
        values = {
            "view": self.view,
            "mailout_id": self.mailout_id or "",
            "college": self.college,
            "province": self.province,
            **changes,
        }
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 0)})


def _query(view: str, mailout_id: str, college: str, province: str) -> StatusQuery:
    return StatusQuery(
        view=view if view in VIEWS else "",
        mailout_id=int(mailout_id) if mailout_id.isdigit() and int(mailout_id) > 0 else None,
        college=" ".join(college.split())[:255],
        province=" ".join(province.split())[:100],
    )


def _order(row: TrackingRow) -> tuple[int, str]:
    return (-row.mailout_id, row.college_code)


def tracking_rows(
    db: Session, who: Principal, query: StatusQuery, offset: int
) -> tuple[int, list[TrackingRow]]:
    filters = query.filters()
    if len(filters) == 1:
        found = tracking.tracking(db, who=who, filters=filters[0], limit=PAGE_SIZE, offset=offset)
        return found.total, found.rows
    total, rows = 0, []
    for one in filters:
        found = tracking.tracking(db, who=who, filters=one, limit=tracking.MAX_PAGE)
        total += found.total
        rows += found.rows
    return total, sorted(rows, key=_order)[offset : offset + PAGE_SIZE]


@router.get("")
def mailouts(request: Request, who: OvecUser, db: SessionDep) -> Response:
    context = {"mailouts": tracking.mailouts(db, who=who)}
    return page(request, "ovec_mailouts.html", context, who=who)


@router.get("/tracking")
def status_table(
    request: Request,
    who: OvecUser,
    db: SessionDep,
    view: Text = "",
    mailout_id: Text = "",
    college: Text = "",
    province: Text = "",
    start: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    query = _query(view, mailout_id, college, province)
    total, rows = tracking_rows(db, who, query, start)
    context = {
        "query": query,
        "views": VIEWS,
        "rows": rows,
        "total": total,
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
    view: Text = "",
    mailout_id: Text = "",
    college: Text = "",
    province: Text = "",
) -> Response:
    """The rows of the view as CSV for Excel (UTF-8 with BOM), as the API gives them."""
    query = _query(view, mailout_id, college, province)
    parts = [tracking.export_csv(db, engine, who=who, filters=f) for f in query.filters()]
    data = parts[0]
    for more in parts[1:]:  # one header: the other parts' rows only
        data += more.split(b"\r\n", 1)[1]
    name = f"tracking-{query.view or 'all'}.csv"
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )
