"""Routing a received letter inside a college (เกษียนหนังสือ): notes, the decision, acknowledgements.

Pure: a route, a roster and events in, a state and verdicts out. No storage, no web.

A received letter goes along a ``Route``: ordered ``Step``s, each for one member of staff.
Steps with the same order run in parallel; nobody acts on a step before every step of a lower
order is done. A note step takes a ``Note`` (เรียน ... / ด้วย ... มาเพื่อ / proposals / name,
position, date); the one decision step takes a ``Decision`` by the director or an acting
director (รักษาราชการแทน, รักษาการในตำแหน่ง). ``แจ้ง``/``มอบ`` add one acknowledgement step per
person told or assigned, all in parallel; ``ส่งคืน`` sends the letter back for more work: a new
note step for the person named and a new decision step for the one who returned it.

Signed notes are never changed. A correction is a new ``Note`` whose ``amends`` names the
earlier one; submitting a note under an id already signed is refused.

``RouteState`` is immutable; ``apply`` returns the next one or raises ``RoutingError`` naming
the field at fault. ``replay`` rebuilds a state from the stored events.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType
from typing import Literal

from saraban.domain.errors import Invalid
from saraban.domain.vocabulary import (
    ACTING_CHOICES,
    ASSIGN,
    ASSIGNING,
    DECISION_KINDS,
    INFORM,
    OTHER,
    PROPOSAL_KINDS,
    PROPOSALS_WITH_TEXT,
    RETURN,
    ROLES,
    SUGGEST_ASSIGN,
    SUGGEST_INFORM,
    TO_CONSIDER,
    TO_KNOW,
    Role,
    short_thai_date,
)

__all__ = [
    "ASSIGN",
    "DECISION_KINDS",
    "INFORM",
    "OTHER",
    "PROPOSAL_KINDS",
    "RETURN",
    "SUGGEST_ASSIGN",
    "SUGGEST_INFORM",
    "TO_CONSIDER",
    "TO_KNOW",
    "Acknowledgement",
    "Decision",
    "Event",
    "Note",
    "Proposal",
    "Role",
    "Route",
    "RouteState",
    "RoutingError",
    "Signature",
    "Staff",
    "Step",
    "Verdict",
    "amendable",
    "amended_by",
    "apply",
    "can_act",
    "current_order",
    "decision_lines",
    "final_decision",
    "note_lines",
    "notes",
    "replay",
    "signature_lines",
    "start",
    "status",
    "who_may_act",
]

StaffId = int
StepKind = Literal["note", "decision", "acknowledge"]
Status = Literal["received", "routing", "decided", "returned", "completed"]

STEP_KINDS: tuple[StepKind, ...] = ("note", "decision", "acknowledge")

# Laksaman (the bundled font) has no ☑ (U+2611) or ✓; the seed's clerk ticks with a slash.
CHECK = "/"
DOTS = "....."  # between an option and its free text: "แจ้ง.....รองฯ ผ.ผ."

_STEP_NAMES: dict[StepKind, str] = {
    "note": "เกษียน (note)",
    "decision": "สั่งการ (decision)",
    "acknowledge": "รับทราบ (acknowledge)",
}


class RoutingError(Invalid):
    """An invalid value or an illegal move; ``field`` names what is wrong."""

    field: str

    def __init__(self, field: str, message: str) -> None:
        super().__init__(field, message)


# --- text and time -------------------------------------------------------------------------


def _text(name: str, value: object, *, required: bool = True) -> str:
    """NFC, surrounding whitespace stripped, inner runs of whitespace (newlines too) as one
    space; empty is an error when ``required``."""
    if not isinstance(value, str):
        raise RoutingError(name, f"must be text, not {type(value).__name__}")
    text = " ".join(unicodedata.normalize("NFC", value).split())
    if required and not text:
        raise RoutingError(name, "must not be empty")
    return text


def _aware(name: str, value: object) -> datetime:
    if not isinstance(value, datetime):
        raise RoutingError(name, f"must be a datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise RoutingError(name, f"{value.isoformat()} has no timezone")
    return value


def _staff_id(name: str, value: object) -> StaffId:
    if not isinstance(value, int) or isinstance(value, bool):
        raise RoutingError(name, f"must be a staff id (int), not {value!r}")
    return value


def _set(obj: object, name: str, value: object) -> None:
    object.__setattr__(obj, name, value)  # normalising a frozen dataclass in __post_init__


def _acting(prefix: str, acting: object, acting_for: object) -> tuple[str, str]:
    """The acting relation and the position acted for: both or neither."""
    relation = _text(f"{prefix}acting", acting, required=False)
    if relation not in ACTING_CHOICES:
        allowed = ", ".join(r for r in ACTING_CHOICES if r)
        raise RoutingError(f"{prefix}acting", f"{relation!r} is not one of: {allowed}")
    post = _text(f"{prefix}acting_for", acting_for, required=False)
    if bool(relation) != bool(post):
        raise RoutingError(
            f"{prefix}acting_for", "an acting relation needs the position acted for, and only then"
        )
    return relation, post


# --- people --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Signature:
    """The typed name standing for a signature, as it was when signed."""

    staff_id: StaffId
    name: str
    position: str
    at: datetime
    acting: str = ""  # one of ACTING_CHOICES
    acting_for: str = ""  # the position acted for: "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง"

    def __post_init__(self) -> None:
        _staff_id("signature.staff_id", self.staff_id)
        _set(self, "name", _text("signature.name", self.name))
        _set(self, "position", _text("signature.position", self.position))
        _aware("signature.at", self.at)
        acting = _acting("signature.", self.acting, self.acting_for)
        _set(self, "acting", acting[0])
        _set(self, "acting_for", acting[1])


@dataclass(frozen=True, kw_only=True)
class Staff:
    """A member of the college's staff as the routing rules see them."""

    id: StaffId
    name: str
    position: str
    role: Role
    acting: str = ""  # the relation under which they hold the director's post, if any
    acting_for: str = ""

    def __post_init__(self) -> None:
        _staff_id("staff.id", self.id)
        _set(self, "name", _text("staff.name", self.name))
        _set(self, "position", _text("staff.position", self.position))
        if self.role not in ROLES:
            raise RoutingError("staff.role", f"{self.role!r} is not one of: {', '.join(ROLES)}")
        acting = _acting("staff.", self.acting, self.acting_for)
        _set(self, "acting", acting[0])
        _set(self, "acting_for", acting[1])

    @property
    def may_decide(self) -> bool:
        return self.role == "director" or bool(self.acting)

    def sign(self, at: datetime) -> Signature:
        return Signature(
            staff_id=self.id,
            name=self.name,
            position=self.position,
            at=at,
            acting=self.acting,
            acting_for=self.acting_for,
        )


