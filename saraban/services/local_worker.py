"""The embedded database's worker: mailout jobs run one after another on this machine.

With SQLite there is no queue server and one machine: ``saraban serve`` starts this loop in a
process of its own (and ``saraban worker`` runs it on SQLite). It takes the oldest job not
ended (a job left running by a crash is resumed: the run finishes it and changes nothing done)
and runs it with :func:`saraban.services.mailout_jobs.run_here`, its chunks in worker
processes. A second mailout waits its turn: SQLite has one writer, and the chunks of one
mailout already keep every core busy.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import col, select

from saraban.domain.errors import SarabanError
from saraban.services import mailout_jobs
from saraban.services.mailouts import WorkerDied, die_with_parent
from saraban.storage.engine import make_engine, session_scope
from saraban.storage.models import JobState, MailoutJob

log = logging.getLogger(__name__)
POLL_SECONDS = 0.5


def next_job(engine: Engine) -> int | None:
    with session_scope(engine) as session:
        return session.exec(
            select(MailoutJob.id)
            .where(col(MailoutJob.state).in_([JobState.QUEUED, JobState.RUNNING]))
            .order_by(col(MailoutJob.id))
        ).first()


WORKER_DEATHS = 5  # a job whose chunk workers keep dying (out of memory?) stops after this


def run_one(engine: Engine, job_id: int, *, jobs: int | None = None) -> None:
    for attempt in range(1, WORKER_DEATHS + 1):
        try:
            mailout_jobs.run_here(engine, job_id, jobs=jobs)
            return
        except WorkerDied as exc:  # run again: it finishes the job, changing nothing done
            log.warning("mailout job %s: %s (attempt %s)", job_id, exc, attempt)
            if attempt == WORKER_DEATHS:
                mailout_jobs.fail(engine, job_id, str(exc))
        except SarabanError as exc:  # recorded in the job by run_here
            log.warning("mailout job %s stopped: %s", job_id, exc)
            return
        except Exception as exc:  # a bug: the job says so rather than being retried forever
            log.exception("mailout job %s failed", job_id)
            mailout_jobs.fail(engine, job_id, f"{type(exc).__name__}: {exc}"[:500])
            return


def serve(url: str, *, jobs: int | None = None, stop: Callable[[], bool] = lambda: False) -> None:
    """Run jobs until ``stop()`` or SIGTERM/SIGINT (the chunk workers are stopped with it)."""

    def on_term(signum: int, frame: object) -> None:
        # The server's terminate() and the parent-death signal can both arrive: a second
        # SIGTERM during the clean-up below would interrupt it with a traceback.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    parent = os.getppid()
    die_with_parent()
    engine = make_engine(url)
    try:
        while not stop() and os.getppid() == parent:
            job_id = next_job(engine)
            if job_id is None:
                time.sleep(POLL_SECONDS)
                continue
            run_one(engine, job_id, jobs=jobs)
    finally:
        engine.dispose()
