"""Sending a signed letter: to whom (one college, several, every college of a province, all
colleges, an uploaded roster, or OVEC), and how.

A letter without the credential slip is delivered at once into each recipient's inbox
(saraban.services.deliveries): OVEC's to colleges, a college's to OVEC; a reply into the inbox
of the sender of the letter it answers (saraban.services.replies).

A letter that carries the credential slip goes out as a mailout (bundles, slips, the print
file, the manifest) run as a background job (saraban.services.mailout_jobs): the request
writes the mailout folder under the mailout directory (SARABAN_MAILOUT_DIR, as a mailout
started from /ovec/jobs), records the job, hands it to its workers (:func:`_submit_mailout`)
and answers at once with the job and its page, ``/ovec/jobs/{id}``; the draft is "sent" from
then on. On SQLite the local worker of ``saraban serve`` runs it; on PostgreSQL ``saraban
worker``. The letter goes as it was signed: its number is the one the dispatch register gave
at signing (the mailout takes no other), its files are the draft's.
"""

from __future__ import annotations

import csv
import io
import shutil
from datetime import date
from pathlib import Path
from typing import Literal

import tomli_w
from pydantic import BaseModel, Field
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from letters.letterfile import LetterFile
from saraban.domain import drafts as rules
from saraban.domain.errors import Conflict, Invalid, NotFound
from saraban.domain.principal import Principal
from saraban.domain.roster import College as RosterCollege
from saraban.domain.roster import parse_roster
from saraban.services import (
    deliveries,
    drafts,
    job_queue,
    mailout_jobs,
    mailouts,
    organisations,
    replies,
    signatures,
)
from saraban.services.replies import DeliveryOut
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.storage.models import College, Draft, Mailout, MailoutJob, Organisation, utcnow

ROSTER_FIELDS = ("code", "name", "province", "email", "director_title")


class SendIn(BaseModel):
    to: Literal["colleges", "province", "all", "ovec"] = Field(
        default="colleges",
        description="the colleges named in codes, every college of a province, all, or OVEC "
        "(a college's letter) (a reply goes to the sender of the letter it answers, whatever "
        "is given here)",
    )
    codes: list[str] = Field(default_factory=list, max_length=5000)
    province: str = Field(default="", max_length=100)
    due_date: date | None = Field(default=None, description="for OVEC's tracking")


class SendOut(BaseModel):
    draft_id: int
    reference: str | None
    job_id: int | None = Field(
        default=None,
        description="the mailout job that sends it (GET /api/mailouts/{id}); None for a reply",
    )
    job_url: str | None = Field(default=None, description="the job's page: /ovec/jobs/{id}")
    mailout_name: str | None = Field(default=None, description="the job's mailout")
    colleges: int = Field(default=0, description="colleges in the roster it goes to")
    delivered_to: str | None = Field(default=None, description="one recipient: who it is")
    receipt_number: str | None = Field(default=None, description="one recipient: its เลขรับ")
    deliveries: list[DeliveryOut] = Field(
        default_factory=list,
        description="a letter delivered at once (no credential slip): each recipient and the "
        "receipt number it was registered with",
    )


def _roster_of(session: Session, data: SendIn) -> list[RosterCollege]:
    query = select(College)
    if data.to == "colleges":
        codes = sorted({c.strip() for c in data.codes if c.strip()})
        if not codes:
            raise Invalid("codes", "เลือกสถานศึกษาอย่างน้อยหนึ่งแห่ง / name at least one college")
        query = query.where(col(College.code).in_(codes))
        found = list(session.exec(query.order_by(col(College.code))).all())
        missing = sorted(set(codes) - {c.code for c in found})
        if missing:
            raise Invalid("codes", f"ไม่พบสถานศึกษา / no such college: {', '.join(missing[:20])}")
    else:
        if data.to == "province":
            if not data.province.strip():
                raise Invalid("province", "เลือกจังหวัด / name the province")
            query = query.where(College.province == data.province.strip())
        found = list(session.exec(query.order_by(col(College.code))).all())
        if not found:
            raise Invalid("to", "ไม่มีสถานศึกษาตามที่เลือก / no college matches")
    return [
        RosterCollege(
            code=c.code,
            name=c.name,
            province=c.province or "",
            email=c.email or "",
            director_title=c.director_title or "",
        )
        for c in found
    ]


