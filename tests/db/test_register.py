"""Register numbering: the generic counter (saraban.storage.counters) and the dispatch
register (saraban.services.dispatch), on SQLite and PostgreSQL.

Rolled-back numbers: a number is consumed in the same transaction that writes
its register entry, so a transaction that rolls back gives its numbers back --
the next taker gets them, and the register never has a gap.  Numbers that were
issued (committed) and later turn out unusable are *cancelled*, never reused.
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel

from saraban.services import dispatch
from saraban.services.dispatch import (
    AlreadyCancelled,
    DispatchEntry,
    DispatchEntryPublic,
    DispatchKind,
    DispatchStatus,
    InvalidEntry,
    NumberConflict,
    UnknownEntry,
    cancel_number,
    dispatch_scope,
    explain_gaps,
    register_entries,
    take_number,
)
from saraban.storage import counters, models
from saraban.storage.counters import NotImmediateTransaction, current_number, next_number
from saraban.storage.engine import make_engine, session_scope
from saraban.storage.models import Mailout
from tests.support.waiting import run_together, watched

OVEC = "สอศ."
AGENCY = "ศธ 0603"
DATED = date(2026, 4, 10)  # BE 2569
YEAR = 2569
ALL_COLLEGES = "ผู้อำนวยการสถานศึกษาของรัฐ สังกัดสำนักงานคณะกรรมการการอาชีวศึกษา ทุกแห่ง"


def take(session: Session, **over: Any) -> DispatchEntry:
    args: dict[str, Any] = {
        "register": OVEC,
        "kind": DispatchKind.EXTERNAL,
        "dated": DATED,
        "subject": "การจัดการศึกษาระบบทวิภาคี",
        "recipients": ALL_COLLEGES,
        "owning_unit": "สำนักนโยบายและแผนการอาชีวศึกษา",
        "created_by": "saraban-officer",
        "agency_code": AGENCY,
    }
    args.update(over)
    return take_number(session=session, **args)


def numbers(entries: list[DispatchEntry]) -> list[int]:
    return [e.number for e in entries]


def test_next_number_refuses_ce_year_and_bad_scope(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        with pytest.raises(ValueError, match="Buddhist-era"):
            next_number(session=s, scope="receipt:สอศ.", year_be=2026)
        with pytest.raises(ValueError, match="scope"):
            next_number(session=s, scope="  ", year_be=YEAR)
        with pytest.raises(TypeError):
            next_number(session=s, scope="receipt:สอศ.", year_be="2569")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Generic counter
# --------------------------------------------------------------------------- #


def test_counter_sequences_are_per_scope_and_year(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        got = [next_number(session=s, scope="receipt:สอศ.", year_be=YEAR) for _ in range(3)]
        assert got == [1, 2, 3]
        assert next_number(session=s, scope="receipt:วท.เชียงใหม่", year_be=YEAR) == 1
        assert next_number(session=s, scope="receipt:สอศ.", year_be=YEAR + 1) == 1
        assert current_number(session=s, scope="receipt:สอศ.", year_be=YEAR) == 3
    with session_scope(engine, immediate=True) as s:
        assert next_number(session=s, scope="receipt:สอศ.", year_be=YEAR) == 4
        assert current_number(session=s, scope="receipt:ไม่มี", year_be=YEAR) == 0


def test_counter_rollback_gives_numbers_back(engine: Engine) -> None:
    with pytest.raises(RuntimeError), session_scope(engine, immediate=True) as s:
        assert next_number(session=s, scope="receipt:สอศ.", year_be=YEAR) == 1
        raise RuntimeError("abandoned")
    with session_scope(engine, immediate=True) as s:
        assert next_number(session=s, scope="receipt:สอศ.", year_be=YEAR) == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_requires_begin_immediate(engine: Engine) -> None:
    with Session(engine) as s:
        with pytest.raises(NotImmediateTransaction, match="immediate=True"):
            next_number(session=s, scope="receipt:สอศ.", year_be=YEAR)
        with pytest.raises(NotImmediateTransaction):
            take(s)
    # A deferred BEGIN is refused too.
    with session_scope(engine) as s, pytest.raises(NotImmediateTransaction):
        take(s)
    with session_scope(engine, immediate=True) as s:
        assert register_entries(session=s, register=OVEC, year_be=YEAR) == []
        assert current_number(session=s, scope=dispatch_scope(OVEC, "external"), year_be=YEAR) == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_sqlite_without_returning(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """The UPDATE/INSERT/SELECT path for SQLite < 3.35 numbers the same way."""
    monkeypatch.setattr(counters, "_sqlite_has_returning", lambda conn: False)
    with session_scope(engine, immediate=True) as s:
        assert numbers([take(s) for _ in range(3)]) == [1, 2, 3]
        assert next_number(session=s, scope="receipt:สอศ.", year_be=YEAR) == 1
    with pytest.raises(RuntimeError), session_scope(engine, immediate=True) as s:
        assert take(s).number == 4
        raise RuntimeError("abandoned")
    with session_scope(engine, immediate=True) as s:
        assert take(s).number == 4
        assert explain_gaps(session=s, register=OVEC, kind="external", year_be=YEAR) == []


# --------------------------------------------------------------------------- #
# Dispatch register
# --------------------------------------------------------------------------- #


def a_mailout(session: Session) -> int:
    """A mailout row for entries to name (its id)."""
    mailout = Mailout(
        name="emvs-2569",
        folder="/srv/mailouts/emvs-2569",
        out_dir="/srv/out/emvs-2569",
        fingerprint="0" * 64,
        kind="circular",
        subject="การติดตามการดำเนินงาน",
        created_by="saraban-officer",
    )
    session.add(mailout)
    session.flush()
    assert mailout.id is not None
    return mailout.id


def test_sequential_numbers_and_references(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        mailout_id = a_mailout(s)
        first = take(s, mailout_id=mailout_id)
        second = take(s, recipients="ผู้อำนวยการวิทยาลัยเทคนิคเชียงใหม่")
    with session_scope(engine, immediate=True) as s:
        third = take(s)
        unit = take(s, register="วท.เชียงใหม่", agency_code="ศธ 0630.1")
    assert numbers([first, second, third]) == [1, 2, 3]
    assert [e.reference for e in (first, second, third)] == [
        "ศธ 0603/1",
        "ศธ 0603/2",
        "ศธ 0603/3",
    ]
    assert (unit.number, unit.reference) == (1, "ศธ 0630.1/1")  # its own register
    with Session(engine) as s:
        entries = register_entries(session=s, register=OVEC, year_be=YEAR)
        assert numbers(entries) == [1, 2, 3]
        one = entries[0]
        assert one.status == DispatchStatus.ISSUED and one.year_be == YEAR
        assert one.dated == DATED and one.mailout_id == mailout_id
        assert one.recipients == ALL_COLLEGES and one.created_by == "saraban-officer"
        assert one.created_at.tzinfo is not None
        assert one.cancelled_at is None and one.cancelled_reason is None
        public = DispatchEntryPublic.model_validate(one)
        assert public.register_name == OVEC and public.reference == "ศธ 0603/1"
        assert explain_gaps(session=s, register=OVEC, kind="external", year_be=YEAR) == []


def test_numbers_restart_each_buddhist_year(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        old = [take(s, dated=date(2025, 12, 31)) for _ in range(3)]
        new = [take(s, dated=date(2026, 1, 1)) for _ in range(2)]
        late = take(s, dated=date(2025, 12, 30))  # back-dated: next number of 2568
    assert [(e.year_be, e.number) for e in old] == [(2568, 1), (2568, 2), (2568, 3)]
    assert [(e.year_be, e.number) for e in new] == [(2569, 1), (2569, 2)]
    assert (late.year_be, late.number) == (2568, 4)
    with Session(engine) as s:
        assert numbers(register_entries(session=s, register=OVEC, year_be=2568)) == [1, 2, 3, 4]
        assert numbers(register_entries(session=s, register=OVEC, year_be=2569)) == [1, 2]


def test_circular_and_external_sequences_are_independent(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        taken = [
            take(s, kind=kind)
            for kind in ("external", "circular", "circular", "external", "circular")
        ]
    assert [(e.kind, e.number, e.reference) for e in taken] == [
        (DispatchKind.EXTERNAL, 1, "ศธ 0603/1"),
        (DispatchKind.CIRCULAR, 1, "ศธ 0603/ว 1"),
        (DispatchKind.CIRCULAR, 2, "ศธ 0603/ว 2"),
        (DispatchKind.EXTERNAL, 2, "ศธ 0603/2"),
        (DispatchKind.CIRCULAR, 3, "ศธ 0603/ว 3"),
    ]
    with Session(engine) as s:
        both = register_entries(session=s, register=OVEC, year_be=YEAR)
        assert [(e.kind, e.number) for e in both] == [
            ("circular", 1),
            ("circular", 2),
            ("circular", 3),
            ("external", 1),
            ("external", 2),
        ]
        circ = register_entries(session=s, register=OVEC, year_be=YEAR, kind="circular")
        assert numbers(circ) == [1, 2, 3]


def test_cancel_keeps_the_number_and_never_reuses_it(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        taken = [take(s) for _ in range(3)]
    with session_scope(engine) as s:
        cancelled = cancel_number(
            session=s, entry_id=taken[1].id, reason="  ลงเลขซ้ำกับหนังสือฉบับอื่น ", by="clerk"
        )
        assert cancelled.status == DispatchStatus.CANCELLED
    with session_scope(engine, immediate=True) as s:
        assert take(s).number == 4  # 2 is not given out again
    with Session(engine) as s:
        entries = register_entries(session=s, register=OVEC, year_be=YEAR)
        assert [(e.number, e.status) for e in entries] == [
            (1, "issued"),
            (2, "cancelled"),
            (3, "issued"),
            (4, "issued"),
        ]
        two = entries[1]
        assert two.cancelled_reason == "ลงเลขซ้ำกับหนังสือฉบับอื่น"
        assert two.cancelled_by == "clerk" and two.cancelled_at is not None
        assert two.reference == "ศธ 0603/2"
        assert explain_gaps(session=s, register=OVEC, kind="external", year_be=YEAR) == []

    with session_scope(engine) as s:
        with pytest.raises(AlreadyCancelled, match="already cancelled"):
            cancel_number(session=s, entry_id=taken[1].id, reason="again", by="clerk")
        with pytest.raises(UnknownEntry):
            cancel_number(session=s, entry_id=10_000, reason="x", by="clerk")
        with pytest.raises(InvalidEntry, match="reason"):
            cancel_number(session=s, entry_id=taken[0].id, reason="  ", by="clerk")


def test_database_requires_cancel_details(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        entry_id = take(s).id
    with pytest.raises(IntegrityError, match=r"(?i)check"), session_scope(engine) as s:
        s.exec(text(f"UPDATE dispatch_entry SET status = 'cancelled' WHERE id = {entry_id}"))  # type: ignore[call-overload]


def test_rolled_back_take_leaves_no_gap(engine: Engine) -> None:
    with session_scope(engine, immediate=True) as s:
        take(s)
    with pytest.raises(RuntimeError), session_scope(engine, immediate=True) as s:
        assert numbers([take(s), take(s, kind="circular")]) == [2, 1]
        raise RuntimeError("PDF rendering failed")
    with session_scope(engine, immediate=True) as s:
        assert take(s).number == 2
        assert take(s, kind="circular").number == 1
    with Session(engine) as s:
        for kind in DispatchKind:
            assert explain_gaps(session=s, register=OVEC, kind=kind, year_be=YEAR) == []
        scope = dispatch_scope(OVEC, "external")
        assert current_number(session=s, scope=scope, year_be=YEAR) == 2


def test_invalid_input_takes_no_number(engine: Engine) -> None:
    bad: list[dict[str, Any]] = [
        {"subject": "   "},
        {"recipients": ""},
        {"register": ""},
        {"kind": "internal"},
        {"agency_code": " "},
        {"agency_code": "ศธ/0603"},
        {"dated": datetime(2026, 4, 10, 9, 0, tzinfo=UTC)},
        {"created_by": ""},
        {"mailout_id": "mailout-1"},  # a mailout's id, not its name
        {"mailout_id": 999},  # no such mailout
    ]
    with session_scope(engine, immediate=True) as s:
        for over in bad:
            with pytest.raises(InvalidEntry):
                take(s, **over)
        assert current_number(session=s, scope=dispatch_scope(OVEC, "external"), year_be=YEAR) == 0
        assert take(s, mailout_id=None).mailout_id is None
        assert take(s).number == 2


def test_conflict_with_entry_written_outside_the_counter(engine: Engine) -> None:
    """An entry inserted without take_number makes the next take fail cleanly:
    the savepoint un-takes the number and the caller's transaction goes on."""
    with session_scope(engine) as s:
        s.exec(  # type: ignore[call-overload]
            text(
                "INSERT INTO dispatch_entry (register, kind, year_be, number, reference, dated,"
                " subject, recipients, owning_unit, status, created_at, created_by)"
                " VALUES (:r, 'external', :y, 1, 'ศธ 0603/1', :d, 's', 'r', 'u', 'issued',"
                " :now, 'legacy import')"
            ),
            params={"r": OVEC, "y": YEAR, "d": DATED, "now": datetime.now(UTC)},
        )
    with session_scope(engine, immediate=True) as s:
        with pytest.raises(NumberConflict):
            take(s)
        scope = dispatch_scope(OVEC, "external")
        assert current_number(session=s, scope=scope, year_be=YEAR) == 0
        assert take(s, kind="circular").number == 1  # the transaction is still usable


