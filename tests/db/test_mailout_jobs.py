"""A mailout job's parts on both backends: a chunk run twice issues nothing twice, a cancel
stops every later commit, bad input queues nothing, the progress counts what is committed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from saraban.domain.errors import Conflict, Forbidden
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.services import mailout_jobs
from saraban.services.mailouts import MailoutError, load_plan, run_mailout
from saraban.storage.engine import session_scope
from tests.db.test_mailout import check_bundles, manifest_rows
from tests.support.mailouts import make_folder

OVEC = Principal(kind=SessionKind.OVEC, session_id=1, username="somchai", name="นายสมชาย ใจดี")
COLLEGE = Principal(
    kind=SessionKind.COLLEGE, session_id=2, username="1352016501", name="x", college_code="1"
)


def live_credentials(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(text("SELECT count(*) FROM credential WHERE status = 'live'")).scalar_one()
        )


def test_chunks_run_twice_issue_nothing_twice(tmp_path: Path, engine: Engine) -> None:
    folder = make_folder(tmp_path, 12)
    job, _plan = mailout_jobs.submit(engine, folder, tmp_path / "out", created_by="clerk")
    assert job.id is not None and job.state == "queued" and job.total == 12
    chunks = mailout_jobs.prepare(engine, job.id)
    assert sorted(c for chunk in chunks for c in chunk) == sorted(r.code for r in _plan.roster.rows)
    assert not mailout_jobs.run_chunk_job(engine, job.id, chunks[0]) or len(chunks) == 1
    issued = live_credentials(engine)
    before = {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()}
    mailout_jobs.run_chunk_job(engine, job.id, chunks[0])  # a worker's retry of the same chunk
    assert live_credentials(engine) == issued == len(chunks[0])
    assert {p.name: p.read_bytes() for p in (tmp_path / "out").iterdir()} == before
    with session_scope(engine) as session:
        status = mailout_jobs.status(session, job.id, who=OVEC)
        assert status.done == len(chunks[0]) and status.state == "running"
        with pytest.raises(Forbidden):
            mailout_jobs.status(session, job.id, who=COLLEGE)
    last = False
    for chunk in chunks[1:]:
        last = mailout_jobs.run_chunk_job(engine, job.id, chunk)
    assert last
    assert mailout_jobs.finish(engine, job.id) == "finished"
    check_bundles(engine, tmp_path / "out", {r["code"] for r in manifest_rows(tmp_path / "out")})
    with session_scope(engine) as session:
        status = mailout_jobs.status(session, job.id, who=OVEC)
    assert status.done == 12 and status.downloads == ["print-all.pdf", "manifest.csv"]


def test_a_workers_kept_plan_is_read_again_when_an_input_changes(
    tmp_path: Path, engine: Engine
) -> None:
    """A long-lived worker keeps the plan it read, but never once an input file has changed:
    the letter, the roster or an enclosure."""
    folder = make_folder(tmp_path, 3)
    job, _ = mailout_jobs.submit(engine, folder, tmp_path / "out", created_by="clerk")
    first = mailout_jobs._plan(job)
    assert mailout_jobs._plan(job) is first
    letter = folder / "letter.toml"
    letter.write_text(letter.read_text(encoding="utf-8").replace("ปีงบประมาณ", "ปีงบ"), "utf-8")
    second = mailout_jobs._plan(job)
    assert second is not first and "ปีงบ " in second.letter_file.merge({}).subject
    roster = folder / "roster.csv"
    roster.write_text("\n".join(roster.read_text(encoding="utf-8").splitlines()[:-1]) + "\n")
    third = mailout_jobs._plan(job)
    assert len(third.roster.rows) == 2 and len(second.roster.rows) == 3
    enclosure = folder / "enclosures" / "stand-in-0180.pdf"
    enclosure.write_bytes(enclosure.read_bytes() + b"\n")
    assert mailout_jobs._plan(job) is not third


def test_a_cancel_stops_every_later_commit(tmp_path: Path, engine: Engine) -> None:
    folder = make_folder(tmp_path, 12)
    job, _ = mailout_jobs.submit(engine, folder, tmp_path / "out", created_by="clerk")
    assert job.id is not None
    chunks = mailout_jobs.prepare(engine, job.id)
    assert len(chunks) >= 2
    mailout_jobs.run_chunk_job(engine, job.id, chunks[0])
    issued = live_credentials(engine)
    mailout_jobs.cancel(engine, job.id, who=OVEC)
    for chunk in chunks[1:]:
        assert not mailout_jobs.run_chunk_job(engine, job.id, chunk)
    assert live_credentials(engine) == issued
    assert mailout_jobs.finish(engine, job.id) == "cancelled"
    assert not (tmp_path / "out" / "manifest.csv").exists()
    assert not list((tmp_path / "out").glob(".*.partial"))
    with pytest.raises(Conflict, match="cancelled"):
        mailout_jobs.cancel(engine, job.id, who=OVEC)
    with pytest.raises(MailoutError, match="was cancelled"):
        run_mailout(load_plan(folder), tmp_path / "out", engine, issued_by="clerk")
    assert live_credentials(engine) == issued
    with session_scope(engine) as session:
        status = mailout_jobs.status(session, job.id, who=OVEC)
    assert status.state == "cancelled" and status.done == issued and status.downloads == []


def test_bad_input_queues_nothing(tmp_path: Path, engine: Engine) -> None:
    folder = make_folder(tmp_path, 3)
    (folder / "enclosures" / "stand-in-0180.pdf").write_bytes(b"not a pdf")
    with pytest.raises(MailoutError, match=r"stand-in-0180\.pdf: not a readable PDF"):
        mailout_jobs.submit(engine, folder, tmp_path / "out", created_by="clerk")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mailout_job")).scalar_one() == 0


def test_an_upload_is_checked_and_refused_whole(tmp_path: Path, engine: Engine) -> None:
    folder = make_folder(tmp_path, 3)
    files = [
        mailout_jobs.Upload("letter", "letter.toml", (folder / "letter.toml").read_bytes()),
        mailout_jobs.Upload("roster", "roster.csv", b"code,name\n1.35202E+09,x\n"),
        mailout_jobs.Upload("qr_sheet", "qr.toml", (folder / "qr-sheet.toml").read_bytes()),
        mailout_jobs.Upload(
            "enclosure",
            "stand-in-0180.pdf",
            (folder / "enclosures" / "stand-in-0180.pdf").read_bytes(),
        ),
    ]
    base = tmp_path / "shared"
    with pytest.raises(Exception, match=r"1\.35202E\+09"):
        mailout_jobs.submit_upload(engine, base, "round-1", files, who=OVEC)
    assert not (base / "inputs" / "round-1").exists()
    for bad in ("../x", ".hidden", "a b", ""):
        with pytest.raises(MailoutError, match="name"):
            mailout_jobs.submit_upload(engine, base, bad, files, who=OVEC)
    roster = (folder / "roster.csv").read_bytes()
    files[1] = mailout_jobs.Upload("roster", "roster.csv", roster)
    job = mailout_jobs.submit_upload(engine, base, "round-1", files, who=OVEC)
    assert job.state == "queued" and job.total == 3
    assert Path(job.folder) == (base / "inputs" / "round-1").resolve()
    with pytest.raises(MailoutError, match="exists already"):
        mailout_jobs.submit_upload(engine, base, "round-1", files, who=OVEC)
    with pytest.raises(Forbidden):
        mailout_jobs.submit_upload(engine, base, "round-2", files, who=COLLEGE)
    assert json.loads(job.errors) == []
