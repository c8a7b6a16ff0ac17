"""``saraban user role``: OVEC's accounts get their role, position and acting relation in
OVEC from the command line (as ``saraban user add`` makes them), run as an operator runs it
(the real command, in a subprocess, on SQLite and PostgreSQL); each change is in the audit
log naming who ran it, and every mistake is one line naming the argument or option."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, text

from saraban.services import audit
from tests.support.letters import ROOT

DEPUTY = "รองเลขาธิการคณะกรรมการการอาชีวศึกษา"
SECRETARY = "เลขาธิการคณะกรรมการการอาชีวศึกษา"


def cli(db_url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
    env.update(DATABASE_URL=db_url, SARABAN_USER="khun-admin")
    return subprocess.run(
        [sys.executable, "-m", "saraban.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if not line.startswith("database: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def member(engine: Engine, username: str) -> tuple[str, str, str, str]:
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT m.role, a.position, a.acting, a.acting_for FROM account a "
                "JOIN organisation_member m ON m.account_id = a.id WHERE a.username = :u"
            ),
            {"u": username},
        ).one()
    return (row[0], row[1], row[2], row[3])


def events(engine: Engine) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT event, actor, subject FROM audit_event ORDER BY seq")
        ).all()
    return [(r[0], r[1], r[2]) for r in rows if r[0] == "organisation_member_set"]


def test_an_ovec_account_gets_its_role_position_and_acting_relation(
    engine: Engine, db_url: str
) -> None:
    added = cli(db_url, "user", "add", "wiwat", "--name", "นายวิวัฒน์ ปัญจมะวัต", stdin="pw-123456789\n")
    assert added.returncode == 0, added.stderr
    done = cli(db_url, "user", "role", "wiwat", "deputy", "--position", f"  {DEPUTY} ")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"set OVEC user wiwat: deputy, {DEPUTY}"
    assert member(engine, "wiwat") == ("deputy", DEPUTY, "", "")
    # Acting in the secretary-general's post; then the relation ends, the position stays.
    acting = cli(
        db_url,
        "user",
        "role",
        "wiwat",
        "director",
        "--acting",
        "รักษาราชการแทน",
        "--acting-for",
        SECRETARY,
    )
    assert acting.returncode == 0, acting.stderr
    assert f"(รักษาราชการแทน {SECRETARY})" in acting.stdout
    assert member(engine, "wiwat") == ("director", DEPUTY, "รักษาราชการแทน", SECRETARY)
    ended = cli(db_url, "user", "role", "wiwat", "deputy", "--acting", "")
    assert ended.returncode == 0, ended.stderr
    assert member(engine, "wiwat") == ("deputy", DEPUTY, "", "")
    # Each change is in the audit log, naming who ran the command, and the chain holds.
    changes = events(engine)
    assert len(changes) == 3
    assert {actor for _, actor, _ in changes} == {"cli:khun-admin"}
    assert audit.verify(engine).ok


def test_every_mistake_is_one_line_naming_what_was_wrong(engine: Engine, db_url: str) -> None:
    added = cli(db_url, "user", "add", "wiwat", "--name", "นายวิวัฒน์ ปัญจมะวัต", stdin="pw-123456789\n")
    assert added.returncode == 0, added.stderr
    assert "no OVEC account nobody" in one_error(cli(db_url, "user", "role", "nobody", "deputy"))
    message = one_error(cli(db_url, "user", "role", "wiwat", "boss"))
    assert "ROLE: 'boss' is not one of clerk, deputy, director, staff" in message
    message = one_error(cli(db_url, "user", "role", "wiwat", "deputy", "--acting", "หัวหน้า"))
    assert message.startswith("error: --acting: 'หัวหน้า' is not one of"), message
    message = one_error(
        cli(db_url, "user", "role", "wiwat", "director", "--acting", "รักษาราชการแทน")
    )
    assert "--acting-for: the post acted for is required" in message
    message = one_error(
        cli(db_url, "user", "role", "wiwat", "deputy", "--position", "รอง\u202eเลขาธิการ")
    )
    assert "--position:" in message and "U+202E" in message
    assert "Missing argument 'ROLE'" in one_error(cli(db_url, "user", "role", "wiwat"))
    # Nothing was changed by any of them: the account is still a clerk, as made.
    with engine.connect() as conn:
        assert not conn.execute(text("SELECT count(*) FROM organisation_member")).scalar_one()
    assert events(engine) == []


def test_a_new_database_is_refused_not_made(tmp_path: Path) -> None:
    path = tmp_path / "saraban.db"
    result = cli(f"sqlite:///{path}", "user", "role", "wiwat", "deputy")
    assert f"no database at {path}" in one_error(result)
    assert not path.exists()
