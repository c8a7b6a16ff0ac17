"""The PostgreSQL job queue of mailouts: procrastinate tasks over saraban.services.mailout_jobs.

A queued mailout is a ``prepare`` job that defers one ``chunk`` job per chunk of colleges; the
chunk that leaves nothing to commit defers the ``finish`` job (one waiting, one running: a
queueing lock and a lock).
Every ``saraban worker`` process, on any machine that reaches the database and the shared
mailout directory, takes the oldest job first (``FOR UPDATE SKIP LOCKED``), one at a time.

A worker that dies mid-chunk stops sending heartbeats; ``retry_stalled`` (a periodic task,
run by whichever worker is up) gives its job back to the queue, and another worker runs it
again: the chunk skips the colleges the first attempt committed, so nothing is issued twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy.engine import Engine, make_url

from saraban.domain.errors import Refused
from saraban.services import mailout_jobs
from saraban.storage.engine import make_engine

log = logging.getLogger(__name__)

QUEUE = "mailouts"
HEARTBEAT_SECONDS = 2.0  # a worker's heartbeat ...
STALLED_AFTER_SECONDS = 10.0  # ... missed this long: its jobs go back to the queue
CHUNK_ATTEMPTS = 3  # a chunk that raises (not a worker that dies) is tried this many times

tasks = procrastinate.Blueprint()
_engines: dict[str, Engine] = {}


def conninfo(url: str) -> str:
    """libpq's URI for a SQLAlchemy PostgreSQL URL (its search_path option kept)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _engine(url: str) -> Engine:
    if url not in _engines:
        _engines[url] = make_engine(url)
    return _engines[url]


def _url(context: procrastinate.JobContext) -> str:
    return str(context.additional_context["database_url"])


def make_app(url: str, *, worker: bool = False) -> procrastinate.App:
    """The procrastinate app on the database at ``url``: async for a worker, sync to defer."""
    connector: Any = (
        procrastinate.PsycopgConnector(conninfo=conninfo(url))
        if worker
        else procrastinate.SyncPsycopgConnector(conninfo=conninfo(url))
    )
    app = procrastinate.App(connector=connector)
    app.add_tasks_from(tasks, namespace="saraban")
    return app


def start(engine: Engine, job_id: int) -> None:
    """Hand a recorded job to its workers: the PostgreSQL queue; on SQLite nothing more (the
    local worker of ``saraban serve`` takes the oldest job waiting)."""
    if engine.dialect.name == "postgresql":
        enqueue(engine.url.render_as_string(hide_password=False), job_id)


def enqueue(url: str, job_id: int) -> None:
    """Queue a recorded mailout job (saraban.services.mailout_jobs.submit)."""
    app = make_app(url)
    with app.open(), contextlib.suppress(AlreadyEnqueued):
        app.configure_task(
            "saraban:prepare", queue=QUEUE, queueing_lock=f"mailout-prepare-{job_id}"
        ).defer(job_id=job_id)


@tasks.task(name="prepare", queue=QUEUE, pass_context=True, retry=2)
async def prepare(context: procrastinate.JobContext, job_id: int) -> None:
    """The parent work, then one chunk job per chunk."""
    engine = _engine(_url(context))
    alive = await context.app.connector.execute_query_one_async(
        "SELECT count(*) AS n FROM procrastinate_workers "
        "WHERE last_heartbeat > now() - make_interval(secs => %(stalled)s)",
        stalled=STALLED_AFTER_SECONDS,
    )
    try:
        chunks = await asyncio.to_thread(
            mailout_jobs.prepare, engine, job_id, workers=max(1, int(alive["n"]))
        )
    except Refused as exc:  # the inputs were refused: no retry can help
        await asyncio.to_thread(mailout_jobs.fail, engine, job_id, str(exc))
        return
    if chunks:
        await chunk.batch_defer_async(*({"job_id": job_id, "codes": c} for c in chunks))
    else:
        await _defer_finish(job_id)


@tasks.task(
    name="chunk",
    queue=QUEUE,
    pass_context=True,
    retry=procrastinate.RetryStrategy(max_attempts=CHUNK_ATTEMPTS - 1, wait=1),
)
async def chunk(context: procrastinate.JobContext, job_id: int, codes: list[str]) -> None:
    engine = _engine(_url(context))
    try:
        last = await asyncio.to_thread(mailout_jobs.run_chunk_job, engine, job_id, codes)
    except Exception as exc:
        assert context.job is not None
        if context.job.attempts + 1 >= CHUNK_ATTEMPTS:
            message = f"colleges {codes[0]}–{codes[-1]}: {type(exc).__name__}: {exc}"
            await asyncio.to_thread(mailout_jobs.fail, engine, job_id, message[:500])
        raise
    if last:
        await _defer_finish(job_id)


@tasks.task(name="finish", queue=QUEUE, pass_context=True, retry=2)
async def finish(context: procrastinate.JobContext, job_id: int) -> None:
    await asyncio.to_thread(mailout_jobs.finish, _engine(_url(context)), job_id)


async def _defer_finish(job_id: int) -> None:
    # One finish waiting is enough (a queueing lock): it sees every commit made before it
    # runs. One runs at a time (a lock): two chunks ending together may each queue one after
    # the first has started, and two finishes would write the same print file at once.
    lock = f"mailout-finish-{job_id}"
    with contextlib.suppress(AlreadyEnqueued):
        await finish.configure(queueing_lock=lock, lock=lock).defer_async(job_id=job_id)


@tasks.periodic(cron="* * * * * */2")  # every 2 seconds (croniter's sixth field)
@tasks.task(
    name="retry_stalled",
    queue=QUEUE,
    queueing_lock="retry_stalled",
    pass_context=True,
    priority=10,  # before the next chunk: a busy worker still looks after the dead one's
)
async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    """Jobs of workers that stopped sending heartbeats (killed, their machine gone) go back
    to the queue, for another worker."""
    manager = context.app.job_manager
    for job in await manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
        log.warning("job %s (%s) of a stalled worker: queued again", job.id, job.task_name)
        await manager.retry_job(job)


def run_worker(url: str, *, name: str | None = None) -> None:
    """One worker process: one job at a time (the work is CPU; run more processes for more),
    until SIGINT or SIGTERM (the job at hand finishes first)."""
    app = make_app(url, worker=True)
    app.run_worker(
        queues=[QUEUE],
        concurrency=1,
        name=name or f"saraban-{os.getpid()}",
        additional_context={"database_url": url},
        update_heartbeat_interval=HEARTBEAT_SECONDS,
        stalled_worker_timeout=STALLED_AFTER_SECONDS,
        delete_jobs="successful",
    )


def stop_on_sigterm() -> None:
    """In a worker's parent: SIGTERM as Ctrl-C (stop the children, then exit)."""

    def handler(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
