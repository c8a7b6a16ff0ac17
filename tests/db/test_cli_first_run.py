"""A new user's first hour with ``saraban``, run as they run it (the real command, in a
subprocess, on a real SQLite file): every mistake is one line saying what was wrong, the
database in use is named, and a command that only reads never makes an empty one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.letters import ROOT

ROSTER = ROOT / "examples" / "emvs-2569" / "roster.csv"
FIRST = "1310026101"  # the roster's first college (Min Buri)


def cli(
    cwd: Path, *args: str, stdin: str | None = "", db: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
    env.pop("DATABASE_URL", None)
    if db is not None:
        env["SARABAN_DB"] = str(db)
    return subprocess.run(
        [sys.executable, "-m", "saraban.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def one_error(result: subprocess.CompletedProcess[str]) -> str:
    """The one line of a refusal (after the line naming the database, if any)."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr + result.stdout
    lines = [line for line in result.stderr.splitlines() if not line.startswith("database: ")]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def office(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose saraban.db holds three colleges, the first with a live credential (the
    tests below change nothing in it but one failed verification)."""
    tmp_path = tmp_path_factory.mktemp("office")
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\n".join(ROSTER.read_text(encoding="utf-8").splitlines()[:4]) + "\n", encoding="utf-8"
    )
    assert cli(tmp_path, "roster", "import", str(roster)).returncode == 0
    issued = cli(tmp_path, "credentials", "issue", "--slips", "slips.pdf", FIRST)
    assert issued.returncode == 0, issued.stderr
    return tmp_path


def test_a_garbage_code_and_password_is_one_line_naming_the_code(office: Path) -> None:
    message = one_error(cli(office, "credentials", "verify", "abc", stdin="x\n"))
    assert "'abc' is not a college code" in message


def test_no_password_on_standard_input_is_said_so_not_a_wrong_password(office: Path) -> None:
    for stdin in ("", "\n"):
        result = cli(office, "credentials", "verify", FIRST, stdin=stdin)
        message = one_error(result)
        assert "no password was read" in message
        assert "wrong password" not in result.stdout + result.stderr
    assert "wrong password" in cli(office, "credentials", "verify", FIRST, stdin="x\n").stderr


def test_issuing_to_a_college_that_has_a_credential_names_that_college(office: Path) -> None:
    result = cli(office, "credentials", "issue", "--slips", "again.pdf", FIRST)
    assert result.returncode == 0
    said = result.stdout + result.stderr
    assert f"{FIRST} already has a live credential" in said
    assert "every college" not in said
    assert not (office / "again.pdf").exists()


def test_every_bad_command_line_is_one_line(office: Path) -> None:
    for args in (
        ("credentials", "verify"),
        ("credentials", "issue", "--per-page", "two"),
        ("roster", "import", "--nope"),
        ("serve", "--port", "eighty"),
        ("audit", "verify", "--anchor", "12"),
        ("letter", str(office / "missing.toml"), "-o", "x.pdf"),
        ("roster", "import", str(office)),  # a folder, not a file
    ):
        one_error(cli(office, *args))


def test_run_from_another_folder_it_refuses_and_names_the_database(
    office: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    for args, stdin in (
        (("audit", "verify"), ""),
        (("audit", "head"), ""),
        (("credentials", "verify", FIRST), "x\n"),
        (("credentials", "void", FIRST, "--reason", "test"), ""),
        (("credentials", "issue", "--slips", "slips.pdf"), ""),  # no colleges in a new one
    ):
        message = one_error(cli(elsewhere, *args, stdin=stdin))
        assert f"no database at {elsewhere / 'saraban.db'}" in message
        assert "SARABAN_DB" in message
        assert not (elsewhere / "saraban.db").exists()
    # Pointed at the office's database, it works and says which one it used.
    result = cli(elsewhere, "audit", "verify", db=office / "saraban.db")
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"database: {office / 'saraban.db'}"
    assert "ok: 0 events" not in result.stdout


def test_a_command_that_makes_data_creates_the_database_and_says_so(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "\n".join(ROSTER.read_text(encoding="utf-8").splitlines()[:3]) + "\n", encoding="utf-8"
    )
    first = cli(tmp_path, "roster", "import", str(roster))
    assert first.returncode == 0, first.stderr
    assert f"database: {tmp_path / 'saraban.db'} (new: created now)" in first.stderr
    again = cli(tmp_path, "roster", "import", str(roster))
    assert again.stderr.splitlines()[0] == f"database: {tmp_path / 'saraban.db'}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_on_a_busy_port_is_one_line_naming_the_port(office: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli(office, "serve", "--port", str(port))
    message = one_error(result)
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in message
    assert "startup complete" not in (result.stdout + result.stderr).lower()
    assert "warning" not in result.stderr


@pytest.mark.slow  # starts the service
def test_serve_without_a_secret_key_warns_in_one_line(office: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
    env.pop("DATABASE_URL", None)
    log = office / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "saraban.cli", "serve", "--port", str(_free_port())],
            cwd=office,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while "Uvicorn running" not in log.read_text() and time.monotonic() < deadline:
                assert server.poll() is None, log.read_text()
                time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    warnings = [line for line in text.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1, text
    assert "SARABAN_SECRET_KEY is not set" in warnings[0]
    assert "development mode" in warnings[0]
    assert f"database: {office / 'saraban.db'}" in text


def test_issuing_in_a_database_without_colleges_says_to_import_the_roster(
    tmp_path: Path,
) -> None:
    added = cli(
        tmp_path, "user", "add", "somchai", "--name", "นายสมชาย ใจดี", stdin="pw-123456789\n"
    )
    assert added.returncode == 0, added.stderr
    message = one_error(cli(tmp_path, "credentials", "issue", "--slips", "slips.pdf"))
    assert "the database has no colleges; import the roster first" in message
    assert not (tmp_path / "slips.pdf").exists()
