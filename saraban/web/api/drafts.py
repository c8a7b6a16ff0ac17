"""Composing and sending from the web: the organisation, its drafts (letter files with
versions), their preview, export and import, and their route for signature. Every route acts
for the logged-in person's organisation: another organisation's draft is 404."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, Response, UploadFile, status
from pydantic import BaseModel

from saraban.domain.errors import PayloadTooLarge
from saraban.services import drafts, org_routes, organisations, replies, sending
from saraban.services.drafts import (
    ComposeIn,
    DraftDetail,
    DraftView,
    PreviewOut,
    ReturnIn,
    SubmitIn,
)
from saraban.services.endorsement import DecisionIn, NoteIn, RoutePlan, RouteView
from saraban.services.org_routes import ReceivedDetail
from saraban.services.organisations import Member, OrganisationUpdate, OrganisationView
from saraban.services.replies import OrgReceiptView
from saraban.services.sending import SendIn, SendOut
from saraban.web.deps import ActiveUser, EngineDep, SessionDep, SettingsDep

router = APIRouter(tags=["drafts"])
DraftId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Sha = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
PageNo = Annotated[int, Path(ge=1, le=30)]
NOT_YOURS = {404: {"description": "no such draft in your organisation"}}
PNG = {200: {"content": {"image/png": {}}, "description": "the page as an image"}}


class OrganisationOut(BaseModel):
    organisation: OrganisationView
    staff: list[Member]


class FileOut(BaseModel):
    sha256: str
    pages: int


def _read(upload: UploadFile, limit: int) -> bytes:
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(f"the file is larger than {limit:,} bytes")
    return data


@router.get("/organisation")
def organisation(who: ActiveUser, db: SessionDep) -> OrganisationOut:
    """The organisation you act in (OVEC, or your college) and its staff."""
    org = organisations.organisation_of(db, who)
    return OrganisationOut(
        organisation=organisations.view(org), staff=organisations.members(db, org)
    )


@router.patch("/organisation")
def update_organisation(
    body: OrganisationUpdate, who: ActiveUser, db: SessionDep
) -> OrganisationView:
    """Its agency code for ที่, its address, its registers' name."""
    return organisations.view(organisations.update(db, who=who, data=body))


@router.get("/drafts")
def list_drafts(who: ActiveUser, db: SessionDep) -> list[DraftView]:
    return [drafts.draft_view(db, d) for d in drafts.list_drafts(db, who=who)]


@router.post("/drafts", status_code=status.HTTP_201_CREATED)
def create_draft(
    body: ComposeIn, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> DraftView:
    return drafts.draft_view(db, drafts.create(db, who=who, data=body, settings=settings))


@router.post("/drafts/preview")
def preview(body: ComposeIn, who: ActiveUser, db: SessionDep, settings: SettingsDep) -> PreviewOut:
    """Typeset the letter for a sample recipient; its pages are
    ``/api/drafts/preview/{key}/{n}.png``."""
    return drafts.preview(db, who=who, data=body, settings=settings)


@router.get("/drafts/preview/{key}/{page}.png", responses={**PNG, 404: {"description": "gone"}})
def preview_page(key: Sha, page: PageNo, who: ActiveUser, db: SessionDep) -> Response:
    png = drafts.preview_png(db, who=who, key=key, page=page - 1)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=600"})


@router.post("/drafts/files", status_code=status.HTTP_201_CREATED)
def upload_file(
    who: ActiveUser,
    db: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="an enclosure, as PDF")],
) -> FileOut:
    """An enclosure PDF, kept once for your organisation; name it in a draft by its sha256."""
    data = _read(file, settings.max_upload_bytes)
    sha = drafts.keep_file(db, who=who, data=data, settings=settings)
    return FileOut(sha256=sha, pages=drafts.check_pdf(data, settings))


@router.post("/drafts/import", status_code=status.HTTP_201_CREATED)
def import_draft(
    who: ActiveUser,
    db: SessionDep,
    settings: SettingsDep,
    letter: Annotated[UploadFile, File(description="letter.toml, or a ZIP as exported")],
    files: Annotated[
        list[UploadFile] | None, File(description="the PDFs its enclosures name")
    ] = None,
    qr_sheet: Annotated[UploadFile | None, File(description="qr-sheet.toml")] = None,
) -> DraftView:
    """A draft from a letter file (``saraban letter``'s format); the files its enclosures
    name are matched by the path written in it (``enclosures/x.pdf``) or their file name."""
    data = _read(letter, settings.max_upload_bytes)
    if data.startswith(b"PK"):
        draft = drafts.import_zip(db, who=who, data=data, settings=settings)
        return drafts.draft_view(db, draft)
    uploaded = {}
    for upload in files or []:
        name = upload.filename or ""
        content = _read(upload, settings.max_upload_bytes)
        uploaded[name] = content
    text = drafts.decode_text(data, "letter")
    named = drafts.enclosure_names(text)
    by_name = {n.rsplit("/", 1)[-1]: n for n in named}
    files_in = {by_name.get(k.rsplit("/", 1)[-1], k): v for k, v in uploaded.items()}
    qr = drafts.decode_text(_read(qr_sheet, 1_000_000), "qr_sheet") if qr_sheet else None
    draft = drafts.import_text(
        db, who=who, text=text, files=files_in, settings=settings, qr_sheet=qr
    )
    return drafts.draft_view(db, draft)


