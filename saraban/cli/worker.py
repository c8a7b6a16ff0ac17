"""``saraban worker``: run queued mailouts (on PostgreSQL, with any number of machines)."""

from __future__ import annotations

from typing import Annotated

import typer

from saraban.cli.console import err


def worker(
    concurrency: Annotated[
        int,
        typer.Option(
            min=1,
            max=256,
            metavar="N",
            help="How many worker processes to run (1-256; one per core suits).",
        ),
    ] = 1,
) -> None:
    """Run queued mailout jobs until stopped.

    Ctrl-C or SIGTERM stops it: each process finishes the chunk at hand; one killed outright
    has its chunk retried by another worker. On PostgreSQL, start it on as many machines as
    you like: each reaches the database (DATABASE_URL) and the mailout directory
    (SARABAN_MAILOUT_DIR, the same files at the same path on every machine). On SQLite it
    runs the jobs one after another on this machine, as saraban serve does by itself.
    """
    import multiprocessing

    from saraban.cli.database import open_db
    from saraban.services import job_queue, local_worker
    from saraban.storage.engine import database_url

    url = database_url()
    engine = open_db()  # migrated to head once, before any process starts; never a new file
    postgresql = engine.dialect.name == "postgresql"
    engine.dispose()
    if not postgresql:
        err.print("SQLite: running the mailout jobs on this machine")
        try:
            local_worker.serve(url, jobs=concurrency)
        except KeyboardInterrupt:
            raise typer.Exit(130) from None
        except SystemExit as exc:
            raise typer.Exit(int(exc.code or 0)) from None
        return
    err.print(f"saraban worker: {concurrency} process(es) on the PostgreSQL queue")
    if concurrency == 1:
        job_queue.run_worker(url)
        return
    context = multiprocessing.get_context("spawn")
    processes = [
        context.Process(target=job_queue.run_worker, args=(url,), name=f"saraban-worker-{n}")
        for n in range(concurrency)
    ]
    for process in processes:
        process.start()
    job_queue.stop_on_sigterm()
    code = 0
    try:
        for process in processes:
            process.join()
    except KeyboardInterrupt:
        code = 130
        for process in processes:
            if process.pid is not None and process.is_alive():
                process.terminate()  # SIGTERM: procrastinate finishes the job at hand
        for process in processes:
            process.join()
    raise typer.Exit(code)
