"""Knowing that a transaction waits for another's lock, so that a test of the waiting path
cannot pass without taking it (a sleep only hopes so).

The waiting side runs on an engine of its own, :func:`watched`, which notes its database
backends (PostgreSQL) and the threads and statements it runs. :meth:`Watched.wait_until_blocked`
returns once that side is blocked on a lock: on PostgreSQL when ``pg_stat_activity`` says its
backend waits for one; on SQLite when its thread, in the middle of a statement, sleeps in
SQLite's busy handler (Linux tells a thread's current system call: nanosleep, which nothing
else in that call makes).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text

from saraban.storage.engine import make_engine

NANOSLEEP = {"35", "230"}  # x86-64: nanosleep, clock_nanosleep


@dataclass
class Watched:
    engine: Engine
    pids: list[int] = field(default_factory=list)
    started: threading.Event = field(default_factory=threading.Event)
    threads: list[int] = field(default_factory=list)
    statements: list[str] = field(default_factory=list)

    def wait_until_blocked(self, observer: Engine, timeout: float = 30) -> str:
        """Return the statement it waits in, once the watched side waits for a lock."""
        deadline = time.monotonic() + timeout
        assert self.started.wait(timeout), "the waiting side never ran a statement"
        while time.monotonic() < deadline:
            if self._blocked(observer):
                return self.statements[-1]
            time.sleep(0.002)  # polling for a fact, not hoping for one
        raise AssertionError(f"the waiting side never waited for a lock: {self.statements}")

    def _blocked(self, observer: Engine) -> bool:
        if self.engine.dialect.name == "postgresql":
            with observer.connect() as conn:
                query = text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE pid = ANY(:pids) AND wait_event_type = 'Lock'"
                )
                return bool(conn.execute(query, {"pids": list(self.pids)}).scalar_one())
        syscall = Path(f"/proc/self/task/{self.threads[-1]}/syscall").read_text().split()
        return bool(syscall) and syscall[0] in NANOSLEEP


def run_together(*targets: Callable[[], None], timeout: float = 60) -> None:
    """Run the holder and the waiter, each in a thread of its own, to the end."""
    threads = [threading.Thread(target=target) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)


def watched(url: str) -> Watched:
    """An engine on ``url`` whose connections and statements are watched."""
    engine = make_engine(url)
    watch = Watched(engine)

    @event.listens_for(engine, "connect")
    def _connected(dbapi_connection: Any, _record: Any) -> None:
        if engine.dialect.name == "postgresql":
            watch.pids.append(dbapi_connection.info.backend_pid)

    @event.listens_for(engine, "before_cursor_execute")
    def _statement(*args: Any) -> None:
        watch.threads.append(threading.get_native_id())
        watch.statements.append(args[2])
        watch.started.set()

    return watch
