"""Routing a received letter inside a college: the seed's routing, every illegal move, parallel
steps, returns for more work, and the notes printed as the seed shows them."""

from __future__ import annotations

from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta, timezone

import pytest

from saraban.domain.routing import (
    CHECK,
    OTHER,
    SUGGEST_ASSIGN,
    SUGGEST_INFORM,
    TO_CONSIDER,
    TO_KNOW,
    Acknowledgement,
    Decision,
    Note,
    Proposal,
    Route,
    RoutingError,
    Signature,
    Staff,
    Step,
    apply,
    can_act,
    current_order,
    decision_lines,
    final_decision,
    note_lines,
    notes,
    replay,
    start,
    status,
    who_may_act,
)

ICT = timezone(timedelta(hours=7))
COLLEGE = "วิทยาลัยสารพัดช่างลำปาง"
SUMMARY = (
    "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของ สถานศึกษา ในการขับเคลื่อนการอาชีวศึกษา "
    "ปีงบประมาณ พ.ศ. 2569 มาเพื่อ"
)
PEOPLE = "รองฯ ผ.ผ., หน.งานวางแผนฯ"

# The seed's three signers, as their notes print them.
CLERK, DEPUTY, ACTING = 1, 2, 3
# Invented staff for the rest (the seed names only the posts: รองฯ ผ.ผ., หน.งานวางแผนฯ).
PLANNING_DEPUTY, PLANNING_HEAD, TEACHER, DIRECTOR = 4, 5, 6, 7

ROSTER = (
    Staff(
        id=CLERK,
        name="นางสาวอัญชลี ธรรมศรีใจ",
        position="หัวหน้างานบริหารงานทั่วไป",
        role="clerk",
    ),
    Staff(id=DEPUTY, name="นายสมพงษ์ นันตะภาพ", position=f"รองผู้อำนวยการ{COLLEGE}", role="deputy"),
    Staff(
        id=ACTING,
        name="นายภาณุวัฒน์ ลาสูทธิ",
        position="รองผู้อำนวยการ",
        role="deputy",
        acting="รักษาการในตำแหน่ง",
        acting_for=f"ผู้อำนวยการ{COLLEGE}",
    ),
    Staff(
        id=PLANNING_DEPUTY,
        name="นางทดสอบ แผนงาน",
        position="รองผู้อำนวยการฝ่ายแผนงานและความร่วมมือ",
        role="deputy",
    ),
    Staff(
        id=PLANNING_HEAD,
        name="นายตัวอย่าง วางแผน",
        position="หัวหน้างานวางแผนและงบประมาณ",
        role="staff",
    ),
    Staff(id=TEACHER, name="นายครู สอนดี", position="ครู", role="staff"),
    Staff(id=DIRECTOR, name="นายผู้อำนวยการ ตัวจริง", position="ผู้อำนวยการ", role="director"),
)
STAFF = {s.id: s for s in ROSTER}
SEED_ROUTE = Route((Step(1, CLERK, "note"), Step(2, DEPUTY, "note"), Step(3, ACTING, "decision")))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 4, day, hour, minute, tzinfo=ICT)


def clerk_note(**over: object) -> Note:
    fields: dict[str, object] = {
        "id": "n1",
        "to_position": "ผู้อำนวยการ",
        "summary": SUMMARY,
        "proposals": (
            Proposal(TO_KNOW),
            Proposal(TO_CONSIDER),
            Proposal(SUGGEST_INFORM, PEOPLE),
            Proposal(SUGGEST_ASSIGN, PEOPLE),
        ),
        "signature": STAFF[CLERK].sign(at(20, 9)),
    }
    return Note(**{**fields, **over})  # type: ignore[arg-type]


def deputy_note(**over: object) -> Note:
    fields: dict[str, object] = {
        "id": "n2",
        "to_position": "ผู้อำนวยการ",
        "summary": None,
        "proposals": (),
        "signature": STAFF[DEPUTY].sign(at(20, 11)),
    }
    return Note(**{**fields, **over})  # type: ignore[arg-type]


