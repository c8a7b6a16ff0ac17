"""Storage layer: migrations, engine setup, colleges, batches, credentials.

Runs on SQLite and PostgreSQL (see ``conftest.engine``).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import Session, SQLModel, select

from saraban.storage import store
from saraban.storage.engine import (
    alembic_config,
    database_url,
    make_engine,
    saraban_object,
    session_scope,
    upgrade_schema,
)
from saraban.storage.models import (
    BatchKind,
    BatchState,
    College,
    CollegeCreate,
    CollegePublic,
    Credential,
    CredentialPublic,
    CredentialStatus,
)
from tests.support.waiting import run_together, watched

_hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
_counter = itertools.count()


def phc() -> str:
    """A real (cheap) argon2id PHC string for a throwaway password."""
    return _hasher.hash(f"not-a-real-password-{next(_counter)}")


def college(code: str, **over: str) -> CollegeCreate:
    data = {
        "code": code,
        "name": f"วิทยาลัยเทคนิค {code}",
        "province": "เชียงใหม่",
        "email": "director@example.ac.th",
        "director_title": "ผู้อำนวยการวิทยาลัยเทคนิค",
    }
    data.update(over)
    return CollegeCreate(**data)


A, B, C = "1350100001", "1350100002", "1350100003"


@pytest.fixture
def colleges(engine: Engine) -> list[str]:
    with session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(A), college(B), college(C)])
    return [A, B, C]


def count(session: Session, model: type[SQLModel]) -> int:
    return len(session.exec(select(model)).all())


# --------------------------------------------------------------------------- #
# Migrations and engine
# --------------------------------------------------------------------------- #


def test_migrated_to_head(engine: Engine) -> None:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == tuple(heads)
        tables = set(inspect(conn).get_table_names())
    assert {"college", "credential", "issue_batch", "alembic_version"} <= tables


def _schema(engine: Engine) -> dict[str, object]:
    """The revision, and every table's columns, indexes, keys and checks, as reflected."""
    with engine.connect() as conn:
        found = inspect(conn)
        return {
            "heads": MigrationContext.configure(conn).get_current_heads(),
            **{
                table: (
                    [(c["name"], str(c["type"]), c["nullable"]) for c in found.get_columns(table)],
                    sorted(i["name"] for i in found.get_indexes(table)),
                    sorted(str(k["name"]) for k in found.get_foreign_keys(table)),
                    sorted(str(c["name"]) for c in found.get_check_constraints(table)),
                )
                for table in found.get_table_names()
            },
        }


