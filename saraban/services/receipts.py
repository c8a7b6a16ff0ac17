"""A college's correspondence: its inbox of delivered letters and its receipt register
(ทะเบียนหนังสือรับ).

The inbox lists the mailout bundles delivered to the college (items ``issued``). A bundle's
last page is always its credential slip: the inbox serves a copy without it, so the
password never leaves through the service. A signed mailout's letter is a file of its own
(``mailout_item.signed_file``: a signature does not survive being merged into the bundle):
that file is what the college receives, is served byte for byte, and has its signatures
checked. A delivered letter's date (ลงวันที่) is the one the
mailout stored (``mailout.letter_date``); for mailouts made before it was stored, the date in
OVEC's dispatch register, if the letter was numbered there.

Registering a letter takes the college's next receipt number for the calendar year in
Thailand (saraban.storage.counters, scope ``receipt:{college code}``), in the transaction that
writes the register entry: on SQLite that transaction must be ``BEGIN IMMEDIATE``. A delivered
letter is registered once; a letter that came on paper or by e-mail is registered with its PDF, kept
under ``data_dir/letters/{college code}/{sha256}.pdf``, and served byte for byte as it came.

Registering a letter checks its PDF's digital signatures (saraban.services.signatures: the
delivered bundle, or the uploaded file) and stores the verdicts with the entry, in the same
transaction; the check runs before the receipt number is taken.
"""

from __future__ import annotations

import hashlib
import io
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from pypdf import PdfReader, PdfWriter
from sqlalchemy import String, func, literal_column, union_all
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from letters.verification import SignatureVerdict
from saraban.domain import principal
from saraban.domain.errors import Conflict, Invalid, NotFound, PayloadTooLarge
from saraban.domain.numbering import receipt_number, receipt_scope
from saraban.domain.pdfactions import active_content
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import numeric_thai_date, year_be
from saraban.files import write_atomically
from saraban.services import audit, pdfcheck, signatures
from saraban.services.signatures import SignatureHeadline
from saraban.settings import Settings
from saraban.storage.counters import next_number
from saraban.storage.models import (
    Account,
    College,
    DispatchEntry,
    LetterRoute,
    Mailout,
    MailoutItem,
    Organisation,
    OrgReceipt,
    OrgRoute,
    Receipt,
    ReceiptChannel,
    ReceiptCreate,
    ReceiptPublic,
    utcnow,
)

DELIVERED = "issued"  # a mailout item's state once its bundle is committed
PDF_MAGIC = b"%PDF-"


# --------------------------------------------------------------------------- #
# Inbox
# --------------------------------------------------------------------------- #


class InboxItem(BaseModel):
    item_id: int
    mailout_id: int
    mailout_name: str
    kind: str
    subject: str
    reference: str | None
    letter_date: date | None = Field(description="ลงวันที่, if OVEC knows it")
    due_date: date | None
    delivered_at: datetime | None
    letter_pages: int | None = Field(
        description="pages served: the letter and its enclosures, without the slip"
    )
    receipt_id: int | None
    receipt_number: str | None
    received_at: datetime | None
    signature: SignatureHeadline | None = Field(
        default=None, description="its digital signatures as checked (None: not checked yet)"
    )
    enclosures_apart: bool = Field(
        default=False,
        description="the letter was signed digitally: it is served as signed, and its "
        "enclosures apart (GET /api/inbox/{id}/enclosures)",
    )


def _document_sha256() -> Any:
    """The sha256 of what a college received: its signed letter if signed, else its bundle."""
    return func.coalesce(MailoutItem.signed_sha256, MailoutItem.sha256)


def _inbox_query(code: str) -> Any:
    return (
        select(
            MailoutItem.id,
            Mailout.id,
            Mailout.name,
            Mailout.kind,
            Mailout.subject,
            MailoutItem.reference,
            Mailout.due_date,
            MailoutItem.issued_at,
            MailoutItem.pages,
            Mailout.letter_date,
            Receipt.id,
            Receipt.number,
            Receipt.year_be,
            Receipt.received_at,
            _document_sha256(),
            MailoutItem.signed_file,
            MailoutItem.letter_pages,
        )
        .join(Mailout, col(Mailout.id) == col(MailoutItem.mailout_id))
        .outerjoin(Receipt, col(Receipt.mailout_item_id) == col(MailoutItem.id))
        .where(MailoutItem.college_code == code, MailoutItem.state == DELIVERED)
    )


