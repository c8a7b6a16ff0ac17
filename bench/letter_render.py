"""Time saraban rendering a 4-page letter beside WeasyPrint and Typst rendering the same text,
and the mailout beside its hash-bound limit: every aim of issue #15 in one run.

    .venv/bin/python -m bench.letter_render          # installs the engines if missing, then runs
    bench/run_letter.sh                              # the same

Every engine starts from the same ``Letter`` (``load_letter_file(path).merge()``): saraban
renders it; WeasyPrint gets HTML + CSS and Typst gets Typst source generated from it
(``bench/letter_html.py``, ``bench/letter_typst.py``). Building that source is inside the timed
section, as saraban's own story building is. Cold rows run each engine's first render in a fresh
interpreter; warm rows repeat the render in one process. The PDFs go to ``bench/results/``.
See ``bench/README.md`` for what each row means.
"""

from __future__ import annotations

import argparse
import difflib
import gc
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = BENCH / "results"
REQUIREMENTS = BENCH / "requirements.txt"
DEFAULT_LETTER = BENCH / "letters" / "four-pages.toml"
ENGINES = ("saraban", "weasyprint", "typst")
MODES = ("cold: first render", "warm", "warm, caches cleared", "warm, reused Compiler")
# The aims (issue #15): saraban's first render in a fresh process, its warm render beside Typst's
# warm (memoized) compile, and the mailout beside the hash-bound limit.
COLD_AIM_MS = 300.0
WARM_AIM_RATIO = 2.0
MAILOUT_AIM_RATIO = 1.25

Render = Callable[[], bytes]


# --- installing the benchmark-only packages ---------------------------------------------------


def _requirements() -> tuple[list[str], list[str]]:
    """(pip requirement lines, apt package names) from bench/requirements.txt."""
    pip: list[str] = []
    apt: list[str] = []
    for raw in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("# apt:"):
            apt += line.removeprefix("# apt:").split()
        elif line and not line.startswith("#"):
            pip.append(line)
    return pip, apt


def _pip_satisfied(requirement: str) -> bool:
    name, _, wanted = requirement.partition("==")
    try:
        installed = importlib.metadata.version(name.strip())
    except importlib.metadata.PackageNotFoundError:
        return False
    return not wanted or installed == wanted.strip()


def _apt_missing(packages: list[str]) -> list[str]:
    if not shutil.which("dpkg-query"):
        return []  # not Debian: WeasyPrint's import tells what is missing
    missing = []
    for package in packages:
        status = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True
        )
        if "install ok installed" not in status.stdout:
            missing.append(package)
    return missing


def ensure_installed() -> None:
    """Install what bench/requirements.txt lists and is missing (idempotent)."""
    pip, apt = _requirements()
    missing_apt = _apt_missing(apt)
    if missing_apt:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print(f"apt-get install {' '.join(missing_apt)}", file=sys.stderr)
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
            subprocess.run(["apt-get", "install", "-y", "-qq", *missing_apt], check=True, env=env)
        else:
            print(f"warning: system packages missing (need root): {' '.join(missing_apt)}",
                  file=sys.stderr)
    missing_pip = [r for r in pip if not _pip_satisfied(r)]
    if missing_pip:
        print(f"pip install {' '.join(missing_pip)}", file=sys.stderr)
        result = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *missing_pip])
        if result.returncode:
            print("warning: pip install failed; those engines will show as unavailable",
                  file=sys.stderr)


# --- the engines ------------------------------------------------------------------------------


def load_letter(path: Path):  # -> letters.model.Letter
    from letters.letterfile import load_letter_file

    return load_letter_file(path).merge()


def saraban_render(letter) -> Render:
    from letters.letter import render_letter

    return lambda: render_letter(letter)


