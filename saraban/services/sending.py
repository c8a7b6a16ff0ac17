"""Sending a signed letter: to whom (one college, several, every college of a province, all
colleges, or an uploaded roster), and how.

A letter that carries the credential slip goes out as a mailout (bundles, slips, the print
file, the manifest): :func:`_run_mailout` is the one place that calls the mailout service, so
that it can become a background job without touching anything else. The letter goes as it
was signed: its number is the one the dispatch register gave at signing (the mailout takes
no other), its files are the draft's.
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

from saraban.domain import drafts as rules
from saraban.domain.errors import Conflict, Invalid, NotFound
from saraban.domain.principal import Principal
from saraban.domain.roster import College as RosterCollege
from saraban.domain.roster import parse_roster
from saraban.services import drafts, organisations, replies
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.storage.models import College, Draft, Mailout, utcnow

ROSTER_FIELDS = ("code", "name", "province", "email", "director_title")


class SendIn(BaseModel):
    to: Literal["colleges", "province", "all"] = Field(
        default="colleges",
        description="the colleges named in codes, every college of a province, or all "
        "(a reply goes to the sender of the letter it answers, whatever is given here)",
    )
    codes: list[str] = Field(default_factory=list, max_length=5000)
    province: str = Field(default="", max_length=100)
    due_date: date | None = Field(default=None, description="for OVEC's tracking")


class SendOut(BaseModel):
    draft_id: int
    reference: str | None
    mailout_id: int | None = Field(description="a mailout's; None for a reply")
    mailout_name: str | None
    colleges: int
    issued_now: int
    pages: int
    delivered_to: str | None = Field(default=None, description="a reply: the recipient")
    receipt_number: str | None = Field(default=None, description="a reply: its เลขรับ there")


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


def _send_folder(settings: Settings, org_id: int, draft: Draft) -> Path:
    return (
        settings.data_dir
        / "drafts"
        / f"org-{org_id}"
        / "sends"
        / f"letter-{draft.id}-v{draft.version}"
    )


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
    if not letter_file.spec.enclosures or letter_file.spec.enclosures[-1].make != (
        "credential-slip"
    ):
        raise Conflict(
            "หนังสือที่ไม่มีใบแจ้งรหัสผ่าน ยังส่งถึงหน่วยงานโดยตรงไม่ได้ในรุ่นนี้ / a letter "
            "without the credential slip cannot be delivered directly yet"
        )
    if org.kind != "ovec":
        raise Conflict("เฉพาะ สอศ. ส่งหนังสือพร้อมรหัสผ่าน / only OVEC sends credentials")
    folder = _send_folder(settings, org.id or 0, draft)
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
    mailout: dict[str, object] = {"register": org.short_name or org.name, "policy": "default"}
    if due is not None:
        mailout["due_date"] = due
    (folder / "mailout.toml").write_text(tomli_w.dumps(mailout), encoding="utf-8")
    return folder


def _run_mailout(
    folder: Path, engine: Engine, who: Principal, settings: Settings
) -> tuple[int, str, int, int, int]:
    """The existing mailout service, in this request (the one call to swap for a background
    job): (mailout id, name, colleges, issued now, pages)."""
    from saraban.services.mailouts import load_plan, run_mailout

    plan = load_plan(folder)
    result = run_mailout(
        plan, folder / "out", engine, issued_by=who.actor, hashing=settings.hashing, jobs=1
    )
    with Session(engine) as session:
        mailout = session.exec(select(Mailout).where(Mailout.name == result.name)).one()
        assert mailout.id is not None
        return mailout.id, mailout.name, result.colleges, result.issued_now, result.pages


def send(
    engine: Engine,
    *,
    who: Principal,
    draft_id: int,
    data: SendIn,
    settings: Settings,
    roster: tuple[str, bytes] | None = None,
) -> SendOut:
    """Send the signed letter. Safe to call again after a crash: the mailout resumes."""
    with session_scope(engine, immediate=True) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        if draft.status == "sent":
            raise Conflict("ส่งหนังสือฉบับนี้แล้ว / already sent")
        rules.may_send(drafts.state_of(session, draft))
        if draft.reply_to_receipt_id is not None:
            return _send_reply(session, who, draft, settings)
        if roster is not None:
            rows = list(parse_roster(roster[1], roster[0]).rows)  # RosterError: every bad row
            if not rows:
                raise Invalid("roster", "the roster has no colleges")
        else:
            rows = _roster_of(session, data)
        folder = _write_folder(session, who, draft, rows, data.due_date, settings)
    mailout_id, name, colleges, issued, pages = _run_mailout(folder, engine, who, settings)
    with session_scope(engine, immediate=True) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        if draft.status != "sent":
            draft.status = "sent"
            draft.updated_at = utcnow()
            session.add(draft)
            event = {"mailout_id": mailout_id, "mailout": name, "colleges": colleges}
            drafts.append_event(session, draft, who, "send", event)
        reference = draft.reference
    return SendOut(
        draft_id=draft_id,
        reference=reference,
        mailout_id=mailout_id,
        mailout_name=name,
        colleges=colleges,
        issued_now=issued,
        pages=pages,
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
        mailout_id=None,
        mailout_name=None,
        colleges=0,
        issued_now=0,
        pages=0,
        delivered_to=to.name,
        receipt_number=view.receipt_number,
    )


def sent_file(engine: Engine, *, who: Principal, draft_id: int, name: str) -> Path:
    """The mailout's print file or manifest of a sent letter."""
    if name not in ("print-all.pdf", "manifest.csv"):
        raise NotFound(name)
    with Session(engine) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        for event in reversed(drafts.events_of(session, draft_id)):
            if event.kind == "send":
                mailout = session.get(Mailout, event.payload["mailout_id"])
                if mailout is None:
                    break
                path = Path(mailout.out_dir) / name
                if path.is_file():
                    return path
        raise NotFound(f"draft {draft.id} has no {name}")
