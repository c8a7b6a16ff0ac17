"""The web service under 50 concurrent clients: colleges reading their inbox, OVEC its tracking.

    .venv/bin/python -m bench.service [--backends sqlite postgresql] [--clients 50]
                                      [--workers N [N ...]] [--rate 50] [--runs 3]
                                      [--seconds 15] [--paced-seconds 20] [--root CHECKOUT]

For each backend: a fresh database (a SQLite file, or a new schema in the PostgreSQL database at
``SARABAN_TEST_PG_URL``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) seeded
with the example roster's 420 colleges, each with a live credential, three mailouts delivered to
all of them, and receipts and routes for part of the first (received, routed, decided,
completed). ``saraban serve --workers N`` runs in a subprocess on 127.0.0.1 (production
settings; N defaults to the number of cores). The clients log in over httpx, each with its own
session, then send their GETs over a keep-alive connection each, with a few lines of asyncio
(on uvloop) in this one process: most are colleges (``GET /api/inbox``), the rest OVEC
(``GET /api/tracking``, pages of 50 at random offsets).

Two loads, each measured for a fixed time after a warm-up that is not counted:

* closed loop (saturation): each client sends its next request as soon as the last one is
  answered. This gives the most the server answers a second; its latencies are queueing
  (Little's law: latency = clients / throughput), not the server's speed.
* paced: the clients together offer ``--rate`` requests a second on a fixed schedule, and a
  request's latency counts from when it was due (no coordinated omission). This is the latency.

Each run starts the server afresh for each backend and worker count (several ``--workers``
values are run interleaved, in alternating order); the table shows the medians of the runs.
Every run's figures go to ``bench/results/service.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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

    from saraban.storage.engine import make_engine, normalise_url

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
    from saraban.domain.roster import read_roster
    from saraban.domain.vocabulary import bangkok_today, year_be
    from saraban.services import accounts
    from saraban.settings import Settings
    from saraban.storage import store
    from saraban.storage.engine import make_engine, session_scope, upgrade_schema
    from saraban.storage.models import LetterRoute, Mailout, MailoutItem, Receipt, utcnow

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


@dataclass(frozen=True)
class Running:
    host: str
    port: int
    pid: int

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"


@contextmanager
def server(url: str, log: Path, workers: int, root: Path = ROOT) -> Iterator[Running]:
    """``saraban serve --workers N`` from the checkout at ``root``, once every worker is up."""
    running = Running("127.0.0.1", free_port(), 0)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SARABAN_ENV": "production",
        "SARABAN_SECRET_KEY": SECRET,
        "PYTHONPATH": str(root),
    }
    command = [sys.executable, "-m", "saraban.cli", "serve", "--host", running.host]
    command += ["--port", str(running.port), "--workers", str(workers)]
    with open(log, "wb") as output:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=output, stderr=output)
    running = Running(running.host, running.port, process.pid)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"saraban serve exited: {log.read_text()[-2000:]}")
            started = log.read_text(errors="replace").count("Application startup complete")
            if started >= workers:
                try:
                    if httpx.get(f"{running.base}/api/openapi.json", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError("saraban serve did not start within 60 s")
            time.sleep(0.2)
        yield running
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def tree_cpu(pid: int) -> float:
    """CPU seconds used by a process and its children so far (Linux /proc)."""
    total, ticks = 0.0, os.sysconf("SC_CLK_TCK")
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total += (int(stat[11]) + int(stat[12])) / ticks
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            total += tree_cpu(int(child))
    return total


# --------------------------------------------------------------------------- #
# Clients
# --------------------------------------------------------------------------- #


class Budget:
    """Requests left, shared by the clients; counting starts after the warm-up."""

    def __init__(self, requests: int, seconds: float) -> None:
        self.left = requests
        self.measure_from = time.monotonic() + WARMUP_SECONDS
        self.stop_at = self.measure_from + seconds

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


async def session_cookie(base: str, username: str, password: str) -> str:
    from saraban.services.sessions import COOKIE_NAME

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await login(client, username, password)
        return client.cookies[COOKIE_NAME]


class Connection:
    """One keep-alive HTTP/1.1 connection that sends GETs with a session cookie.

    httpx costs about as much CPU per request as the server does, and here it would share the
    server's two cores: these few lines cost a fraction of that."""

    def __init__(self, running: Running, cookie: str) -> None:
        self.running, self.cookie = running, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, target: str) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(
                self.running.host, self.running.port
            )
        self.writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {self.running.host}:{self.running.port}\r\n"
            f"Cookie: saraban_session={self.cookie}\r\nAccept: application/json\r\n\r\n".encode()
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status, length, close = int(head[9:12]), None, False
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked answers are not expected from these routes")
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        if length is None:
            raise RuntimeError(f"{target}: answer without Content-Length")
        body = await self.reader.readexactly(length)
        if close:
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def run_client(
    connection: Connection,
    target: Callable[[random.Random], str],
    budget: Budget,
    latencies: list[float],
    interval: float,
    rng: random.Random,
) -> None:
    """Requests one after another; with ``interval``, one every ``interval`` seconds, each
    timed from when it was due (so a slow answer also counts against the ones it delayed)."""
    due = time.monotonic() + rng.random() * interval
    while True:
        if interval:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
        if not budget.take():
            break
        path = target(rng)
        started = time.monotonic()
        status, body = await connection.get(path)
        if status != 200:
            raise RuntimeError(f"{path}: {status} {body[:200]!r}")
        if started >= budget.measure_from:
            latencies.append(time.monotonic() - (due if interval else started))
        due += interval


