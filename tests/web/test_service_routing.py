"""The seed's routing through the JSON API: Lampang registers OVEC's letter, its head of general
administration writes a note, a deputy adds one, the acting director decides แจ้ง รองฯ ผ.ผ.,
หน.งานวางแผนฯ, both acknowledge, and OVEC's tracking shows each step."""

from __future__ import annotations

import csv
import io
from datetime import datetime

from saraban.domain.vocabulary import short_thai_date, year_be
from saraban.services import audit
from tests.support.service import LAMPANG, World

SUMMARY = (
    "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของ สถานศึกษา ในการขับเคลื่อนการอาชีวศึกษา "
    "ปีงบประมาณ พ.ศ. 2569 มาเพื่อ"
)
PEOPLE = "รองฯ ผ.ผ., หน.งานวางแผนฯ"
DIRECTOR = "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง"
ALL_STAFF = ("clerk", "deputy", "acting", "planning_deputy", "planning_head")


def short_date(at: str) -> str:
    """The short Thai date a note prints for an event at ``at``: ``20 เม.ย. 69``."""
    return short_thai_date(datetime.fromisoformat(at))


def tracking_row(ovec, code: str) -> dict:
    page = ovec.ok("GET", "/api/tracking", params={"college": code})
    (row,) = page["rows"]
    return row


