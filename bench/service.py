"""The web service under 50 concurrent clients: colleges reading their inbox, OVEC its tracking.

    .venv/bin/python -m bench.service [--backends sqlite postgresql] [--clients 50]
                                      [--requests 6000] [--seconds 60]

For each backend: a fresh database (a SQLite file, or a new schema in the PostgreSQL database at
``SARABAN_TEST_PG_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) seeded
with the example roster's 420 colleges, each with a live credential, three mailouts delivered to
all of them, and receipts and routes for part of the first (received, routed, decided,
completed). ``saraban serve`` runs in a subprocess on 127.0.0.1 (one uvicorn process, production
settings); the clients are httpx async clients in this process, each logged in with its own
session: most are colleges (``GET /api/inbox``), the rest OVEC (``GET /api/tracking``, pages of
50 at random offsets). Every client sends its next request as soon as the last one is answered,
until the request budget or the time is spent; the first seconds are a warm-up, not counted.

Prints, per backend and route: requests, p50, p90, p99 and max latency (ms), and throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
ROSTER = ROOT / "examples" / "emvs-2569" / "roster.csv"
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
COLLEGE_PASSWORD = "bench27kdp"
OVEC_PASSWORD = "Speedy-Ovec-2569"
SECRET = "bench-secret-" + "x" * 40
WARMUP_SECONDS = 2.0


# --------------------------------------------------------------------------- #
# Database
# --------------------------------------------------------------------------- #


@contextmanager
def database(backend: str, tmp: Path) -> Iterator[str]:
    """The URL of a fresh database for ``backend``; a PostgreSQL schema is dropped after."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from saraban.db import make_engine, normalise_url

    admin_url = normalise_url(os.environ.get("SARABAN_TEST_PG_URL") or PG_DEFAULT)
    schema = f"saraban_bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url, poolclass=NullPool)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def seed(url: str, out_dir: Path) -> tuple[list[str], int]:
    """Colleges with credentials, three delivered mailouts, and the first one's receipts and
    routes in every stage. Returns the college codes and the number of tracking rows."""
    from sqlalchemy import insert
    from sqlmodel import select

    from credentials import HashSettings, hash_password
    from saraban import accounts, store
    from saraban.db import make_engine, session_scope, upgrade_schema
    from saraban.models import LetterRoute, Mailout, MailoutItem, Receipt, utcnow
    from saraban.numbering import bangkok_today, year_be
    from saraban.roster import read_roster
    from saraban.settings import Settings

    engine = make_engine(url)
    upgrade_schema(engine)
    rows = read_roster(ROSTER).rows
    codes = [r.code for r in rows]
    college_hash = hash_password(HashSettings().context(), COLLEGE_PASSWORD)
    now, today = utcnow(), bangkok_today()
    with session_scope(engine, immediate=True) as session:
        store.import_colleges(session=session, colleges=rows)
        store.store_credentials(
            session=session,
            batch_id=None,
            issued_by="bench",
            hashes=dict.fromkeys(codes, college_hash),
        )
        accounts.create_ovec_user(
            session,
            username="bench",
            name="นายวัด ความเร็ว",
            password=OVEC_PASSWORD,
            settings=Settings(),
            by="bench",
        )
        for n, due in enumerate((today - timedelta(days=3), today + timedelta(days=30), None)):
            mailout = Mailout(
                name=f"bench-{n + 1}",
                folder=str(out_dir),
                out_dir=str(out_dir),
                fingerprint=f"{n}" * 64,
                kind="circular",
                subject=f"หนังสือทดสอบความเร็ว ฉบับที่ {n + 1}",
                reference=f"ศธ 0603/ว {5553 + n}",
                due_date=due,
                created_by="bench",
            )
            session.add(mailout)
            session.flush()
            session.connection().execute(
                insert(MailoutItem.__table__),  # type: ignore[attr-defined]
                [
                    {
                        "mailout_id": mailout.id,
                        "college_code": code,
                        "reference": mailout.reference,
                        "file_name": f"{code}.pdf",
                        "state": "issued",
                        "pages": 5,
                        "sha256": "0" * 64,
                        "issued_at": now,
                    }
                    for code in codes
                ],
            )
            if n:
                continue
            items = session.exec(
                select(MailoutItem).where(MailoutItem.mailout_id == mailout.id)
            ).all()
            for i, item in enumerate(items[: len(items) * 3 // 5]):
                receipt = Receipt(
                    college_code=item.college_code,
                    year_be=year_be(now),
                    number=1,
                    received_at=now,
                    received_by=item.college_code,
                    channel="mailout",
                    mailout_item_id=item.id,
                    sender="สำนักงานคณะกรรมการการอาชีวศึกษา",
                    addressee="ผู้อำนวยการ",
                    subject=mailout.subject,
                    letter_number=mailout.reference,
                )
                session.add(receipt)
                session.flush()
                if i % 2:
                    continue
                status = ("routing", "decided", "completed")[i // 2 % 3]
                session.add(
                    LetterRoute(
                        receipt_id=receipt.id,
                        college_code=item.college_code,
                        steps=[],
                        roster=[],
                        status=status,
                        decision=None if status == "routing" else "แจ้ง รองฯ ผ.ผ.",
                        decided_by=None if status == "routing" else "นายทดสอบ ผู้อำนวยการ",
                        decided_at=None if status == "routing" else now,
                        planned_by=item.college_code,
                    )
                )
    engine.dispose()
    return codes, 3 * len(codes)


# --------------------------------------------------------------------------- #
# Server
# --------------------------------------------------------------------------- #


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(url: str, log: Path, workers: int) -> Iterator[tuple[str, int]]:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SARABAN_ENV": "production",
        "SARABAN_SECRET_KEY": SECRET,
    }
    command = [sys.executable, "-m", "saraban.cli", "serve", "--host", "127.0.0.1"]
    command += ["--workers", str(workers)]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=output, stderr=output
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"saraban serve exited: {log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{base}/api/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("saraban serve did not start within 60 s")
            time.sleep(0.2)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- #
# Clients
# --------------------------------------------------------------------------- #


class Budget:
    """Requests left, shared by the clients; counting starts after the warm-up."""

    def __init__(self, requests: int, seconds: float) -> None:
        self.requests, self.seconds = requests, seconds
        self.restart()

    def restart(self) -> None:
        self.left = self.requests
        self.measure_from = time.monotonic() + WARMUP_SECONDS
        self.stop_at = self.measure_from + self.seconds
        self.cpu_from: float | None = None

    @property
    def measured_seconds(self) -> float:
        return min(time.monotonic(), self.stop_at) - self.measure_from

    def take(self) -> bool:
        now = time.monotonic()
        if now >= self.stop_at:
            return False
        if now < self.measure_from:
            return True
        self.left -= 1
        return self.left >= 0


async def login(client: httpx.AsyncClient, username: str, password: str) -> None:
    """Log in, waiting as told while simultaneous logins from this one address are counted
    against its throttle (each counts as a failure until its password has been checked)."""
    body = {"username": username, "password": password}
    while (response := await client.post("/api/login", json=body)).status_code == 429:
        await asyncio.sleep(float(response.headers["Retry-After"]))
    response.raise_for_status()


async def run_client(
    client: httpx.AsyncClient,
    route: str,
    rows: int | None,
    budget: Budget,
    latencies: list[float],
    interval: float,
) -> None:
    """Requests one after another; with ``interval``, one every ``interval`` seconds, each
    timed from when it was due (so a slow answer also counts against the ones it delayed)."""
    rng = random.Random(id(client))
    due = time.monotonic() + rng.random() * interval
    while budget.take():
        if interval:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        params = None if rows is None else {"limit": 50, "offset": rng.randrange(rows - 50)}
        started = time.monotonic()
        response = await client.get(route, params=params)
        if response.status_code != 200:
            raise RuntimeError(f"{route}: {response.status_code} {response.text[:200]}")
        if started >= budget.measure_from:
            latencies.append(time.monotonic() - (due if interval else started))
        due += interval


def tree_cpu(pid: int) -> float:
    """CPU seconds used by a process and its children so far (Linux /proc)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total += (int(stat[11]) + int(stat[12])) / ticks
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu(int(child))
    return total


async def drive(
    base: str,
    pid: int,
    codes: list[str],
    clients: int,
    budget: Budget,
    rows: int,
    rate: float | None,
) -> tuple[dict[str, list[float]], float]:
    """Latencies by route, and the server's CPU seconds over the measured time."""
    ovec_clients = max(1, clients // 5)
    interval = clients / rate if rate else 0.0
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    pool = [httpx.AsyncClient(base_url=base, limits=limits, timeout=30) for _ in range(clients)]
    try:
        logins = [
            login(c, "bench", OVEC_PASSWORD)
            if i < ovec_clients
            else login(c, codes[i], COLLEGE_PASSWORD)
            for i, c in enumerate(pool)
        ]
        await asyncio.gather(*logins)
        inbox: list[float] = []
        tracking: list[float] = []
        budget.restart()

        async def cpu_at_start() -> float:
            await asyncio.sleep(WARMUP_SECONDS)
            return tree_cpu(pid)

        cpu_start = asyncio.ensure_future(cpu_at_start())
        tasks = [
            run_client(c, "/api/tracking", rows, budget, tracking, interval)
            if i < ovec_clients
            else run_client(c, "/api/inbox", None, budget, inbox, interval)
            for i, c in enumerate(pool)
        ]
        await asyncio.gather(*tasks)
        cpu = tree_cpu(pid) - await cpu_start
    finally:
        await asyncio.gather(*(c.aclose() for c in pool))
    return {"GET /api/inbox": inbox, "GET /api/tracking": tracking}, cpu


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=6000, help="measured requests, at most")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured time, at most")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    parser.add_argument(
        "--rate",
        type=float,
        nargs="*",
        default=[100.0],
        help="also run paced: the clients together send this many requests a second",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rich.console import Console
    from rich.table import Table

    title = f"saraban serve ({args.workers} process), {args.clients} clients on loopback"
    table = Table(title=title)
    columns = ("backend", "load", "route", "requests", "p50 ms", "p90 ms", "p99 ms", "max ms")
    for column in (*columns, "req/s", "server CPU ms/req"):
        table.add_column(column, justify="right")
    for backend in args.backends:
        with tempfile.TemporaryDirectory() as tmp, database(backend, Path(tmp)) as url:
            codes, rows = seed(url, Path(tmp))
            with server(url, Path(tmp) / "server.log", args.workers) as (base, pid):
                for rate in [None, *args.rate]:
                    budget = Budget(args.requests, args.seconds)
                    result, cpu = asyncio.run(
                        drive(base, pid, codes, args.clients, budget, rows, rate)
                    )
                    seconds = budget.measured_seconds
                    load = "as fast as answered" if rate is None else f"paced {rate:.0f}/s"
                    total = sum(len(v) for v in result.values())
                    for route, values in result.items():
                        ms = [v * 1000 for v in values]
                        table.add_row(
                            backend,
                            load,
                            route,
                            f"{len(ms):,}",
                            f"{statistics.median(ms):.1f}",
                            f"{percentile(ms, 90):.1f}",
                            f"{percentile(ms, 99):.1f}",
                            f"{max(ms):.1f}",
                            f"{len(ms) / seconds:,.0f}",
                            "",
                        )
                    overall = f"{total / seconds:,.0f}"
                    cpu_ms = f"{cpu * 1000 / total:.1f}"
                    table.add_row(backend, load, "all", f"{total:,}", *[""] * 4, overall, cpu_ms)
    console = Console(width=160)
    console.print(table)
    console.print(
        f"{len(codes)} colleges, {rows:,} tracking rows; `saraban serve` with "
        f"{args.workers} uvicorn process(es); {args.clients} clients ({args.clients // 5} OVEC) "
        f"in one asyncio process on the same machine ({os.cpu_count()} cores). 'as fast as "
        "answered': each client sends its next request when the last is answered; 'paced': "
        "each sends on a fixed schedule, latency counted from when a request was due. "
        f"Warm-up of {WARMUP_SECONDS:.0f} s not counted."
    )


if __name__ == "__main__":
    main()
