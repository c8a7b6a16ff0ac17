"""A tamper-evident audit log: every row's hash covers the previous row's hash and its record.

Pure: records in, hashes and verdicts out; storing rows and publishing the head are the
service's job.

A row is ``(seq, record, hash)`` with ``hash = chain_hash(previous row's hash, record)`` (the
first row chains from ``GENESIS``) and ``seq`` counting from 1. Every record carries its own
``seq`` (``append`` puts it there), so the numbering is hashed too: a deleted row cannot be
hidden by renumbering the rows after it, and a row cannot be moved without its record saying
where it belongs.

Limitation: the chain proves only that its rows agree with each other. Someone who deletes the
last rows, or rewrites every row from some point to the end and recomputes their hashes, leaves
a chain that verifies. Only an external anchor catches that: publish ``head(rows)`` (the last
seq and hash) somewhere the database's writers cannot change (a printed register, another
system, a signed e-mail) and pass it back to ``verify_chain(rows, anchor=...)``.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal, NamedTuple

GENESIS = "0" * 64
FIRST_SEQ = 1
SEQ_KEY = "seq"
Problem = Literal["edited", "deleted", "inserted", "reordered"]
_HEX64 = re.compile(r"[0-9a-f]{64}")


class Row(NamedTuple):
    seq: int
    record: Mapping[str, Any]
    hash: str


@dataclass(frozen=True)
class ChainReport:
    """``ok``, or the first bad row: its seq and what happened to it.

    For ``deleted`` the seq is the first one missing; otherwise it is the seq of the first row
    found out of place. ``checked`` counts the rows verified before it.
    """

    ok: bool
    first_bad_seq: int | None = None
    problem: Problem | None = None
    checked: int = 0

    def __bool__(self) -> bool:
        return self.ok


# --- canonical form and hashing ------------------------------------------------------------


def _utc_iso(moment: datetime) -> str:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(
            f"datetime {moment.isoformat()} has no timezone; audit times must be aware"
        )
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _canonical_mapping(value: Mapping[Any, Any], path: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{path}: key {key!r} is not text")
        name = unicodedata.normalize("NFC", key)
        if name in out:
            raise ValueError(f"{path}: keys {name!r} collide once normalised (NFC)")
        out[name] = _canonical(item, f"{path}.{name}")
    return out


def _canonical(value: Any, path: str) -> Any:
    if isinstance(value, str):
        return unicodedata.normalize("NFC", str(value))
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{path}: {value} has no JSON form")
        return value
    if isinstance(value, datetime):
        return _utc_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return _canonical_mapping(value, path)
    if isinstance(value, list | tuple):
        return [_canonical(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise TypeError(f"{path}: a {type(value).__name__} cannot go into an audit record")


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """The record's one byte form: sorted keys, no whitespace, UTF-8 (not ``\\u`` escapes),
    NFC strings, datetimes as ISO 8601 in UTC (``2026-04-20T03:15:00.000000Z``)."""
    if not isinstance(record, Mapping):
        raise TypeError(f"an audit record is a mapping, not a {type(record).__name__}")
    data = _canonical_mapping(record, "record")
    text = json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def chain_hash(previous_hash: str, record: Mapping[str, Any]) -> str:
    """sha256(previous hash as ASCII hex + canonical JSON of the record), in lowercase hex."""
    if not isinstance(previous_hash, str) or not _HEX64.fullmatch(previous_hash):
        raise ValueError(f"previous hash {previous_hash!r} is not 64 lowercase hex digits")
    return hashlib.sha256(previous_hash.encode("ascii") + canonical_json(record)).hexdigest()


def append(head_: tuple[int, str], record: Mapping[str, Any]) -> Row:
    """The row that follows ``head_`` (``head(rows)`` of the chain so far): next seq, the record
    with that seq in it, and its hash."""
    last_seq, last_hash = head_
    seq = last_seq + 1
    if record.get(SEQ_KEY, seq) != seq:
        raise ValueError(f"record says seq {record[SEQ_KEY]!r} but the next row is {seq}")
    sealed = {**record, SEQ_KEY: seq}
    return Row(seq, sealed, chain_hash(last_hash, sealed))


def head(rows: Iterable[tuple[int, Mapping[str, Any], str]]) -> tuple[int, str]:
    """``(last seq, last hash)`` of the rows, ``(0, GENESIS)`` for none: the value to anchor
    outside the database. It does not verify the rows: run ``verify_chain`` first."""
    last: tuple[int, str] = (FIRST_SEQ - 1, GENESIS)
    for seq, _record, stored_hash in rows:
        last = (seq, stored_hash)
    return last


# --- a stored row: its columns and its JSON copy ------------------------------------------

COLUMN_FIELDS = ("at", "event", "actor", "subject")
DISAGREE_KEY = "columns disagree with the stored record"


def stored_record(columns: Mapping[str, Any], stored: Mapping[str, Any]) -> Mapping[str, Any]:
    """The record to check against a row's hash, from the row's columns (``at``, ``event``,
    ``actor``, ``subject``, each also in the record) and its stored JSON copy.

    When every column agrees with the copy (in canonical form), that is the copy itself, so
    the hash covers both. When any disagrees, it is the copy with the columns beside it,
    which no stored hash matches: an edit to a column alone, or to the copy alone, or to both
    in different ways, shows as an edited row."""
    try:
        agree = all(
            _canonical(columns[name], name) == _canonical(stored.get(name), name)
            for name in COLUMN_FIELDS
        )
    except (TypeError, ValueError, KeyError):
        agree = False
    if agree:
        return stored
    return {**stored, DISAGREE_KEY: {name: repr(columns.get(name)) for name in COLUMN_FIELDS}}


# --- verification --------------------------------------------------------------------------


def _links(previous_hash: str, row: Row) -> bool:
    """Whether ``row``'s stored hash is its record chained from ``previous_hash``."""
    try:
        return chain_hash(previous_hash, row.record) == row.hash
    except (TypeError, ValueError, AttributeError):
        return False