def test_the_seed_routing_from_receipt_to_acknowledgement(world: World) -> None:
    ovec = world.ovec()
    lampang = world.college(staff=ALL_STAFF)
    clerk, deputy, acting = (lampang.staff[r] for r in ("clerk", "deputy", "acting"))
    ids = lampang.ids

    assert tracking_row(ovec, LAMPANG)["stage"] == "delivered"
    assert tracking_row(ovec, LAMPANG)["overdue"] is True  # due yesterday, undecided

    (item,) = clerk.ok("GET", "/api/inbox")
    assert item["reference"] == "ศธ 0603/ว 5553"
    assert item["receipt_number"] is None
    entry = clerk.ok(
        "POST",
        f"/api/inbox/{item['item_id']}/receive",
        201,
        json={"letter_date": "2026-04-10", "action": "เสนอผู้อำนวยการ"},
    )
    assert entry["receipt_number"] == f"1/{year_be()}"
    assert entry["letter_number"] == "ศธ 0603/ว 5553"
    assert entry["letter_date"] == "2026-04-10"
    assert entry["sender"] == "สำนักงานคณะกรรมการการอาชีวศึกษา"
    assert entry["subject"].startswith("การติดตามการดำเนินงานของสถานศึกษา")
    assert entry["received_by"] == f"anchalee@{LAMPANG}"
    receipt = entry["id"]
    row = tracking_row(ovec, LAMPANG)
    assert (row["stage"], row["receipt_number"]) == ("received", entry["receipt_number"])
    assert row["received_at"] == entry["received_at"]

    route = clerk.ok(
        "POST",
        f"/api/receipts/{receipt}/route",
        201,
        json={
            "steps": [
                {"order": 1, "staff_id": ids["clerk"], "kind": "note"},
                {"order": 2, "staff_id": ids["deputy"], "kind": "note"},
                {"order": 3, "staff_id": ids["acting"], "kind": "decision"},
            ]
        },
    )
    assert route["waiting_for"] == [ids["clerk"]]
    assert tracking_row(ovec, LAMPANG)["stage"] == "routed"

    early = deputy.post(f"/api/receipts/{receipt}/notes", json={"to_position": "ผู้อำนวยการ"})
    assert early.status_code == 409
    assert "ยังไม่ถึงลำดับ / not your turn" in early.json()["detail"]

    route = clerk.ok(
        "POST",
        f"/api/receipts/{receipt}/notes",
        201,
        json={
            "to_position": "ผู้อำนวยการ",
            "summary": SUMMARY,
            "proposals": [
                {"kind": "เพื่อโปรดทราบ"},
                {"kind": "เพื่อโปรดพิจารณา"},
                {"kind": "เห็นควรแจ้ง", "text": PEOPLE},
                {"kind": "เห็นควรมอบ", "text": PEOPLE},
            ],
        },
    )
    note = route["events"][0]
    assert note["lines"] == [
        "เรียน ผู้อำนวยการ",
        SUMMARY,
        "/ เพื่อโปรดทราบ",
        "/ เพื่อโปรดพิจารณา",
        f"/ เห็นควรแจ้ง/มอบ.....{PEOPLE}",
        "นางสาวอัญชลี ธรรมศรีใจ",
        "หัวหน้างานบริหารงานทั่วไป",
        short_date(note["at"]),
    ]
    assert route["waiting_for"] == [ids["deputy"]]

    route = deputy.ok(
        "POST", f"/api/receipts/{receipt}/notes", 201, json={"to_position": "ผู้อำนวยการ"}
    )
    assert route["events"][1]["lines"][:3] == [
        "เรียน ผู้อำนวยการ",
        "นายสมพงษ์ นันตะภาพ",
        "รองผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง",
    ]

    route = acting.ok(
        "POST",
        f"/api/receipts/{receipt}/decision",
        201,
        json={
            "kind": "แจ้ง",
            "people": PEOPLE,
            "assignees": [ids["planning_deputy"], ids["planning_head"]],
        },
    )
    decision = route["events"][2]
    assert decision["lines"] == [
        f"/ แจ้ง.....{PEOPLE}",
        "(นายภาณุวัฒน์ ลาสูทธิ)",
        "รองผู้อำนวยการ รักษาการในตำแหน่ง",
        DIRECTOR,
        short_date(decision["at"]),
    ]
    assert route["status"] == "decided"
    assert route["waiting_for"] == sorted([ids["planning_deputy"], ids["planning_head"]])
    row = tracking_row(ovec, LAMPANG)
    assert row["stage"] == "decided" and row["overdue"] is False
    assert row["decision"] == f"แจ้ง {PEOPLE}"
    assert row["decided_by"] == f"นายภาณุวัฒน์ ลาสูทธิ รองผู้อำนวยการ รักษาการในตำแหน่ง {DIRECTOR}"
    assert row["decided_at"] == decision["at"]

    for role in ("planning_deputy", "planning_head"):
        member = lampang.staff[role]
        (task,) = member.ok("GET", "/api/tasks")
        assert (task["receipt_id"], task["step"]) == (receipt, "acknowledge")
        route = member.ok("POST", f"/api/receipts/{receipt}/acknowledgement", 201)
        assert route["events"][-1]["lines"][0] == "รับทราบ"
        assert member.ok("GET", "/api/tasks") == []
    assert route["status"] == "completed" and route["waiting_for"] == []

    again = clerk.post(f"/api/receipts/{receipt}/notes", json={"summary": "เพิ่มเติม"})
    assert again.status_code == 409  # completed: nothing more to sign

    detail = clerk.ok("GET", f"/api/receipts/{receipt}")
    assert detail["receipt"]["route_status"] == "completed"
    assert [e["kind"] for e in detail["route"]["events"]] == [
        "note",
        "note",
        "decision",
        "acknowledgement",
        "acknowledgement",
    ]
    assert tracking_row(ovec, LAMPANG)["stage"] == "completed"

    # The other colleges have not moved: delivered, and overdue.
    others = ovec.ok("GET", "/api/tracking", params={"overdue": True})
    assert {r["college_code"] for r in others["rows"]} == set(world.run.codes[1:])
    assert ovec.ok("GET", "/api/tracking", params={"stage": "completed"})["total"] == 1
    (summary,) = ovec.ok("GET", "/api/mailouts")
    assert summary["stages"]["completed"] == 1 and summary["stages"]["delivered"] == 2
    assert summary["overdue"] == 2 and summary["colleges"] == 3

    data = ovec.get("/api/tracking.csv").content
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["หนังสือ (mailout)", "ที่", "รหัสสถานศึกษา", "สถานศึกษา"]
    (lampang_row,) = [r for r in rows[1:] if r[2] == LAMPANG]
    assert f"แจ้ง {PEOPLE}" in lampang_row and "completed" in lampang_row

    assert audit.verify(world.engine).ok
    with world.engine.connect() as conn:
        events = [e for (e,) in conn.exec_driver_sql("SELECT event FROM audit_event ORDER BY seq")]
    story = [e for e in events if e not in ("login", "staff_created", "password_changed")]
    assert story == [
        "user_created",
        "receipt",
        "signature_check",  # the delivered letter's signatures, checked as it is registered
        "route",
        "note",
        "note",
        "decision",
        "acknowledgement",
        "acknowledgement",
        "export",
    ]


