"""The login throttle's sweep (saraban.services.throttle.sweep): rows that hold nothing any
more go, so that rotating usernames and addresses cannot grow the table without bound; a row
that still locks, counts or has an attempt in flight stays."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func
from sqlmodel import select

from saraban.services import credentials, passwords, throttle
from saraban.services.passwords import Client
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.storage.models import LoginThrottle, utcnow

SETTINGS = Settings()


def rules_of(username: str, address: str) -> dict[str, throttle.Rule]:
    return passwords.limits_for(SETTINGS, username, address).rules


def fail(engine: Engine, username: str, address: str, now: datetime) -> None:
    """One wrong attempt, as the service makes it: admitted, then counted a failure."""
    rules = rules_of(username, address)
    with session_scope(engine, immediate=True) as session:
        assert throttle.reserve(session, rules, now).admitted
    with session_scope(engine, immediate=True) as session:
        throttle.failed(session, rules, now)


def sweep(engine: Engine, now: datetime, cursor: throttle.SweepCursor, batch: int = 500) -> int:
    with session_scope(engine, immediate=True) as session:
        return throttle.sweep(
            session,
            lambda key: passwords.rule_of_key(SETTINGS, key),
            now,
            cursor,
            batch=batch,
        )


def keys(engine: Engine) -> set[str]:
    with session_scope(engine) as session:
        return set(session.exec(select(LoginThrottle.key)))


def count(engine: Engine) -> int:
    with session_scope(engine) as session:
        return session.exec(select(func.count()).select_from(LoginThrottle)).one()


def test_rows_of_past_attempts_are_swept_once_they_hold_nothing(engine: Engine) -> None:
    now = utcnow()
    for i in range(40):  # an attacker rotating usernames and addresses
        fail(engine, f"guess{i}", f"203.0.113.{i}", now)
    assert count(engine) == 40 * 6  # pair, address, account; each with its in-flight row
    cursor = throttle.SweepCursor()
    # Half a minute on: nothing in flight any more, but every failure still counts.
    assert sweep(engine, now + timedelta(seconds=30), cursor) == 40 * 3
    assert not any(key.endswith(throttle.BUSY) for key in keys(engine))
    # The account buckets have leaked (one failure, back after a minute); the pair and
    # address budgets forget their failures after forget_failures_seconds.
    gone = sweep(engine, now + timedelta(minutes=2), cursor)
    assert gone == 40 and not any(":user:" in key for key in keys(engine))
    later = now + timedelta(seconds=SETTINGS.forget_failures_seconds - 1)
    assert sweep(engine, later, cursor) == 0
    later = now + timedelta(seconds=SETTINGS.forget_failures_seconds + 1)
    assert sweep(engine, later, cursor) == 80
    assert count(engine) == 0
    # A swept key starts afresh, exactly as if it had never been tried.
    fail(engine, "guess0", "203.0.113.0", later)
    with session_scope(engine) as session:
        row = session.get(LoginThrottle, throttle.pair_key("login", "guess0", "203.0.113.0"))
        assert row is not None and row.failures == 1


def test_a_live_lock_survives_the_sweep(engine: Engine) -> None:
    now = utcnow()
    for step in range(8):  # past the free failures: locks doubling towards max_lock_seconds
        now += timedelta(seconds=2**step)
        fail(engine, "1352016501", "198.51.100.7", now)
    rules = rules_of("1352016501", "198.51.100.7")
    pair = throttle.pair_key("login", "1352016501", "198.51.100.7")
    with session_scope(engine) as session:
        locked_until = session.get(LoginThrottle, pair).locked_until  # type: ignore[union-attr]
        wait = throttle.locked_for(session, rules, now)
    assert locked_until is not None and wait is not None
    # A second before the lock ends:
    within = locked_until - timedelta(seconds=1)
    cursor = throttle.SweepCursor()
    sweep(engine, within, cursor)
    assert pair in keys(engine)
    with session_scope(engine) as session:
        assert throttle.locked_for(session, rules, within) is not None  # not reset by a sweep
        assert not throttle.reserve(session, rules, within).admitted


def test_an_attempt_in_flight_and_counted_failures_survive(engine: Engine) -> None:
    now = utcnow()
    rules = rules_of("ovec.clerk", "192.0.2.1")
    with session_scope(engine, immediate=True) as session:
        assert throttle.reserve(session, rules, now).admitted  # hashing, no verdict yet
    cursor = throttle.SweepCursor()
    sweep(engine, now + timedelta(seconds=5), cursor)
    busy = {key + throttle.BUSY for key in rules}
    assert busy <= keys(engine)
    # Two failures on the pair budget: not locked (three are free) but counted.
    fail(engine, "ovec.clerk", "192.0.2.2", now)
    fail(engine, "ovec.clerk", "192.0.2.2", now)
    sweep(engine, now + timedelta(minutes=30), cursor)
    assert throttle.pair_key("login", "ovec.clerk", "192.0.2.2") in keys(engine)
    # An in-flight count never released (a process killed mid-hash) is stale after a minute.
    sweep(engine, now + timedelta(seconds=throttle.STALE_SECONDS + 1), cursor)
    assert not busy & keys(engine)


def test_a_key_of_no_known_rule_is_never_swept(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(LoginThrottle(key="legacy-key", failures=0))
    sweep(engine, utcnow() + timedelta(days=30), throttle.SweepCursor())
    assert keys(engine) == {"legacy-key"}


def test_the_sweep_is_bounded_and_walks_the_whole_table(engine: Engine) -> None:
    now = utcnow()
    for i in range(18):  # within the address's free failures
        fail(engine, f"user{i:02d}", "203.0.113.9", now)
    total = count(engine)  # 18 pairs and accounts, one address: each with its in-flight row
    assert total == (18 + 18 + 1) * 2
    later = now + timedelta(seconds=SETTINGS.forget_failures_seconds + 1)
    cursor = throttle.SweepCursor()
    sweeps = 0
    while count(engine):
        assert sweep(engine, later, cursor, batch=10) <= 10
        sweeps += 1
    # Each sweep reads the next ten keys from where the last stopped: one sweep per ten rows.
    assert sweeps == -(-total // 10)


@pytest.mark.parametrize("every", [1, 3])
def test_every_nth_attempt_sweeps(engine: Engine, every: int) -> None:
    cursor = throttle.SweepCursor(every)
    assert [cursor.due() for _ in range(6)] == [(i + 1) % every == 0 for i in range(6)]


def test_checks_of_passwords_sweep_as_they_go(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the service: e-MVS's checks of unknown codes leave rows that a later attempt's
    sweep removes once they hold nothing (failures forgotten after a second here)."""
    settings = Settings(forget_failures_seconds=1, account_refill_seconds=1)
    monkeypatch.setattr(passwords, "sweep_cursor", throttle.SweepCursor(every=1))
    for i in range(3):
        client = Client(f"203.0.113.{i}")
        verdict = credentials.verify(
            engine, settings, code=f"99999999{i:02d}", password="x", client=client
        )
        assert not verdict.ok
    assert count(engine) >= 3 * 3  # failures that still count
    time.sleep(2.1)
    credentials.verify(engine, settings, code="9999999999", password="x")
    # All that is left: the last attempt's own rows.
    left = keys(engine)
    assert left and all("9999999999" in key or ":addr:" in key for key in left)
    assert not any("99999999" + f"{i:02d}" in key for i in range(3) for key in left)


