"""The college's pages without a browser (SQLite and PostgreSQL): the inbox and its search,
registering letters, the route through its forms to the annotated letter, and what a college
may not see (404, never 403)."""

from __future__ import annotations

import io
import re
from datetime import date
from typing import Any

import pdfplumber
from sqlalchemy import func, update
from sqlmodel import Session, select

from letters.annotation import PEN_BLUE
from saraban.storage.models import Mailout, Receipt
from tests.support.browser import (
    LAMPANG,
    LAMPANG_NAME,
    SEED_STAFF,
    Site,
    Visitor,
    check_annotated,
    option_value,
)
from tests.support.pdftext import page_texts, words_in_order
from tests.support.service import tiny_pdf

PEOPLE = "รองฯ ผ.ผ., หน.งานวางแผนฯ"
SUMMARY = "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของสถานศึกษา มาเพื่อ"


PAPER_LETTER = {
    "sender": "สำนักงานจังหวัดลำปาง",
    "addressee": "ผู้อำนวยการ",
    "subject": "ขอเชิญประชุม",
    "channel": "paper",
}


def _register_paper(visitor: Visitor, **fields: str) -> Any:
    """A letter that came on paper registered through the form, with a one-page scan."""
    files = {"file": ("scan.pdf", tiny_pdf("scan"), "application/pdf")}
    return visitor.submit("/receipts", {**PAPER_LETTER, **fields}, files=files)


def _receipts(site: Site) -> int:
    with Session(site.engine) as session:
        return session.exec(select(func.count()).select_from(Receipt)).one()


def test_inbox_states_and_search(site: Site) -> None:
    college = site.college()
    page = college.get("/inbox")
    assert page.status_code == 200
    assert '<html lang="th">' in page.text
    assert "การติดตามการดำเนินงานของสถานศึกษา" in page.text
    assert "ยังไม่ลงรับ" in page.text and "ศธ 0603/ว 5553" in page.text
    assert re.search(r"\d{1,2} [ก-๙.]+ 25\d\d", page.text)  # a Buddhist-era date
    assert page.headers["cache-control"] == "no-store"
    for query in ("5553", "สำนักงานคณะกรรมการการอาชีวศึกษา", "ขับเคลื่อน"):
        assert "ศธ 0603/ว 5553" in college.get("/inbox", params={"q": query}).text, query
    missing = college.get("/inbox", params={"q": "ไม่มีเรื่องนี้"})
    assert "ไม่พบหนังสือที่ตรงกับการค้นหา" in missing.text
    assert "ศธ 0603/ว 5553" not in college.get("/inbox", params={"state": "decided"}).text

    college.receive(site.item_id())
    received = college.get("/inbox", params={"state": "received"}).text
    assert "ศธ 0603/ว 5553" in received and re.search(r"1/25\d\d", received)
    assert "ศธ 0603/ว 5553" not in college.get("/inbox", params={"state": "unread"}).text
    assert "ศธ 0603/ว 5553" in college.get("/inbox", params={"q": "1/25"}).text