def test_register_names_are_nfc_normalised(engine: Engine) -> None:
    """One register, however its name is encoded or padded: one sequence."""
    composed, decomposed = "กอง\u00e9", "กอง e\u0301".replace(" ", "")
    assert composed != decomposed
    with session_scope(engine, immediate=True) as s:
        a = take(s, register=composed)
        b = take(s, register=f" {decomposed} ")
    assert (a.register_name, b.register_name, a.number, b.number) == (composed, composed, 1, 2)
    assert dispatch_scope(decomposed, "circular") == f"dispatch:{composed}:circular"


# --------------------------------------------------------------------------- #
# Concurrency
# --------------------------------------------------------------------------- #

WORKERS = 10
PER_WORKER = 5


class _Abandon(Exception):
    def __init__(self, taken: list[int]) -> None:
        self.taken = taken


def _worker(engine: Engine, start: threading.Barrier, count: int, abandon: bool) -> list[int]:
    """Take *count* numbers in one transaction; with *abandon*, roll it back."""
    start.wait(30)
    with session_scope(engine, immediate=True) as s:
        got = [take(s, subject=f"หนังสือ {i}").number for i in range(count)]
        if abandon:
            raise _Abandon(got)
    return got


def _run_workers(engine: Engine, abandon: set[int]) -> tuple[list[list[int]], list[list[int]]]:
    start = threading.Barrier(WORKERS)
    committed: list[list[int]] = []
    abandoned: list[list[int]] = []
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [
            pool.submit(_worker, engine, start, PER_WORKER, w in abandon) for w in range(WORKERS)
        ]
        for f in futures:
            try:
                committed.append(f.result(timeout=120))
            except _Abandon as exc:
                abandoned.append(exc.taken)
    return committed, abandoned


