"""``saraban ... --help`` reads like git's, for every command and group: the usage line names
the arguments (FILE, CODE), every option that takes a value names it (--output PDF), no type
in brackets (<path>, <bool>) or braces ({file}), a one-sentence summary first, full sentences,
and the lists of commands give each summary whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from saraban.cli import app

ROOT = typer.main.get_command(app)


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(ROOT))


def _help(path: tuple[str, ...]) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    return result.output


def test_every_command_is_covered() -> None:
    names = {" ".join(path) for path, _ in COMMANDS}
    for expected in (
        "letter",
        "verify",
        "qr-sheet",
        "mailout",
        "serve",
        "roster import",
        "credentials issue",
        "credentials reissue",
        "credentials void",
        "credentials verify",
        "user add",
        "user role",
        "audit verify",
        "audit head",
    ):
        assert expected in names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "saraban")
def test_help_has_no_type_brackets_and_names_every_value(path: tuple[str, ...]) -> None:
    text = _help(path)
    assert not re.search(r"<[a-z][a-z_ \[\]|,]*>", text), text  # <path>, <bool>, <list[str]>
    assert "{" not in text and "}" not in text, text  # {file}
    assert "``" not in text, text  # reStructuredText left in a docstring
    usage = text.splitlines()[0]
    assert usage.startswith("Usage: saraban"), usage
    command = dict(COMMANDS)[path]
    for param in command.params:
        if param.param_type_name == "argument":
            assert param.metavar and param.metavar.isupper(), (path, param.name)
            assert param.metavar in usage, usage
        elif not param.is_flag and not param.count and param.name != "help":
            assert param.metavar and re.fullmatch(r"[A-Z][A-Z_=:]*", param.metavar), (
                path,
                param.name,
            )
            longest = max(param.opts, key=len)
            assert f"{longest} {param.metavar}" in text, (path, param.name)


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p) or "saraban")
def test_help_is_full_sentences_with_a_summary_first(path: tuple[str, ...]) -> None:
    command = dict(COMMANDS)[path]
    summary = (command.help or "").strip().split("\n\n")[0]
    assert "\n" not in summary.strip(), f"{path}: the summary is one line: {summary!r}"
    assert summary.endswith((".", ")")), summary
    for param in command.params:
        if param.param_type_name == "argument" or param.name not in ("help",):
            helptext = getattr(param, "help", None) or ""
            assert helptext.endswith((".", ")")), (path, param.name, helptext)
    text = _help(path)
    assert " ".join(summary.split()) in " ".join(text.split())


@pytest.mark.parametrize(
    "path", [p for p, c in COMMANDS if hasattr(c, "commands")], ids=lambda p: " ".join(p) or "x"
)
def test_lists_of_commands_give_each_summary_whole(path: tuple[str, ...]) -> None:
    text = _help(path)
    listing = " ".join(text.split("Commands:")[1].split())
    for name, sub in ROOT.commands.items() if not path else dict(COMMANDS)[path].commands.items():
        summary = " ".join((sub.help or "").strip().split("\n\n")[0].split())
        assert f"{name} {summary}" in listing, (name, summary, listing)
    assert "..." not in listing, listing


def test_a_bad_command_line_is_one_line_naming_the_argument() -> None:
    result = CliRunner().invoke(app, ["credentials", "verify"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "Missing argument 'CODE'" in result.output
    assert "saraban credentials verify --help" in result.output
    result = CliRunner().invoke(app, ["credentials", "issue", "--per-page", "two"])
    assert result.exit_code == 2
    assert result.output.strip().count("\n") == 0, result.output
    assert "--per-page" in result.output and "integer" in result.output
    result = CliRunner().invoke(app, ["letter", "x.toml", "--bogus"])
    assert result.exit_code == 2
    assert "No such option: --bogus" in result.output and "Traceback" not in result.output