def test_the_route_through_its_forms_to_the_annotated_letter(site: Site) -> None:
    college = site.college()
    staff = site.staff(college, "clerk", "deputy", "acting", "planning_deputy", "planning_head")
    path = college.receive(site.item_id())
    page = college.get(path).text
    assert "10 เมษายน 2569" in page  # ลงวันที่, in Thai
    plan = {
        "note_1": option_value(page, "note_1", SEED_STAFF["clerk"]["name"]),
        "note_2": option_value(page, "note_2", SEED_STAFF["deputy"]["name"]),
        "decider": option_value(page, "decider", SEED_STAFF["acting"]["name"]),
    }
    assert college.submit(f"{path}/route", plan).url.path == path

    _, deputy = staff["deputy"]
    deputy.get(path)
    early = deputy.submit(f"{path}/notes", {"to_position": "ผู้อำนวยการ"})
    assert early.status_code == 409  # not their turn yet: the page says why
    assert "ยังไม่ถึงลำดับ" in early.text and "Traceback" not in early.text

    _, clerk = staff["clerk"]
    form = clerk.get(path).text
    assert "บันทึกเกษียนเสนอ" in form and 'type="checkbox"' in form
    note = {
        "to_position": "ผู้อำนวยการ",
        "summary": SUMMARY,
        "proposal": ["เพื่อโปรดทราบ", "เพื่อโปรดพิจารณา", "เห็นควรแจ้ง", "เห็นควรมอบ"],
        "inform_text": PEOPLE,
        "assign_text": PEOPLE,
    }
    done = clerk.submit(f"{path}/notes", note)
    assert done.status_code == 200 and "ลงนามบันทึกเกษียนแล้ว" in done.text
    assert f"/ เห็นควรแจ้ง/มอบ.....{PEOPLE}" in done.text
    assert deputy.submit(f"{path}/notes", {"to_position": "ผู้อำนวยการ"}).status_code == 200

    _, acting = staff["acting"]
    form = acting.get(path).text
    assert f'value="{PEOPLE}"' in form  # the decision's people, as the notes suggested
    decision = {
        "kind": "แจ้ง",
        "people": PEOPLE,
        "assignee": [str(staff["planning_deputy"][0]), str(staff["planning_head"][0])],
    }
    decided = acting.submit(f"{path}/decision", decision)
    assert decided.status_code == 200 and "ลงนามสั่งการแล้ว" in decided.text

    _, head = staff["planning_head"]
    acknowledged = head.submit(f"{path}/acknowledgement")
    assert "ลงนามรับทราบแล้ว" in acknowledged.text
    assert "สั่งการแล้ว" in college.get("/inbox").text

    detail = head.client.get(f"/api{path}").json()
    events = detail["route"]["events"]
    assert [e["kind"] for e in events] == ["note", "note", "decision", "acknowledgement"]
    annotated = head.get(f"{path}/annotated.pdf")
    assert annotated.status_code == 200
    assert annotated.headers["content-type"] == "application/pdf"
    assert annotated.headers["cache-control"] == "private, no-store"
    letter = head.get(f"{path}/letter.pdf").content
    check_annotated(annotated.content, letter, events, detail["receipt"]["receipt_number"])
    # The preview shows the same letter, page by page.
    image = head.get(f"{path}/pages/1.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")
    assert head.get(f"{path}/pages/30.png").status_code == 404


def test_other_colleges_letters_are_not_found(site: Site) -> None:
    lampang = site.college()
    item_id = site.item_id()
    path = lampang.receive(item_id)
    staff_id, _ = site.add_staff(lampang, "clerk")
    other = site.college(site.run.other)
    for url in (
        path,
        f"{path}/letter.pdf",
        f"{path}/annotated.pdf",
        f"{path}/pages/1.png",
        f"/inbox/{item_id}",
        f"/inbox/{item_id}/letter.pdf",
        f"/staff/{staff_id}",
        "/ovec",
        "/ovec/tracking",
        f"/ovec/colleges/{LAMPANG}",
        "/receipts/999999",
        "/receipts/abc",
    ):
        response = other.get(url)
        assert response.status_code == 404, url
        assert "ไม่พบหน้าที่ต้องการ" in response.text and LAMPANG_NAME not in response.text
    refused = other.submit(f"{path}/notes", {"to_position": "ผู้อำนวยการ"})
    assert refused.status_code == 404


