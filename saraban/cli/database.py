"""Which database a command works on, said on standard error before it starts.

The default is the SQLite file ``saraban.db`` in the current folder, so a command run from
another folder would find none there. Only a command that makes data (importing a roster, a
mailout, adding a user, the service) creates one, and says so; any other command refuses,
naming the file it looked for and how to point at the right one. Issuing credentials is
refused too: a new database has no colleges to issue to.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from saraban.cli.console import err
from saraban.domain.errors import NotFound

if TYPE_CHECKING:  # sqlalchemy is imported by the commands that open the database, not --help
    from sqlalchemy import Engine

WHERE = (
    "run the command in the folder that holds saraban.db, or name the database with "
    "SARABAN_DB=/path/to/saraban.db (or DATABASE_URL for PostgreSQL); saraban roster import "
    "makes a new one"
)


def sqlite_file(url: str) -> Path | None:
    """The SQLite file a URL names (absolute), or None for another database or one in
    memory."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


def describe(url: str) -> str:
    """The database as a person reads it: a file's absolute path, or the URL without its
    password."""
    from sqlalchemy.engine import make_url

    path = sqlite_file(url)
    if path is not None:
        return str(path)
    return make_url(url).render_as_string(hide_password=True)


def open_db(*, create: bool = False) -> Engine:
    """The configured database, migrated to head, after one line on standard error naming it.

    A SQLite file that does not exist is created only with ``create`` (the line then says it
    was); otherwise :class:`NotFound` names the file looked for."""
    from saraban.storage.engine import database_url, open_database

    url = database_url()
    path = sqlite_file(url)
    new = path is not None and not path.exists()
    if new and not create:
        raise NotFound(f"no database at {path}: {WHERE}")
    engine = open_database(url)
    if new:
        err.print(f"database: {describe(url)} (new: created now)", markup=False, highlight=False)
    else:
        err.print(f"database: {describe(url)}", markup=False, highlight=False)
    return engine