def test_upgrade_is_idempotent(engine: Engine) -> None:
    """Upgrading a database already at head changes neither its schema nor its rows."""
    with session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(A), college(B)])
    schema = _schema(engine)
    assert schema["heads"] == tuple(ScriptDirectory.from_config(alembic_config()).get_heads())
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT * FROM college ORDER BY code")).all()
    upgrade_schema(engine)
    upgrade_schema(engine)
    assert _schema(engine) == schema
    with engine.connect() as conn:
        assert conn.execute(text("SELECT * FROM college ORDER BY code")).all() == rows


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    cfg = alembic_config(engine.url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    upgrade_schema(engine)
    with engine.connect() as conn:
        assert "credential" in inspect(conn).get_table_names()


def test_models_match_migrations(engine: Engine) -> None:
    """`alembic check`: no drift between SQLModel.metadata and the migrations."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": True,
                "include_object": saraban_object,  # not procrastinate's tables
            },
        )
        diffs = compare_metadata(ctx, SQLModel.metadata)
    assert diffs == []

    cfg = alembic_config(engine.url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.check(cfg)  # raises AutoGenerateDiffsDetected on drift


def _migrate(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def test_0005_keeps_mailouts_and_leaves_the_new_fields_unknown(engine: Engine) -> None:
    """0005 adds ``mailout.letter_date`` and ``mailout_item.letter_pages`` (NULL for mailouts
    made before) and indexes ``mailout_item.college_code``; down again, the rows stay."""
    _migrate(engine, "0004")
    now = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO college (code, name, province, email, director_title,"
                " created_at, updated_at) VALUES (:c, 'ว', 'ลำปาง', 'a@b.th', 'ผอ.', :t, :t)"
            ),
            {"c": A, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mailout (id, name, folder, out_dir, fingerprint, kind, subject,"
                " token, state, created_at, created_by) VALUES (7, 'm', '/f', '/o', :fp,"
                " 'circular', 'เรื่อง', 'tok', 'finished', :t, 'clerk')"
            ),
            {"fp": "0" * 64, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mailout_item (id, mailout_id, college_code, file_name, state, pages)"
                " VALUES (3, 7, :c, 'a.pdf', 'issued', 5)"
            ),
            {"c": A},
        )
    _migrate(engine, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name, letter_date FROM mailout")).all() == [("m", None)]
        items = conn.execute(text("SELECT pages, letter_pages FROM mailout_item")).all()
        assert items == [(5, None)]
        indexes = {i["name"]: i["column_names"] for i in inspect(conn).get_indexes("mailout_item")}
    assert indexes["ix_mailout_item_college_code"] == ["college_code"]
    with session_scope(engine) as s:
        s.execute(text("UPDATE mailout SET letter_date = :d"), {"d": now.date()})
        s.execute(text("UPDATE mailout_item SET letter_pages = 2"))
    _migrate(engine, "0004")
    with engine.connect() as conn:
        assert "letter_date" not in {c["name"] for c in inspect(conn).get_columns("mailout")}
        assert "letter_pages" not in {c["name"] for c in inspect(conn).get_columns("mailout_item")}
        assert conn.execute(text("SELECT id, pages FROM mailout_item")).all() == [(3, 5)]
    upgrade_schema(engine)


def _dispatch_row(conn: sa.Connection, entry_id: int, number: int, mailout_id: object) -> None:
    conn.execute(
        text(
            "INSERT INTO dispatch_entry (id, register, kind, year_be, number, reference, dated,"
            " subject, recipients, owning_unit, mailout_id, status, created_at, created_by)"
            " VALUES (:id, 'สอศ.', 'external', 2569, :n, :ref, '2026-04-10', 'เรื่อง', 'ผอ.',"
            " 'สนผ.', :m, 'issued', :t, 'clerk')"
        ),
        {
            "id": entry_id,
            "n": number,
            "ref": f"ศธ 0603/{number}",
            "m": mailout_id,
            "t": datetime(2026, 4, 10, 2, 0, tzinfo=UTC),
        },
    )


def _mailout_row(conn: sa.Connection, mailout_id: int) -> None:
    conn.execute(
        text(
            "INSERT INTO mailout (id, name, folder, out_dir, fingerprint, kind, subject,"
            " token, state, created_at, created_by) VALUES (:id, :name, '/f', '/o', :fp,"
            " 'external', 'เรื่อง', :token, 'finished', :t, 'clerk')"
        ),
        {
            "id": mailout_id,
            "name": f"m{mailout_id}",
            "fp": "0" * 64,
            "token": f"tok{mailout_id}",
            "t": datetime(2026, 4, 10, 2, 0, tzinfo=UTC),
        },
    )


def test_0006_turns_dispatch_mailout_ids_into_a_foreign_key(engine: Engine) -> None:
    """0006: ``dispatch_entry.mailout_id`` was text holding the mailout's id; it becomes an
    integer foreign key with every value kept, on SQLite (batch) and PostgreSQL; down again,
    the values are text once more."""
    _migrate(engine, "0005")
    with engine.begin() as conn:
        _mailout_row(conn, 7)
        _mailout_row(conn, 12)
        _dispatch_row(conn, 1, 1, "7")
        _dispatch_row(conn, 2, 2, "12")
        _dispatch_row(conn, 3, 3, None)
    _migrate(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, mailout_id FROM dispatch_entry ORDER BY id")).all()
        found = inspect(conn)
        columns = {c["name"]: c for c in found.get_columns("dispatch_entry")}
        keys = found.get_foreign_keys("dispatch_entry")
        indexes = {i["name"]: i["column_names"] for i in found.get_indexes("dispatch_entry")}
    assert rows == [(1, 7), (2, 12), (3, None)]
    assert isinstance(columns["mailout_id"]["type"], sa.Integer)
    assert [(k["name"], k["constrained_columns"], k["referred_table"]) for k in keys] == [
        ("fk_dispatch_entry_mailout_id_mailout", ["mailout_id"], "mailout")
    ]
    assert indexes["ix_dispatch_entry_mailout_id"] == ["mailout_id"]
    with pytest.raises(IntegrityError), engine.begin() as conn:  # the key holds
        _dispatch_row(conn, 4, 4, 99)
    with engine.connect() as conn:  # the other constraints came through the rebuild
        assert conn.execute(text("SELECT count(*) FROM dispatch_entry")).scalar_one() == 3
    with pytest.raises(IntegrityError), engine.begin() as conn:
        _dispatch_row(conn, 5, 1, 7)  # number 1 of the year is taken
    _migrate(engine, "0005")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, mailout_id FROM dispatch_entry ORDER BY id")).all()
        assert inspect(conn).get_foreign_keys("dispatch_entry") == []
    assert rows == [(1, "7"), (2, "12"), (3, None)]
    upgrade_schema(engine)


def test_0006_refuses_a_mailout_id_that_names_no_mailout(engine: Engine) -> None:
    """Text that is no mailout's id stops the upgrade, naming the row; nothing changes."""
    _migrate(engine, "0005")
    with engine.begin() as conn:
        _mailout_row(conn, 7)
        _dispatch_row(conn, 1, 1, "7")
        _dispatch_row(conn, 2, 2, "mailout-1")
    with pytest.raises(RuntimeError, match=r"2 \('mailout-1'\)"):
        _migrate(engine, "head")
    with engine.connect() as conn:
        assert MigrationContext.configure(conn).get_current_heads() == ("0005",)
        rows = conn.execute(text("SELECT id, mailout_id FROM dispatch_entry ORDER BY id")).all()
    assert rows == [(1, "7"), (2, "mailout-1")]


def _norm_sql(sql: object) -> str:
    """Normalise reflected SQL fragments for comparison (PG adds casts and parens)."""
    return "".join(str(sql).replace("::text", "").replace("(", "").replace(")", "").split()).lower()


def test_constraints_and_partial_indexes_match_migrations(engine: Engine) -> None:
    """What alembic's comparison does not cover: CHECK constraint names and the
    WHERE clause of partial indexes."""
    dialect = engine.dialect.name
    with engine.connect() as conn:
        insp = inspect(conn)
        for table in SQLModel.metadata.sorted_tables:
            declared_checks = {
                c.name for c in table.constraints if isinstance(c, sa.CheckConstraint)
            }
            reflected_checks = {c["name"] for c in insp.get_check_constraints(table.name)}
            assert reflected_checks == declared_checks, table.name

            reflected = {i["name"]: i for i in insp.get_indexes(table.name)}
            for index in table.indexes:
                where = index.dialect_options[dialect].get("where")
                got = reflected[index.name].get("dialect_options", {}).get(f"{dialect}_where")
                assert (got is None) == (where is None), index.name
                if where is not None:
                    assert _norm_sql(got) == _norm_sql(where), index.name


def test_upgrade_schema_from_url(db_url: str) -> None:
    upgrade_schema(db_url)
    eng = make_engine(db_url)
    try:
        with eng.connect() as conn:
            assert "credential" in inspect(conn).get_table_names()
    finally:
        eng.dispose()


def test_sqlite_pragmas(tmp_path) -> None:
    eng = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        with eng.connect() as conn:
            pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
            assert pragma("journal_mode") == "wal"
            assert pragma("foreign_keys") == 1
            assert pragma("busy_timeout") == 30000
            assert pragma("synchronous") == 1  # NORMAL
    finally:
        eng.dispose()


def test_foreign_keys_enforced(session: Session) -> None:
    """Both backends refuse a credential for a college that does not exist."""
    session.add(
        Credential(
            college_code="9999999999",
            password_hash=phc(),
            issued_by="test",
            issued_at=datetime.now(UTC),
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_foreign_keys_back_on_after_migrating(engine: Engine) -> None:
    upgrade_schema(engine)  # reuses pooled connections
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_database_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SARABAN_DB", raising=False)
    assert database_url() == "sqlite:///./saraban.db"
    monkeypatch.setenv("SARABAN_DB", "/var/lib/saraban/s.db")
    assert database_url() == "sqlite:////var/lib/saraban/s.db"
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p%40ss@db:5432/saraban")
    assert database_url() == "postgresql+psycopg://u:p%40ss@db:5432/saraban"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://u@db/saraban")
    assert database_url() == "postgresql+psycopg://u@db/saraban"


def test_session_scope_commits_and_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(A)])
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(B)])
        raise RuntimeError("boom")
    with session_scope(engine) as s:
        assert [c.code for c in s.exec(select(College))] == [A]