def test_staff_pages_are_the_colleges_own(site: Site) -> None:
    college = site.college()
    people = site.staff(college, "clerk")
    _, clerk = people["clerk"]
    assert clerk.get("/staff").status_code == 404  # only the college's own account
    listing = college.get("/staff").text
    assert SEED_STAFF["clerk"]["name"] in listing and "รอเปลี่ยนรหัสผ่าน" not in listing
    bad = college.submit("/staff", {**SEED_STAFF["deputy"], "handle": "Not A Handle!"})
    assert bad.status_code == 422 and "ใช้อักษรภาษาอังกฤษตัวเล็ก" in bad.text
    taken = college.submit("/staff", {**SEED_STAFF["deputy"], "handle": "anchalee"})
    assert taken.status_code == 409 and "ชื่อผู้ใช้นี้มีอยู่แล้ว" in taken.text
    half = college.submit("/staff", {**SEED_STAFF["deputy"], "acting": "รักษาราชการแทน"})
    assert half.status_code == 422 and "ตำแหน่งที่รักษาการ" in half.text

    staff_id = people["clerk"][0]
    edited = college.submit(
        f"/staff/{staff_id}",
        {
            "name": SEED_STAFF["clerk"]["name"],
            "position": "หัวหน้างานบริหารงานทั่วไป",
            "role": "deputy",
            "acting": "รักษาราชการแทน",
            "acting_for": f"ผู้อำนวยการ{LAMPANG_NAME}",
            "active": "on",
        },
    )
    assert edited.status_code == 200 and f"รักษาราชการแทน ผู้อำนวยการ{LAMPANG_NAME}" in edited.text
    reset = college.submit(f"/staff/{staff_id}/password-reset")
    assert reset.status_code == 201 and reset.headers["cache-control"] == "no-store"
    assert 'id="new-password"' in reset.text
    assert clerk.get("/inbox").url.path == "/login"  # the reset ended their session


def test_forms_need_the_sessions_csrf_token(site: Site) -> None:
    college = site.college()
    item_id = site.item_id()
    college.get(f"/inbox/{item_id}")
    for token in ("", "forged"):
        response = college.client.post(f"/inbox/{item_id}/receive", data={"csrf_token": token})
        assert response.status_code == 403 and "แบบฟอร์มนี้หมดอายุแล้ว" in response.text
    assert _receipts(site) == 0


def test_register_a_letter_that_came_on_paper(site: Site) -> None:
    college = site.college()
    assert "ปี พ.ศ." in college.get("/receipts/new").text
    fields = {
        "letter_number": "ลป 0001/123",
        "letter_date_day": "10",
        "letter_date_month": "4",
        "letter_date_year": "2569",
        **PAPER_LETTER,
    }
    files = {"file": ("scan.pdf", tiny_pdf("scan"), "application/pdf")}
    done = college.submit("/receipts", fields, files=files)
    assert done.status_code == 200 and done.url.path.startswith("/receipts/")
    assert "ขอเชิญประชุม" in done.text and "10 เมษายน 2569" in done.text
    assert "หนังสือกระดาษ" in done.text
    assert "ขอเชิญประชุม" in college.get("/inbox", params={"q": "ลำปาง"}).text

    wrong = college.submit(
        "/receipts", fields, files={"file": ("x.pdf", b"not a pdf", "application/pdf")}
    )
    assert wrong.status_code == 422 and "ไม่ใช่ PDF" in wrong.text
    bad_date = college.submit("/receipts", {**fields, "letter_date_year": "2026"}, files=files)
    assert bad_date.status_code == 422 and "ปีพุทธศักราช" in bad_date.text
    no_subject = college.submit("/receipts", {**fields, "subject": ""}, files=files)
    assert no_subject.status_code == 422 and "โปรดกรอกช่องนี้" in no_subject.text
    assert _receipts(site) == 1


def test_only_the_clerk_or_the_college_registers(site: Site) -> None:
    college = site.college()
    people = site.staff(college, "planning_head")
    _, member = people["planning_head"]
    refused = member.get("/receipts/new")
    assert refused.status_code == 403
    assert "การลงรับหนังสือทำได้โดยงานสารบรรณหรือบัญชีของสถานศึกษา" in refused.text
    item_page = member.get(f"/inbox/{site.item_id()}").text
    assert "หนังสือนี้ยังไม่ได้ลงรับ" in item_page and 'action="/inbox/' not in item_page
    assert 'href="/receipts/new"' not in member.get("/inbox").text


