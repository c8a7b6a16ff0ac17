"""Letters an organisation composes in the web: drafts kept as letter files (TOML, the same
format ``saraban letter`` reads), each change a new version; their preview, typeset by
letters/ for a sample recipient; their route up for signature; their number, taken from the
organisation's dispatch register when the signer signs and never earlier.

Uploaded enclosures are kept once per organisation under their sha256
(``data_dir/drafts/org-<id>/files/<sha256>.pdf``); a draft's letter file names them relative
to that folder (``files/<sha256>.pdf``), so its text is all a draft needs. Export gives the
letter file (and, as a ZIP, the files it names); import reads one back.
"""

from __future__ import annotations

import hashlib
import io
import re
import threading
import tomllib
import unicodedata
import zipfile
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import date as Day
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import pypdfium2
import tomli_w
from pydantic import AfterValidator, BaseModel, Field, ValidationError
from pypdf import PdfReader
from sqlmodel import Session, col, func, select

from letters.letter import render_letter
from letters.letterfile import (
    LetterFile,
    LetterSource,
    dump_letter_file,
    key_line,
    parse_letter_file,
)
from letters.model import Enclosure, Letter, Sender, Signer
from letters.qrsheet import QREntry, QRSheet, render_qr_sheet
from saraban.domain import drafts as rules
from saraban.domain.drafts import DraftState
from saraban.domain.errors import Conflict, Invalid, NotFound, PayloadTooLarge
from saraban.domain.principal import Principal
from saraban.domain.text import disguise_problem, no_disguise
from saraban.domain.vocabulary import bangkok_today
from saraban.files import write_atomically
from saraban.services import audit, dispatch, organisations, previews, signatures
from saraban.settings import Settings
from saraban.storage.models import (
    College,
    DbInt,
    Draft,
    DraftEvent,
    DraftVersion,
    Organisation,
    VisibleStr,
    utcnow,
)

PDF_MAGIC = b"%PDF-"
SHA_FILE = re.compile(r"^files/([0-9a-f]{64})\.pdf$")
Urgency = Literal["", "ด่วนที่สุด", "ด่วนมาก", "ด่วน"]
Secrecy = Literal["", "ลับ", "ลับมาก", "ลับที่สุด"]
Acting = Literal["", "ปฏิบัติราชการแทน", "รักษาราชการแทน", "รักษาการในตำแหน่ง"]
# The body keeps its line breaks (paragraphs), so only the disguising characters are refused.
BodyStr = Annotated[str, AfterValidator(no_disguise)]


# --------------------------------------------------------------------------- #
# What callers hand in
# --------------------------------------------------------------------------- #


class EnclosureIn(BaseModel):
    title: VisibleStr = Field(min_length=1, max_length=1000)
    count: VisibleStr = Field(default="", max_length=50, description="จำนวน: 1 ฉบับ, 1 แผ่น")
    file: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", description="sha256 of an uploaded PDF"
    )
    make: Literal["qr-sheet", "credential-slip"] | None = None


class QRRowIn(BaseModel):
    url: VisibleStr = Field(min_length=1, max_length=2000)
    caption: VisibleStr = Field(min_length=1, max_length=500)


class ComposeIn(BaseModel):
    """Every part of a letter, as the compose form and the JSON API give them (and a letter
    file imported). Its text refuses characters that hide or reorder it
    (saraban.domain.text), naming the field: nothing the typesetter or the seed needs."""

    kind: Literal["external", "circular", "memo"]
    date: Day | None = Field(default=None, description="default: today (Bangkok)")
    urgency: Urgency = ""
    secrecy: Secrecy = ""
    subject: VisibleStr = Field(min_length=1, max_length=1000)
    to: VisibleStr = Field(min_length=1, max_length=1000, description="เรียน (a template)")
    references: list[VisibleStr] = Field(default_factory=list, max_length=10)
    enclosures: list[EnclosureIn] = Field(default_factory=list, max_length=20)
    body: BodyStr = Field(min_length=1, max_length=50_000, description="paragraphs (a template)")
    thai_digits: bool = True
    closing: VisibleStr = Field(default="", max_length=200)
    unit: VisibleStr = Field(default="", max_length=500, description="ส่วนราชการเจ้าของเรื่อง")
    phone: VisibleStr = Field(default="", max_length=100)
    fax: VisibleStr = Field(default="", max_length=100)
    email: VisibleStr = Field(default="", max_length=200)
    signer_id: DbInt | None = Field(default=None, description="a member of staff")
    acting: Acting = ""
    on_behalf_of: VisibleStr = Field(default="", max_length=255)
    qr_title: VisibleStr = Field(default="", max_length=500)
    qr_rows: list[QRRowIn] = Field(default_factory=list, max_length=12)


