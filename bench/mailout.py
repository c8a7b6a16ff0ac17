"""The whole mailout beside its hash-bound limit, for the example roster and a made-up 5,000.

    .venv/bin/python -m bench.mailout [--sizes 420 5000] [--jobs N]
    .venv/bin/python -m bench.mailout --signing [--sizes 420] [--runs 3] [--jobs N]

Each size runs in a fresh process (so its peak RSS is its own) on a fresh SQLite file: the
example mailout folder with the roster swapped for one of that many colleges (the real 420, or
colleges made up for the benchmark). The limit is what hashing alone must cost: colleges × the
median time of one argon2id hash ÷ cores, measured in the same process before the run.

``--signing``: the same mailout with a letter the same for every college (signed once) and
with the seed's letter, merged per college (each college's letter signed in the workers), each
unsigned and signed, interleaved, ``--runs`` times each; medians, and what signing adds per
college beside the same letter unsigned.
The key is the tests' RSA-2048 signer (tests/support/pki.py), given as ``saraban mailout
--sign`` gives it.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "emvs-2569"
KINDS = ("วิทยาลัยเทคนิค", "วิทยาลัยอาชีวศึกษา", "วิทยาลัยการอาชีพ", "วิทยาลัยสารพัดช่าง")


def made_up_roster(count: int) -> str:
    lines = ["code,name,province"]
    for n in range(count):
        code = f"13{90000000 + n:08d}"
        lines.append(f"{code},{KINDS[n % 4]}ทดสอบที่ {n + 1},ลำปาง")
    return "\n".join(lines) + "\n"


@functools.cache
def _context() -> Any:
    from credentials import HashSettings

    return HashSettings().context()


def _hash_one(n: int) -> None:
    from credentials import hash_password

    hash_password(_context(), f"cd{n:03d}efg")


def _hash_on_every_core(cores: int, per_core: int = 100) -> float:
    """Seconds per hash when every core hashes at once (memory bandwidth is shared): what
    hashing alone costs a college in a run, measured on a sample."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(cores) as pool:
        list(pool.map(_hash_one, range(cores)))  # start the workers
        start = time.perf_counter()
        list(pool.map(_hash_one, range(cores * per_core), chunksize=per_core // 4))
        return (time.perf_counter() - start) / (cores * per_core)


SHARED, MERGED = "shared letter", "merged per college"
VARIANTS = tuple(f"{s}, {letter}" for letter in (SHARED, MERGED) for s in ("unsigned", "signed"))
MERGED_PART = (
    "{% if college is defined %} ของ{{ college.name }} ชื่อผู้ใช้ {{ college.code }}{% endif %}"
)


def run_signing(size: int, jobs: int | None, variant: str) -> dict[str, float]:
    """In this process: the mailout of ``size`` colleges as ``variant`` (see VARIANTS)."""
    from saraban.services.mailouts import MailoutSigning, load_plan, run_mailout
    from saraban.storage.engine import make_engine, upgrade_schema
    from tests.support.pki import make_pki

    signing = None
    if variant.startswith("signed"):
        pki = make_pki()
        signing = MailoutSigning(pki.p12("signer"), pki.passphrase.encode("utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "emvs-2569"
        shutil.copytree(EXAMPLE, folder)
        if size != 420:
            (folder / "roster.csv").write_text(made_up_roster(size), encoding="utf-8")
        if variant.endswith(SHARED):
            letter = folder / "letter.toml"
            text = letter.read_text(encoding="utf-8")
            letter.write_text(text.replace(MERGED_PART, ""), encoding="utf-8")
        plan = load_plan(folder)
        assert plan.letter_names_college == variant.endswith(MERGED)
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade_schema(engine)
        out = Path(tmp) / "out"
        cpu = _cpu_seconds()
        start = time.perf_counter()
        result = run_mailout(plan, out, engine, issued_by="bench", jobs=jobs, signing=signing)
        elapsed = time.perf_counter() - start
        cpu = _cpu_seconds() - cpu
        signed = sum(p.stat().st_size for p in out.glob("*.signed.pdf")) / 2**20
    return {"colleges": result.colleges, "mailout_s": elapsed, "cpu_s": cpu, "signed_mb": signed}


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the mailout's workers): what the
    work costs whatever else the machine is running."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def signing_table(sizes: list[int], jobs: int | None, runs: int) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"The mailout unsigned and signed (medians of {runs} runs, interleaved)")
    for column in ("colleges", "letters", "mailout s", "ms/college", "signing adds ms/college",
                   "CPU s", "signing adds CPU ms/college", "signed letters MB"):
        table.add_column(column, justify="right" if column != "letters" else "left")
    for size in sizes:
        seconds: dict[str, list[float]] = {v: [] for v in VARIANTS}
        cpu: dict[str, list[float]] = {v: [] for v in VARIANTS}
        signed_mb: dict[str, float] = {}
        for _ in range(runs):
            for variant in VARIANTS:
                command = [sys.executable, "-m", "bench.mailout", "--one", str(size),
                           "--variant", variant]
                if jobs:
                    command += ["--jobs", str(jobs)]
                done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                      check=True)
                r = json.loads(done.stdout.strip().splitlines()[-1])
                seconds[variant].append(r["mailout_s"])
                cpu[variant].append(r["cpu_s"])
                signed_mb[variant] = r["signed_mb"]
        for variant in VARIANTS:
            median = statistics.median(seconds[variant])
            work = statistics.median(cpu[variant])
            added = added_cpu = ""
            if variant.startswith("signed"):
                base = statistics.median(seconds["un" + variant])
                added = f"{(median - base) * 1000 / size:+.1f}"
                base_cpu = statistics.median(cpu["un" + variant])
                added_cpu = f"{(work - base_cpu) * 1000 / size:+.1f}"
            table.add_row(f"{size:,}", variant, f"{median:.1f}", f"{median * 1000 / size:.1f}",
                          added, f"{work:.1f}", added_cpu, f"{signed_mb[variant]:.1f}")
    console = Console(width=150)
    console.print(table)
    console.print(
        "CPU = user + system time of the run and its worker processes; "
        "mailout = run_mailout() on a fresh SQLite file with "
        f"{jobs or os.cpu_count()} worker processes, from reading the folder to the manifest "
        "and print file; signed = PAdES B-B with an RSA-2048 key: the shared letter once in "
        "the parent, a merged letter rendered alone and signed per college in the workers."
    )


def run_one(size: int, jobs: int | None) -> dict[str, float]:
    """In this process: measure one hash, then run the mailout of ``size`` colleges."""
    from credentials import HashSettings, hash_password
    from saraban.services.mailouts import load_plan, run_mailout
    from saraban.storage.engine import make_engine, upgrade_schema

    context = HashSettings().context()
    times = []
    for n in range(15):
        start = time.perf_counter()
        hash_password(context, f"ab{n:02d}cde")
        times.append(time.perf_counter() - start)
    one_hash = statistics.median(times)
    cores = jobs or os.cpu_count() or 1
    parallel_hash = _hash_on_every_core(cores)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "emvs-2569"
        shutil.copytree(EXAMPLE, folder)
        if size != 420:
            (folder / "roster.csv").write_text(made_up_roster(size), encoding="utf-8")
        engine = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade_schema(engine)
        start = time.perf_counter()
        result = run_mailout(
            load_plan(folder), Path(tmp) / "out", engine, issued_by="bench", jobs=jobs
        )
        elapsed = time.perf_counter() - start
        print_mb = (Path(tmp) / "out" / "print-all.pdf").stat().st_size / 2**20
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "colleges": result.colleges,
        "one_hash_ms": one_hash * 1000,
        "cores": cores,
        "limit_s": result.colleges * one_hash / cores,
        "parallel_hashes_s": result.colleges * parallel_hash,
        "mailout_s": elapsed,
        "parent_rss_mb": own,
        "worker_rss_mb": workers,
        "pages": result.pages,
        "print_mb": print_mb,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[420, 5000])
    parser.add_argument("--jobs", type=int, default=None)
    parser.add_argument("--signing", action="store_true",
                        help="the mailout unsigned, signed once, and signed per college")
    parser.add_argument("--runs", type=int, default=3, help="runs of each (--signing)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one and args.variant:
        print(json.dumps(run_signing(args.one, args.jobs, args.variant)))
        return
    if args.one:
        print(json.dumps(run_one(args.one, args.jobs)))
        return
    if args.signing:
        signing_table(args.sizes if args.sizes != [420, 5000] else [420], args.jobs, args.runs)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="The whole mailout (bundles, print file, manifest) vs hashing alone")
    for column in (
        "colleges",
        "pages",
        "one hash ms",
        "cores",
        "limit s",
        "hashes on all cores s",
        "mailout s",
        "× limit",
        "ms/college",
        "peak RSS parent MB",
        "peak RSS worker MB",
        "print file MB",
    ):
        table.add_column(column, justify="right")
    for size in args.sizes:
        command = [sys.executable, "-m", "bench.mailout", "--one", str(size)]
        if args.jobs:
            command += ["--jobs", str(args.jobs)]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=True)
        r = json.loads(done.stdout.strip().splitlines()[-1])
        table.add_row(
            f"{r['colleges']:,}",
            f"{r['pages']:,}",
            f"{r['one_hash_ms']:.1f}",
            str(r["cores"]),
            f"{r['limit_s']:.1f}",
            f"{r['parallel_hashes_s']:.1f}",
            f"{r['mailout_s']:.1f}",
            f"{r['mailout_s'] / r['limit_s']:.2f}",
            f"{r['mailout_s'] * 1000 / r['colleges']:.1f}",
            f"{r['parent_rss_mb']:.0f}",
            f"{r['worker_rss_mb']:.0f}",
            f"{r['print_mb']:.0f}",
        )
    console = Console(width=160)
    console.print(table)
    console.print(
        "limit = colleges × median one-hash time (argon2id m=19456 KiB, t=2, p=1) ÷ cores, "
        "measured in the same process; hashes on all cores = colleges × the time per hash "
        "when every core hashes at once (a sample of 100 a core); mailout = run_mailout() on a "
        "fresh SQLite file, from reading the folder to the manifest and print file."
    )


if __name__ == "__main__":
    main()
