"""``saraban roster import``: the colleges from a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import out
from saraban.cli.database import open_db
from saraban.cli.help import GROUP, Command

app = typer.Typer(help="Import the roster of colleges (รายชื่อสถานศึกษา).", **GROUP)


@app.command("import", cls=Command)
def roster_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="The roster: CSV (UTF-8, UTF-8 with BOM, cp874) or XLSX.", metavar="FILE"
        ),
    ],
    encoding: Annotated[
        str | None,
        typer.Option(
            help="The CSV file's encoding, if detection gets it wrong (e.g. cp874).",
            metavar="ENCODING",
        ),
    ] = None,
) -> None:
    """Import colleges from a roster, or update them by code.

    A file with any bad row imports nothing, and the message lists every bad row.
    """
    from saraban.domain.roster import read_roster
    from saraban.services.roster import import_roster

    roster = read_roster(file, encoding)  # a bad file is refused before the database opens
    result = import_roster(open_db(create=True), roster)
    out.print(
        f"[green]imported[/] {file} ({roster.encoding}): {len(roster.rows)} colleges: {result}"
    )
