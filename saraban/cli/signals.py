"""Ctrl-C and SIGTERM for long commands: stop the work (its worker processes with it) and exit
with the shell's code for the signal, 130 or 143, after one line saying how to finish."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager

import typer

from saraban.cli.console import err


class _Terminated(BaseException):
    """SIGTERM, raised where the main thread is (as Ctrl-C raises KeyboardInterrupt)."""


@contextmanager
def stopped_by_signals(rerun: str = "run the same command again to finish") -> Iterator[None]:
    def on_term(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    except KeyboardInterrupt:
        err.print(f"stopped (Ctrl-C): {rerun}")
        raise typer.Exit(130) from None
    except _Terminated:
        err.print(f"stopped (SIGTERM): {rerun}")
        raise typer.Exit(143) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
