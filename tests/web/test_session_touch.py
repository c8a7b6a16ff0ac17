"""A session's last_seen_at touch (saraban.services.sessions.touch) never queues on SQLite's
write lock while the session is far from its idle end: with the lock held by another writer,
the touch gives up within a moment and the session's next request touches it; once half of
the idle time has passed, it waits as any write does. On PostgreSQL a touch takes a row lock
only and always goes through."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, text, update
from sqlmodel import Session, select

from saraban.services import sessions
from saraban.storage.engine import SQLITE_IMMEDIATE
from saraban.storage.models import LoginSession, utcnow
from tests.support.service import LAMPANG, World


def _last_seen(engine: Engine) -> datetime:
    with Session(engine) as session:
        return max(session.exec(select(LoginSession.last_seen_at)))


def _age(engine: Engine, minutes: float) -> None:
    with Session(engine) as session:
        session.exec(
            update(LoginSession).values(last_seen_at=utcnow() - timedelta(minutes=minutes))
        )
        session.commit()


def _writer(engine: Engine) -> Connection:
    """A connection holding the write lock (SQLite), or a lock on another table (PostgreSQL)."""
    holder = engine.execution_options(**{SQLITE_IMMEDIATE: True}).connect()
    holder.begin()
    if engine.dialect.name != "sqlite":
        holder.exec_driver_sql("LOCK TABLE audit_event")
    return holder


def _session_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT max(id) FROM login_session")).scalar_one())


def test_a_request_touches_a_session_due_a_touch(world: World) -> None:
    actor = world.actor()
    actor.login(LAMPANG, world.run.passwords[LAMPANG])
    _age(world.engine, 2)
    before = _last_seen(world.engine)
    assert actor.get("/api/session").status_code == 200
    assert _last_seen(world.engine) - before > timedelta(minutes=1)


def test_a_touch_does_not_queue_for_the_write_lock(world: World) -> None:
    actor = world.actor()
    actor.login(LAMPANG, world.run.passwords[LAMPANG])
    _age(world.engine, 2)
    seen = _last_seen(world.engine)
    session_id = _session_id(world.engine)
    sqlite = world.engine.dialect.name == "sqlite"
    holder = _writer(world.engine)
    try:
        started = time.monotonic()
        touched = sessions.touch(world.engine, session_id, utcnow(), wait=False)
        took = time.monotonic() - started
        assert took < 1.0, took
        assert touched is not sqlite  # SQLite: left to the next request
        # The page is answered meanwhile, and its touch does not wait either.
        started = time.monotonic()
        assert actor.get("/api/session").status_code == 200
        assert time.monotonic() - started < 2.0
    finally:
        holder.rollback()
        holder.close()
    if sqlite:
        assert _last_seen(world.engine) == seen
        # The connection went back to the pool waiting as long as every write does.
        with world.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar_one() == 30000
    # With the lock free, the next request touches it.
    assert actor.get("/api/session").status_code == 200
    assert _last_seen(world.engine) - seen > timedelta(minutes=1)


def test_a_session_near_its_idle_end_is_touched_however_long_it_waits(world: World) -> None:
    actor = world.actor()
    actor.login(LAMPANG, world.run.passwords[LAMPANG])
    idle = world.settings.session_idle_minutes
    settings = world.settings
    token = actor.client.cookies[sessions.COOKIE_NAME]
    now = utcnow()
    for minutes, due in ((0.5, None), (2, sessions.Due.QUIET), (idle / 2 + 1, sessions.Due.NOW)):
        _age(world.engine, minutes)
        with Session(world.engine) as session:
            found = sessions.lookup(session, token=token, now=now, settings=settings)
        assert found is not None and found[1] == due, (minutes, found)
    # Past half the idle time the touch waits for the lock: a writer holding it for a moment
    # delays it, and it goes through.
    if world.engine.dialect.name == "sqlite":
        holder = _writer(world.engine)
        release = threading.Timer(0.3, lambda: (holder.rollback(), holder.close()))
        release.start()
        try:
            assert sessions.touch(world.engine, _session_id(world.engine), utcnow(), wait=True)
        finally:
            release.join()
