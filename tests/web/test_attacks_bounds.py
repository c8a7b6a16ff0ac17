"""Attacks on a running server (issue #14, items 1-3): ``saraban serve --workers 2`` on
127.0.0.1 over a SQLite file seeded from the real mailout, attacked over real HTTP.

- Work per request is bounded: a 435-byte PDF with one 14,400 × 14,400 pt page is refused at
  upload, naming the file, in a moment.
- Request bodies are limited before they are read: an anonymous 100 MB body to ``/api/login``
  is refused (413) before it is read, a chunked one as soon as it passes the limit, and the
  server does not grow; a 422 never echoes what was sent (a password above all).
- A lockout attackers cannot use: a flood of wrong passwords from one client (its own address,
  as the trusted reverse proxy says in X-Forwarded-For) computes a handful of hashes, and the
  real user, from elsewhere, logs in; e-MVS's failures do not lock the web; ten correct logins
  at once all succeed; a botnet that empties the account-wide budget does not stop a device
  that has logged in before.

The hashes a flood costs are counted in the audit log: every password hashed and found wrong
is one ``login_failed`` event (saraban.services.passwords.failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pypdf import PdfWriter
from sqlalchemy import text

from saraban.storage.engine import make_engine, upgrade_schema
from tests.support.mailouts import LAMPANG, MailoutRun, copy_template

PROXY = "127.0.0.1"  # the test plays the reverse proxy: X-Forwarded-For names the client
SECRET = "attack-test-secret-key-of-forty-characters!"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    base: str
    port: int
    db: Path
    process: subprocess.Popen[bytes]
    log: Path
    run: MailoutRun

    def client(self, address: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"X-Forwarded-For": address} if address else {}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60, **kwargs)  # type: ignore[arg-type]

    def count(self, sql: str, **params: object) -> int:
        engine = make_engine(f"sqlite:///{self.db}")
        try:
            with engine.connect() as conn:
                return int(conn.execute(text(sql), params).scalar_one())
        finally:
            engine.dispose()

    def failed_logins(self, username: str) -> int:
        """Hashes computed for wrong passwords for ``username`` (one audit event each)."""
        return self.count(
            "SELECT count(*) FROM audit_event WHERE event = 'login_failed' AND actor = :u",
            u=username,
        )

    def worker_rss_kib(self) -> int:
        """The resident memory of the server's processes (the supervisor and its workers)."""
        total = 0
        pids = [self.process.pid, *_children(self.process.pid)]
        for pid in pids:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            kids = (task / "children").read_text().split()
        except OSError:
            continue
        for kid in kids:
            found.append(int(kid))
            found.extend(_children(int(kid)))
    return found


def start_server(work: Path, run: MailoutRun, **env_changes: str) -> Server:
    db = work / "saraban.db"
    engine = make_engine(f"sqlite:///{db}")
    try:
        upgrade_schema(engine)
        copy_template(run, engine)
    finally:
        engine.dispose()
    env = {
        **os.environ,
        "SARABAN_DB": str(db),
        "SARABAN_ENV": "test",
        "SARABAN_SECRET_KEY": SECRET,
        "SARABAN_DATA_DIR": str(work / "data"),
        "SARABAN_HASH_MEMORY_KIB": "1024",
        "SARABAN_HASH_TIME_COST": "1",
        "SARABAN_TRUSTED_PROXIES": PROXY,
        "SARABAN_FIRST_LOCK_SECONDS": "60",  # no lock runs out while a test looks at it
        **env_changes,
    }
    env.pop("DATABASE_URL", None)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log = work / "serve.log"
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "saraban.cli", "serve", "--port", str(port), "--workers", "2"],
            cwd=work,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    server = Server(base, port, db, process, log, run)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        if log.read_text(errors="replace").count("Application startup complete") >= 2:
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
        time.sleep(0.2)
    stop_server(server)
    raise AssertionError(f"the server did not start: {log.read_text()}")


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@pytest.fixture
def server(mailout_run: MailoutRun, tmp_path: Path) -> Iterator[Server]:
    live = start_server(tmp_path, mailout_run)
    try:
        yield live
    finally:
        stop_server(live)