# --- events --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """One ticked line of a note: ``Proposal(TO_KNOW)``, ``Proposal(SUGGEST_INFORM, "whom")``,
    ``Proposal(OTHER, "free text")``."""

    kind: str
    text: str = ""

    def __post_init__(self) -> None:
        kind = _text("proposal.kind", self.kind)
        if kind not in PROPOSAL_KINDS:
            raise RoutingError(
                "proposal.kind", f"unknown proposal {kind!r}; one of: {', '.join(PROPOSAL_KINDS)}"
            )
        text = _text("proposal.text", self.text, required=False)
        if kind in PROPOSALS_WITH_TEXT and not text:
            raise RoutingError("proposal.text", f"{kind} needs text (whom, or what)")
        if kind not in PROPOSALS_WITH_TEXT and text:
            raise RoutingError("proposal.text", f"{kind} takes no text")
        _set(self, "kind", kind)
        _set(self, "text", text)


@dataclass(frozen=True, kw_only=True)
class Note:
    """A routing note (เกษียน). ``summary`` None: a note that only forwards (the seed's deputy
    signs the form with nothing added); an empty summary is an error."""

    id: str
    to_position: str  # written after เรียน: "ผู้อำนวยการ"
    summary: str | None
    proposals: tuple[Proposal, ...]
    signature: Signature
    amends: str | None = None  # the id of the earlier note this one corrects

    def __post_init__(self) -> None:
        _set(self, "id", _text("id", self.id))
        _set(self, "to_position", _text("to_position", self.to_position))
        if self.summary is not None:
            _set(self, "summary", _text("summary", self.summary))
        _set(self, "proposals", _proposals(self.proposals))
        if not isinstance(self.signature, Signature):
            raise RoutingError("signature", "must be a Signature")
        if self.amends is not None:
            _set(self, "amends", _text("amends", self.amends))
            if self.amends == self.id:
                raise RoutingError("amends", "a note cannot amend itself")

    @property
    def by(self) -> StaffId:
        return self.signature.staff_id

    @property
    def at(self) -> datetime:
        return self.signature.at


def _proposals(value: object) -> tuple[Proposal, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise RoutingError("proposals", "must be a list of Proposal")
    proposals = tuple(value)
    seen: set[str] = set()
    for i, proposal in enumerate(proposals):
        if not isinstance(proposal, Proposal):
            raise RoutingError(f"proposals[{i}]", f"must be a Proposal, not {proposal!r}")
        if proposal.kind != OTHER and proposal.kind in seen:
            raise RoutingError(f"proposals[{i}]", f"{proposal.kind} is proposed twice")
        seen.add(proposal.kind)
    return proposals


@dataclass(frozen=True, kw_only=True)
class Decision:
    """The director's order (สั่งการ). ``แจ้ง``/``มอบ`` name the people as written (``people``)
    and as staff (``assignees``, who must acknowledge); ``ส่งคืน`` gives a ``reason`` and whom
    the letter goes back to (``return_to``)."""

    kind: str
    signature: Signature
    people: str = ""
    assignees: tuple[StaffId, ...] = ()
    reason: str = ""
    return_to: StaffId | None = None

    def __post_init__(self) -> None:
        kind = _text("kind", self.kind)
        if kind not in DECISION_KINDS:
            known = ", ".join(DECISION_KINDS)
            raise RoutingError("kind", f"unknown decision {kind!r}; one of: {known}")
        _set(self, "kind", kind)
        if not isinstance(self.signature, Signature):
            raise RoutingError("signature", "must be a Signature")
        _set(self, "people", _text("people", self.people, required=False))
        if kind in ASSIGNING and not self.people:
            raise RoutingError("people", f"{kind} needs the people, as written: รองฯ ผ.ผ., ...")
        _set(self, "assignees", _assignees(kind, self.assignees))
        _set(self, "reason", _text("reason", self.reason, required=False))
        if kind == RETURN and not self.reason:
            raise RoutingError("reason", f"{RETURN} needs the reason: what more is wanted")
        self._check_fields_fit_kind()

    def _check_fields_fit_kind(self) -> None:
        if self.people and self.kind not in ASSIGNING:
            raise RoutingError("people", f"only {INFORM} or {ASSIGN} name people, not {self.kind}")
        if self.reason and self.kind != RETURN:
            raise RoutingError("reason", f"only {RETURN} gives a reason, not {self.kind}")
        if self.kind != RETURN:
            if self.return_to is not None:
                raise RoutingError("return_to", f"only {RETURN} returns the letter")
            return
        if self.return_to is None:
            raise RoutingError("return_to", f"{RETURN} needs the staff the letter goes back to")
        _staff_id("return_to", self.return_to)
        if self.return_to == self.by:
            raise RoutingError("return_to", "cannot return the letter to oneself")

    @property
    def by(self) -> StaffId:
        return self.signature.staff_id

    @property
    def at(self) -> datetime:
        return self.signature.at


def _assignees(kind: str, value: object) -> tuple[StaffId, ...]:
    if not isinstance(value, Iterable):
        raise RoutingError("assignees", "must be a list of staff ids")
    ids = tuple(_staff_id(f"assignees[{i}]", v) for i, v in enumerate(value))
    if kind in ASSIGNING and not ids:
        raise RoutingError("assignees", f"{kind} needs at least one staff id to acknowledge")
    if kind not in ASSIGNING and ids:
        raise RoutingError("assignees", f"only {INFORM} or {ASSIGN} assign staff, not {kind}")
    if len(set(ids)) != len(ids):
        raise RoutingError("assignees", "the same staff id is given twice")
    return ids


@dataclass(frozen=True, kw_only=True)
class Acknowledgement:
    """An assignee's รับทราบ of the decision."""

    by: StaffId
    at: datetime

    def __post_init__(self) -> None:
        _staff_id("by", self.by)
        _aware("at", self.at)