def clear_saraban_caches() -> None:
    """Forget segmented, shaped and laid-out text; fonts and the word dictionary stay loaded."""
    from letters import paragraph, segment, thaitext
    from letters.fonts import load_family

    segment.break_units.cache_clear()
    segment._words.cache_clear()
    thaitext.numerals.cache_clear()
    paragraph._LINES.clear()
    family = load_family()
    for font in {family.regular, family.bold, family.italic, family.bolditalic}:
        font.shape.cache_clear()  # type: ignore[attr-defined]


def weasyprint_render(letter) -> Render:
    from weasyprint import HTML

    from bench.letter_html import letter_html
    from bench.letter_parts import letter_parts

    return lambda: HTML(string=letter_html(letter_parts(letter))).write_pdf()


def typst_render(letter) -> Render:
    import typst

    from bench.letter_parts import FONT_DIR, letter_parts
    from bench.letter_typst import letter_typst

    def render() -> bytes:
        source = letter_typst(letter_parts(letter)).encode()
        return typst.compile(source, font_paths=[str(FONT_DIR)])

    return render


def typst_compiler_render(letter) -> Render:
    """One ``typst.Compiler`` kept across renders: fonts found once, results memoized."""
    import typst

    from bench.letter_parts import FONT_DIR, letter_parts
    from bench.letter_typst import letter_typst

    compiler = typst.Compiler(font_paths=[str(FONT_DIR)])
    return lambda: compiler.compile(input=letter_typst(letter_parts(letter)).encode())


RENDERERS: dict[str, Callable[[object], Render]] = {
    "saraban": saraban_render,
    "weasyprint": weasyprint_render,
    "typst": typst_render,
}


def engine_version(engine: str) -> str:
    try:
        return importlib.metadata.version(engine)  # the distribution names match
    except importlib.metadata.PackageNotFoundError:
        return "?"


def check_importable(engine: str) -> str | None:
    """None if the engine can be imported, else the reason (tried in a child process, so a
    half-failed import of WeasyPrint's C libraries does not poison this one)."""
    module = {"saraban": "letters.letter", "weasyprint": "weasyprint", "typst": "typst"}[engine]
    result = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, cwd=ROOT
    )
    if result.returncode == 0:
        return None
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    return lines[-1][:120] if lines else f"import {module} failed"


# --- measuring --------------------------------------------------------------------------------


@dataclass
class Row:
    engine: str
    mode: str
    runs: int = 0  # wanted
    render: Render | None = None
    before: Callable[[], None] | None = None  # untimed, before each timed run
    times: list[float] = field(default_factory=list)  # seconds
    cpu: list[float] = field(default_factory=list)  # seconds of this process's CPU
    imports: list[float] = field(default_factory=list)  # cold rows: import + letter load
    pdf: bytes | None = None
    note: str = ""
    unavailable: str | None = None

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p90(self) -> float:
        if len(self.times) < 2:
            return self.times[0]
        return statistics.quantiles(self.times, n=10, method="inclusive")[-1]


def fail_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0][:100]}" if text else repr(exc)


def time_round_robin(rows: list[Row], warmup: int = 2) -> None:
    """Warm runs, one row after another in turn, so that load from other processes on the
    machine falls on every engine alike rather than on whichever ran at the time."""
    live = [row for row in rows if row.render and not row.unavailable]
    for row in list(live):
        try:
            for _ in range(warmup):
                row.pdf = row.render()  # type: ignore[misc]
        except Exception as exc:  # an engine that fails is reported, not fatal
            row.unavailable = fail_reason(exc)
            live.remove(row)
    for n in range(max((row.runs for row in live), default=0)):
        for row in live:
            if n >= row.runs:
                continue
            if row.before:
                row.before()
            gc.collect()
            cpu = time.process_time()
            start = time.perf_counter()
            pdf = row.render()  # type: ignore[misc]
            row.times.append(time.perf_counter() - start)
            row.cpu.append(time.process_time() - cpu)
            row.pdf = pdf


def cold_child(engine: str, letter_path: Path) -> None:
    """In a fresh interpreter: import, load the letter, render once; print the times as JSON."""
    start = time.perf_counter()
    letter = load_letter(letter_path)
    render = RENDERERS[engine](letter)
    imported = time.perf_counter()
    pdf = render()
    done = time.perf_counter()
    print(json.dumps({"import": imported - start, "first": done - imported, "size": len(pdf)}))