class DraftView(BaseModel):
    id: int
    organisation_id: int
    kind: str
    subject: str
    status: str
    version: int
    approved_version: int | None
    reference: str | None
    signer_id: int | None
    holder_id: int | None
    reply_to_receipt_id: int | None
    reply_to_org_receipt_id: int | None = None
    created_by: str
    created_at: datetime
    updated_at: datetime


class DraftDetail(BaseModel):
    draft: DraftView
    compose: ComposeIn
    letter_toml: str
    events: list[dict[str, Any]]


class PreviewOut(BaseModel):
    key: str = Field(description="the rendered PDF's sha256 (its pages' images are named by it)")
    pages: int
    recipient: str


# --------------------------------------------------------------------------- #
# Files
# --------------------------------------------------------------------------- #


def org_folder(settings: Settings, org: Organisation) -> Path:
    return settings.data_dir / "drafts" / f"org-{org.id}"


def check_pdf(data: bytes, settings: Settings, field: str = "file") -> int:
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes:,} bytes")
    if not data.startswith(PDF_MAGIC):
        raise Invalid(field, "is not a PDF")
    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except Exception as exc:  # a hostile file can make pypdf raise anything
        raise Invalid(field, f"is not a readable PDF ({type(exc).__name__})") from None
    if pages < 1:
        raise Invalid(field, "the PDF has no pages")
    return pages


def keep_file(
    session: Session, *, who: Principal, data: bytes, settings: Settings, field: str = "file"
) -> str:
    """An enclosure PDF kept for the principal's organisation; returns its sha256."""
    org = organisations.organisation_of(session, who)
    check_pdf(data, settings, field)
    digest = hashlib.sha256(data).hexdigest()
    target = org_folder(settings, org) / "files" / f"{digest}.pdf"
    if not target.exists():
        write_atomically(target, data, private=True, make_folder=True)
    return digest


def file_bytes(session: Session, *, who: Principal, sha256: str, settings: Settings) -> bytes:
    org = organisations.organisation_of(session, who)
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound("no such file")
    path = org_folder(settings, org) / "files" / f"{sha256}.pdf"
    if not path.is_file():
        raise NotFound("no such file")
    return path.read_bytes()


