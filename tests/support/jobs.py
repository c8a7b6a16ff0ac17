"""Mailout jobs in the tests: a real ``saraban worker`` process beside an app run in-process
(what ``saraban serve`` starts by itself on SQLite, and what runs the queue on PostgreSQL), and
waiting for a job to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ENDED = ("finished", "failed", "cancelled")


@contextmanager
def running_worker(db_url: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``saraban worker`` on the database at ``db_url`` until the block ends."""
    env = {**os.environ, "DATABASE_URL": db_url}
    env.pop("SARABAN_DB", None)
    with open(log, "wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "saraban.cli", "worker"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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


def wait_for_job(
    status: Callable[[], dict[str, Any]], *, timeout: float = 300, log: Path | None = None
) -> dict[str, Any]:
    """Poll the job's status (GET /api/mailouts/{id}) until it has ended; its last status."""
    deadline = time.monotonic() + timeout
    while True:
        job = status()
        if job["state"] in ENDED:
            return job
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise AssertionError(f"job still {job['state']} after {timeout} s: {job}\n{tail}")
        time.sleep(0.2)
