"""``python -m saraban.cli``: the ``saraban`` command."""

from saraban.cli import app

app()
