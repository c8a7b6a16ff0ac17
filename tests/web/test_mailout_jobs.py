"""Mailouts as background jobs, through the API, run by real worker processes.

PostgreSQL: two ``saraban worker`` processes share a 420-college mailout started with
``POST /api/mailouts``; one is killed with SIGKILL in the middle of a chunk; the other (once the
dead one's heartbeat is stale) runs that chunk again, and the mailout finishes whole. SQLite:
``saraban serve`` runs the same mailout in its local worker; one of its chunk processes is
killed and the local worker runs the job again. Either way every college ends with one live
credential and one bundle matching the manifest, each slip's password verifies, the print file
holds every bundle once, and running the mailout again changes no byte.
"""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from saraban.web.app import create_app
from tests.db.test_mailout import check_bundles, manifest_rows
from tests.support.letters import ROOT
from tests.support.mailouts import slip_credentials
from tests.support.service import STAFF_PASSWORD, Actor, add_ovec_user, service_settings

EXAMPLE = ROOT / "examples" / "emvs-2569"
COLLEGES = 420
CLI = [sys.executable, "-m", "saraban.cli"]


def roster_of(n: int) -> bytes:
    """A roster of ``n`` colleges, written as OVEC's clerk exports it (UTF-8 with BOM)."""
    rows = list(csv.DictReader(io.StringIO((EXAMPLE / "roster.csv").read_text("utf-8"))))
    assert len(rows) >= n
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows[:n])
    return buf.getvalue().encode("utf-8-sig")


def mailout_files(n: int) -> list[tuple[str, tuple[str, bytes, str]]]:
    pdf = "application/pdf"
    return [
        ("letter", ("letter.toml", (EXAMPLE / "letter.toml").read_bytes(), "text/plain")),
        ("roster", ("roster.csv", roster_of(n), "text/csv")),
        ("qr_sheet", ("qr-sheet.toml", (EXAMPLE / "qr-sheet.toml").read_bytes(), "text/plain")),
        ("settings", ("mailout.toml", (EXAMPLE / "mailout.toml").read_bytes(), "text/plain")),
        (
            "enclosures",
            ("stand-in-0180.pdf", (EXAMPLE / "enclosures" / "stand-in-0180.pdf").read_bytes(), pdf),
        ),
    ]


def processes_that_committed(engine: Engine, job: dict[str, Any]) -> dict[str, int]:
    """Colleges committed by each process (host:pid), from the audit log's issue events."""
    import json

    counts: dict[str, int] = {}
    with engine.connect() as conn:
        for (record,) in conn.execute(
            text("SELECT record FROM audit_event WHERE event = 'issue' AND subject = :s"),
            {"s": f"mailout:{job['mailout_id']}"},
        ):
            facts = json.loads(record)["details"]
            counts[facts["process"]] = counts.get(facts["process"], 0) + len(facts["colleges"])
    return counts


