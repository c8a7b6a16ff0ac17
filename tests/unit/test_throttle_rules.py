"""The throttle's rules without a database (saraban.services.throttle): the device cookie,
the leaky bucket and the doubling locks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from saraban.services import throttle
from saraban.storage.models import LoginThrottle

NOW = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)
SECRET = b"k" * 48


def test_a_device_cookie_names_its_account_and_expires() -> None:
    token = throttle.device_token(SECRET, "1352016501", NOW, days=30)
    assert throttle.device_ok(SECRET, "1352016501", token, NOW)
    assert throttle.device_ok(SECRET, "1352016501", token, NOW + timedelta(days=29))
    assert not throttle.device_ok(SECRET, "1352016501", token, NOW + timedelta(days=31))
    assert not throttle.device_ok(SECRET, "1310026101", token, NOW)  # another account
    assert not throttle.device_ok(b"x" * 48, "1352016501", token, NOW)  # another key
    expires, _, mac = token.partition(".")
    later = str(int(expires) + 86400 * 365)
    assert not throttle.device_ok(SECRET, "1352016501", f"{later}.{mac}", NOW)  # extended
    for junk in (None, "", "abc", "1.2.3", "x" * 200):
        assert not throttle.device_ok(SECRET, "1352016501", junk, NOW)


def test_the_account_bucket_fills_and_leaks() -> None:
    bucket = throttle.Bucket(capacity=3, refill_seconds=60)
    row = LoginThrottle(key="login:user:x", failures=0)
    for _ in range(3):
        assert bucket.room(row, NOW) > 0
        bucket.count_failure(row, NOW)
    assert bucket.room(row, NOW) == 0 and row.locked_until == NOW + timedelta(seconds=60)
    assert bucket.room(row, NOW + timedelta(seconds=61)) == 1  # one back a minute later
    assert bucket.room(row, NOW + timedelta(seconds=600)) == 3
    assert bucket.current(row, NOW - timedelta(seconds=5)) == 3  # an earlier clock: no leak


def test_one_client_cannot_empty_the_account_bucket_alone() -> None:
    """A single client is held by its pair budget to about a dozen failures in the first
    quarter hour and then one per lock; the account's bucket (30, one back a minute) holds."""
    pair = throttle.Limit(3, max_lock_seconds=900, forget_seconds=3600)
    bucket = throttle.Bucket(capacity=30, refill_seconds=60)
    pair_row = LoginThrottle(key="p", failures=0)
    account_row = LoginThrottle(key="a", failures=0)
    now = NOW
    for _ in range(24 * 60 * 60):  # a day, second by second, an attempt whenever allowed
        locked = pair_row.locked_until is not None and pair_row.locked_until > now
        if not locked:
            assert bucket.room(account_row, now) > 0
            pair.count_failure(pair_row, now)
            bucket.count_failure(account_row, now)
        now += timedelta(seconds=1)
    assert bucket.current(account_row, now) < 30