# --------------------------------------------------------------------------- #
# The letter file of a draft, both ways
# --------------------------------------------------------------------------- #


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def _body(text: str) -> str:
    lines = [_nfc(line.rstrip()) for line in text.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip() + "\n"


def qr_sheet_of(data: ComposeIn) -> QRSheet | None:
    if not data.qr_rows:
        return None
    try:
        return QRSheet(
            title=data.qr_title or "QR Code",
            entries=tuple(QREntry(caption=r.caption, url=r.url) for r in data.qr_rows),
        )
    except ValueError as exc:
        raise Invalid("qr_rows", str(exc)) from None


def qr_sheet_toml(sheet: QRSheet | None) -> str | None:
    if sheet is None:
        return None
    return tomli_w.dumps(
        {
            "title": sheet.title,
            "entry": [{"caption": e.caption, "url": e.url} for e in sheet.entries],
        }
    )


def source_of(
    session: Session, org: Organisation, data: ComposeIn, settings: Settings
) -> LetterSource:
    """The letter a compose form describes, as the letters package checks it."""
    folder = org_folder(settings, org)
    signer = None
    if data.signer_id is not None:
        signer = organisations.member(session, org, data.signer_id)
    if any(e.make == "qr-sheet" for e in data.enclosures) and not data.qr_rows:
        raise Invalid(
            "qr_rows", "the QR sheet enclosure needs its rows (URL and caption), or qr-sheet.toml"
        )
    enclosures = []
    for n, e in enumerate(data.enclosures, start=1):
        if e.file is not None and e.make is not None:
            raise Invalid("enclosures", f"item {n}: a file or a made enclosure, not both")
        path = None
        if e.file is not None:
            path = folder / "files" / f"{e.file}.pdf"
            if not path.is_file():
                raise Invalid("enclosures", f"item {n}: the file was not uploaded")
        enclosures.append(
            Enclosure(
                title=_nfc(e.title),
                count=_nfc(e.count),
                file=str(path) if path else None,
                make=e.make,
            )
        )
    memo = data.kind == "memo"
    if memo and not data.unit:
        raise Invalid("unit", "a memo needs its ส่วนราชการ (the owning unit)")
    if not org.agency_code:
        raise Invalid("agency_code", "the organisation's agency code (for ที่) is not set")
    sender = Sender(
        code=org.agency_code,
        agency=org.name,
        address="" if memo else (org.address or org.name),
        unit=_nfc(data.unit),
        phone=_nfc(data.phone),
        fax="" if memo else _nfc(data.fax),
        email="" if memo else _nfc(data.email),
    )
    acting = data.acting or (signer.acting if signer else "")
    on_behalf = _nfc(data.on_behalf_of) or (signer.acting_for if signer and signer.acting else "")
    if acting and not on_behalf:
        raise Invalid("on_behalf_of", "the post signed for is required with an acting relation")
    return LetterSource(
        kind=data.kind,
        date=data.date or bangkok_today(),
        subject=_nfc(data.subject),
        to=_nfc(data.to),
        body=_body(data.body),
        sender=sender,
        signer=Signer(
            name=signer.name if signer else "(ผู้ลงนาม)",
            position=(signer.position or "-") if signer else "(ตำแหน่ง)",
            acting=acting,
            on_behalf_of=on_behalf,
        ),
        thai_digits=data.thai_digits,
        urgency=data.urgency or None,
        secrecy=data.secrecy or None,
        references=tuple(_nfc(r) for r in data.references if r.strip()),
        enclosures=tuple(enclosures),
        closing=None if memo or not data.closing else _nfc(data.closing),
    )


def letter_file_text(
    session: Session, org: Organisation, data: ComposeIn, settings: Settings
) -> str:
    """The draft's letter file, checked by parsing it back as ``saraban letter`` would."""
    source = source_of(session, org, data, settings)
    text = dump_letter_file(source, folder=org_folder(settings, org))
    parse(text, org, settings)
    return text


def parse(text: str, org: Organisation, settings: Settings) -> LetterFile:
    return parse_letter_file(text, org_folder(settings, org) / "letter.toml")


def compose_of(
    letter_file: LetterFile, signer_id: int | None, qr_toml: str | None, *, checked: bool = True
) -> ComposeIn:
    """The compose form of a letter file: checked (ValidationError) when it is imported, not
    when it is a stored draft shown for editing (the edit page and the API's detail), so that
    a draft saved before a rule was added still opens, and its next save says what to fix."""
    spec = letter_file.spec
    folder = letter_file.path.parent
    enclosures = []
    for e in spec.enclosures:
        sha = None
        if e.file is not None:
            rel = PurePosixPath(Path(e.file).relative_to(folder).as_posix())
            found = SHA_FILE.match(str(rel))
            sha = found.group(1) if found else None
        enclosures.append({"title": e.title, "count": e.count, "file": sha, "make": e.make})
    qr_title, rows = "", []
    if qr_toml:
        raw = tomllib.loads(qr_toml)
        qr_title = raw.get("title", "")
        rows = [{"url": r["url"], "caption": r["caption"]} for r in raw.get("entry", [])]
    fields: dict[str, Any] = {
        "kind": spec.kind,
        "date": spec.date,
        "urgency": spec.urgency or "",
        "secrecy": spec.secrecy or "",
        "subject": spec.subject,
        "to": spec.to,
        "references": list(spec.references),
        "body": spec.body,
        "thai_digits": spec.thai_digits,
        "closing": spec.closing or "",
        "unit": spec.sender.unit,
        "phone": spec.sender.phone,
        "fax": spec.sender.fax,
        "email": spec.sender.email,
        "signer_id": signer_id,
        "acting": spec.signer.acting,
        "on_behalf_of": spec.signer.on_behalf_of,
        "qr_title": qr_title,
    }
    if checked:
        return ComposeIn.model_validate({**fields, "enclosures": enclosures, "qr_rows": rows})
    return ComposeIn.model_construct(
        **fields,
        enclosures=[EnclosureIn.model_construct(**e) for e in enclosures],
        qr_rows=[QRRowIn.model_construct(**r) for r in rows],
    )


# --------------------------------------------------------------------------- #
# Drafts
# --------------------------------------------------------------------------- #


def _events(session: Session, draft_id: int) -> list[DraftEvent]:
    return list(
        session.exec(
            select(DraftEvent).where(DraftEvent.draft_id == draft_id).order_by(col(DraftEvent.seq))
        ).all()
    )


def _holder(events: list[DraftEvent]) -> int | None:
    for event in reversed(events):
        if event.kind in ("submit", "note"):
            return event.to_account_id
        if event.kind in ("return", "approve", "send"):
            return None
    return None


def state_of(session: Session, draft: Draft) -> DraftState:
    assert draft.id is not None
    return DraftState(
        status=draft.status,  # type: ignore[arg-type]
        signer_id=draft.signer_id,
        holder_id=_holder(_events(session, draft.id)),
    )


def draft_view(session: Session, draft: Draft) -> DraftView:
    assert draft.id is not None
    return DraftView(
        id=draft.id,
        organisation_id=draft.organisation_id,
        kind=draft.kind,
        subject=draft.subject,
        status=draft.status,
        version=draft.version,
        approved_version=draft.approved_version,
        reference=draft.reference,
        signer_id=draft.signer_id,
        holder_id=state_of(session, draft).holder_id,
        reply_to_receipt_id=draft.reply_to_receipt_id,
        reply_to_org_receipt_id=draft.reply_to_org_receipt_id,
        created_by=draft.created_by,
        created_at=draft.created_at,
        updated_at=draft.updated_at,
    )


def get(session: Session, *, who: Principal, draft_id: int) -> Draft:
    """The draft, if it is the principal's organisation's (else NotFound: nothing leaks)."""
    org = organisations.organisation_of(session, who)
    draft = session.get(Draft, draft_id)
    if draft is None or draft.organisation_id != org.id:
        raise NotFound(f"no draft {draft_id}")
    return draft


def version_row(session: Session, draft: Draft, version: int | None = None) -> DraftVersion:
    row = session.exec(
        select(DraftVersion).where(
            DraftVersion.draft_id == draft.id,
            DraftVersion.version == (version or draft.version),
        )
    ).first()
    if row is None:
        raise NotFound(f"draft {draft.id} has no version {version}")
    return row


def list_drafts(session: Session, *, who: Principal) -> list[Draft]:
    org = organisations.organisation_of(session, who)
    return list(
        session.exec(
            select(Draft)
            .where(Draft.organisation_id == org.id)
            .order_by(col(Draft.updated_at).desc(), col(Draft.id).desc())
        ).all()
    )


def create(
    session: Session,
    *,
    who: Principal,
    data: ComposeIn,
    settings: Settings,
    reply_to_receipt_id: int | None = None,
    reply_to_org_receipt_id: int | None = None,
) -> Draft:
    org = organisations.organisation_of(session, who)
    text = letter_file_text(session, org, data, settings)
    draft = Draft(
        organisation_id=org.id or 0,
        kind=data.kind,
        subject=_nfc(data.subject),
        signer_id=data.signer_id,
        reply_to_receipt_id=reply_to_receipt_id,
        reply_to_org_receipt_id=reply_to_org_receipt_id,
        created_by=who.actor,
    )
    session.add(draft)
    session.flush()
    session.add(
        DraftVersion(
            draft_id=draft.id or 0,
            version=1,
            letter_toml=text,
            qr_sheet_toml=qr_sheet_toml(qr_sheet_of(data)),
            created_by=who.actor,
        )
    )
    session.flush()
    audit.record(
        session,
        "draft_created",
        who.actor,
        f"draft:{draft.id}",
        {"organisation": org.id, "kind": data.kind, "subject": draft.subject},
    )
    return draft


def update(
    session: Session, *, who: Principal, draft_id: int, data: ComposeIn, settings: Settings
) -> Draft:
    """A new version. A signed letter is never edited: its change is a new version that goes
    back to draft and must be signed again (its number stays in the register, cancelled)."""
    draft = get(session, who=who, draft_id=draft_id)
    rules.may_edit(state_of(session, draft))
    org = organisations.get(session, draft.organisation_id)
    text = letter_file_text(session, org, data, settings)
    if draft.status == "approved" and draft.dispatch_entry_id is not None:
        dispatch.cancel_number(
            session=session,
            entry_id=draft.dispatch_entry_id,
            reason=f"แก้ไขเป็นฉบับที่ {draft.version + 1} ต้องลงนามใหม่",
            by=who.actor,
        )
        draft.dispatch_entry_id = None
        draft.reference = None
        draft.approved_version = None
        draft.status = "draft"
    draft.version += 1
    draft.kind = data.kind
    draft.subject = _nfc(data.subject)
    draft.signer_id = data.signer_id
    draft.updated_at = utcnow()
    session.add(draft)
    session.add(
        DraftVersion(
            draft_id=draft.id or 0,
            version=draft.version,
            letter_toml=text,
            qr_sheet_toml=qr_sheet_toml(qr_sheet_of(data)),
            created_by=who.actor,
        )
    )
    session.flush()
    audit.record(
        session, "draft_version", who.actor, f"draft:{draft.id}", {"version": draft.version}
    )
    return draft


def detail(session: Session, *, who: Principal, draft_id: int, settings: Settings) -> DraftDetail:
    draft = get(session, who=who, draft_id=draft_id)
    org = organisations.get(session, draft.organisation_id)
    row = version_row(session, draft)
    letter_file = parse(row.letter_toml, org, settings)
    compose = compose_of(letter_file, draft.signer_id, row.qr_sheet_toml, checked=False)
    return DraftDetail(
        draft=draft_view(session, draft),
        compose=compose,
        letter_toml=row.letter_toml,
        events=[
            {
                "seq": e.seq,
                "version": e.version,
                "kind": e.kind,
                "account_id": e.account_id,
                "to_account_id": e.to_account_id,
                "at": e.at,
                "payload": e.payload,
            }
            for e in _events(session, draft.id or 0)
        ],
    )


# --------------------------------------------------------------------------- #
# Export and import: the letter file, and a ZIP with the files it names
# --------------------------------------------------------------------------- #


def _numbered(text: str, draft: Draft) -> str:
    """The letter file as signed: the register's number in it."""
    if draft.reference is None:
        return text
    raw = tomllib.loads(text)
    raw["number"] = draft.reference.split("/", 1)[1].removeprefix("ว ").strip()
    return tomli_w.dumps(raw, multiline_strings=True)


def export_text(
    session: Session, *, who: Principal, draft_id: int, version: int | None = None
) -> str:
    draft = get(session, who=who, draft_id=draft_id)
    row = version_row(session, draft, version)
    if row.version == draft.approved_version:
        return _numbered(row.letter_toml, draft)
    return row.letter_toml


def export_zip(session: Session, *, who: Principal, draft_id: int, settings: Settings) -> bytes:
    """``letter.toml``, ``qr-sheet.toml`` (if any) and ``files/``: a folder ``saraban letter``
    renders as it is."""
    draft = get(session, who=who, draft_id=draft_id)
    org = organisations.get(session, draft.organisation_id)
    row = version_row(session, draft)
    text = export_text(session, who=who, draft_id=draft_id)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("letter.toml", text)
        if row.qr_sheet_toml:
            archive.writestr("qr-sheet.toml", row.qr_sheet_toml)
        for e in parse(row.letter_toml, org, settings).spec.enclosures:
            if e.file is not None:
                path = Path(e.file)
                archive.writestr(f"files/{path.name}", path.read_bytes())
    return out.getvalue()


def import_text(
    session: Session,
    *,
    who: Principal,
    text: str,
    files: Mapping[str, bytes],
    settings: Settings,
    signer_id: int | None = None,
    qr_sheet: str | None = None,
) -> Draft:
    """A draft from a letter file (as ``saraban letter`` reads it). ``files``: the PDFs its
    enclosures name, by the path written in it (``enclosures/x.pdf``); its number, if any, is
    dropped (the register gives one at signing)."""
    org = organisations.organisation_of(session, who)
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid("letter", f"letter.toml: {exc}") from None
    refuse_disguise("letter.toml", text, raw)
    if qr_sheet is not None:
        try:
            refuse_disguise("qr-sheet.toml", qr_sheet, tomllib.loads(qr_sheet))
        except tomllib.TOMLDecodeError as exc:
            raise Invalid("qr_sheet", f"qr-sheet.toml: {exc}") from None
    raw.pop("number", None)
    shas: dict[str, str] = {}
    for n, item in enumerate(raw.get("enclosures") or [], start=1):
        if isinstance(item, dict) and "file" in item:
            name = str(item["file"])
            if name not in files:
                raise Invalid("files", f"letter.toml: enclosures item {n}: {name} was not uploaded")
            shas[name] = keep_file(
                session, who=who, data=files[name], settings=settings, field=f"files[{name}]"
            )
            item["file"] = f"files/{shas[name]}.pdf"
    letter = parse(tomli_w.dumps(raw, multiline_strings=True), org, settings)
    try:
        compose = compose_of(letter, signer_id, qr_sheet)
    except ValidationError as exc:  # what the letters package takes but a draft does not
        error = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in error["loc"])
        raise Invalid("letter", f"letter.toml: {where}: {error['msg']}") from None
    spec = letter.spec
    if spec.sender.code != org.agency_code or spec.sender.agency != org.name:
        raise Invalid(
            "sender",
            f"letter.toml: [sender] is {spec.sender.agency} ({spec.sender.code}), "
            f"not {org.name} ({org.agency_code})",
        )
    if signer_id is None:
        for found in organisations.members(session, org):
            if found.name == spec.signer.name:
                compose = compose.model_copy(update={"signer_id": found.id})
                break
    return create(session, who=who, data=compose, settings=settings)