def _claimed(row: Row) -> int | None:
    """The seq the row's (hashed) record gives itself."""
    seq = row.record.get(SEQ_KEY) if isinstance(row.record, Mapping) else None
    return seq if isinstance(seq, int) and not isinstance(seq, bool) else None


def _hash_before(rows: Sequence[Row], i: int) -> str:
    return rows[i - 1].hash if i > 0 else GENESIS


def _in_place(row: Row) -> bool:
    return _claimed(row) == row.seq


def _numbering_problem(rows: Sequence[Row], i: int) -> tuple[int, Problem] | None:
    """Duplicated, backwards or skipped seq numbers at row ``i``."""
    row = rows[i]
    expected = rows[i - 1].seq + 1 if i > 0 else FIRST_SEQ
    if i > 0 and row.seq == rows[i - 1].seq:
        return row.seq, "inserted"
    if i > 0 and row.seq < rows[i - 1].seq:
        return row.seq, "reordered"
    if row.seq < expected:
        return row.seq, "inserted"  # before the first seq
    if row.seq > expected:
        later = rows[i + 1 :]
        if any(r.seq == expected or _claimed(r) == expected for r in later):
            return expected, "reordered"
        return expected, "deleted"
    return None


def _linked_from_earlier(rows: Sequence[Row], i: int) -> int | None:
    """The index ``j < i - 1`` whose hash row ``i`` chains from (-1: GENESIS), if any: the rows
    between them were slipped in."""
    for j in range(i - 2, -2, -1):
        if rows[j + 1].hash == rows[i].hash:
            continue  # a copy of a row chains where the original does: not an insertion
        if _links(rows[j].hash if j >= 0 else GENESIS, rows[i]):
            return j
    return None


def _misnumbered(rows: Sequence[Row], i: int) -> Problem:
    """Row ``i`` whose record claims another seq than its row number."""
    row, claimed = rows[i], _claimed(rows[i])
    following = rows[i + 1] if i + 1 < len(rows) else None
    if following is not None and _in_place(following):
        return "edited"  # its neighbours are where they belong: this record was changed
    if claimed is not None and claimed > row.seq:
        if any(_claimed(r) == row.seq for r in rows[i + 1 :]):
            return "reordered"
        return "deleted"  # the rows from here on were renumbered down over a gap
    return "reordered"


def _diagnose(rows: Sequence[Row], i: int) -> tuple[int, Problem]:
    """Row ``i`` is numbered as expected but does not chain, or claims another seq."""
    row = rows[i]
    if _links(_hash_before(rows, i), row):
        return row.seq, "edited"  # chains, but its record and its row number disagree
    j = _linked_from_earlier(rows, i)
    if j is not None:
        return rows[j + 1].seq, "inserted"
    if _claimed(row) is not None and not _in_place(row):
        return row.seq, _misnumbered(rows, i)
    following = rows[i + 1] if i + 1 < len(rows) else None
    if following is not None and _links(_hash_before(rows, i), following):
        return row.seq, "inserted"  # the next row chains from the one before this
    return row.seq, "edited"


def _row_problem(rows: Sequence[Row], i: int) -> tuple[int, Problem] | None:
    numbering = _numbering_problem(rows, i)
    if numbering is not None:
        return numbering
    if _links(_hash_before(rows, i), rows[i]) and _in_place(rows[i]):
        return None
    return _diagnose(rows, i)


def _anchor_problem(rows: Sequence[Row], anchor: tuple[int, str]) -> tuple[int, Problem] | None:
    anchor_seq, anchor_hash = anchor
    last_seq = rows[-1].seq if rows else FIRST_SEQ - 1
    if anchor_seq > last_seq:
        return last_seq + 1, "deleted"
    if anchor_seq < FIRST_SEQ:
        return None if anchor_hash == GENESIS else (FIRST_SEQ, "edited")
    stored = next(r.hash for r in rows if r.seq == anchor_seq)
    # Rewritten and rehashed up to the anchor: the first rewritten row may be earlier.
    return None if stored == anchor_hash else (anchor_seq, "edited")


def verify_chain(
    rows: Iterable[tuple[int, Mapping[str, Any], str]],
    *,
    anchor: tuple[int, str] | None = None,
) -> ChainReport:
    """Check rows given in seq order; report the first bad one.

    - ``edited``: a row's record (or hash) no longer matches; the row after it still chains
      from its stored hash.
    - ``deleted``: a seq is missing, or the rows after a gap were renumbered (their records
      still hold their old seq).
    - ``inserted``: a seq appears twice, or a row whose hash does not fit sits between two rows
      that chain directly (or a renumbered row chains from the row before the newcomer).
    - ``reordered``: seqs go backwards, or rows sit at another row's seq.

    With ``anchor`` (a ``head`` published earlier) it also catches a chain cut short
    (``deleted``) or rewritten up to the anchor (``edited``, reported at the anchor's seq).
    A chain rewritten after the last anchor is not detectable.
    """
    checked = [Row(*row) for row in rows]
    for i in range(len(checked)):
        problem = _row_problem(checked, i)
        if problem is not None:
            return ChainReport(False, problem[0], problem[1], checked=i)
    if anchor is not None:
        problem = _anchor_problem(checked, anchor)
        if problem is not None:
            return ChainReport(False, problem[0], problem[1], checked=len(checked))
    return ChainReport(True, checked=len(checked))
