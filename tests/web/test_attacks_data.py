"""Attacks on the running service (issue #14, items 4 to 8): ``saraban serve`` in a subprocess
on 127.0.0.1, over the test's database (SQLite and PostgreSQL) seeded from the real mailout,
and real HTTP with httpx. Each attack worked before the fix.

4. A leaked slip's staff: voiding or reissuing a college's credential ends its staff's sessions
   too, a void blocks their logins, and OVEC sees (and switches off) the staff made since.
5. A formula in a staff name reaches OVEC's tracking CSV as text, not a live formula.
6. Superscript digits, 20-digit numbers and NUL in page forms and query strings: 4xx, no 500.
7. Editing the JSON copy of an audit row (actor, subject, event, at) fails ``audit verify``.
8. A PDF with OpenAction JavaScript is flagged and served sandboxed as an attachment; bidi
   overrides and zero-width characters are refused, naming the field; invalid UTF-8 in a
   multipart field is 422; a production secret key of 40 x's stops the server.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfWriter
from pypdf.generic import DictionaryObject, NameObject, TextStringObject
from sqlalchemy import Engine, text

from saraban.services.sessions import CSRF_HEADER
from tests.support.mailouts import LAMPANG, MailoutRun, copy_template
from tests.support.service import (
    SEED_STAFF,
    STAFF_PASSWORD,
    add_ovec_user,
    service_settings,
    tiny_pdf,
)

SECRET = "attack-test-secret-key-0f-forty-characters!"
CLI = [sys.executable, "-m", "saraban.cli"]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(db_url: str, data_dir: Path, **changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
    env.update(
        {
            "DATABASE_URL": db_url,
            "SARABAN_ENV": "test",
            "SARABAN_SECRET_KEY": SECRET,
            "SARABAN_DATA_DIR": str(data_dir),
            "SARABAN_HASH_MEMORY_KIB": "1024",
            "SARABAN_HASH_TIME_COST": "1",
            **changes,
        }
    )
    return env


class Person:
    """Someone at the service over real HTTP: their own cookies and CSRF token."""

    def __init__(self, base: str) -> None:
        self.http = httpx.Client(base_url=base, timeout=60)
        self.csrf = ""

    def login(self, username: str, password: str, *, expect: int = 200) -> httpx.Response:
        response = self.http.post("/api/login", json={"username": username, "password": password})
        assert response.status_code == expect, response.text
        if response.status_code == 200:
            self.csrf = response.json()["csrf_token"]
        return response

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if method != "GET" and self.csrf:
            headers.setdefault(CSRF_HEADER, self.csrf)
        return self.http.request(method, url, headers=headers, **kwargs)

    def ok(self, method: str, url: str, status: int = 200, **kwargs: Any) -> Any:
        response = self.request(method, url, **kwargs)
        assert response.status_code == status, f"{method} {url}: {response.text}"
        return response.json() if response.content else None

    def page_form(self, page_url: str, action: str, data: dict[str, str]) -> httpx.Response:
        """Open a page (for its form's CSRF token), then post the form as a browser would."""
        shown = self.http.get(page_url)
        found = _CSRF.search(shown.text)
        assert found, shown.text[:500]
        fields = {"csrf_token": found.group(1), **data}
        return self.http.post(action, data=fields, follow_redirects=True)


@dataclass
class Server:
    base: str
    engine: Engine
    run: MailoutRun
    db_url: str
    env: dict[str, str]
    people: list[Person] = field(default_factory=list)

    def person(self) -> Person:
        person = Person(self.base)
        self.people.append(person)
        return person

    def college(self, code: str = LAMPANG) -> Person:
        person = self.person()
        person.login(code, self.run.passwords[code])
        return person

    def ovec(self) -> Person:
        person = self.person()
        person.login("somchai", STAFF_PASSWORD)
        return person

    def staff(self, college: Person, seed: str, **changes: str) -> tuple[int, Person]:
        """A member of staff made by the college (``SEED_STAFF[seed]`` with ``changes``),
        logged in past the first password change."""
        body = {**SEED_STAFF[seed], **changes}
        created = college.ok("POST", "/api/staff", 201, json=body)
        member = self.person()
        code = created["staff"]["college_code"]
        member.login(f"{body['handle']}@{code}", created["initial_password"])
        changed = member.request(
            "POST",
            "/api/session/password",
            json={"current_password": created["initial_password"], "new_password": STAFF_PASSWORD},
        )
        assert changed.status_code == 200, changed.text
        member.csrf = changed.json()["csrf_token"]
        return created["staff"]["id"], member

    def item(self, code: str = LAMPANG) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    text("SELECT id FROM mailout_item WHERE college_code = :c"), {"c": code}
                ).scalar_one()
            )