def inform(*assignees: int, by: int = ACTING, when: datetime | None = None) -> Decision:
    return Decision(
        kind="แจ้ง",
        people=PEOPLE,
        assignees=assignees or (PLANNING_DEPUTY, PLANNING_HEAD),
        signature=STAFF[by].sign(when or at(20, 14)),
    )


def ack(who: int, when: datetime | None = None) -> Acknowledgement:
    return Acknowledgement(by=who, at=when or at(21, 9))


def received():
    return start(SEED_ROUTE, ROSTER)


def decided():
    return replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note(), inform()])


def completed():
    state = decided()
    return apply(apply(state, ack(PLANNING_DEPUTY)), ack(PLANNING_HEAD))


def refused(state, event, field: str) -> RoutingError:
    with pytest.raises(RoutingError) as caught:
        apply(state, event)
    assert caught.value.field == field, str(caught.value)
    return caught.value


# --- the seed ------------------------------------------------------------------------------


def test_seed_routing_from_receipt_to_completion() -> None:
    state = received()
    assert status(state) == "received"
    assert who_may_act(state) == {CLERK}

    state = apply(state, clerk_note())
    assert status(state) == "routing"
    assert who_may_act(state) == {DEPUTY}

    state = apply(state, deputy_note())
    assert status(state) == "routing"
    assert who_may_act(state) == {ACTING}

    state = apply(state, inform())
    assert status(state) == "decided"
    assert who_may_act(state) == {PLANNING_DEPUTY, PLANNING_HEAD}
    decision = final_decision(state)
    assert decision is not None and decision.people == PEOPLE

    state = apply(state, ack(PLANNING_HEAD))
    assert status(state) == "decided"
    assert who_may_act(state) == {PLANNING_DEPUTY}

    state = apply(state, ack(PLANNING_DEPUTY))
    assert status(state) == "completed"
    assert who_may_act(state) == set()
    assert current_order(state) is None
    kinds = [s.kind for s in state.steps]
    assert kinds == ["note", "note", "decision", "acknowledge", "acknowledge"]


def test_seed_clerk_note_prints_as_on_the_letter() -> None:
    assert note_lines(clerk_note()) == [
        "เรียน ผู้อำนวยการ",
        SUMMARY,
        "/ เพื่อโปรดทราบ",
        "/ เพื่อโปรดพิจารณา",
        "/ เห็นควรแจ้ง/มอบ.....รองฯ ผ.ผ., หน.งานวางแผนฯ",
        "นางสาวอัญชลี ธรรมศรีใจ",
        "หัวหน้างานบริหารงานทั่วไป",
        "20 เม.ย. 69",
    ]


def test_seed_deputy_note_forwards_without_a_summary() -> None:
    assert note_lines(deputy_note()) == [
        "เรียน ผู้อำนวยการ",
        "นายสมพงษ์ นันตะภาพ",
        "รองผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง",
        "20 เม.ย. 69",
    ]


def test_seed_decision_prints_with_the_acting_relation() -> None:
    assert decision_lines(inform()) == [
        "/ แจ้ง.....รองฯ ผ.ผ., หน.งานวางแผนฯ",
        "(นายภาณุวัฒน์ ลาสูทธิ)",
        "รองผู้อำนวยการ รักษาการในตำแหน่ง",
        "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง",
        "20 เม.ย. 69",
    ]


def test_the_check_mark_is_a_glyph_the_bundled_font_has() -> None:
    from letters.fonts import load_family

    assert load_family().regular.has_char(CHECK)


# --- printed lines -------------------------------------------------------------------------


def test_inform_and_assign_to_different_people_print_on_two_lines() -> None:
    note = clerk_note(
        proposals=(
            Proposal(SUGGEST_INFORM, "งานวางแผนฯ"),
            Proposal(SUGGEST_ASSIGN, "งานบุคลากร"),
            Proposal(OTHER, "เห็นควรเวียนแจ้งครูทุกคน"),
        )
    )
    assert note_lines(note)[2:5] == [
        "/ เห็นควรแจ้ง.....งานวางแผนฯ",
        "/ เห็นควรมอบ.....งานบุคลากร",
        "/ เห็นควรเวียนแจ้งครูทุกคน",
    ]