def test_timestamps_are_aware_utc(engine: Engine) -> None:
    bangkok = timezone(timedelta(hours=7))
    local = datetime(2026, 1, 15, 9, 30, tzinfo=bangkok)
    with session_scope(engine) as s:
        s.add(College.model_validate(college(A), update={"created_at": local, "updated_at": local}))
    with session_scope(engine) as s:
        got = s.get(College, A)
        assert got is not None
        assert got.created_at == local
        assert got.created_at.utcoffset() == timedelta(0)
        assert got.created_at.hour == 2


def test_naive_timestamps_rejected(session: Session) -> None:
    naive = datetime(2026, 1, 15, 9, 30)
    session.add(College.model_validate(college(A), update={"created_at": naive}))
    with pytest.raises(StatementError, match="naive datetime"):
        session.flush()


# --------------------------------------------------------------------------- #
# Colleges
# --------------------------------------------------------------------------- #


def test_college_validation() -> None:
    c = college(" ๑๓๕๐๑๐๐๐๐๑ ", name="  วิทยาลัยเทคนิคเชียงใหม่ ")
    assert c.code == A
    assert c.name == "วิทยาลัยเทคนิคเชียงใหม่"
    for bad in ("135010000", "13501000011", "13501O0001", ""):
        with pytest.raises(ValueError, match="10 digits"):
            college(bad)
    with pytest.raises(ValueError, match="e-mail"):
        college(A, email="not-an-email")