def _strings(value: Any, key: str) -> Iterator[tuple[str, str]]:
    """Every text in a TOML value, with its key (``sender.unit``, ``enclosures[2].title``)."""
    if isinstance(value, str):
        yield key, value
    elif isinstance(value, dict):
        for name, item in value.items():
            yield from _strings(item, f"{key}.{name}" if key else str(name))
    elif isinstance(value, list):
        for n, item in enumerate(value, start=1):
            yield from _strings(item, f"{key}[{n}]")


def refuse_disguise(file: str, source: str, raw: Mapping[str, Any]) -> None:
    """A letter file (or QR sheet) imported with a character that hides or reorders text is
    refused, naming the file, the line and the key, as the compose form refuses it in a
    field."""
    for key, value in _strings(raw, ""):
        problem = disguise_problem(value)
        if problem is None:
            continue
        table, _, name = key.rpartition(".")
        top = key.split(".")[0].split("[")[0]
        start = key_line(source, table.split("[")[0] or None, name.split("[")[0])
        start = start or key_line(source, None, top) or 1
        written = next(ch for ch in value if disguise_problem(ch))
        lines = source.splitlines()[start - 1 :]
        # The line where the character is written, from the key's on (or the key's own line
        # when the file writes it as an escape, ``\u200b``).
        line = next((n for n, text in enumerate(lines, start=start) if written in text), start)
        raise Invalid(key, f"{file}:{line}: key '{key}': {problem}")


