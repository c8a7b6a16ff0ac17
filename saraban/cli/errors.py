"""The one place the command line turns the error tree (saraban.domain.errors) into what a
person reads: every refusal or failure saraban raises on purpose, and a file that cannot be
read or written, is one red line (``error: ...``) and exit code 2. So is a command line that
cannot be parsed (an unknown option, a missing argument, a value of the wrong kind), with the
command's ``--help`` to read. Anything else is a bug in saraban: still one line, naming the
error, and ``SARABAN_DEBUG=1`` shows its traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import typer

try:  # Typer 0.2x carries its own click (typer._click); older releases use click itself
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover
    from click import exceptions as click_errors  # type: ignore[no-redef]

from saraban.cli.console import err
from saraban.cli.help import Group
from saraban.domain.errors import SarabanError

EXIT_REFUSED = 2
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


def one_line(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True, highlight=False)


def _plain(message: str) -> str:
    """A message on one line (a file's error may quote several)."""
    return " ".join(message.split())


def _debugging() -> bool:
    return os.environ.get("SARABAN_DEBUG", "") not in ("", "0")


def usage_message(exc: click_errors.ClickException) -> str:
    """A command line that cannot be parsed, in one line with where to read more."""
    message = _plain(exc.format_message())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click_errors.UsageError) and ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    return message


class OneLineErrors(Group):
    """The ``saraban`` command group: its commands' errors, each as one line."""

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except (SarabanError, OSError) as exc:
            one_line(_escape(_plain(str(exc))))
            raise typer.Exit(EXIT_REFUSED) from None

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click_errors.NoArgsIsHelpError as exc:
            exc.show()  # the group's help, as `--help` prints it
            sys.exit(exc.exit_code)
        except click_errors.ClickException as exc:
            one_line(_escape(usage_message(exc)))
            sys.exit(exc.exit_code)
        except typer.Abort:
            one_line("interrupted: nothing more was done")
            sys.exit(1)
        except KeyboardInterrupt:
            one_line("interrupted: nothing more was done")
            sys.exit(EXIT_INTERRUPTED)
        except Exception as exc:  # a bug: one line, the traceback only when asked for
            if _debugging():
                raise
            one_line(
                _escape(
                    f"unexpected {type(exc).__name__}: {_plain(str(exc)) or '(no message)'}. "
                    "This is a bug in saraban; run again with SARABAN_DEBUG=1 to see where."
                )
            )
            sys.exit(EXIT_BUG)
        sys.exit(result if isinstance(result, int) else 0)


def _escape(text: str) -> str:
    """Text printed as it is, never read as Rich markup (a file name with [brackets])."""
    from rich.markup import escape

    return escape(text)
