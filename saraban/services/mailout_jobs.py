"""Mailouts as background jobs: the job, its parts and its progress.

A mailout job is three kinds of work, each written once (in saraban.services.mailouts) and run
either here, in worker processes of this machine (``saraban mailout``, and ``saraban serve``'s
local worker on SQLite), or by ``saraban worker`` processes on any number of machines through
the PostgreSQL queue (saraban.services.job_queue):

1. **prepare** (:func:`prepare`): check the inputs, import the roster, number the letter, list
   one pending item per college, finish what a crash left half done; the pending colleges cut
   into chunks;
2. **chunk** (:func:`run_chunk_job`): each chunk's bundles made and committed, idempotently;
3. **finish** (:func:`finish`): the print file and the manifest, once every college is
   committed.

Progress is counted from the mailout's items (committed / total), so every runner reports it
the same way, and a cancel (:func:`cancel`) is a state the chunks' commits check under a row
lock: what is committed stays, the rest is never issued.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from credentials import HashSettings
from saraban.domain import principal
from saraban.domain.errors import Conflict, NotFound
from saraban.domain.principal import Principal
from saraban.services import audit
from saraban.services.mailouts import (
    ChunkErrors,
    MailoutError,
    MailoutPlan,
    MailoutResult,
    MailoutSigning,
    WorkerDied,
    _chunks,
    _finish,
    _init_worker,
    _Job,
    _number_of,
    _prepare,
    _recover,
    _shared_pdfs,
    _worker,
    check_signing,
    load_plan,
    run_chunk,
    run_mailout,
    sign_shared_letter,
    signing_of,
)
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    JOB_DONE_STATES,
    College,
    JobState,
    Mailout,
    MailoutItem,
    MailoutJob,
    MailoutState,
    utcnow,
)

# The queue's chunks are cut for the workers alive when the job is prepared (as the command
# cuts them for its processes): large first, so that fonts and the letter's lines are drawn
# once for many colleges, smaller towards the end, so that every worker stays busy to the end.
DEFAULT_QUEUE_WORKERS = 2
DOWNLOADS = ("print-all.pdf", "manifest.csv")


class JobNotFound(NotFound):
    def __init__(self, job_id: int) -> None:
        super().__init__(f"mailout job {job_id}: no such job")


class JobFinished(Conflict):
    def __init__(self, job_id: int, state: str) -> None:
        super().__init__(f"mailout job {job_id} is {state}: it cannot be cancelled")


class JobError(BaseModel):
    college: str | None = Field(description="the college's institution code, if one")
    message: str


class JobStatus(BaseModel):
    """A mailout job as OVEC follows it."""

    id: int
    name: str
    state: str = Field(description="queued, running, finished, failed or cancelled")
    mailout_id: int | None
    total: int = Field(description="colleges in the roster")
    done: int = Field(description="colleges whose bundle and credential are committed")
    rate: float | None = Field(description="colleges per second since the job started")
    seconds_left: float | None = Field(description="at that rate")
    errors: list[JobError]
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    downloads: list[str] = Field(description="files ready to download: print-all.pdf, ...")


# --------------------------------------------------------------------------- #
# The job row
# --------------------------------------------------------------------------- #


def submit(
    engine: Engine,
    folder: Path,
    out: Path,
    *,
    created_by: str,
    roster: Path | None = None,
) -> tuple[MailoutJob, MailoutPlan]:
    """Check a mailout folder (nothing is recorded if anything is wrong) and record its job,
    queued. A job of the same name that has not ended is given back instead of a second one."""
    plan = load_plan(folder, roster)
    out = out.resolve()
    with session_scope(engine, immediate=True) as session:
        job = session.exec(
            select(MailoutJob)
            .where(MailoutJob.name == plan.name)
            .order_by(col(MailoutJob.id).desc())
        ).first()
        if job is not None and Path(job.out_dir) == out and job.state not in JOB_DONE_STATES:
            return job, plan
        if job is not None and job.state == JobState.CANCELLED:
            raise MailoutError(
                f"mailout {plan.name} was cancelled: what it issued stands, the rest is never "
                "issued; send the remaining colleges as a new mailout"
            )
        job = MailoutJob(
            name=plan.name,
            folder=str(plan.folder),
            roster_path=str(roster.resolve()) if roster else None,
            out_dir=str(out),
            total=len(plan.roster.rows),
            created_by=created_by,
        )
        session.add(job)
        session.flush()
        audit.record(session, "mailout_queued", created_by, f"mailout_job:{job.id}", {})
    return job, plan


def _job(session: Session, job_id: int) -> MailoutJob:
    job = session.get(MailoutJob, job_id)
    if job is None:
        raise JobNotFound(job_id)
    return job


def _set_state(engine: Engine, job_id: int, state: JobState, **fields: object) -> None:
    with session_scope(engine, immediate=True) as session:
        job = _job(session, job_id)
        if job.state == JobState.CANCELLED:
            return
        job.state = state
        for key, value in fields.items():
            setattr(job, key, value)
        if state in JOB_DONE_STATES:
            job.finished_at = utcnow()
        session.add(job)


def _add_errors(engine: Engine, job_id: int, errors: list[tuple[str | None, str]]) -> None:
    if not errors:
        return
    with session_scope(engine, immediate=True) as session:
        job = session.exec(
            select(MailoutJob).where(MailoutJob.id == job_id).with_for_update()
        ).one()
        known = json.loads(job.errors)
        for code, message in errors:
            entry = {"college": code, "message": message}
            if entry not in known:
                known.append(entry)
        job.errors = json.dumps(known, ensure_ascii=False)
        session.add(job)


def fail(engine: Engine, job_id: int, message: str) -> None:
    """The job stops with ``message`` (its inputs were refused, or something broke)."""
    _add_errors(engine, job_id, [(None, message)])
    _set_state(engine, job_id, JobState.FAILED)


def cancel(engine: Engine, job_id: int, *, who: Principal) -> MailoutJob:
    """Stop a job that has not ended: what is committed stays, the rest is never issued."""
    principal.ovec(who)
    with session_scope(engine, immediate=True) as session:
        job = session.exec(
            select(MailoutJob).where(MailoutJob.id == job_id).with_for_update()
        ).one_or_none()
        if job is None:
            raise JobNotFound(job_id)
        if job.state in JOB_DONE_STATES:
            raise JobFinished(job_id, job.state)
        job.state, job.finished_at = JobState.CANCELLED, utcnow()
        session.add(job)
        if job.mailout_id is not None:
            mailout = session.get(Mailout, job.mailout_id)
            if mailout is not None:
                mailout.state, mailout.finished_at = MailoutState.CANCELLED, utcnow()
                session.add(mailout)
        audit.record(session, "mailout_cancelled", who.actor, f"mailout_job:{job_id}", {})
    return job


# --------------------------------------------------------------------------- #
# The three kinds of work
# --------------------------------------------------------------------------- #


# One plan per process, for the job last read: a queued job's prepare, chunks and finish run
# in the same long-lived worker, and reading a plan merges the letter once per college (≈0.1 s
# for 420, over 1 s for 5,000). It is used again only while every file it was read from holds
# the same bytes, so an input changed between two runs is always read afresh.
_kept_plan: dict[tuple[str, str | None], tuple[str, MailoutPlan]] = {}


def _inputs_digest(paths: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        try:
            data: bytes | None = path.read_bytes()
        except FileNotFoundError:
            data = None
        name = str(path).encode()
        size = b"-" if data is None else b"%d" % len(data)
        digest.update(b"%d\0%s\0%s\0" % (len(name), name, size) + (data or b""))
    return digest.hexdigest()


def _plan(job: MailoutJob) -> MailoutPlan:
    key = (job.folder, job.roster_path)
    kept = _kept_plan.get(key)
    if kept is not None and _inputs_digest(kept[1].inputs) == kept[0]:
        return kept[1]
    plan = load_plan(Path(job.folder), Path(job.roster_path) if job.roster_path else None)
    _kept_plan.clear()  # one plan kept: the job last read
    _kept_plan[key] = (_inputs_digest(plan.inputs), plan)
    return plan


def prepare(engine: Engine, job_id: int, *, workers: int | None = None) -> list[list[str]]:
    """The parent work: checks, numbering, the items; then the pending colleges in chunks (in
    the print file's order). Nothing for a job that has ended."""
    with session_scope(engine) as session:
        job = _job(session, job_id)
    if job.state in JOB_DONE_STATES:
        return []
    plan = _plan(job)
    signing = signing_of(plan, None)
    key = signing.open() if signing is not None else None  # the seal: before any number
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    mailout_id = _prepare(plan, engine, out, job.created_by)
    _recover(engine, mailout_id, out)
    check_signing(engine, mailout_id, plan, out, signing)
    with session_scope(engine) as session:
        reference = _job_reference(session, mailout_id)
    sign_shared_letter(plan, out, _number_of(reference), signing, key)
    with session_scope(engine) as session:
        pending = sorted(
            session.exec(
                select(MailoutItem.college_code).where(
                    MailoutItem.mailout_id == mailout_id, MailoutItem.state == "pending"
                )
            )
        )
        total = session.exec(select(func.count()).where(MailoutItem.mailout_id == mailout_id)).one()
    _set_state(
        engine,
        job_id,
        JobState.RUNNING,
        mailout_id=mailout_id,
        total=total,
        started_at=job.started_at or utcnow(),
    )
    return [list(chunk) for chunk in _chunks(pending, workers or DEFAULT_QUEUE_WORKERS)]


def _job_reference(session: Session, mailout_id: int) -> str | None:
    mailout = session.get(Mailout, mailout_id)
    return mailout.reference if mailout is not None else None


def _jobs_for(session: Session, mailout_id: int, codes: list[str]) -> list[_Job]:
    rows = session.exec(
        select(MailoutItem, College)
        .join(College, col(College.code) == col(MailoutItem.college_code))
        .where(MailoutItem.mailout_id == mailout_id, col(MailoutItem.college_code).in_(codes))
        .order_by(MailoutItem.college_code)
    ).all()
    return [
        _Job(
            c.code,
            c.name,
            c.province or "",
            c.email or "",
            c.director_title or "",
            i.reference,
            i.file_name,
        )
        for i, c in rows
    ]


def run_chunk_job(engine: Engine, job_id: int, codes: list[str]) -> bool:
    """A chunk of a queued job, in this process (a ``saraban worker``); whether the job has
    nothing left to commit, so its finish may run."""
    with session_scope(engine) as session:
        job = _job(session, job_id)
        if job.state in JOB_DONE_STATES or job.mailout_id is None:
            return False
        jobs = _jobs_for(session, job.mailout_id, codes)
        mailout = session.get(Mailout, job.mailout_id)
        assert mailout is not None
    url = engine.url.render_as_string(hide_password=False)
    key = (url, job_id, mailout.fingerprint, job.out_dir)
    if _worker.get("key") != key:
        plan = _plan(job)
        shared = _shared_pdfs(plan, _number_of(mailout.reference), Path(job.out_dir))
        _init_worker(
            plan,
            shared,
            HashSettings(),
            job.out_dir,
            url,
            signing=signing_of(plan, None),
        )
        _worker["key"] = key
    outcome = run_chunk(job.mailout_id, job_id, jobs, job.created_by)
    _add_errors(engine, job_id, [(c, m) for c, m in outcome.errors])
    return remaining(engine, job_id) == 0


def remaining(engine: Engine, job_id: int) -> int:
    """Colleges neither committed nor failed."""
    with session_scope(engine) as session:
        job = _job(session, job_id)
        if job.mailout_id is None:
            return job.total
        failed = {e["college"] for e in json.loads(job.errors) if e["college"]}
        pending = session.exec(
            select(MailoutItem.college_code).where(
                MailoutItem.mailout_id == job.mailout_id, MailoutItem.state == "pending"
            )
        ).all()
    return len(set(pending) - failed)


def finish(engine: Engine, job_id: int) -> str:
    """The print file and the manifest once every college is committed; the job's state."""
    with session_scope(engine) as session:
        job = _job(session, job_id)
    if job.state in JOB_DONE_STATES or job.mailout_id is None:
        return job.state
    if remaining(engine, job_id):
        return job.state  # a chunk is still to come
    errors = [e for e in json.loads(job.errors) if e["college"]]
    if errors:
        _set_state(engine, job_id, JobState.FAILED)
        return JobState.FAILED
    out = Path(job.out_dir)
    _recover(engine, job.mailout_id, out)
    _finish(_plan(job), engine, job.mailout_id, out, printed=False)
    _set_state(engine, job_id, JobState.FINISHED)
    return JobState.FINISHED


def run_here(
    engine: Engine,
    job_id: int,
    *,
    jobs: int | None = None,
    hashing: HashSettings = HashSettings(),  # noqa: B008 - frozen, compared by value
    progress: Callable[[int, int], None] | None = None,
    signing: MailoutSigning | None = None,
) -> MailoutResult:
    """Run a job on this machine: the same parts, the chunks in ``jobs`` worker processes, the
    print file written as the bundles are committed (``saraban mailout``, the local worker).
    ``signing``: the key given to ``saraban mailout --sign`` (held in memory only)."""
    with session_scope(engine) as session:
        job = _job(session, job_id)
    plan = _plan(job)
    _set_state(engine, job_id, JobState.RUNNING, started_at=job.started_at or utcnow())
    try:
        result = run_mailout(
            plan,
            Path(job.out_dir),
            engine,
            issued_by=job.created_by,
            jobs=jobs,
            hashing=hashing,
            progress=progress,
            job_id=job_id,
            signing=signing,
        )
    except ChunkErrors as exc:
        _add_errors(engine, job_id, [(c, m) for c, m in exc.errors])
        _set_state(engine, job_id, JobState.FAILED)
        raise
    except WorkerDied:
        raise  # not the job's fault: running it again finishes it
    except MailoutError as exc:
        fail(engine, job_id, str(exc))
        raise
    with session_scope(engine) as session:
        mailout = session.exec(select(Mailout).where(Mailout.name == plan.name)).one()
    if _state(engine, job_id) == JobState.CANCELLED:
        return result
    _set_state(engine, job_id, JobState.FINISHED, mailout_id=mailout.id, total=result.colleges)
    return result


def _state(engine: Engine, job_id: int) -> str:
    with session_scope(engine) as session:
        return _job(session, job_id).state


# --------------------------------------------------------------------------- #
# Following a job
# --------------------------------------------------------------------------- #


def status(session: Session, job_id: int, *, who: Principal) -> JobStatus:
    principal.ovec(who)
    return _status(session, _job(session, job_id))


def jobs(session: Session, *, who: Principal, limit: int = 50) -> list[JobStatus]:
    principal.ovec(who)
    rows = session.exec(select(MailoutJob).order_by(col(MailoutJob.id).desc()).limit(limit)).all()
    return [_status(session, job) for job in rows]


def _status(session: Session, job: MailoutJob) -> JobStatus:
    assert job.id is not None
    done = 0
    mailout_id = job.mailout_id
    if mailout_id is None and job.state == JobState.RUNNING:  # run here: recorded at its end
        mailout_id = session.exec(
            select(Mailout.id).where(Mailout.name == job.name, Mailout.out_dir == job.out_dir)
        ).first()
    if mailout_id is not None:
        done = session.exec(
            select(func.count()).where(
                MailoutItem.mailout_id == mailout_id, MailoutItem.state == "issued"
            )
        ).one()
    rate = seconds_left = None
    if job.started_at is not None and done:
        end = job.finished_at or utcnow()
        elapsed = (end - job.started_at).total_seconds()
        if elapsed > 0:
            rate = done / elapsed
            if job.state == JobState.RUNNING:
                seconds_left = max(0, job.total - done) / rate
    out = Path(job.out_dir)
    downloads = [n for n in DOWNLOADS if job.state == JobState.FINISHED and (out / n).is_file()]
    return JobStatus(
        id=job.id,
        name=job.name,
        state=job.state,
        mailout_id=mailout_id,
        total=job.total,
        done=done,
        rate=rate,
        seconds_left=seconds_left,
        errors=[JobError(**e) for e in json.loads(job.errors)],
        created_by=job.created_by,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        downloads=downloads,
    )


def download(session: Session, job_id: int, name: str, *, who: Principal) -> Path:
    """A file of the job's output for OVEC: print-all.pdf, manifest.csv or a committed
    college's bundle (``<code>.pdf``)."""
    principal.ovec(who)
    job = _job(session, job_id)
    out = Path(job.out_dir)
    if name in DOWNLOADS:
        if job.state != JobState.FINISHED or not (out / name).is_file():
            raise NotFound(f"{name}: not ready (the mailout is {job.state})")
        return out / name
    code = name.removesuffix(".pdf")
    if job.mailout_id is None or not name.endswith(".pdf") or not code.isdigit():
        raise NotFound(f"{name}: no such file in mailout job {job_id}")
    item = session.exec(
        select(MailoutItem).where(
            MailoutItem.mailout_id == job.mailout_id, MailoutItem.college_code == code
        )
    ).one_or_none()
    if item is None or item.state != "issued" or not (out / item.file_name).is_file():
        raise NotFound(f"{name}: no committed bundle in mailout job {job_id}")
    return out / item.file_name


@dataclass(frozen=True)
class Upload:
    """A file given with a mailout started from the web."""

    role: str  # letter, roster, qr_sheet, settings, enclosure
    filename: str
    data: bytes


UPLOAD_NAMES = {"letter": "letter.toml", "qr_sheet": "qr-sheet.toml", "settings": "mailout.toml"}


def submit_upload(
    engine: Engine, base: Path, name: str, files: list[Upload], *, who: Principal
) -> MailoutJob:
    """A mailout started from the web: its files written as a mailout folder under ``base``
    (the shared mailout directory), checked, and its job queued. A refusal leaves nothing."""
    principal.ovec(who)
    if not name or len(name) > 100 or not all(c.isalnum() or c in "-_." for c in name):
        raise MailoutError("name: use letters, digits, '-', '_' or '.' (at most 100)")
    if name.startswith("."):
        raise MailoutError("name: must not start with '.'")
    base = base.resolve()
    folder = base / "inputs" / name
    out = base / "out" / name
    with session_scope(engine) as session:
        if session.exec(select(Mailout).where(Mailout.name == name)).first() is not None or (
            session.exec(select(MailoutJob).where(MailoutJob.name == name)).first() is not None
        ):
            raise MailoutError(f"name: a mailout named {name} exists already; choose another")
    if folder.exists() or out.exists():
        raise MailoutError(f"name: {name} is in use in the mailout directory; choose another")
    roles = [f.role for f in files]
    if roles.count("letter") != 1 or roles.count("roster") != 1:
        raise MailoutError("a mailout needs one letter file (letter) and one roster (roster)")
    try:
        (folder / "enclosures").mkdir(parents=True)
        roster_path = None
        for upload in files:
            filename = Path(upload.filename or "").name
            if upload.role in UPLOAD_NAMES:
                target = folder / UPLOAD_NAMES[upload.role]
            elif upload.role == "roster":
                suffix = Path(filename).suffix.lower()
                if suffix not in (".csv", ".xlsx"):
                    raise MailoutError(f"roster: {filename!r} is not a .csv or .xlsx file")
                target = roster_path = folder / f"roster{suffix}"
            elif upload.role == "enclosure":
                if not filename.lower().endswith(".pdf") or filename.startswith("."):
                    raise MailoutError(f"enclosures: {filename!r} is not a PDF file name")
                target = folder / "enclosures" / filename
            else:
                raise MailoutError(f"{upload.role}: not a file a mailout takes")
            target.write_bytes(upload.data)
        assert roster_path is not None
        job, _ = submit(engine, folder, out, created_by=who.actor, roster=roster_path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job
