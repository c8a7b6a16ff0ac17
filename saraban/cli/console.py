"""What the commands print to and read from: the two consoles, who is running the command,
and passwords read from a prompt (or one line of standard input), never from the arguments."""

from __future__ import annotations

import getpass
import os
import sys

from rich.console import Console

from saraban.domain.errors import Invalid

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def current_user() -> str:
    """Who runs the command, as the audit log and the batches name them."""
    return os.environ.get("SARABAN_USER") or getpass.getuser()


def read_password(
    *,
    confirm: bool = False,
    prompt: str = "รหัสผ่าน (password): ",
    what: str = "password",
    allow_empty: bool = False,
) -> str:
    """A password from a prompt (typed twice with ``confirm``), or one line of standard input
    when it is not a terminal. Nothing read (standard input empty, or an empty line) is refused
    as such, not checked as a wrong password; ``allow_empty`` lets an empty one through (a
    key's passphrase may be empty, and a wrong one is then said by the key)."""
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        if not line and not allow_empty:
            raise Invalid(
                what,
                f"no {what} was read: standard input was empty (give it on one line, or run "
                "the command in a terminal to be asked for it)",
                text=f"no {what} was read: standard input was empty (give it on one line, or "
                "run the command in a terminal to be asked for it)",
            )
        password = line.rstrip("\r\n")
    else:
        password = getpass.getpass(prompt)
        if confirm and getpass.getpass("อีกครั้ง (again): ") != password:
            raise Invalid(None, "the two passwords differ")
    if not password and not allow_empty:
        message = f"no {what} was read: the line given is empty"
        raise Invalid(what, message, text=message)
    return password