def _inbox_items(session: Session, code: str, rows: list[tuple[Any, ...]]) -> list[InboxItem]:
    registered = _registered_dates(session, [row[1] for row in rows if row[9] is None])
    checked = signatures.headlines(session, code, [row[14] for row in rows if row[14]])
    return [_inbox_item(row, registered, checked) for row in rows]


def _inbox_item(
    row: tuple[Any, ...],
    registered: dict[tuple[int, str | None], date],
    checked: dict[str, SignatureHeadline],
) -> InboxItem:
    (item_id, mailout_id, name, kind, subject, reference, due, issued_at, pages) = row[:9]
    stored, receipt_id, number, year, received_at, sha256, signed_file, letter_pages = row[9:]
    return InboxItem(
        item_id=item_id,
        mailout_id=mailout_id,
        mailout_name=name,
        kind=kind,
        subject=subject,
        reference=reference,
        letter_date=stored or registered.get((mailout_id, reference)),
        due_date=due,
        delivered_at=issued_at,
        letter_pages=pages - 1 if pages else None,
        receipt_id=receipt_id,
        receipt_number=receipt_number(number, year) if receipt_id is not None else None,
        received_at=received_at,
        signature=checked.get(sha256 or ""),
        enclosures_apart=_apart(signed_file, letter_pages, pages),
    )


def _apart(signed_file: str | None, letter_pages: int | None, pages: int | None) -> bool:
    """Whether a delivered letter has enclosures served apart from it (it is signed, and its
    bundle holds pages between the letter and the slip)."""
    return bool(signed_file and letter_pages and pages and pages - 1 > letter_pages)


def inbox(session: Session, *, who: Principal) -> list[InboxItem]:
    """The letters delivered to the college, newest first, with their receipt if registered."""
    code = principal.college_of(who)
    query = _inbox_query(code).order_by(
        col(MailoutItem.issued_at).desc(), col(MailoutItem.id).desc()
    )
    return _inbox_items(session, code, [tuple(row) for row in session.exec(query)])


def inbox_item(session: Session, *, who: Principal, item_id: int) -> InboxItem:
    code = principal.college_of(who)
    row = session.exec(_inbox_query(code).where(MailoutItem.id == item_id)).one_or_none()
    if row is None:
        raise NotFound(f"no letter {item_id} in your inbox")
    return _inbox_items(session, code, [tuple(row)])[0]


def _registered_dates(
    session: Session, mailout_ids: list[int]
) -> dict[tuple[int, str | None], date]:
    """The dates OVEC's dispatch register gives the letters of these mailouts, by (mailout,
    reference): the fallback for mailouts that did not store their letter's date."""
    if not mailout_ids:
        return {}
    found: dict[tuple[int, str | None], date] = {}
    query = select(DispatchEntry.mailout_id, DispatchEntry.reference, DispatchEntry.dated).where(
        col(DispatchEntry.mailout_id).in_(sorted(set(mailout_ids)))
    )
    for mailout_id, reference, dated in session.exec(query):
        found.setdefault((mailout_id, reference), dated)
    return found


