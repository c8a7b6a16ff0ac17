"""Time issuing credentials for a roster beside the hash-bound limit.

    .venv/bin/python -m bench.credentials_issue [--roster examples/emvs-2569/roster.csv]

The limit is what hashing alone must cost: colleges × the median time of one argon2id hash
(OWASP minimum, m=19 MiB, t=2, p=1) ÷ cores, measured in the same run. The issue time is the
whole ``issue()``: reading the database, drawing passwords, hashing over a process pool,
rendering the slips, committing, and renaming the slips into place, on a fresh SQLite file.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from credentials import DEFAULT_POLICY, HashSettings, generate, hash_many, hash_password
from letters.slip import render_slips
from saraban.domain.roster import read_roster
from saraban.services.credentials import issue
from saraban.storage import store
from saraban.storage.engine import make_engine, session_scope, upgrade_schema

ROOT = Path(__file__).resolve().parent.parent


def one_hash_seconds(settings: HashSettings, runs: int = 15) -> float:
    context = settings.context()
    times = []
    for n in range(runs):
        start = time.perf_counter()
        hash_password(context, f"ab{n:02d}cde")
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_issue(roster: Path, per_page: int) -> tuple[float, int]:
    rows = read_roster(roster).rows
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade_schema(engine)
        with session_scope(engine) as session:
            store.import_colleges(session=session, colleges=rows)
        start = time.perf_counter()
        result = issue(
            engine,
            slips_path=Path(tmp) / "slips.pdf",
            render=lambda slips: render_slips(slips, per_page=per_page),
            issued_by="bench",
        )
        elapsed = time.perf_counter() - start
        engine.dispose()
    return elapsed, result.count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--roster", type=Path, default=ROOT / "examples/emvs-2569/roster.csv")
    parser.add_argument("--per-page", type=int, default=1)
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    settings = HashSettings()
    hash_s = one_hash_seconds(settings)
    elapsed, count = timed_issue(args.roster, args.per_page)
    limit = count * hash_s / cores
    passwords = [generate(DEFAULT_POLICY) for _ in range(count)]
    start = time.perf_counter()
    hash_many(settings, passwords)
    hashing_alone = time.perf_counter() - start
    table = Table(title=f"Issuing credentials for {args.roster.name}")
    columns = (
        "colleges",
        "one hash ms",
        "cores",
        "limit s",
        "hashing alone s",
        "issue s",
        "× limit",
        "× hashing alone",
    )
    for column in columns:
        table.add_column(column, justify="right")
    table.add_row(
        str(count),
        f"{hash_s * 1000:.1f}",
        str(cores),
        f"{limit:.2f}",
        f"{hashing_alone:.2f}",
        f"{elapsed:.2f}",
        f"{elapsed / limit:.2f}",
        f"{elapsed / hashing_alone:.2f}",
    )
    console = Console(width=120)
    console.print(table)
    console.print(
        "limit = colleges × median one-hash time ÷ cores (argon2id m=19456 KiB, t=2, p=1), "
        "measured in this run; hashing alone = hash_many() of as many passwords over the "
        "cores (what parallel argon2 costs on this machine); issue = the whole issue() on a "
        "fresh SQLite file."
    )


if __name__ == "__main__":
    main()
