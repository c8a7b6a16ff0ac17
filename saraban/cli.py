"""The ``saraban`` command: one function per command, errors as one red line and a non-zero exit."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="saraban",
    help="สารบรรณ: Thai official letters, enclosures, credentials, mailouts and routing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False)
out = Console(highlight=False)


@app.callback()
def _root() -> None:
    """สารบรรณ: Thai official letters, enclosures, credentials, mailouts and routing."""


class UserError(Exception):
    """A problem with what the user gave us: printed as one line, exit code 2."""


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Turn the domain's own errors into a clear message and exit code 2."""
    try:
        yield
    except (UserError, *kinds) as exc:
        fail(str(exc))


def write_atomically(path: Path, produce: Callable[[], bytes]) -> int:
    """Write ``produce()`` to ``path`` via a temp file; nothing is left behind if it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = produce()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``college.name=วิทยาลัย…`` pairs into a nested template context."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {pair!r}: expected NAME=VALUE, e.g. college.name=วิทยาลัย...")
        node = context
        *parents, leaf = key.strip().split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UserError(f"--set {pair!r}: {part!r} is already a value")
            node = child
        node[leaf] = value
    return context


@app.command()
def letter(
    file: Annotated[Path, typer.Argument(help="The letter file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF to write.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A template value, e.g. --set college.name=วิทยาลัย..."),
    ] = None,
) -> None:
    """Render an official letter (external or circular) to PDF."""
    from letters.fonts import FontConfigError
    from letters.letter import render_letter
    from letters.letterfile import LetterFileError, load_letter_file

    with user_errors(LetterFileError, FontConfigError):
        letter_file = load_letter_file(file)
        merged = letter_file.merge(parse_assignments(set_ or []))
        size = write_atomically(output, lambda: render_letter(merged))
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
