"""``saraban mailout``: every college's bundle, the print file and the manifest, with a
progress bar (saraban.services.mailouts does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import current_user, err, out
from saraban.cli.database import open_db
from saraban.cli.signals import stopped_by_signals


def mailout(
    folder: Annotated[
        Path,
        typer.Argument(
            help="The mailout folder (letter.toml, roster.csv, qr-sheet.toml, mailout.toml).",
            metavar="FOLDER",
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="The folder the bundles go to.", metavar="FOLDER")
    ],
    roster: Annotated[
        Path | None, typer.Option(help="A roster to use in place of the folder's.", metavar="FILE")
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(help="How many worker processes (default: one per core).", metavar="N"),
    ] = None,
) -> None:
    """Make every college's bundle, the print file and the manifest.

    A bundle is the letter, its enclosures, the QR-code sheet and the college's credential
    slip. Running it again is safe: it finishes an interrupted run and issues nothing twice.
    Ctrl-C or SIGTERM stops it and its worker processes (exit 130 or 143).
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from saraban.services import mailout_jobs

    engine = open_db(create=True)
    job, plan = mailout_jobs.submit(
        engine, folder, out_dir, created_by=current_user(), roster=roster
    )
    assert job.id is not None
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    )
    # No refresh thread: the workers are forked, which wants a single-threaded parent.
    with Progress(*columns, console=err, transient=False, auto_refresh=False) as bar:
        task = bar.add_task(f"mailout {plan.name}", total=len(plan.roster.rows))

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)
            bar.refresh()

        with stopped_by_signals():
            result = mailout_jobs.run_here(engine, job.id, jobs=jobs, progress=advance)
    table = Table(title=f"mailout {result.name}", show_header=False)
    table.add_row("letter number (ที่)", result.reference or "one per college (see manifest)")
    table.add_row("colleges", f"{result.colleges:,}")
    table.add_row("issued in this run", f"{result.issued_now:,}")
    table.add_row("pages", f"{result.pages:,}")
    table.add_row("bundles", f"{result.out}/<code>.pdf")
    table.add_row("print file", f"{result.out}/print-all.pdf")
    table.add_row("manifest", f"{result.out}/manifest.csv")
    table.add_row("time", f"{result.seconds:.1f} s")
    out.print(table)