def _wait_until_up(process: subprocess.Popen[bytes], log: Path, base: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text(errors="replace")
        try:
            if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"the server did not start: {log.read_text(errors='replace')}")


@pytest.fixture
def server(
    engine: Engine, db_url: str, mailout_run: MailoutRun, tmp_path: Path
) -> Iterator[Server]:
    copy_template(mailout_run, engine)
    add_ovec_user(engine, service_settings(tmp_path / "data"))
    env = _env(db_url, tmp_path / "data")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    running = Server(base, engine, mailout_run, db_url, env)
    try:
        _wait_until_up(process, log, base)
        yield running
    finally:
        for person in running.people:
            person.http.close()
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert "Traceback" not in log.read_text(errors="replace"), log.read_text(errors="replace")


# --------------------------------------------------------------------------- #
# 4. A leaked slip's staff accounts
# --------------------------------------------------------------------------- #


def test_void_and_reissue_reach_the_staff_the_slip_made(server: Server) -> None:
    # Whoever holds Lampang's leaked slip logs in and makes a member of staff of their own.
    thief = server.college()
    stray_id, stray = server.staff(thief, "clerk", handle="stray", name="นายแฝง ตัวปลอม")
    assert stray.request("GET", "/api/session").status_code == 200
    ovec = server.ovec()
    credential = f"/api/colleges/{LAMPANG}/credential"

    # A reissue ends every session of the college, its staff's included.
    reissued = ovec.ok("POST", f"{credential}/reissue", json={"reason": "ใบแจ้งรั่วไหล"})
    assert thief.request("GET", "/api/session").status_code == 401
    assert stray.request("GET", "/api/session").status_code == 401
    assert stray.request("GET", "/api/inbox").status_code == 401

    # The college, with its new slip, sees the account made with the old one, and its switch.
    college = server.person()
    college.login(LAMPANG, reissued["password"])
    staff_page = college.http.get("/staff")
    assert "สร้างด้วยรหัสผ่านเดิม" in staff_page.text
    assert f'action="/staff/{stray_id}/switch-off"' in staff_page.text
    assert [s["username"] for s in college.ok("GET", f"{credential}/staff")] == [f"stray@{LAMPANG}"]

    # A void ends them again, and blocks staff logins until a new credential is issued.
    again = server.person()
    again.login(f"stray@{LAMPANG}", STAFF_PASSWORD)  # the credential is live again
    ovec.ok("POST", f"{credential}/void", json={"reason": "ใบแจ้งรั่วไหลอีก"})
    assert again.request("GET", "/api/session").status_code == 401
    server.person().login(f"stray@{LAMPANG}", STAFF_PASSWORD, expect=401)

    # OVEC sees the staff made since the previous credential, on the API and the page.
    listed = ovec.ok("GET", f"{credential}/staff")
    assert [(s["username"], s["active"]) for s in listed] == [(f"stray@{LAMPANG}", True)]
    page = ovec.http.get(f"/ovec/colleges/{LAMPANG}")
    assert page.status_code == 200 and f"stray@{LAMPANG}" in page.text
    assert f"/ovec/colleges/{LAMPANG}/staff/{stray_id}/switch-off" in page.text

    # OVEC switches the stray account off from the page.
    switched = ovec.page_form(
        f"/ovec/colleges/{LAMPANG}", f"/ovec/colleges/{LAMPANG}/staff/{stray_id}/switch-off", {}
    )
    assert switched.status_code == 200 and "ปิดบัญชี" in switched.text
    assert ovec.ok("GET", f"{credential}/staff")[0]["active"] is False
    # A college cannot use OVEC's switch on another college's staff.
    other = server.college(server.run.other)
    refused = other.request("POST", f"{credential}/staff/{stray_id}/switch-off")
    assert refused.status_code == 404


# --------------------------------------------------------------------------- #
# 5. Spreadsheet formulas in the CSV exports
# --------------------------------------------------------------------------- #