@dataclass
class Measured:
    latencies: dict[str, list[float]]
    seconds: float
    server_cpu: float
    client_cpu: float

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


async def drive(
    running: Running,
    codes: list[str],
    clients: int,
    rows: int,
    rate: float | None,
    seconds: float,
    requests: int,
) -> Measured:
    """Latencies by route, and the server's and this process's CPU over the measured time."""
    ovec_clients = max(1, clients // 5)
    interval = clients / rate if rate else 0.0
    cookies = await asyncio.gather(
        *(
            session_cookie(running.base, "bench", OVEC_PASSWORD)
            if i < ovec_clients
            else session_cookie(running.base, codes[i % len(codes)], COLLEGE_PASSWORD)
            for i in range(clients)
        )
    )
    pool = [Connection(running, cookie) for cookie in cookies]
    routes: dict[str, list[float]] = {"GET /api/inbox": [], "GET /api/tracking": []}

    def tracking(rng: random.Random) -> str:
        return f"/api/tracking?limit=50&offset={rng.randrange(rows - 50)}"

    def inbox(_rng: random.Random) -> str:
        return "/api/inbox"

    budget = Budget(requests, seconds)

    async def cpu_at_start() -> tuple[float, float]:
        await asyncio.sleep(WARMUP_SECONDS)
        return tree_cpu(running.pid), time.process_time()

    start = asyncio.ensure_future(cpu_at_start())
    try:
        await asyncio.gather(
            *(
                run_client(c, tracking, budget, routes["GET /api/tracking"], interval, rng)
                if i < ovec_clients
                else run_client(c, inbox, budget, routes["GET /api/inbox"], interval, rng)
                for i, c in enumerate(pool)
                for rng in [random.Random(i)]
            )
        )
        server_cpu, client_cpu = await start
        return Measured(
            routes,
            budget.measured_seconds,
            tree_cpu(running.pid) - server_cpu,
            time.process_time() - client_cpu,
        )
    finally:
        await asyncio.gather(*(c.close() for c in pool))


def run_loop(coroutine: Awaitable[Measured]) -> Measured:
    """On uvloop when it is installed (it comes with uvicorn[standard]): a cheaper client."""
    try:
        import uvloop

        factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coroutine)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Report
# --------------------------------------------------------------------------- #


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


SATURATION = "closed loop (saturation)"


def load_name(rate: float | None) -> str:
    return SATURATION if rate is None else f"paced {rate:g} req/s"


def summary(measured: Measured) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = {}
    for route, values in measured.latencies.items():
        ms = [v * 1000 for v in values]
        rows[route] = {
            "requests": len(ms),
            "p50": statistics.median(ms),
            "p90": percentile(ms, 90),
            "p99": percentile(ms, 99),
            "max": max(ms),
            "req/s": len(ms) / measured.seconds,
        }
    rows["all"] = {
        "requests": measured.requests,
        "req/s": measured.requests / measured.seconds,
        "server CPU ms/req": measured.server_cpu * 1000 / measured.requests,
        "client CPU ms/req": measured.client_cpu * 1000 / measured.requests,
    }
    all_ms = [v * 1000 for values in measured.latencies.values() for v in values]
    rows["all"].update(
        p50=statistics.median(all_ms), p90=percentile(all_ms, 90), p99=percentile(all_ms, 99)
    )
    return rows