def time_cold(rows: list[Row], letter_path: Path) -> None:
    """Each run a fresh interpreter per engine, engines in turn."""
    live = [row for row in rows if not row.unavailable]
    for n in range(max((row.runs for row in live), default=0)):
        for row in live:
            if n >= row.runs or row.unavailable:
                continue
            result = subprocess.run(
                [sys.executable, "-m", "bench.letter_render", "--cold-child", row.engine,
                 "--letter", str(letter_path)],
                capture_output=True, text=True, cwd=ROOT,
            )
            if result.returncode:
                lines = result.stderr.strip().splitlines() or ["failed"]
                row.unavailable = lines[-1][:120]
                continue
            data = json.loads(result.stdout.strip().splitlines()[-1])
            row.times.append(data["first"])
            row.imports.append(data["import"])


# --- reporting --------------------------------------------------------------------------------


def pdf_pages(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


def text_match(pdf: bytes, expected: str) -> float:
    """How much of the letter's text pypdf reads back from the PDF (difflib ratio, no spaces)."""
    from pypdf import PdfReader

    extracted = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    squash = re.compile(r"[\s\u00a0]+")
    a, b = squash.sub("", expected), squash.sub("", extracted)
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def expected_text(letter) -> str:
    from bench.letter_parts import letter_parts

    p = letter_parts(letter)
    pieces = [p.reference, *p.address_lines, p.date, "เรื่อง", p.subject, "เรียน", p.to]
    for item in (*p.references, *p.enclosures):
        pieces += [item.label, item.number, item.text]
    pieces += [*p.body, p.closing, *p.signature, *p.unit_lines]
    return "".join(pieces)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f}"


