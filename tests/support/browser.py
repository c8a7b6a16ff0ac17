"""Helpers for the page and browser tests: the site over a mailout's database, the app with
its pages, a live server for Playwright, Debian's chromium, and screenshots (the fixtures
``site`` and ``browser`` are in tests/web/conftest.py and tests/browser/conftest.py).

The browser tests drive ``/usr/bin/chromium`` (never a downloaded browser) against uvicorn
running the app in a thread on 127.0.0.1 and a free port, over a SQLite database.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, Playwright
from sqlalchemy import Engine
from sqlmodel import Session, select

from saraban.settings import Settings
from saraban.storage.engine import make_engine, upgrade_schema
from saraban.storage.models import Account, MailoutItem
from saraban.web.app import create_app
from saraban.web.pages import install_pages
from tests.support.letters import ROOT
from tests.support.mailouts import LAMPANG, MailoutRun, mail_small
from tests.support.pdftext import page_texts, squash
from tests.support.service import (
    COLLEGE_NAME,
    SEED_STAFF,
    add_ovec_user,
    service_settings,
)
from tests.support.service import STAFF_PASSWORD as OVEC_STAFF_PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = ROOT / "tests" / "screenshots"
LAMPANG_NAME = COLLEGE_NAME
OVEC_USER = "somchai"
OVEC_PASSWORD = OVEC_STAFF_PASSWORD
TIMEOUT_MS = 15_000


page_settings = service_settings  # a fixed secret and cheap hashing


def app_with_pages(settings: Settings, engine: Engine) -> FastAPI:
    app = create_app(settings, engine)
    install_pages(app)
    return app


Mailed = MailoutRun  # a mailout run by OVEC: the bundles' folder, each college's password
run_small_mailout = mail_small  # OVEC's mailout to a few colleges, Lampang first


def sqlite_engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'saraban.db'}")
    upgrade_schema(engine)
    return engine


# --------------------------------------------------------------------------- #
# The live server and the browser
# --------------------------------------------------------------------------- #


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """uvicorn serving ``app`` in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="off", access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=30_000)


def new_page(browser: Browser, base_url: str, **options: Any) -> Page:
    """A page in a fresh context (its own cookies: one person at one browser)."""
    context = browser.new_context(
        base_url=base_url, locale="th-TH", viewport={"width": 1280, "height": 900}, **options
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context.new_page()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot into tests/screenshots/ (ignored by git)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")  # sticky parts where they start
    page.screenshot(path=str(path), full_page=True)
    return path


# --------------------------------------------------------------------------- #
# People and steps as a person takes them
# --------------------------------------------------------------------------- #

STAFF_PASSWORD = "Mango-Sticky-Rice-2569"
ROLE_LABELS = {
    "clerk": "งานสารบรรณ (ธุรการ)",
    "deputy": "รองผู้อำนวยการ",
    "director": "ผู้อำนวยการ",
    "staff": "บุคลากร",
}


def log_in(page: Page, username: str, password: str) -> None:
    page.goto("/login")
    page.get_by_label("ชื่อผู้ใช้").fill(username)
    page.get_by_label("รหัสผ่าน").fill(password)
    page.get_by_role("button", name="เข้าสู่ระบบ").click()
    page.wait_for_load_state()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="ออกจากระบบ").click()
    page.wait_for_url("**/login")


def add_staff(page: Page, member: dict[str, str]) -> str:
    """Fill the college's add-staff form; returns the first password it shows once."""
    page.get_by_role("link", name="บุคลากร", exact=True).click()
    page.get_by_label("ชื่อ-สกุล").fill(member["name"])
    page.get_by_label("ชื่อผู้ใช้").fill(member["handle"])
    page.get_by_label("ตำแหน่ง", exact=True).fill(member["position"])
    page.get_by_label("บทบาท").select_option(label=ROLE_LABELS[member["role"]])
    if member.get("acting"):
        page.get_by_label("การรักษาการ").select_option(label=member["acting"])
        page.get_by_label("ตำแหน่งที่รักษาการ").fill(member["acting_for"])
    page.get_by_role("button", name="เพิ่มบุคลากร").click()
    page.get_by_role("heading", name="เพิ่มบุคลากรแล้ว").wait_for()
    return page.get_by_label("รหัสผ่านชั่วคราว").input_value()


def first_login(page: Page, username: str, first_password: str) -> None:
    """A member's first login: the password page comes first."""
    log_in(page, username, first_password)
    set_own_password(page, first_password)


def set_own_password(page: Page, first_password: str) -> None:
    """Fill the first-login password page; the inbox follows."""
    page.get_by_role("heading", name="เปลี่ยนรหัสผ่าน").wait_for()
    page.get_by_label("รหัสผ่านปัจจุบัน").fill(first_password)
    page.get_by_label("รหัสผ่านใหม่", exact=True).fill(STAFF_PASSWORD)
    page.get_by_label("ยืนยันรหัสผ่านใหม่").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="บันทึกรหัสผ่านใหม่").click()
    page.get_by_role("heading", name="หนังสือเข้า").wait_for()


def open_task(page: Page) -> None:
    """From the inbox, the first letter waiting for this person."""
    tasks = page.get_by_role("region", name=re.compile("หนังสือที่รอท่านดำเนินการ"))
    tasks.get_by_role("link").first.click()
    page.get_by_role("heading", name="เส้นทางการเสนอ").wait_for()


UNLABELLED_FIELDS = """
() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button'))
  .filter(el => {
    if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
    return el.labels.length === 0 && !el.getAttribute('aria-label')
      && !el.getAttribute('aria-labelledby');
  })
  .map(el => el.outerHTML)
"""


def unlabelled_fields(page: Page) -> list[str]:
    """Form fields without a label (every field must have one)."""
    return list(page.evaluate(UNLABELLED_FIELDS))