def test_the_printed_date_is_the_date_in_thailand() -> None:
    late_utc = datetime(2026, 4, 19, 18, 30, tzinfo=UTC)  # 01:30 on the 20th in Lampang
    note = clerk_note(signature=STAFF[CLERK].sign(late_utc))
    assert note_lines(note)[-1] == "20 เม.ย. 69"


@pytest.mark.parametrize(
    ("kind", "extra", "first_line"),
    [
        ("ทราบ", {}, "/ ทราบ"),
        ("เก็บเข้าแฟ้ม", {}, "/ เก็บเข้าแฟ้ม"),
        ("มอบ", {"people": "งานวางแผนฯ", "assignees": (PLANNING_HEAD,)}, "/ มอบ.....งานวางแผนฯ"),
        ("ส่งคืน", {"reason": "ขอรายละเอียดงบประมาณ", "return_to": CLERK}, None),
    ],
)
def test_decision_first_line(kind: str, extra: dict, first_line: str | None) -> None:
    decision = Decision(kind=kind, signature=STAFF[DIRECTOR].sign(at(20, 14)), **extra)
    expected = first_line or "/ ส่งคืน.....ขอรายละเอียดงบประมาณ"
    lines = decision_lines(decision)
    assert lines[0] == expected
    assert lines[1:] == ["(นายผู้อำนวยการ ตัวจริง)", "ผู้อำนวยการ", "20 เม.ย. 69"]


# --- validation of notes, decisions, signatures and routes ---------------------------------


def test_text_is_nfc_with_whitespace_tidied() -> None:
    decomposed = "ผู้อำนวยการ Cafe\u0301"
    note = clerk_note(to_position=f"  {decomposed}\n", summary="ด้วย  สอศ.\nแจ้ง")
    assert note.to_position == "ผู้อำนวยการ Café"
    assert note.summary == "ด้วย สอศ. แจ้ง"


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"summary": ""}, "summary", "empty"),
        ({"summary": "  \n "}, "summary", "empty"),
        ({"to_position": ""}, "to_position", "empty"),
        ({"id": " "}, "id", "empty"),
        ({"summary": 5}, "summary", "text"),
        ({"proposals": "เพื่อโปรดทราบ"}, "proposals", "list"),
        ({"proposals": ("เพื่อโปรดทราบ",)}, "proposals[0]", "Proposal"),
        ({"proposals": (Proposal(TO_KNOW), Proposal(TO_KNOW))}, "proposals[1]", "twice"),
        ({"amends": "n1"}, "amends", "itself"),
        ({"signature": "นางสาวอัญชลี"}, "signature", "Signature"),
    ],
)
def test_invalid_note(over: dict, field: str, words: str) -> None:
    with pytest.raises(RoutingError) as caught:
        clerk_note(**over)
    assert caught.value.field == field
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("kind", "text", "field", "words"),
    [
        ("เพื่อโปรดอนุมัติ", "", "proposal.kind", "unknown proposal"),
        ("", "", "proposal.kind", "empty"),
        (SUGGEST_INFORM, "", "proposal.text", "needs text"),
        (SUGGEST_ASSIGN, "  ", "proposal.text", "needs text"),
        (OTHER, "", "proposal.text", "needs text"),
        (TO_KNOW, "รองฯ", "proposal.text", "takes no text"),
    ],
)
def test_invalid_proposal(kind: str, text: str, field: str, words: str) -> None:
    with pytest.raises(RoutingError) as caught:
        Proposal(kind, text)
    assert caught.value.field == field
    assert words in caught.value.message
    assert str(caught.value).startswith(f"{field}: ")