def _delivered(session: Session, code: str, item_id: int) -> tuple[MailoutItem, Mailout]:
    found = session.exec(
        select(MailoutItem, Mailout)
        .join(Mailout, col(Mailout.id) == col(MailoutItem.mailout_id))
        .where(
            MailoutItem.id == item_id,
            MailoutItem.college_code == code,
            MailoutItem.state == DELIVERED,
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"no letter {item_id} in your inbox")
    return found[0], found[1]


def bundle_path(mailout: Mailout, item: MailoutItem) -> Path:
    folder = Path(mailout.out_dir)
    path = folder / item.file_name
    if path.resolve().parent != folder.resolve():
        raise NotFound(f"bundle {item.file_name!r} is not in the mailout's folder")
    return path


@lru_cache(maxsize=32)
def _without_slip(path: str, _mtime_ns: int, _size: int) -> bytes:
    reader = PdfReader(path)
    if len(reader.pages) < 2:
        raise Conflict(f"{Path(path).name} holds no letter before its credential slip")
    writer = PdfWriter()
    for page in reader.pages[:-1]:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def letter_without_slip(path: Path) -> bytes:
    """A copy of a bundle without its last page (the credential slip): only the pages are
    copied, not the bundle's objects, so nothing of the slip comes along."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound(f"the bundle {path.name} is missing from the mailout's folder") from None
    return _without_slip(str(path), stat.st_mtime_ns, stat.st_size)


def _signed_letter(mailout: Mailout, item: MailoutItem) -> bytes | None:
    """The signed letter a signed mailout delivered (None: the mailout was not signed)."""
    if not item.signed_file:
        return None
    folder = Path(mailout.out_dir)
    path = folder / item.signed_file
    if path.resolve().parent != folder.resolve():
        raise NotFound(f"signed letter {item.signed_file!r} is not in the mailout's folder")
    try:
        return path.read_bytes()
    except FileNotFoundError:
        missing = f"the signed letter {path.name} is missing from the mailout's folder"
        raise NotFound(missing) from None


def delivered_pdf(mailout: Mailout, item: MailoutItem) -> tuple[str, bytes]:
    """What the college received, and its sha256: the signed letter of a signed mailout, else
    the bundle (served without its slip)."""
    signed = _signed_letter(mailout, item)
    if signed is not None:
        return item.signed_sha256 or hashlib.sha256(signed).hexdigest(), signed
    data = _read_bundle(bundle_path(mailout, item))
    return item.sha256 or hashlib.sha256(data).hexdigest(), data


def served_letter(mailout: Mailout, item: MailoutItem) -> bytes:
    """The letter a college reads and downloads: a signed letter byte for byte (its signatures
    validate anywhere), else the bundle without its slip."""
    signed = _signed_letter(mailout, item)
    return signed if signed is not None else letter_without_slip(bundle_path(mailout, item))


@lru_cache(maxsize=32)
def _pages_between(path: str, first: int, _mtime_ns: int, _size: int) -> bytes:
    reader = PdfReader(path)
    writer = PdfWriter()
    for page in reader.pages[first:-1]:
        writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _enclosures(mailout: Mailout, item: MailoutItem) -> bytes:
    """A signed letter's enclosures: its bundle's pages after the letter and before the slip
    (only the pages are copied, so nothing of the slip comes along)."""
    if not _apart(item.signed_file, item.letter_pages, item.pages):
        raise NotFound("this letter has no enclosures apart from it")
    path = bundle_path(mailout, item)
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise NotFound(f"the bundle {path.name} is missing from the mailout's folder") from None
    return _pages_between(str(path), item.letter_pages or 0, stat.st_mtime_ns, stat.st_size)


def inbox_enclosures(session: Session, *, who: Principal, item_id: int) -> tuple[str, bytes]:
    """A signed letter's enclosures, served apart from the letter as signed."""
    code = principal.college_of(who)
    item, mailout = _delivered(session, code, item_id)
    return f"{mailout.name}-{code}-enclosures.pdf", _enclosures(mailout, item)


def receipt_enclosures(session: Session, *, who: Principal, receipt_id: int) -> tuple[str, bytes]:
    """A registered signed letter's enclosures (see :func:`inbox_enclosures`)."""
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    item = session.get(MailoutItem, receipt.mailout_item_id) if receipt.mailout_item_id else None
    mailout = session.get(Mailout, item.mailout_id) if item else None
    if item is None or mailout is None:
        raise NotFound("this letter has no enclosures apart from it")
    name = f"receipt-{receipt.number}-{receipt.year_be}-enclosures.pdf"
    return name, _enclosures(mailout, item)


def delivered_signed(session: Session, *, who: Principal, receipt_id: int) -> tuple[bool, bool]:
    """Whether a registered letter came from a signed mailout (served as signed, byte for
    byte), and whether its enclosures are served apart from it."""
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    item = session.get(MailoutItem, receipt.mailout_item_id) if receipt.mailout_item_id else None
    if item is None or not item.signed_file:
        return False, False
    return True, _apart(item.signed_file, item.letter_pages, item.pages)


def inbox_letter(session: Session, *, who: Principal, item_id: int) -> tuple[str, bytes]:
    """The file name and bytes of a delivered letter with its enclosures, without the slip (a
    letter signed digitally: as signed, its enclosures apart, :func:`inbox_enclosures`)."""
    code = principal.college_of(who)
    item, mailout = _delivered(session, code, item_id)
    return f"{mailout.name}-{code}.pdf", served_letter(mailout, item)


# --------------------------------------------------------------------------- #
# Receipt register
# --------------------------------------------------------------------------- #


RegisterKind = Literal["receipt", "org_receipt"]
RECEIPT: RegisterKind = "receipt"
ORG_RECEIPT: RegisterKind = "org_receipt"


class ReceiptEntry(ReceiptPublic):
    kind: RegisterKind = Field(
        default=RECEIPT,
        description="receipt: an entry of /api/receipts/{id}; org_receipt: a letter delivered "
        "directly through saraban (channel direct), registered on arrival from the same "
        "numbers: its entry is /api/received/{id}",
    )
    receipt_number: str
    route_status: str | None = None
    signature: SignatureHeadline | None = Field(
        default=None, description="its digital signatures as checked (None: not checked yet)"
    )


def receipt_entry(
    receipt: Receipt,
    route_status: str | None = None,
    signature: SignatureHeadline | None = None,
) -> ReceiptEntry:
    return ReceiptEntry.model_validate(
        receipt,
        from_attributes=True,
        update={
            "receipt_number": receipt_number(receipt.number, receipt.year_be),
            "route_status": route_status,
            "signature": signature,
        },
    )


def _take_number(session: Session, code: str, now: datetime) -> tuple[int, int]:
    year = year_be(now)
    return year, next_number(session=session, scope=receipt_scope(code), year_be=year)


def _dispatch_entry(
    session: Session, mailout: Mailout, item: MailoutItem
) -> tuple[date | None, str | None]:
    """The letter's date and addressee from the dispatch register, if OVEC numbered it there
    (a letter whose number was written in its file has no entry)."""
    entry = session.exec(
        select(DispatchEntry.dated, DispatchEntry.recipients).where(
            DispatchEntry.mailout_id == mailout.id,
            DispatchEntry.reference == item.reference,
        )
    ).first()
    return (entry[0], entry[1]) if entry is not None else (None, None)


def _dated_otherwise(known: date) -> str:
    thai = numeric_thai_date(known)
    return (
        f"หนังสือนี้ลงวันที่ {thai} ตามที่ สอศ. ส่ง / the letter is dated {known.isoformat()}"
        " (leave it blank)"
    )


def receive(
    session: Session,
    *,
    who: Principal,
    item_id: int,
    settings: Settings,
    action: str | None = None,
    note: str | None = None,
    letter_date: date | None = None,
) -> ReceiptEntry:
    """Register a delivered letter: the next receipt number, the time, and the letter's own
    number, date, sender, addressee and subject from the mailout.

    The date is the one the mailout stored (a different ``letter_date`` is refused); for a
    mailout that stored none, the clerk's ``letter_date``, else the dispatch register's."""
    code = principal.registrar(who)
    item, mailout = _delivered(session, code, item_id)
    existing = session.exec(select(Receipt).where(Receipt.mailout_item_id == item_id)).first()
    if existing is not None:
        raise Conflict(
            f"ลงรับแล้ว / already registered as {receipt_number(existing.number, existing.year_be)}"
        )
    college = session.get(College, code)
    assert college is not None
    digest, document = delivered_pdf(mailout, item)
    verdicts = signatures.verdicts_of(document, settings)
    dated, recipients = _dispatch_entry(session, mailout, item)
    if mailout.letter_date is not None:
        if letter_date is not None and letter_date != mailout.letter_date:
            raise Invalid("letter_date", _dated_otherwise(mailout.letter_date))
        letter_date = mailout.letter_date
    fields = ReceiptCreate.model_validate(
        {
            "letter_number": item.reference,
            "letter_date": letter_date or dated,
            "sender": settings.ovec_sender,
            "addressee": (recipients or _addressee(college))[:255],
            "subject": mailout.subject,
            "action": action,
            "note": note,
        }
    )
    entry = _numbered(session, who, code, fields, ReceiptChannel.MAILOUT, mailout_item_id=item_id)
    return _checked(session, who, entry, digest, verdicts, settings)


def _checked(
    session: Session,
    who: Principal,
    entry: ReceiptEntry,
    sha256: str,
    verdicts: list[SignatureVerdict],
    settings: Settings,
) -> ReceiptEntry:
    """The entry with its document's signature check stored (and in the audit log)."""
    signatures.record_check(
        session,
        actor=who.actor,
        college_code=entry.college_code,
        sha256=sha256,
        verdicts=verdicts,
        settings=settings,
        subject=f"receipt:{entry.id}",
    )
    headline = signatures.headlines(session, entry.college_code, [sha256])[sha256]
    return entry.model_copy(update={"signature": headline})


def _read_bundle(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFound(f"the bundle {path.name} is missing from the mailout's folder") from None


def _numbered(
    session: Session,
    who: Principal,
    code: str,
    fields: ReceiptCreate,
    channel: ReceiptChannel,
    **links: object,
) -> ReceiptEntry:
    """The receipt with the college's next number for the year, received now by ``who``."""
    now = utcnow()
    year, number = _take_number(session, code, now)
    receipt = Receipt.model_validate(
        fields.model_dump(exclude={"channel"}),
        update={
            "college_code": code,
            "year_be": year,
            "number": number,
            "received_at": now,
            "received_by": who.actor,
            "channel": channel,
            **links,
        },
    )
    return _registered(session, who, receipt)


def _registered(session: Session, who: Principal, receipt: Receipt) -> ReceiptEntry:
    session.add(receipt)
    try:
        session.flush()
    except IntegrityError:
        raise Conflict("ลงรับแล้ว / already registered (at the same moment)") from None
    audit.record(
        session,
        "receipt",
        who.actor,
        f"receipt:{receipt.id}",
        {
            "college": receipt.college_code,
            "number": receipt_number(receipt.number, receipt.year_be),
            "channel": receipt.channel.value,
            "mailout_item": receipt.mailout_item_id,
            "letter_number": receipt.letter_number,
            "file_sha256": receipt.file_sha256,
            "active_content": receipt.active_content,
        },
    )
    return receipt_entry(receipt)


def _check_pdf(data: bytes, settings: Settings, name: str = "") -> None:
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes:,} bytes")
    if not data.startswith(PDF_MAGIC):
        label = f"{name}: " if name else ""
        raise Invalid("file", f"{label}ไม่ใช่ PDF / is not a PDF")
    pdfcheck.check_pages(data, settings, name=name)  # few and small enough pages


def _keep(data: bytes, settings: Settings, code: str) -> tuple[str, str]:
    """Write the file once under its sha256; returns (path relative to data_dir, sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    relative = Path("letters") / code / f"{digest}.pdf"
    target = settings.data_dir / relative
    if not target.exists():
        write_atomically(target, data, private=True, make_folder=True)
    return relative.as_posix(), digest


def receive_uploaded(
    session: Session,
    *,
    who: Principal,
    data: ReceiptCreate,
    pdf: bytes,
    settings: Settings,
    filename: str = "",
) -> ReceiptEntry:
    """Register a letter that came on paper or by e-mail, with its PDF (``filename``, as the
    browser named it, for the messages). (A file kept for an entry whose transaction then
    fails stays: it is named by its content, and harmless.)"""
    code = principal.registrar(who)
    _check_pdf(pdf, settings, filename[:200])
    verdicts = signatures.verdicts_of(pdf, settings)
    active = ",".join(active_content(pdf))  # scripts, launch actions: flagged, kept as sent
    path, digest = _keep(pdf, settings, code)
    entry = _numbered(
        session,
        who,
        code,
        data,
        ReceiptChannel(data.channel),
        file_path=path,
        file_sha256=digest,
        active_content=active,
    )
    return _checked(session, who, entry, digest, verdicts, settings)


MAX_REGISTER_PAGE = 1000
"""Entries the register lists at most at once (the API's bound on ``limit``)."""


def _register_keys(
    session: Session, code: str, year: int | None, limit: int, offset: int, *, direct: bool
) -> list[tuple[RegisterKind, int]]:
    """(kind, id) of the page of the college's register, latest first: its ``receipt`` rows
    and the letters delivered directly (``org_receipt``), which number from the same counter,
    ordered and paged together by the database."""
    receipts = select(
        literal_column(f"'{RECEIPT}'", String).label("kind"),
        col(Receipt.id).label("id"),
        col(Receipt.year_be).label("year_be"),
        col(Receipt.number).label("number"),
    ).where(Receipt.college_code == code)
    delivered = (
        select(
            literal_column(f"'{ORG_RECEIPT}'", String).label("kind"),
            col(OrgReceipt.id).label("id"),
            col(OrgReceipt.year_be).label("year_be"),
            col(OrgReceipt.number).label("number"),
        )
        .join(Organisation, col(Organisation.id) == col(OrgReceipt.organisation_id))
        .where(Organisation.college_code == code)
    )
    if year is not None:
        receipts = receipts.where(Receipt.year_be == year)
        delivered = delivered.where(OrgReceipt.year_be == year)
    both = (union_all(receipts, delivered) if direct else receipts).subquery()
    query = (
        select(both.c.kind, both.c.id)
        .order_by(both.c.year_be.desc(), both.c.number.desc(), both.c.kind, both.c.id)
        .offset(offset)
        .limit(min(limit, MAX_REGISTER_PAGE))
    )
    return [(kind, row_id) for kind, row_id in session.execute(query)]


def _addressee(college: College) -> str:
    """ถึง, when the letter does not say: the college's director."""
    return (college.director_title or f"ผู้อำนวยการ{college.name}")[:255]


def _direct_entry(
    row: OrgReceipt,
    college: College,
    route_status: str | None,
    signature: SignatureHeadline | None,
) -> ReceiptEntry:
    """A letter delivered directly as a register entry: registered on arrival by the
    college's register itself (``received_by`` is the college), its page /received/{id}."""
    assert row.id is not None
    return ReceiptEntry(
        id=row.id,
        kind=ORG_RECEIPT,
        college_code=college.code,
        year_be=row.year_be,
        number=row.number,
        receipt_number=receipt_number(row.number, row.year_be),
        received_at=row.received_at,
        received_by=college.code,
        channel=ReceiptChannel.DIRECT,
        mailout_item_id=None,
        letter_number=row.letter_number or None,
        letter_date=row.letter_date,
        sender=row.sender,
        addressee=_addressee(college),
        subject=row.subject,
        route_status=route_status,
        signature=signature,
    )


def receipt_register(
    session: Session,
    *,
    who: Principal,
    year: int | None = None,
    limit: int = 100,
    offset: int = 0,
    direct: bool = True,
) -> list[ReceiptEntry]:
    """The receipt register, latest first: every letter the college registered, those
    delivered directly through saraban included (``kind`` tells them apart; ``direct`` False:
    only the ``receipt`` rows); at most :data:`MAX_REGISTER_PAGE` entries."""
    code = principal.college_of(who)
    keys = _register_keys(session, code, year, limit, offset, direct=direct)
    receipt_ids = [row_id for kind, row_id in keys if kind == RECEIPT]
    direct_ids = [row_id for kind, row_id in keys if kind == ORG_RECEIPT]
    found: dict[tuple[RegisterKind, int], tuple[Receipt | OrgReceipt, str | None, str | None]] = {}
    if receipt_ids:
        query = (
            select(Receipt, LetterRoute.status, _document_sha256())
            .outerjoin(LetterRoute, col(LetterRoute.receipt_id) == col(Receipt.id))
            .outerjoin(MailoutItem, col(MailoutItem.id) == col(Receipt.mailout_item_id))
            .where(col(Receipt.id).in_(receipt_ids))
        )
        for r, status, bundle in session.exec(query):
            found[(RECEIPT, r.id or 0)] = (r, status, r.file_sha256 or bundle)
    if direct_ids:
        delivered = select(OrgReceipt, OrgRoute.status).outerjoin(
            OrgRoute, col(OrgRoute.org_receipt_id) == col(OrgReceipt.id)
        )
        for d, status in session.exec(delivered.where(col(OrgReceipt.id).in_(direct_ids))):
            found[(ORG_RECEIPT, d.id or 0)] = (d, status, d.file_sha256)
    checked = signatures.headlines(session, code, [sha for _, _, sha in found.values() if sha])
    college = session.get(College, code) if direct_ids else None
    entries = []
    for key in keys:
        row, status, sha = found[key]
        headline = checked.get(sha or "")
        if isinstance(row, OrgReceipt):
            assert college is not None
            entries.append(_direct_entry(row, college, status, headline))
        else:
            entries.append(receipt_entry(row, status, headline))
    return entries


def registrar_name(session: Session, entry: ReceiptEntry) -> str:
    """Who registered the entry, as the register shows it (``received_by`` stores who logged
    in): the college's name for its own account, a member of staff's name and position; else
    the stored name as it is."""
    actor = entry.received_by
    if actor == entry.college_code:
        college = session.get(College, actor)
        return college.name if college is not None else actor
    account = session.exec(
        select(Account).where(Account.username == actor, Account.college_code == entry.college_code)
    ).first()
    if account is None:
        return actor
    return " ".join(part for part in (account.name, account.position) if part)


def get_receipt(session: Session, *, who: Principal, receipt_id: int) -> Receipt:
    code = principal.college_of(who)
    receipt = session.get(Receipt, receipt_id)
    if receipt is None or receipt.college_code != code:
        raise NotFound(f"no receipt {receipt_id}")
    return receipt


def stored_letter_pages(session: Session, *, who: Principal, receipt_id: int) -> int | None:
    """How many of a delivered letter's first pages are the letter itself, as its mailout
    stored it (None: not delivered, or delivered before the mailout stored it)."""
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    if receipt.mailout_item_id is None:
        return None
    item = session.get(MailoutItem, receipt.mailout_item_id)
    return item.letter_pages if item is not None else None


def received_document(
    session: Session, *, who: Principal, receipt_id: int, settings: Settings
) -> tuple[str, bytes]:
    """The registered letter's document as it arrived, and its sha256: the uploaded file, or
    the delivered bundle (whose signatures are checked; the college is served a copy of it
    without the slip)."""
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    if receipt.mailout_item_id is not None:
        item = session.get(MailoutItem, receipt.mailout_item_id)
        mailout = session.get(Mailout, item.mailout_id) if item else None
        if item is None or mailout is None:
            raise NotFound("the delivered letter is gone")
        return delivered_pdf(mailout, item)
    _, data = receipt_letter(session, who=who, receipt_id=receipt_id, settings=settings)
    return receipt.file_sha256 or hashlib.sha256(data).hexdigest(), data


def delivered_document(session: Session, *, who: Principal, item_id: int) -> tuple[str, bytes]:
    """A delivered letter's bundle as it arrived, and its sha256 (see received_document)."""
    code = principal.college_of(who)
    item, mailout = _delivered(session, code, item_id)
    return delivered_pdf(mailout, item)


def receipt_signatures(
    session: Session, *, who: Principal, receipt_id: int, settings: Settings
) -> signatures.SignatureCheckPublic:
    """The digital signatures of a registered letter's PDF, as checked when it arrived (an
    entry registered before checks were stored: checked now, not stored)."""
    sha256, data = received_document(session, who=who, receipt_id=receipt_id, settings=settings)
    return signatures.check_of(session, principal.college_of(who), sha256, data, settings)


def inbox_signatures(
    session: Session, *, who: Principal, item_id: int, settings: Settings
) -> signatures.SignatureCheckPublic:
    """The digital signatures of a delivered letter's bundle: as checked when it was
    delivered or registered, else checked now (not stored)."""
    sha256, data = delivered_document(session, who=who, item_id=item_id)
    return signatures.check_of(session, principal.college_of(who), sha256, data, settings)


def is_uploaded(session: Session, *, who: Principal, receipt_id: int) -> bool:
    """Whether the registered letter's PDF came from outside (uploaded, not OVEC's mailout):
    it and copies made from it are served as untrusted files."""
    return get_receipt(session, who=who, receipt_id=receipt_id).mailout_item_id is None


def receipt_letter(
    session: Session, *, who: Principal, receipt_id: int, settings: Settings
) -> tuple[str, bytes]:
    """The registered letter's PDF (a delivered one without its slip)."""
    receipt = get_receipt(session, who=who, receipt_id=receipt_id)
    name = f"receipt-{receipt.number}-{receipt.year_be}.pdf"
    if receipt.mailout_item_id is not None:
        item = session.get(MailoutItem, receipt.mailout_item_id)
        mailout = session.get(Mailout, item.mailout_id) if item else None
        if item is None or mailout is None:
            raise NotFound("the delivered letter is gone")
        return name, served_letter(mailout, item)
    assert receipt.file_path is not None
    try:
        return name, (settings.data_dir / receipt.file_path).read_bytes()
    except FileNotFoundError:
        raise NotFound(f"the file of receipt {receipt_id} is missing from data_dir") from None
