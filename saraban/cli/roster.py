"""``saraban roster import``: the colleges from a CSV or XLSX file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import out
from saraban.cli.database import open_db

app = typer.Typer(help="The roster of colleges (รายชื่อสถานศึกษา).", no_args_is_help=True)


@app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8, UTF-8 with BOM, cp874) or XLSX.")],
    encoding: Annotated[
        str | None, typer.Option(help="The CSV's encoding, if detection gets it wrong.")
    ] = None,
) -> None:
    """Import or update colleges by code. A file with any bad row imports nothing."""
    from saraban.domain.roster import read_roster
    from saraban.services.roster import import_roster

    roster = read_roster(file, encoding)  # a bad file is refused before the database opens
    result = import_roster(open_db(create=True), roster)
    out.print(
        f"[green]imported[/] {file} ({roster.encoding}): {len(roster.rows)} colleges: {result}"
    )
