"""The annotated letter (เกษียนหนังสือ) as PDF, as the JSON API and the pages serve it: the
registered letter with the college's receipt stamp and every routing note written on it. In a
delivered bundle the notes go on the letter's last page (or a note sheet right after the
letter), and the enclosures follow as they are; where the letter ends is what the mailout
stored (``mailout_item.letter_pages``), else found from the letter's ``- ๒ -`` page headers.

The letter page shows the notes in the same order (:func:`page_order`) and splits each into
its text and its signature the same way (:func:`signature_line_count`).
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader, PdfWriter
from sqlmodel import Session

from letters.annotation import NoteBlock, ReceiptStamp, annotate
from letters.provenance import Source, is_signed
from saraban.domain.errors import NotFound
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import arabic_digits
from saraban.services import endorsement, pdfjobs, receipts
from saraban.services.endorsement import EventView
from saraban.settings import Settings
from saraban.storage.models import College, ReceiptChannel


def signature_line_count(event: EventView) -> int:
    """How many of the event's printed lines are its signature (name, position, the post
    acted for, date): set centred on the letter."""
    if event.kind == "acknowledgement":
        return len(event.lines) - 1
    signature = event.payload.get("signature") or {}
    return 4 if signature.get("acting") else 3


# How a corrected note and its correction are marked, on the letter page and in the PDF.
AMENDED_MARK = "แก้ไขโดยบันทึกถัดไป"
CORRECTION_LABEL = "บันทึกฉบับแก้ไข"


def page_order(events: list[EventView]) -> list[tuple[EventView, EventView | None]]:
    """The events as the letter page and the annotated letter show them: in order, each
    correction moved up to stand right after the note it corrects (a chain of corrections in
    the order signed); with each correction, the note it corrects."""
    by_id = {e.payload["id"]: e for e in events if e.kind == "note"}

    def corrects(event: EventView) -> EventView | None:
        return by_id.get(event.payload.get("amends") or "") if event.kind == "note" else None

    ordered: list[tuple[EventView, EventView | None]] = []
    for event in events:
        if corrects(event) is not None:
            continue  # shown after the note it corrects
        ordered.append((event, None))
        while event.amended_by in by_id:
            event = by_id[event.amended_by]
            ordered.append((event, corrects(event)))
    return ordered


def note_blocks(events: list[EventView]) -> list[NoteBlock]:
    """The notes as written on the letter, in the page's order: a corrected note struck
    through and marked, its correction labelled."""
    blocks = []
    for event, corrected in page_order(events):
        label = CORRECTION_LABEL if corrected is not None else ""
        if event.amended_by:
            label = " ".join(filter(None, [label, f"({AMENDED_MARK})"]))
        signature = min(signature_line_count(event), len(event.lines))
        blocks.append(
            NoteBlock(event.lines, signature, label=label, struck=event.amended_by is not None)
        )
    return blocks


# From page two, a letter's pages start with their number: "- ๒ -" (saraban's letter layout,
# and the regulation's).
_PAGE_NUMBER = re.compile(r"^-\s*([0-9๐-๙]+)\s*-$")


def letter_page_count(pdf: bytes) -> int:
    """How many pages of a delivered bundle are the letter itself (page 1, then each page
    headed with its number); the enclosures follow. For bundles whose mailout did not store
    ``mailout_item.letter_pages``."""
    reader = PdfReader(io.BytesIO(pdf))
    count = 1
    for index in range(1, len(reader.pages)):
        lines = (reader.pages[index].extract_text() or "").splitlines()
        first = next((line.strip() for line in lines if line.strip()), "")
        found = _PAGE_NUMBER.match(first)
        if found is None or int(arabic_digits(found.group(1))) != index + 1:
            break
        count += 1
    return count


def _bytes(writer: PdfWriter) -> bytes:
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _split(pdf: bytes, at: int) -> tuple[bytes, bytes]:
    """The pages before ``at`` and the pages from it, as two PDFs."""
    head, tail = PdfWriter(), PdfWriter()
    for index, page in enumerate(PdfReader(io.BytesIO(pdf)).pages):
        (head if index < at else tail).add_page(page)
    return _bytes(head), _bytes(tail)


def _concat(first: bytes, *more: bytes) -> bytes:
    """The PDFs one after the other, as the first one's document: its information and
    attachments (the signed original it was made from) stay."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(first)))
    for pdf in more:
        writer.append(PdfReader(io.BytesIO(pdf)))
    return _bytes(writer)


def _annotate_job(
    letter: bytes, stamp: ReceiptStamp, notes: list[NoteBlock], subject: str, source: Source
) -> bytes:
    """In a PDF worker (saraban.services.pdfjobs): PDFium finds the blank space."""
    return annotate(letter, stamp, notes, subject=subject, source=source)


def annotated_letter(
    session: Session, *, who: Principal, receipt_id: int, settings: Settings
) -> tuple[str, bytes]:
    """The registered letter with the college's receipt stamp at the top right of page 1 and
    every note, decision and acknowledgement so far written on it in the letter page's order (a
    corrected note struck through and marked, its correction labelled right after it).

    A new document made from the letter as received, never that file changed: a digitally
    signed original is attached to it byte for byte and named by its sha256
    (letters.provenance), and stays downloadable as it came."""
    detail = endorsement.detail(session, who=who, receipt_id=receipt_id)
    original_name, pdf = receipts.receipt_letter(
        session, who=who, receipt_id=receipt_id, settings=settings
    )
    source = Source(pdf, original_name, signed=is_signed(pdf))
    entry = detail.receipt
    college = session.get(College, entry.college_code)
    if college is None:
        raise NotFound(f"no receipt {receipt_id}")
    stamp = ReceiptStamp(college.name, entry.receipt_number, entry.received_at)
    notes = note_blocks(detail.route.events) if detail.route else []
    letter, enclosures = pdf, b""
    if entry.channel == ReceiptChannel.MAILOUT:  # the notes go on the letter, not an enclosure
        total = len(PdfReader(io.BytesIO(pdf)).pages)
        stored = receipts.stored_letter_pages(session, who=who, receipt_id=receipt_id)
        count = stored if stored is not None and 1 <= stored <= total else letter_page_count(pdf)
        if count < total:
            letter, enclosures = _split(pdf, count)
    pool = pdfjobs.pool_for(
        settings.pdf_workers, settings.pdf_job_seconds, settings.pdf_job_memory_mib
    )
    data = pool.run(_annotate_job, letter, stamp, notes, entry.subject, source, what=original_name)
    name = f"kasian-{entry.number}-{entry.year_be}.pdf"
    return name, _concat(data, enclosures) if enclosures else data
