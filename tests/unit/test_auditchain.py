"""The audit hash chain: one byte form per record, and every kind of tampering found at the
first bad row."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from saraban.domain.auditchain import (
    GENESIS,
    ChainReport,
    Row,
    append,
    canonical_json,
    chain_hash,
    head,
    verify_chain,
)

ICT = timezone(timedelta(hours=7))


def chain(n: int = 6) -> list[Row]:
    rows: list[Row] = []
    for i in range(n):
        record = {
            "action": "note",
            "by": "นางสาวอัญชลี ธรรมศรีใจ",
            "letter": f"รับ {i + 1}/2569",
            "at": datetime(2026, 4, 20, 9, i, tzinfo=ICT),
        }
        rows.append(append(head(rows), record))
    return rows


def edit(row: Row, **changes: object) -> Row:
    return Row(row.seq, {**row.record, **changes}, row.hash)


def renumber(rows: list[Row], start: int = 1) -> list[Row]:
    """The seq column rewritten to run on from ``start``; records (and hashes) unchanged."""
    return [Row(start + i, r.record, r.hash) for i, r in enumerate(rows)]


def forge(after: Row | None, seq: int, record: dict) -> Row:
    """A row an attacker chained properly onto ``after``."""
    sealed = {**record, "seq": seq}
    return Row(seq, sealed, chain_hash(after.hash if after else GENESIS, sealed))


def bad(report: ChainReport) -> tuple[int | None, str | None]:
    assert not report.ok
    return report.first_bad_seq, report.problem


# --- canonical form ------------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8() -> None:
    data = canonical_json({"b": 1, "a": {"y": [1, "ก"], "x": None}, "c": True})
    assert data == '{"a":{"x":null,"y":[1,"ก"]},"b":1,"c":true}'.encode()
    assert "ก".encode() in data  # not \\u0e01


def test_canonical_json_normalises_text_to_nfc() -> None:
    composed = {"name": "Café", "Caf\u00e9": 1}
    decomposed = {"name": "Cafe\u0301", "Cafe\u0301": 1}
    assert canonical_json(composed) == canonical_json(decomposed)


def test_canonical_json_writes_datetimes_in_utc() -> None:
    bangkok = datetime(2026, 4, 20, 9, 0, tzinfo=ICT)
    utc = datetime(2026, 4, 20, 2, 0, tzinfo=UTC)
    assert canonical_json({"at": bangkok}) == canonical_json({"at": utc})
    assert canonical_json({"at": utc}) == b'{"at":"2026-04-20T02:00:00.000000Z"}'
    assert canonical_json({"on": date(2026, 4, 20)}) == b'{"on":"2026-04-20"}'


def test_canonical_json_of_a_row_is_what_json_reads_back() -> None:
    record = {"seq": 3, "n": 1.5, "list": (1, 2), "ชื่อ": "ภาณุวัฒน์"}
    assert json.loads(canonical_json(record)) == {
        "seq": 3,
        "n": 1.5,
        "list": [1, 2],
        "ชื่อ": "ภาณุวัฒน์",
    }


@pytest.mark.parametrize(
    ("record", "error", "words"),
    [
        ({"at": datetime(2026, 4, 20, 9)}, ValueError, "timezone"),
        ({"n": float("nan")}, ValueError, "JSON"),
        ({1: "x"}, TypeError, "not text"),
        ({"a": {2: "x"}}, TypeError, "record.a"),
        ({"blob": b"x"}, TypeError, "bytes"),
        ({"s": {1, 2}}, TypeError, "set"),
        ({"Caf\u00e9": 1, "Cafe\u0301": 2}, ValueError, "collide"),
    ],
)
def test_canonical_json_refuses_what_has_no_single_form(
    record: dict, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words):
        canonical_json(record)


def test_canonical_json_takes_only_mappings() -> None:
    with pytest.raises(TypeError, match="mapping"):
        canonical_json([1, 2])  # type: ignore[arg-type]


# --- hashing -------------------------------------------------------------------------------


def test_chain_hash_is_sha256_of_previous_hash_and_record() -> None:
    record = {"seq": 1, "action": "รับ"}
    expected = hashlib.sha256(GENESIS.encode() + canonical_json(record)).hexdigest()
    assert chain_hash(GENESIS, record) == expected
    assert GENESIS == "0" * 64


@pytest.mark.parametrize("previous", ["", "0" * 63, "A" * 64, "g" * 64, None])
def test_chain_hash_wants_a_hex_previous_hash(previous: object) -> None:
    with pytest.raises(ValueError, match="64 lowercase hex"):
        chain_hash(previous, {"seq": 1})  # type: ignore[arg-type]


def test_append_numbers_and_chains() -> None:
    rows = chain(3)
    assert [r.seq for r in rows] == [1, 2, 3]
    assert [r.record["seq"] for r in rows] == [1, 2, 3]
    assert rows[0].hash == chain_hash(GENESIS, rows[0].record)
    assert rows[2].hash == chain_hash(rows[1].hash, rows[2].record)
    assert head(rows) == (3, rows[2].hash)
    assert head([]) == (0, GENESIS)
    with pytest.raises(ValueError, match="seq 7"):
        append(head(rows), {"seq": 7})
    assert append(head(rows), {"seq": 4}).seq == 4


# --- verification --------------------------------------------------------------------------


def test_an_untouched_chain_verifies() -> None:
    rows = chain()
    report = verify_chain(rows)
    assert report.ok and bool(report)
    assert report == ChainReport(True, None, None, checked=6)
    assert verify_chain([]).ok
    assert verify_chain(iter(rows)).ok  # any iterable of (seq, record, hash)
    assert verify_chain([tuple(r) for r in rows]).ok


@pytest.mark.parametrize("k", [1, 3, 6])
def test_an_edited_record(k: int) -> None:
    rows = chain()
    rows[k - 1] = edit(rows[k - 1], by="นายคนอื่น")
    report = verify_chain(rows)
    assert bad(report) == (k, "edited")
    assert report.checked == k - 1


def test_an_edited_hash() -> None:
    rows = chain()
    rows[2] = Row(3, rows[2].record, "f" * 64)
    assert bad(verify_chain(rows)) == (3, "edited")
    rows[2] = Row(3, rows[2].record, "not a hash")
    assert bad(verify_chain(rows)) == (3, "edited")


def test_an_edited_and_rehashed_row_shows_at_the_next() -> None:
    rows = chain()
    forged = forge(rows[1], 3, {**rows[2].record, "by": "นายคนอื่น"})
    rows[2] = forged
    assert bad(verify_chain(rows)) == (4, "edited")


def test_a_record_without_its_seq_is_an_edit() -> None:
    rows = chain()
    record = dict(rows[3].record)
    del record["seq"]
    rows[3] = Row(4, record, rows[3].hash)
    assert bad(verify_chain(rows)) == (4, "edited")


def test_a_record_whose_seq_was_changed() -> None:
    rows = chain()
    rows[2] = edit(rows[2], seq=4)
    assert bad(verify_chain(rows)) == (3, "edited")
    rows = chain()
    rows[2] = edit(rows[2], seq=2)
    assert bad(verify_chain(rows)) == (3, "edited")


@pytest.mark.parametrize("k", [1, 2, 4])
def test_a_deleted_row(k: int) -> None:
    rows = chain()
    del rows[k - 1]
    report = verify_chain(rows)
    assert bad(report) == (k, "deleted")
    assert report.checked == k - 1


def test_deleted_rows_with_the_rest_renumbered() -> None:
    rows = chain()
    kept = rows[:2] + renumber(rows[4:], start=3)  # 3 and 4 gone, 5 and 6 moved down
    assert [r.seq for r in kept] == [1, 2, 3, 4]
    assert bad(verify_chain(kept)) == (3, "deleted")
    # the last row moved down over a deleted one
    assert bad(verify_chain(rows[:4] + renumber(rows[5:], start=5))) == (5, "deleted")


def test_deleting_the_last_rows_needs_the_anchor() -> None:
    rows = chain()
    anchor = head(rows)
    cut = rows[:4]
    assert verify_chain(cut).ok  # the limitation the anchor is for
    report = verify_chain(cut, anchor=anchor)
    assert bad(report) == (5, "deleted")
    assert verify_chain(rows, anchor=anchor).ok
    assert verify_chain(rows, anchor=head(rows[:3])).ok  # an older anchor still fits
    assert verify_chain(rows, anchor=head([])).ok


def test_a_rewritten_tail_contradicts_the_anchor() -> None:
    rows = chain()
    anchor = head(rows)
    rewritten = rows[:3]
    for row in rows[3:]:
        rewritten.append(forge(rewritten[-1], row.seq, {**row.record, "by": "นายคนอื่น"}))
    assert verify_chain(rewritten).ok
    assert bad(verify_chain(rewritten, anchor=anchor)) == (6, "edited")
    assert bad(verify_chain(rows, anchor=(0, "f" * 64))) == (1, "edited")


def test_an_inserted_row_with_a_duplicate_seq() -> None:
    rows = chain()
    intruder = forge(rows[2], 4, {"action": "note", "by": "นายคนอื่น"})
    assert bad(verify_chain([*rows[:3], intruder, *rows[3:]])) == (4, "inserted")
    assert bad(verify_chain([*rows[:4], intruder, *rows[4:]])) == (4, "inserted")
    unchained = Row(4, intruder.record, "e" * 64)
    assert bad(verify_chain([*rows[:3], unchained, *rows[3:]])) == (4, "inserted")


def test_an_inserted_row_that_does_not_chain() -> None:
    rows = chain()
    intruder = Row(4, {"action": "note", "seq": 4}, "e" * 64)
    tampered = [*rows[:3], intruder, *renumber(rows[3:], start=5)]
    assert bad(verify_chain(tampered)) == (4, "inserted")


def test_an_inserted_row_that_chains_with_the_rest_renumbered() -> None:
    rows = chain()
    intruder = forge(rows[2], 4, {"action": "note", "by": "นายคนอื่น"})
    tampered = [*rows[:3], intruder, *renumber(rows[3:], start=5)]
    assert bad(verify_chain(tampered)) == (4, "inserted")
    # two rows slipped in
    second = forge(intruder, 5, {"action": "note"})
    tampered = [*rows[:3], intruder, second, *renumber(rows[3:], start=6)]
    assert bad(verify_chain(tampered)) == (4, "inserted")


def test_a_row_inserted_at_the_start() -> None:
    rows = chain()
    intruder = forge(None, 1, {"action": "note"})
    assert bad(verify_chain([intruder, *renumber(rows, start=2)])) == (1, "inserted")
    zero = Row(0, {"seq": 0}, chain_hash(GENESIS, {"seq": 0}))
    assert bad(verify_chain([zero, *rows])) == (0, "inserted")


def test_rows_out_of_order() -> None:
    rows = chain()
    swapped = [rows[0], rows[2], rows[1], *rows[3:]]
    assert bad(verify_chain(swapped)) == (2, "reordered")
    backwards = [rows[0], rows[1], rows[3], rows[2], *rows[4:]]
    assert bad(verify_chain(backwards)) == (3, "reordered")


def test_rows_swapped_by_renumbering() -> None:
    rows = chain()
    swapped = [rows[0], Row(2, rows[2].record, rows[2].hash), Row(3, rows[1].record, rows[1].hash)]
    assert bad(verify_chain([*swapped, *rows[3:]])) == (2, "reordered")
    # a row moved further down, the ones between moved up
    moved = [rows[0], *renumber([rows[2], rows[3], rows[1]], start=2), *rows[4:]]
    assert bad(verify_chain(moved)) == (2, "reordered")


def test_a_seq_column_moved_away_is_reordering() -> None:
    rows = chain()
    moved = [*rows[:2], *rows[3:], Row(99, rows[2].record, rows[2].hash)]
    assert bad(verify_chain(moved)) == (3, "reordered")


def test_the_first_bad_row_is_reported() -> None:
    rows = chain(8)
    rows[6] = edit(rows[6], by="x")
    del rows[4]  # seq 5 gone
    rows[1] = edit(rows[1], by="y")
    assert bad(verify_chain(rows)) == (2, "edited")
    rows = chain(8)
    rows[6] = edit(rows[6], by="x")
    del rows[4]
    assert bad(verify_chain(rows)) == (5, "deleted")


def test_a_row_appended_out_of_order() -> None:
    rows = chain()
    assert bad(verify_chain([*rows, rows[0]])) == (1, "reordered")


def test_a_row_overwritten_with_a_copy_of_another() -> None:
    rows = chain()
    rows[3] = Row(4, rows[1].record, rows[1].hash)
    assert bad(verify_chain(rows)) == (4, "edited")


def test_a_record_that_cannot_be_hashed_is_an_edit() -> None:
    rows = chain()
    rows[2] = edit(rows[2], at=datetime(2026, 4, 20, 9))  # no timezone: no canonical form
    assert bad(verify_chain(rows)) == (3, "edited")


def test_records_must_carry_their_seq() -> None:
    record = {"action": "note"}
    rows = [Row(1, record, chain_hash(GENESIS, record))]
    assert bad(verify_chain(rows)) == (1, "edited")