def test_a_formula_in_a_name_reaches_the_tracking_csv_as_text(server: Server) -> None:
    formula = '=HYPERLINK("http://evil.example/x","คลิก")'
    college = server.college()
    director_id, director = server.staff(
        college, "acting", name=formula, acting="", acting_for="", role="director"
    )
    _, clerk = server.staff(college, "clerk")
    receipt = clerk.ok("POST", f"/api/inbox/{server.item()}/receive", 201, json={})["id"]
    steps = [{"order": 1, "staff_id": director_id, "kind": "decision"}]
    clerk.ok("POST", f"/api/receipts/{receipt}/route", 201, json={"steps": steps})
    director.ok("POST", f"/api/receipts/{receipt}/decision", 201, json={"kind": "ทราบ"})
    ovec = server.ovec()
    for url in ("/api/tracking.csv", "/ovec/tracking.csv"):
        response = ovec.http.get(url)
        assert response.status_code == 200, response.text
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        by = rows[0].index("ผู้สั่งการ (by)")
        cells = [row[by] for row in rows[1:] if row[by]]
        assert len(cells) == 1 and cells[0].startswith("'" + formula), cells  # text
        every = [cell for row in rows for cell in row]
        assert not any(cell[:1] in "=+-@\t\r" for cell in every if cell)


# --------------------------------------------------------------------------- #
# 6. Page forms and query strings
# --------------------------------------------------------------------------- #


def test_odd_numbers_and_nul_in_pages_are_refused_not_crashes(server: Server) -> None:
    ovec = server.ovec()
    for params in (
        {"mailout_id": "²"},
        {"mailout_id": "12345678901234567890"},
        {"college": "\x00"},
        {"province": "a\x00b"},
    ):
        for url in ("/ovec/tracking", "/ovec/tracking.csv"):
            response = ovec.http.get(url, params=params)
            assert response.status_code == 422, (url, params, response.status_code)
            name = next(iter(params))
            assert name in response.text, response.text[:300]  # the field is named
    assert ovec.http.get("/ovec/colleges/²").status_code == 404

    college = server.college()
    item = server.item()
    for day in ("²", "12345678901234567890", "๑²"):
        response = college.page_form(
            f"/inbox/{item}",
            f"/inbox/{item}/receive",
            {"letter_date_day": day, "letter_date_month": "4", "letter_date_year": "2569"},
        )
        assert 400 <= response.status_code < 500, (day, response.status_code)
    clerk_id, clerk = server.staff(college, "clerk")
    receipt = clerk.ok("POST", f"/api/inbox/{item}/receive", 201, json={})["id"]
    for decider in ("²", "99999999999999999999"):
        response = clerk.page_form(
            f"/receipts/{receipt}",
            f"/receipts/{receipt}/route",
            {"note_1": str(clerk_id), "decider": decider},
        )
        assert 400 <= response.status_code < 500, (decider, response.status_code)
    nul = clerk.http.get("/inbox", params={"q": "\x00", "state": "²"})
    assert nul.status_code == 422 and "แล้วลองใหม่: q" in nul.text
    assert clerk.http.get("/inbox", params={"q": "²", "state": "²"}).status_code == 200


# --------------------------------------------------------------------------- #
# 7. The audit log's stored JSON copy
# --------------------------------------------------------------------------- #


def _verify(server: Server) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "audit", "verify"],
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("key", ["actor", "subject", "event", "at"])
def test_editing_the_json_copy_of_an_audit_row_fails_verify(server: Server, key: str) -> None:
    college = server.college()
    college.ok("POST", f"/api/inbox/{server.item()}/receive", 201, json={})
    assert _verify(server).returncode == 0, _verify(server).stdout
    with server.engine.begin() as conn:
        seq, stored = conn.execute(
            text("SELECT seq, record FROM audit_event WHERE event = 'receipt'")
        ).one()
        record = json.loads(stored)
        record[key] = "2020-01-01T00:00:00.000000Z" if key == "at" else "someone-else"
        forged = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        conn.execute(
            text("UPDATE audit_event SET record = :r WHERE seq = :s"), {"r": forged, "s": seq}
        )
    verdict = _verify(server)
    assert verdict.returncode != 0, verdict.stdout
    assert str(seq) in verdict.stdout + verdict.stderr


# --------------------------------------------------------------------------- #
# 8. Uploaded files and text
# --------------------------------------------------------------------------- #


def _scripted_pdf() -> bytes:
    """A one-page PDF that runs JavaScript as it opens."""
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    action = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Action"),
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('pwned');"),
        }
    )
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