def test_sweeps_running_beside_attempts_lose_no_failure(engine: Engine) -> None:
    """Sweeps delete the in-flight rows that attempts release meanwhile (and rows an attempt
    is about to lock); every attempt still counts its failure on every key."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def sweeper() -> None:
        cursor = throttle.SweepCursor()
        while not stop.is_set():
            try:
                sweep(engine, utcnow(), cursor, batch=20)
            except BaseException as exc:
                errors.append(exc)
                return

    def attacker(n: int) -> None:
        try:
            for i in range(15):
                fail(engine, f"t{n}-u{i}", f"203.0.113.{n}", utcnow())
        except BaseException as exc:
            errors.append(exc)

    sweeping = threading.Thread(target=sweeper)
    sweeping.start()
    attackers = [threading.Thread(target=attacker, args=(n,)) for n in range(4)]
    for thread in attackers:
        thread.start()
    for thread in attackers:
        thread.join()
    stop.set()
    sweeping.join()
    assert not errors, errors
    with session_scope(engine) as session:
        for n in range(4):
            row = session.get(LoginThrottle, throttle.address_key("login", f"203.0.113.{n}"))
            assert row is not None and row.failures == 15
            for i in range(15):
                pair = session.get(
                    LoginThrottle, throttle.pair_key("login", f"t{n}-u{i}", f"203.0.113.{n}")
                )
                assert pair is not None and pair.failures == 1
