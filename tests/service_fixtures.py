"""Fixtures for the service tests: a real mailout, the app over the test's database, and
clients that act like a person (``Actor.login``), as in flaskr's tests.

The e-MVS mailout runs once per test session (three colleges, Lampang first) into a template
SQLite database; each test copies its colleges, credentials, dispatch register and mailout
rows into its own database (SQLite or PostgreSQL) and reads the bundles where the mailout
wrote them. The passwords come off the slips, as a college would read them.

A test module takes the fixtures it uses by name: ``world = service_fixtures.world`` (and
``mailout_run``, which ``world`` needs).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject
from sqlalchemy import Engine, text, update
from sqlmodel import SQLModel

from saraban.domain.vocabulary import bangkok_today
from saraban.services import accounts
from saraban.services.mailouts import load_plan, run_mailout
from saraban.services.sessions import CSRF_HEADER
from saraban.settings import Settings
from saraban.storage.engine import make_engine, session_scope, upgrade_schema
from saraban.storage.models import Mailout
from saraban.web.app import create_app
from tests.letters_fixtures import ROOT
from tests.test_issuing import slip_credentials
from tests.test_mailout import make_folder

EXAMPLE = ROOT / "examples" / "emvs-2569"
LAMPANG = "1352016501"
COLLEGE_NAME = "วิทยาลัยสารพัดช่างลำปาง"
# Copied from the template, parents first.
COPIED_TABLES = (
    "college",
    "issue_batch",
    "credential",
    "number_counter",
    "dispatch_entry",
    "mailout",
    "mailout_item",
)
SERIAL_TABLES = ("credential", "dispatch_entry", "mailout", "mailout_item")
STAFF_PASSWORD = "Tamarind-Lampang-2569"


@dataclass(frozen=True)
class MailoutRun:
    db_url: str
    out: Path
    codes: tuple[str, ...]  # Lampang first
    passwords: dict[str, str]  # read off the slips

    @property
    def other(self) -> str:
        return self.codes[1]


def mail_small(root: Path, engine: Engine, colleges: int = 3) -> MailoutRun:
    """OVEC's mailout of a copy of examples/emvs-2569 to ``colleges`` colleges (Lampang
    first) into ``engine``'s database and ``root / "out"``; the passwords are read off the
    bundles' slips, as a college reads them."""
    plan = load_plan(make_folder(root, colleges))
    out = root / "out"
    run_mailout(plan, out, engine, issued_by="ovec-clerk", jobs=1)
    codes = tuple(row.code for row in plan.roster.rows)
    passwords: dict[str, str] = {}
    for code in codes:
        passwords.update(slip_credentials((out / f"{code}.pdf").read_bytes()))
    assert set(passwords) == set(codes)
    return MailoutRun(engine.url.render_as_string(hide_password=False), out, codes, passwords)


@pytest.fixture(scope="session")
def mailout_run(tmp_path_factory: pytest.TempPathFactory) -> MailoutRun:
    root = tmp_path_factory.mktemp("mailout")
    engine = make_engine(f"sqlite:///{root / 'template.db'}")
    try:
        upgrade_schema(engine)
        return mail_small(root, engine)
    finally:
        engine.dispose()


def copy_template(run: MailoutRun, target: Engine) -> None:
    source = make_engine(run.db_url)
    try:
        with source.connect() as src, target.begin() as dst:
            for name in COPIED_TABLES:
                table = SQLModel.metadata.tables[name]
                rows = [dict(row._mapping) for row in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
            if dst.dialect.name == "postgresql":
                for name in SERIAL_TABLES:
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                        )
                    )
    finally:
        source.dispose()


def test_settings(data_dir: Path, **changes: Any) -> Settings:
    """Cheap hashing (the college credentials, made at full cost, are rehashed at first
    login, as they would be after a change of settings)."""
    values: dict[str, Any] = {
        "env": "test",
        "secret_key": "test-secret-key-of-forty-characters-long!",
        "data_dir": data_dir,
        "hash_memory_kib": 1024,
        "hash_time_cost": 1,
        **changes,
    }
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


