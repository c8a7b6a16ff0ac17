"""Direct delivery in a real browser (Debian's chromium): OVEC's signed circular without the
credential slip is sent from the draft page to two colleges; the page then lists each and its
receipt number; Lampang finds it in its หนังสือเข้า, opens it (the letter's pages, its
signature check) and starts its answer from there, อ้างถึง filled from the letter.

Screenshots go to tests/screenshots/ (d01-…).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, expect
from sqlmodel import Session, select

from saraban.services import organisations
from saraban.storage.engine import session_scope
from saraban.storage.models import Account, College
from tests.support.browser import (
    LAMPANG,
    OVEC_PASSWORD,
    OVEC_USER,
    add_ovec_user,
    app_with_pages,
    live_server,
    log_in,
    new_page,
    page_settings,
    screenshot,
    sqlite_engine,
    unlabelled_fields,
)
from tests.support.drafts import SIGNER
from tests.support.mailouts import mail_small
from tests.support.service import Actor

SUBJECT = "ขอเชิญประชุมผู้บริหารสถานศึกษา ประจำปีงบประมาณ ๒๕๖๙"


@pytest.mark.slow
def test_a_circular_delivered_at_once_and_opened_by_the_college(
    browser: Browser, tmp_path: Path
) -> None:
    engine = sqlite_engine(tmp_path)
    run = mail_small(tmp_path / "mailout", engine)  # three colleges, with their slips
    settings = page_settings(tmp_path / "data")
    add_ovec_user(engine, settings)
    add_ovec_user(engine, settings, "wiwat")
    with session_scope(engine, immediate=True) as s:
        organisations.set_ovec_member(
            s, username="wiwat", role="deputy", position=SIGNER["position"], by="test"
        )
        row = s.exec(select(Account).where(Account.username == "wiwat")).one()
        row.name = SIGNER["name"]
        s.add(row)
    app = app_with_pages(settings, engine)
    with TestClient(app) as client, TestClient(app) as signing:
        clerk_api, signer_api = Actor(client), Actor(signing)
        clerk_api.login(OVEC_USER, OVEC_PASSWORD)
        signer_api.login("wiwat", OVEC_PASSWORD)
        staff = clerk_api.ok("GET", "/api/organisation")["staff"]
        signer_id = next(m["id"] for m in staff if m["username"] == "wiwat")
        body = {
            "kind": "circular",
            "date": "2026-05-01",
            "subject": SUBJECT,
            "to": "ผู้อำนวยการสถานศึกษาในสังกัดสำนักงานคณะกรรมการการอาชีวศึกษา",
            "body": "ด้วยสำนักงานคณะกรรมการการอาชีวศึกษาจะจัดประชุมผู้บริหารสถานศึกษา "
            "เพื่อชี้แจงแนวทางการดำเนินงานประจำปี\n\nจึงเรียนมาเพื่อโปรดทราบ",
            "unit": "สำนักนโยบายและแผนการอาชีวศึกษา",
            "phone": "0 2026 5555",
            "signer_id": signer_id,
            "acting": "ปฏิบัติราชการแทน",
            "on_behalf_of": "เลขาธิการคณะกรรมการการอาชีวศึกษา",
        }
        draft = clerk_api.ok("POST", "/api/drafts", 201, json=body)["id"]
        clerk_api.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": signer_id})
        reference = signer_api.ok("POST", f"/api/drafts/{draft}/approve")["reference"]
    with Session(engine) as s:
        names = {c.code: c.name for c in s.exec(select(College)).all()}
    to = [LAMPANG, next(c for c in run.codes if c != LAMPANG)]

    with live_server(app) as base:
        clerk = new_page(browser, base)
        log_in(clerk, OVEC_USER, OVEC_PASSWORD)
        clerk.goto(f"/drafts/{draft}")
        send = clerk.get_by_role("region", name="ส่งหนังสือ")
        expect(send).to_contain_text("เข้ากล่องหนังสือเข้าของสถานศึกษาที่เลือกทันที")
        for code in to:
            send.get_by_label(re.compile(re.escape(names[code]))).check()
        assert unlabelled_fields(clerk) == []
        screenshot(clerk, "d01-send-direct")
        send.get_by_role("button", name="ส่งหนังสือ").click()
        expect(clerk.get_by_role("status")).to_contain_text(
            f"ส่งหนังสือ {reference} เข้ากล่องหนังสือของ 2 แห่งแล้ว"
        )
        sent = clerk.get_by_role("region", name="ส่งแล้ว")
        for code in to:
            expect(sent.get_by_role("row").filter(has_text=code)).to_contain_text("1/25")
        screenshot(clerk, "d02-delivered")

        college = new_page(browser, base)
        log_in(college, LAMPANG, run.passwords[LAMPANG])
        expect(college.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()
        row = college.get_by_role("row").filter(has_text=SUBJECT)
        expect(row).to_contain_text(reference)
        expect(row).to_contain_text("1/25")
        screenshot(college, "d03-college-inbox")
        row.get_by_role("link").click()
        expect(college.get_by_role("img", name=re.compile("หน้า 1 จาก 1"))).to_be_visible()
        expect(college.get_by_role("region", name="ทะเบียนหนังสือรับ")).to_contain_text(reference)
        expect(college.get_by_text("ลายมือชื่อดิจิทัล").first).to_be_visible()
        assert unlabelled_fields(college) == []
        screenshot(college, "d04-college-letter")
        college.get_by_role("link", name="ตอบหนังสือ").click()
        expect(college.get_by_role("heading", name="ตอบหนังสือ")).to_be_visible()
        expect(college.get_by_label("อ้างถึง", exact=True)).to_have_value(
            re.compile(f"^หนังสือสำนักงานคณะกรรมการการอาชีวศึกษา ที่ {re.escape(reference)}")
        )
        screenshot(college, "d05-college-answers")

        # The receipt register lists it under its number, its link to its own page.
        college.goto("/inbox")
        college.get_by_role("link", name="ทะเบียนหนังสือรับ").click()
        register = college.get_by_role("table")
        entry = register.get_by_role("row").filter(has_text=reference)
        expect(entry).to_contain_text("1/25")
        screenshot(college, "d06-college-register")
        entry.get_by_role("link", name=SUBJECT).click()
        expect(college).to_have_url(re.compile(r"/received/\d+$"))
