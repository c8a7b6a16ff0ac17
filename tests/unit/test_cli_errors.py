"""The command line's one place for errors (saraban.cli.errors) with a command that fails in
a way saraban did not mean: still one line naming the error, never a traceback unless asked
for with SARABAN_DEBUG=1."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from saraban.cli.errors import EXIT_BUG, EXIT_REFUSED, OneLineErrors
from saraban.cli.help import GROUP
from saraban.domain.errors import Conflict

app = typer.Typer(**{**GROUP, "cls": OneLineErrors})


@app.command()
def broken() -> None:
    """Fail as a bug would."""
    raise KeyError("college")


@app.command()
def refused() -> None:
    """Refuse, with [brackets] in the message."""
    raise Conflict("entry[1].url: [bold]taken[/bold]")


def test_a_bug_is_one_line_naming_the_error() -> None:
    result = CliRunner().invoke(app, ["broken"], env={"SARABAN_DEBUG": ""})
    assert result.exit_code == EXIT_BUG
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: unexpected KeyError: 'college'.")
    assert "SARABAN_DEBUG=1" in lines[0]
    assert "Traceback" not in result.output


def test_with_saraban_debug_the_traceback_is_shown() -> None:
    result = CliRunner().invoke(app, ["broken"], env={"SARABAN_DEBUG": "1"})
    assert isinstance(result.exception, KeyError)


def test_a_refusal_is_printed_as_written_not_as_markup() -> None:
    result = CliRunner().invoke(app, ["refused"])
    assert result.exit_code == EXIT_REFUSED
    assert result.output.strip() == "error: entry[1].url: [bold]taken[/bold]"
