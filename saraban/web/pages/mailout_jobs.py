"""OVEC's mailout jobs in the web: start one from its files, watch its progress (a meta refresh
without JavaScript; live, polling the JSON API, with it), cancel it, download its files."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from starlette.datastructures import UploadFile

from saraban.domain.errors import PayloadTooLarge, Refused
from saraban.services import job_queue, mailout_jobs
from saraban.services.mailout_jobs import Upload
from saraban.web.deps import CheckedForm, EngineDep, OvecUser, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.render import SECURITY, page, redirect

router = APIRouter(prefix="/ovec/jobs", include_in_schema=False)
JobId = Annotated[int, Path(ge=1, le=2**31 - 1)]
REFRESH_SECONDS = 2
# This page's one script, from our own origin (static/mailout-progress.js).
SCRIPT_CSP = {
    "Content-Security-Policy": SECURITY["Content-Security-Policy"].replace(
        "script-src 'none'", "script-src 'self'"
    )
}
FILE_FIELDS = {
    "letter": "letter",
    "roster": "roster",
    "qr_sheet": "qr_sheet",
    "settings": "settings",
    "enclosures": "enclosure",
}


def _jobs_page(
    request: Request,
    who: OvecUser,
    db: SessionDep,
    *,
    form: dict[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = {"jobs": mailout_jobs.jobs(db, who=who), "form": form or {}, "error": error}
    return page(request, "ovec_jobs.html", context, who=who, status_code=status_code)


@router.get("")
def jobs_page(request: Request, who: OvecUser, db: SessionDep) -> Response:
    return _jobs_page(request, who, db)


@router.post("")
def start_job(
    request: Request,
    who: OvecUser,
    form: CheckedForm,
    db: SessionDep,
    engine: EngineDep,
    settings: SettingsDep,
) -> Response:
    name = str(form.get("name") or "").strip()
    files: list[Upload] = []
    try:
        for field, role in FILE_FIELDS.items():
            for upload in form.getlist(field):
                if not isinstance(upload, UploadFile) or not upload.filename:
                    continue
                data = upload.file.read(settings.max_upload_bytes + 1)
                if len(data) > settings.max_upload_bytes:
                    raise PayloadTooLarge(f"{upload.filename}: ไฟล์ใหญ่เกินกำหนด")
                files.append(Upload(role, upload.filename, data))
        base = settings.mailout_dir or settings.data_dir / "mailouts"
        job = mailout_jobs.submit_upload(engine, base, name, files, who=who)
    except Refused as exc:
        if status_of(exc) in (401, 403):
            raise
        return _jobs_page(
            request, who, db, form={"name": name}, error=thai_part(str(exc)), status_code=422
        )
    assert job.id is not None
    job_queue.start(engine, job.id)
    return redirect(f"/ovec/jobs/{job.id}", f"รับงาน {job.name} แล้ว กำลังจัดทำ")


@router.get("/{job_id}")
def job_page(request: Request, job_id: JobId, who: OvecUser, db: SessionDep) -> Response:
    status = mailout_jobs.status(db, job_id, who=who)
    ended = status.state in ("finished", "failed", "cancelled")
    context = {"job": status, "ended": ended, "refresh": REFRESH_SECONDS}
    return page(request, "ovec_job.html", context, who=who, headers=SCRIPT_CSP)


@router.post("/{job_id}/cancel")
def cancel_job(job_id: JobId, who: OvecUser, form: CheckedForm, engine: EngineDep) -> Response:
    mailout_jobs.cancel(engine, job_id, who=who)
    return redirect(f"/ovec/jobs/{job_id}", "ยกเลิกแล้ว: ฉบับที่ออกแล้วยังคงอยู่ ที่เหลือจะไม่ออก")
