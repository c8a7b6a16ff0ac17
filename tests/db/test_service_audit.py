"""The audit log: rows chained by hash, appended one at a time however many writers there are,
and `saraban audit verify` naming the first row someone edited, deleted or inserted in SQL."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlmodel import Session
from typer.testing import CliRunner

from saraban.cli import app as cli
from saraban.domain.auditchain import append, canonical_json
from saraban.services import audit
from saraban.storage.engine import session_scope
from saraban.storage.models import utcnow


def record_events(engine: Engine, count: int, actor: str = "anchalee@1352016501") -> None:
    for i in range(count):
        with session_scope(engine, immediate=True) as session:
            audit.record(
                session,
                "note",
                actor,
                f"receipt:{i + 1}",
                {"seq_in_route": i, "summary": "ด้วย สอศ. แจ้ง", "at": utcnow()},
            )


def rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        result = conn.execute(text("SELECT * FROM audit_event ORDER BY seq"))
        return [dict(r) for r in result.mappings()]


def execute(engine: Engine, sql: str, **params: Any) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def forged_record(event: str, subject: str) -> dict[str, Any]:
    """What someone who knows the chain's rule would write."""
    return {"at": utcnow(), "event": event, "actor": "mallory", "subject": subject, "details": {}}


def verdict(engine: Engine) -> tuple[bool, int | None, str | None]:
    report = audit.verify(engine)
    return report.ok, report.first_bad_seq, report.problem


def test_tampering_in_sql_is_found_at_the_first_bad_row(engine: Engine) -> None:
    record_events(engine, 8)
    assert verdict(engine) == (True, None, None)
    original = {r["seq"]: r for r in rows(engine)}

    execute(engine, "UPDATE audit_event SET actor = 'mallory' WHERE seq = 4")
    assert verdict(engine) == (False, 4, "edited")
    execute(engine, "UPDATE audit_event SET actor = :a WHERE seq = 4", a=original[4]["actor"])
    assert verdict(engine) == (True, None, None)

    edited = original[2]["record"].replace("ด้วย สอศ. แจ้ง", "ด้วย สอศ. ไม่แจ้ง")
    execute(engine, "UPDATE audit_event SET record = :r WHERE seq = 2", r=edited)
    assert verdict(engine) == (False, 2, "edited")
    execute(engine, "UPDATE audit_event SET record = :r WHERE seq = 2", r=original[2]["record"])

    execute(engine, "DELETE FROM audit_event WHERE seq = 6")
    assert verdict(engine) == (False, 6, "deleted")
    execute(
        engine,
        "INSERT INTO audit_event (seq, at, event, actor, subject, record, hash) "
        "VALUES (:seq, :at, :event, :actor, :subject, :record, :hash)",
        **original[6],
    )
    assert verdict(engine) == (True, None, None)

    # A row slipped in at 5, properly chained onto row 4; the rows after it renumbered.
    execute(engine, "UPDATE audit_event SET seq = seq + 1000 WHERE seq >= 5")
    execute(engine, "UPDATE audit_event SET seq = seq - 999 WHERE seq >= 1000")
    forged = append((4, original[4]["hash"]), forged_record("decision", "receipt:1"))
    execute(
        engine,
        "INSERT INTO audit_event (seq, at, event, actor, subject, record, hash) "
        "VALUES (5, :at, 'decision', 'mallory', 'receipt:1', :record, :hash)",
        at=forged.record["at"],
        record=canonical_json(forged.record).decode(),
        hash=forged.hash,
    )
    assert verdict(engine) == (False, 5, "inserted")


def test_rows_past_the_head_or_a_cut_end_are_found(engine: Engine) -> None:
    record_events(engine, 5)
    with Session(engine) as session:
        anchor = audit.head(session)
    last = rows(engine)[-1]
    forged = append((5, last["hash"]), forged_record("login", "x"))
    execute(
        engine,
        "INSERT INTO audit_event (seq, at, event, actor, subject, record, hash) "
        "VALUES (6, :at, 'login', 'mallory', 'x', :record, :hash)",
        at=forged.record["at"],
        record=canonical_json(forged.record).decode(),
        hash=forged.hash,
    )
    assert verdict(engine) == (False, 6, "inserted")  # written around audit.record
    execute(engine, "DELETE FROM audit_event WHERE seq >= 5")
    assert verdict(engine) == (False, 5, "deleted")  # the head still says 5
    # Cut and the head rewritten to match: only a head kept elsewhere tells.
    previous = rows(engine)[-1]
    execute(engine, "UPDATE audit_head SET seq = 4, hash = :h", h=previous["hash"])
    assert verdict(engine) == (True, None, None)
    report = audit.verify(engine, anchor=anchor)
    assert (report.ok, report.first_bad_seq, report.problem) == (False, 5, "deleted")


def test_concurrent_appends_make_one_chain(engine: Engine) -> None:
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            record_events(engine, 10, actor=f"writer-{n}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [r["seq"] for r in rows(engine)] == list(range(1, 81))
    assert audit.verify(engine).ok


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_appends_need_the_write_lock_up_front(engine: Engine) -> None:
    with pytest.raises(audit.AuditError, match="BEGIN IMMEDIATE"), session_scope(engine) as session:
        audit.record(session, "login", "x", "y")


def test_the_cli_reports_the_first_tampered_event(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    runner = CliRunner()
    record_events(engine, 3)
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "ok: 3 events" in result.output
    head = runner.invoke(cli, ["audit", "head"]).stdout.strip()  # stderr names the database
    assert head.startswith("3:") and len(head) == 2 + 64

    execute(engine, "UPDATE audit_event SET subject = 'receipt:99' WHERE seq = 2")
    result = runner.invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1
    assert "tampered: event 2 was edited (1 events before it are intact)" in result.output
    result = runner.invoke(cli, ["audit", "verify", "--anchor", "3:abc"])
    assert result.exit_code == 2 and "expected SEQ:HASH" in result.output


def test_user_add_makes_an_ovec_account(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(
        cli, ["user", "add", "Somchai", "--name", "นายสมชาย ใจดี"], input="Ovec-Bangkok-2569\n"
    )
    assert result.exit_code == 0, result.output
    with engine.connect() as conn:
        account = conn.execute(text("SELECT * FROM account")).mappings().one()
    assert (account["username"], account["kind"]) == ("somchai", "ovec")
    assert account["password_hash"].startswith("$argon2id$")
    assert "Ovec-Bangkok-2569" not in repr(dict(account))
    again = CliRunner().invoke(
        cli, ["user", "add", "somchai", "--name", "x"], input="Other-Pass-2569\n"
    )
    assert again.exit_code == 2 and "somchai is taken" in again.output
    weak = CliRunner().invoke(cli, ["user", "add", "other", "--name", "x"], input="short\n")
    assert weak.exit_code == 2 and "password" in weak.output
    assert audit.verify(engine).ok
