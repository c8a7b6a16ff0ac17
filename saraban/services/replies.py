"""Letters delivered from one organisation into another's inbox through saraban, and replies.

A letter delivered (a reply, or a letter sent directly: saraban.services.deliveries) arrives in
the recipient's inbox and is registered there on arrival with a receipt number (เลขรับ) from
the recipient's receipt register of the year: a college's own register (the one its other
receipts number from, so a number is never given twice), OVEC's ``receipt:org:<id>``. The file
is kept once under its sha256 (``data_dir/drafts/delivered/<sha256>.pdf``), whoever receives it.

A college answers a letter it received through saraban, and any organisation a letter
delivered into its inbox: the reply starts from the received letter (``อ้างถึง`` names it, its
sender, number and date; ``เรื่อง`` is its subject, ``เรียน`` the sender's head). It is
written, routed and signed as any draft (saraban.services.drafts); :func:`deliver` is what
sending does for it: into the sender's inbox.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from pydantic import BaseModel
from sqlmodel import Session, col, select

from letters.letterfile import LetterSource
from letters.verification import SignatureVerdict
from saraban.domain.errors import Conflict, NotFound
from saraban.domain.numbering import receipt_number, receipt_scope
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import thai_date, year_be
from saraban.files import write_atomically
from saraban.services import audit, drafts, organisations, signatures
from saraban.services.drafts import ComposeIn
from saraban.services.signatures import SignatureCheckPublic, SignatureHeadline
from saraban.settings import Settings
from saraban.storage.counters import next_number
from saraban.storage.models import (
    Draft,
    Mailout,
    MailoutItem,
    Organisation,
    OrgReceipt,
    OrgRoute,
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


class DeliveryOut(BaseModel):
    """Where a sent letter arrived: the organisation and its receipt number (เลขรับ) there."""

    to: str
    college_code: str | None
    receipt_number: str


class ReceivedEntry(BaseModel):
    """A delivered letter as the recipient's inbox lists it."""

    item: OrgReceiptView
    letter_date: date
    route_status: str | None
    signature: SignatureHeadline | None


def _receipt(session: Session, who: Principal, receipt_id: int) -> Receipt:
    org = organisations.organisation_of(session, who)
    receipt = session.get(Receipt, receipt_id)
    if receipt is None or org.college_code is None or receipt.college_code != org.college_code:
        raise NotFound(f"no letter {receipt_id} in your register")
    return receipt


def sender_of(session: Session, receipt: Receipt | OrgReceipt) -> Organisation:
    """The organisation a received letter came from: its sender for a letter delivered
    through saraban; OVEC for a letter delivered by a mailout; a letter that came on paper or
    by e-mail is answered on paper."""
    if isinstance(receipt, OrgReceipt):
        return organisations.get(session, receipt.from_organisation_id)
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


def is_reply(draft: Draft) -> bool:
    return draft.reply_to_receipt_id is not None or draft.reply_to_org_receipt_id is not None


def _answered(session: Session, who: Principal, draft: Draft) -> Organisation:
    """The organisation a reply goes to: the sender of the letter it answers."""
    if draft.reply_to_org_receipt_id is not None:
        return sender_of(session, get(session, who=who, item_id=draft.reply_to_org_receipt_id))
    if draft.reply_to_receipt_id is not None:
        return sender_of(session, _receipt(session, who, draft.reply_to_receipt_id))
    raise Conflict("not a reply")


def _form(
    sender: Organisation, name: str, subject: str, number: str | None, dated: date | None
) -> ComposeIn:
    on = f" ลงวันที่ {thai_date(dated, thai=False)}" if dated else ""
    at = f" ที่ {number}" if number else ""
    return ComposeIn(
        kind="external",
        subject=subject,
        to=OVEC_HEAD if sender.kind == "ovec" else f"ผู้อำนวยการ{sender.name}",
        references=[f"หนังสือ{name}{at}{on}"],
        body="ตามหนังสือที่อ้างถึง",
        closing="",
    )


def reply_form(session: Session, *, who: Principal, receipt_id: int) -> ComposeIn:
    """The compose form of a reply, filled from the received letter."""
    receipt = _receipt(session, who, receipt_id)
    sender = sender_of(session, receipt)
    return _form(
        sender, receipt.sender, receipt.subject, receipt.letter_number, receipt.letter_date
    )


def received_reply_form(session: Session, *, who: Principal, item_id: int) -> ComposeIn:
    """The compose form of a reply to a letter delivered into the principal's inbox."""
    row = get(session, who=who, item_id=item_id)
    sender = sender_of(session, row)
    return _form(sender, row.sender, row.subject, row.letter_number, row.letter_date)


def start(
    session: Session, *, who: Principal, receipt_id: int, data: ComposeIn, settings: Settings
) -> Draft:
    """A reply draft to the received letter ``receipt_id`` (the college's own)."""
    receipt = _receipt(session, who, receipt_id)
    sender_of(session, receipt)
    return drafts.create(
        session, who=who, data=data, settings=settings, reply_to_receipt_id=receipt.id
    )


def start_received(
    session: Session, *, who: Principal, item_id: int, data: ComposeIn, settings: Settings
) -> Draft:
    """A reply draft to the letter ``item_id`` delivered into the principal's inbox."""
    row = get(session, who=who, item_id=item_id)
    return drafts.create(
        session, who=who, data=data, settings=settings, reply_to_org_receipt_id=row.id
    )


