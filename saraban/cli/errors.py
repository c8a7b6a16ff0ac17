"""The one place the command line turns the error tree (saraban.domain.errors) into what a
person reads: every refusal or failure saraban raises on purpose, and a file that cannot be
read or written, is one red line (``error: ...``) and exit code 2. A traceback means a bug."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from saraban.cli.console import err
from saraban.domain.errors import SarabanError

EXIT_REFUSED = 2


def one_line(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)


class OneLineErrors(TyperGroup):
    """The ``saraban`` command group: its commands' errors, each as one line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (SarabanError, OSError) as exc:
            one_line(str(exc))
            raise typer.Exit(EXIT_REFUSED) from None
