"""The options and the passphrase prompt shared by the commands that sign (``saraban letter
--sign`` and ``saraban mailout --sign``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import read_password

TimestampUrl = Annotated[
    str | None,
    typer.Option(
        "--timestamp-url",
        envvar="SARABAN_TIMESTAMP_URL",
        help="An RFC 3161 timestamp authority: signatures become PAdES B-T.",
        metavar="URL",
    ),
]
TrustFolder = Annotated[
    Path | None,
    typer.Option(
        "--trust",
        envvar="SARABAN_TRUST_DIR",
        help="A folder of trusted CA certificates: a key whose certificate does not chain "
        "to them is refused.",
        metavar="FOLDER",
    ),
]


def read_key_passphrase(key_file: Path) -> str:
    """The key's passphrase from a prompt, or one line of standard input (never an argument)."""
    return read_password(
        prompt=f"รหัสผ่านของกุญแจ {key_file.name} (passphrase): ",
        what="passphrase",
        allow_empty=True,
    )
