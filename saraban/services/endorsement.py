"""Routing a registered letter inside the college (เกษียนหนังสือ), kept in the database.

The rules are saraban.domain.routing's: this module stores a route as planned (``letter_route``) and
its events as signed (``route_event``, only ever appended), and rebuilds the state from them
with ``routing.replay`` whenever someone acts. Each act locks the route's row (SQLite: the
request's BEGIN IMMEDIATE), so two people acting at once are taken one after the other, each
against the state the other left.

The route's roster is its people as they were when it was planned; staff a decision names
later join it as they are then. A note is signed with the roster's name, position and acting
relation, and never changes: a correction is a new note that amends it.

A move the rules refuse *now* (out of turn, already acted, route completed) is a Conflict
(409); a wrong value (an unknown proposal, a decision without its people) is Invalid (422).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from saraban.domain import principal, routing
from saraban.domain.errors import Conflict, Invalid, Refused
from saraban.domain.principal import Principal
from saraban.domain.routing import (
    Acknowledgement,
    Decision,
    Event,
    Note,
    Proposal,
    Route,
    RouteState,
    RoutingError,
    Signature,
    Staff,
    Step,
)
from saraban.domain.vocabulary import ASSIGNING, DecisionKind, ProposalKind
from saraban.services import audit
from saraban.services.accounts import routing_staff
from saraban.services.receipts import ReceiptEntry, get_receipt, receipt_entry
from saraban.storage.models import (
    Account,
    AccountKind,
    CleanStr,
    DbInt,
    LetterRoute,
    Receipt,
    RouteEvent,
    VisibleStr,
    utcnow,
)

# RoutingError fields that mean "not now" rather than "not this value".
_TURN_FIELDS = frozenset({"by", "status", "event", "at", "signature.acting"})
_EVENT_KINDS: dict[type, str] = {
    Note: "note",
    Decision: "decision",
    Acknowledgement: "acknowledgement",
}


# --------------------------------------------------------------------------- #
# What callers hand in, and what they get back
# --------------------------------------------------------------------------- #


class StepIn(BaseModel):
    order: int = Field(ge=1, le=100, description="same order: in parallel")
    staff_id: DbInt
    kind: Literal["note", "decision"]


class RoutePlan(BaseModel):
    steps: list[StepIn] = Field(min_length=1, max_length=50)


class ProposalIn(BaseModel):
    kind: ProposalKind
    text: VisibleStr = Field(default="", max_length=500, description="whom, or the free text")


class NoteIn(BaseModel):
    to_position: VisibleStr = Field(default="ผู้อำนวยการ", min_length=1, max_length=255)
    summary: VisibleStr | None = Field(
        default=None, max_length=4000, description="ด้วย ... มาเพื่อ; none: a note that forwards"
    )
    proposals: list[ProposalIn] = Field(default_factory=list, max_length=10)
    amends: CleanStr | None = Field(default=None, max_length=40, description="the note corrected")


class DecisionIn(BaseModel):
    kind: DecisionKind
    people: VisibleStr = Field(default="", max_length=500, description="แจ้ง/มอบ: as written")
    assignees: list[DbInt] = Field(
        default_factory=list, max_length=50, description="แจ้ง/มอบ: staff who acknowledge"
    )
    reason: VisibleStr = Field(default="", max_length=2000, description="ส่งคืน: what more is wanted")
    return_to: DbInt | None = Field(default=None, description="ส่งคืน: whom it goes back to")


class StepView(BaseModel):
    order: int
    staff_id: int
    name: str
    position: str
    kind: str
    done: bool


class EventView(BaseModel):
    seq: int
    kind: str
    staff_id: int
    name: str
    at: datetime
    lines: list[str] = Field(description="as printed on the note sheet")
    payload: dict[str, Any]
    amended_by: str | None = Field(
        default=None, description="a note: the id of the later note that corrects it"
    )


class RouteView(BaseModel):
    receipt_id: int
    status: str
    steps: list[StepView]
    events: list[EventView]
    waiting_for: list[int] = Field(description="staff ids who may act now")
    may_amend: dict[int, list[str]] = Field(
        default_factory=dict,
        description="staff id: the ids of their signed notes they may correct now (on their "
        "open note step, with a note whose amends names one)",
    )
    decision: str | None
    decided_by: str | None
    decided_at: datetime | None


class ReceiptDetail(BaseModel):
    receipt: ReceiptEntry
    route: RouteView | None


class Task(BaseModel):
    receipt_id: int
    receipt_number: str
    subject: str
    step: str


# --------------------------------------------------------------------------- #
# Stored form of routes and events
# --------------------------------------------------------------------------- #


def _staff_json(member: Staff) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "position": member.position,
        "role": member.role,
        "acting": member.acting,
        "acting_for": member.acting_for,
    }


def _signature_json(signature: Signature) -> dict[str, Any]:
    return {
        "staff_id": signature.staff_id,
        "name": signature.name,
        "position": signature.position,
        "acting": signature.acting,
        "acting_for": signature.acting_for,
        "at": signature.at.isoformat(),
    }


def _signature(data: Mapping[str, Any]) -> Signature:
    return Signature(**{**data, "at": datetime.fromisoformat(data["at"])})


def event_payload(event: Event) -> dict[str, Any]:
    if isinstance(event, Note):
        return {
            "id": event.id,
            "to_position": event.to_position,
            "summary": event.summary,
            "proposals": [{"kind": p.kind, "text": p.text} for p in event.proposals],
            "amends": event.amends,
            "signature": _signature_json(event.signature),
        }
    if isinstance(event, Decision):
        return {
            "kind": event.kind,
            "people": event.people,
            "assignees": list(event.assignees),
            "reason": event.reason,
            "return_to": event.return_to,
            "signature": _signature_json(event.signature),
        }
    return {"by": event.by, "at": event.at.isoformat()}


def event_from(kind: str, payload: Mapping[str, Any]) -> Event:
    if kind == "note":
        return Note(
            id=payload["id"],
            to_position=payload["to_position"],
            summary=payload["summary"],
            proposals=tuple(Proposal(p["kind"], p["text"]) for p in payload["proposals"]),
            amends=payload["amends"],
            signature=_signature(payload["signature"]),
        )
    if kind == "decision":
        return Decision(
            kind=payload["kind"],
            people=payload["people"],
            assignees=tuple(payload["assignees"]),
            reason=payload["reason"],
            return_to=payload["return_to"],
            signature=_signature(payload["signature"]),
        )
    return Acknowledgement(by=payload["by"], at=datetime.fromisoformat(payload["at"]))


def _route(row: LetterRoute) -> Route:
    return Route(tuple(Step(s["order"], s["staff_id"], s["kind"]) for s in row.steps))


def _replay(row: LetterRoute, events: Iterable[RouteEvent]) -> RouteState:
    roster = [Staff(**member) for member in row.roster]
    return routing.replay(_route(row), roster, [event_from(e.kind, e.payload) for e in events])


def _refusal(exc: RoutingError) -> Refused:
    if exc.field in _TURN_FIELDS:
        return Conflict(exc.message)
    return Invalid(exc.field, exc.message)


def _signed_by(signature: Signature) -> str:
    parts = [signature.name, signature.position, signature.acting, signature.acting_for]
    return " ".join(p for p in parts if p)


def _decision_text(decision: Decision) -> str:
    extra = decision.people if decision.kind in ASSIGNING else ""
    return f"{decision.kind} {extra}".strip()


# --------------------------------------------------------------------------- #
# Views
# --------------------------------------------------------------------------- #


def _event_lines(event: Event, roster: Mapping[int, Staff]) -> list[str]:
    if isinstance(event, Note):
        return routing.note_lines(event)
    if isinstance(event, Decision):
        return routing.decision_lines(event)
    return ["รับทราบ", *routing.signature_lines(roster[event.by].sign(event.at))]


def route_view(row: LetterRoute, state: RouteState, stored: list[RouteEvent]) -> RouteView:
    roster = state.roster
    corrected = routing.amended_by(state)
    waiting = routing.who_may_act(state)
    steps = [
        StepView(
            order=step.order,
            staff_id=step.assignee,
            name=roster[step.assignee].name,
            position=roster[step.assignee].position,
            kind=step.kind,
            done=taken is not None,
        )
        for step, taken in zip(state.steps, state.taken_by, strict=True)
    ]
    events = [
        EventView(
            seq=stored_event.seq,
            kind=stored_event.kind,
            staff_id=stored_event.staff_id,
            name=roster[stored_event.staff_id].name,
            at=stored_event.at,
            lines=_event_lines(event, roster),
            payload=stored_event.payload,
            amended_by=corrected.get(event.id) if isinstance(event, Note) else None,
        )
        for stored_event, event in zip(stored, state.events, strict=True)
    ]
    return RouteView(
        receipt_id=row.receipt_id,
        status=routing.status(state),
        steps=steps,
        events=events,
        waiting_for=sorted(waiting),
        may_amend={i: list(ids) for i in sorted(waiting) if (ids := routing.amendable(state, i))},
        decision=row.decision,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
    )


def _events(session: Session, receipt_id: int) -> list[RouteEvent]:
    query = select(RouteEvent).where(RouteEvent.receipt_id == receipt_id)
    return list(session.exec(query.order_by(col(RouteEvent.seq))))


def _load(
    session: Session, receipt: Receipt, *, lock: bool
) -> tuple[LetterRoute, RouteState, list[RouteEvent]] | None:
    query = select(LetterRoute).where(LetterRoute.receipt_id == receipt.id)
    if lock:
        query = query.with_for_update()
    row = session.exec(query.execution_options(populate_existing=lock)).one_or_none()
    if row is None:
        return None
    stored = _events(session, row.receipt_id)
    return row, _replay(row, stored), stored


def detail(session: Session, *, who: Principal, receipt_id: int) -> ReceiptDetail:
    """A register entry with its route so far (None before it is routed)."""
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    loaded = _load(session, receipt, lock=False)
    route = None if loaded is None else route_view(*loaded)
    return ReceiptDetail(
        receipt=receipt_entry(receipt, route.status if route else None), route=route
    )


# --------------------------------------------------------------------------- #
# Planning and acting
# --------------------------------------------------------------------------- #


def _college_staff(session: Session, code: str, ids: Iterable[int]) -> dict[int, Staff]:
    """Active members of staff of the college among ``ids`` (others are simply absent)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    query = select(Account).where(
        col(Account.id).in_(wanted),
        Account.college_code == code,
        Account.kind == AccountKind.STAFF,
        col(Account.active).is_(True),
    )
    return {a.id: routing_staff(a) for a in session.exec(query) if a.id is not None}