# --------------------------------------------------------------------------- #
# Page tests without a browser: a site over the test's database (both backends)
# --------------------------------------------------------------------------- #

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_SHOWN_PASSWORD = re.compile(r'id="new-password"[^>]*value="([^"]+)"')


class Visitor:
    """A person at a browser with JavaScript off: cookies, and the CSRF token of the last page
    shown (as the forms on it carry it)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""
        self.code = ""  # the college this visitor logged in as, if one

    def _seen(self, response: Any) -> Any:
        found = (
            _CSRF.search(response.text)
            if "html" in response.headers.get("content-type", "")
            else None
        )
        if found:
            self.csrf = found.group(1)
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self._seen(self.client.get(url, **kwargs))

    def submit(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """POST a form as the page's form would, with the CSRF token."""
        fields = {"csrf_token": self.csrf, **(data or {})}
        return self._seen(self.client.post(url, data=fields, **kwargs))

    def login(self, username: str, password: str, **kwargs: Any) -> Any:
        """The login form as a browser fills it: shown first (its token and cookie)."""
        self.get("/login")
        return self.submit("/login", {"username": username, "password": password}, **kwargs)

    def receive(self, item_id: int) -> str:
        """ลงรับ a delivered letter through its form; returns the letter page's path."""
        self.get(f"/inbox/{item_id}")
        response = self.submit(
            f"/inbox/{item_id}/receive",
            {"letter_date_day": "10", "letter_date_month": "4", "letter_date_year": "2569"},
        )
        assert response.status_code == 200 and response.url.path.startswith("/receipts/")
        assert re.search(r"ลงรับแล้ว เลขรับ \d+/25\d\d", response.text)  # the flash, once
        assert "ลงรับแล้ว เลขรับ" not in self.get(response.url.path).text
        return str(response.url.path)

    def first_login(self, username: str, first_password: str) -> None:
        response = self.login(username, first_password)
        assert response.url.path == "/password", response.url
        done = self.submit(
            "/password",
            {
                "current_password": first_password,
                "new_password": STAFF_PASSWORD,
                "confirm_password": STAFF_PASSWORD,
            },
        )
        assert done.url.path == "/inbox", done.text


def option_value(html: str, name: str, text: str) -> str:
    """The value of the option of select ``name`` whose text starts with ``text``."""
    select_html = re.search(rf'<select id="f-{name}" name="{name}".*?</select>', html, re.S)
    assert select_html, name
    found = re.search(rf'<option value="(\d+)"[^>]*>{re.escape(text)}', select_html.group(0))
    assert found, (name, text)
    return found.group(1)


@dataclass
class Site:
    """The app with its pages over one test database, seeded from the real mailout."""

    app: FastAPI
    engine: Engine
    settings: Settings
    run: MailoutRun
    stack: ExitStack

    def visitor(self, **client_kwargs: Any) -> Visitor:
        return Visitor(self.stack.enter_context(TestClient(self.app, **client_kwargs)))

    def college(self, code: str = LAMPANG) -> Visitor:
        visitor = self.visitor()
        response = visitor.login(code, self.run.passwords[code])
        assert response.url.path == "/inbox", response.text
        visitor.code = code
        return visitor

    def add_staff(self, college: Visitor, role: str) -> tuple[int, str]:
        """A member of staff added through the college's form: (id, first password)."""
        member = SEED_STAFF[role]
        fields = {"acting": "", "acting_for": "", **member}
        response = college.submit("/staff", fields)
        assert response.status_code == 201, response.text
        found = _SHOWN_PASSWORD.search(response.text)
        assert found
        with Session(self.engine) as session:
            username = f"{member['handle']}@{college.code}"
            account = session.exec(select(Account).where(Account.username == username)).one()
        assert account.id is not None
        return account.id, found.group(1)

    def staff(self, college: Visitor, *roles: str) -> dict[str, tuple[int, Visitor]]:
        """Members added by ``college``, each logged in past the first password change."""
        people = {}
        for role in roles:
            staff_id, first = self.add_staff(college, role)
            member = self.visitor()
            member.first_login(f"{SEED_STAFF[role]['handle']}@{college.code}", first)
            people[role] = (staff_id, member)
        return people

    def ovec(self) -> Visitor:
        add_ovec_user(self.engine, self.settings)
        visitor = self.visitor()
        assert visitor.login(OVEC_USER, OVEC_PASSWORD).url.path == "/ovec"
        return visitor

    def item_id(self, code: str = LAMPANG) -> int:
        with Session(self.engine) as session:
            item = session.exec(select(MailoutItem).where(MailoutItem.college_code == code)).one()
        assert item.id is not None
        return item.id


def check_annotated(
    annotated: bytes, letter: bytes, events: list[dict[str, Any]], receipt_number: str
) -> None:
    """The annotated letter as on paper: the stamp on page 1, every note (in order) on the
    letter's last page or a note sheet right after it, the enclosures after them unchanged;
    read back from the PDF's text layer by two extractors."""
    for extractor in ("pypdf", "pdfium"):
        before, after = page_texts(letter, extractor), page_texts(annotated, extractor)
        enclosures = len(before) - 2  # the seed letter has two pages
        assert squash(LAMPANG_NAME) in squash(after[0])
        assert squash(f"เลขรับ {receipt_number}") in squash(after[0])
        assert [squash(p) for p in after[len(after) - enclosures :]] == [
            squash(p) for p in before[2:]
        ]
        on_letter = squash("".join(after[1 : len(after) - enclosures]))
        assert squash("".join(events[0]["lines"])) in squash(after[1])  # the first note
        found = [on_letter.find(squash("".join(e["lines"]))) for e in events]
        assert -1 not in found and found == sorted(found), (extractor, found)
