"""Focused browser tests (Debian's chromium): keyboard-only use, messages for a wrong password
and for throttling, the pages with JavaScript off, the credential slip shown once and printed,
and the error page, correcting a signed note. Each test gets its own copy of one mailout's
database."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from saraban.domain.routing import SUGGEST_ASSIGN, SUGGEST_INFORM, TO_KNOW
from saraban.storage.engine import make_engine
from tests.support.browser import (
    LAMPANG,
    LAMPANG_NAME,
    OVEC_PASSWORD,
    OVEC_USER,
    SCREENSHOTS,
    SEED_STAFF,
    Mailed,
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
    run_small_mailout,
    screenshot,
    sqlite_engine,
    unlabelled_fields,
)
from tests.support.mailouts import slip_credentials
from tests.support.pdftext import page_texts, render_page, squash


@dataclass(frozen=True)
class Seeded:
    database: Path  # the template: OVEC's mailout done, an OVEC user added
    mailed: Mailed


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("seeded")
    engine = sqlite_engine(root)
    try:
        mailed = run_small_mailout(root, engine)
        add_ovec_user(engine, page_settings(root / "data"))
    finally:
        engine.dispose()
    return Seeded(root / "saraban.db", mailed)


@pytest.fixture
def base_url(seeded: Seeded, tmp_path: Path) -> Iterator[str]:
    """The site over a private copy of the seeded database."""
    database = tmp_path / "saraban.db"
    shutil.copy(seeded.database, database)
    engine = make_engine(f"sqlite:///{database}")
    try:
        with live_server(app_with_pages(page_settings(tmp_path / "data"), engine)) as url:
            yield url
    finally:
        engine.dispose()


def _focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.outerHTML"))


def _tab_to(page: Page, tag: str, text: str, limit: int = 60) -> None:
    """Press Tab until the ``tag`` (A, BUTTON) whose text starts with ``text`` has the focus."""
    script = "[document.activeElement.tagName, (document.activeElement.textContent || '').trim()]"
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused_tag, focused_text = page.evaluate(script)
        if focused_tag == tag and focused_text.startswith(text):
            return
    raise AssertionError(f"Tab never reached {text!r}; focus on {_focused(page)}")


def test_keyboard_only(browser: Browser, base_url: str, seeded: Seeded) -> None:
    code = seeded.mailed.codes[1]
    page = new_page(browser, base_url)
    page.goto("/login")
    username = page.get_by_label("ชื่อผู้ใช้")
    expect(username).to_be_focused()  # autofocus: type at once
    page.keyboard.type(code)
    page.keyboard.press("Tab")
    expect(page.get_by_label("รหัสผ่าน")).to_be_focused()
    page.keyboard.type(seeded.mailed.passwords[code])
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()

    page.keyboard.press("Tab")  # the first stop: skip to the content
    skip = page.get_by_role("link", name="ข้ามไปยังเนื้อหาหลัก")
    expect(skip).to_be_focused()
    assert page.evaluate("getComputedStyle(document.activeElement).top") != "-57px"
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()

    _tab_to(page, "A", "การติดตามการดำเนินงาน")
    shadow = page.evaluate("getComputedStyle(document.activeElement).boxShadow")
    assert shadow and shadow != "none"  # the focus can be seen
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"  # and in forced colours, where shadows are dropped
    screenshot(page, "00-keyboard-focus")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="ลงรับหนังสือ")).to_be_visible()
    _tab_to(page, "BUTTON", "ลงรับหนังสือ")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("ลงรับแล้ว เลขรับ 1/")


def test_wrong_password_and_throttling_messages(
    browser: Browser, base_url: str, seeded: Seeded
) -> None:
    code = seeded.mailed.codes[2]
    page = new_page(browser, base_url)
    for attempt in range(3):  # account_free_failures
        log_in(page, code, "not-the-password")
        alert = page.get_by_role("alert")
        expect(alert).to_have_text("ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง โปรดตรวจสอบแล้วลองใหม่")
        expect(page.get_by_label("ชื่อผู้ใช้")).to_have_value(code)
        expect(page.get_by_label("รหัสผ่าน")).to_have_value("")
        if attempt == 0:
            screenshot(page, "14-login-wrong-password")
    # Locked now (1 s, then 2, 4, ...): even the right password is refused, unchecked.
    for _ in range(5):
        log_in(page, code, seeded.mailed.passwords[code])
        if "ระงับ" in page.get_by_role("alert").inner_text():
            break
    expect(page.get_by_role("alert")).to_contain_text("ระงับการเข้าสู่ระบบชั่วคราว")
    expect(page.get_by_role("alert")).to_contain_text(re.compile(r"ในอีก \d+ (วินาที|นาที)"))
    screenshot(page, "15-login-throttled")


def test_works_with_javascript_off(browser: Browser, base_url: str, seeded: Seeded) -> None:
    page = new_page(browser, base_url, java_script_enabled=False)
    log_in(page, LAMPANG, seeded.mailed.passwords[LAMPANG])
    expect(page.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()
    page.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="ลงรับหนังสือ").click()
    expect(page.get_by_role("heading", name="ลงรับหนังสือกระดาษหรืออีเมล")).to_be_visible()
    assert unlabelled_fields(page) == []
    screenshot(page, "16-register-paper-letter")
    menu = page.get_by_role("navigation", name="เมนูหลัก")
    menu.get_by_role("link", name="หนังสือเข้า").click()
    page.get_by_label("ค้นหา").fill("ไม่มีเรื่องนี้")
    page.get_by_role("button", name="ค้นหา").click()
    expect(page.get_by_text("ไม่พบหนังสือที่ตรงกับการค้นหา")).to_be_visible()
    screenshot(page, "25-inbox-nothing-found")
    page.get_by_label("ค้นหา").fill("5553")
    page.get_by_label("สถานะ", exact=True).select_option(label="ยังไม่ลงรับ")
    page.get_by_role("button", name="ค้นหา").click()
    page.get_by_role("link", name=re.compile("^การติดตามการดำเนินงาน")).click()
    page.get_by_role("button", name="ลงรับหนังสือ").click()
    expect(page.get_by_role("status")).to_contain_text("ลงรับแล้ว")
    expect(page.get_by_role("img", name=re.compile("หน้า 1 จาก"))).to_be_visible()
    log_out(page)


def test_reissued_password_is_shown_once_on_a_printable_slip(
    browser: Browser, base_url: str
) -> None:
    ovec = new_page(browser, base_url)
    log_in(ovec, OVEC_USER, OVEC_PASSWORD)
    ovec.get_by_role("link", name="ติดตามสถานะ", exact=True).click()
    ovec.get_by_label("สถานะ", exact=True).select_option(label="สั่งการแล้ว")
    ovec.get_by_role("button", name="กรอง").click()
    expect(ovec.get_by_text("ไม่มีสถานศึกษาตามตัวกรองนี้")).to_be_visible()
    screenshot(ovec, "26-ovec-tracking-empty")
    ovec.get_by_role("link", name="ทุกสถานะ").click()
    ovec.get_by_role("link", name=LAMPANG_NAME).click()
    expect(ovec.get_by_role("heading", name=LAMPANG_NAME)).to_be_visible()
    assert unlabelled_fields(ovec) == []
    screenshot(ovec, "17-ovec-college")
    ovec.get_by_label("เหตุผลในการออกรหัสผ่านใหม่").fill("ซองเอกสารสูญหายระหว่างจัดส่ง")
    ovec.get_by_role("button", name="ออกรหัสผ่านใหม่และพิมพ์ใบแจ้ง").click()
    expect(ovec.get_by_role("alert")).to_contain_text("รหัสผ่านนี้แสดงเพียงครั้งเดียว")
    row = ovec.get_by_role("row").filter(
        has=ovec.get_by_role("rowheader", name=re.compile("^รหัสผ่าน"))
    )
    password = row.get_by_role("cell").inner_text().split()[0]
    assert re.fullmatch(r"[a-z]{2}[0-9]{2}[a-z]{3}", password)
    screenshot(ovec, "18-ovec-reissue-slip")
    with ovec.expect_download() as download:
        ovec.get_by_role("link", name="ดาวน์โหลดใบแจ้ง (PDF)").click()
    slip_pdf = Path(download.value.path()).read_bytes()
    assert slip_credentials(slip_pdf) == {LAMPANG: password}  # the same slip as on paper
    ovec.emulate_media(media="print")
    expect(ovec.get_by_role("banner")).to_be_hidden()
    screenshot(ovec, "19-ovec-slip-printed")
    ovec.emulate_media(media="screen")
    ovec.get_by_role("link", name="เสร็จสิ้น กลับหน้าสถานศึกษา").click()
    expect(ovec.get_by_role("main")).not_to_contain_text(password)
    expect(ovec.get_by_role("main")).to_contain_text("ซองเอกสารสูญหายระหว่างจัดส่ง")

    college = new_page(browser, base_url)
    log_in(college, LAMPANG, password)
    expect(college.get_by_role("heading", name="หนังสือเข้า")).to_be_visible()


def test_not_yours_is_not_found(browser: Browser, base_url: str, seeded: Seeded) -> None:
    page = new_page(browser, base_url)
    log_in(page, LAMPANG, seeded.mailed.passwords[LAMPANG])
    response = page.goto("/ovec/tracking")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="ไม่พบหน้าที่ต้องการ")).to_be_visible()
    expect(page.get_by_role("link", name="กลับหน้าหลัก")).to_be_visible()
    screenshot(page, "20-not-found")


def test_correcting_a_signed_note(browser: Browser, base_url: str, seeded: Seeded) -> None:
    """A letter returned to the clerk: "แก้ไขบันทึก" opens her signed note in the form, and
    what she signs is a new note; the old one stays, struck through and marked, with the
    correction right after it, on the page and in the annotated PDF."""
    college = new_page(browser, base_url)
    log_in(college, LAMPANG, seeded.mailed.passwords[LAMPANG])
    first = {role: add_staff(college, SEED_STAFF[role]) for role in ("clerk", "acting")}
    college.get_by_role("navigation", name="เมนูหลัก").get_by_role("link", name="หนังสือเข้า").click()
    college.get_by_role("link", name=re.compile("^การติดตามการดำเนินงาน")).click()
    college.get_by_role("region", name="ลงรับหนังสือ").get_by_role("button").click()
    writer, decider = SEED_STAFF["clerk"], SEED_STAFF["acting"]
    college.get_by_label("ผู้เกษียน ลำดับที่ 1").select_option(
        label=f"{writer['name']} ({writer['position']})"
    )
    college.get_by_label("ผู้สั่งการ").select_option(
        label=f"{decider['name']} ({decider['acting']} {decider['acting_for']})"
    )
    college.get_by_role("button", name="เสนอตามลำดับ").click()
    expect(college.get_by_role("status")).to_contain_text("เสนอหนังสือตามลำดับแล้ว")

    clerk = new_page(browser, base_url)
    first_login(clerk, f"{writer['handle']}@{LAMPANG}", first["clerk"])
    open_task(clerk)
    clerk.get_by_label("สาระสำคัญ").fill("ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงาน มาเพื่อ")
    clerk.get_by_role("checkbox", name=TO_KNOW).check()
    clerk.get_by_role("checkbox", name=SUGGEST_INFORM, exact=True).check()
    clerk.get_by_label(f"{SUGGEST_INFORM} (ระบุ)").fill("รองฯ ผ.ผ.")
    clerk.get_by_role("button", name="ลงนามเกษียน").click()
    expect(clerk.get_by_role("status")).to_contain_text("ลงนามบันทึกเกษียนแล้ว")
    expect(clerk.get_by_role("link", name=re.compile("^แก้ไขบันทึก"))).to_have_count(0)

    acting = new_page(browser, base_url)
    first_login(acting, f"{decider['handle']}@{LAMPANG}", first["acting"])
    open_task(acting)
    acting.get_by_role("radio", name="ส่งคืน").check()
    acting.get_by_label("เหตุผลที่ส่งคืน").fill("ผู้รับผิดชอบคืองานวางแผน โปรดแก้ไข")
    acting.get_by_label("ส่งคืนให้").select_option(label=writer["name"])
    acting.get_by_role("button", name="ลงนามสั่งการ").click()
    expect(acting.get_by_role("status")).to_contain_text("ลงนามสั่งการแล้ว")

    clerk.reload()
    clerk.get_by_role("link", name=re.compile("^แก้ไขบันทึก")).click()
    form = clerk.get_by_role("region", name="แก้ไขบันทึกเกษียน")
    expect(form).to_be_visible()
    expect(form.get_by_label("สาระสำคัญ")).to_have_value(
        "ด้วย สอศ. แจ้งเรื่อง การติดตามการดำเนินงาน มาเพื่อ"
    )
    expect(form.get_by_role("checkbox", name=TO_KNOW)).to_be_checked()
    expect(form.get_by_role("checkbox", name=SUGGEST_INFORM, exact=True)).to_be_checked()
    expect(form.get_by_label(f"{SUGGEST_INFORM} (ระบุ)")).to_have_value("รองฯ ผ.ผ.")
    form.get_by_role("checkbox", name=SUGGEST_INFORM, exact=True).uncheck()
    form.get_by_label(f"{SUGGEST_INFORM} (ระบุ)").fill("")
    form.get_by_role("checkbox", name=SUGGEST_ASSIGN, exact=True).check()
    form.get_by_label(f"{SUGGEST_ASSIGN} (ระบุ)").fill("หน.งานวางแผนฯ")
    assert unlabelled_fields(clerk) == []
    screenshot(clerk, "22-note-amend-form")
    form.get_by_role("button", name="ลงนามบันทึกฉบับแก้ไข").click()
    expect(clerk.get_by_role("status")).to_contain_text("ลงนามบันทึกฉบับแก้ไขแล้ว")

    notes = clerk.get_by_role("region", name="บันทึกเกษียน").get_by_role("article")
    expect(notes).to_have_count(3)  # the note, its correction, the return
    original, correction = notes.nth(0), notes.nth(1)
    expect(original).to_have_accessible_name(re.compile(r"\(แก้ไขโดยบันทึกถัดไป\)$"))
    expect(original).to_contain_text("แก้ไขโดยบันทึกถัดไป")
    expect(original).to_contain_text("/ เห็นควรแจ้ง.....รองฯ ผ.ผ.")  # as signed
    struck = original.locator(".note-paper").evaluate(
        "el => getComputedStyle(el).textDecorationLine"
    )
    assert struck == "line-through"
    expect(correction).to_contain_text("บันทึกฉบับแก้ไข")
    expect(correction).to_contain_text("/ เห็นควรมอบ.....หน.งานวางแผนฯ")
    expect(notes.nth(2)).to_contain_text("/ ส่งคืน.....ผู้รับผิดชอบคืองานวางแผน โปรดแก้ไข")
    expect(clerk.get_by_role("link", name=re.compile("^แก้ไขบันทึก"))).to_have_count(0)
    screenshot(clerk, "23-note-amended")

    # The annotated letter as the page shows it: the old note marked (and struck through),
    # its correction labelled right after it, then the return.
    annotated = clerk.request.get(f"{clerk.url.split('#')[0]}/annotated.pdf")
    assert annotated.ok
    text = squash("".join(page_texts(annotated.body(), "pypdf")))
    found = [
        text.find(squash(line))
        for line in (
            "(แก้ไขโดยบันทึกถัดไป)",
            "/ เห็นควรแจ้ง.....รองฯ ผ.ผ.",
            "บันทึกฉบับแก้ไข",
            "/ เห็นควรมอบ.....หน.งานวางแผนฯ",
            "/ ส่งคืน.....",
        )
    ]
    assert -1 not in found and found == sorted(found), found
    render_page(annotated.body(), 1, dpi=90).save(SCREENSHOTS / "24-annotated-amended-page2.png")
