"""Engine, sessions and schema migrations.

* :func:`database_url` -- where the database lives (``DATABASE_URL``, else the
  SQLite file ``$SARABAN_DB``, else ``./saraban.db``).
* :func:`make_engine` -- an engine configured for SQLite (WAL, foreign keys,
  busy timeout, real transactions) or PostgreSQL (psycopg 3).
* :func:`upgrade_schema` -- run the Alembic migrations shipped in
  ``saraban/migrations`` up to head.  Nothing calls ``create_all``.
* :func:`session_scope` -- a session that commits on success, rolls back on error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, event
from sqlalchemy.engine import URL, make_url
from sqlmodel import Session, create_engine

MIGRATIONS_DIR = Path(str(resources.files("saraban.storage.migrations")))
DEFAULT_SQLITE_PATH = "./saraban.db"

# Execution option: start SQLite transactions with BEGIN IMMEDIATE (see session_scope).
SQLITE_IMMEDIATE = "saraban_sqlite_immediate"

SQLITE_PRAGMAS: dict[str, str] = {
    "journal_mode": "WAL",
    "foreign_keys": "ON",
    "busy_timeout": "30000",
    "synchronous": "NORMAL",
}


def database_url() -> str:
    """The configured database URL.

    ``DATABASE_URL`` if set (``postgresql://`` is normalised to the psycopg 3
    driver), otherwise a SQLite file at ``SARABAN_DB`` (default ``./saraban.db``).
    """
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        return normalise_url(url)
    path = os.environ.get("SARABAN_DB", "").strip() or DEFAULT_SQLITE_PATH
    return f"sqlite:///{path}"


def normalise_url(url: str | URL) -> str:
    """Force the psycopg 3 driver for PostgreSQL URLs; leave others alone."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        u = u.set(drivername="postgresql+psycopg")
    return u.render_as_string(hide_password=False)


def make_engine(url: str | URL | None = None, **kwargs: Any) -> Engine:
    """Create an engine for *url* (default :func:`database_url`).

    SQLite: ``check_same_thread=False``; each connection gets the PRAGMAs in
    :data:`SQLITE_PRAGMAS`; and pysqlite's own transaction handling is replaced
    by explicit ``BEGIN`` so that transactions (including DDL and SAVEPOINTs)
    behave as on PostgreSQL.

    Extra keyword arguments go to :func:`sqlmodel.create_engine`.
    """
    u = make_url(normalise_url(url if url is not None else database_url()))
    if u.get_backend_name() == "sqlite":
        connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
        engine = create_engine(u, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(u, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    # https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#serializable-isolation-savepoints-transactional-ddl
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop pysqlite from issuing BEGIN itself (and from committing before DDL).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            for name, value in SQLITE_PRAGMAS.items():
                cursor.execute(f"PRAGMA {name}={value}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get(SQLITE_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def session_scope(engine: Engine, *, immediate: bool = False) -> Iterator[Session]:
    """A :class:`sqlmodel.Session` that commits when the block succeeds and rolls
    back (and re-raises) when it fails.

    ``expire_on_commit=False``: objects loaded in the block stay readable after it.

    ``immediate=True`` (SQLite only; ignored elsewhere) starts the transaction
    with ``BEGIN IMMEDIATE``: it waits (up to ``busy_timeout``) for the write
    lock up front.  Use it for read-then-write transactions that may run
    concurrently with other writers; with a plain deferred ``BEGIN``, SQLite
    cannot upgrade a read snapshot that another writer has since changed and
    fails at once with "database is locked".
    """
    bind = engine.execution_options(**{SQLITE_IMMEDIATE: True}) if immediate else engine
    with Session(bind, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(url: str | URL | None = None) -> Config:
    """An Alembic :class:`Config` for the migrations packaged with saraban.

    No ``alembic.ini`` is needed.  *url* (default :func:`database_url`) is used
    only when no connection is passed via ``config.attributes["connection"]``.
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ``%`` must be doubled for ConfigParser interpolation.
    cfg.set_main_option(
        "sqlalchemy.url",
        normalise_url(url if url is not None else database_url()).replace("%", "%%"),
    )
    return cfg


def upgrade_schema(engine_or_url: Engine | str | URL | None = None, revision: str = "head") -> None:
    """Migrate the database to *revision* (default ``head``), atomically.

    Accepts an engine (used as-is, not disposed) or a URL (default
    :func:`database_url`; a temporary engine is created and disposed).
    """
    if isinstance(engine_or_url, Engine):
        _upgrade(engine_or_url, revision)
        return
    engine = make_engine(engine_or_url)
    try:
        _upgrade(engine, revision)
    finally:
        engine.dispose()


def _upgrade(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url)
    with engine.connect() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def open_database(url: str | URL | None = None) -> Engine:
    """The configured database (``DATABASE_URL`` or the SQLite file; or ``url``), migrated to
    head: what the command line works on."""
    engine = make_engine(url)
    upgrade_schema(engine)
    return engine


# Tables in our database that are not saraban's models: procrastinate's job queue (created by
# the migration 0008_jobs on PostgreSQL, kept by procrastinate's own schema).
FOREIGN_TABLE_PREFIXES = ("procrastinate_",)


def saraban_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic's ``include_object``: compare and autogenerate saraban's own schema only."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", "")
    return not str(table_name or "").startswith(FOREIGN_TABLE_PREFIXES)