def test_import_creates_updates_and_leaves_unchanged(engine: Engine) -> None:
    with session_scope(engine) as s:
        first = store.import_colleges(session=s, colleges=[college(A), college(B)])
    assert first == store.ImportResult(created=(A, B))
    with session_scope(engine) as s:
        before = {c.code: c for c in s.exec(select(College))}

    with session_scope(engine) as s:
        second = store.import_colleges(
            session=s,
            colleges=[
                college(A),  # unchanged
                {**college(B).model_dump(), "email": "new@example.ac.th"},  # mapping, updated
                college(C),  # new
            ],
        )
    assert second == store.ImportResult(created=(C,), updated=(B,), unchanged=(A,))
    assert str(second) == "1 created, 1 updated, 1 unchanged"

    with session_scope(engine) as s:
        after = {c.code: c for c in s.exec(select(College))}
    assert set(after) == {A, B, C}
    assert after[B].email == "new@example.ac.th"
    assert after[B].created_at == before[B].created_at
    assert after[B].updated_at > before[B].updated_at
    assert after[A].updated_at == before[A].updated_at
    assert CollegePublic.model_validate(after[B]).email == "new@example.ac.th"


@dataclass(frozen=True)
class RosterRow:
    """Shaped like saraban.domain.roster.College: optional fields may be blank."""

    code: str
    name: str
    province: str = ""
    email: str = ""
    director_title: str = ""