def test_free_text_proposals_may_repeat() -> None:
    note = clerk_note(proposals=(Proposal(OTHER, "ก"), Proposal(OTHER, "ข")))
    assert len(note.proposals) == 2


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"kind": "รับทราบ"}, "kind", "unknown decision"),
        ({"kind": "แจ้ง", "assignees": (4,)}, "people", "needs the people"),
        ({"kind": "มอบ", "people": "งานวางแผนฯ"}, "assignees", "at least one"),
        ({"kind": "แจ้ง", "people": "x", "assignees": (4, 4)}, "assignees", "twice"),
        ({"kind": "แจ้ง", "people": "x", "assignees": ("4",)}, "assignees[0]", "staff id"),
        ({"kind": "ทราบ", "assignees": (4,)}, "assignees", "only"),
        ({"kind": "ทราบ", "people": "รองฯ"}, "people", "only"),
        ({"kind": "อนุมัติ", "reason": "เพราะ"}, "reason", "only"),
        ({"kind": "อนุมัติ", "return_to": CLERK}, "return_to", "only"),
        ({"kind": "ส่งคืน", "return_to": CLERK}, "reason", "needs the reason"),
        ({"kind": "ส่งคืน", "reason": "ขอข้อมูลเพิ่ม"}, "return_to", "needs the staff"),
        ({"kind": "ส่งคืน", "reason": "x", "return_to": DIRECTOR}, "return_to", "oneself"),
        ({"kind": "แจ้ง", "people": "x", "assignees": 4}, "assignees", "list"),
    ],
)
def test_invalid_decision(over: dict, field: str, words: str) -> None:
    with pytest.raises(RoutingError) as caught:
        Decision(signature=STAFF[DIRECTOR].sign(at(20, 14)), **over)
    assert caught.value.field == field
    assert words in caught.value.message


def test_a_decision_is_signed() -> None:
    with pytest.raises(RoutingError, match=r"^signature: "):
        Decision(kind="ทราบ", signature="นายภาณุวัฒน์")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("over", "field", "words"),
    [
        ({"at": datetime(2026, 4, 20, 9)}, "signature.at", "timezone"),
        ({"at": "2026-04-20"}, "signature.at", "datetime"),
        ({"name": ""}, "signature.name", "empty"),
        ({"position": " "}, "signature.position", "empty"),
        ({"acting": "รักษาการในตำแหน่ง"}, "signature.acting_for", "position acted for"),
        ({"acting_for": "ผู้อำนวยการ"}, "signature.acting_for", "only then"),
        ({"acting": "ปฏิบัติราชการแทน", "acting_for": "ผู้อำนวยการ"}, "signature.acting", "not one"),
        ({"staff_id": "1"}, "signature.staff_id", "staff id"),
    ],
)
def test_invalid_signature(over: dict, field: str, words: str) -> None:
    fields = {"staff_id": 1, "name": "ก ข", "position": "ครู", "at": at(20, 9), **over}
    with pytest.raises(RoutingError) as caught:
        Signature(**fields)
    assert caught.value.field == field
    assert words in caught.value.message


def test_invalid_staff_and_acknowledgement() -> None:
    with pytest.raises(RoutingError, match=r"^staff\.role: "):
        Staff(id=9, name="ก", position="ครู", role="janitor")  # type: ignore[arg-type]
    with pytest.raises(RoutingError, match=r"^at: "):
        Acknowledgement(by=4, at=datetime(2026, 4, 21, 9))
    with pytest.raises(RoutingError, match=r"^by: "):
        Acknowledgement(by=True, at=at(21, 9))


def test_who_may_decide() -> None:
    assert STAFF[DIRECTOR].may_decide
    assert STAFF[ACTING].may_decide
    assert not STAFF[DEPUTY].may_decide
    assert not STAFF[CLERK].may_decide


@pytest.mark.parametrize(
    ("steps", "words"),
    [
        ((), "at least"),
        ((Step(1, CLERK, "note"),), "exactly one"),
        ((Step(1, ACTING, "decision"), Step(2, DIRECTOR, "decision")), "exactly one"),
        ((Step(2, ACTING, "decision"), Step(3, CLERK, "note")), "alone"),
        ((Step(1, CLERK, "note"), Step(1, ACTING, "decision")), "alone"),
        ((Step(1, CLERK, "note"), Step(2, ACTING, "decision"), Step(3, 4, "acknowledge")), "from"),
        ((Step(1, CLERK, "note"), Step(1, CLERK, "note"), Step(2, ACTING, "decision")), "twice"),
    ],
)
def test_invalid_route(steps: tuple[Step, ...], words: str) -> None:
    with pytest.raises(RoutingError, match=r"^steps: ") as caught:
        Route(steps)
    assert words in caught.value.message


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((0, CLERK, "note"), "step.order"),
        ((1, CLERK, "sign"), "step.kind"),
        ((1, "x", "note"), "step.assignee"),
    ],
)
def test_invalid_step(args: tuple, field: str) -> None:
    with pytest.raises(RoutingError) as caught:
        Step(*args)
    assert caught.value.field == field