def test_returned_for_more_work_then_decided(world: World) -> None:
    lampang = world.college(staff=("clerk", "deputy", "acting"))
    clerk, deputy, acting = (lampang.staff[r] for r in ("clerk", "deputy", "acting"))
    ids = lampang.ids
    entry = clerk.ok("POST", f"/api/inbox/{world.inbox_item()}/receive", 201, json={})
    receipt = entry["id"]
    steps = [
        {"order": 1, "staff_id": ids["clerk"], "kind": "note"},
        {"order": 2, "staff_id": ids["acting"], "kind": "decision"},
    ]
    clerk.ok("POST", f"/api/receipts/{receipt}/route", 201, json={"steps": steps})
    route = clerk.ok(
        "POST", f"/api/receipts/{receipt}/notes", 201, json={"summary": "ด้วย สอศ. แจ้ง"}
    )
    route = acting.ok(
        "POST",
        f"/api/receipts/{receipt}/decision",
        201,
        json={"kind": "ส่งคืน", "reason": "ขอรายละเอียดงบประมาณ", "return_to": ids["deputy"]},
    )
    assert route["status"] == "returned"
    assert route["waiting_for"] == [ids["deputy"]]  # joined the route when named
    deputy.ok("POST", f"/api/receipts/{receipt}/notes", 201, json={"summary": "งบประมาณ 5,000 บาท"})
    route = acting.ok("POST", f"/api/receipts/{receipt}/decision", 201, json={"kind": "ทราบ"})
    assert route["status"] == "completed"
    assert route["decision"] == "ทราบ"

    again = clerk.post(f"/api/inbox/{world.inbox_item()}/receive", json={})
    assert again.status_code == 409  # a delivered letter is registered once
    assert entry["receipt_number"] in again.json()["detail"]


def test_a_signed_note_is_never_edited_a_correction_is_a_new_note(world: World) -> None:
    lampang = world.college(staff=("clerk", "deputy", "acting"))
    clerk, deputy = lampang.staff["clerk"], lampang.staff["deputy"]
    ids = lampang.ids
    receipt = clerk.ok("POST", f"/api/inbox/{world.inbox_item()}/receive", 201, json={})["id"]
    steps = [
        {"order": 1, "staff_id": ids["clerk"], "kind": "note"},
        {"order": 1, "staff_id": ids["deputy"], "kind": "note"},
        {"order": 2, "staff_id": ids["acting"], "kind": "decision"},
    ]
    route = clerk.ok("POST", f"/api/receipts/{receipt}/route", 201, json={"steps": steps})
    assert route["waiting_for"] == sorted([ids["clerk"], ids["deputy"]])  # in parallel
    route = deputy.ok("POST", f"/api/receipts/{receipt}/notes", 201, json={"summary": "ผิด"})
    note_id = route["events"][0]["payload"]["id"]
    second = deputy.post(
        f"/api/receipts/{receipt}/notes", json={"summary": "แก้", "amends": note_id}
    )
    assert second.status_code == 409  # the deputy's step is taken; the note stays as signed
    wrong = clerk.post(f"/api/receipts/{receipt}/notes", json={"summary": "x", "amends": note_id})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "amends"]