def print_table(rows: list[Row], expected: str, footer: str) -> None:
    from rich.console import Console
    from rich.table import Table

    baseline = {row.mode: row for row in rows if row.engine == "saraban" and row.times}
    baseline["warm, caches cleared"] = baseline.get("warm")  # type: ignore[assignment]
    baseline["warm, reused Compiler"] = baseline.get("warm")  # type: ignore[assignment]
    matches: dict[bytes, str] = {}
    table = Table(title="Rendering the same 4-page letter (bench/letters/four-pages.toml)")
    for name, justify in (
        ("engine", "left"), ("mode", "left"), ("runs", "right"), ("median ms", "right"),
        ("p90 ms", "right"), ("CPU ms", "right"), ("× saraban", "right"), ("+import ms", "right"),
        ("pages", "right"),
        ("PDF KB", "right"), ("text layer", "right"), ("note", "left"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for row in rows:
        if row.unavailable or not row.times:
            reason = row.unavailable or "no runs"
            table.add_row(row.engine, row.mode, "", "", "", "", "", "", "", "", "",
                          f"unavailable: {reason}")
            continue
        base = baseline.get(row.mode)
        ratio = f"{row.median / base.median:.2f}" if base else ""
        imports = _ms(statistics.median(row.imports)) if row.imports else ""
        pages = size = match = ""
        if row.pdf:
            pages, size = str(pdf_pages(row.pdf)), f"{len(row.pdf) / 1024:.0f}"
            if row.pdf not in matches:
                matches[row.pdf] = f"{text_match(row.pdf, expected):.0%}"
            match = matches[row.pdf]
        cpu = _ms(statistics.median(row.cpu)) if row.cpu else ""
        table.add_row(row.engine, row.mode, str(len(row.times)), _ms(row.median), _ms(row.p90),
                      cpu, ratio, imports, pages, size, match, row.note)
    console = Console(width=max(160, shutil.get_terminal_size().columns))
    console.print(table)
    console.print(footer)


def print_aims(cold: Row, warm: Row, typst_fresh: Row, typst_warm: Row,
               mailout: dict[str, float] | None) -> None:
    """The issue's three speed aims against this run's figures."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Aims (issue #15), this run")
    for name in ("aim", "measured", "target", "met"):
        table.add_column(name, justify="left" if name == "aim" else "right")

    def row(aim: str, value: float | None, shown: str, target: str, ok: bool) -> None:
        table.add_row(aim, shown if value is not None else "n/a", target,
                      ("yes" if ok else "NO") if value is not None else "n/a")

    first = cold.median * 1000 if cold.times else None
    row("saraban first render, fresh process", first, f"{first or 0:,.1f} ms",
        f"≤ {COLD_AIM_MS:.0f} ms", first is not None and first <= COLD_AIM_MS)
    if warm.times and typst_warm.times:
        ratio = warm.median / typst_warm.median
        row("saraban warm ÷ Typst warm (reused Compiler)", ratio,
            f"{warm.median * 1000:.1f} ÷ {typst_warm.median * 1000:.1f} ms = {ratio:.2f}×",
            f"≤ {WARM_AIM_RATIO:.1f}×", ratio <= WARM_AIM_RATIO)
        cpu = statistics.median(warm.cpu) / statistics.median(typst_warm.cpu)
        row("  the same in CPU time", cpu, f"{cpu:.2f}×", f"≤ {WARM_AIM_RATIO:.1f}×",
            cpu <= WARM_AIM_RATIO)
    else:
        row("saraban warm ÷ Typst warm (reused Compiler)", None, "", f"≤ {WARM_AIM_RATIO}×",
            False)
    if warm.times and typst_fresh.times:
        fresh = warm.median / typst_fresh.median
        table.add_row("  (saraban warm ÷ typst.compile())", f"{fresh:.2f}×", "", "")
    if mailout:
        ratio = mailout["mailout_s"] / mailout["limit_s"]
        row(f"mailout of {mailout['colleges']:.0f} colleges ÷ hash-bound limit", ratio,
            f"{mailout['mailout_s']:.1f} ÷ {mailout['limit_s']:.1f} s = {ratio:.2f}×",
            f"≤ {MAILOUT_AIM_RATIO}×", ratio <= MAILOUT_AIM_RATIO)
    else:
        row("mailout ÷ hash-bound limit", None, "", f"≤ {MAILOUT_AIM_RATIO}×", False)
    Console(width=max(120, shutil.get_terminal_size().columns)).print(table)
    if mailout:
        print(f"mailout: one argon2id hash {mailout['one_hash_ms']:.1f} ms on "
              f"{mailout['cores']:.0f} cores; hashes on all cores at once "
              f"{mailout['parallel_hashes_s']:.1f} s; {mailout['pages']:.0f} pages.")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.letter_render", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--letter", type=Path, default=DEFAULT_LETTER)
    parser.add_argument("--runs", type=int, default=30, help="warm saraban runs (30)")
    parser.add_argument("--other-runs", type=int, default=10,
                        help="warm WeasyPrint and Typst runs (10)")
    parser.add_argument("--cold-runs", type=int, default=5, help="fresh processes per engine (5)")
    parser.add_argument("--no-install", action="store_true", help="do not pip/apt install")
    parser.add_argument("--mailout", type=int, default=420, metavar="COLLEGES",
                        help="also run the mailout of this many colleges (420; 0: skip)")
    parser.add_argument("--cold-child", choices=ENGINES, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    letter_path = args.letter.resolve()

    if args.cold_child:
        cold_child(args.cold_child, letter_path)
        return 0
    if not args.no_install:
        ensure_installed()

    from bench.letter_html import letter_html
    from bench.letter_parts import letter_parts
    from bench.letter_typst import letter_typst

    letter = load_letter(letter_path)
    unavailable = {engine: check_importable(engine) for engine in ENGINES}
    cold = {e: Row(e, MODES[0], args.cold_runs, unavailable=unavailable[e]) for e in ENGINES}
    for row in cold.values():
        row.note = "fresh process"
    warm_runs = {e: args.runs if e == "saraban" else args.other_runs for e in ENGINES}
    warm = {e: Row(e, MODES[1], warm_runs[e], unavailable=unavailable[e]) for e in ENGINES}
    warm["saraban"].note = "words cached by earlier runs"
    warm["weasyprint"].note = "HTML(string=…).write_pdf()"
    warm["typst"].note = "typst.compile(): fresh compile, fonts found anew"
    extra = [
        Row("saraban", MODES[2], args.runs, before=clear_saraban_caches,
            unavailable=unavailable["saraban"], note="segment/shape caches emptied"),
        Row("typst", MODES[3], args.other_runs, unavailable=unavailable["typst"],
            note="memoized recompile"),
    ]
    for engine, row in warm.items():
        if not row.unavailable:
            row.render = RENDERERS[engine](letter)
    if not extra[0].unavailable:
        extra[0].render = saraban_render(letter)
    if not extra[1].unavailable:
        try:
            extra[1].render = typst_compiler_render(letter)
        except Exception as exc:
            extra[1].unavailable = fail_reason(exc)

    print(f"cold: {args.cold_runs} fresh processes per engine ...", file=sys.stderr)
    time_cold(list(cold.values()), letter_path)
    print(f"warm: {args.runs} saraban runs, {args.other_runs} per other engine, in turn ...",
          file=sys.stderr)
    rows = [*warm.values(), *extra]
    time_round_robin(rows)
    rows = [*cold.values(), *rows]
    for engine in ENGINES:
        cold[engine].pdf = warm[engine].pdf

    RESULTS.mkdir(exist_ok=True)
    for engine in ENGINES:
        out = RESULTS / f"{engine}.pdf"
        if warm[engine].pdf:
            out.write_bytes(warm[engine].pdf)
        else:
            out.unlink(missing_ok=True)  # no stale PDF from an earlier run
    parts = letter_parts(letter)
    (RESULTS / "letter.html").write_text(letter_html(parts), "utf-8")
    (RESULTS / "letter.typ").write_text(letter_typst(parts), "utf-8")

    versions = ", ".join(
        f"{e} {'unavailable' if unavailable[e] else engine_version(e)}" for e in ENGINES
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    footer = (
        f"{os.cpu_count()} CPUs, load average {load}; Python {platform.python_version()}, "
        f"{platform.machine()}; {versions}.\n"
        "× saraban: median ÷ saraban's median (cold ÷ cold, warm rows ÷ saraban warm). "
        "+import ms: import and letter loading before a cold render.\n"
        "text layer: share of the letter's text pypdf reads back. HTML and Typst versions "
        "leave out saraban's continuation words (คำต่อ).\n"
        f"PDFs, letter.html and letter.typ: {RESULTS.relative_to(ROOT)}/"
    )
    print_table(rows, expected_text(letter), footer)
    mailout = None
    if args.mailout:
        print(f"mailout: {args.mailout} colleges ...", file=sys.stderr)
        done = subprocess.run([sys.executable, "-m", "bench.mailout", "--one", str(args.mailout)],
                              cwd=ROOT, capture_output=True, text=True)
        if done.returncode == 0:
            mailout = json.loads(done.stdout.strip().splitlines()[-1])
        else:
            print(f"mailout failed: {done.stderr.strip()[-300:]}", file=sys.stderr)
    print_aims(cold["saraban"], warm["saraban"], warm["typst"], extra[1], mailout)
    summary = [
        {"engine": r.engine, "mode": r.mode, "unavailable": r.unavailable,
         "times_ms": [round(t * 1000, 3) for t in r.times],
         "import_ms": [round(t * 1000, 3) for t in r.imports],
         "median_ms": r.median * 1000 if r.times else None,
         "p90_ms": r.p90 * 1000 if r.times else None,
         "bytes": len(r.pdf) if r.pdf else None}
        for r in rows
    ]
    (RESULTS / "results.json").write_text(json.dumps(summary, indent=1), "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
