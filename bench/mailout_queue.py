"""The queued mailout (PostgreSQL, two ``saraban worker`` processes) beside the in-process
command (``saraban mailout --jobs 2``) and the hash-bound limit.

    .venv/bin/python -m bench.mailout_queue [--sizes 420 5000] [--runs 1]

For each size: the example mailout folder with a roster of that many colleges (the real 420,
or colleges made up as bench.mailout makes them), run

* in-process on a fresh SQLite file and on a fresh PostgreSQL schema (``run_here``, 2 worker
  processes, what ``saraban mailout`` does), in a process of its own;
* queued on a fresh PostgreSQL schema: two ``saraban worker`` processes started and registered
  first (workers are long-lived), then timed from the job's queueing to its finish (the print
  file and the manifest written), polling every 50 ms;
* the limit: argon2id hashes alone on 2 processes at once, per hash, times the colleges.

PostgreSQL: ``SARABAN_TEST_PG_URL`` (default postgresql+psycopg://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.mailout import EXAMPLE, _hash_on_every_core, made_up_roster

PG = os.environ.get("SARABAN_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CORES = 2


def _folder(root: Path, size: int) -> Path:
    folder = root / f"bench-{size}"
    shutil.copytree(EXAMPLE, folder)
    if size != 420:
        (folder / "roster.csv").write_text(made_up_roster(size), encoding="utf-8")
    return folder


def _pg_schema() -> tuple[str, str]:
    from sqlalchemy.engine import make_url

    from saraban.storage.engine import make_engine

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    admin.dispose()
    url = make_url(PG).update_query_dict({"options": f"-csearch_path={schema}"})
    return schema, url.render_as_string(hide_password=False)


def _drop(schema: str) -> None:
    from saraban.storage.engine import make_engine

    admin = make_engine(PG)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    admin.dispose()


def in_process(url: str, size: int) -> float:
    """In this process: the mailout job run here with 2 worker processes."""
    from saraban.services import mailout_jobs
    from saraban.storage.engine import make_engine, upgrade_schema

    engine = make_engine(url)
    upgrade_schema(engine)
    with tempfile.TemporaryDirectory() as tmp:
        folder = _folder(Path(tmp), size)
        job, _ = mailout_jobs.submit(engine, folder, Path(tmp) / "out", created_by="bench")
        assert job.id is not None
        start = time.perf_counter()
        mailout_jobs.run_here(engine, job.id, jobs=CORES)
        seconds = time.perf_counter() - start
    engine.dispose()
    return seconds


def queued(url: str, size: int) -> float:
    from sqlalchemy import text

    from saraban.services import job_queue, mailout_jobs
    from saraban.storage.engine import make_engine, session_scope, upgrade_schema
    from saraban.storage.models import MailoutJob

    engine = make_engine(url)
    upgrade_schema(engine)
    env = {**os.environ, "DATABASE_URL": url}
    env.pop("SARABAN_DB", None)
    workers = [
        subprocess.Popen(
            [sys.executable, "-m", "saraban.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(CORES)
    ]
    try:
        deadline = time.monotonic() + 120
        while True:
            with engine.connect() as conn:
                ready = conn.execute(text("SELECT count(*) FROM procrastinate_workers")).scalar()
            if ready == CORES:
                break
            assert time.monotonic() < deadline, "the workers did not start"
            time.sleep(0.1)
        with tempfile.TemporaryDirectory() as tmp:
            folder = _folder(Path(tmp), size)
            job, _ = mailout_jobs.submit(engine, folder, Path(tmp) / "out", created_by="bench")
            assert job.id is not None
            start = time.perf_counter()
            job_queue.enqueue(url, job.id)
            while True:
                with session_scope(engine) as session:
                    state = session.get(MailoutJob, job.id).state  # type: ignore[union-attr]
                if state in ("finished", "failed", "cancelled"):
                    break
                time.sleep(0.05)
            seconds = time.perf_counter() - start
            assert state == "finished", state
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(timeout=60)
        engine.dispose()
    return seconds


def _in_subprocess(kind: str, size: int) -> float:
    schema = None
    if kind == "sqlite":
        tmp = tempfile.mkdtemp()
        url = f"sqlite:///{tmp}/bench.db"
    else:
        schema, url = _pg_schema()
    try:
        command = [sys.executable, "-m", "bench.mailout_queue", "--one", kind, url, str(size)]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise RuntimeError(done.stderr[-2000:])
        return float(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    finally:
        if schema:
            _drop(schema)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[420, 5000])
    parser.add_argument("--runs", type=int, default=1, help="runs of each (the median shown)")
    parser.add_argument("--one", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        kind, url, size = args.one
        run = queued if kind == "queued" else in_process
        print(json.dumps({"seconds": run(url, int(size))}))
        return
    per_hash = _hash_on_every_core(CORES)
    print(f"argon2id on {CORES} processes at once: {per_hash * 1000:.1f} ms per hash (wall)")
    header = (
        "| colleges | hash-bound limit | in-process, SQLite | in-process, PostgreSQL "
        "| queued, 2 workers (PostgreSQL) | queued ÷ in-process (PostgreSQL) | queued ÷ limit |"
    )
    rows = [header, "|---:|---:|---:|---:|---:|---:|---:|"]
    for size in args.sizes:
        results: dict[str, list[float]] = {"sqlite": [], "postgresql": [], "queued": []}
        for _ in range(args.runs):
            for kind in results:
                results[kind].append(_in_subprocess(kind, size))
        median = {k: sorted(v)[len(v) // 2] for k, v in results.items()}
        limit = per_hash * size
        rows.append(
            f"| {size:,} | {limit:.1f} s | {median['sqlite']:.1f} s | {median['postgresql']:.1f} s "
            f"| {median['queued']:.1f} s | {median['queued'] / median['postgresql']:.2f}× "
            f"| {median['queued'] / limit:.2f}× |"
        )
        print(rows[-1], flush=True)
    print()
    print("\n".join(rows))


if __name__ == "__main__":
    main()