def _assert_register_is(engine: Engine, expected: list[int]) -> None:
    with Session(engine) as s:
        got = numbers(register_entries(session=s, register=OVEC, year_be=YEAR))
        assert got == expected
        assert explain_gaps(session=s, register=OVEC, kind="external", year_be=YEAR) == []
        scope = dispatch_scope(OVEC, "external")
        assert current_number(session=s, scope=scope, year_be=YEAR) == len(expected)


def test_concurrent_takers_get_1_to_50(engine: Engine) -> None:
    committed, abandoned = _run_workers(engine, abandon=set())
    assert not abandoned
    taken = sorted(n for batch in committed for n in batch)
    assert taken == list(range(1, WORKERS * PER_WORKER + 1))
    assert not [n for n, c in Counter(taken).items() if c > 1]
    # A taker holds the sequence until it commits: each transaction's numbers are consecutive.
    for batch in committed:
        assert batch == list(range(batch[0], batch[0] + PER_WORKER))
    _assert_register_is(engine, list(range(1, 51)))


def test_concurrent_takers_some_rolling_back(engine: Engine) -> None:
    """Workers that roll back give their numbers back: the committed numbers are
    exactly 1..N with no gap (and no cancelled entries to explain)."""
    committed, abandoned = _run_workers(engine, abandon={0, 3, 6, 9})
    assert len(committed) == 6 and len(abandoned) == 4
    assert all(len(batch) == PER_WORKER for batch in abandoned)
    taken = sorted(n for batch in committed for n in batch)
    assert taken == list(range(1, 6 * PER_WORKER + 1))
    # Each abandoned worker was handed the next free block, which the next taker then got.
    for batch in abandoned:
        assert batch == list(range(batch[0], batch[0] + PER_WORKER))
        assert batch[0] % PER_WORKER == 1 and batch[0] <= 6 * PER_WORKER + 1
    _assert_register_is(engine, list(range(1, 31)))
    with Session(engine) as s:
        entries = register_entries(session=s, register=OVEC, year_be=YEAR)
        assert all(e.status == DispatchStatus.ISSUED for e in entries)


