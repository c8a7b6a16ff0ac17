"""Fixtures of the web tests: one real mailout per test session (the template), and per test
the app over the test's own database (SQLite or PostgreSQL) seeded from it: ``world`` for the
JSON API, ``site`` for the pages; ``trusting_site``: ``site`` with a trust store holding the
test PKI's root (``SARABAN_TRUST_DIR``)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, update

from saraban.domain.vocabulary import bangkok_today
from saraban.storage.engine import make_engine, upgrade_schema
from saraban.storage.models import Mailout
from saraban.web.app import create_app
from tests.support.browser import Site, app_with_pages, page_settings
from tests.support.mailouts import MailoutRun, copy_template, mail_small
from tests.support.pki import TestPKI
from tests.support.service import World, service_settings


@pytest.fixture(scope="session")
def mailout_run(tmp_path_factory: pytest.TempPathFactory) -> MailoutRun:
    """OVEC's mailout to three colleges (Lampang first), once, into a template database."""
    root = tmp_path_factory.mktemp("mailout")
    engine = make_engine(f"sqlite:///{root / 'template.db'}")
    try:
        upgrade_schema(engine)
        return mail_small(root, engine)
    finally:
        engine.dispose()


@pytest.fixture
def world(engine: Engine, mailout_run: MailoutRun, tmp_path: Path) -> Iterator[World]:
    copy_template(mailout_run, engine)
    with engine.begin() as conn:  # due yesterday: undecided letters are overdue
        conn.execute(update(Mailout).values(due_date=bangkok_today() - timedelta(days=1)))
    settings = service_settings(tmp_path / "data")
    with ExitStack() as stack:
        yield World(create_app(settings, engine), engine, settings, mailout_run, stack)


@pytest.fixture
def site(engine: Engine, mailout_run: MailoutRun, tmp_path: Path) -> Iterator[Site]:
    copy_template(mailout_run, engine)
    settings = page_settings(tmp_path / "data")
    with ExitStack() as stack:
        yield Site(app_with_pages(settings, engine), engine, settings, mailout_run, stack)


@pytest.fixture
def trusting_site(
    engine: Engine, mailout_run: MailoutRun, tmp_path: Path, pki: TestPKI
) -> Iterator[Site]:
    copy_template(mailout_run, engine)
    trust = pki.write_trust_store(tmp_path / "ca")
    settings = page_settings(tmp_path / "data", trust_dir=trust)
    with ExitStack() as stack:
        yield Site(app_with_pages(settings, engine), engine, settings, mailout_run, stack)
