"""The ``saraban`` command: one function per command, grouped by topic in this package; each
calls the services and prints their answer. Errors are one red line and a non-zero exit,
mapped in one place (saraban.cli.errors)."""

from __future__ import annotations

import typer

from saraban.cli import credentials, letters, mailout, roster, service, worker
from saraban.cli.errors import OneLineErrors
from saraban.cli.help import GROUP, Command

app = typer.Typer(
    name="saraban",
    help="สารบรรณ: Thai official letters, enclosures, credentials, mailouts and routing.",
    pretty_exceptions_enable=False,
    **{**GROUP, "cls": OneLineErrors},
)


@app.callback()
def _root() -> None:
    """สารบรรณ: Thai official letters, enclosures, credentials, mailouts and routing."""
    from saraban.logs import configure_logging

    configure_logging()


app.command(cls=Command)(letters.letter)
app.command(cls=Command)(letters.verify)
app.add_typer(roster.app, name="roster")
app.add_typer(credentials.app, name="credentials")
app.command("qr-sheet", cls=Command)(letters.qr_sheet)
app.command(cls=Command)(mailout.mailout)
app.command("serve", cls=Command)(service.serve)
app.add_typer(service.user_app, name="user")
app.add_typer(service.audit_app, name="audit")
app.command("worker")(worker.worker)


def main() -> None:
    app()