def test_route_against_the_roster() -> None:
    with pytest.raises(RoutingError, match="not on the roster"):
        start(Route((Step(1, 99, "note"), Step(2, ACTING, "decision"))), ROSTER)
    with pytest.raises(RoutingError, match="cannot take the decision"):
        start(Route((Step(1, CLERK, "note"), Step(2, DEPUTY, "decision"))), ROSTER)
    with pytest.raises(RoutingError, match="appears twice"):
        start(SEED_ROUTE, (*ROSTER, STAFF[CLERK]))


# --- turns ---------------------------------------------------------------------------------


def test_can_act_explains_why_not() -> None:
    state = received()
    allowed = can_act(state, CLERK)
    assert allowed and allowed.step == Step(1, CLERK, "note")
    waiting = can_act(state, ACTING)
    assert not waiting
    assert "ยังไม่ถึงลำดับ" in waiting.reason
    assert "ยังไม่ถึงลำดับ / not your turn: waiting for step 1 (นางสาวอัญชลี ธรรมศรีใจ)" in waiting.reason
    assert waiting.step == Step(3, ACTING, "decision")
    assert "not assigned" in can_act(state, TEACHER).reason
    assert "unknown staff" in can_act(state, 99).reason
    after = apply(state, clerk_note())
    assert "already acted" in can_act(after, CLERK).reason
    assert "completed" in can_act(completed(), PLANNING_HEAD).reason


def test_out_of_turn() -> None:
    error = refused(received(), deputy_note(), "by")
    assert "ยังไม่ถึงลำดับ" in error.message
    assert "waiting for step 1" in error.message
    state = apply(received(), clerk_note())
    error = refused(state, inform(), "by")
    assert "waiting for step 2 (นายสมพงษ์ นันตะภาพ)" in error.message


def test_a_deputy_cannot_decide() -> None:
    state = replay(SEED_ROUTE, ROSTER, [clerk_note()])  # the deputy's own turn
    error = refused(state, inform(by=DEPUTY), "by")
    assert "wrong role" in error.message
    assert "นายสมพงษ์ นันตะภาพ is a deputy" in error.message
    refused(state, inform(by=CLERK), "by")


def test_the_director_cannot_take_someone_elses_decision_step() -> None:
    state = replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note()])
    error = refused(state, inform(by=DIRECTOR), "by")
    assert "not assigned" in error.message


def test_an_acting_director_signs_as_acting() -> None:
    state = replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note()])
    bare = Signature(
        staff_id=ACTING, name="นายภาณุวัฒน์ ลาสูทธิ", position="รองผู้อำนวยการ", at=at(20, 14)
    )
    decision = Decision(kind="ทราบ", signature=bare)
    refused(state, decision, "signature.acting")


def test_the_event_must_fit_the_step() -> None:
    state = received()
    refused(state, ack(CLERK, at(20, 9)), "event")
    state = replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note()])
    acting_note = deputy_note(id="n3", signature=STAFF[ACTING].sign(at(20, 14)))
    error = refused(state, acting_note, "event")
    assert "decision" in error.message


def test_editing_a_signed_note_is_refused() -> None:
    state = apply(received(), clerk_note())
    edited = clerk_note(summary="ด้วย สอศ. แจ้งเรื่องอื่น มาเพื่อ")
    error = refused(state, edited, "id")
    assert "signed" in error.message
    # the same id by anyone else is just as much an edit
    refused(state, deputy_note(id="n1"), "id")