Event = Note | Decision | Acknowledgement
_EVENT_STEP: dict[type, StepKind] = {
    Note: "note",
    Decision: "decision",
    Acknowledgement: "acknowledge",
}


# --- route ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    order: int
    assignee: StaffId
    kind: StepKind

    def __post_init__(self) -> None:
        if not isinstance(self.order, int) or isinstance(self.order, bool) or self.order < 1:
            raise RoutingError("step.order", f"must be a whole number from 1, not {self.order!r}")
        _staff_id("step.assignee", self.assignee)
        if self.kind not in STEP_KINDS:
            raise RoutingError("step.kind", f"{self.kind!r} is not one of: {', '.join(STEP_KINDS)}")


@dataclass(frozen=True)
class Route:
    """The planned steps: notes, then the one decision, alone at the last order.
    Acknowledgement steps come from the decision, not from the plan."""

    steps: tuple[Step, ...]

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        _set(self, "steps", steps)
        if not steps:
            raise RoutingError("steps", "a route needs at least the decision step")
        if any(s.kind == "acknowledge" for s in steps):
            raise RoutingError("steps", "acknowledgement steps come from the decision")
        decisions = [s for s in steps if s.kind == "decision"]
        if len(decisions) != 1:
            raise RoutingError(
                "steps", f"a route has exactly one decision step, not {len(decisions)}"
            )
        last = decisions[0].order
        if any(s.order >= last for s in steps if s is not decisions[0]):
            raise RoutingError("steps", "the decision step must come alone, after every note step")
        pairs = [(s.order, s.assignee) for s in steps]
        if len(set(pairs)) != len(pairs):
            raise RoutingError("steps", "the same staff appears twice at one order")


