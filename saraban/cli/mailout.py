"""``saraban mailout``: every college's bundle, the print file and the manifest, with a
progress bar (saraban.services.mailouts does the work)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import current_user, err, out
from saraban.cli.database import open_db
from saraban.cli.signals import stopped_by_signals
from saraban.cli.signing import TimestampUrl, TrustFolder, read_key_passphrase


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
    sign: Annotated[
        Path | None,
        typer.Option(
            "--sign",
            help="Sign the letters digitally with this PKCS#12 key (.p12): the shared letter "
            "once, a letter merged per college for each college. Its passphrase is asked for, "
            "or read from one line of standard input, never from the command line.",
            metavar="KEY",
        ),
    ] = None,
    timestamp_url: TimestampUrl = None,
    trust: TrustFolder = None,
) -> None:
    """Make every college's bundle, the print file and the manifest.

    A bundle is the letter, its enclosures, the QR-code sheet and the college's credential
    slip. Running it again is safe: it finishes an interrupted run and issues nothing twice.
    Ctrl-C or SIGTERM stops it and its worker processes (exit 130 or 143). With --sign each
    college's letter is also signed digitally, in a file of its own beside its bundle.
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
    from saraban.services.mailouts import MailoutSigning

    signing = None
    if sign is not None:
        p12 = sign.read_bytes()
        passphrase = read_key_passphrase(sign)
        signing = MailoutSigning(
            p12,
            passphrase.encode("utf-8"),
            key_name=str(sign),
            timestamp_url=timestamp_url,
            trust_dir=trust,
        )
        del passphrase, p12
        signing.open()  # a wrong passphrase stops here, before anything is recorded
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
            result = mailout_jobs.run_here(
                engine, job.id, jobs=jobs, progress=advance, signing=signing
            )
    table = Table(title=f"mailout {result.name}", show_header=False)
    table.add_row("letter number (ที่)", result.reference or "one per college (see manifest)")
    table.add_row("colleges", f"{result.colleges:,}")
    table.add_row("issued in this run", f"{result.issued_now:,}")
    table.add_row("pages", f"{result.pages:,}")
    table.add_row("bundles", f"{result.out}/<code>.pdf")
    if signing is not None:
        table.add_row("signed letters", f"{result.out}/{_signed_files(result.out)}")
    table.add_row("print file", f"{result.out}/print-all.pdf")
    table.add_row("manifest", f"{result.out}/manifest.csv")
    table.add_row("time", f"{result.seconds:.1f} s")
    out.print(table)


def _signed_files(out: Path) -> str:
    from saraban.services.mailouts import SIGNED_LETTER

    return SIGNED_LETTER if (out / SIGNED_LETTER).is_file() else "<code>.signed.pdf"