def test_a_signed_note_keeps_what_was_signed() -> None:
    """Nothing outside a note changes it: proposals handed in as a list become the note's own
    tuple, so the caller's list edited afterwards leaves the note alone; a state's events and
    roster cannot be changed through it either (only apply makes the next state)."""
    proposals = [Proposal(TO_KNOW), Proposal(SUGGEST_INFORM, PEOPLE)]
    note = clerk_note(proposals=proposals)
    proposals[0] = Proposal(TO_CONSIDER)
    proposals.append(Proposal(OTHER, "เพิ่มภายหลัง"))
    assert note.proposals == (Proposal(TO_KNOW), Proposal(SUGGEST_INFORM, PEOPLE))
    assert note_lines(note)[2:4] == [f"{CHECK} {TO_KNOW}", f"{CHECK} {SUGGEST_INFORM}.....{PEOPLE}"]
    state = apply(received(), note)
    assert state.events == (note,)
    with pytest.raises(TypeError):
        state.roster[TEACHER] = STAFF[CLERK]  # type: ignore[index]
    with pytest.raises(FrozenInstanceError):
        note.summary = "แก้ไข"  # type: ignore[misc]
    assert refused(state, clerk_note(summary="แก้ไข"), "id").field == "id"


def test_acting_after_completion_is_refused() -> None:
    state = completed()
    refused(state, ack(PLANNING_HEAD, at(22, 9)), "status")
    refused(state, inform(when=at(22, 9)), "status")
    refused(state, deputy_note(id="n9", signature=STAFF[DEPUTY].sign(at(22, 9))), "status")


def test_only_assignees_acknowledge() -> None:
    state = decided()
    error = refused(state, ack(TEACHER), "by")
    assert "not assigned" in error.message
    refused(state, ack(99), "by")
    state = apply(state, ack(PLANNING_HEAD))
    error = refused(state, ack(PLANNING_HEAD, at(21, 10)), "by")
    assert "already acted" in error.message


def test_events_go_forward_in_time() -> None:
    state = apply(received(), clerk_note())
    error = refused(state, deputy_note(signature=STAFF[DEPUTY].sign(at(20, 8))), "at")
    assert "earlier" in error.message


def test_decision_assignees_must_be_on_the_roster() -> None:
    state = replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note()])
    refused(state, inform(PLANNING_HEAD, 99), "assignees[1]")
    back = Decision(
        kind="ส่งคืน", reason="ขอข้อมูล", return_to=99, signature=STAFF[ACTING].sign(at(20, 14))
    )
    refused(state, back, "return_to")


def test_not_an_event() -> None:
    refused(received(), "เกษียน", "event")  # type: ignore[arg-type]


def test_apply_leaves_the_earlier_state_alone() -> None:
    before = received()
    after = apply(before, clerk_note())
    assert before.events == () and before.taken_by == (None, None, None)
    assert after.events == (clerk_note(),)
    assert after.taken_by == (0, None, None)


def test_a_decision_without_assignees_completes_the_route() -> None:
    noted = [clerk_note(), deputy_note()]
    for kind in ("ทราบ", "อนุญาต", "อนุมัติ", "ลงนามแล้ว", "เก็บเข้าแฟ้ม"):
        decision = Decision(kind=kind, signature=STAFF[ACTING].sign(at(20, 14)))
        state = replay(SEED_ROUTE, ROSTER, [*noted, decision])
        assert status(state) == "completed"
        assert who_may_act(state) == set()


def test_a_director_decides_without_an_acting_relation() -> None:
    route = Route((Step(1, CLERK, "note"), Step(2, DIRECTOR, "decision")))
    decision = Decision(
        kind="มอบ",
        people="ครูสอนดี",
        assignees=(TEACHER,),
        signature=STAFF[DIRECTOR].sign(at(20, 14)),
    )
    state = replay(route, ROSTER, [clerk_note(), decision])
    assert status(state) == "decided"
    assert who_may_act(state) == {TEACHER}


# --- parallel steps ------------------------------------------------------------------------


def test_parallel_notes_all_before_the_next_order() -> None:
    route = Route(
        (
            Step(1, CLERK, "note"),
            Step(2, DEPUTY, "note"),
            Step(2, PLANNING_DEPUTY, "note"),
            Step(3, ACTING, "decision"),
        )
    )
    state = apply(start(route, ROSTER), clerk_note())
    assert who_may_act(state) == {DEPUTY, PLANNING_DEPUTY}
    assert not can_act(state, ACTING)

    planning_note = deputy_note(id="n3", signature=STAFF[PLANNING_DEPUTY].sign(at(20, 10)))
    state = apply(state, planning_note)
    assert who_may_act(state) == {DEPUTY}
    error = refused(state, inform(), "by")
    assert "waiting for step 2 (นายสมพงษ์ นันตะภาพ)" in error.message

    state = apply(state, deputy_note())
    assert who_may_act(state) == {ACTING}
    assert status(apply(state, inform())) == "decided"