# --- state ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """Whether someone may act now, and why (Thai term and English)."""

    allowed: bool
    reason: str
    step: Step | None = None

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class RouteState:
    """Steps (the plan plus the steps decisions added), which event took each (its index in
    ``events``, None while open), the events so far and the roster."""

    steps: tuple[Step, ...]
    taken_by: tuple[int | None, ...]
    events: tuple[Event, ...]
    roster: Mapping[StaffId, Staff]


def start(route: Route, staff: Iterable[Staff]) -> RouteState:
    """The state of a letter just received: the route checked against the roster."""
    roster: dict[StaffId, Staff] = {}
    for member in staff:
        if member.id in roster:
            raise RoutingError("staff", f"staff id {member.id} appears twice")
        roster[member.id] = member
    for step in route.steps:
        if step.assignee not in roster:
            raise RoutingError("steps", f"staff id {step.assignee} is not on the roster")
        member = roster[step.assignee]
        if step.kind == "decision" and not member.may_decide:
            raise RoutingError("steps", f"{member.name} ({member.role}) cannot take the decision")
    return RouteState(
        steps=route.steps,
        taken_by=(None,) * len(route.steps),
        events=(),
        roster=MappingProxyType(roster),
    )


def replay(route: Route, staff: Iterable[Staff], events: Iterable[Event]) -> RouteState:
    """The state after ``events``, applied in order from receipt."""
    state = start(route, staff)
    for event in events:
        state = apply(state, event)
    return state


def _open(state: RouteState) -> list[Step]:
    return [s for s, taken in zip(state.steps, state.taken_by, strict=True) if taken is None]


def current_order(state: RouteState) -> int | None:
    """The lowest order with a step still open: the steps that may be taken now."""
    return min((s.order for s in _open(state)), default=None)


def final_decision(state: RouteState) -> Decision | None:
    """The decision that closed the routing (not a ``ส่งคืน``), if taken."""
    return next((e for e in state.events if isinstance(e, Decision) and e.kind != RETURN), None)


def notes(state: RouteState) -> tuple[Note, ...]:
    return tuple(e for e in state.events if isinstance(e, Note))


def status(state: RouteState) -> Status:
    """received, routing (notes under way), returned (a ส่งคืน waits for its new note),
    decided (acknowledgements open) or completed."""
    if not state.events:
        return "received"
    if final_decision(state) is not None:
        return "decided" if _open(state) else "completed"
    for event in reversed(state.events):
        if isinstance(event, Note):
            return "routing"
        if isinstance(event, Decision):
            return "returned"  # a ส่งคืน, since no final decision was taken
    return "routing"


def amended_by(state: RouteState) -> dict[str, str]:
    """Each amended note's id, and the id of the note that corrects it."""
    return {n.amends: n.id for n in notes(state) if n.amends is not None}


