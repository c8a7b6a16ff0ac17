"""Shared fixtures.

``engine`` is parametrised over both supported backends, so every test using it
(directly or through ``session``) runs twice:

* ``sqlite``      -- a fresh database file in ``tmp_path``;
* ``postgresql``  -- a fresh schema in the database at ``SARABAN_TEST_PG_URL``
  (default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``), selected via
  ``search_path`` in the URL and dropped afterwards.

Both are migrated to head with :func:`saraban.storage.engine.upgrade_schema` (never
``create_all``).  PostgreSQL being unreachable is a test error, not a skip.

To run a test on one backend only, override the ``backend`` parameter::

    @pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
    def test_something(engine): ...

``db_url`` is the URL of that same database (including the schema), e.g. for
``DATABASE_URL`` when a test starts the CLI or the web app in another process.

The tests mirror the layers: ``tests/unit`` (no database: a unit test asking for one is an
error), ``tests/db``, ``tests/web``, ``tests/browser`` and ``tests/packaging``. Each test is
marked with its folder's name; the PostgreSQL runs are marked ``postgresql``, and tests that
take tens of seconds ``slow`` (``scripts/test.sh --quick`` leaves out both, and the browser).
Helpers shared by several test modules are in ``tests/support``; fixtures in conftest files.

The digital-signature fixtures are here too, for every layer: ``pki`` (a test PKI made with
``cryptography``: tests/support/pki.py), ``signing_key``, ``timestamp_server`` (a timestamp
authority on 127.0.0.1) and ``nss_db`` (an NSS database trusting the test root, for poppler's
``pdfsig``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

from letters.signing import SigningKey, load_signing_key
from saraban.storage.engine import make_engine, normalise_url, upgrade_schema
from tests.support.pki import TestPKI, TimestampServer, make_pki

PG_URL_ENV = "SARABAN_TEST_PG_URL"
PG_URL_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql))
TESTS = Path(__file__).resolve().parent
LAYERS = ("unit", "db", "web", "browser", "packaging")
DATABASE_FIXTURES = frozenset({"backend", "db_url", "engine", "session"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test with its layer (its folder); a unit test may use no database."""
    for item in items:
        layer = item.path.relative_to(TESTS).parts[0]
        if layer not in LAYERS:
            raise pytest.UsageError(f"{item.nodeid}: tests live in tests/{{{','.join(LAYERS)}}}")
        item.add_marker(getattr(pytest.mark, layer))
        used = DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
        if layer == "unit" and used:
            raise pytest.UsageError(
                f"{item.nodeid}: a unit test uses no database ({', '.join(sorted(used))}); "
                "move it to tests/db"
            )


def pg_admin_url() -> str:
    return normalise_url(os.environ.get(PG_URL_ENV) or PG_URL_DEFAULT)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """Name of the backend under test: ``"sqlite"`` or ``"postgresql"``."""
    return request.param


@pytest.fixture
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of an empty, private database for this test (schema not yet migrated)."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("db") / "saraban.db"
        yield f"sqlite:///{path}"
        return

    admin_url = pg_admin_url()
    schema = f"saraban_test_{uuid.uuid4().hex}"
    admin = make_engine(admin_url, poolclass=NullPool, connect_args={"connect_timeout": 10})
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    except OperationalError as exc:
        admin.dispose()
        pytest.fail(
            f"PostgreSQL unreachable at {make_url(admin_url)!r} (set {PG_URL_ENV}; "
            f"start it with `pg_ctlcluster --skip-systemctl-redirect <ver> main start`): {exc}",
            pytrace=False,
        )
    try:
        url = make_url(admin_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            # Fail instead of hanging if a test leaked a connection holding locks.
            conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """Engine on a private database migrated to head (both backends)."""
    eng = make_engine(db_url)
    try:
        upgrade_schema(eng)
        yield eng
    finally:
        eng.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    """A session on ``engine``; nothing is committed unless the test commits."""
    with Session(engine, expire_on_commit=False) as s:
        yield s


# --- digital signatures -------------------------------------------------------------------


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return make_pki()


@pytest.fixture(scope="session")
def signing_key(pki: TestPKI) -> SigningKey:
    return load_signing_key(pki.p12("signer"), pki.passphrase)


@pytest.fixture(scope="session")
def timestamp_server(pki: TestPKI) -> Iterator[TimestampServer]:
    server = TimestampServer(pki)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def nss_db(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``sql:<folder>`` of an NSS database that trusts the test root to sign documents
    (``-t ",C,"``: trusted for e-mail, what pdfsig checks; ``C,,`` trusts for TLS only)."""
    certutil = shutil.which("certutil")
    if certutil is None or shutil.which("pdfsig") is None:
        pytest.fail("certutil and pdfsig are needed: install Debian's libnss3-tools and "
                    "poppler-utils (scripts/readers.sh does)", pytrace=False)
    folder = tmp_path_factory.mktemp("nssdb")
    root = folder / "root.pem"
    root.write_bytes(pki.root.pem)
    db = f"sql:{folder}"
    for args in (["-N", "-d", db, "--empty-password"],
                 ["-A", "-d", db, "-n", "saraban test root", "-t", ",C,", "-i", str(root)]):
        subprocess.run([certutil, *args], check=True, capture_output=True)
    assert Path(folder, "cert9.db").is_file()
    return db
