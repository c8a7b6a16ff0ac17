"""Logging in: sessions that live on the server and end when they should, cookies, the login
throttle (no hash for a throttled attempt), e-MVS's credential check, and settings that refuse
an unsafe production start."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from typer.testing import CliRunner

from saraban.cli import app as cli
from saraban.domain.errors import Throttled, Unauthorized
from saraban.services import accounts
from saraban.services.credentials import void
from saraban.services.passwords import Client, hash_work
from saraban.services.sessions import COOKIE_NAME
from saraban.settings import Settings
from saraban.storage.models import utcnow
from saraban.web.app import create_app
from tests.support.service import LAMPANG, STAFF_PASSWORD, World, service_settings


def cookie_header(response) -> str:
    """The session cookie's Set-Cookie (a login also sets the device cookie)."""
    (header,) = [
        v
        for k, v in response.headers.multi_items()
        if k.lower() == "set-cookie" and v.startswith(f"{COOKIE_NAME}=")
    ]
    return header


def test_login_sets_a_server_side_session_cookie(world: World) -> None:
    actor = world.actor()
    response = actor.login(LAMPANG, world.run.passwords[LAMPANG])
    header = cookie_header(response)
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Secure" not in header  # plain http, no trusted proxy saying otherwise
    token = actor.client.cookies[COOKIE_NAME]
    assert actor.me["kind"] == "college" and actor.me["name"] == "วิทยาลัยสารพัดช่างลำปาง"

    with world.engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM login_session")).mappings().all()
    (row,) = rows
    assert row["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in repr(rows)

    again = world.actor()
    again.login(LAMPANG, world.run.passwords[LAMPANG])
    assert again.client.cookies[COOKIE_NAME] != token  # a new session id at every login
    assert again.csrf != actor.csrf

    assert actor.post("/api/logout").status_code == 204
    replayed = world.actor()
    replayed.client.cookies.set(COOKIE_NAME, token)
    assert replayed.get("/api/session").status_code == 401  # revoked on the server
    assert again.get("/api/session").status_code == 200  # the other session lives on


def test_secure_cookie_and_client_address_behind_a_trusted_proxy(world: World) -> None:
    settings = service_settings(world.settings.data_dir, trusted_proxies="10.0.0.0/8")
    app = create_app(settings, world.engine)
    world.app = app
    proxied = world.actor(client=("10.0.0.5", 4000))
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7, 10.0.0.9"}
    response = proxied.client.post(
        "/api/login",
        json={"username": LAMPANG, "password": world.run.passwords[LAMPANG]},
        headers=headers,
    )
    assert response.status_code == 200
    assert "Secure" in cookie_header(response)
    direct = world.actor(client=("198.51.100.1", 4000))
    response = direct.client.post(
        "/api/login",
        json={"username": LAMPANG, "password": world.run.passwords[LAMPANG]},
        headers=headers,  # from an untrusted peer: ignored
    )
    assert "Secure" not in cookie_header(response)
    with world.engine.connect() as conn:
        addresses = conn.execute(text("SELECT address FROM login_session ORDER BY id")).scalars()
        assert list(addresses) == ["203.0.113.7", "198.51.100.1"]

    always = create_app(service_settings(world.settings.data_dir, cookie_secure=True), world.engine)
    world.app = always
    assert "Secure" in cookie_header(world.actor().login(LAMPANG, world.run.passwords[LAMPANG]))


def test_password_reset_deactivation_and_void_end_sessions(world: World) -> None:
    lampang = world.college(staff=("clerk", "deputy"))
    clerk, deputy = lampang.staff["clerk"], lampang.staff["deputy"]

    reset = lampang.account.ok("POST", f"/api/staff/{lampang.ids['clerk']}/password-reset")
    assert clerk.get("/api/inbox").status_code == 401
    world.actor().login(f"anchalee@{LAMPANG}", STAFF_PASSWORD, expect=401)
    fresh = world.actor()
    fresh.login(f"anchalee@{LAMPANG}", reset["initial_password"])
    assert fresh.me["must_change_password"] is True

    lampang.account.ok("PATCH", f"/api/staff/{lampang.ids['deputy']}", json={"active": False})
    assert deputy.get("/api/inbox").status_code == 401
    world.actor().login(f"sompong@{LAMPANG}", STAFF_PASSWORD, expect=401)

    void(world.engine, who="ovec", code=LAMPANG, reason="slip lost")
    assert lampang.account.get("/api/inbox").status_code == 401
    world.actor().login(LAMPANG, world.run.passwords[LAMPANG], expect=401)


def test_idle_and_old_sessions_end(world: World) -> None:
    actor = world.actor()
    actor.login(LAMPANG, world.run.passwords[LAMPANG])
    assert actor.get("/api/session").status_code == 200
    idle = utcnow() - timedelta(minutes=world.settings.session_idle_minutes + 1)
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE login_session SET last_seen_at = :t"), {"t": idle})
    assert actor.get("/api/session").status_code == 401


def test_a_stale_hash_is_replaced_at_login(world: World) -> None:
    def stored() -> str:
        with world.engine.connect() as conn:
            query = (
                "SELECT password_hash FROM credential WHERE college_code = :c AND status = 'live'"
            )
            return conn.execute(text(query), {"c": LAMPANG}).scalar_one()

    made_by_the_mailout = stored()
    assert "m=19456" in made_by_the_mailout
    world.actor().login(LAMPANG, world.run.passwords[LAMPANG])
    assert "m=1024" in stored()  # the service's settings
    world.actor().login(LAMPANG, world.run.passwords[LAMPANG])


def test_a_thousand_bad_logins_compute_a_handful_of_hashes(world: World) -> None:
    actor = world.actor()
    before = hash_work.value
    started = time.monotonic()
    statuses: list[int] = []
    for i in range(1000):
        response = actor.client.post(
            "/api/login", json={"username": f"anchalee@{LAMPANG}", "password": f"guess-{i}"}
        )
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response.headers["Retry-After"]) >= 1
    elapsed = time.monotonic() - started
    hashes = hash_work.value - before
    # 3 free failures, then locks of 1, 2, 4, ... s: one more attempt after each.
    assert hashes <= 3 + math.ceil(math.log2(elapsed + 1)) + 1, (hashes, elapsed)
    assert statuses.count(401) == hashes
    assert statuses.count(429) == 1000 - hashes
    assert statuses[:3] == [401, 401, 401] and 429 in statuses[3:6]
    with world.engine.connect() as conn:
        failed = conn.execute(
            text("SELECT count(*) FROM audit_event WHERE event = 'login_failed'")
        ).scalar_one()
    assert failed == hashes  # every checked attempt is in the audit log; refusals cost nothing