def _process_worker(url: str, transactions: int, per_transaction: int) -> list[int]:
    engine = make_engine(url)
    try:
        got: list[int] = []
        for _ in range(transactions):
            with session_scope(engine, immediate=True) as s:
                got.extend(take(s).number for _ in range(per_transaction))
        return got
    finally:
        engine.dispose()


def test_concurrent_processes(engine: Engine, db_url: str) -> None:
    """Separate processes (own engines, own connections) share the sequence."""
    processes, transactions, per_transaction = 4, 5, 3
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=ctx) as pool:
        futures = [
            pool.submit(_process_worker, db_url, transactions, per_transaction)
            for _ in range(processes)
        ]
        results = [f.result(timeout=180) for f in futures]
    total = processes * transactions * per_transaction
    assert sorted(n for r in results for n in r) == list(range(1, total + 1))
    _assert_register_is(engine, list(range(1, total + 1)))


def test_waiting_taker_gets_the_number_given_back(engine: Engine, db_url: str) -> None:
    """A taker blocked behind a transaction that rolls back gets that number. The first
    transaction rolls back only once the second is seen waiting for its lock (the barrier), so
    the waiting path is taken every time, however late the second thread starts."""
    holding = threading.Event()
    outcome: dict[str, object] = {}
    waiting = watched(db_url)

    def first() -> None:
        try:
            with session_scope(engine, immediate=True) as s:
                outcome["first"] = take(s).number
                holding.set()
                outcome["waited in"] = waiting.wait_until_blocked(engine)
                raise _Abandon([])
        except _Abandon:
            pass

    def second() -> None:
        holding.wait(10)
        with session_scope(waiting.engine, immediate=True) as s:
            outcome["second"] = take(s).number

    run_together(first, second)
    waiting.engine.dispose()
    waited_in = outcome.pop("waited in")
    assert outcome == {"first": 1, "second": 1}
    # SQLite waits to begin (BEGIN IMMEDIATE); PostgreSQL on the year's counter row.
    sqlite = engine.dialect.name == "sqlite"
    assert str(waited_in).startswith("BEGIN IMMEDIATE" if sqlite else "INSERT INTO number_counter")
    _assert_register_is(engine, [1])


