"""OVEC reissues or voids a college's credential through the JSON API (and the page, which
calls the same service): the new password only in the one answer, never stored, logged or
written to a file; the hash change and its audit event commit together; a reason always;
only OVEC staff, and a college learns nothing of another college."""

from __future__ import annotations

import json
import logging
import re
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel, select

from credentials import verify_password
from saraban.domain.principal import Principal
from saraban.services import audit, credentials
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import AuditEvent, CredentialStatus, SessionKind
from tests.support.service import COLLEGE_NAME, LAMPANG, World

_SLIP_PASSWORD = re.compile(r'id="slip-password">([^<]+)<')


def reissue_url(code: str) -> str:
    return f"/api/colleges/{code}/credential/reissue"


def void_url(code: str) -> str:
    return f"/api/colleges/{code}/credential/void"


def audit_events(world: World, event: str) -> list[AuditEvent]:
    with session_scope(world.engine) as session:
        return audit.events(session, event=event)


def live_hash(world: World, code: str) -> str | None:
    with session_scope(world.engine) as session:
        credential = store.live_credential(session=session, code=code)
        return credential.password_hash if credential else None


def test_ovec_reissues_and_the_password_is_in_the_answer_only(world: World) -> None:
    lampang = world.college()
    old_password = world.run.passwords[LAMPANG]
    ovec = world.ovec()

    response = ovec.post(reissue_url(LAMPANG), json={"reason": "  ซองสูญหาย\nระหว่างส่ง "})
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    password = body["password"]
    assert (body["code"], body["college_name"]) == (LAMPANG, COLLEGE_NAME)
    assert password != old_password and len(password) >= 7
    credential = body["credential"]
    assert credential["status"] == "live" and credential["issued_by"] == "somchai"
    assert "password_hash" not in credential

    # The old credential is void with who and why; the new hash is the password's.
    with session_scope(world.engine) as session:
        history = store.credential_history(session=session, code=LAMPANG)
    old, new = history[-2:]
    assert (old.status, old.voided_by, old.void_reason) == (
        CredentialStatus.VOID,
        "somchai",
        "ซองสูญหาย ระหว่างส่ง",
    )
    assert new.id == credential["id"] and new.status == CredentialStatus.LIVE
    assert verify_password(world.settings.hashing.context(), password, new.password_hash)[0]

    # The college's session ended with its old credential; only the new password logs in.
    assert lampang.account.get("/api/session").status_code == 401
    world.actor().login(LAMPANG, old_password, expect=401)
    world.actor().login(LAMPANG, password)

    (event,) = audit_events(world, "reissue")
    assert (event.actor, event.subject) == ("somchai", f"college:{LAMPANG}")
    assert '"reason":"ซองสูญหาย ระหว่างส่ง"' in event.record
    # The same payload as a reissue from the command line; no slips file, so no batch.
    details = json.loads(event.record)["details"]
    assert details == {"reason": "ซองสูญหาย ระหว่างส่ง", "credential": new.id, "batch": None}
    assert audit.verify(world.engine)


def test_void_needs_a_reason_and_a_live_credential(world: World) -> None:
    lampang = world.college()
    ovec = world.ovec()
    for bad in ({}, {"reason": ""}, {"reason": "   \n "}, {"reason": "x" * 501}):
        response = ovec.post(void_url(LAMPANG), json=bad)
        assert response.status_code == 422, (bad, response.text)
    assert lampang.account.get("/api/session").status_code == 200  # nothing happened

    voided = ovec.ok("POST", void_url(LAMPANG), json={"reason": "ยุบรวมสถานศึกษา"})
    assert (voided["status"], voided["void_reason"], voided["voided_by"]) == (
        "void",
        "ยุบรวมสถานศึกษา",
        "somchai",
    )
    assert lampang.account.get("/api/session").status_code == 401
    world.actor().login(LAMPANG, world.run.passwords[LAMPANG], expect=401)
    assert live_hash(world, LAMPANG) is None
    (event,) = audit_events(world, "void")
    assert event.subject == f"college:{LAMPANG}" and "ยุบรวมสถานศึกษา" in event.record

    twice = ovec.post(void_url(LAMPANG), json={"reason": "อีกครั้ง"})
    assert twice.status_code == 409 and "ไม่มีรหัสผ่านที่ใช้งานอยู่" in twice.json()["detail"]
    again = ovec.post(reissue_url(LAMPANG), json={"reason": "ขอใหม่"})
    assert again.status_code == 409
    for code in ("0000000000", "not-a-code", "๑"):
        for url in (void_url(code), reissue_url(code)):
            assert ovec.post(url, json={"reason": "x"}).status_code == 404, url
    assert len(audit_events(world, "void")) == 1 and audit_events(world, "reissue") == []


def test_only_ovec_and_a_college_learns_nothing_of_another(world: World) -> None:
    lampang = world.college(staff=("clerk",))
    other = world.college(world.run.other, staff=("clerk",))
    before = {code: live_hash(world, code) for code in world.run.codes}
    for actor in (other.account, other.staff["clerk"]):
        for url in (reissue_url(LAMPANG), void_url(LAMPANG)):
            not_found = actor.post(url, json={"reason": "x"})
            assert not_found.status_code == 404, url
            # ...the same answer as for a college that does not exist
            assert actor.post(url.replace(LAMPANG, "0000000000"), json={"reason": "x"}).json() == {
                "detail": "no college 0000000000"
            }
            assert not_found.json() == {"detail": f"no college {LAMPANG}"}
        for url in (reissue_url(other.code), void_url(other.code)):
            assert actor.post(url, json={"reason": "x"}).status_code == 403  # its own: not here
    assert {code: live_hash(world, code) for code in world.run.codes} == before
    assert lampang.account.get("/api/session").status_code == 200
    assert other.account.get("/api/session").status_code == 200


