"""Replies: a college answers a letter it received through saraban; its reply, once signed,
arrives in the sender's inbox (OVEC's too) and is registered there on arrival with a receipt
number (เลขรับ) from the recipient's receipt register of the year.

The reply starts from the received letter: ``อ้างถึง`` names it (its sender, number and date),
``เรื่อง`` is its subject, ``เรียน`` the sender's head. It is written, routed and signed as any
draft (saraban.services.drafts); :func:`deliver` is what sending does for it.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from saraban.domain.errors import Conflict, NotFound
from saraban.domain.numbering import receipt_number
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import thai_date, year_be
from saraban.files import write_atomically
from saraban.services import audit, drafts, organisations, signatures
from saraban.services.drafts import ComposeIn
from saraban.services.signatures import SignatureCheckPublic
from saraban.settings import Settings
from saraban.storage.counters import next_number
from saraban.storage.models import (
    Draft,
    Mailout,
    MailoutItem,
    Organisation,
    OrgReceipt,
    Receipt,
    utcnow,
)

OVEC_HEAD = "เลขาธิการคณะกรรมการการอาชีวศึกษา"


class OrgReceiptView(BaseModel):
    id: int
    receipt_number: str
    received_at: datetime
    letter_number: str
    letter_date: str
    sender: str
    subject: str
    draft_id: int


def _receipt(session: Session, who: Principal, receipt_id: int) -> Receipt:
    org = organisations.organisation_of(session, who)
    receipt = session.get(Receipt, receipt_id)
    if receipt is None or org.college_code is None or receipt.college_code != org.college_code:
        raise NotFound(f"no letter {receipt_id} in your register")
    return receipt


def sender_of(session: Session, receipt: Receipt) -> Organisation:
    """The organisation a received letter came from: OVEC for a letter delivered by a
    mailout; a letter that came on paper or by e-mail is answered on paper."""
    if receipt.mailout_item_id is None:
        raise Conflict(
            "หนังสือนี้มาทางกระดาษหรืออีเมล ตอบผ่านระบบไม่ได้ / it came on paper or by e-mail: "
            "answer it the same way"
        )
    item = session.get(MailoutItem, receipt.mailout_item_id)
    mailout = session.get(Mailout, item.mailout_id) if item else None
    if mailout is None:
        raise NotFound("the mailout of this letter is gone")
    return organisations.ovec(session)


def reply_form(session: Session, *, who: Principal, receipt_id: int) -> ComposeIn:
    """The compose form of a reply, filled from the received letter."""
    receipt = _receipt(session, who, receipt_id)
    sender = sender_of(session, receipt)
    dated = f" ลงวันที่ {thai_date(receipt.letter_date, thai=False)}" if receipt.letter_date else ""
    number = f" ที่ {receipt.letter_number}" if receipt.letter_number else ""
    return ComposeIn(
        kind="external",
        subject=receipt.subject,
        to=OVEC_HEAD if sender.kind == "ovec" else f"ผู้อำนวยการ{sender.name}",
        references=[f"หนังสือ{receipt.sender}{number}{dated}"],
        body="ตามหนังสือที่อ้างถึง",
        closing="",
    )


def start(
    session: Session, *, who: Principal, receipt_id: int, data: ComposeIn, settings: Settings
) -> Draft:
    """A reply draft to the received letter ``receipt_id`` (the college's own)."""
    receipt = _receipt(session, who, receipt_id)
    sender_of(session, receipt)
    return drafts.create(
        session, who=who, data=data, settings=settings, reply_to_receipt_id=receipt.id
    )


def deliver(session: Session, *, who: Principal, draft: Draft, settings: Settings) -> OrgReceipt:
    """The signed reply into the sender's inbox, registered there with its receipt number."""
    if draft.reply_to_receipt_id is None:
        raise Conflict("not a reply")
    if draft.status != "approved" or draft.approved_version is None:
        raise Conflict("ส่งได้เฉพาะหนังสือที่ลงนามแล้ว / only a signed letter is sent")
    receipt = _receipt(session, who, draft.reply_to_receipt_id)
    to = sender_of(session, receipt)
    org = organisations.get(session, draft.organisation_id)
    pdf = drafts.letter_pdf(session, who=who, draft_id=draft.id or 0, settings=settings)
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"drafts/delivered/org-{to.id}/{digest}.pdf"
    target = settings.data_dir / relative
    if not target.exists():
        write_atomically(target, pdf, private=True, make_folder=True)
    version = drafts.version_row(session, draft, draft.approved_version)
    spec = drafts.parse(version.letter_toml, org, settings).spec
    now = utcnow()
    year = year_be(now)
    number = next_number(session=session, scope=f"receipt:org:{to.id}", year_be=year)
    row = OrgReceipt(
        organisation_id=to.id or 0,
        from_organisation_id=org.id or 0,
        draft_id=draft.id or 0,
        year_be=year,
        number=number,
        letter_number=draft.reference or "",
        letter_date=spec.date,
        sender=org.name,
        subject=spec.subject,
        file_path=relative,
        file_sha256=digest,
        received_at=now,
    )
    session.add(row)
    session.flush()
    verdicts = signatures.verdicts_of(pdf, settings)
    if to.college_code is not None:  # a check is stored per college (OVEC's: shown live)
        signatures.record_check(
            session,
            actor=who.actor,
            college_code=to.college_code,
            sha256=digest,
            verdicts=verdicts,
            settings=settings,
            subject=f"org_receipt:{row.id}",
        )
    audit.record(
        session,
        "letter_delivered",
        who.actor,
        f"org_receipt:{row.id}",
        {
            "draft": draft.id,
            "from": org.id,
            "to": to.id,
            "receipt_number": receipt_number(number, year),
            "sha256": digest,
            "signatures": signatures.overall(verdicts),
        },
    )
    return row


def view(row: OrgReceipt) -> OrgReceiptView:
    assert row.id is not None
    return OrgReceiptView(
        id=row.id,
        receipt_number=receipt_number(row.number, row.year_be),
        received_at=row.received_at,
        letter_number=row.letter_number,
        letter_date=thai_date(row.letter_date, thai=False),
        sender=row.sender,
        subject=row.subject,
        draft_id=row.draft_id,
    )


def inbox(session: Session, *, who: Principal) -> list[OrgReceipt]:
    """Letters other organisations sent the principal's organisation through saraban."""
    org = organisations.organisation_of(session, who)
    return list(
        session.exec(
            select(OrgReceipt)
            .where(OrgReceipt.organisation_id == org.id)
            .order_by(col(OrgReceipt.year_be).desc(), col(OrgReceipt.number).desc())
        ).all()
    )


def get(session: Session, *, who: Principal, item_id: int) -> OrgReceipt:
    org = organisations.organisation_of(session, who)
    row = session.get(OrgReceipt, item_id)
    if row is None or row.organisation_id != org.id:
        raise NotFound(f"no letter {item_id} in your inbox")
    return row


def letter_pdf(session: Session, *, who: Principal, item_id: int, settings: Settings) -> bytes:
    row = get(session, who=who, item_id=item_id)
    return (settings.data_dir / row.file_path).read_bytes()


def signature_check(
    session: Session, *, who: Principal, item_id: int, settings: Settings
) -> SignatureCheckPublic:
    """The delivered letter's digital signatures: the check stored at delivery for a college,
    else one made now against the configured trust store."""
    row = get(session, who=who, item_id=item_id)
    pdf = (settings.data_dir / row.file_path).read_bytes()
    org = organisations.get(session, row.organisation_id)
    if org.college_code is not None:
        return signatures.check_of(session, org.college_code, row.file_sha256, pdf, settings)
    return signatures.live_check(pdf, settings)