def long_locks(world: World) -> Settings:
    """The world's settings with a first lock of a minute, so that no lock runs out while a
    test looks at it, however slow the machine; the app is rebuilt with them."""
    settings = service_settings(world.settings.data_dir, first_lock_seconds=60)
    world.app = create_app(settings, world.engine)
    return settings


def _concurrent_bad_logins(world: World, settings: Settings, addresses: list[str]) -> list[str]:
    outcomes: list[str] = []

    def attempt(i: int, address: str) -> None:
        try:
            accounts.login(
                world.engine,
                settings,
                username=LAMPANG,
                password=f"wrong-{i}",
                client=Client(address),
            )
        except Throttled:
            outcomes.append("throttled")
        except Unauthorized:
            outcomes.append("wrong")

    threads = [
        threading.Thread(target=attempt, args=(i, address)) for i, address in enumerate(addresses)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_bad_logins_cannot_outrun_the_throttle(world: World) -> None:
    settings = long_locks(world)
    # One client, forty wrong passwords at once: each is in flight on its keys before it is
    # hashed, so only its pair budget's free three get to a hash.
    before = hash_work.value
    outcomes = _concurrent_bad_logins(world, settings, ["192.0.2.1"] * 40)
    assert hash_work.value - before == outcomes.count("wrong") == 3
    assert outcomes.count("throttled") == 37
    # Forty clients at once: each has a pair budget of its own, but the account-wide budget
    # bounds them all (the 39 others have 39 × 3 free failures, the account 30 in all).
    before = hash_work.value
    many = _concurrent_bad_logins(world, settings, [f"192.0.2.{i}" for i in range(2, 42)])
    hashes = hash_work.value - before
    assert hashes == many.count("wrong") == settings.account_burst_failures - 3
    assert many.count("throttled") == 40 - hashes


def test_one_address_trying_many_accounts_is_throttled(world: World) -> None:
    long_locks(world)
    actor = world.actor()
    for i in range(world.settings.address_free_failures):
        actor.login(f"user{i}", "password-x", expect=401)
    response = actor.client.post(
        "/api/login", json={"username": LAMPANG, "password": world.run.passwords[LAMPANG]}
    )
    assert response.status_code == 429  # even a right password, from this address, for now
    elsewhere = world.actor(client=("192.0.2.10", 1))
    elsewhere.login(LAMPANG, world.run.passwords[LAMPANG])


def test_emvs_checks_a_credential_under_a_throttle_of_its_own(world: World) -> None:
    long_locks(world)
    emvs = world.actor()
    right = {"code": LAMPANG, "password": world.run.passwords[LAMPANG]}
    assert emvs.ok("POST", "/api/credentials/verify", json=right) == {"valid": True}
    thai_digits = {**right, "code": LAMPANG.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))}
    assert emvs.ok("POST", "/api/credentials/verify", json=thai_digits) == {"valid": True}
    for _ in range(3):
        wrong = {"code": LAMPANG, "password": "nope-nope"}
        assert emvs.ok("POST", "/api/credentials/verify", json=wrong) == {"valid": False}
    throttled = emvs.client.post("/api/credentials/verify", json=right)
    assert throttled.status_code == 429 and "Retry-After" in throttled.headers
    # e-MVS's budgets are its own: its failures lock no one out of the web, not even from
    # e-MVS's own address.
    for client in [("192.0.2.20", 1), ("testclient", 50000)]:
        login = world.actor(client=client).client.post(
            "/api/login", json={"username": LAMPANG, "password": world.run.passwords[LAMPANG]}
        )
        assert login.status_code == 200, login.text
    staff = {"code": f"anchalee@{LAMPANG}", "password": STAFF_PASSWORD}
    assert world.actor(client=("192.0.2.30", 1)).ok(
        "POST", "/api/credentials/verify", json=staff
    ) == {"valid": False}  # only colleges' credentials


