"""Routing a letter an organisation received through saraban (a reply in OVEC's หนังสือรับ)
to a decision, with the endorsement engine's rules (saraban.domain.routing) and its stored
forms (saraban.services.endorsement): the same notes with proposals, the same decisions, the
same turns. OVEC's staff are the organisation's members, with their roles in OVEC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from saraban.domain import routing
from saraban.domain.errors import Conflict, Invalid
from saraban.domain.principal import Principal
from saraban.domain.routing import (
    Decision,
    Event,
    Note,
    Proposal,
    Route,
    RouteState,
    RoutingError,
    Staff,
    Step,
)
from saraban.services import audit, endorsement, organisations, replies
from saraban.services.endorsement import DecisionIn, NoteIn, RoutePlan, RouteView
from saraban.services.replies import OrgReceiptView
from saraban.storage.models import LetterRoute, OrgRoute, OrgRouteEvent, RouteEvent, utcnow

_TURN_FIELDS = frozenset({"by", "status", "event", "at", "signature.acting"})


class ReceivedDetail(BaseModel):
    item: OrgReceiptView
    route: RouteView | None


def _staff(session: Session, who: Principal) -> dict[int, Staff]:
    org = organisations.organisation_of(session, who)
    out = {}
    for m in organisations.members(session, org):
        out[m.id] = Staff(
            id=m.id,
            name=m.name,
            position=m.position or "เจ้าหน้าที่",
            role=m.role,  # type: ignore[arg-type]
            acting=m.acting,
            acting_for=m.acting_for,
        )
    return out


def _events(session: Session, item_id: int) -> list[OrgRouteEvent]:
    query = select(OrgRouteEvent).where(OrgRouteEvent.org_receipt_id == item_id)
    return list(session.exec(query.order_by(col(OrgRouteEvent.seq))))


def _replay(row: OrgRoute, stored: Iterable[OrgRouteEvent]) -> RouteState:
    route = Route(tuple(Step(s["order"], s["staff_id"], s["kind"]) for s in row.steps))
    roster = [Staff(**member) for member in row.roster]
    events = [endorsement.event_from(e.kind, e.payload) for e in stored]
    return routing.replay(route, roster, events)


def _view(row: OrgRoute, state: RouteState, stored: list[OrgRouteEvent]) -> RouteView:
    """The endorsement engine's view, over this route's rows."""
    as_letter = LetterRoute(
        receipt_id=row.org_receipt_id,
        college_code="",
        steps=row.steps,
        roster=row.roster,
        status=row.status,
        decision=row.decision,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        planned_by=row.planned_by,
    )
    events = [
        RouteEvent(
            receipt_id=row.org_receipt_id,
            seq=e.seq,
            kind=e.kind,
            staff_id=e.staff_id,
            at=e.at,
            payload=e.payload,
        )
        for e in stored
    ]
    return endorsement.route_view(as_letter, state, events)


def detail(session: Session, *, who: Principal, item_id: int) -> ReceivedDetail:
    item = replies.get(session, who=who, item_id=item_id)
    row = session.get(OrgRoute, item.id)
    route = None
    if row is not None:
        stored = _events(session, row.org_receipt_id)
        route = _view(row, _replay(row, stored), stored)
    return ReceivedDetail(item=replies.view(item), route=route)


def plan(session: Session, *, who: Principal, item_id: int, data: RoutePlan) -> RouteView:
    """Who writes notes in which order, and who decides (OVEC's staff)."""
    item = replies.get(session, who=who, item_id=item_id)
    if session.get(OrgRoute, item.id) is not None:
        raise Conflict("เสนอแล้ว / this letter is already routed")
    staff = _staff(session, who)
    for i, step in enumerate(data.steps):
        if step.staff_id not in staff:
            raise Invalid(f"steps[{i}].staff_id", f"no member of staff {step.staff_id} here")
    try:
        route = Route(tuple(Step(s.order, s.staff_id, s.kind) for s in data.steps))
        members = {s.assignee: staff[s.assignee] for s in route.steps}
        state = routing.start(route, members.values())
    except RoutingError as exc:
        raise Invalid(exc.field, exc.message) from None
    now = utcnow()
    row = OrgRoute(
        org_receipt_id=item.id or 0,
        steps=[{"order": s.order, "staff_id": s.assignee, "kind": s.kind} for s in route.steps],
        roster=[endorsement._staff_json(m) for m in members.values()],
        status=routing.status(state),
        planned_at=now,
        planned_by=who.actor,
        updated_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("เสนอแล้ว / this letter is already routed") from None
    audit.record(session, "route", who.actor, f"org_receipt:{item.id}", {"steps": row.steps})
    return _view(row, state, [])


def _act(session: Session, who: Principal, item_id: int, build: endorsement.Build) -> RouteView:
    item = replies.get(session, who=who, item_id=item_id)
    if who.account_id is None:
        raise Invalid(None, "เฉพาะบุคลากร / only a member of staff signs")
    row = session.exec(
        select(OrgRoute).where(OrgRoute.org_receipt_id == item.id).with_for_update()
    ).one_or_none()
    if row is None:
        raise Conflict("ยังไม่ได้เสนอ / this letter has not been routed yet")
    stored = _events(session, row.org_receipt_id)
    state = _replay(row, stored)
    staff_id = who.account_id
    if staff_id not in state.roster:
        raise Conflict("ไม่ใช่ผู้รับผิดชอบ / not assigned: no step on this route is yours")
    now = utcnow()
    seq = len(state.events) + 1
    try:
        event = build(state.roster[staff_id], now, seq)
        state = routing.apply(state, event)
    except RoutingError as exc:
        if exc.field in _TURN_FIELDS:
            raise Conflict(exc.message) from None
        raise Invalid(exc.field, exc.message) from None
    kind = "note" if isinstance(event, Note) else "decision"
    payload = endorsement.event_payload(event)
    new = OrgRouteEvent(
        org_receipt_id=row.org_receipt_id,
        seq=seq,
        kind=kind,
        staff_id=staff_id,
        at=now,
        payload=payload,
    )
    session.add(new)
    final = routing.final_decision(state)
    if final is not None and row.decided_at is None:
        extra = final.people if final.kind in ("แจ้ง", "มอบ") else ""
        row.decision = f"{final.kind} {extra}".strip()
        sig = final.signature
        row.decided_by = " ".join(
            p for p in (sig.name, sig.position, sig.acting, sig.acting_for) if p
        )
        row.decided_at = final.at
    row.status = routing.status(state)
    row.updated_at = now
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("มีผู้ดำเนินการพร้อมกัน / someone acted at the same moment") from None
    audit.record(session, kind, who.actor, f"org_receipt:{item.id}", {"seq": seq, **payload})
    return _view(row, state, [*stored, new])


def add_note(session: Session, *, who: Principal, item_id: int, data: NoteIn) -> RouteView:
    def build(member: Staff, now: datetime, seq: int) -> Event:
        return Note(
            id=f"note-{seq}",
            to_position=data.to_position,
            summary=data.summary,
            proposals=tuple(Proposal(p.kind, p.text) for p in data.proposals),
            amends=data.amends,
            signature=member.sign(now),
        )

    return _act(session, who, item_id, build)


def decide(session: Session, *, who: Principal, item_id: int, data: DecisionIn) -> RouteView:
    if data.assignees or data.return_to is not None:
        raise Invalid("assignees", "OVEC's decision names people in its text only")

    def build(member: Staff, now: datetime, seq: int) -> Event:
        return Decision(
            kind=data.kind,
            signature=member.sign(now),
            people=data.people,
            assignees=(),
            reason=data.reason,
            return_to=None,
        )

    return _act(session, who, item_id, build)
