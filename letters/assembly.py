"""Bundles that share most of their pages, assembled without copying the shared part each time.

A mailout sends every college the same enclosures and QR sheet (and often the same letter),
plus pages of its own: its credential slip, and its letter when the letter names it. The
shared pages are merged once into a *base* PDF. Each college's bundle is the base's bytes
followed by a PDF incremental update (ISO 32000-1, 7.5.6) that adds the college's own objects
and a page tree with its pages before and after the shared ones. Readers see one ordinary
document; the work per college is only its own few objects.

The print file (every bundle, each starting on an odd page for duplex printing) holds the
base's objects once and, for each bundle, new page objects that point at the shared content.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    PdfObject,
    StreamObject,
)


def merge_pdfs(parts: Iterable[bytes]) -> bytes:
    """One PDF of the given PDFs' pages in order (done once per mailout, for the base)."""
    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _serialise(obj: PdfObject) -> bytes:
    buf = io.BytesIO()
    obj.write_to_stream(buf)
    return buf.getvalue()


def _ref(obj_id: int) -> IndirectObject:
    return IndirectObject(obj_id, 0, None)  # type: ignore[arg-type]


def _remap(obj: PdfObject, ids: dict[int, int]) -> PdfObject:
    """A copy of ``obj`` whose indirect references use new object numbers (others kept)."""
    if isinstance(obj, IndirectObject):
        return _ref(ids.get(obj.idnum, obj.idnum))
    if isinstance(obj, StreamObject):
        stream = StreamObject()
        for key, value in obj.items():
            stream[NameObject(key)] = _remap(value, ids)
        stream._data = obj._data
        return stream
    if isinstance(obj, DictionaryObject):
        copy = DictionaryObject()
        for key, value in obj.items():
            copy[NameObject(key)] = _remap(value, ids)
        return copy
    if isinstance(obj, ArrayObject):
        return ArrayObject(_remap(value, ids) for value in obj)
    return obj


def _raw(obj: DictionaryObject) -> DictionaryObject:
    """A shallow copy that keeps indirect references as references."""
    copy = DictionaryObject()
    for key in obj:
        copy[NameObject(key)] = obj.raw_get(key)
    return copy