def test_parallel_acknowledgements_in_any_order() -> None:
    for first, second in ((PLANNING_DEPUTY, PLANNING_HEAD), (PLANNING_HEAD, PLANNING_DEPUTY)):
        state = apply(decided(), ack(first))
        assert who_may_act(state) == {second}
        assert status(apply(state, ack(second))) == "completed"


# --- return for more work -------------------------------------------------------------------


def give_back(to: int = CLERK) -> Decision:
    return Decision(
        kind="ส่งคืน",
        reason="ขอสำเนาหนังสือ สตอ. ประกอบ",
        return_to=to,
        signature=STAFF[ACTING].sign(at(20, 14)),
    )


def returned():
    return replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note(), give_back()])


def test_return_reopens_the_route_with_a_new_note() -> None:
    state = returned()
    assert status(state) == "returned"
    assert final_decision(state) is None
    assert who_may_act(state) == {CLERK}
    assert state.steps[-2:] == (Step(4, CLERK, "note"), Step(5, ACTING, "decision"))

    amended = clerk_note(
        id="n1-2",
        amends="n1",
        summary=SUMMARY + " (แนบสำเนา)",
        signature=STAFF[CLERK].sign(at(20, 15)),
    )
    state = apply(state, amended)
    assert status(state) == "routing"
    assert who_may_act(state) == {ACTING}
    assert [n.id for n in notes(state)] == ["n1", "n2", "n1-2"]
    assert notes(state)[0] == clerk_note()  # the signed note is still there, unchanged

    state = apply(state, inform(when=at(20, 16)))
    assert status(state) == "decided"
    state = apply(apply(state, ack(PLANNING_HEAD)), ack(PLANNING_DEPUTY))
    assert status(state) == "completed"


def test_return_to_someone_else() -> None:
    state = replay(SEED_ROUTE, ROSTER, [clerk_note(), deputy_note(), give_back(PLANNING_HEAD)])
    assert who_may_act(state) == {PLANNING_HEAD}
    fresh = deputy_note(
        id="n3", summary="ข้อมูลงบประมาณตามที่ขอ", signature=STAFF[PLANNING_HEAD].sign(at(20, 15))
    )
    assert status(apply(state, fresh)) == "routing"


def test_returned_letters_refuse_edits_and_bad_amendments() -> None:
    state = returned()
    refused(state, clerk_note(signature=STAFF[CLERK].sign(at(20, 15))), "id")
    late = STAFF[CLERK].sign(at(20, 15))
    error = refused(state, clerk_note(id="n4", amends="n0", signature=late), "amends")
    assert "no note 'n0'" in error.message
    error = refused(state, clerk_note(id="n4", amends="n2", signature=late), "amends")
    assert "นายสมพงษ์ นันตะภาพ's" in error.message
    refused(state, give_back(), "by")  # the decision waits for the new note


def test_an_amended_note_is_amended_again_through_its_latest_version() -> None:
    state = returned()
    state = apply(
        state, clerk_note(id="n1-2", amends="n1", signature=STAFF[CLERK].sign(at(20, 15)))
    )
    again = Decision(
        kind="ส่งคืน", reason="ยังขาดเอกสาร", return_to=CLERK, signature=STAFF[ACTING].sign(at(20, 16))
    )
    state = apply(state, again)
    assert status(state) == "returned"
    late = STAFF[CLERK].sign(at(20, 17))
    error = refused(state, clerk_note(id="n1-3", amends="n1", signature=late), "amends")
    assert "amended by 'n1-2'" in error.message
    state = apply(state, clerk_note(id="n1-3", amends="n1-2", signature=late))
    assert who_may_act(state) == {ACTING}


def test_replay_is_apply_in_order() -> None:
    events = [clerk_note(), deputy_note(), inform(), ack(PLANNING_DEPUTY), ack(PLANNING_HEAD)]
    state = received()
    for event in events:
        state = apply(state, event)
    assert replay(SEED_ROUTE, ROSTER, events) == state
