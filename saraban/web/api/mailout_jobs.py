"""OVEC's mailouts as background jobs: start one (202, at once), follow it, cancel it, download
its print file, manifest and bundles. The work runs in the workers, never in the request."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, UploadFile, status
from fastapi.responses import FileResponse

from saraban.domain import principal
from saraban.domain.errors import PayloadTooLarge
from saraban.domain.principal import Principal
from saraban.services import job_queue, mailout_jobs
from saraban.services.mailout_jobs import JobStatus, Upload
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.web.deps import ActiveUser, EngineDep, SessionDep, SettingsDep

router = APIRouter(tags=["OVEC"])
JobId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the job's id, as POST answers")]
FileName = Annotated[
    str, Path(max_length=64, pattern=r"^[0-9A-Za-z._-]+$", description="print-all.pdf, ...")
]
NOT_FOUND = {404: {"description": "no such job or file"}}
MAX_ENCLOSURES = 20


def _ovec(who: ActiveUser) -> Principal:
    return principal.ovec(who)


OvecApiUser = Annotated[Principal, Depends(_ovec)]


def _read(role: str, upload: UploadFile, settings: Settings) -> Upload:
    data = upload.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"{role}: larger than {settings.max_upload_bytes:,} bytes")
    return Upload(role, upload.filename or "", data)


@router.post(
    "/mailouts",
    status_code=status.HTTP_202_ACCEPTED,
    responses={413: {"description": "a file too big"}},
)
def start_mailout(
    who: OvecApiUser,
    engine: EngineDep,
    settings: SettingsDep,
    name: Annotated[str, Form(min_length=1, max_length=100, description="the mailout's name")],
    letter: Annotated[UploadFile, File(description="the letter file (letter.toml)")],
    roster: Annotated[UploadFile, File(description="the roster (.csv or .xlsx)")],
    enclosures: Annotated[
        list[UploadFile] | None, File(description="PDFs the letter names (enclosures/...)")
    ] = None,
    qr_sheet: Annotated[UploadFile | None, File(description="qr-sheet.toml")] = None,
    mailout_settings: Annotated[
        UploadFile | None, File(alias="settings", description="mailout.toml")
    ] = None,
) -> JobStatus:
    """Check the files and queue the mailout: the answer is its job, at once; the bundles are
    made by the workers. Every input is checked first: a refusal names the file and the key
    or row, and nothing is queued."""
    if len(enclosures or []) > MAX_ENCLOSURES:
        raise PayloadTooLarge(f"enclosures: at most {MAX_ENCLOSURES} files")
    files = [_read("letter", letter, settings), _read("roster", roster, settings)]
    files += [_read("enclosure", f, settings) for f in enclosures or []]
    if qr_sheet is not None:
        files.append(_read("qr_sheet", qr_sheet, settings))
    if mailout_settings is not None:
        files.append(_read("settings", mailout_settings, settings))
    base = settings.mailout_dir or settings.data_dir / "mailouts"
    job = mailout_jobs.submit_upload(engine, base, name, files, who=who)
    assert job.id is not None
    job_queue.start(engine, job.id)
    with session_scope(engine) as db:
        return mailout_jobs.status(db, job.id, who=who)


@router.get("/mailouts/{job_id}", responses=NOT_FOUND)
def mailout_job(job_id: JobId, who: OvecApiUser, db: SessionDep) -> JobStatus:
    """The job's state and progress: colleges done of total, rate, time left, errors."""
    return mailout_jobs.status(db, job_id, who=who)


@router.post("/mailouts/{job_id}/cancel", responses=NOT_FOUND)
def cancel_mailout(job_id: JobId, who: OvecApiUser, engine: EngineDep) -> JobStatus:
    """Stop a mailout that has not finished: what is committed stays, the rest is never
    issued (409 if it has ended)."""
    mailout_jobs.cancel(engine, job_id, who=who)
    with session_scope(engine) as db:
        return mailout_jobs.status(db, job_id, who=who)


@router.get(
    "/mailouts/{job_id}/files/{name}",
    response_class=FileResponse,
    responses={
        **NOT_FOUND,
        200: {"content": {"application/pdf": {}, "text/csv": {}}, "description": "the file"},
    },
)
def mailout_file(job_id: JobId, name: FileName, who: OvecApiUser, db: SessionDep) -> FileResponse:
    """``print-all.pdf`` and ``manifest.csv`` once the mailout has finished, or a committed
    college's bundle (``<code>.pdf``, with its credential slip: for OVEC only)."""
    path = mailout_jobs.download(db, job_id, name, who=who)
    media = "text/csv; charset=utf-8" if name.endswith(".csv") else "application/pdf"
    return FileResponse(
        path,
        media_type=media,
        filename=name,
        headers={"Cache-Control": "private, no-store"},
    )