def test_a_returned_letter_comes_back_to_the_clerk(site: Site) -> None:
    college = site.college()
    staff = site.staff(college, "clerk", "acting")
    path = college.receive(site.item_id())
    page = college.get(path).text
    plan = {
        "note_1": option_value(page, "note_1", SEED_STAFF["clerk"]["name"]),
        "decider": option_value(page, "decider", SEED_STAFF["acting"]["name"]),
    }
    college.submit(f"{path}/route", plan)
    clerk_id, clerk = staff["clerk"]
    clerk.get(path)
    clerk.submit(f"{path}/notes", {"summary": SUMMARY, "proposal": ["เพื่อโปรดทราบ"]})
    _, acting = staff["acting"]
    acting.get(path)
    no_kind = acting.submit(f"{path}/decision", {"people": ""})
    assert no_kind.status_code == 422 and "โปรดเลือกคำสั่งการ" in no_kind.text
    nobody = acting.submit(f"{path}/decision", {"kind": "แจ้ง", "people": PEOPLE})
    assert nobody.status_code == 422 and "โปรดเลือกผู้ลงนามรับทราบ" in nobody.text
    assert 'value="แจ้ง" checked' in nobody.text  # the form comes back as it was filled
    returned = acting.submit(
        f"{path}/decision",
        {"kind": "ส่งคืน", "reason": "ขอรายละเอียดงบประมาณเพิ่ม", "return_to": str(clerk_id)},
    )
    assert returned.status_code == 200 and "ส่งคืนเพื่อดำเนินการเพิ่ม" in returned.text
    again = clerk.get(path).text
    assert "บันทึกเกษียนเสนอ" in again and "/ ส่งคืน.....ขอรายละเอียดงบประมาณเพิ่ม" in again
    clerk.submit(f"{path}/notes", {"summary": "งบประมาณตามแนบ", "proposal": ["เพื่อโปรดทราบ"]})
    # The people the form suggests for แจ้ง are left out of a ทราบ, not refused.
    done = acting.submit(f"{path}/decision", {"kind": "ทราบ", "people": PEOPLE})
    assert done.status_code == 200 and "สั่งการแล้ว" in done.text
    assert "เสร็จสิ้น" in college.get(path).text


def _note_ids(html: str) -> list[str]:
    """The notes on the letter page, in the order shown."""
    return re.findall(r'<article class="note note-note[^"]*" id="(note-\d+)"', html)