@dataclass(frozen=True)
class StoredLetter:
    """A letter's PDF as kept for delivery (once, under its sha256) and its signatures."""

    relative: str
    sha256: str
    verdicts: Sequence[SignatureVerdict]


def store_letter(pdf: bytes, settings: Settings) -> StoredLetter:
    """Keep the PDF under its sha256 (the same letter to many is one file), its signatures
    checked against the trust store."""
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"drafts/delivered/{digest}.pdf"
    target = settings.data_dir / relative
    if not target.exists():
        write_atomically(target, pdf, private=True, make_folder=True)
    return StoredLetter(relative, digest, signatures.verdicts_of(pdf, settings))


def register_scope(org: Organisation) -> str:
    """The sequence of the organisation's receipt register."""
    if org.college_code is not None:
        return receipt_scope(org.college_code)
    return f"receipt:org:{org.id}"


def register_delivery(
    session: Session,
    *,
    who: Principal,
    draft: Draft,
    to: Organisation,
    spec: LetterSource,
    stored: StoredLetter,
    settings: Settings,
) -> OrgReceipt:
    """The letter into ``to``'s inbox, registered there with its receipt number, its
    signature check kept (a college's; OVEC's is shown live) and the delivery audited, in the
    caller's transaction."""
    sender = organisations.get(session, draft.organisation_id)
    if to.id == sender.id:
        raise Conflict("ส่งถึงหน่วยงานของตนเองไม่ได้ / not to your own organisation")
    now = utcnow()
    year = year_be(now)
    number = next_number(session=session, scope=register_scope(to), year_be=year)
    row = OrgReceipt(
        organisation_id=to.id or 0,
        from_organisation_id=sender.id or 0,
        draft_id=draft.id or 0,
        year_be=year,
        number=number,
        letter_number=draft.reference or "",
        letter_date=spec.date,
        sender=sender.name,
        subject=spec.subject,
        file_path=stored.relative,
        file_sha256=stored.sha256,
        received_at=now,
    )
    session.add(row)
    session.flush()
    if to.college_code is not None:
        signatures.record_check(
            session,
            actor=who.actor,
            college_code=to.college_code,
            sha256=stored.sha256,
            verdicts=stored.verdicts,
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
            "from": sender.id,
            "to": to.id,
            "receipt_number": receipt_number(number, year),
            "sha256": stored.sha256,
            "signatures": signatures.overall(stored.verdicts),
        },
    )
    return row


def deliver(session: Session, *, who: Principal, draft: Draft, settings: Settings) -> OrgReceipt:
    """The signed reply into the sender's inbox, registered there with its receipt number."""
    if not is_reply(draft):
        raise Conflict("not a reply")
    if draft.status != "approved" or draft.approved_version is None:
        raise Conflict("ส่งได้เฉพาะหนังสือที่ลงนามแล้ว / only a signed letter is sent")
    to = _answered(session, who, draft)
    org = organisations.get(session, draft.organisation_id)
    pdf = drafts.letter_pdf(session, who=who, draft_id=draft.id or 0, settings=settings)
    version = drafts.version_row(session, draft, draft.approved_version)
    spec = drafts.parse(version.letter_toml, org, settings).spec
    stored = store_letter(pdf, settings)
    return register_delivery(
        session, who=who, draft=draft, to=to, spec=spec, stored=stored, settings=settings
    )


def deliveries_of(session: Session, draft: Draft) -> list[DeliveryOut]:
    """Where the sender's letter arrived, with the receipt numbers the recipients gave it."""
    rows = session.exec(
        select(OrgReceipt, Organisation)
        .join(Organisation, col(Organisation.id) == OrgReceipt.organisation_id)
        .where(OrgReceipt.draft_id == draft.id)
        .order_by(col(Organisation.college_code), col(OrgReceipt.id))
    ).all()
    return [
        DeliveryOut(
            to=org.name,
            college_code=org.college_code,
            receipt_number=receipt_number(row.number, row.year_be),
        )
        for row, org in rows
    ]


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
    org = organisations.found_of(session, who)
    if org is None:  # none was ever delivered to it
        return []
    return list(
        session.exec(
            select(OrgReceipt)
            .where(OrgReceipt.organisation_id == org.id)
            .order_by(col(OrgReceipt.year_be).desc(), col(OrgReceipt.number).desc())
        ).all()
    )


def inbox_entries(session: Session, *, who: Principal) -> list[ReceivedEntry]:
    """The inbox's delivered letters with their route's state and, for a college, the stored
    outcome of their signature check."""
    rows = inbox(session, who=who)
    ids = [r.id for r in rows]
    routes = (
        {
            r.org_receipt_id: r.status
            for r in session.exec(select(OrgRoute).where(col(OrgRoute.org_receipt_id).in_(ids)))
        }
        if ids
        else {}
    )
    org = organisations.found_of(session, who)
    checked = (
        signatures.headlines(session, org.college_code, [r.file_sha256 for r in rows])
        if org is not None and org.college_code is not None
        else {}
    )
    return [
        ReceivedEntry(
            item=view(r),
            letter_date=r.letter_date,
            route_status=routes.get(r.id or 0),
            signature=checked.get(r.file_sha256),
        )
        for r in rows
    ]


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
