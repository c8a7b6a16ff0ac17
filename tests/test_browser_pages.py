"""Focused browser tests (Debian's chromium): keyboard-only use, messages for a wrong password
and for throttling, the pages with JavaScript off, the credential slip shown once and printed,
and the error page. Each test gets its own copy of one mailout's database."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from saraban.db import make_engine
from tests.browser import (
    LAMPANG,
    LAMPANG_NAME,
    OVEC_PASSWORD,
    OVEC_USER,
    Mailed,
    add_ovec_user,
    app_with_pages,
    launch,
    live_server,
    log_in,
    log_out,
    new_page,
    page_settings,
    run_small_mailout,
    screenshot,
    sqlite_engine,
    unlabelled_fields,
)
from tests.test_issuing import slip_credentials


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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


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
