"""``saraban serve --workers 2``: a real two-process server on a SQLite file.

Logins, sessions and throttles live in the database, so any worker answers any request; and
the CSRF tokens, which are signed, must be signed with one key for all workers, even when no
``SARABAN_SECRET_KEY`` is set (development)."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import uvicorn
from uvicorn.importer import import_from_string

from saraban.cli.service import uvicorn_options
from saraban.web.app import served_app

PASSWORD = "Speedy-Ovec-2569"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(work: Path) -> dict[str, str]:
    env = {**os.environ, "SARABAN_DB": str(work / "saraban.db"), "SARABAN_ENV": "development"}
    for name in ("DATABASE_URL", "SARABAN_SECRET_KEY"):
        env.pop(name, None)
    return env


def _started(process: subprocess.Popen[bytes], log: Path, base: str, workers: int) -> list[str]:
    """The workers' process ids, once every worker is ready."""
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        text = log.read_text(errors="replace")
        if text.count("Application startup complete") >= workers:
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                    return re.findall(r"Started server process \[(\d+)\]", text)
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"the server did not start: {log.read_text()}")


@pytest.mark.slow
def test_two_workers_answer_one_session_with_one_csrf_key(tmp_path: Path) -> None:
    env = _env(tmp_path)
    cli = [sys.executable, "-m", "saraban.cli"]
    added = subprocess.run(
        [*cli, "user", "add", "somchai", "--name", "นายสมชาย ใจดี"],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert added.returncode == 0, added.stderr
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [*cli, "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        workers = _started(server, log, base, 2)
        assert len(set(workers)) == 2, log.read_text()

        login = httpx.post(f"{base}/api/login", json={"username": "somchai", "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookies = dict(login.cookies)
        csrf = login.json()["csrf_token"]

        # A new connection each time: the kernel hands them to either worker.
        for _ in range(16):
            with httpx.Client(base_url=base, cookies=cookies) as client:
                session = client.get("/api/session")
                assert session.status_code == 200, session.text
                assert session.json()["csrf_token"] == csrf
                tracking = client.get("/api/tracking", params={"limit": 10})
                assert tracking.status_code == 200, tracking.text
                assert tracking.json() == {"total": 0, "rows": []}

        with httpx.Client(base_url=base, cookies=cookies) as client:
            out = client.post("/api/logout", headers={"X-CSRF-Token": csrf})
            assert out.status_code == 204, out.text
        for _ in range(4):  # ended for every worker
            with httpx.Client(base_url=base, cookies=cookies) as client:
                assert client.get("/api/session").status_code == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def test_serve_gives_uvicorn_the_app_factory_and_the_workers() -> None:
    options = uvicorn_options(host="127.0.0.1", port=8000, workers=3, access_log=False)
    config = uvicorn.Config(**options)
    assert config.workers == 3
    assert config.factory
    assert import_from_string(options["app"]) is served_app  # importable by each worker
    assert not config.proxy_headers  # forwarded headers: the app's own trusted-proxy rule


def test_serve_refuses_a_seal_it_cannot_use_before_any_worker_starts(tmp_path: Path) -> None:
    """In production a seal file others may read, and anywhere a seal whose passphrase is
    wrong: one line naming the setting and the file, never the passphrase; no server."""
    from tests.support.pki import make_pki

    pki = make_pki()
    seal = tmp_path / "seal.p12"
    seal.write_bytes(pki.p12("signer"))
    seal.chmod(0o640)
    wrong = "not-the-seal-passphrase"
    env = {**_env(tmp_path), "SARABAN_ENV": "production",
           "SARABAN_SECRET_KEY": "k3Y-" + os.urandom(24).hex(),
           "SARABAN_SEAL_FILE": str(seal), "SARABAN_SEAL_PASSPHRASE": wrong}
    command = [sys.executable, "-m", "saraban.cli", "serve", "--port", str(_free_port())]
    readable = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert readable.returncode == 2
    assert readable.stderr.strip() == (
        f"error: seal_file: {seal}: the seal file is readable by others (mode 0640); only its "
        f"owner may read it in production: chmod 600 {seal}"
    )
    seal.chmod(0o600)
    refused = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"error: SARABAN_SEAL_FILE: {seal}: รหัสผ่านไม่ถูกต้องหรือไฟล์ .p12 เสียหาย "
        "(wrong passphrase or damaged PKCS#12 file)"
    )
    for result in (readable, refused):
        assert wrong not in result.stdout + result.stderr
        assert "Started server process" not in result.stdout + result.stderr
