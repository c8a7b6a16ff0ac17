"""Sending from the web in a real browser (Debian's chromium): an OVEC clerk composes the seed
circular with every part (an uploaded enclosure, the QR sheet, the credential slip) and
watches the preview follow the typing; the draft goes up for signature; the acting signer
signs with a test key (a PKCS#12 and its passphrase, given in the page) and the letter gets
its ว number; OVEC sends it to the example colleges (a mailout job, run by a real ``saraban
worker``: the clerk follows its page until it has finished; the seed names each college, so
each college's copy is signed with the organisation's seal); a college logs in with the
password on its slip, finds the letter signed and valid, registers it and routes it to a
decision (today's flow).

Screenshots of each new page go to tests/screenshots/ (c01-…).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from saraban.domain.roster import read_roster
from saraban.domain.routing import TO_KNOW
from saraban.services import organisations
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import Account, CollegeCreate, Mailout
from tests.support.browser import (
    LAMPANG,
    LAMPANG_NAME,
    OVEC_PASSWORD,
    OVEC_USER,
    SEED_STAFF,
    add_ovec_user,
    add_staff,
    app_with_pages,
    first_login,
    live_server,
    log_in,
    log_out,
    new_page,
    open_task,
    page_settings,
    screenshot,
    sqlite_engine,
    unlabelled_fields,
)
from tests.support.drafts import ON_BEHALF_OF, SEED_ENCLOSURE, SIGNER, seed_qr, seed_raw
from tests.support.jobs import running_worker, wait_for_job
from tests.support.mailouts import make_folder, slip_credentials
from tests.support.pki import TestPKI

OVEC_DIRECTOR = ("secgen", "เลขาธิการคณะกรรมการการอาชีวศึกษา")
SUMMARY = "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงานของสถานศึกษา มาเพื่อ"
KEY_PASSPHRASE = "กุญแจผู้ลงนาม-ทดสอบ"
SEAL_PASSPHRASE = "ตรา-สอศ-ทดสอบ"
VALID = "ลายมือชื่อดิจิทัลถูกต้อง"


def said(page: Page, text: str) -> None:
    """The page's message says ``text`` (a signed letter's verdict is a status too)."""
    expect(page.get_by_role("status").filter(has_text=text)).to_be_visible()


@pytest.mark.slow
def test_compose_sign_send_receive_in_the_browser(
    browser: Browser, tmp_path: Path, pki: TestPKI, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = sqlite_engine(tmp_path)
    seal = tmp_path / "seal.p12"
    seal.write_bytes(pki.p12_with("signer", SEAL_PASSPHRASE))
    seal.chmod(0o600)
    key = tmp_path / "wiwat.p12"
    key.write_bytes(pki.p12_with("signer", KEY_PASSPHRASE))
    settings = page_settings(
        tmp_path / "data",
        trust_dir=pki.write_trust_store(tmp_path / "ca"),
        seal_file=seal,
        seal_passphrase=SEAL_PASSPHRASE,
    )
    # The worker opens the seal from its own settings: the environment the service has.
    monkeypatch.setenv("SARABAN_SEAL_FILE", str(seal))
    monkeypatch.setenv("SARABAN_SEAL_PASSPHRASE", SEAL_PASSPHRASE)
    roster = read_roster(make_folder(tmp_path, 3) / "roster.csv")
    with session_scope(engine) as s:
        store.import_colleges(
            session=s,
            colleges=[
                CollegeCreate(
                    code=c.code,
                    name=c.name,
                    province=c.province,
                    email=c.email,
                    director_title=c.director_title,
                )
                for c in roster.rows
            ],
        )
    add_ovec_user(engine, settings)
    add_ovec_user(engine, settings, "wiwat")
    with session_scope(engine, immediate=True) as s:
        organisations.set_ovec_member(
            s, username="wiwat", role="deputy", position=SIGNER["position"], by="test"
        )
        signer_row = s.exec(select(Account).where(Account.username == "wiwat")).one()
        signer_row.name = SIGNER["name"]
        s.add(signer_row)
    add_ovec_user(engine, settings, OVEC_DIRECTOR[0])
    with session_scope(engine, immediate=True) as s:
        organisations.set_ovec_member(
            s, username=OVEC_DIRECTOR[0], role="director", position=OVEC_DIRECTOR[1], by="test"
        )
    app = app_with_pages(settings, engine)
    raw, qr = seed_raw(), seed_qr()
    subject = raw["subject"]

    worker_log = tmp_path / "worker.log"
    db_url = engine.url.render_as_string(hide_password=False)
    with running_worker(db_url, worker_log), live_server(app) as base:
        # --- OVEC's clerk composes the seed circular ---------------------------------------
        clerk = new_page(browser, base)
        log_in(clerk, OVEC_USER, OVEC_PASSWORD)
        clerk.get_by_role("link", name="หนังสือส่ง", exact=True).click()
        expect(clerk.get_by_role("heading", name="หนังสือส่ง")).to_be_visible()
        screenshot(clerk, "c01-drafts-empty")
        clerk.get_by_role("link", name="เขียนหนังสือ").click()
        expect(clerk.get_by_role("heading", name="เขียนหนังสือ")).to_be_visible()
        clerk.get_by_label("ชนิดหนังสือ", exact=True).select_option(label="หนังสือเวียน")
        clerk.get_by_label("วันที่", exact=True).select_option("10")
        clerk.get_by_label("เดือน", exact=True).select_option(label="เมษายน")
        clerk.get_by_label("ปี พ.ศ.", exact=True).fill("2569")
        clerk.get_by_label("เรื่อง", exact=True).fill(subject)
        clerk.get_by_label("เรียน", exact=True).fill(raw["to"])
        # Enclosures, one at a time: the stand-in PDF, the QR sheet, the slip (last).
        for item in raw["enclosures"]:
            if "file" in item:
                clerk.get_by_label("ชนิด", exact=True).select_option("file")
                clerk.get_by_label("ไฟล์ PDF", exact=True).set_input_files(str(SEED_ENCLOSURE))
            else:
                clerk.get_by_label("ชนิด", exact=True).select_option(item["make"])
            clerk.get_by_label("ชื่อรายการ", exact=True).fill(item["title"])
            clerk.get_by_label("จำนวน", exact=True).fill(item["count"])
            clerk.get_by_role("button", name="เพิ่มรายการ").click()
            clerk.wait_for_load_state()
        expect(clerk.locator("ol.enclosures > li")).to_have_count(3)
        clerk.get_by_label("หัวเรื่องแผ่น QR Code", exact=True).fill(qr["title"])
        clerk.get_by_label("รายการ QR Code", exact=True).fill(
            "\n".join(f"{e['url']} | {e['caption']}" for e in qr["entry"])
        )
        clerk.get_by_label("ส่วนราชการเจ้าของเรื่อง", exact=True).fill(raw["sender"]["unit"].strip())
        clerk.get_by_label("โทร.", exact=True).fill(raw["sender"]["phone"])
        clerk.get_by_label("ผู้ลงนาม", exact=True).select_option(
            label=f"{SIGNER['name']} · {SIGNER['position']}"
        )
        clerk.get_by_label("การลงนามแทน", exact=True).select_option("ปฏิบัติราชการแทน")
        clerk.get_by_label("ตำแหน่งที่ลงนามแทน", exact=True).fill(ON_BEHALF_OF)
        # The body, typed: the preview follows without a button.
        body = clerk.get_by_label("ข้อความ", exact=True)
        body.fill(raw["body"].strip())
        pages = clerk.locator("#preview-pages img")
        expect(pages).to_have_count(2)
        first = pages.first.get_attribute("src")
        body.press("End")
        body.type(" ด้วย")
        expect(pages.first).not_to_have_attribute("src", first or "")
        body.press("Backspace")
        body.press("Backspace")
        body.press("Backspace")
        body.press("Backspace")
        body.press("Backspace")
        expect(pages.first).to_have_attribute("src", first or "")  # the same letter again
        expect(clerk.locator("#preview-status")).to_contain_text("สำหรับ")
        assert unlabelled_fields(clerk) == []
        screenshot(clerk, "c02-compose-with-preview")
        clerk.get_by_role("button", name="บันทึกร่าง").click()
        expect(clerk.get_by_role("status")).to_contain_text("บันทึกร่างแล้ว")
        draft_url = clerk.url
        clerk.get_by_label("เรียน (ผู้รับเสนอ)", exact=True).select_option(
            label=f"{SIGNER['name']} · {SIGNER['position']}"
        )
        clerk.get_by_label("บันทึกเสนอ", exact=True).fill("ร่างหนังสือแจ้งสถานศึกษาเรื่องระบบ e-MVS")
        assert unlabelled_fields(clerk) == []
        screenshot(clerk, "c03-draft")
        clerk.get_by_role("button", name="เสนอ", exact=True).click()
        expect(clerk.get_by_role("status")).to_contain_text("เสนอแล้ว")
        expect(clerk.get_by_role("button", name="ลงนาม")).to_have_count(0)

        # --- the signer signs (ปฏิบัติราชการแทน) ----------------------------------------------
        signer = new_page(browser, base)
        log_in(signer, "wiwat", OVEC_PASSWORD)
        signer.get_by_role("link", name="หนังสือส่ง", exact=True).click()
        signer.get_by_role("link", name=subject).click()
        signer.get_by_label(re.compile("^ลายมือชื่อดิจิทัลของท่าน")).set_input_files(str(key))
        signer.get_by_label("รหัสผ่านของแฟ้มกุญแจ", exact=True).fill(KEY_PASSPHRASE)
        screenshot(signer, "c04-draft-to-sign")
        signer.get_by_role("button", name="ลงนาม", exact=True).click()
        expect(signer.get_by_role("status")).to_contain_text("เลขที่หนังสือ ศธ 0603/ว 1")
        assert KEY_PASSPHRASE not in signer.content()
        screenshot(signer, "c04b-draft-signed-digitally")
        log_out(signer)

        # --- OVEC sends it to the example colleges -----------------------------------------
        clerk.goto(draft_url)
        send = clerk.get_by_role("region", name="ส่งหนังสือ")
        send.get_by_label(re.compile("สถานศึกษาทุกแห่ง \\(")).check()
        assert unlabelled_fields(clerk) == []
        screenshot(clerk, "c05-signed-send")
        send.get_by_role("button", name="ส่งหนังสือ").click()
        # The answer is the mailout job's page at once; the worker makes the bundles.
        clerk.wait_for_url("**/ovec/jobs/*")
        expect(clerk.get_by_role("status")).to_contain_text(
            "ส่งหนังสือ ศธ 0603/ว 1 ถึงสถานศึกษา 3 แห่ง: กำลังจัดทำ"
        )
        job_id = int(clerk.url.rstrip("/").rsplit("/", 1)[1])
        job = wait_for_job(
            lambda: clerk.request.get(f"{base}/api/mailouts/{job_id}").json(), log=worker_log
        )
        assert (job["state"], job["done"], job["total"]) == ("finished", 3, 3), job
        clerk.reload()
        expect(clerk.locator("#job-state")).to_have_attribute("data-state", "finished")
        assert clerk.locator("#job-done").inner_text() == "3"
        screenshot(clerk, "c06-sent")
        clerk.goto(draft_url)
        expect(clerk.get_by_role("heading", name="ส่งแล้ว")).to_be_visible()
        log_out(clerk)

        # --- Lampang, with the password on its slip, receives and routes it -----------------
        with Session(engine) as s:
            mailout = s.exec(select(Mailout).where(Mailout.reference == "ศธ 0603/ว 1")).one()
        bundle = Path(mailout.out_dir) / f"{LAMPANG}.pdf"
        password = slip_credentials(bundle.read_bytes())[LAMPANG]
        college = new_page(browser, base)
        log_in(college, LAMPANG, password)
        expect(college.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()
        expect(college.get_by_role("row").filter(has_text=subject)).to_contain_text("ยังไม่ลงรับ")
        passwords = {role: add_staff(college, SEED_STAFF[role]) for role in ("clerk", "acting")}
        college.get_by_role("link", name="หนังสือเข้า").click()
        college.get_by_role("link", name=subject).click()
        expect(college.get_by_role("img", name=re.compile("หน้า 1 จาก"))).to_be_visible()
        # Its own copy, signed digitally: valid, and trusted by the test root.
        signed = college.get_by_role("region", name="ลายมือชื่อดิจิทัล")
        expect(signed.locator("[data-signature-status]")).to_have_attribute(
            "data-signature-status", "valid"
        )
        expect(signed).to_contain_text(VALID)
        expect(signed).to_contain_text("เชื่อถือได้")
        screenshot(college, "c06b-college-letter-signed")
        download = college.request.get(college.url + "/letter.pdf").body()
        assert download.startswith(b"%PDF") and b"/ByteRange" in download
        receive = college.get_by_role("region", name="ลงรับหนังสือ")
        receive.get_by_label("วันที่").select_option("10")
        receive.get_by_label("เดือน").select_option(label="เมษายน")
        receive.get_by_label("ปี พ.ศ.").fill("2569")
        receive.get_by_role("button", name="ลงรับหนังสือ").click()
        said(college, "ลงรับแล้ว เลขรับ 1/")
        expect(college.get_by_role("region", name="ทะเบียนหนังสือรับ")).to_contain_text("ศธ 0603/ว 1")
        expect(college.get_by_role("region", name="ลายมือชื่อดิจิทัล")).to_contain_text(VALID)
        college.get_by_label("ผู้เกษียน ลำดับที่ 1").select_option(
            label=f"{SEED_STAFF['clerk']['name']} ({SEED_STAFF['clerk']['position']})"
        )
        acting = SEED_STAFF["acting"]
        college.get_by_label("ผู้สั่งการ").select_option(
            label=f"{acting['name']} (รักษาการในตำแหน่ง {acting['acting_for']})"
        )
        college.get_by_role("button", name="เสนอตามลำดับ").click()
        said(college, "เสนอหนังสือตามลำดับแล้ว")
        screenshot(college, "c07-college-received")
        receipt_url = college.url
        college.goto("/organisation")
        college.get_by_label("รหัสหน่วยงาน (ที่)").fill("ศธ 0656.12")
        college.get_by_label("ที่อยู่ (พิมพ์มุมขวาบน)").fill("อำเภอเมืองลำปาง จังหวัดลำปาง 52000")
        college.get_by_role("button", name="บันทึก").click()
        said(college, "บันทึกข้อมูลหน่วยงานแล้ว")
        log_out(college)

        clerk_c = new_page(browser, base)
        first_login(clerk_c, f"{SEED_STAFF['clerk']['handle']}@{LAMPANG}", passwords["clerk"])
        open_task(clerk_c)
        clerk_c.get_by_label("สาระสำคัญ").fill(SUMMARY)
        clerk_c.get_by_role("checkbox", name=TO_KNOW).check()
        clerk_c.get_by_role("button", name="ลงนามเกษียน").click()
        said(clerk_c, "ลงนามบันทึกเกษียนแล้ว")

        director = new_page(browser, base)
        first_login(director, f"{acting['handle']}@{LAMPANG}", passwords["acting"])
        open_task(director)
        director.get_by_role("radio", name="ทราบ", exact=True).check()
        director.get_by_role("button", name="ลงนามสั่งการ").click()
        said(director, "ลงนามสั่งการแล้ว")
        expect(director.get_by_text(LAMPANG_NAME).first).to_be_visible()
        screenshot(director, "c08-college-decided")

        # --- Lampang replies: อ้างถึง from the letter; signed; into OVEC's inbox -------------
        clerk_c.goto(receipt_url)
        clerk_c.get_by_role("link", name="ตอบหนังสือ").click()
        expect(clerk_c.get_by_role("heading", name="ตอบหนังสือ")).to_be_visible()
        expect(clerk_c.get_by_label("อ้างถึง", exact=True)).to_have_value(
            re.compile("^หนังสือสำนักงานคณะกรรมการการอาชีวศึกษา ที่ ศธ 0603/ว 1 ลงวันที่ 10 เมษายน 2569")
        )
        clerk_c.get_by_label("ข้อความ", exact=True).fill(
            "ตามหนังสือที่อ้างถึง วิทยาลัยได้นำเข้าข้อมูลในระบบ e-MVS รอบที่ 1 เรียบร้อยแล้ว\n\nจึงเรียนมาเพื่อโปรดทราบ"
        )
        clerk_c.get_by_label("ส่วนราชการเจ้าของเรื่อง", exact=True).fill("งานบริหารงานทั่วไป")
        clerk_c.get_by_label("โทร.", exact=True).fill("0 5422 0000 ต่อ 101")
        clerk_c.get_by_role("combobox", name="ผู้ลงนาม").select_option(
            label=f"{acting['name']} · {acting['position']}"
        )
        expect(clerk_c.locator("#preview-pages img")).to_have_count(1)
        screenshot(clerk_c, "c09-reply-compose")
        clerk_c.get_by_role("button", name="บันทึกร่าง").click()
        said(clerk_c, "บันทึกร่างแล้ว")
        clerk_c.get_by_role("button", name="เสนอ", exact=True).click()
        said(clerk_c, "เสนอแล้ว")
        director.goto(clerk_c.url)
        director.get_by_role("button", name="ลงนาม", exact=True).click()
        said(director, "เลขที่หนังสือ ศธ 0656.12/1")
        clerk_c.reload()
        clerk_c.get_by_role("button", name="ส่งหนังสือตอบ").click()
        expect(clerk_c.get_by_role("status")).to_contain_text(
            "ถึงสำนักงานคณะกรรมการการอาชีวศึกษาแล้ว เลขรับ 1/"
        )
        screenshot(clerk_c, "c10-reply-sent")

        ovec = new_page(browser, base)
        log_in(ovec, OVEC_USER, OVEC_PASSWORD)
        ovec.get_by_role("link", name="หนังสือรับ", exact=True).click()
        row = ovec.get_by_role("row").filter(has_text="ศธ 0656.12/1")
        expect(row).to_contain_text(LAMPANG_NAME)
        expect(row).to_contain_text("1/25")
        screenshot(ovec, "c11-ovec-received")
        row.get_by_role("link").click()
        expect(ovec.get_by_role("img", name=re.compile("หน้า 1 จาก 1"))).to_be_visible()
        # OVEC routes it to a decision: its clerk's note, then the Secretary-General decides.
        with Session(engine) as s:
            ids = {
                a.username: str(a.id)
                for a in s.exec(select(Account).where(Account.kind == "ovec")).all()
            }
        ovec.get_by_label("ผู้เกษียน ลำดับที่ 1").select_option(ids[OVEC_USER])
        ovec.get_by_label("ผู้สั่งการ").select_option(ids[OVEC_DIRECTOR[0]])
        assert unlabelled_fields(ovec) == []
        screenshot(ovec, "c12-ovec-received-letter")
        ovec.get_by_role("button", name="เสนอตามลำดับ").click()
        said(ovec, "เสนอหนังสือตามลำดับแล้ว")
        ovec.get_by_label("สาระสำคัญ").fill("วิทยาลัยสารพัดช่างลำปางรายงานการนำเข้าข้อมูล e-MVS รอบที่ 1")
        ovec.get_by_role("checkbox", name="เพื่อโปรดทราบ").check()
        ovec.get_by_role("button", name="ลงนามเกษียน").click()
        said(ovec, "ลงนามบันทึกเกษียนแล้ว")
        received_url = ovec.url
        boss = new_page(browser, base)
        log_in(boss, OVEC_DIRECTOR[0], OVEC_PASSWORD)
        boss.goto(received_url)
        boss.get_by_role("radio", name="ทราบ", exact=True).check()
        boss.get_by_role("button", name="ลงนามสั่งการ").click()
        said(boss, "ลงนามสั่งการแล้ว")
        expect(boss.get_by_role("region", name="เส้นทางการเสนอ")).to_contain_text("สั่งการ: ทราบ")
        screenshot(boss, "c13-ovec-decided")
