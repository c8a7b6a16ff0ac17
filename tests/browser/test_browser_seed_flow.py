"""The seed's flow in a real browser (Debian's chromium): OVEC's mailout reaches Lampang, the
college logs in with the password on its slip, adds its staff and registers the letter; the
clerk, the deputy and the acting director write their notes and the decision in turn; an
assignee acknowledges; OVEC sees the college as decided; the annotated PDF holds every note.

Screenshots of each key page go to tests/screenshots/.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from saraban.domain.routing import SUGGEST_ASSIGN, SUGGEST_INFORM, TO_CONSIDER, TO_KNOW
from tests.support.browser import (
    LAMPANG,
    LAMPANG_NAME,
    OVEC_PASSWORD,
    OVEC_USER,
    SCREENSHOTS,
    SEED_STAFF,
    add_ovec_user,
    add_staff,
    app_with_pages,
    check_annotated,
    first_login,
    live_server,
    log_in,
    log_out,
    new_page,
    open_task,
    page_settings,
    run_small_mailout,
    screenshot,
    set_own_password,
    sqlite_engine,
    unlabelled_fields,
)
from tests.support.pdftext import render_page

SUBJECT = (
    "การติดตามการดำเนินงานของสถานศึกษาและสถาบันการอาชีวศึกษา ในการขับเคลื่อนการจัดการอาชีวศึกษา "
    "ปีงบประมาณ พ.ศ. 2569"
)
SUMMARY = (
    "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของสถานศึกษา ในการขับเคลื่อนการอาชีวศึกษา "
    "ปีงบประมาณ พ.ศ. 2569 มาเพื่อ"
)
PEOPLE = "รองฯ ผ.ผ., หน.งานวางแผนฯ"



@pytest.mark.slow
def test_seed_flow_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    engine = sqlite_engine(tmp_path)
    settings = page_settings(tmp_path / "data")
    mailed = run_small_mailout(tmp_path, engine)  # OVEC's mailout to three colleges
    add_ovec_user(engine, settings)
    app = app_with_pages(settings, engine)
    passwords: dict[str, str] = {}

    with live_server(app) as base:
        # --- the college, with the password from its slip --------------------------------
        college = new_page(browser, base)
        college.goto("/login")
        expect(college.get_by_role("heading", name="เข้าสู่ระบบ")).to_be_visible()
        assert unlabelled_fields(college) == []
        screenshot(college, "01-login")
        log_in(college, LAMPANG, mailed.passwords[LAMPANG])
        expect(college.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()
        expect(college.get_by_text(LAMPANG_NAME).first).to_be_visible()
        row = college.get_by_role("row").filter(has_text=SUBJECT)
        expect(row).to_contain_text("ยังไม่ลงรับ")
        screenshot(college, "02-inbox-unread")

        for role in ("clerk", "deputy", "acting", "planning_deputy", "planning_head"):
            passwords[role] = add_staff(college, SEED_STAFF[role])
            if role == "clerk":
                screenshot(college, "03-staff-first-password")
        college.get_by_role("link", name="กลับไปหน้ารายชื่อบุคลากร").click()
        staff_table = college.get_by_role("table")
        expect(staff_table.get_by_role("row")).to_have_count(6)
        expect(staff_table).to_contain_text("รักษาการในตำแหน่ง ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง")
        assert unlabelled_fields(college) == []
        screenshot(college, "04-staff-list")
        college.get_by_role("link", name=f"แก้ไขข้อมูล {SEED_STAFF['acting']['name']}").click()
        expect(college.get_by_label("การรักษาการ", exact=True)).to_have_value("รักษาการในตำแหน่ง")
        assert unlabelled_fields(college) == []
        screenshot(college, "04b-staff-edit")

        college.get_by_role("link", name="หนังสือเข้า").click()
        college.get_by_role("link", name=SUBJECT).click()
        expect(college.get_by_role("img", name=re.compile("หน้า 1 จาก 4"))).to_be_visible()
        receive = college.get_by_role("region", name="ลงรับหนังสือ")
        receive.get_by_label("วันที่").select_option("10")  # ลงวันที่ as on the letter
        receive.get_by_label("เดือน").select_option(label="เมษายน")
        receive.get_by_label("ปี พ.ศ.").fill("2569")
        assert unlabelled_fields(college) == []
        screenshot(college, "05-letter-before-receipt")
        receive.get_by_role("button", name="ลงรับหนังสือ").click()
        expect(college.get_by_role("status")).to_contain_text("ลงรับแล้ว เลขรับ 1/")
        register = college.get_by_role("region", name="ทะเบียนหนังสือรับ")
        expect(register).to_contain_text("สำนักงานคณะกรรมการการอาชีวศึกษา")
        expect(register).to_contain_text("10 เมษายน 2569")
        receipt_url = college.url

        college.get_by_label("ผู้เกษียน ลำดับที่ 1").select_option(
            label=f"{SEED_STAFF['clerk']['name']} ({SEED_STAFF['clerk']['position']})"
        )
        college.get_by_label("ผู้เกษียน ลำดับที่ 2").select_option(
            label=f"{SEED_STAFF['deputy']['name']} ({SEED_STAFF['deputy']['position']})"
        )
        acting_director = SEED_STAFF["acting"]
        college.get_by_label("ผู้สั่งการ").select_option(
            label=f"{acting_director['name']} (รักษาการในตำแหน่ง {acting_director['acting_for']})"
        )
        assert unlabelled_fields(college) == []
        college.get_by_role("button", name="เสนอตามลำดับ").click()
        expect(college.get_by_role("status")).to_contain_text("เสนอหนังสือตามลำดับแล้ว")
        screenshot(college, "06-letter-routed")
        log_out(college)

        # --- the clerk's note, with the proposal checkboxes --------------------------------
        clerk = new_page(browser, base)
        log_in(clerk, f"{SEED_STAFF['clerk']['handle']}@{LAMPANG}", passwords["clerk"])
        expect(clerk.get_by_role("heading", name="เปลี่ยนรหัสผ่าน")).to_be_visible()
        screenshot(clerk, "07-first-login-password")
        set_own_password(clerk, passwords["clerk"])
        screenshot(clerk, "08-inbox-with-task")
        open_task(clerk)
        clerk.get_by_label("สาระสำคัญ").fill(SUMMARY)
        clerk.get_by_role("checkbox", name=TO_KNOW).check()
        clerk.get_by_role("checkbox", name=TO_CONSIDER).check()
        clerk.get_by_role("checkbox", name=SUGGEST_INFORM, exact=True).check()
        clerk.get_by_label(f"{SUGGEST_INFORM} (ระบุ)").fill(PEOPLE)
        clerk.get_by_role("checkbox", name=SUGGEST_ASSIGN, exact=True).check()
        clerk.get_by_label(f"{SUGGEST_ASSIGN} (ระบุ)").fill(PEOPLE)
        assert unlabelled_fields(clerk) == []
        screenshot(clerk, "09-note-form")
        clerk.get_by_role("button", name="ลงนามเกษียน").click()
        expect(clerk.get_by_role("status")).to_contain_text("ลงนามบันทึกเกษียนแล้ว")
        notes = clerk.get_by_role("region", name="บันทึกเกษียน")
        expect(notes).to_contain_text(f"/ เห็นควรแจ้ง/มอบ.....{PEOPLE}")

        # --- the deputy forwards ----------------------------------------------------------
        deputy = new_page(browser, base)
        first_login(deputy, f"{SEED_STAFF['deputy']['handle']}@{LAMPANG}", passwords["deputy"])
        open_task(deputy)
        deputy.get_by_role("button", name="ลงนามเกษียน").click()
        expect(deputy.get_by_role("status")).to_contain_text("ลงนามบันทึกเกษียนแล้ว")

        # --- the acting director decides --------------------------------------------------
        acting = new_page(browser, base)
        first_login(acting, f"{SEED_STAFF['acting']['handle']}@{LAMPANG}", passwords["acting"])
        open_task(acting)
        acting.get_by_role("radio", name="แจ้ง", exact=True).check()
        expect(acting.get_by_label("แจ้ง/มอบ ผู้ใด")).to_have_value(PEOPLE)
        acting.get_by_role(
            "checkbox", name=re.compile(SEED_STAFF["planning_deputy"]["name"])
        ).check()
        acting.get_by_role("checkbox", name=re.compile(SEED_STAFF["planning_head"]["name"])).check()
        expect(
            acting.get_by_text("รักษาการในตำแหน่ง ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง").first
        ).to_be_visible()
        assert unlabelled_fields(acting) == []
        screenshot(acting, "10-decision-form")
        acting.get_by_role("button", name="ลงนามสั่งการ").click()
        expect(acting.get_by_role("status")).to_contain_text("ลงนามสั่งการแล้ว")

        # --- an assignee acknowledges -----------------------------------------------------
        head = new_page(browser, base)
        handle = SEED_STAFF["planning_head"]["handle"]
        first_login(head, f"{handle}@{LAMPANG}", passwords["planning_head"])
        open_task(head)
        head.get_by_role("button", name="ลงนามรับทราบ").click()
        expect(head.get_by_role("status")).to_contain_text("ลงนามรับทราบแล้ว")
        expect(head.get_by_role("region", name="เส้นทางการเสนอ")).to_contain_text("สั่งการ: แจ้ง")
        screenshot(head, "11-letter-decided")

        # --- OVEC sees the college as decided ---------------------------------------------
        ovec = new_page(browser, base)
        log_in(ovec, OVEC_USER, OVEC_PASSWORD)
        expect(ovec.get_by_role("heading", name="หนังสือเวียนที่ส่ง")).to_be_visible()
        screenshot(ovec, "12-ovec-mailouts")
        ovec.get_by_role("link", name="ติดตามสถานะ", exact=True).click()
        lampang = ovec.get_by_role("row").filter(has_text=LAMPANG_NAME)
        expect(lampang).to_contain_text("สั่งการแล้ว")
        expect(lampang).to_contain_text("แจ้ง " + PEOPLE)
        expect(ovec.get_by_role("table").get_by_role("row")).to_have_count(4)
        screenshot(ovec, "13-ovec-tracking")
        ovec.get_by_role("link", name="ยังไม่สั่งการ").click()
        expect(ovec.get_by_role("table").get_by_role("row")).to_have_count(3)  # header + 2
        expect(ovec.get_by_role("table")).not_to_contain_text(LAMPANG_NAME)
        with ovec.expect_download() as download:
            ovec.get_by_role("link", name="ดาวน์โหลด CSV").click()
        csv = Path(download.value.path()).read_bytes().decode("utf-8-sig")
        assert LAMPANG not in csv and len(csv.strip().splitlines()) == 3

        # --- the annotated letter holds every note ----------------------------------------
        head.goto(receipt_url)
        detail = head.request.get(receipt_url.replace("/receipts/", "/api/receipts/")).json()
        events = detail["route"]["events"]
        assert [e["kind"] for e in events] == ["note", "note", "decision", "acknowledgement"]
        annotated = head.request.get(f"{receipt_url}/annotated.pdf")
        assert annotated.ok and annotated.headers["content-type"] == "application/pdf"
        pdf = annotated.body()
        for index in (0, 1):  # to look at: the stamp on page 1, the notes on page 2
            image = render_page(pdf, index, dpi=90)
            image.save(SCREENSHOTS / f"21-annotated-letter-page{index + 1}.png")
        letter = head.request.get(f"{receipt_url}/letter.pdf").body()
        check_annotated(pdf, letter, events, detail["receipt"]["receipt_number"])
