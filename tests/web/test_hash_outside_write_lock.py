"""No password is hashed while a write transaction is open: on SQLite a write transaction
holds the database's one write lock, and every other writer (a login, a session's touch)
would wait for the hash. Creating a member of staff and resetting their password hash first,
then write (the transactions are watched as they begin: the hash is already counted)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event

from saraban.services.passwords import hash_work
from saraban.storage.engine import SQLITE_IMMEDIATE
from tests.support.service import SEED_STAFF, World


@contextmanager
def write_transactions(engine: Engine) -> Iterator[list[int]]:
    """The hash count when each write transaction (the requests' own) began."""
    seen: list[int] = []

    def began(conn: Any) -> None:
        if conn.get_execution_options().get(SQLITE_IMMEDIATE):
            seen.append(hash_work.value)

    event.listen(engine, "begin", began)
    try:
        yield seen
    finally:
        event.remove(engine, "begin", began)


def test_staff_passwords_are_hashed_before_the_write_transaction(world: World) -> None:
    college = world.college()
    before = hash_work.value
    with write_transactions(world.engine) as began:
        created = college.account.ok("POST", "/api/staff", 201, json=SEED_STAFF["clerk"])
    assert hash_work.value == before + 1
    assert began and all(count == before + 1 for count in began), (before, began)
    staff_id = created["staff"]["id"]
    before = hash_work.value
    with write_transactions(world.engine) as began:
        college.account.ok("POST", f"/api/staff/{staff_id}/password-reset")
    assert hash_work.value == before + 1
    assert began and all(count == before + 1 for count in began), (before, began)