def decode_text(data: bytes, field: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid(field, "is not UTF-8 text") from None


def enclosure_names(text: str) -> list[str]:
    """The files a letter file's enclosures name, as written (for matching uploads)."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Invalid("letter", f"letter.toml: {exc}") from None
    items = raw.get("enclosures") or []
    return [str(i["file"]) for i in items if isinstance(i, dict) and "file" in i]


def import_zip(session: Session, *, who: Principal, data: bytes, settings: Settings) -> Draft:
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes:,} bytes")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = {i.filename: i for i in archive.infolist() if not i.is_dir()}
        if "letter.toml" not in names:
            raise Invalid("file", "the ZIP has no letter.toml")
        total = sum(i.file_size for i in names.values())
        if total > settings.max_upload_bytes * 2:
            raise PayloadTooLarge("the ZIP unpacks to too much")
        contents = {name: archive.read(name) for name in names}
    except zipfile.BadZipFile:
        raise Invalid("file", "is not a ZIP file") from None
    text = decode_text(contents.pop("letter.toml"), "letter.toml")
    qr = contents.pop("qr-sheet.toml", None)
    return import_text(
        session,
        who=who,
        text=text,
        files=contents,
        settings=settings,
        qr_sheet=decode_text(qr, "qr-sheet.toml") if qr else None,
    )


# --------------------------------------------------------------------------- #
# Preview: the letter as it will print, for a sample recipient
# --------------------------------------------------------------------------- #


class _PdfCache:
    """Rendered previews by (organisation, sha256): only its own organisation sees one."""

    def __init__(self, size: int = 32) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[int, str], bytes] = OrderedDict()
        self._size = size

    def get(self, key: tuple[int, str]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[int, str], pdf: bytes) -> None:
        with self._lock:
            self._items[key] = pdf
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_rendered = _PdfCache()


def sample_recipient(session: Session, org: Organisation) -> dict[str, str]:
    code = org.college_code
    college = (
        session.get(College, code)
        if code
        else session.exec(select(College).order_by(col(College.code)).limit(1)).first()
    )
    if college is None:
        return dict(rules.SAMPLE_COLLEGE)
    return {
        "code": college.code,
        "name": college.name,
        "province": college.province or "",
        "email": college.email or "",
        "director_title": college.director_title or "",
    }


def letter_for(letter_file: LetterFile, recipient: Mapping[str, str], number: str | None) -> Letter:
    letter = letter_file.merge({"college": dict(recipient)})
    return replace(letter, number=number) if number else letter


def preview(session: Session, *, who: Principal, data: ComposeIn, settings: Settings) -> PreviewOut:
    """Typeset the form's letter for a sample recipient; its pages are then images."""
    org = organisations.organisation_of(session, who)
    text = letter_file_text(session, org, data, settings)
    recipient = sample_recipient(session, org)
    pdf = render_letter(letter_for(parse(text, org, settings), recipient, None))
    key = hashlib.sha256(pdf).hexdigest()
    _rendered.put((org.id or 0, key), pdf)
    return PreviewOut(key=key, pages=previews.page_count(pdf), recipient=recipient["name"])


def preview_pdf(session: Session, *, who: Principal, key: str) -> bytes:
    org = organisations.organisation_of(session, who)
    pdf = _rendered.get((org.id or 0, key))
    if pdf is None:
        raise NotFound("the preview has expired: preview again")
    return pdf


PREVIEW_DPI = 96  # the compose page shows a page some 640 px wide


_pngs: OrderedDict[tuple[int, str, int], bytes] = OrderedDict()
_pngs_lock = threading.Lock()


def preview_png(session: Session, *, who: Principal, key: str, page: int) -> bytes:
    """A preview's page as PNG: rendered once, encoded fast (zlib level 1: the PNG's size
    matters less than the clerk's wait)."""
    org = organisations.organisation_of(session, who)
    cache_key = (org.id or 0, key, page)
    with _pngs_lock:
        found = _pngs.get(cache_key)
    if found is not None:
        return found
    pdf = preview_pdf(session, who=who, key=key)
    with previews.PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(pdf)
        try:
            if not 0 <= page < min(len(doc), previews.MAX_PREVIEW_PAGES):
                raise NotFound(f"no page {page + 1}")
            image = doc[page].render(scale=PREVIEW_DPI / 72).to_pil()
        finally:
            doc.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG", compress_level=1)
    png = out.getvalue()
    with _pngs_lock:
        _pngs[cache_key] = png
        while len(_pngs) > 64:
            _pngs.popitem(last=False)
    return png


def letter_pdf(session: Session, *, who: Principal, draft_id: int, settings: Settings) -> bytes:
    """The draft's current version for the sample recipient (with its number once signed)."""
    draft = get(session, who=who, draft_id=draft_id)
    org = organisations.get(session, draft.organisation_id)
    row = version_row(session, draft)
    number = _number_of(draft) if draft.approved_version == row.version else None
    if number is not None and draft.status in ("approved", "sent"):
        signed = signed_path(settings, draft)
        if signed.exists():
            return signed.read_bytes()
    letter_file = parse(row.letter_toml, org, settings)
    return render_letter(letter_for(letter_file, sample_recipient(session, org), number))


def draft_preview(
    session: Session, *, who: Principal, draft_id: int, settings: Settings
) -> PreviewOut:
    """The draft's current version as the preview pages show it."""
    org = organisations.organisation_of(session, who)
    pdf = letter_pdf(session, who=who, draft_id=draft_id, settings=settings)
    key = hashlib.sha256(pdf).hexdigest()
    _rendered.put((org.id or 0, key), pdf)
    recipient = sample_recipient(session, org)["name"]
    return PreviewOut(key=key, pages=previews.page_count(pdf), recipient=recipient)


def remember_preview(session: Session, *, who: Principal, pdf: bytes, recipient: str) -> PreviewOut:
    """A PDF the principal may see, kept for its pages' images."""
    org = organisations.organisation_of(session, who)
    key = hashlib.sha256(pdf).hexdigest()
    _rendered.put((org.id or 0, key), pdf)
    return PreviewOut(key=key, pages=previews.page_count(pdf), recipient=recipient)


def qr_pdf(session: Session, *, who: Principal, draft_id: int) -> bytes:
    draft = get(session, who=who, draft_id=draft_id)
    row = version_row(session, draft)
    if not row.qr_sheet_toml:
        raise NotFound("this draft has no QR sheet")
    raw = tomllib.loads(row.qr_sheet_toml)
    sheet = QRSheet(
        title=raw["title"],
        entries=tuple(QREntry(caption=e["caption"], url=e["url"]) for e in raw["entry"]),
    )
    return render_qr_sheet(sheet)


def number_of(draft: Draft) -> str | None:
    """The signed letter's number as the letter prints it after ``ที่ <code>/``."""
    return _number_of(draft)


def _number_of(draft: Draft) -> str | None:
    if draft.reference is None:
        return None
    return draft.reference.split("/", 1)[1].removeprefix("ว ").strip()


# --------------------------------------------------------------------------- #
# The route for signature
# --------------------------------------------------------------------------- #


class SubmitIn(BaseModel):
    to_id: DbInt = Field(description="the next person up the chain")
    note: VisibleStr = Field(default="", max_length=4000)
    proposal: VisibleStr = Field(default=rules.PROPOSE_SIGNING, max_length=200)


class ReturnIn(BaseModel):
    reason: VisibleStr = Field(min_length=1, max_length=2000)


def events_of(session: Session, draft_id: int) -> list[DraftEvent]:
    return _events(session, draft_id)


def append_event(
    session: Session, draft: Draft, who: Principal, kind: str, payload: dict[str, Any]
) -> DraftEvent:
    """A step of the draft's route as signed by ``who`` (and in the audit log)."""
    return _append(session, draft, who, kind, payload)


def _append(
    session: Session,
    draft: Draft,
    who: Principal,
    kind: str,
    payload: dict[str, Any],
    to_id: int | None = None,
) -> DraftEvent:
    seq = (
        session.exec(select(func.max(DraftEvent.seq)).where(DraftEvent.draft_id == draft.id)).one()
        or 0
    ) + 1
    org = organisations.get(session, draft.organisation_id)
    me = organisations.member(session, org, _actor_id(who))
    event = DraftEvent(
        draft_id=draft.id or 0,
        seq=seq,
        version=draft.version,
        kind=kind,
        account_id=me.id,
        to_account_id=to_id,
        payload={
            **payload,
            "name": me.name,
            "position": me.position,
            "acting": me.acting,
            "acting_for": me.acting_for,
        },
    )
    session.add(event)
    draft.updated_at = utcnow()
    session.add(draft)
    session.flush()
    audit.record(
        session,
        f"draft_{kind}",
        who.actor,
        f"draft:{draft.id}",
        {"version": draft.version, "to": to_id, **payload},
    )
    return event


def _actor_id(who: Principal) -> int:
    if who.account_id is None:
        raise Invalid(None, "เฉพาะบุคลากร / only a member of staff signs: log in as yourself")
    return who.account_id


def _locked(session: Session, who: Principal, draft_id: int) -> Draft:
    get(session, who=who, draft_id=draft_id)
    draft = session.exec(select(Draft).where(Draft.id == draft_id).with_for_update()).one()
    return draft


def submit(session: Session, *, who: Principal, draft_id: int, data: SubmitIn) -> Draft:
    """The draft goes up: a note to the next person (the writer's own proposal)."""
    draft = _locked(session, who, draft_id)
    org = organisations.get(session, draft.organisation_id)
    organisations.member(session, org, data.to_id)  # NotFound: not one of ours
    _actor_id(who)
    rules.may_submit(state_of(session, draft))
    draft.status = "submitted"
    payload = {"note": data.note, "proposal": data.proposal}
    _append(session, draft, who, "submit", payload, data.to_id)
    return draft


def forward(session: Session, *, who: Principal, draft_id: int, data: SubmitIn) -> Draft:
    """A note on the way up, to the next person."""
    draft = _locked(session, who, draft_id)
    org = organisations.get(session, draft.organisation_id)
    organisations.member(session, org, data.to_id)
    rules.may_act(state_of(session, draft), _actor_id(who))
    payload = {"note": data.note, "proposal": data.proposal}
    _append(session, draft, who, "note", payload, data.to_id)
    return draft


def send_back(session: Session, *, who: Principal, draft_id: int, data: ReturnIn) -> Draft:
    """Returned for changes: a draft again (a correction is a new version)."""
    draft = _locked(session, who, draft_id)
    rules.may_act(state_of(session, draft), _actor_id(who))
    draft.status = "draft"
    _append(session, draft, who, "return", {"reason": data.reason})
    return draft


def recipients_text(draft: Draft, letter: LetterFile) -> str:
    return letter.spec.to if "{" not in letter.spec.to else "ตามบัญชีแนบท้าย"


def signed_path(settings: Settings, draft: Draft) -> Path:
    """Where the approved version's digitally signed PDF is kept (the letter delivered)."""
    return (
        settings.data_dir
        / "drafts"
        / f"org-{draft.organisation_id}"
        / "signed"
        / f"draft-{draft.id}-v{draft.approved_version}.pdf"
    )


def approve(
    session: Session,
    *,
    who: Principal,
    draft_id: int,
    settings: Settings,
    personal_p12: bytes | None = None,
    passphrase: str | None = None,
) -> Draft:
    """Signed (ลงนาม) by its signer: now, and only now, the dispatch register gives the
    letter its number; the signed version is fixed. With ``personal_p12`` (and its
    ``passphrase``, used for this call only, never kept) or else the organisation's seal if
    configured, the numbered letter is signed with PAdES, dated the approval day, and those
    bytes are the letter delivered. A key that does not open is Invalid naming the field
    ``p12`` before anything changes."""
    draft = _locked(session, who, draft_id)
    rules.may_approve(state_of(session, draft), _actor_id(who))
    chosen = signatures.signing_key_for(
        settings, personal_p12=personal_p12, passphrase=passphrase, key_name="p12"
    )
    del passphrase
    org = organisations.get(session, draft.organisation_id)
    row = version_row(session, draft)
    letter_file = parse(row.letter_toml, org, settings)
    spec = letter_file.spec
    register = org.short_name or org.name
    if draft.kind == "memo":
        register = f"{register} บันทึกข้อความ"
    try:
        entry = dispatch.take_number(
            session=session,
            register=register,
            kind="circular" if draft.kind == "circular" else "external",
            dated=spec.date,
            subject=spec.subject,
            recipients=recipients_text(draft, letter_file),
            owning_unit=spec.sender.unit.replace("\n", " ") or org.name,
            created_by=who.actor,
            agency_code=org.agency_code,
        )
    except ValidationError as exc:  # pragma: no cover - take_number validates first
        raise Invalid(None, str(exc)) from None
    draft.status = "approved"
    draft.approved_version = draft.version
    draft.dispatch_entry_id = entry.id
    draft.reference = entry.reference
    signed_with = None
    if chosen is not None:
        key, kind = chosen
        number = _number_of(draft)
        letter = letter_for(letter_file, sample_recipient(session, org), number)
        store = signatures.trust_store(settings)
        signed = signatures.sign_with(
            letter,
            key,
            kind,
            timestamp_url=settings.timestamp_url,
            trust_roots=store.roots if store.fingerprint is not None else None,
        )
        write_atomically(signed_path(settings, draft), signed.pdf, private=True, make_folder=True)
        signed_with = {
            "key": kind,
            "signer": signed.signer,
            "sha256": hashlib.sha256(signed.pdf).hexdigest(),
        }
    payload: dict[str, Any] = {"reference": entry.reference}
    if signed_with is not None:
        payload["signed"] = signed_with
    _append(session, draft, who, "approve", payload)
    return draft


def require_conflict_free(draft: Draft) -> None:
    if draft.status == "sent":
        raise Conflict("already sent")
