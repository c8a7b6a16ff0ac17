"""OVEC's view of its mailouts: for each mailout and college, how far the letter has got.

Stages, in order: ``pending`` (bundle not yet made), ``delivered``, ``received`` (registered,
with its receipt number and time), ``routed``, ``decided`` (what, by whom, when; waiting for
acknowledgements) and ``completed``. A letter is ``overdue`` when the mailout's due date has
passed (in Thailand) and the college has not decided yet. The stage and the overdue flag are
computed by the database, so filters and pages agree with what is shown. ``decided=False`` is
the issue's "not decided" (ยังไม่สั่งการ): every letter without a decision yet, whatever its
stage before one (the same letters ``overdue`` counts once the due date has passed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from saraban.domain import principal
from saraban.domain.numbering import receipt_number
from saraban.domain.principal import Principal
from saraban.domain.spreadsheet import safe_cell
from saraban.domain.vocabulary import BANGKOK, bangkok_today
from saraban.services import audit
from saraban.services.receipts import DELIVERED
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    CleanStr,
    College,
    DbInt,
    LetterRoute,
    Mailout,
    MailoutItem,
    Receipt,
)

Stage = Literal["pending", "delivered", "received", "routed", "decided", "completed"]
STAGES: tuple[Stage, ...] = ("pending", "delivered", "received", "routed", "decided", "completed")
MAX_PAGE = 1000
CSV_FIELDS = (
    ("mailout", "หนังสือ (mailout)"),
    ("reference", "ที่"),
    ("college_code", "รหัสสถานศึกษา"),
    ("college_name", "สถานศึกษา"),
    ("province", "จังหวัด"),
    ("stage", "สถานะ (stage)"),
    ("delivered_at", "ส่งถึง (delivered)"),
    ("receipt_number", "เลขรับ"),
    ("received_at", "รับเมื่อ (received)"),
    ("decision", "สั่งการ (decision)"),
    ("decided_by", "ผู้สั่งการ (by)"),
    ("decided_at", "สั่งการเมื่อ (decided)"),
    ("due_date", "กำหนด (due)"),
    ("overdue", "เกินกำหนด (overdue)"),
)


class TrackingFilter(BaseModel):
    mailout_id: DbInt | None = None
    college: CleanStr | None = Field(
        default=None, max_length=255, description="code, or part of name"
    )
    province: CleanStr | None = Field(default=None, max_length=100)
    stage: Stage | None = None
    decided: bool | None = Field(
        default=None, description="false: not decided yet (ยังไม่สั่งการ), at any earlier stage"
    )
    overdue: bool | None = None


class TrackingRow(BaseModel):
    mailout_id: int
    mailout_name: str
    reference: str | None
    college_code: str
    college_name: str
    province: str | None
    stage: Stage
    delivered_at: datetime | None
    receipt_id: int | None
    receipt_number: str | None
    received_at: datetime | None
    route_status: str | None
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None
    due_date: date | None
    overdue: bool


class TrackingPage(BaseModel):
    total: int
    rows: list[TrackingRow]


class MailoutSummary(BaseModel):
    id: int
    name: str
    subject: str
    reference: str | None
    due_date: date | None
    state: str
    colleges: int
    stages: dict[str, int] = Field(description="colleges at each stage")
    overdue: int


def _stage() -> Any:
    return sa.case(
        (col(MailoutItem.state) != DELIVERED, "pending"),
        (col(Receipt.id).is_(None), "delivered"),
        (col(LetterRoute.receipt_id).is_(None), "received"),
        (col(LetterRoute.decided_at).is_(None), "routed"),
        (col(LetterRoute.status) != "completed", "decided"),
        else_="completed",
    )


def _overdue(today: date) -> Any:
    return sa.case(
        (
            sa.and_(
                col(Mailout.due_date).is_not(None),
                col(Mailout.due_date) < today,
                col(LetterRoute.decided_at).is_(None),
            ),
            1,
        ),
        else_=0,
    )


def _joined(query: Any) -> Any:
    return (
        query.select_from(MailoutItem)
        .join(Mailout, col(Mailout.id) == col(MailoutItem.mailout_id))
        .join(College, col(College.code) == col(MailoutItem.college_code))
        .outerjoin(Receipt, col(Receipt.mailout_item_id) == col(MailoutItem.id))
        .outerjoin(LetterRoute, col(LetterRoute.receipt_id) == col(Receipt.id))
    )


def _filtered(query: Any, filters: TrackingFilter, today: date) -> Any:
    if filters.mailout_id is not None:
        query = query.where(MailoutItem.mailout_id == filters.mailout_id)
    if filters.college:
        text = filters.college.strip()
        query = query.where(
            sa.or_(
                col(College.code) == text,
                col(College.name).contains(text, autoescape=True),
            )
        )
    if filters.province:
        query = query.where(College.province == filters.province.strip())
    if filters.stage is not None:
        query = query.where(_stage() == filters.stage)
    if filters.decided is not None:
        decided_at = col(LetterRoute.decided_at)
        query = query.where(decided_at.is_not(None) if filters.decided else decided_at.is_(None))
    if filters.overdue is not None:
        query = query.where(_overdue(today) == (1 if filters.overdue else 0))
    return query


def _rows(
    session: Session, filters: TrackingFilter, today: date, limit: int | None, offset: int
) -> Iterator[TrackingRow]:
    query = _joined(
        select(
            Mailout.id,
            Mailout.name,
            MailoutItem.reference,
            College.code,
            College.name,
            College.province,
            _stage(),
            MailoutItem.issued_at,
            Receipt.id,
            Receipt.number,
            Receipt.year_be,
            Receipt.received_at,
            LetterRoute.status,
            LetterRoute.decision,
            LetterRoute.decided_by,
            LetterRoute.decided_at,
            Mailout.due_date,
            _overdue(today),
        )
    )
    query = _filtered(query, filters, today).order_by(
        col(Mailout.id).desc(), col(MailoutItem.college_code)
    )
    if limit is not None:
        query = query.limit(limit).offset(offset)
    for row in session.exec(query):
        (mid, mname, ref, code, cname, province, stage, issued_at, rid, number, year) = row[:11]
        (received_at, route_status, decision, decided_by, decided_at, due, overdue) = row[11:]
        yield TrackingRow(
            mailout_id=mid,
            mailout_name=mname,
            reference=ref,
            college_code=code,
            college_name=cname,
            province=province,
            stage=stage,
            delivered_at=issued_at,
            receipt_id=rid,
            receipt_number=receipt_number(number, year) if rid is not None else None,
            received_at=received_at,
            route_status=route_status,
            decision=decision,
            decided_by=decided_by,
            decided_at=decided_at,
            due_date=due,
            overdue=bool(overdue),
        )


def tracking(
    session: Session,
    *,
    who: Principal,
    filters: TrackingFilter,
    limit: int = 100,
    offset: int = 0,
    today: date | None = None,
) -> TrackingPage:
    principal.ovec(who)
    today = today or bangkok_today()
    limit = max(1, min(limit, MAX_PAGE))
    count = _filtered(_joined(select(func.count())), filters, today)
    total = session.exec(count).one()
    return TrackingPage(
        total=total, rows=list(_rows(session, filters, today, limit, max(0, offset)))
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "ใช่" if value else ""
    if isinstance(value, datetime):
        return value.astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def export_csv(
    session: Session, engine: Engine, *, who: Principal, filters: TrackingFilter
) -> bytes:
    """Every row the filters select, as CSV (UTF-8 with BOM: Excel opens the Thai), times in
    Thailand. The export is in the audit log before the data leaves."""
    principal.ovec(who)
    rows = list(_rows(session, filters, bangkok_today(), None, 0))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(title) for _, title in CSV_FIELDS])
    for row in rows:
        data = row.model_dump()
        data["mailout"] = row.mailout_name
        writer.writerow([safe_cell(_cell(data[name])) for name, _ in CSV_FIELDS])
    with session_scope(engine, immediate=True) as log_session:
        details = {"filters": filters.model_dump(exclude_none=True), "rows": len(rows)}
        audit.record(log_session, "export", who.actor, "tracking", details)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def mailouts(
    session: Session, *, who: Principal, today: date | None = None
) -> list[MailoutSummary]:
    """Every mailout with how many colleges are at each stage."""
    principal.ovec(who)
    today = today or bangkok_today()
    # Grouped outside a subquery: PostgreSQL does not match a CASE with bound values in
    # GROUP BY to the same CASE in the select list.
    inner = _joined(
        select(
            col(Mailout.id).label("mailout_id"),
            _stage().label("stage"),
            _overdue(today).label("overdue"),
        )
    ).subquery()
    counts = session.exec(
        select(inner.c.mailout_id, inner.c.stage, func.sum(inner.c.overdue), func.count()).group_by(
            inner.c.mailout_id, inner.c.stage
        )
    ).all()
    summary: dict[int, dict[str, Any]] = {}
    for mailout_id, stage_name, overdue, n in counts:
        entry = summary.setdefault(mailout_id, {"stages": dict.fromkeys(STAGES, 0), "overdue": 0})
        entry["stages"][stage_name] = n
        entry["overdue"] += int(overdue or 0)
    result = []
    for mailout in session.exec(select(Mailout).order_by(col(Mailout.id).desc())):
        assert mailout.id is not None
        entry = summary.get(mailout.id, {"stages": dict.fromkeys(STAGES, 0), "overdue": 0})
        result.append(
            MailoutSummary(
                id=mailout.id,
                name=mailout.name,
                subject=mailout.subject,
                reference=mailout.reference,
                due_date=mailout.due_date,
                state=mailout.state,
                colleges=sum(entry["stages"].values()),
                stages=entry["stages"],
                overdue=entry["overdue"],
            )
        )
    return result