FORM = {"sender": "บริษัท ตัวอย่าง จำกัด", "subject": "ขอเชิญประชุม", "channel": "email"}


def test_a_scripted_pdf_is_flagged_and_served_sandboxed(server: Server) -> None:
    college = server.college()
    files = {"file": ("letter.pdf", _scripted_pdf(), "application/pdf")}
    entry = college.ok("POST", "/api/receipts", 201, data=FORM, files=files)
    assert entry["active_content"] == "javascript,open-action"
    for url in (f"/api/receipts/{entry['id']}/letter", f"/receipts/{entry['id']}/letter.pdf"):
        served = college.http.get(url)
        assert served.status_code == 200
        assert served.content == _scripted_pdf() or served.content.startswith(b"%PDF")
        assert served.headers["content-security-policy"] == "sandbox"
        assert served.headers["x-content-type-options"] == "nosniff"
        assert served.headers["content-disposition"].startswith("attachment")
    page = college.http.get(f"/receipts/{entry['id']}")
    assert 'id="active-content"' in page.text and "JavaScript" in page.text
    # A plain PDF carries no flag.
    files = {"file": ("a.pdf", tiny_pdf(), "application/pdf")}
    plain = college.ok("POST", "/api/receipts", 201, data=FORM, files=files)
    assert plain["active_content"] == ""
    assert 'id="active-content"' not in college.http.get(f"/receipts/{plain['id']}").text


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\u200d", "\ufeff"])
def test_bidi_and_zero_width_characters_are_refused_naming_the_field(
    server: Server, char: str
) -> None:
    college = server.college()
    body = {**SEED_STAFF["clerk"], "name": f"นายสมชาย{char}ใจดี"}
    response = college.request("POST", "/api/staff", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == "name"
    assert f"U+{ord(char):04X}" in response.text
    subject = {**FORM, "subject": f"เรื่อง{char}ปลอม"}
    files = {"file": ("a.pdf", tiny_pdf(), "application/pdf")}
    response = college.request("POST", "/api/receipts", data=subject, files=files)
    assert response.status_code == 422 and "subject" in response.text, response.text
    # The page's form: the same check, the field named on the form.
    page = college.page_form("/staff", "/staff", {**body, "acting": "", "acting_for": ""})
    assert page.status_code == 422
    ovec = server.ovec()
    refused = ovec.request(
        "POST", f"/api/colleges/{LAMPANG}/credential/void", json={"reason": f"เหตุ{char}ผล"}
    )
    assert refused.status_code == 422 and "reason" in refused.text


def test_invalid_utf8_in_a_multipart_field_is_422(server: Server) -> None:
    college = server.college()
    boundary = "----saraban-attack"
    parts = [
        (b'name="sender"', "บริษัท ตัวอย่าง".encode()),
        (b'name="subject"', b"\xff\xfe\xe0\xb8"),  # not UTF-8
        (b'name="file"; filename="a.pdf"\r\nContent-Type: application/pdf', tiny_pdf()),
    ]
    body = (
        b"".join(
            b"--"
            + boundary.encode()
            + b"\r\nContent-Disposition: form-data; "
            + head
            + b"\r\n\r\n"
            + value
            + b"\r\n"
            for head, value in parts
        )
        + b"--"
        + boundary.encode()
        + b"--\r\n"
    )
    response = college.request(
        "POST",
        "/api/receipts",
        content=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"] == ["body", "subject"]
    # A page's urlencoded form too: a bad percent-escape is not turned into U+FFFD.
    login = college.http.post(
        "/login",
        content=b"username=%FF%FEx&password=y",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert login.status_code == 422 and "username" in login.text, login.text[:300]
    register = college.ok("GET", "/api/receipts")
    assert all("\ufffd" not in r["subject"] and "ÿ" not in r["subject"] for r in register)


def test_a_production_key_of_little_entropy_stops_the_server(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    for key in ("x" * 40, "changeme" * 5, "0123456789" * 4):
        env = _env(db_url, tmp_path / "data", SARABAN_ENV="production", SARABAN_SECRET_KEY=key)
        started = subprocess.run(
            [*CLI, "serve", "--host", "127.0.0.1", "--port", str(_free_port())],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert started.returncode != 0
        said = started.stdout + started.stderr
        assert "SARABAN_SECRET_KEY" in said or "secret_key" in said, said
        assert key not in said and key[:12] not in said  # never echoed