def amendable(state: RouteState, staff_id: StaffId) -> tuple[str, ...]:
    """The ids of the signed notes ``staff_id`` may correct now: their own, each in its latest
    version, while a note step of theirs is open (the correction takes that step)."""
    verdict = can_act(state, staff_id)
    if not verdict or verdict.step is None or verdict.step.kind != "note":
        return ()
    corrected = amended_by(state)
    return tuple(n.id for n in notes(state) if n.by == staff_id and n.id not in corrected)


def who_may_act(state: RouteState) -> set[StaffId]:
    order = current_order(state)
    return {s.assignee for s in _open(state) if s.order == order}


def _names(state: RouteState, ids: Iterable[StaffId]) -> str:
    return ", ".join(sorted(state.roster[i].name for i in ids))


def can_act(state: RouteState, staff_id: StaffId) -> Verdict:
    """Whether ``staff_id`` may act on the route now, with the step they would take."""
    if status(state) == "completed":
        return Verdict(False, "ดำเนินการเสร็จแล้ว / route completed: nothing left to act on")
    if staff_id not in state.roster:
        return Verdict(False, f"ไม่มีรายชื่อ / unknown staff: {staff_id} is not on the roster")
    mine = [s for s in _open(state) if s.assignee == staff_id]
    if not mine:
        if any(s.assignee == staff_id for s in state.steps):
            return Verdict(False, "ดำเนินการแล้ว / already acted: no open step left for you")
        return Verdict(False, "ไม่ใช่ผู้รับผิดชอบ / not assigned: no step on this route is yours")
    step = min(mine, key=lambda s: s.order)
    order = current_order(state)
    if step.order != order:
        waiting = _names(state, who_may_act(state))
        return Verdict(
            False, f"ยังไม่ถึงลำดับ / not your turn: waiting for step {order} ({waiting})", step
        )
    return Verdict(True, f"ถึงลำดับ / your turn: step {step.order}, {_STEP_NAMES[step.kind]}", step)


# --- apply ---------------------------------------------------------------------------------


def _check_not_signed(state: RouteState, note: Note) -> None:
    if any(n.id == note.id for n in notes(state)):
        raise RoutingError(
            "id", f"note {note.id!r} is signed and cannot be edited; write a new note amending it"
        )


def _check_amends(state: RouteState, note: Note) -> None:
    if note.amends is None:
        return
    signed = {n.id: n for n in notes(state)}
    earlier = signed.get(note.amends)
    if earlier is None:
        raise RoutingError("amends", f"there is no note {note.amends!r} to amend")
    if earlier.by != note.by:
        raise RoutingError("amends", f"note {note.amends!r} is {earlier.signature.name}'s to amend")
    later = next((n.id for n in signed.values() if n.amends == note.amends), None)
    if later is not None:
        raise RoutingError("amends", f"note {note.amends!r} was amended by {later!r}; amend that")


def _check_decision(state: RouteState, decision: Decision) -> None:
    for i, assignee in enumerate(decision.assignees):
        if assignee not in state.roster:
            raise RoutingError(f"assignees[{i}]", f"staff id {assignee} is not on the roster")
    if decision.return_to is not None and decision.return_to not in state.roster:
        raise RoutingError("return_to", f"staff id {decision.return_to} is not on the roster")


def _check_decider(state: RouteState, decision: Decision) -> None:
    member = state.roster[decision.by]
    if not member.may_decide:
        raise RoutingError(
            "by",
            f"สั่งการได้เฉพาะผู้อำนวยการหรือผู้รักษาการ / wrong role: {member.name} is a "
            f"{member.role}; only the director or an acting director decides",
        )
    if member.role != "director" and not decision.signature.acting:
        raise RoutingError(
            "signature.acting",
            f"{member.name} decides as {member.acting}; the signature must say so",
        )


def _check_turn(state: RouteState, event: Event) -> Step:
    if status(state) == "completed":
        raise RoutingError("status", "ดำเนินการเสร็จแล้ว / route completed: no more events")
    if event.by not in state.roster:
        raise RoutingError("by", f"staff id {event.by} is not on the roster")
    if isinstance(event, Decision):
        _check_decider(state, event)
    verdict = can_act(state, event.by)
    if not verdict or verdict.step is None:
        raise RoutingError("by", verdict.reason)
    wanted = _EVENT_STEP[type(event)]
    if verdict.step.kind != wanted:
        raise RoutingError(
            "event",
            f"step {verdict.step.order} of {state.roster[event.by].name} is a "
            f"{_STEP_NAMES[verdict.step.kind]} step; a {_STEP_NAMES[wanted]} does not take it",
        )
    return verdict.step