def test_import_accepts_objects_with_blank_optional_fields(engine: Engine) -> None:
    decomposed = "วิทยาลัยเทคนิค Cafe\u0301"  # e + combining acute
    with session_scope(engine) as s:
        result = store.import_colleges(
            session=s, colleges=[RosterRow(A, decomposed), RosterRow(B, "ข", email=" ")]
        )
    assert result.created == (A, B)
    with session_scope(engine) as s:
        a = s.get(College, A)
        assert a is not None
        assert a.name == "วิทยาลัยเทคนิค Caf\u00e9"
        assert (a.province, a.email, a.director_title) == (None, None, None)
        again = store.import_colleges(session=s, colleges=[RosterRow(A, decomposed)])
    assert again.unchanged == (A,)


def test_failed_import_leaves_nothing(engine: Engine) -> None:
    bad = {**college(B).model_dump(), "email": "nope"}
    with pytest.raises(store.InvalidCollege) as info, session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(A), bad, college(C)])
    assert info.value.index == 1
    assert info.value.code == B

    with pytest.raises(store.DuplicateCollege), session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(A), college(A, name="อื่น")])

    # A later failure in the same transaction undoes a successful import.
    with pytest.raises(store.UnknownCollege), session_scope(engine) as s:
        store.import_colleges(session=s, colleges=[college(A), college(B)])
        store.store_credentials(
            session=s, batch_id=None, issued_by="t", hashes={A: phc(), "1111111111": phc()}
        )

    with session_scope(engine) as s:
        assert count(s, College) == 0
        assert count(s, Credential) == 0


# --------------------------------------------------------------------------- #
# Credentials
# --------------------------------------------------------------------------- #


def test_one_live_credential_enforced_by_database(session: Session, colleges: list[str]) -> None:
    now = datetime.now(UTC)
    session.add(Credential(college_code=A, password_hash=phc(), issued_by="t", issued_at=now))
    session.flush()
    # Void ones may pile up next to the live one ...
    for _ in range(2):
        session.add(
            Credential(
                college_code=A,
                password_hash=phc(),
                status=CredentialStatus.VOID,
                issued_by="t",
                issued_at=now,
                voided_at=now,
                voided_by="t",
                void_reason="test",
            )
        )
        session.flush()
    # ... another college may have its own live one ...
    session.add(Credential(college_code=B, password_hash=phc(), issued_by="t", issued_at=now))
    session.flush()
    # ... but a second live one for A is refused by the unique partial index.
    session.add(Credential(college_code=A, password_hash=phc(), issued_by="t", issued_at=now))
    with pytest.raises(IntegrityError):
        session.flush()


def test_partial_unique_index_in_schema(engine: Engine) -> None:
    with engine.connect() as conn:
        indexes = {i["name"]: i for i in inspect(conn).get_indexes("credential")}
    live = indexes["uq_credential_live_college"]
    assert live["unique"]
    assert live["column_names"] == ["college_code"]
    where = live.get("dialect_options", {}).get(f"{engine.dialect.name}_where")
    assert where is not None and "live" in str(where)


