"""Issuing credentials: hashes and slips both or neither; no plaintext kept anywhere else."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from credentials import HashSettings, hash_password, make_context
from letters.slip import render_slips
from saraban.domain.roster import read_roster
from saraban.services import credentials
from saraban.services.credentials import IssueError, issue, recover, reissue, void
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import session_scope
from tests.support.letters import ROOT
from tests.support.mailouts import slip_credentials

ROSTER = ROOT / "examples" / "emvs-2569" / "roster.csv"
LAMPANG = "1352016501"


def render(slips):
    return render_slips(slips)


def verify(engine: Engine, *, code: str, password: str) -> credentials.Verdict:
    """A clerk's check from the command line: the service's, under the login throttle."""
    return credentials.verify(engine, Settings(), code=code, password=password)


@pytest.fixture
def colleges(engine: Engine) -> list[str]:
    rows = read_roster(ROSTER).rows[:24]
    rows = [*rows, next(r for r in read_roster(ROSTER).rows if r.code == LAMPANG)]
    with session_scope(engine) as session:
        store.import_colleges(session=session, colleges=rows)
    return [r.code for r in rows]


def live_codes(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return {
            code
            for code in store_codes(session)
            if store.live_credential(session=session, code=code) is not None
        }


def store_codes(session) -> list[str]:
    return [row[0] for row in session.execute(text("select code from college"))]


def test_issue_verify_and_rerun_issues_nothing(
    engine: Engine, colleges: list[str], tmp_path: Path
) -> None:
    slips = tmp_path / "slips.pdf"
    result = issue(engine, slips_path=slips, render=render, issued_by="clerk")
    assert set(result.codes) == set(colleges)
    credentials = slip_credentials(slips.read_bytes())
    assert set(credentials) == set(colleges)
    password = credentials[LAMPANG]
    assert re.fullmatch(r"[a-z]{2}[2-9]{2}[a-z]{3}", password)
    assert verify(engine, code=LAMPANG, password=password).ok
    assert verify(engine, code=LAMPANG, password=password[::-1]).reason == "wrong password"
    again = issue(engine, slips_path=tmp_path / "again.pdf", render=render, issued_by="clerk")
    assert again.count == 0 and not (tmp_path / "again.pdf").exists()
    void(engine, who="clerk", code=LAMPANG, reason="สถานศึกษาแจ้งรหัสผ่านรั่วไหล")
    assert verify(engine, code=LAMPANG, password=password).reason == "no live credential"
    with engine.connect() as conn:
        events = [r[0] for r in conn.execute(text("select event from audit_event order by seq"))]
    # The audit log holds the issue, every check of a password and the void, in order.
    assert events == ["issue", "credential_verified", "login_failed", "void", "login_failed"]


def test_reissue_voids_the_old_and_records_who_when_why(
    engine: Engine, colleges: list[str], tmp_path: Path
) -> None:
    issue(
        engine, slips_path=tmp_path / "first.pdf", render=render, issued_by="clerk", codes=[LAMPANG]
    )
    old = slip_credentials((tmp_path / "first.pdf").read_bytes())[LAMPANG]
    reissue(
        engine,
        who="supervisor",
        code=LAMPANG,
        reason="ซองสูญหาย",
        slip=credentials.slip_renderer(),
        slips_path=tmp_path / "new.pdf",
    )
    new = slip_credentials((tmp_path / "new.pdf").read_bytes())[LAMPANG]
    assert not verify(engine, code=LAMPANG, password=old).ok
    assert verify(engine, code=LAMPANG, password=new).ok
    with session_scope(engine) as session:
        voided, live = store.credential_history(session=session, code=LAMPANG)
    assert (voided.status, voided.voided_by, voided.void_reason) == (
        "void",
        "supervisor",
        "ซองสูญหาย",
    )
    assert voided.voided_at is not None and live.status == "live"
    with engine.connect() as conn:  # the slip is a committed batch of one; one audit event
        batch_id, state = conn.execute(
            text("select id, state from issue_batch where kind = 'reissue'")
        ).one()
        (record,) = conn.execute(text("select record from audit_event where event = 'reissue'"))
    assert state == "committed" and live.batch_id == batch_id
    assert json.loads(record[0])["details"] == {
        "reason": "ซองสูญหาย",
        "credential": live.id,
        "batch": batch_id,
    }


def test_failed_render_stores_no_hash_and_leaves_no_file(
    engine: Engine, colleges: list[str], tmp_path: Path
) -> None:
    def four_up_of_three(slips):
        return render_slips(slips, per_page=3)

    with pytest.raises(ValueError, match="per_page"):
        issue(engine, slips_path=tmp_path / "slips.pdf", render=four_up_of_three, issued_by="clerk")
    assert live_codes(engine) == set()
    assert list(tmp_path.iterdir()) == []


def test_existing_slips_file_is_never_overwritten(
    engine: Engine, colleges: list[str], tmp_path: Path
) -> None:
    slips = tmp_path / "slips.pdf"
    slips.write_bytes(b"the clerk's earlier slips")
    with pytest.raises(IssueError, match="already exists"):
        issue(engine, slips_path=slips, render=render, issued_by="clerk")
    assert live_codes(engine) == set()
    assert slips.read_bytes() == b"the clerk's earlier slips"


def test_unknown_code_is_named_and_nothing_issued(
    engine: Engine, colleges: list[str], tmp_path: Path
) -> None:
    with pytest.raises(store.UnknownCollege, match="1399999999"):
        issue(
            engine,
            slips_path=tmp_path / "s.pdf",
            render=render,
            issued_by="clerk",
            codes=[LAMPANG, "1399999999"],
        )
    assert live_codes(engine) == set()


def test_orphan_partial_slips_are_removed(
    engine: Engine, colleges: list[str], tmp_path: Path
) -> None:
    orphan = tmp_path / ".slips.pdf.0f0e-never-committed.partial"
    orphan.write_bytes(b"%PDF- slips of a batch that died before its commit")
    assert recover(engine, tmp_path)
    assert not orphan.exists()


def test_weaker_hash_is_upgraded_on_the_next_good_login(
    engine: Engine, colleges: list[str]
) -> None:
    weak = hash_password(make_context(memory_kib=1024, time_cost=1), "ab23cde")
    with session_scope(engine) as session:
        batch = store.create_batch(
            session=session, created_by="t", kind="issue", slips_path="/dev/null"
        )
        store.store_credentials(
            session=session, batch_id=batch.id, issued_by="t", hashes={LAMPANG: weak}
        )
    settings = Settings(hash_memory_kib=HashSettings().memory_kib, hash_time_cost=2)
    verdict = credentials.verify(engine, settings, code=LAMPANG, password="ab23cde")
    assert verdict.ok and verdict.rehashed
    with session_scope(engine) as session:
        assert (
            "m=19456,t=2,p=1" in store.live_credential(session=session, code=LAMPANG).password_hash
        )


def _grep(paths: list[Path], secrets: list[str]) -> list[str]:
    hits = []
    for path in paths:
        data = path.read_bytes()
        for secret in secrets:
            if secret.encode() in data or secret.encode("utf-16-le") in data:
                hits.append(f"{path.name}: {secret[:2]}…")
    return hits


@pytest.mark.slow
def test_no_plaintext_in_database_wal_logs_or_output(tmp_path: Path) -> None:
    """Through the CLI, as a clerk runs it, on the embedded SQLite default."""
    work = tmp_path / "work"
    work.mkdir()
    env = {
        **os.environ,
        "SARABAN_DB": str(work / "saraban.db"),
        "SARABAN_LOG": str(work / "saraban.log"),
    }
    env.pop("DATABASE_URL", None)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "saraban.cli", *args],
            capture_output=True,
            text=True,
            cwd=work,
            env=env,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr
        return result

    outputs = [cli("roster", "import", str(ROSTER))]
    outputs.append(cli("credentials", "issue", "--slips", "slips.pdf", "--per-page", "2"))
    passwords = list(slip_credentials((work / "slips.pdf").read_bytes()).values())
    assert len(passwords) == 420 and len(set(passwords)) > 400
    code = next(iter(slip_credentials((work / "slips.pdf").read_bytes())))
    outputs.append(cli("credentials", "reissue", code, "--reason", "ทดสอบ", "--slips", "re.pdf"))
    passwords += list(slip_credentials((work / "re.pdf").read_bytes()).values())

    retained = [p for p in work.iterdir() if p.name not in {"slips.pdf", "re.pdf"}]
    assert {p.name for p in retained} >= {"saraban.db", "saraban.log"}
    assert (work / "saraban.log").read_text(encoding="utf-8").count("credentials by") == 2
    assert _grep(retained, passwords) == []
    console = "".join(r.stdout + r.stderr for r in outputs)
    assert not [p for p in passwords if p in console]


def test_no_plaintext_in_postgresql(tmp_path: Path, engine: Engine, colleges: list[str]) -> None:
    slips = tmp_path / "slips.pdf"
    issue(engine, slips_path=slips, render=render, issued_by="clerk")
    passwords = list(slip_credentials(slips.read_bytes()).values())
    dump = []
    with engine.connect() as conn:
        for table in ("college", "credential", "issue_batch"):
            dump += [repr(tuple(row)) for row in conn.execute(text(f"select * from {table}"))]
    joined = "\n".join(dump)
    assert len(passwords) == len(colleges)
    assert [p for p in passwords if p in joined] == []