def roster_csv(rows: list[RosterCollege]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(ROSTER_FIELDS)
    for row in rows:
        writer.writerow([getattr(row, f) for f in ROSTER_FIELDS])
    return out.getvalue()


def _mailout_base(settings: Settings) -> Path:
    """The mailout directory, shared with every worker (as for mailouts started on the web)."""
    return (settings.mailout_dir or settings.data_dir / "mailouts").resolve()


def _send_folder(settings: Settings, draft: Draft) -> Path:
    return _mailout_base(settings) / "inputs" / f"letter-{draft.id}-v{draft.version}"


def _write_folder(
    session: Session,
    who: Principal,
    draft: Draft,
    rows: list[RosterCollege],
    due: date | None,
    settings: Settings,
) -> Path:
    """The mailout folder of the signed letter: letter.toml (with its number), qr-sheet.toml,
    files/, roster.csv and mailout.toml."""
    org = organisations.get(session, draft.organisation_id)
    version = drafts.version_row(session, draft, draft.approved_version)
    letter_file = drafts.parse(version.letter_toml, org, settings)
    if not deliveries.carries_slip(letter_file):  # send() delivers the others directly
        raise Conflict(
            "เฉพาะหนังสือที่มีใบแจ้งรหัสผ่านส่งเป็นชุดจดหมาย / only a letter with the credential "
            "slip goes as a mailout"
        )
    if org.kind != "ovec":
        raise Conflict("เฉพาะ สอศ. ส่งหนังสือพร้อมรหัสผ่าน / only OVEC sends credentials")
    signed, per_college = _signed_at_approval(settings, draft, letter_file, rows)
    folder = _send_folder(settings, draft)
    (folder / "files").mkdir(parents=True, exist_ok=True)
    for enclosure in letter_file.spec.enclosures:
        if enclosure.file is not None:
            target = folder / "files" / Path(enclosure.file).name
            if not target.exists():
                shutil.copyfile(enclosure.file, target)
    text = drafts.export_text(session, who=who, draft_id=draft.id or 0, version=version.version)
    (folder / "letter.toml").write_text(text, encoding="utf-8")
    if version.qr_sheet_toml:
        (folder / "qr-sheet.toml").write_text(version.qr_sheet_toml, encoding="utf-8")
    (folder / "roster.csv").write_text(roster_csv(rows), encoding="utf-8")
    if signed is not None and not per_college:
        shutil.copyfile(signed, folder / mailouts.SIGNED_INPUT)
    mailout: dict[str, object] = {"register": org.short_name or org.name, "policy": "default"}
    if per_college:
        mailout["sign"] = "seal"
    if due is not None:
        mailout["due_date"] = due
    (folder / "mailout.toml").write_text(tomli_w.dumps(mailout), encoding="utf-8")
    return folder


def _submit_mailout(folder: Path, engine: Engine, who: Principal, settings: Settings) -> MailoutJob:
    """Record the mailout's job and hand it to its workers (the queue on PostgreSQL, the
    local worker on SQLite): nothing of the mailout runs in this request."""
    out = _mailout_base(settings) / "out" / folder.name
    job, _ = mailout_jobs.submit(engine, folder, out, created_by=who.actor, roster=None)
    assert job.id is not None
    job_queue.start(engine, job.id)
    return job


def send(
    engine: Engine,
    *,
    who: Principal,
    draft_id: int,
    data: SendIn,
    settings: Settings,
    roster: tuple[str, bytes] | None = None,
) -> SendOut:
    """Send the signed letter: a reply at once; a letter with the credential slip as a mailout
    job, submitted now and run by the workers (the answer names the job). Safe to call again
    after a crash before the draft is marked sent: the job of the same name is given back."""
    with session_scope(engine, immediate=True) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        if draft.status == "sent":
            raise Conflict("ส่งหนังสือฉบับนี้แล้ว / already sent")
        rules.may_send(drafts.state_of(session, draft))
        if replies.is_reply(draft):
            return _send_reply(session, who, draft, settings)
        org = organisations.get(session, draft.organisation_id)
        slip = carries_slip(session, draft, settings)
        if not slip:
            colleges = _direct_recipients(session, org, data, roster)
        else:
            if roster is not None:
                rows = list(parse_roster(roster[1], roster[0]).rows)  # RosterError: every row
                if not rows:
                    raise Invalid("roster", "the roster has no colleges")
            else:
                rows = _roster_of(session, data)
            folder = _write_folder(session, who, draft, rows, data.due_date, settings)
    if not slip:
        return _deliver(engine, who, draft_id, colleges, settings)
    job = _submit_mailout(folder, engine, who, settings)
    with session_scope(engine, immediate=True) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        if draft.status != "sent":
            draft.status = "sent"
            draft.updated_at = utcnow()
            session.add(draft)
            event = {"job_id": job.id, "mailout": job.name, "colleges": job.total}
            drafts.append_event(session, draft, who, "send", event)
        reference = draft.reference
    return SendOut(
        draft_id=draft_id,
        reference=reference,
        job_id=job.id,
        job_url=f"/ovec/jobs/{job.id}",
        mailout_name=job.name,
        colleges=job.total,
    )


def carries_slip(session: Session, draft: Draft, settings: Settings) -> bool:
    """Does the signed letter go as a mailout (it carries the credential slip)?"""
    if draft.approved_version is None:
        return False
    org = organisations.get(session, draft.organisation_id)
    version = drafts.version_row(session, draft, draft.approved_version)
    return deliveries.carries_slip(drafts.parse(version.letter_toml, org, settings))


def _direct_recipients(
    session: Session, org: Organisation, data: SendIn, roster: tuple[str, bytes] | None
) -> list[RosterCollege] | None:
    """The colleges a letter without the slip goes to, or None for OVEC: OVEC writes to
    colleges, a college to OVEC."""
    if org.kind != "ovec":
        if data.to != "ovec" or roster is not None:
            raise Invalid("to", "สถานศึกษาส่งหนังสือถึง สอศ. / a college's letter goes to OVEC")
        return None
    if data.to == "ovec":
        raise Invalid("to", "สอศ. ส่งถึงสถานศึกษา / OVEC's letter goes to colleges")
    if roster is not None:
        return deliveries.known_colleges(session, parse_roster(roster[1], roster[0]))
    return _roster_of(session, data)


def _deliver(
    engine: Engine,
    who: Principal,
    draft_id: int,
    colleges: list[RosterCollege] | None,
    settings: Settings,
) -> SendOut:
    done = deliveries.deliver(
        engine, who=who, draft_id=draft_id, colleges=colleges, settings=settings
    )
    with Session(engine) as session:
        reference = drafts.get(session, who=who, draft_id=draft_id).reference
    one = done[0] if len(done) == 1 else None
    return SendOut(
        draft_id=draft_id,
        reference=reference,
        colleges=sum(1 for d in done if d.college_code is not None),
        delivered_to=one.to if one else None,
        receipt_number=one.receipt_number if one else None,
        deliveries=done,
    )


def _send_reply(session: Session, who: Principal, draft: Draft, settings: Settings) -> SendOut:
    """A reply: into the sender's inbox at once, registered there on arrival."""
    row = replies.deliver(session, who=who, draft=draft, settings=settings)
    to = organisations.get(session, row.organisation_id)
    view = replies.view(row)
    draft.status = "sent"
    draft.updated_at = utcnow()
    session.add(draft)
    payload = {"to": to.name, "receipt_number": view.receipt_number}
    drafts.append_event(session, draft, who, "send", payload)
    return SendOut(
        draft_id=draft.id or 0,
        reference=draft.reference,
        delivered_to=to.name,
        receipt_number=view.receipt_number,
        deliveries=replies.deliveries_of(session, draft),
    )


def sent_file(engine: Engine, *, who: Principal, draft_id: int, name: str) -> Path:
    """The mailout's print file or manifest of a sent letter (once its job has made it)."""
    if name not in ("print-all.pdf", "manifest.csv"):
        raise NotFound(name)
    with Session(engine) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        for event in reversed(drafts.events_of(session, draft_id)):
            if event.kind == "send":
                out_dir = _out_dir_of(session, event.payload)
                if out_dir is None:
                    break
                path = out_dir / name
                if path.is_file():
                    return path
        raise NotFound(f"draft {draft.id} has no {name}")


def _out_dir_of(session: Session, payload: dict[str, object]) -> Path | None:
    """Where a send event's mailout writes: its job's (or, sent before jobs, its mailout's)."""
    job_id, mailout_id = payload.get("job_id"), payload.get("mailout_id")
    if isinstance(job_id, int):
        job = session.get(MailoutJob, job_id)
        return Path(job.out_dir) if job is not None else None
    if isinstance(mailout_id, int):
        mailout = session.get(Mailout, mailout_id)
        return Path(mailout.out_dir) if mailout is not None else None
    return None


def _signed_at_approval(
    settings: Settings, draft: Draft, letter_file: LetterFile, rows: list[RosterCollege]
) -> tuple[Path | None, bool]:
    """A letter signed at approval goes signed: the same for every college, as the bytes
    signed then (the file, and False); merged per college, signed for each college with the
    organisation's seal (True), refused before anything is written if none is configured."""
    signed = drafts.signed_path(settings, draft)
    if not signed.is_file():
        return None, False
    if not mailouts.names_college(letter_file, rows):
        return signed, False
    if signatures.organisation_seal(settings) is None:
        raise Conflict(
            "หนังสือนี้ลงนามด้วยลายมือชื่อดิจิทัลและระบุชื่อสถานศึกษาแต่ละแห่ง จึงต้องลงนามฉบับของแต่ละแห่ง"
            "ด้วยตราขององค์กร แต่ยังไม่ได้กำหนดตรา (SARABAN_SEAL_FILE) / the letter was signed "
            "digitally and names each college: each college's copy must be signed with the "
            "organisation's seal, and none is configured (SARABAN_SEAL_FILE)"
        )
    return signed, True