def plan(session: Session, *, who: Principal, receipt_id: int, data: RoutePlan) -> RouteView:
    """Route a registered letter: who writes notes in which order, and who decides."""
    code = principal.registrar(who)
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    if session.get(LetterRoute, receipt_id) is not None:
        raise Conflict("เสนอแล้ว / this letter is already routed")
    members = _college_staff(session, code, (s.staff_id for s in data.steps))
    for i, step in enumerate(data.steps):
        if step.staff_id not in members:
            raise Invalid(f"steps[{i}].staff_id", f"no member of staff {step.staff_id} here")
    try:
        route = Route(tuple(Step(s.order, s.staff_id, s.kind) for s in data.steps))
        state = routing.start(route, members.values())
    except RoutingError as exc:
        raise Invalid(exc.field, exc.message) from None
    now = utcnow()
    row = LetterRoute(
        receipt_id=receipt_id,
        college_code=code,
        steps=[{"order": s.order, "staff_id": s.assignee, "kind": s.kind} for s in route.steps],
        roster=[_staff_json(m) for m in members.values()],
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
    audit.record(session, "route", who.actor, f"receipt:{receipt.id}", {"steps": row.steps})
    return route_view(row, state, [])


Build = Callable[[Staff, datetime, int], Event]


def _act(
    session: Session,
    who: Principal,
    receipt_id: int,
    build: Build,
    named: Iterable[int] = (),
) -> RouteView:
    """Apply the event ``build`` makes for the acting member of staff, and store it."""
    code, staff_id = principal.staff(who)
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    loaded = _load(session, receipt, lock=True)
    if loaded is None:
        raise Conflict("ยังไม่ได้เสนอ / this letter has not been routed yet")
    row, state, stored = loaded
    joining = _college_staff(session, code, (i for i in named if i not in state.roster))
    if joining:
        state = replace(state, roster=MappingProxyType({**state.roster, **joining}))
    if staff_id not in state.roster:  # the route's roster holds only the people on it
        raise Conflict("ไม่ใช่ผู้รับผิดชอบ / not assigned: no step on this route is yours")
    now = utcnow()
    seq = len(state.events) + 1
    try:
        event = build(state.roster[staff_id], now, seq)
        state = routing.apply(state, event)
    except RoutingError as exc:
        raise _refusal(exc) from None
    kind = _EVENT_KINDS[type(event)]
    payload = event_payload(event)
    new_event = RouteEvent(
        receipt_id=row.receipt_id, seq=seq, kind=kind, staff_id=staff_id, at=now, payload=payload
    )
    session.add(new_event)
    if joining:
        row.roster = [*row.roster, *(_staff_json(m) for m in joining.values())]
    final = routing.final_decision(state)
    if final is not None and row.decided_at is None:
        row.decision = _decision_text(final)
        row.decided_by = _signed_by(final.signature)
        row.decided_at = final.at
    row.status = routing.status(state)
    row.updated_at = now
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("มีผู้ดำเนินการพร้อมกัน / someone acted at the same moment") from None
    audit.record(session, kind, who.actor, f"receipt:{receipt_id}", {"seq": seq, **payload})
    return route_view(row, state, [*stored, new_event])


def add_note(session: Session, *, who: Principal, receipt_id: int, data: NoteIn) -> RouteView:
    def build(member: Staff, now: datetime, seq: int) -> Event:
        return Note(
            id=f"note-{seq}",
            to_position=data.to_position,
            summary=data.summary,
            proposals=tuple(Proposal(p.kind, p.text) for p in data.proposals),
            amends=data.amends,
            signature=member.sign(now),
        )

    return _act(session, who, receipt_id, build)


def decide(session: Session, *, who: Principal, receipt_id: int, data: DecisionIn) -> RouteView:
    def build(member: Staff, now: datetime, seq: int) -> Event:
        return Decision(
            kind=data.kind,
            signature=member.sign(now),
            people=data.people,
            assignees=tuple(data.assignees),
            reason=data.reason,
            return_to=data.return_to,
        )

    named = [*data.assignees, *([data.return_to] if data.return_to is not None else [])]
    return _act(session, who, receipt_id, build, named)


def acknowledge(session: Session, *, who: Principal, receipt_id: int) -> RouteView:
    def build(member: Staff, now: datetime, seq: int) -> Event:
        return Acknowledgement(by=member.id, at=now)

    return _act(session, who, receipt_id, build)


def tasks(session: Session, *, who: Principal) -> list[Task]:
    """The letters waiting for this member of staff now, oldest first."""
    code, staff_id = principal.staff(who)
    rows = session.exec(
        select(LetterRoute, Receipt)
        .join(Receipt, col(Receipt.id) == col(LetterRoute.receipt_id))
        .where(LetterRoute.college_code == code, LetterRoute.status != "completed")
        .order_by(col(LetterRoute.receipt_id))
    ).all()
    mine = [(r, receipt) for r, receipt in rows if any(m["id"] == staff_id for m in r.roster)]
    if not mine:
        return []
    by_route: dict[int, list[RouteEvent]] = {r.receipt_id: [] for r, _ in mine}
    query = select(RouteEvent).where(col(RouteEvent.receipt_id).in_(list(by_route)))
    for stored in session.exec(query.order_by(col(RouteEvent.receipt_id), col(RouteEvent.seq))):
        by_route[stored.receipt_id].append(stored)
    found = []
    for row, receipt in mine:
        state = _replay(row, by_route[row.receipt_id])
        verdict = routing.can_act(state, staff_id)
        if verdict and verdict.step is not None:
            found.append(
                Task(
                    receipt_id=row.receipt_id,
                    receipt_number=receipt_entry(receipt).receipt_number,
                    subject=receipt.subject,
                    step=verdict.step.kind,
                )
            )
    return found