def test_unknown_usernames_cost_a_hash_like_known_ones(world: World) -> None:
    before = hash_work.value
    world.actor().login("nobody@1352016501", "whatever-1", expect=401)
    assert hash_work.value - before == 1


@pytest.mark.parametrize("secret", [None, "changethis", "short-but-not-a-placeholder", "change-me"])
def test_production_refuses_a_default_or_missing_secret(secret: str | None) -> None:
    with pytest.raises(ValidationError, match="SARABAN_SECRET_KEY"):
        Settings(env="production", secret_key=secret)


def test_production_starts_with_a_real_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SARABAN_ENV", "production")
    # A key drawn at random (``"k" * 48``, used here before, is now refused: issue #14).
    key = "Zq3v7Jm0xK_Lr2Yt9bWn4Hc8sDf1GpE6aUo5iTe-NyRk"
    monkeypatch.setenv("SARABAN_SECRET_KEY", key)
    monkeypatch.setenv("SARABAN_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")
    settings = Settings()
    assert settings.secret == key.encode()
    assert [str(n) for n in settings.proxy_networks()] == ["127.0.0.1/32", "10.0.0.0/8"]


def test_serve_refuses_to_start_in_production_without_a_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SARABAN_ENV", "production")
    monkeypatch.delenv("SARABAN_SECRET_KEY", raising=False)
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "SARABAN_SECRET_KEY must be set in production" in result.output
