"""How ``saraban ... --help`` reads: like git's. The usage line names each argument by what it
is (``saraban letter [OPTIONS] FILE``), every option that takes a value shows the value's name
(``--output PDF``), never a type in brackets (``<path>``, ``<bool>``); a command's first line is
a one-sentence summary, the list of commands shows it whole, and the rest follows as written.

Every command is made with ``cls=Command`` and every group with ``Typer(**GROUP)``
(tests/unit/test_cli_help.py checks each command's help for those defects)."""

from __future__ import annotations

from typing import Any

from typer.core import TyperCommand, TyperGroup


class Group(TyperGroup):
    """A group whose list of commands gives each command's summary whole, never cut off."""

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is None or command.hidden:
                continue
            rows.append((name, command.get_short_help_str(limit=1_000)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


# Plain help, as click writes it: no boxes, no type column.
GROUP: dict[str, Any] = {"rich_markup_mode": None, "no_args_is_help": True, "cls": Group}


def argument_name(param: Any) -> str:
    """An argument as the usage line and the help name it: FILE, [CODE]..."""
    name = str(param.metavar or (param.name or "").upper())
    if param.nargs != 1:
        name += "..."
    return name if param.required else f"[{name}]"


class Command(TyperCommand):
    """A command whose help reads like git's (see the module)."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                pieces.append(argument_name(param))
        return pieces

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            if param.param_type_name == "argument":
                arguments.append((argument_name(param), record[1]))
            elif param.param_type_name == "option":
                options.append(record)
        if arguments:
            with formatter.section("Arguments"):
                formatter.write_dl(arguments)
        if options:
            with formatter.section("Options"):
                formatter.write_dl(options)
