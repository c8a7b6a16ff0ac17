"""The mailout: bundles as a college opens them, bad input that changes nothing, crashes."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pypdf
import pypdfium2
import pytest
import zxingcpp
from sqlalchemy import text
from sqlalchemy.engine import Engine

from saraban.domain.roster import RosterError
from saraban.services.credentials import verify
from saraban.services.mailouts import MailoutError, load_plan, run_mailout
from saraban.settings import Settings
from saraban.storage.engine import make_engine, session_scope, upgrade_schema
from tests.support.letters import ROOT
from tests.support.mailouts import make_folder, slip_credentials
from tests.support.pdftext import page_texts, squash

EXAMPLE = ROOT / "examples" / "emvs-2569"
LAMPANG = "1352016501"
QR_URLS = {
    "https://example.org/emvs-2569/plan",
    "https://example.org/emvs-2569/tools",
}


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.execute(text(f"select count(*) from {table}")).scalar_one()
            for table in ("college", "credential", "mailout", "mailout_item", "dispatch_entry")
        }


def manifest_rows(out: Path) -> list[dict[str, str]]:
    data = (out / "manifest.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens the Thai
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


def check_bundles(engine: Engine, out: Path, codes: set[str]) -> None:
    """Every college: one live credential, its bundle, a slip that verifies; nothing partial."""
    with engine.connect() as conn:
        live = dict(
            conn.execute(
                text(
                    "select college_code, count(*) from credential where status = 'live' "
                    "group by college_code"
                )
            ).all()
        )
    assert live == dict.fromkeys(codes, 1)
    rows = manifest_rows(out)
    assert {r["code"] for r in rows} == codes
    for row in rows:
        bundle = (out / row["file"]).read_bytes()
        assert pypdf.PdfReader(io.BytesIO(bundle)).pages  # opens
        assert hashlib.sha256(bundle).hexdigest() == row["sha256"]
        (password,) = slip_credentials(bundle).values()
        assert verify(engine, Settings(), code=row["code"], password=password).ok
    assert not list(out.glob(".*.partial"))


def test_bundle_as_a_college_opens_it(tmp_path: Path, engine: Engine) -> None:
    folder = make_folder(tmp_path)
    out = tmp_path / "out"
    result = run_mailout(load_plan(folder), out, engine, issued_by="clerk")
    assert result.colleges == 8 and result.issued_now == 8
    bundle = (out / f"{LAMPANG}.pdf").read_bytes()
    pages = page_texts(bundle, "pypdf")
    assert len(pages) == 5  # letter (2), enclosure 1, QR sheet, slip: the letter's order
    letter = squash("".join(pages[:2]))
    assert squash("ของวิทยาลัยสารพัดช่างลำปาง ชื่อผู้ใช้ 1352016501") in letter
    assert squash("ที่ ศธ ๐๖๐๓/ว ๕๕๕๓") in letter
    assert "STAND-IN" in pages[2]
    assert squash("แผนการติดตามและเครื่องมือที่ใช้ในการเก็บข้อมูล") in squash(pages[3])
    image = pypdfium2.PdfDocument(bundle)[3].render(scale=150 / 72).to_pil()
    assert {b.text for b in zxingcpp.read_barcodes(image)} == QR_URLS
    assert "1352016501" in pages[4] and "วิทยาลัยสารพัดช่างลำปาง" in pages[4]
    check_bundles(engine, out, {r.code for r in load_plan(folder).roster.rows})
    with engine.connect() as db:
        stored = db.execute(
            text(
                "SELECT m.letter_date, i.letter_pages FROM mailout m "
                "JOIN mailout_item i ON i.mailout_id = m.id WHERE i.college_code = :code"
            ),
            {"code": LAMPANG},
        ).one()
    assert str(stored[0]) == "2026-04-10" and stored[1] == 2  # the letter's date and pages

    manifest = (out / "manifest.csv").read_text(encoding="utf-8-sig")
    for password in slip_credentials((out / "print-all.pdf").read_bytes()).values():
        assert password not in manifest
    printed = pypdf.PdfReader(out / "print-all.pdf")
    assert len(printed.pages) == 8 * 6  # each 5-page bundle padded to start on an odd page
    # Bundles made together share their fonts in the print file: it holds them once.
    bundles = [(out / row["file"]).stat().st_size for row in manifest_rows(out)]
    base = len(bundle[: bundle.index(b"%%EOF")])
    own = sum(size - base for size in bundles)
    print_size = (out / "print-all.pdf").stat().st_size
    assert print_size < base + own * 0.6, (print_size, base, own)
    first = manifest_rows(out)[0]
    assert first["code"] in printed.pages[4].extract_text()  # the first bundle's slip
    assert printed.pages[5].extract_text() == ""  # the blank that keeps duplex apart


def test_rerun_of_a_finished_mailout_changes_nothing(tmp_path: Path, engine: Engine) -> None:
    folder = make_folder(tmp_path, 4)
    out = tmp_path / "out"
    run_mailout(load_plan(folder), out, engine, issued_by="clerk")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    counts = table_counts(engine)
    again = run_mailout(load_plan(folder), out, engine, issued_by="clerk")
    assert again.issued_now == 0 and not again.manifest_changed
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert table_counts(engine) == counts


def test_register_numbers_the_circular_once(tmp_path: Path, engine: Engine) -> None:
    def unnumbered(source: str) -> str:
        return source.replace('number = "5553"\n', "")

    first = make_folder(tmp_path, 3, edit=unnumbered)
    run_mailout(load_plan(first), tmp_path / "out-a", engine, issued_by="clerk")
    rows = manifest_rows(tmp_path / "out-a")
    assert {r["letter_number"] for r in rows} == {"ศธ 0603/ว 1"}
    text_a = "".join(page_texts((tmp_path / "out-a" / rows[0]["file"]).read_bytes(), "pypdf"))
    assert "ศธ ๐๖๐๓/ว ๑" in text_a

    clash = make_folder(tmp_path, 2, edit=unnumbered, name="round-2")
    with pytest.raises(MailoutError, match="already have a live credential"):
        run_mailout(load_plan(clash), tmp_path / "out-b", engine, issued_by="clerk")
    second = make_folder(tmp_path, 2, edit=unnumbered, name="round-3", skip=20)
    run_mailout(load_plan(second), tmp_path / "out-c", engine, issued_by="clerk")
    assert {r["letter_number"] for r in manifest_rows(tmp_path / "out-c")} == {"ศธ 0603/ว 2"}


def test_external_letter_gets_a_number_per_college(tmp_path: Path, engine: Engine) -> None:
    def external(source: str) -> str:
        return source.replace('kind = "circular"', 'kind = "external"').replace(
            'number = "5553"\n', ""
        )

    folder = make_folder(tmp_path, 3, edit=external)
    run_mailout(load_plan(folder), tmp_path / "out", engine, issued_by="clerk")
    numbers = sorted(r["letter_number"] for r in manifest_rows(tmp_path / "out"))
    assert numbers == ["ศธ 0603/1", "ศธ 0603/2", "ศธ 0603/3"]


def test_a_letter_the_same_for_everyone_is_rendered_once_and_shared(
    tmp_path: Path, engine: Engine
) -> None:
    def unnamed(source: str) -> str:
        return source.replace(
            "{% if college is defined %} ของ{{ college.name }} ชื่อผู้ใช้ {{ college.code }}"
            "{% endif %}",
            "",
        )

    folder = make_folder(tmp_path, 3, edit=unnamed)
    plan = load_plan(folder)
    assert not plan.letter_names_college
    out = tmp_path / "out"
    run_mailout(plan, out, engine, issued_by="clerk")
    letters = set()
    for row in manifest_rows(out):
        pages = page_texts((out / row["file"]).read_bytes(), "pypdf")
        assert len(pages) == 5 and row["code"] in pages[4]  # letter (2), enclosure, QR, slip
        letters.add("".join(pages[:2]))
    assert len(letters) == 1 and squash("ที่ ศธ ๐๖๐๓/ว ๕๕๕๓") in squash(letters.pop())
    with engine.connect() as db:
        assert db.execute(text("SELECT DISTINCT letter_pages FROM mailout_item")).all() == [(2,)]
    check_bundles(engine, out, {r.code for r in plan.roster.rows})


BAD_INPUTS = {
    "roster with a mangled code": (
        lambda f: (f / "roster.csv").write_text(
            (f / "roster.csv").read_text(encoding="utf-8").replace(LAMPANG, "1.35202E+09"),
            encoding="utf-8",
        ),
        RosterError,
        "1.35202E+09",
    ),
    "missing enclosure": (
        lambda f: (f / "enclosures" / "stand-in-0180.pdf").unlink(),
        MailoutError,
        "stand-in-0180.pdf",
    ),
    "unreadable PDF enclosure": (
        lambda f: (f / "enclosures" / "stand-in-0180.pdf").write_bytes(b"not a pdf at all"),
        MailoutError,
        "stand-in-0180.pdf: not a readable PDF",
    ),
    "template error": (
        lambda f: (f / "letter.toml").write_text(
            (f / "letter.toml")
            .read_text(encoding="utf-8")
            .replace("{{ college.code }}", "{{ college.username }}"),
            encoding="utf-8",
        ),
        MailoutError,
        "key 'body'",
    ),
    "a college name too long for its slip": (
        lambda f: (f / "roster.csv").write_text(
            (f / "roster.csv")
            .read_text(encoding="utf-8")
            .replace("วิทยาลัยสารพัดช่างลำปาง", "วิทยาลัยเทคนิค" + "เฉลิมพระเกียรติ" * 14, 1),
            encoding="utf-8",
        ),
        MailoutError,
        "college 1352016501: college name too long for the slip",
    ),
    "unknown setting": (
        lambda f: (f / "mailout.toml").write_text(
            "colour = 1\n" + (f / "mailout.toml").read_text(encoding="utf-8"), encoding="utf-8"
        ),
        MailoutError,
        "mailout.toml:1: key 'colour'",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_stops_before_anything_is_issued(
    tmp_path: Path, engine: Engine, case: str
) -> None:
    folder = make_folder(tmp_path, 3)
    spoil, error, message = BAD_INPUTS[case]
    spoil(folder)
    before = table_counts(engine)
    with pytest.raises(error, match=message.replace("(", r"\(").replace("+", r"\+")):
        run_mailout(load_plan(folder), tmp_path / "out", engine, issued_by="clerk")
    assert table_counts(engine) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_killed_at_any_moment_a_rerun_finishes_the_job(tmp_path: Path) -> None:
    """SIGKILL the real command at several points; rerunning it always ends whole."""
    folder = make_folder(tmp_path, 12)
    codes = {r.code for r in load_plan(folder).roster.rows}
    for n, delay in enumerate([0.6, 1.2, 1.8, 2.4, 3.2, 4.5]):
        work = tmp_path / f"run{n}"
        work.mkdir()
        env = {**os.environ, "SARABAN_DB": str(work / "s.db")}
        env.pop("DATABASE_URL", None)
        command = [
            sys.executable,
            "-m",
            "saraban.cli",
            "mailout",
            str(folder),
            "--out",
            str(work / "out"),
        ]
        process = subprocess.Popen(
            command,
            env=env,
            cwd=work,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGKILL)  # the workers die with it
        process.wait()
        finished = subprocess.run(
            command, env=env, cwd=work, capture_output=True, text=True, timeout=300
        )
        assert finished.returncode == 0, finished.stderr
        engine = make_engine(f"sqlite:///{work / 's.db'}")
        upgrade_schema(engine)
        check_bundles(engine, work / "out", codes)
        # The print file holds every bundle once, in the manifest's order, each slip its own.
        printed = slip_credentials((work / "out" / "print-all.pdf").read_bytes())
        assert list(printed) == [row["code"] for row in manifest_rows(work / "out")]
        assert len(pypdf.PdfReader(work / "out" / "print-all.pdf").pages) == 12 * 6
        before = {p.name: p.read_bytes() for p in (work / "out").iterdir()}
        rerun = subprocess.run(command, env=env, cwd=work, capture_output=True, timeout=300)
        assert rerun.returncode == 0
        assert {p.name: p.read_bytes() for p in (work / "out").iterdir()} == before
        with session_scope(engine) as session:
            assert session.execute(text("select count(*) from credential")).scalar_one() == 12
        engine.dispose()


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_ctrl_c_or_sigterm_stops_the_workers_and_a_rerun_finishes(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    """Ctrl-C (SIGINT to the terminal's process group) or SIGTERM (to the command alone): the
    command stops its worker processes, none is left with the database open, it exits 130 or
    143, and running it again finishes the job."""
    folder = make_folder(tmp_path, 240)  # many chunks: still under way when signalled
    env = {**os.environ, "SARABAN_DB": str(tmp_path / "s.db")}
    env.pop("DATABASE_URL", None)
    command = [sys.executable, "-m", "saraban.cli", "mailout", str(folder), "--out", "out"]
    process = subprocess.Popen(
        command,
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while not list((tmp_path / "out").glob("*.pdf")):  # a chunk committed: the rest under way
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == code, stderr
    assert b"run the same command again" in stderr
    left = subprocess.run(["pgrep", "-g", str(process.pid)], capture_output=True, text=True)
    assert left.stdout.strip() == ""  # no process of its group is left
    finished = subprocess.run(command, env=env, cwd=tmp_path, capture_output=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    engine = make_engine(f"sqlite:///{tmp_path / 's.db'}")
    try:
        check_bundles(engine, tmp_path / "out", {r.code for r in load_plan(folder).roster.rows})
    finally:
        engine.dispose()
