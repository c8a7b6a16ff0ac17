"""The service tests' world: the app over the test's database seeded from a real mailout, and
clients that act like a person (``Actor.login``), as in flaskr's tests.

The e-MVS mailout runs once per test session (three colleges, Lampang first) into a template
SQLite database; each test copies its colleges, credentials, dispatch register and mailout
rows into its own database (SQLite or PostgreSQL) and reads the bundles where the mailout
wrote them. The passwords come off the slips, as a college would read them. The fixtures
(``mailout_run``, ``world``, ``site``) are in tests/web/conftest.py.
"""

from __future__ import annotations

import io
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pypdf import PdfWriter
from pypdf.generic import NameObject, StreamObject
from sqlalchemy import Engine, text

from saraban.services import accounts
from saraban.services.sessions import CSRF_HEADER
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from tests.support.mailouts import LAMPANG, MailoutRun

__all__ = ["COLLEGE_NAME", "LAMPANG", "STAFF_PASSWORD", "Actor", "College", "World"]

COLLEGE_NAME = "วิทยาลัยสารพัดช่างลำปาง"
STAFF_PASSWORD = "Tamarind-Lampang-2569"


def service_settings(data_dir: Path, **changes: Any) -> Settings:
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