def _ovec_principal() -> Principal:
    return Principal(kind=SessionKind.OVEC, session_id=1, username="somchai", name="สมชาย")


@pytest.mark.parametrize("action", ["reissue", "void"])
def test_the_hash_change_and_its_audit_event_commit_together(
    world: World, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    before = live_hash(world, LAMPANG)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is unavailable")

    monkeypatch.setattr(credentials.audit, "record", broken)
    with pytest.raises(RuntimeError, match="audit log"):
        if action == "reissue":
            credentials.reissue(
                world.engine,
                who=_ovec_principal(),
                code=LAMPANG,
                reason="x",
                hashing=world.settings.hashing,
            )
        else:
            credentials.void(world.engine, who=_ovec_principal(), code=LAMPANG, reason="x")
    monkeypatch.undo()
    assert live_hash(world, LAMPANG) == before
    world.actor().login(LAMPANG, world.run.passwords[LAMPANG])
    assert audit_events(world, action) == []


def test_a_slip_that_cannot_be_printed_leaves_the_old_credential_live(world: World) -> None:
    """A reissue (the page's) makes the slip before anything is stored: a college whose name does
    not fit on a slip keeps its password, rather than getting a new one nobody can read."""
    from saraban.domain.errors import Invalid

    long_name = "วิทยาลัยเทคนิค" + "เฉลิมพระเกียรติสมเด็จพระศรีนครินทร์" * 6
    with session_scope(world.engine, immediate=True) as session:
        session.exec(
            text("UPDATE college SET name = :name WHERE code = :code"),
            params={"name": long_name, "code": LAMPANG},
        )
    before = live_hash(world, LAMPANG)
    with pytest.raises(Invalid, match="slip"):
        credentials.reissue(
            world.engine,
            who=_ovec_principal(),
            code=LAMPANG,
            reason="ซองหาย",
            hashing=world.settings.hashing,
            slip=credentials.slip_renderer(),
        )
    assert live_hash(world, LAMPANG) == before
    assert audit_events(world, "reissue") == []
    world.actor().login(LAMPANG, world.run.passwords[LAMPANG])


def _database_text(world: World) -> str:
    """Every row of every table, and on SQLite the database files' bytes."""
    dump = []
    with world.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            dump += [repr(tuple(row)) for row in conn.execute(table.select())]
    if world.engine.dialect.name == "sqlite":
        path = Path(str(world.engine.url.database))
        for file in path.parent.glob(path.name + "*"):
            dump.append(file.read_bytes().decode("latin-1"))
    return "\n".join(dump)


def _files_text(folder: Path) -> str:
    return "\n".join(p.read_bytes().decode("latin-1") for p in folder.rglob("*") if p.is_file())


def test_no_plaintext_in_database_logs_files_or_errors(
    world: World,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A password reissued through the API and through the page is in its answer, and in
    no row, database file, log record, temporary or data file, nor any later answer."""
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    caplog.set_level(logging.DEBUG)
    ovec = world.ovec()
    codes = world.run.codes

    passwords = [ovec.ok("POST", reissue_url(codes[0]), json={"reason": "ทาง API"})["password"]]
    page = ovec.client.post(
        f"/ovec/colleges/{codes[1]}/reissue",
        data={"csrf_token": ovec.csrf, "reissue_reason": "ทางหน้าเว็บ"},
    )
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    found = _SLIP_PASSWORD.search(page.text)
    assert found
    passwords.append(found.group(1))

    # Later answers: errors, the college's page, the tracking, the audit-bearing pages.
    later: list[str] = []
    for url in (reissue_url(codes[0]), void_url("0000000000"), reissue_url("x")):
        later.append(ovec.post(url, json={"reason": ""}).text)
    for url in (void_url("0000000000"), reissue_url("x"), void_url(codes[2]), void_url(codes[2])):
        later.append(ovec.post(url, json={"reason": "ซ้ำ"}).text)
    later.append(ovec.get(f"/ovec/colleges/{codes[0]}").text)
    later.append(ovec.get(f"/ovec/colleges/{codes[1]}").text)
    later.append(ovec.get("/api/tracking").text)
    for code, password in zip(codes, passwords, strict=False):
        college = world.actor()
        college.login(code, password)
        later.append(college.get("/api/session").text)
        later.append(college.get("/api/inbox").text)

    database = _database_text(world)
    logs = caplog.text + "\n".join(str(r.__dict__) for r in caplog.records)
    files = _files_text(scratch) + _files_text(world.settings.data_dir)
    for password in passwords:
        assert password not in database
        assert password not in logs
        assert password not in files
        assert not [answer for answer in later if password in answer]
    assert list(scratch.iterdir()) == []  # nothing written, not even for a moment
    assert [e.event for e in audit_events(world, "reissue")] == ["reissue", "reissue"]
    with world.engine.connect() as conn:  # no slips file, so no batch naming one
        query = text("SELECT count(*) FROM issue_batch WHERE kind = 'reissue'")
        assert conn.execute(query).scalar_one() == 0
    with session_scope(world.engine) as session:
        events = session.exec(select(AuditEvent).where(AuditEvent.event == "reissue")).all()
    assert {e.subject for e in events} == {f"college:{codes[0]}", f"college:{codes[1]}"}