def test_every_table_is_declared_in_models() -> None:
    """One home for tables: every mapped table's class is saraban.storage.models's, the
    dispatch register and the counters use those (not copies), and what they export exists."""
    declared = {
        mapper.local_table.name: mapper.class_.__module__
        for mapper in SQLModel._sa_registry.mappers  # type: ignore[attr-defined]
    }
    assert set(declared) == set(SQLModel.metadata.tables)
    assert {module for module in declared.values()} == {"saraban.storage.models"}
    assert dispatch.DispatchEntry is models.DispatchEntry
    assert counters.NumberCounter is models.NumberCounter
    assert set(dispatch.__all__) <= set(dir(dispatch))
    assert set(counters.__all__) <= set(dir(counters))


def test_constraint_names_do_not_depend_on_import_order() -> None:
    """Importing the counters or the dispatch register first still gives convention names,
    and no warning (``-W error``: no field shadows a pydantic attribute)."""
    code = (
        "import saraban.storage.counters as n, saraban.services.dispatch as r; "
        "print(sorted(c.name for t in (n.NumberCounter, r.DispatchEntry)"
        " for c in t.__table__.constraints))"
    )
    out = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "'ck_number_counter_last_positive'" in out and "'pk_number_counter'" in out
    assert "'uq_dispatch_entry_register_kind_year_be_number'" in out