def wait_for(check: Any, what: str, timeout: float = 600, every: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def check_outcome(engine: Engine, out: Path, command_env: dict[str, str], folder: Path) -> None:
    """Whole, once: credentials, bundles, slips, the print file; a rerun changes no byte."""
    rows = manifest_rows(out)
    codes = {r["code"] for r in rows}
    assert len(codes) == COLLEGES
    check_bundles(engine, out, codes)
    printed = slip_credentials((out / "print-all.pdf").read_bytes())
    assert list(printed) == [r["code"] for r in rows]  # every bundle once, in order
    assert len(pypdf.PdfReader(out / "print-all.pdf").pages) == COLLEGES * 6
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with engine.connect() as conn:
        credentials = conn.execute(text("SELECT count(*) FROM credential")).scalar_one()
    rerun = subprocess.run(
        [*CLI, "mailout", str(folder), "--out", str(out), "--roster", str(folder / "roster.csv")],
        env=command_env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert rerun.returncode == 0, rerun.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM credential")).scalar_one() == credentials


@contextmanager
def running(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc: any thread may have started them)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def worker_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": db_url, "SARABAN_MAILOUT_DIR": str(tmp_path / "shared")}
    env.pop("SARABAN_DB", None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_two_workers_one_killed_mid_chunk_the_mailout_finishes_whole(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"  # what every worker machine would mount at the same path
    settings = service_settings(tmp_path / "data", mailout_dir=shared)
    add_ovec_user(engine, settings)
    env = worker_env(db_url, tmp_path)
    with ExitStack() as stack:
        workers = [
            stack.enter_context(running([*CLI, "worker"], env, tmp_path / f"worker{n}.log"))
            for n in range(2)
        ]
        ovec = Actor(stack.enter_context(TestClient(create_app(settings, engine))))
        ovec.login("somchai", STAFF_PASSWORD)
        started = time.monotonic()
        job = ovec.ok(
            "POST", "/api/mailouts", 202, data={"name": "emvs-420"}, files=mailout_files(COLLEGES)
        )
        assert time.monotonic() - started < 5  # answered at once: the work is the workers'
        assert job["state"] == "queued" and job["total"] == COLLEGES and job["done"] == 0
        url = f"/api/mailouts/{job['id']}"

        # Both workers take chunks.
        def both_committed() -> dict[str, int] | None:
            status = ovec.ok("GET", url)
            if status["mailout_id"] is None:
                return None
            found = processes_that_committed(engine, status)
            return found if len(found) == 2 else None

        wait_for(both_committed, "both workers to commit a chunk")
        pids = {f"{os.uname().nodename}:{w.pid}" for w in workers}
        assert set(both_committed() or {}) <= pids | {
            f"{os.uname().nodename}:{c}" for w in workers for c in children(w.pid)
        }

        # Kill one in the middle of a chunk: two chunks are being made, one by each.
        def two_doing() -> bool:
            with engine.connect() as conn:
                return (
                    conn.execute(
                        text(
                            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'doing' "
                            "AND task_name = 'saraban:chunk'"
                        )
                    ).scalar_one()
                    == 2
                )

        wait_for(two_doing, "both workers in a chunk", every=0.05)
        victim = workers[0]
        done_at_kill = ovec.ok("GET", url)["done"]
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        assert done_at_kill < COLLEGES

        # The other finishes the mailout, the dead worker's chunk included.
        final = wait_for(
            lambda: (s := ovec.ok("GET", url))["state"] in ("finished", "failed") and s,
            "the mailout to finish",
        )
        assert final["state"] == "finished", final
        assert final["done"] == COLLEGES and final["errors"] == []
        assert final["downloads"] == ["print-all.pdf", "manifest.csv"]
        survivor = f"{os.uname().nodename}:{workers[1].pid}"
        assert processes_that_committed(engine, final)[survivor] > 0
        manifest = ovec.get(f"{url}/files/manifest.csv")
        assert manifest.status_code == 200 and manifest.content.startswith(b"\xef\xbb\xbf")
        out = shared / "out" / "emvs-420"
        assert manifest.content == (out / "manifest.csv").read_bytes()
        first = manifest_rows(out)[0]
        bundle = ovec.get(f"{url}/files/{first['code']}.pdf")
        assert bundle.content == (out / first["file"]).read_bytes()
    check_outcome(engine, out, env, shared / "inputs" / "emvs-420")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_serve_on_sqlite_runs_the_mailout_in_its_local_worker(tmp_path: Path) -> None:
    db = tmp_path / "saraban.db"
    env = {
        **os.environ,
        "SARABAN_DB": str(db),
        "SARABAN_ENV": "development",
        "SARABAN_MAILOUT_DIR": str(tmp_path / "shared"),
    }
    env.pop("DATABASE_URL", None)
    added = subprocess.run(
        [*CLI, "user", "add", "somchai", "--name", "นายสมชาย ใจดี"],
        input=STAFF_PASSWORD + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    with running([*CLI, "serve", "--port", str(port)], env, tmp_path / "serve.log") as server:
        client = stack_client(base)

        def up() -> bool:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                return client.get("/api/openapi.json").status_code == 200
            except httpx.TransportError:
                return False

        wait_for(up, "the server", 120)
        login = client.post("/api/login", json={"username": "somchai", "password": STAFF_PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"X-CSRF-Token": login.json()["csrf_token"]}
        answer = client.post(
            "/api/mailouts",
            data={"name": "emvs-420"},
            files=mailout_files(COLLEGES),
            headers=headers,
        )
        assert answer.status_code == 202, answer.text
        url = f"/api/mailouts/{answer.json()['id']}"
        wait_for(lambda: client.get(url).json()["done"] > 0, "the first chunk")
        # Kill one of the local worker's chunk processes in the middle of a chunk.
        tree = {p: children(p) for p in children(server.pid)}
        status = client.get(url).json()
        assert len([p for p, c in tree.items() if c]) == 1, (tree, status)
        (local,) = [p for p, c in tree.items() if c]
        os.kill(children(local)[0], signal.SIGKILL)
        final = wait_for(
            lambda: (s := client.get(url).json())["state"] in ("finished", "failed") and s,
            "the mailout to finish",
        )
        assert final["state"] == "finished", final
        assert final["done"] == COLLEGES
        manifest = client.get(f"{url}/files/manifest.csv")
        assert manifest.status_code == 200
        tree = [server.pid, *children(server.pid)]
    wait_for(lambda: not any(Path(f"/proc/{p}").exists() for p in tree[1:]), "no orphans", 30)
    from saraban.storage.engine import make_engine

    engine = make_engine(f"sqlite:///{db}")
    try:
        env.pop("SARABAN_ENV")
        shared = tmp_path / "shared"
        check_outcome(engine, shared / "out" / "emvs-420", env, shared / "inputs" / "emvs-420")
    finally:
        engine.dispose()


def stack_client(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=30)
