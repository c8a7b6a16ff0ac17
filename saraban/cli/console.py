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


def read_password(*, confirm: bool = False, prompt: str = "รหัสผ่าน (password): ") -> str:
    """A password from a prompt (typed twice with ``confirm``), or one line of standard input
    when it is not a terminal."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass(prompt)
    if confirm and getpass.getpass("อีกครั้ง (again): ") != password:
        raise Invalid(None, "the two passwords differ")
    return password