class _ObjectWriter:
    """Writes numbered objects to a stream and remembers where each one starts."""

    def __init__(self, out: BinaryIO, start_offset: int, first_id: int) -> None:
        self.out = out
        self.offset = start_offset
        self.next_id = first_id
        self.offsets: dict[int, int] = {}

    def reserve(self, count: int = 1) -> int:
        first = self.next_id
        self.next_id += count
        return first

    def write(self, obj_id: int, obj: PdfObject) -> None:
        self.raw_object(obj_id, _serialise(obj))

    def raw_object(self, obj_id: int, body: bytes) -> None:
        data = b"%d 0 obj\n%s\nendobj\n" % (obj_id, body)
        self.offsets[obj_id] = self.offset
        self.out.write(data)
        self.offset += len(data)

    def raw(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def finish(self, trailer: DictionaryObject, *, full_table: bool) -> None:
        """Cross-reference table and trailer (``full_table`` for a whole file, from object 0)."""
        start = self.offset
        parts = [b"xref\n"]
        if full_table:
            parts.append(b"0 %d\n0000000000 65535 f \n" % self.next_id)
            parts += [
                b"%010d 00000 n \n" % self.offsets[i]
                if i in self.offsets
                else b"0000000000 65535 f \n"
                for i in range(1, self.next_id)
            ]
        else:
            for obj_id in sorted(self.offsets):
                parts.append(b"%d 1\n%010d 00000 n \n" % (obj_id, self.offsets[obj_id]))
        trailer[NameObject("/Size")] = NumberObject(self.next_id)
        parts.append(b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (_serialise(trailer), start))
        self.raw(b"".join(parts))


def _own_objects(pdf: bytes, w: _ObjectWriter) -> tuple[dict[int, PdfObject], list[int]]:
    """A college's own PDF renumbered into the writer's free ids: its objects and its pages."""
    reader = PdfReader(io.BytesIO(pdf))
    numbers = sorted(idnum for gen in reader.xref.values() for idnum in gen)
    first = w.reserve(len(numbers))
    ids = {old: first + n for n, old in enumerate(numbers)}
    objects: dict[int, PdfObject] = {}
    for old in numbers:
        obj = reader.get_object(IndirectObject(old, 0, reader))
        if isinstance(obj, DictionaryObject) and obj.get("/Type") in ("/Catalog", "/Pages"):
            continue  # replaced by the bundle's own catalogue and page tree
        objects[ids[old]] = _remap(obj, ids)
    pages = [ids[page.indirect_reference.idnum] for page in reader.pages]
    return objects, pages


class BundleBase:
    """The shared pages of every bundle, parsed once."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf if pdf.endswith(b"\n") else pdf + b"\n"
        reader = PdfReader(io.BytesIO(pdf))
        self.reader = reader
        self.size = int(reader.trailer["/Size"])
        self.root_id = reader.trailer.raw_get("/Root").idnum
        self.startxref = reader._startxref
        self.pages_id = reader.trailer["/Root"].raw_get("/Pages").idnum
        self.pages_dict = reader.trailer["/Root"]["/Pages"]
        self.page_ids = [page.indirect_reference.idnum for page in reader.pages]

    @property
    def page_count(self) -> int:
        return len(self.page_ids)

    def bundle(self, before: Sequence[bytes], after: Sequence[bytes]) -> tuple[bytes, int]:
        """The base with ``before``'s pages ahead of its own and ``after``'s behind them.

        Returns the bundle's bytes and its page count.
        """
        out = io.BytesIO()
        out.write(self.pdf)
        w = _ObjectWriter(out, len(self.pdf), self.size)
        page_order: list[int] = []
        for group, pdfs in (("before", before), ("after", after)):
            if group == "after":
                page_order += self.page_ids
            for pdf in pdfs:
                objects, pages = _own_objects(pdf, w)
                for obj_id, obj in objects.items():
                    if obj_id in pages:
                        obj[NameObject("/Parent")] = _ref(self.pages_id)
                    w.write(obj_id, obj)
                page_order += pages
        pages_dict = _raw(self.pages_dict)
        pages_dict[NameObject("/Kids")] = ArrayObject(_ref(i) for i in page_order)
        pages_dict[NameObject("/Count")] = NumberObject(len(page_order))
        w.write(self.pages_id, pages_dict)
        trailer = DictionaryObject(
            {
                NameObject("/Root"): _ref(self.root_id),
                NameObject("/Prev"): NumberObject(self.startxref),
            }
        )
        w.finish(trailer, full_table=False)
        return out.getvalue(), len(page_order)


class PrintFile:
    """Every bundle in one file for the print room, each bundle starting on an odd page.

    The base's objects are written once; each bundle adds its own objects and page objects
    pointing at shared content. Only object offsets stay in memory.
    """

    def __init__(self, base: BundleBase, out: BinaryIO, page_size: Sequence[float]) -> None:
        self.base = base
        self.w = _ObjectWriter(out, 0, base.size)
        self.w.raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.pages_id = self.w.reserve()
        self.root_id = self.w.reserve()
        self.kids: list[int] = []
        self.page_size = ArrayObject(NumberObject(round(v)) for v in (0, 0, *page_size))
        skip = {base.root_id, base.pages_id, *base.page_ids}
        reader = base.reader
        for obj_id in sorted(i for gen in reader.xref.values() for i in gen):
            if obj_id not in skip:
                self.w.write(obj_id, reader.get_object(IndirectObject(obj_id, 0, reader)))

    def _page(self, page: DictionaryObject) -> None:
        obj_id = self.w.reserve()
        page[NameObject("/Parent")] = _ref(self.pages_id)
        self.w.write(obj_id, page)
        self.kids.append(obj_id)

    def add(self, bundle_pdf: bytes) -> int:
        """Append one bundle (as made by :meth:`BundleBase.bundle`); returns its page count."""
        reader = PdfReader(io.BytesIO(bundle_pdf))
        shared = set(self.base.page_ids)
        own = sorted(i for gen in reader.xref.values() for i in gen if i >= self.base.size)
        first = self.w.reserve(len(own))
        ids = {old: first + n for n, old in enumerate(own)}
        own_pages = {page.indirect_reference.idnum for page in reader.pages} - shared
        for old in own:
            if old in own_pages:
                continue
            self.w.write(ids[old], _remap(reader.get_object(IndirectObject(old, 0, reader)), ids))
        for page in reader.pages:
            self._page(_remap(_raw(page), ids))
        count = len(reader.pages)
        if count % 2:
            blank = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Page"),
                    NameObject("/MediaBox"): self.page_size,
                    NameObject("/Resources"): DictionaryObject(),
                }
            )
            self._page(blank)
        return count

    def close(self) -> None:
        pages = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Pages"),
                NameObject("/Kids"): ArrayObject(_ref(i) for i in self.kids),
                NameObject("/Count"): NumberObject(len(self.kids)),
            }
        )
        self.w.write(self.pages_id, pages)
        self.w.write(
            self.root_id,
            DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Catalog"),
                    NameObject("/Pages"): _ref(self.pages_id),
                }
            ),
        )
        self.w.finish(DictionaryObject({NameObject("/Root"): _ref(self.root_id)}), full_table=True)