def _check_time(state: RouteState, event: Event) -> None:
    if state.events and event.at < state.events[-1].at:
        raise RoutingError(
            "at", f"{event.at.isoformat()} is earlier than the previous event's time"
        )


def _steps_after(state: RouteState, decision: Decision) -> tuple[Step, ...]:
    """The steps a decision adds: acknowledgements in parallel, or the return's note and a new
    decision step for the one who returned it."""
    nxt = max(s.order for s in state.steps) + 1
    if decision.kind in ASSIGNING:
        return tuple(Step(nxt, who, "acknowledge") for who in decision.assignees)
    if decision.kind == RETURN and decision.return_to is not None:
        return (Step(nxt, decision.return_to, "note"), Step(nxt + 1, decision.by, "decision"))
    return ()


def apply(state: RouteState, event: Event) -> RouteState:
    """The state after ``event``; ``RoutingError`` if it is not a legal move now."""
    if not isinstance(event, Note | Decision | Acknowledgement):
        raise RoutingError("event", f"not a routing event: {type(event).__name__}")
    if isinstance(event, Note):
        _check_not_signed(state, event)
    step = _check_turn(state, event)
    _check_time(state, event)
    if isinstance(event, Note):
        _check_amends(state, event)
    added: tuple[Step, ...] = ()
    if isinstance(event, Decision):
        _check_decision(state, event)
        added = _steps_after(state, event)
    index = state.steps.index(step)
    taken = list(state.taken_by)
    taken[index] = len(state.events)
    return replace(
        state,
        steps=state.steps + added,
        taken_by=(*taken, *(None,) * len(added)),
        events=(*state.events, event),
    )


# --- printed lines -------------------------------------------------------------------------


def _proposal_lines(proposals: tuple[Proposal, ...]) -> list[str]:
    """One ticked line each; แจ้ง and มอบ to the same people share one line, as on the seed's
    form: ``/ เห็นควรแจ้ง/มอบ.....รองฯ ผ.ผ., หน.งานวางแผนฯ``."""
    texts = {p.kind: p.text for p in proposals}
    merged = SUGGEST_INFORM in texts and texts[SUGGEST_INFORM] == texts.get(SUGGEST_ASSIGN)
    lines: list[str] = []
    for p in proposals:
        if merged and p.kind == SUGGEST_ASSIGN:
            continue
        if merged and p.kind == SUGGEST_INFORM:
            lines.append(f"{CHECK} {SUGGEST_INFORM}/{ASSIGN}{DOTS}{p.text}")
        elif p.kind == OTHER:
            lines.append(f"{CHECK} {p.text}")
        elif p.text:
            lines.append(f"{CHECK} {p.kind}{DOTS}{p.text}")
        else:
            lines.append(f"{CHECK} {p.kind}")
    return lines


def signature_lines(signature: Signature, *, parenthesised: bool = False) -> list[str]:
    """Name, position (with the acting relation), the post acted for, short BE date."""
    name = f"({signature.name})" if parenthesised else signature.name
    lines = [name]
    if signature.acting:
        lines += [f"{signature.position} {signature.acting}", signature.acting_for]
    else:
        lines.append(signature.position)
    lines.append(short_thai_date(signature.at))
    return lines


def note_lines(note: Note) -> list[str]:
    """The note as printed: เรียน, the summary, ticked proposals, the signature block."""
    lines = [f"เรียน {note.to_position}"]
    if note.summary:
        lines.append(note.summary)
    return lines + _proposal_lines(note.proposals) + signature_lines(note.signature)


def decision_lines(decision: Decision) -> list[str]:
    """The decision as printed: the ticked order, then the name in parentheses."""
    if decision.kind in ASSIGNING:
        order = f"{CHECK} {decision.kind}{DOTS}{decision.people}"
    elif decision.kind == RETURN:
        order = f"{CHECK} {RETURN}{DOTS}{decision.reason}"
    else:
        order = f"{CHECK} {decision.kind}"
    return [order, *signature_lines(decision.signature, parenthesised=True)]
