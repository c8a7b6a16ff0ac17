"""What a copy of a received PDF was made from: its original's sha256 and, when the original is
digitally signed, the original itself attached byte for byte.

A digital signature covers the bytes it signed. A copy with anything written on it (the receipt
stamp, the routing notes) is a new document: the copied signature field would still point at a
byte range that no longer holds what was signed, and every validator reports it as tampered
("Digest Mismatch" in poppler's pdfsig, ``INVALID`` in pyHanko). So the copy drops the
signature fields it copied, states the sha256 of its original (in its metadata, and on its note
sheet: ``ทำจากต้นฉบับ sha256 ...``) and, for a signed original, carries the original as an
associated file (PDF 2.0 and PDF/A-3 ``/AF``, ``/AFRelationship /Source``): whoever holds the copy
holds the signed original too, and can check it.

Pure: pypdf objects and bytes.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from typing import Any

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    NameObject,
    NumberObject,
    TextStringObject,
)

ORIGINAL_NAME = "original.pdf"
SOURCE_KEY = "/SarabanSource"  # in the copy's document information: "sha256:<hex>"


@dataclass(frozen=True)
class Source:
    """The original a copy is made from: its bytes, the name it is attached under, whether it
    is digitally signed (then it is attached)."""

    data: bytes
    name: str = ORIGINAL_NAME
    signed: bool = False

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    def lines(self) -> list[str]:
        """What the copy's note sheet says about it, in Thai."""
        lines = [f"ทำจากต้นฉบับ sha256 {self.sha256}"]
        if self.signed:
            lines.append(f"ต้นฉบับลงลายมือชื่อดิจิทัลไว้ และแนบอยู่ในไฟล์นี้ ({self.name}): ตรวจลายมือชื่อที่ต้นฉบับ")
        return lines


def _field_type(annotation: Any) -> Any:
    """A widget's field type, its own or its parent field's."""
    kind = annotation.get("/FT")
    parent = annotation.get("/Parent")
    if kind is None and parent is not None:
        kind = parent.get_object().get("/FT")
    return kind


def is_signed(pdf: bytes) -> bool:
    """Whether ``pdf`` holds a signed signature field (a ``/Sig`` field with a value). An
    unreadable PDF is not signed, as far as this goes."""
    try:
        reader = PdfReader(io.BytesIO(pdf))
        form = reader.root_object.get("/AcroForm")
        if form is None:
            return False
        pending = list(form.get_object().get("/Fields", []))
        seen = 0
        while pending and seen < 10_000:  # a hostile form's fields are bounded too
            seen += 1
            field = pending.pop().get_object()
            if _field_type(field) == "/Sig" and field.get("/V") is not None:
                return True
            pending.extend(field.get("/Kids", []))
    except Exception:  # untrusted bytes: any failure means no signature found
        return False
    return False


def drop_signature_fields(writer: PdfWriter) -> None:
    """Remove every signature field a copy holds: its widgets from the pages, its entries from
    the form (the form itself if nothing else is left in it) and the document's ``/Perms``
    (DocMDP), which point at a signature the copy no longer has."""
    for page in writer.pages:
        annotations = page.get("/Annots")
        if annotations is None:
            continue
        kept = ArrayObject(
            a for a in annotations.get_object() if _field_type(a.get_object()) != "/Sig"
        )
        if kept:
            page[NameObject("/Annots")] = kept
        else:
            del page["/Annots"]
    root = writer.root_object
    if "/Perms" in root:
        del root["/Perms"]
    form = root.get("/AcroForm")
    if form is None:
        return
    form = form.get_object()
    fields = ArrayObject(
        f for f in form.get("/Fields", []) if _field_type(f.get_object()) != "/Sig"
    )
    if not fields:
        del root["/AcroForm"]
        return
    form[NameObject("/Fields")] = fields
    if "/SigFlags" in form:
        del form["/SigFlags"]


def attach_source(writer: PdfWriter, source: Source) -> None:
    """State the original's sha256 in the copy's document information and, for a signed
    original, attach it byte for byte as the copy's source (``/AF``, ``/AFRelationship
    /Source``)."""
    digest = source.sha256
    writer.add_metadata(
        {
            "/Subject": f"เกษียนหนังสือ ทำจากต้นฉบับ sha256:{digest}",
            SOURCE_KEY: f"sha256:{digest}",
        }
    )
    if not source.signed:
        return
    attached = writer.add_attachment(source.name, source.data)
    attached.subtype = NameObject("/application/pdf")
    attached.size = NumberObject(len(source.data))
    attached.description = TextStringObject(f"หนังสือต้นฉบับที่ลงลายมือชื่อดิจิทัล sha256:{digest}")
    attached.associated_file_relationship = NameObject("/Source")
    spec: DictionaryObject = attached.pdf_object
    spec[NameObject("/UF")] = TextStringObject(source.name)
    reference = spec.indirect_reference
    assert reference is not None  # pypdf adds the file specification as an object of its own
    root = writer.root_object
    files = root.get("/AF")
    files = ArrayObject(files.get_object()) if files is not None else ArrayObject()
    files.append(reference)
    root[NameObject("/AF")] = files


def attachment(pdf: bytes, name: str = ORIGINAL_NAME) -> bytes | None:
    """The file attached to ``pdf`` under ``name``, as it was attached (None: no such file)."""
    found = PdfReader(io.BytesIO(pdf)).attachments.get(name)
    return found[0] if found else None