def tiny_pdf(text: str = "") -> bytes:
    """A one-page PDF, as a scanner might send (with ``text`` in its content, if given)."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    if text:
        content = StreamObject()
        content.set_data(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


class Actor:
    """A person at a browser: their own cookies, and the CSRF token of their session."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""
        self.me: dict[str, Any] = {}

    def login(self, username: str, password: str, *, expect: int = 200) -> httpx2.Response:
        response = self.client.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == expect, response.text
        if response.status_code == 200:
            self.me = response.json()
            self.csrf = self.me["csrf_token"]
        return response

    def change_password(self, current: str, new: str) -> httpx2.Response:
        response = self.post(
            "/api/session/password", json={"current_password": current, "new_password": new}
        )
        if response.status_code == 200:
            self.me = response.json()
            self.csrf = self.me["csrf_token"]
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> httpx2.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if method not in ("GET", "HEAD") and self.csrf:
            headers.setdefault(CSRF_HEADER, self.csrf)
        return self.client.request(method, url, headers=headers, **kwargs)

    def get(self, url: str, **kwargs: Any) -> httpx2.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx2.Response:
        return self.request("POST", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> httpx2.Response:
        return self.request("PATCH", url, **kwargs)

    def ok(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        return response.json() if response.content else None


# The seed's people at Lampang, and the two its decision names (invented: the seed names only
# their posts, รองฯ ผ.ผ. and หน.งานวางแผนฯ).
SEED_STAFF: dict[str, dict[str, str]] = {
    "clerk": {
        "handle": "anchalee",
        "name": "นางสาวอัญชลี ธรรมศรีใจ",
        "position": "หัวหน้างานบริหารงานทั่วไป",
        "role": "clerk",
    },
    "deputy": {
        "handle": "sompong",
        "name": "นายสมพงษ์ นันตะภาพ",
        "position": f"รองผู้อำนวยการ{COLLEGE_NAME}",
        "role": "deputy",
    },
    "acting": {
        "handle": "panuwat",
        "name": "นายภาณุวัฒน์ ลาสูทธิ",
        "position": "รองผู้อำนวยการ",
        "role": "deputy",
        "acting": "รักษาการในตำแหน่ง",
        "acting_for": f"ผู้อำนวยการ{COLLEGE_NAME}",
    },
    "planning_deputy": {
        "handle": "plan.deputy",
        "name": "นางทดสอบ แผนงาน",
        "position": "รองผู้อำนวยการฝ่ายแผนงานและความร่วมมือ",
        "role": "deputy",
    },
    "planning_head": {
        "handle": "plan.head",
        "name": "นายตัวอย่าง วางแผน",
        "position": "หัวหน้างานวางแผนและงบประมาณ",
        "role": "staff",
    },
}


def add_ovec_user(
    engine: Engine, settings: Settings, username: str = "somchai", password: str = STAFF_PASSWORD
) -> None:
    """An OVEC account (``saraban user add``)."""
    with session_scope(engine, immediate=True) as session:
        accounts.create_ovec_user(
            session,
            username=username,
            name="นายสมชาย ใจดี",
            password=password,
            settings=settings,
            by="test",
        )


@dataclass
class College:
    code: str
    account: Actor
    staff: dict[str, Actor] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)


@dataclass
class World:
    """The app over one test database, seeded from the real mailout."""

    app: FastAPI
    engine: Engine
    settings: Settings
    run: MailoutRun
    stack: ExitStack

    def actor(self, **client_kwargs: Any) -> Actor:
        return Actor(self.stack.enter_context(TestClient(self.app, **client_kwargs)))

    def college(self, code: str = LAMPANG, *, staff: tuple[str, ...] = ()) -> College:
        """The college logged in with its slip's password, with members of staff made by it,
        each logged in and past their first password change."""
        account = self.actor()
        account.login(code, self.run.passwords[code])
        college = College(code, account)
        for role in staff:
            body = SEED_STAFF[role]
            created = account.ok("POST", "/api/staff", 201, json=body)
            assert created["staff"]["must_change_password"] is True
            first = created["initial_password"]
            member = self.actor()
            member.login(f"{body['handle']}@{code}", first)
            assert member.me["must_change_password"] is True
            assert member.change_password(first, STAFF_PASSWORD).status_code == 200
            college.staff[role] = member
            college.ids[role] = created["staff"]["id"]
        return college

    def ovec(self, username: str = "somchai") -> Actor:
        add_ovec_user(self.engine, self.settings, username)
        actor = self.actor()
        actor.login(username, STAFF_PASSWORD)
        return actor

    def inbox_item(self, code: str = LAMPANG) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                text("SELECT id FROM mailout_item WHERE college_code = :c"), {"c": code}
            ).scalar_one()


@pytest.fixture
def world(engine: Engine, mailout_run: MailoutRun, tmp_path: Path) -> Iterator[World]:
    copy_template(mailout_run, engine)
    with engine.begin() as conn:  # due yesterday: undecided letters are overdue
        conn.execute(update(Mailout).values(due_date=bangkok_today() - timedelta(days=1)))
    settings = test_settings(tmp_path / "data")
    with ExitStack() as stack:
        yield World(create_app(settings, engine), engine, settings, mailout_run, stack)
