"""``saraban letter`` and ``saraban qr-sheet``: a letter file or a QR sheet file to PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from saraban.cli.console import out
from saraban.domain.errors import Invalid


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``college.name=วิทยาลัย…`` pairs into a nested template context."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            message = f"--set {pair!r}: expected NAME=VALUE, e.g. college.name=วิทยาลัย..."
            raise Invalid("--set", message, text=message)
        node = context
        *parents, leaf = key.strip().split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                message = f"--set {pair!r}: {part!r} is already a value"
                raise Invalid("--set", message, text=message)
            node = child
        node[leaf] = value
    return context


def letter(
    file: Annotated[Path, typer.Argument(help="The letter file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF to write.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A template value, e.g. --set college.name=วิทยาลัย..."),
    ] = None,
) -> None:
    """Render an official letter (external or circular) to PDF."""
    from saraban.files import write_atomically
    from saraban.services.letters import render_letter_file

    pdf = render_letter_file(file, parse_assignments(set_ or []))
    size = write_atomically(output, pdf, make_folder=True)
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")


def qr_sheet(
    file: Annotated[Path, typer.Argument(help="The QR sheet file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF to write.")],
) -> None:
    """Render a sheet of QR codes with captions and their links as text."""
    from saraban.files import write_atomically
    from saraban.services.letters import render_qr_sheet_file

    size = write_atomically(output, render_qr_sheet_file(file), make_folder=True)
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")
