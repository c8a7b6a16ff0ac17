"""Logging for the service and the CLI: events only, never a password.

``SARABAN_LOG`` names a file to append to (INFO and up); without it warnings go to stderr.
"""

from __future__ import annotations

import logging
import os

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging() -> None:
    root = logging.getLogger("saraban")
    if root.handlers:
        return
    path = os.environ.get("SARABAN_LOG")
    handler: logging.Handler
    if path:
        handler = logging.FileHandler(path, encoding="utf-8")
        root.setLevel(logging.INFO)
    else:
        handler = logging.StreamHandler()
        root.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