@router.get("/drafts/{draft_id}", responses=NOT_YOURS)
def get_draft(
    draft_id: DraftId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> DraftDetail:
    return drafts.detail(db, who=who, draft_id=draft_id, settings=settings)


@router.put("/drafts/{draft_id}", responses=NOT_YOURS)
def update_draft(
    draft_id: DraftId, body: ComposeIn, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> DraftView:
    """A new version (a signed letter's change goes back for signature)."""
    draft = drafts.update(db, who=who, draft_id=draft_id, data=body, settings=settings)
    return drafts.draft_view(db, draft)


@router.get(
    "/drafts/{draft_id}/letter.toml",
    responses={**NOT_YOURS, 200: {"content": {"application/toml": {}}}},
)
def export_letter_file(
    draft_id: DraftId,
    who: ActiveUser,
    db: SessionDep,
    version: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> Response:
    """The draft as a letter file (the signed version carries its number)."""
    text = drafts.export_text(db, who=who, draft_id=draft_id, version=version)
    return Response(
        text.encode("utf-8"),
        media_type="application/toml; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="draft-{draft_id}.toml"'},
    )


@router.get(
    "/drafts/{draft_id}/export.zip",
    responses={**NOT_YOURS, 200: {"content": {"application/zip": {}}}},
)
def export_zip(
    draft_id: DraftId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> Response:
    """letter.toml, qr-sheet.toml and files/: ``saraban letter letter.toml`` renders it."""
    data = drafts.export_zip(db, who=who, draft_id=draft_id, settings=settings)
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="draft-{draft_id}.zip"'},
    )


@router.get(
    "/drafts/{draft_id}/letter.pdf",
    responses={**NOT_YOURS, 200: {"content": {"application/pdf": {}}}},
)
def letter_pdf(
    draft_id: DraftId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> Response:
    pdf = drafts.letter_pdf(db, who=who, draft_id=draft_id, settings=settings)
    return Response(pdf, media_type="application/pdf")


@router.post("/drafts/{draft_id}/submit", responses=NOT_YOURS)
def submit(draft_id: DraftId, body: SubmitIn, who: ActiveUser, db: SessionDep) -> DraftView:
    """Up for signature: a note (เพื่อโปรดพิจารณาลงนาม) to the next person."""
    return drafts.draft_view(db, drafts.submit(db, who=who, draft_id=draft_id, data=body))


@router.post("/drafts/{draft_id}/forward", responses=NOT_YOURS)
def forward(draft_id: DraftId, body: SubmitIn, who: ActiveUser, db: SessionDep) -> DraftView:
    """A note on the way up, by the one who has it now."""
    return drafts.draft_view(db, drafts.forward(db, who=who, draft_id=draft_id, data=body))


@router.post("/drafts/{draft_id}/return", responses=NOT_YOURS)
def send_back(draft_id: DraftId, body: ReturnIn, who: ActiveUser, db: SessionDep) -> DraftView:
    """Back for changes, by the one who has it now."""
    return drafts.draft_view(db, drafts.send_back(db, who=who, draft_id=draft_id, data=body))


@router.post("/drafts/{draft_id}/approve", responses=NOT_YOURS)
def approve(
    draft_id: DraftId,
    who: ActiveUser,
    db: SessionDep,
    settings: SettingsDep,
    p12: Annotated[
        UploadFile | None,
        File(description="the signer's own PKCS#12 key (used for this request only)"),
    ] = None,
    passphrase: Annotated[str | None, Form(description="the key's passphrase")] = None,
) -> DraftView:
    """Signed (ลงนาม) by its signer, in turn: the dispatch register gives its number now. With
    ``p12`` (multipart, with ``passphrase``) or the organisation's seal, the letter is signed
    with PAdES; neither the key nor its passphrase is kept."""
    key = _read(p12, settings.max_upload_bytes) if p12 is not None and p12.filename else None
    draft = drafts.approve(
        db,
        who=who,
        draft_id=draft_id,
        settings=settings,
        personal_p12=key,
        passphrase=passphrase if key is not None else None,
    )
    return drafts.draft_view(db, draft)


@router.post("/drafts/{draft_id}/send", responses=NOT_YOURS)
def send(
    draft_id: DraftId, body: SendIn, who: ActiveUser, engine: EngineDep, settings: SettingsDep
) -> SendOut:
    """Send the signed letter to the colleges named, a province's or all, or (a college's) to
    OVEC. A letter with the credential slip goes as a mailout job (the answer names it at
    once; follow it at GET /api/mailouts/{job_id}); any other is delivered at once into each
    recipient's inbox, all or none (the answer lists ``deliveries``: each recipient and its
    receipt number)."""
    return sending.send(engine, who=who, draft_id=draft_id, data=body, settings=settings)


@router.post("/drafts/{draft_id}/send/roster", responses=NOT_YOURS)
def send_to_roster(
    draft_id: DraftId,
    who: ActiveUser,
    engine: EngineDep,
    settings: SettingsDep,
    roster: Annotated[UploadFile, File(description="CSV (UTF-8, BOM, cp874) or XLSX")],
    due_date: Annotated[date | None, Form()] = None,
) -> SendOut:
    """Send the signed letter to the colleges of an uploaded roster; a roster with any bad
    row sends nothing, and the answer lists every bad row."""
    data = _read(roster, settings.max_upload_bytes)
    return sending.send(
        engine,
        who=who,
        draft_id=draft_id,
        data=SendIn(to="colleges", due_date=due_date),
        settings=settings,
        roster=(roster.filename or "roster.csv", data),
    )


@router.get(
    "/drafts/{draft_id}/print-all.pdf",
    responses={**NOT_YOURS, 200: {"content": {"application/pdf": {}}}},
)
def print_file(draft_id: DraftId, who: ActiveUser, engine: EngineDep) -> Response:
    """The sent mailout's print file (every college's bundle, each from an odd page), once
    its job has finished (404 before)."""
    path = sending.sent_file(engine, who=who, draft_id=draft_id, name="print-all.pdf")
    return Response(path.read_bytes(), media_type="application/pdf")


@router.get("/receipts/{receipt_id}/reply", responses=NOT_YOURS)
def reply_form(receipt_id: DraftId, who: ActiveUser, db: SessionDep) -> ComposeIn:
    """The compose form of a reply to a received letter: อ้างถึง names it."""
    return replies.reply_form(db, who=who, receipt_id=receipt_id)


@router.post(
    "/receipts/{receipt_id}/reply", status_code=status.HTTP_201_CREATED, responses=NOT_YOURS
)
def start_reply(
    receipt_id: DraftId, body: ComposeIn, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> DraftView:
    """A reply draft; once signed, sending delivers it into the sender's inbox."""
    draft = replies.start(db, who=who, receipt_id=receipt_id, data=body, settings=settings)
    return drafts.draft_view(db, draft)


@router.get("/received/{item_id}/reply", responses={404: {"description": "not in your inbox"}})
def received_reply_form(item_id: DraftId, who: ActiveUser, db: SessionDep) -> ComposeIn:
    """The compose form of a reply to a letter delivered into your inbox: อ้างถึง names it."""
    return replies.received_reply_form(db, who=who, item_id=item_id)


@router.post(
    "/received/{item_id}/reply",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "not in your inbox"}},
)
def start_received_reply(
    item_id: DraftId, body: ComposeIn, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> DraftView:
    """A reply draft; once signed, sending delivers it into the sender organisation's inbox."""
    draft = replies.start_received(db, who=who, item_id=item_id, data=body, settings=settings)
    return drafts.draft_view(db, draft)


@router.get("/received")
def received(who: ActiveUser, db: SessionDep) -> list[OrgReceiptView]:
    """Letters other organisations sent yours through saraban, registered on arrival."""
    return [replies.view(r) for r in replies.inbox(db, who=who)]


@router.get("/received/{item_id}", responses={404: {"description": "not in your inbox"}})
def received_item(item_id: DraftId, who: ActiveUser, db: SessionDep) -> ReceivedDetail:
    """The register's entry and its route so far."""
    return org_routes.detail(db, who=who, item_id=item_id)


@router.post(
    "/received/{item_id}/route",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "not in your inbox"}, 409: {"description": "routed"}},
)
def route_received(item_id: DraftId, body: RoutePlan, who: ActiveUser, db: SessionDep) -> RouteView:
    """Route it: who writes notes in which order, and who decides."""
    return org_routes.plan(db, who=who, item_id=item_id, data=body)


@router.post(
    "/received/{item_id}/notes",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "not in your inbox"}, 409: {"description": "not now"}},
)
def note_received(item_id: DraftId, body: NoteIn, who: ActiveUser, db: SessionDep) -> RouteView:
    """A note (เกษียน), by the one whose step it is."""
    return org_routes.add_note(db, who=who, item_id=item_id, data=body)


@router.post(
    "/received/{item_id}/decision",
    status_code=status.HTTP_201_CREATED,
    responses={404: {"description": "not in your inbox"}, 409: {"description": "not now"}},
)
def decide_received(
    item_id: DraftId, body: DecisionIn, who: ActiveUser, db: SessionDep
) -> RouteView:
    """The decision (สั่งการ), by the one who decides, in turn."""
    return org_routes.decide(db, who=who, item_id=item_id, data=body)


@router.get(
    "/received/{item_id}/letter.pdf",
    responses={
        404: {"description": "not in your inbox"},
        200: {"content": {"application/pdf": {}}},
    },
)
def received_letter(
    item_id: DraftId, who: ActiveUser, db: SessionDep, settings: SettingsDep
) -> Response:
    pdf = replies.letter_pdf(db, who=who, item_id=item_id, settings=settings)
    return Response(pdf, media_type="application/pdf")