def hostile_pdf() -> bytes:
    """One page of 14,400 × 14,400 pt (5 × 5 m), a few hundred bytes."""
    writer = PdfWriter()
    writer.add_blank_page(14400, 14400)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def login(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/api/login", json={"username": username, "password": password})


def receive_form(subject: str) -> dict[str, str]:
    return {"sender": "สำนักงานทดสอบ", "subject": subject, "channel": "paper"}


# --------------------------------------------------------------------------- #
# 1. Work per request is bounded
# --------------------------------------------------------------------------- #


def test_a_hostile_page_size_is_refused_at_upload_naming_the_file(server: Server) -> None:
    pdf = hostile_pdf()
    assert len(pdf) < 1000
    with server.client("198.51.100.1") as college:
        assert login(college, LAMPANG, server.run.passwords[LAMPANG]).status_code == 200
        csrf = college.get("/api/session").json()["csrf_token"]
        started = time.monotonic()
        refused = college.post(
            "/api/receipts",
            data=receive_form("แผนผังขนาดใหญ่"),
            files={"file": ("plan-5m.pdf", pdf, "application/pdf")},
            headers={"X-CSRF-Token": csrf},
        )
        elapsed = time.monotonic() - started
        assert refused.status_code == 422, refused.text
        (error,) = refused.json()["detail"]
        assert error["loc"] == ["body", "file"]
        assert "plan-5m.pdf" in error["msg"] and "หน้า 1" in error["msg"]
        assert "14,400" in error["msg"]  # what the page is, and the limit
        assert elapsed < 5, elapsed
        assert server.count("SELECT count(*) FROM receipt") == 0  # nothing registered
        # Many pages are refused too, and a sound letter still goes in.
        writer = PdfWriter()
        for _ in range(501):
            writer.add_blank_page(595, 842)
        many = io.BytesIO()
        writer.write(many)
        too_many = college.post(
            "/api/receipts",
            data=receive_form("หนังสือยาว"),
            files={"file": ("long.pdf", many.getvalue(), "application/pdf")},
            headers={"X-CSRF-Token": csrf},
        )
        assert too_many.status_code == 422 and "501" in too_many.text
        writer = PdfWriter()
        writer.add_blank_page(842, 1191)  # A3 is fine
        fine = io.BytesIO()
        writer.write(fine)
        ok = college.post(
            "/api/receipts",
            data=receive_form("หนังสือ A3"),
            files={"file": ("a3.pdf", fine.getvalue(), "application/pdf")},
            headers={"X-CSRF-Token": csrf},
        )
        assert ok.status_code == 201, ok.text


# --------------------------------------------------------------------------- #
# 2. Request bodies are limited before they are read
# --------------------------------------------------------------------------- #


def _raw(port: int, head: bytes, body_chunks: Iterator[bytes]) -> tuple[bytes, int]:
    """Send a request by hand; the answer's first bytes and how many body bytes went out
    before the server answered or closed."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in body_chunks:
            with contextlib.suppress(BlockingIOError):
                answer += sock.recv(65536)
            if answer:
                break
            try:
                sock.setblocking(True)
                sock.sendall(chunk)
                sock.setblocking(False)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        sock.setblocking(True)
        sock.settimeout(30)
        try:
            while b"\r\n\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except (ConnectionResetError, TimeoutError):
            pass
    return answer, sent


def test_an_anonymous_100_mb_body_is_refused_before_it_is_read(server: Server) -> None:
    before = server.worker_rss_kib()
    megabyte = b"A" * (1024 * 1024)
    head = (
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    started = time.monotonic()
    answer, sent = _raw(server.port, head, iter([megabyte] * 100))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 20 * 1024 * 1024  # answered while most of it was still to come
    assert time.monotonic() - started < 10

    # Without a length (chunked), refused once past the limit: not read to the end.
    head = (
        b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"%x\r\n%s\r\n" % (len(megabyte), megabyte)
    answer, sent = _raw(server.port, head, iter([chunk] * 100))
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 20 * 1024 * 1024

    # A logged-in JSON request has a bigger limit, but a limit.
    with server.client("198.51.100.2") as college:
        assert login(college, LAMPANG, server.run.passwords[LAMPANG]).status_code == 200
        csrf = college.get("/api/session").json()["csrf_token"]
        big = college.post(
            "/api/staff",
            content=b'{"handle": "' + b"a" * (2 * 1024 * 1024) + b'"}',
            headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
        )
        assert big.status_code == 413
    grown = server.worker_rss_kib() - before
    assert grown < 50 * 1024, f"the server grew by {grown} KiB"


def test_a_validation_error_never_echoes_the_body_or_a_password(server: Server) -> None:
    secret = "S3cret-" + "x" * 300  # too long a password: refused, and not repeated
    with server.client("198.51.100.3") as anonymous:
        long_password = login(anonymous, LAMPANG, secret)
        assert long_password.status_code == 422
        assert "S3cret" not in long_password.text and "xxxx" not in long_password.text
        (error,) = long_password.json()["detail"]
        assert error["loc"] == ["body", "password"] and set(error) == {"loc", "msg", "type"}

        not_an_object = anonymous.post("/api/login", json="Q" * 10_000)
        assert not_an_object.status_code == 422
        assert "QQQQ" not in not_an_object.text and len(not_an_object.content) < 1000

        verify = anonymous.post(
            "/api/credentials/verify", json={"code": ["Z" * 5000], "password": secret}
        )
        assert verify.status_code == 422
        assert "ZZZZ" not in verify.text and "S3cret" not in verify.text


# --------------------------------------------------------------------------- #
# 3. A lockout that attackers cannot use
# --------------------------------------------------------------------------- #


def test_a_flood_from_one_client_does_not_lock_out_the_real_user(server: Server) -> None:
    password = server.run.passwords[LAMPANG]
    with server.client("203.0.113.66") as colleague:  # the college's PC behind the same NAT
        assert login(colleague, LAMPANG, password).status_code == 200
        device = colleague.cookies.get("saraban_device")
    statuses: list[int] = []
    started = time.monotonic()
    with server.client("203.0.113.66") as attacker:
        for i in range(300):
            statuses.append(login(attacker, LAMPANG, f"guess-{i:04d}").status_code)
        # Even the right password, from the attacker's client, waits: its budget is spent.
        assert login(attacker, LAMPANG, password).status_code == 429
    elapsed = time.monotonic() - started
    hashes = server.failed_logins(LAMPANG)
    print(f"\nflood: 300 wrong logins in {elapsed:.1f} s, {hashes} hashes computed")
    assert statuses.count(401) == hashes <= 3 + 2  # free failures; locks of a minute
    assert statuses.count(429) == 300 - hashes

    with server.client("198.51.100.7") as real_user:
        answer = login(real_user, LAMPANG, password)
        assert answer.status_code == 200, answer.text  # from elsewhere: in
    with server.client("203.0.113.66", cookies={"saraban_device": device}) as colleague:
        answer = login(colleague, LAMPANG, password)
        assert answer.status_code == 200, answer.text  # from the attacker's address, a known PC


def test_emvs_failures_do_not_lock_the_web(server: Server) -> None:
    password = server.run.passwords[LAMPANG]
    with server.client("192.0.2.50") as emvs:
        for i in range(30):
            emvs.post("/api/credentials/verify", json={"code": LAMPANG, "password": f"no-{i}"})
        refused = emvs.post("/api/credentials/verify", json={"code": LAMPANG, "password": password})
        assert refused.status_code == 429  # e-MVS's own budget is spent
        # The college logs in to the web, even from e-MVS's address.
        assert login(emvs, LAMPANG, password).status_code == 200
    with server.client("198.51.100.8") as college:
        assert login(college, LAMPANG, password).status_code == 200


def test_correct_logins_at_once_are_all_let_in(server: Server) -> None:
    """Ten people of one college, behind one address, log in to its account at once."""
    password = server.run.passwords[LAMPANG]

    async def everyone() -> list[int]:
        async with httpx.AsyncClient(
            base_url=server.base, headers={"X-Forwarded-For": "198.51.100.9"}, timeout=60
        ) as client:
            answers = await asyncio.gather(
                *(
                    client.post("/api/login", json={"username": LAMPANG, "password": password})
                    for _ in range(10)
                )
            )
        return [answer.status_code for answer in answers]

    assert asyncio.run(everyone()) == [200] * 10


def test_a_botnet_cannot_keep_out_a_device_that_logged_in_before(server: Server) -> None:
    password = server.run.passwords[LAMPANG]
    with server.client("198.51.100.10") as known:
        assert login(known, LAMPANG, password).status_code == 200
        device = known.cookies.get("saraban_device")
        assert device
    # Forty addresses, three guesses each: the account-wide budget (30) is spent.
    for bot in range(40):
        with server.client(f"203.0.113.{100 + bot}") as client:
            for i in range(3):
                login(client, LAMPANG, f"bot-{bot}-{i}")
    hashes = server.failed_logins(LAMPANG)
    assert hashes <= 30 + 2, hashes  # the whole botnet's hashes stay bounded
    with server.client("198.51.100.11") as new_device:
        assert login(new_device, LAMPANG, password).status_code == 429
    with server.client("198.51.100.10", cookies={"saraban_device": device}) as again:
        answer = login(again, LAMPANG, password)
        assert answer.status_code == 200, answer.text


# --------------------------------------------------------------------------- #
# Load and faults at once
# --------------------------------------------------------------------------- #


# Each reader: a request, then a quarter of a second (a person clicks less often; 50 of them
# offer some 200 requests a second, more than the attackers).
THINK_SECONDS = 0.25
ROUNDS = 20


def _flood(base: str, stop: Any, results: Any) -> None:
    """A client flooding wrong logins, until ``stop``."""
    statuses: list[str] = []
    with httpx.Client(base_url=base, headers={"X-Forwarded-For": "203.0.113.7"}) as attacker:
        while not stop.is_set():
            statuses.append(str(login(attacker, LAMPANG, f"flood-{len(statuses)}").status_code))
    results.put(("flood", statuses))


def _heavy(
    base: str, code: str, password: str, item_id: int, pages: int, stop: Any, results: Any
) -> None:
    """A college uploading a hostile PDF, again and again, and previewing its letter."""
    hostile: list[str] = []
    with httpx.Client(
        base_url=base, headers={"X-Forwarded-For": "198.51.100.21"}, timeout=60
    ) as college:
        assert login(college, code, password).status_code == 200
        csrf = college.get("/api/session").json()["csrf_token"]
        while not stop.is_set():
            answer = college.post(
                "/api/receipts",
                data=receive_form("ผังขนาดใหญ่"),
                files={"file": ("plan-5m.pdf", hostile_pdf(), "application/pdf")},
                headers={"X-CSRF-Token": csrf},
            )
            hostile.append(f"upload {answer.status_code}")
            if answer.status_code == 201:  # taken (as before the upload check): preview it
                receipt = answer.json()["id"]
                shown = college.get(f"/receipts/{receipt}/pages/1.png")
                hostile.append(f"hostile preview {shown.status_code}")
                annotated = college.get(f"/api/receipts/{receipt}/annotated")
                hostile.append(f"hostile annotated {annotated.status_code}")
            page = len(hostile) // 3 % min(pages, 30) + 1
            preview = college.get(f"/inbox/{item_id}/pages/{page}.png")
            hostile.append(f"preview {preview.status_code}")
            letter = college.get(f"/api/inbox/{item_id}/letter")
            hostile.append(f"letter {letter.status_code}")
    results.put(("heavy", hostile))


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@pytest.mark.slow
def test_readers_stay_fast_while_a_hostile_pdf_and_a_login_flood_hit(server: Server) -> None:
    """50 clients read pages and the API while one college uploads and previews a hostile
    PDF and another client floods logins."""
    other = server.run.other
    readers_password = server.run.passwords[LAMPANG]
    # The readers' sessions (one login each; a known device, as people at work are).
    cookies: list[httpx.Cookies] = []
    with server.client("198.51.100.20") as first:
        assert login(first, LAMPANG, readers_password).status_code == 200
        cookies.append(first.cookies)
    for _ in range(1, 50):
        with server.client("198.51.100.20", cookies=cookies[0]) as client:
            assert login(client, LAMPANG, readers_password).status_code == 200
            cookies.append(client.cookies)
    with server.client("198.51.100.21") as uploader:
        assert login(uploader, other, server.run.passwords[other]).status_code == 200
        inbox = uploader.get("/api/inbox").json()
    item_id, pages = inbox[0]["item_id"], inbox[0]["letter_pages"] or 1

    # The attackers run in processes of their own, so that the readers' clock measures the
    # server, not this process's GIL.
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    results: multiprocessing.Queue[tuple[str, list[str]]] = context.Queue()
    workers = [
        context.Process(target=_flood, args=(server.base, stop, results)),
        context.Process(
            target=_heavy,
            args=(server.base, other, server.run.passwords[other], item_id, pages, stop, results),
        ),
    ]

    paths = ["/api/session", "/api/inbox", "/inbox", "/api/receipts"]
    by_path: dict[str, list[float]] = {}

    async def reader(client: httpx.AsyncClient, index: int, latencies: list[float]) -> None:
        await asyncio.sleep(index * THINK_SECONDS / len(cookies))  # people do not click at once
        for i in range(ROUNDS):
            path = paths[(i + index) % len(paths)]
            started = time.monotonic()
            answer = await client.get(path)
            latencies.append(time.monotonic() - started)
            by_path.setdefault(path, []).append(latencies[-1])
            assert answer.status_code == 200, (answer.request.url, answer.status_code)
            await asyncio.sleep(THINK_SECONDS)

    def figures(latencies: list[float]) -> tuple[float, float]:
        return statistics.median(latencies) * 1000, _percentile(latencies, 0.99) * 1000

    async def measure() -> tuple[list[float], list[float], float]:
        clients = [
            httpx.AsyncClient(
                base_url=server.base,
                cookies=jar,
                headers={"X-Forwarded-For": "198.51.100.20"},
                timeout=60,
            )
            for jar in cookies
        ]
        try:
            # Connected, and every worker's caches warm; then the same reads with no attack,
            # for comparison; then under attack.
            await asyncio.gather(*(client.get("/api/session") for client in clients))
            quiet: list[float] = []
            await asyncio.gather(*(reader(c, i, quiet) for i, c in enumerate(clients)))
            for worker in workers:
                worker.start()
            await asyncio.sleep(2)
            started = time.monotonic()
            attacked: list[float] = []
            await asyncio.gather(*(reader(c, i, attacked) for i, c in enumerate(clients)))
            return quiet, attacked, time.monotonic() - started
        finally:
            for client in clients:
                await client.aclose()

    try:
        quiet_latencies, latencies, elapsed = asyncio.run(measure())
    finally:
        stop.set()
        outcomes = dict(results.get(timeout=120) for _ in workers)
        for worker in workers:
            worker.join(timeout=60)
    quiet = figures(quiet_latencies)
    hashes = server.failed_logins(LAMPANG)
    with server.client("198.51.100.99") as real_user:
        real = login(real_user, LAMPANG, readers_password)
    p50, p99 = figures(latencies)
    flood_statuses, hostile = outcomes["flood"], outcomes["heavy"]
    print(
        f"\nload: {len(latencies)} reads by 50 clients in {elapsed:.1f} s: "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms (without the attacks: p50 {quiet[0]:.1f} ms, "
        f"p99 {quiet[1]:.1f} ms); flood: {len(flood_statuses)} logins, "
        f"{hashes} hashes computed; hostile college: "
        f"{ {kind: hostile.count(kind) for kind in sorted(set(hostile))} }"
    )
    assert real.status_code == 200, real.text
    assert "upload 422" in hostile and "preview 200" in hostile
    assert not any(kind.startswith("upload 2") for kind in hostile)
    assert flood_statuses.count("401") == hashes <= 3 + 2, hashes
    # The goal is a p99 under 200 ms. On a shared two-core machine the same reads' p99 with
    # no attack at all can be above that; then the attack may not make it more than twice as
    # long (the reads do not queue behind the hostile PDF or the flood).
    assert p99 < max(200.0, 2 * quiet[1]), f"p99 {p99:.1f} ms, without the attacks {quiet[1]:.1f}"