def test_database_rejects_non_argon2_hash(session: Session, colleges: list[str]) -> None:
    session.add(
        Credential(
            college_code=A, password_hash="hunter2", issued_by="t", issued_at=datetime.now(UTC)
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_database_requires_void_details(session: Session, colleges: list[str]) -> None:
    now = datetime.now(UTC)
    session.add(
        Credential(
            college_code=A,
            password_hash=phc(),
            status=CredentialStatus.VOID,
            issued_by="t",
            issued_at=now,
        )
    )
    with pytest.raises(IntegrityError):
        session.flush()


def test_store_credentials(engine: Engine, colleges: list[str]) -> None:
    hashes = {A: phc(), B: phc()}
    with session_scope(engine) as s:
        batch = store.create_batch(
            session=s, created_by="admin", kind=BatchKind.ISSUE, slips_path="/srv/slips/b1.pdf"
        )
        stored = store.store_credentials(
            session=s, batch_id=batch.id, issued_by="admin", hashes=hashes
        )
        assert [c.college_code for c in stored] == [A, B]
        store.commit_batch(session=s, batch_id=batch.id)

    with session_scope(engine) as s:
        live = store.live_credential(session=s, code=A)
        assert live is not None
        assert live.password_hash == hashes[A]
        assert live.status == CredentialStatus.LIVE
        assert live.batch_id == batch.id
        assert live.issued_by == "admin"
        assert live.issued_at.tzinfo is not None
        public = CredentialPublic.model_validate(live)
        assert "password_hash" not in public.model_dump()
        assert [c.code for c in store.colleges_without_live_credential(session=s)] == [C]
        assert store.colleges_without_live_credential(session=s, codes=[A, B]) == []
        with pytest.raises(store.UnknownCollege):
            store.colleges_without_live_credential(session=s, codes=[C, "1111111111"])
        in_batch = store.credentials_in_batch(session=s, batch_id=batch.id)
        assert [c.college_code for c in in_batch] == [A, B]
        got = s.get(type(batch), batch.id)
        assert got is not None and got.state == BatchState.COMMITTED
        with pytest.raises(store.BatchStateError):
            store.commit_batch(session=s, batch_id=batch.id)


def test_store_credentials_conflict_names_code_and_is_atomic(
    engine: Engine, colleges: list[str]
) -> None:
    with session_scope(engine) as s:
        store.store_credentials(session=s, batch_id=None, issued_by="t", hashes={B: phc()})

    with session_scope(engine) as s:
        with pytest.raises(store.CredentialConflict, match=B) as info:
            store.store_credentials(
                session=s, batch_id=None, issued_by="t", hashes={A: phc(), B: phc(), C: phc()}
            )
        assert info.value.code == B
        assert isinstance(info.value.__cause__, IntegrityError)
        # The caller's transaction survives; none of the refused call's rows remain.
        assert store.live_credential(session=s, code=A) is None
        store.store_credentials(session=s, batch_id=None, issued_by="t", hashes={C: phc()})

    with session_scope(engine) as s:
        assert [c.code for c in store.colleges_without_live_credential(session=s)] == [A]
        assert count(s, Credential) == 2


def test_store_credentials_rejects_bad_input(session: Session, colleges: list[str]) -> None:
    with pytest.raises(ValueError, match="argon2"):
        store.store_credentials(
            session=session, batch_id=None, issued_by="t", hashes={A: "plaintext-password"}
        )
    with pytest.raises(store.UnknownBatch):
        store.store_credentials(session=session, batch_id="nope", issued_by="t", hashes={A: phc()})
    with pytest.raises(store.UnknownCollege, match="1111111111"):
        store.store_credentials(
            session=session, batch_id=None, issued_by="t", hashes={"1111111111": phc()}
        )
    with pytest.raises(ValueError, match="issued_by"):
        store.store_credentials(session=session, batch_id=None, issued_by=" ", hashes={A: phc()})
    assert count(session, Credential) == 0


def test_void_records_who_when_why(engine: Engine, colleges: list[str]) -> None:
    with session_scope(engine) as s:
        store.store_credentials(session=s, batch_id=None, issued_by="admin", hashes={A: phc()})
    before = datetime.now(UTC)
    with session_scope(engine) as s:
        voided = store.void_credential(session=s, code=A, by="auditor", reason="slip lost")
    after = datetime.now(UTC)

    with session_scope(engine) as s:
        assert store.live_credential(session=s, code=A) is None
        (row,) = store.credential_history(session=s, code=A)
        assert row.id == voided.id
        assert row.status == CredentialStatus.VOID
        assert row.voided_by == "auditor"
        assert row.void_reason == "slip lost"
        assert row.voided_at is not None and before <= row.voided_at <= after
        with pytest.raises(store.NoLiveCredential, match=A):
            store.void_credential(session=s, code=A, by="auditor", reason="again")
        with pytest.raises(store.NoLiveCredential):
            store.void_credential(session=s, code=B, by="auditor", reason="never issued")
        with pytest.raises(ValueError, match="reason"):
            store.void_credential(session=s, code=A, by="auditor", reason="")


def test_reissue_voids_and_issues_in_one_transaction(engine: Engine, colleges: list[str]) -> None:
    old_hash, new_hash = phc(), phc()
    with session_scope(engine) as s:
        store.store_credentials(session=s, batch_id=None, issued_by="admin", hashes={A: old_hash})

    with session_scope(engine) as s:
        batch = store.create_batch(
            session=s, created_by="admin", kind="reissue", slips_path="/srv/slips/r1.pdf"
        )
        new = store.reissue_credential(
            session=s,
            code=A,
            password_hash=new_hash,
            by="officer",
            reason="director changed",
            batch_id=batch.id,
        )
        assert new.status == CredentialStatus.LIVE

    with session_scope(engine) as s:
        old, cur = store.credential_history(session=s, code=A)
        assert (old.status, old.password_hash) == (CredentialStatus.VOID, old_hash)
        assert (old.voided_by, old.void_reason) == ("officer", "director changed")
        assert old.voided_at is not None
        assert (cur.status, cur.password_hash) == (CredentialStatus.LIVE, new_hash)
        assert (cur.issued_by, cur.batch_id) == ("officer", batch.id)
        live = store.live_credential(session=s, code=A)
        assert live is not None and live.id == cur.id

    # Nothing to reissue, or a bad hash: nothing changes.
    with session_scope(engine) as s:
        with pytest.raises(store.NoLiveCredential):
            store.reissue_credential(
                session=s, code=B, password_hash=phc(), by="officer", reason="x"
            )
        with pytest.raises(ValueError, match="argon2"):
            store.reissue_credential(
                session=s, code=A, password_hash="plaintext", by="officer", reason="x"
            )
        live = store.live_credential(session=s, code=A)
        assert live is not None and live.password_hash == new_hash
        assert len(store.credential_history(session=s, code=A)) == 2
        assert store.credential_history(session=s, code=B) == []


def test_rollback_of_reissue_restores_old_credential(engine: Engine, colleges: list[str]) -> None:
    old_hash = phc()
    with session_scope(engine) as s:
        store.store_credentials(session=s, batch_id=None, issued_by="admin", hashes={A: old_hash})
    with pytest.raises(RuntimeError), session_scope(engine) as s:
        store.reissue_credential(session=s, code=A, password_hash=phc(), by="o", reason="r")
        raise RuntimeError("mail server down")
    with session_scope(engine) as s:
        live = store.live_credential(session=s, code=A)
        assert live is not None and live.password_hash == old_hash
        assert s.exec(text("SELECT count(*) FROM credential")).scalar() == 1  # type: ignore[call-overload]


def test_concurrent_first_issue_conflicts_cleanly(
    engine: Engine, db_url: str, colleges: list[str]
) -> None:
    """Two writers issuing for the same college: the second waits for the first
    and gets CredentialConflict (not a lock error), on both backends. The first holds its
    transaction until the second is seen waiting for its lock (the barrier), so the waiting
    path is taken every time, however late the second thread starts."""
    first_stored = threading.Event()
    outcome: dict[str, object] = {}
    waiting = watched(db_url)

    def first() -> None:
        with session_scope(engine, immediate=True) as s:
            store.store_credentials(session=s, batch_id=None, issued_by="one", hashes={A: phc()})
            first_stored.set()
            outcome["waited in"] = waiting.wait_until_blocked(engine)
        outcome["first"] = "ok"

    def second() -> None:
        first_stored.wait(10)
        try:
            with session_scope(waiting.engine, immediate=True) as s:
                store.store_credentials(
                    session=s, batch_id=None, issued_by="two", hashes={A: phc()}
                )
            outcome["second"] = "ok"
        except Exception as exc:
            outcome["second"] = exc

    run_together(first, second)
    waiting.engine.dispose()
    assert outcome["first"] == "ok"
    assert isinstance(outcome["second"], store.CredentialConflict)
    # SQLite waits to begin (BEGIN IMMEDIATE); PostgreSQL at the live credential's index.
    expected = "BEGIN IMMEDIATE" if engine.dialect.name == "sqlite" else "INSERT INTO credential"
    assert str(outcome["waited in"]).startswith(expected)
    with session_scope(engine) as s:
        live = store.live_credential(session=s, code=A)
        assert live is not None and live.issued_by == "one"