def measure(
    args: argparse.Namespace, running: Running, codes: list[str], rows: int, rate: float | None
) -> dict[str, dict[str, float]]:
    seconds = args.seconds if rate is None else args.paced_seconds
    return summary(
        run_loop(drive(running, codes, args.clients, rows, rate, seconds, args.requests))
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[os.cpu_count() or 1],
        help="server processes (default: one per core); several values are run interleaved",
    )
    parser.add_argument(
        "--rate",
        type=float,
        nargs="*",
        default=[50.0],
        help="also run paced: the clients together offer this many requests a second",
    )
    parser.add_argument("--runs", type=int, default=3, help="the table shows their medians")
    parser.add_argument("--seconds", type=float, default=15.0, help="measured time, unpaced")
    parser.add_argument("--paced-seconds", type=float, default=20.0, help="measured time, paced")
    parser.add_argument("--requests", type=int, default=100_000, help="measured requests, at most")
    parser.add_argument(
        "--root", type=Path, default=ROOT, help="run the server from this checkout (A/B)"
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from rich.console import Console
    from rich.table import Table

    results: dict[tuple[str, int, str], list[dict[str, dict[str, float]]]] = {}
    loads = [None, *args.rate]
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        seeded: dict[str, tuple[str, Path, list[str], int]] = {}
        for backend in args.backends:
            folder = Path(tmp) / backend
            folder.mkdir()
            url = stack.enter_context(database(backend, folder))
            seeded[backend] = (url, folder, *seed(url, folder))
        for run in range(args.runs):
            for backend, (url, folder, codes, rows) in seeded.items():
                order = args.workers if run % 2 == 0 else args.workers[::-1]
                for workers in order:
                    log = folder / f"server-{workers}.log"
                    with server(url, log, workers, args.root.resolve()) as running:
                        for rate in loads:
                            result = measure(args, running, codes, rows, rate)
                            results.setdefault((backend, workers, load_name(rate)), []).append(
                                result
                            )
                            print(
                                f"run {run + 1}/{args.runs} {backend} {workers} "
                                f"{load_name(rate)}: {result['all']['req/s']:.0f} req/s, "
                                f"p99 {result['all']['p99']:.0f} ms",
                                file=sys.stderr,
                            )

    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "service.json").write_text(
        json.dumps(
            [
                {"backend": b, "workers": w, "load": load, "runs": runs}
                for (b, w, load), runs in results.items()
            ],
            indent=1,
        )
    )
    table = Table(
        title=f"saraban serve, {args.clients} clients on loopback: medians of {args.runs} runs"
    )
    columns = ("backend", "server processes", "load", "route", "requests/run", "p50 ms")
    columns += ("p90 ms", "p99 ms", "p99 min-max", "req/s", "server CPU ms/req")
    for column in columns:
        table.add_column(column, justify="right")

    def med(runs: list[dict[str, dict[str, float]]], route: str, field: str) -> float:
        return statistics.median(r[route][field] for r in runs)

    for backend in args.backends:
        for workers in args.workers:
            for rate in loads:
                runs = results[(backend, workers, load_name(rate))]
                for route in (*runs[0],):
                    p99s = [r[route]["p99"] for r in runs]
                    table.add_row(
                        backend,
                        str(workers),
                        load_name(rate),
                        route,
                        f"{med(runs, route, 'requests'):,.0f}",
                        f"{med(runs, route, 'p50'):.1f}",
                        f"{med(runs, route, 'p90'):.1f}",
                        f"{med(runs, route, 'p99'):.1f}",
                        f"{min(p99s):.0f}-{max(p99s):.0f}",
                        f"{med(runs, route, 'req/s'):,.0f}",
                        f"{med(runs, 'all', 'server CPU ms/req'):.2f}" if route == "all" else "",
                    )
    client_cpu = statistics.median(
        r["all"]["client CPU ms/req"] for runs in results.values() for r in runs
    )
    console = Console(width=170)
    console.print(table)
    _, _, codes, rows = next(iter(seeded.values()))
    load = os.getloadavg()
    console.print(
        f"{len(codes)} colleges, {rows:,} tracking rows. {args.clients} clients "
        f"({max(1, args.clients // 5)} OVEC reading /api/tracking, the rest colleges reading "
        f"/api/inbox), each with its own session and keep-alive connection, in one asyncio "
        f"process on the same machine as the server ({os.cpu_count()} cores; load average "
        f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f} at the end); the client used "
        f"{client_cpu:.2f} ms of CPU per request.\n"
        f"'{SATURATION}': every client sends its next request as soon as the last is "
        f"answered, with no think time: this measures the most the server answers (req/s). "
        f"Its latencies are queueing: with {args.clients} clients always waiting, Little's law "
        f"makes latency = {args.clients} / throughput, whatever the server's speed.\n"
        f"'paced R req/s': the clients together offer R requests a second on a fixed schedule; "
        f"a request's latency counts from when it was due, so a slow answer also counts "
        f"against the requests it delayed. This is the latency figure.\n"
        f"The first {WARMUP_SECONDS:.0f} s of each measurement are not counted; "
        f"'server CPU ms/req' is the server's processes' CPU time over the measured requests."
    )


if __name__ == "__main__":
    main()