def test_a_signed_note_is_corrected_by_a_new_note(site: Site) -> None:
    """แก้ไขบันทึก: only the signer, only on a note step of theirs (here: the letter returned
    to them), the form filled in from the signed note; the old note stays as signed, marked
    and struck through, with its correction right after it."""
    college = site.college()
    staff = site.staff(college, "clerk", "deputy", "acting")
    path = college.receive(site.item_id())
    (clerk_id, clerk), (deputy_id, deputy) = staff["clerk"], staff["deputy"]
    acting_id, acting = staff["acting"]
    plan = {"note_1": str(clerk_id), "note_2": str(deputy_id), "decider": str(acting_id)}
    college.submit(f"{path}/route", plan)
    clerk.get(path)
    wrong = {
        "summary": "ด้วย สอศ. แจ้งเรื่อง การติดตาม มาเพื่อ",
        "proposal": ["เพื่อโปรดทราบ", "เห็นควรแจ้ง"],
        "inform_text": "รองฯ ผ.ผ.",
    }
    clerk.submit(f"{path}/notes", wrong)
    deputy.get(path)
    deputy.submit(f"{path}/notes", {"summary": "เห็นควรแจ้ง"})

    # Signed and the step taken: no link, and the form is refused.
    page = clerk.get(path).text
    assert "แก้ไขบันทึก</a>" not in page
    early = clerk.get(f"{path}/notes/note-1/amend")
    assert early.status_code == 409 and "แก้ไขบันทึกนี้ไม่ได้ในขณะนี้" in early.text
    assert clerk.get(f"{path}/notes/note-9/amend").status_code == 404

    acting.get(path)
    back = {"kind": "ส่งคืน", "reason": "ระบุผู้รับผิดชอบให้ถูกต้อง", "return_to": str(clerk_id)}
    assert acting.submit(f"{path}/decision", back).status_code == 200
    page = clerk.get(path).text
    assert f'href="{path}/notes/note-1/amend#note-title"' in page and "แก้ไขบันทึก</a>" in page
    assert "note-2/amend" not in page  # the deputy's note is the deputy's
    assert deputy.get(f"{path}/notes/note-2/amend").status_code == 409  # no step of theirs
    assert clerk.get(f"{path}/notes/note-2/amend").status_code == 409

    form = clerk.get(f"{path}/notes/note-1/amend").text
    assert "แก้ไขบันทึกเกษียน" in form and '<input type="hidden" name="amends" value="note-1">' in form
    assert ">ด้วย สอศ. แจ้งเรื่อง การติดตาม มาเพื่อ</textarea>" in form
    assert 'value="เห็นควรแจ้ง" checked' in form and 'value="รองฯ ผ.ผ."' in form
    assert 'value="เพื่อโปรดพิจารณา" checked' not in form
    # Someone else's note cannot be amended by posting its id.
    forged = clerk.submit(f"{path}/notes", {"summary": "x", "amends": "note-2"})
    assert forged.status_code == 422 and 'name="amends" value="note-2"' in forged.text

    fixed = {**wrong, "proposal": ["เพื่อโปรดทราบ", "เห็นควรมอบ"], "assign_text": "หน.งานวางแผนฯ"}
    done = clerk.submit(f"{path}/notes", {**fixed, "inform_text": "", "amends": "note-1"})
    assert done.status_code == 200 and "ลงนามบันทึกฉบับแก้ไขแล้ว" in done.text
    # The original first, marked and struck through, then its correction; then the rest.
    assert _note_ids(done.text) == ["note-1", "note-4", "note-2"]
    assert re.search(r'class="note note-note note-amended" id="note-1"', done.text)
    assert "แก้ไขโดยบันทึกถัดไป" in done.text
    assert re.search(r'class="note note-note note-correction" id="note-4"', done.text)
    assert "/ เห็นควรมอบ.....หน.งานวางแผนฯ" in done.text
    assert "/ เห็นควรแจ้ง.....รองฯ ผ.ผ." in done.text  # the signed note, unchanged
    assert "แก้ไขบันทึก</a>" not in done.text  # the step is taken again
    # The annotated letter as the page shows it: the old note marked and struck through, its
    # correction labelled right after it, then the deputy's note and the return.
    annotated = clerk.get(f"{path}/annotated.pdf").content
    in_order = [
        "(แก้ไขโดยบันทึกถัดไป)",
        "/ เห็นควรแจ้ง.....รองฯ ผ.ผ.",
        "บันทึกฉบับแก้ไข",
        "/ เห็นควรมอบ.....หน.งานวางแผนฯ",
        "/ ส่งคืน.....ระบุผู้รับผิดชอบให้ถูกต้อง",
    ]
    for extractor in ("pypdf", "pdfium"):
        text = "".join(page_texts(annotated, extractor))
        assert words_in_order(in_order, text) == [], extractor
        assert text.count("บันทึกฉบับแก้ไข") == text.count("แก้ไขโดยบันทึกถัดไป") == 1
    with pdfplumber.open(io.BytesIO(annotated)) as pdf:
        strikes = [
            line
            for page in pdf.pages
            for line in page.lines
            if tuple(round(v, 2) for v in line["stroking_color"]) == PEN_BLUE.rgb()
        ]
    # A strike through each printed line of the old note: เรียน, the summary, two proposals,
    # the name, the position and the date.
    assert len(strikes) >= 7
    # The decision form suggests whom the corrected notes name.
    decision_form = acting.get(path).text
    assert 'id="f-people" name="people" type="text" value="หน.งานวางแผนฯ"' in decision_form


def _set_dates(site: Site, *, mailout: date | None = None, receipt: bool = False) -> None:
    """The seed mailout's stored letter date; ``receipt``: the receipts' dates blanked (as a
    letter registered with none)."""
    with Session(site.engine) as session:
        if receipt:
            session.execute(update(Receipt).values(letter_date=None))
        else:
            session.execute(update(Mailout).values(letter_date=mailout))
        session.commit()


def _inbox_row(html: str, letter_number: str) -> str:
    rows = [row for row in re.findall(r"<tr[ >].*?</tr>", html, re.S) if letter_number in row]
    assert len(rows) == 1, rows
    return rows[0]


def test_the_date_a_letter_bears_is_shown(site: Site) -> None:
    """ลงวันที่ (the mailout's ``letter_date``) in the inbox list, on the delivered letter's page
    (its receive form filled in with it) and on the letter page once registered."""
    college = site.college()
    item_id = site.item_id()
    _set_dates(site, mailout=date(2026, 4, 9))  # not the dispatch register's 10 April
    inbox = college.get("/inbox").text
    assert '<th scope="col">ลงวันที่</th>' in inbox
    dated = r'>ศธ 0603/ว 5553</td>\s*<td class="nowrap">9 เม.ย. 2569</td>'
    assert re.search(dated, _inbox_row(inbox, "ศธ 0603/ว 5553"))
    item = college.get(f"/inbox/{item_id}").text
    assert "<dt>ลงวันที่</dt><dd>9 เมษายน 2569</dd>" in item
    assert '<option value="9" selected>9</option>' in item
    assert '<option value="4" selected>เมษายน</option>' in item
    assert 'name="letter_date_year" type="text"' in item and 'value="2569"' in item
    assert "ตามที่ สอศ. ส่ง" in item

    form = {"letter_date_day": "9", "letter_date_month": "4", "letter_date_year": "2569"}
    done = college.submit(f"/inbox/{item_id}/receive", form)
    assert done.status_code == 200 and done.url.path.startswith("/receipts/")
    assert "<dt>ลงวันที่</dt><dd>9 เมษายน 2569</dd>" in done.text
    assert re.search(dated, _inbox_row(college.get("/inbox").text, "ศธ 0603/ว 5553"))
    # Registered with no date (before the mailout stored one): the mailout's date is shown.
    _set_dates(site, receipt=True)
    page = college.get(done.url.path).text
    assert "<dt>ลงวันที่</dt><dd>9 เมษายน 2569</dd>" in page

    # A paper letter's own date in the list; none written: a dash.
    paper = _register_paper(college, letter_number="ลป 0001/7")
    assert "<dt>ลงวันที่</dt><dd>—</dd>" in paper.text
    row = _inbox_row(college.get("/inbox").text, "ลป 0001/7")
    assert re.search(r'>ลป 0001/7</td>\s*<td class="nowrap">—</td>', row), row


def test_the_register_names_who_registered(site: Site) -> None:
    """ผู้ลงรับ: the college's name when its own account registered the letter, the clerk's
    name and position when the clerk did; never the account's code."""
    college = site.college()
    path = college.receive(site.item_id())
    page = college.get(path).text
    assert f"<dt>ผู้ลงรับ</dt><dd>{LAMPANG_NAME}</dd>" in page
    assert f"<dd>{LAMPANG}</dd>" not in page

    _, clerk = site.staff(college, "clerk")["clerk"]
    clerk.get("/receipts/new")
    done = _register_paper(clerk)
    assert done.status_code == 200 and done.url.path.startswith("/receipts/")
    member = SEED_STAFF["clerk"]
    shown = f"<dt>ผู้ลงรับ</dt><dd>{member['name']} {member['position']}</dd>"
    assert shown in done.text
    assert shown in college.get(done.url.path).text  # the same to everyone in the college
    assert f"{member['handle']}@{LAMPANG}" not in done.text
