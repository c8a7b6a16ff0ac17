"""Bundles that share most of their pages, assembled without copying the shared part each time.

A mailout sends every college the same enclosures and QR sheet (and often the same letter),
plus pages of its own: its credential slip, and its letter when the letter names it. The
shared pages are merged once into a *base* PDF. Each college's bundle is the base's bytes
followed by a PDF incremental update (ISO 32000-1, 7.5.6) that adds the college's own objects
and a page tree with its pages before and after the shared ones. Readers see one ordinary
document; the work per college is only its own few objects.

The print file (every bundle, each starting on an odd page for duplex printing) holds the
base's objects once and, for each bundle, new page objects that point at the shared content.

Objects are moved as bytes: the PDFs handled here are written by reportlab, by pypdf and by this
module, all with classic cross-reference tables, so an object is found by its offset and
renumbered by rewriting the ``N 0 R`` references in its dictionary (never inside stream data).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterable, Sequence
from typing import BinaryIO

from pypdf import PdfReader, PdfWriter

_REF = re.compile(rb"(\d+) 0 R\b")
_OBJ = re.compile(rb"(\d+) 0 obj\s*")
_STREAM = re.compile(rb"\bstream\r?\n")
_PARENT = re.compile(rb"/Parent\s+\d+ 0 R")
_KIDS = re.compile(rb"/Kids\s*\[([^\]]*)\]")
_ROOT = re.compile(rb"/Root\s+(\d+) 0 R")
_PAGES = re.compile(rb"/Pages\s+(\d+) 0 R")
_SIZE = re.compile(rb"/Size\s+(\d+)")
_PREV = re.compile(rb"/Prev\s+(\d+)")


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


class RawPdf:
    """Objects of a PDF with classic xref tables (and incremental updates), as bytes."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf
        self.offsets: dict[int, int] = {}
        self._objects: dict[int, tuple[bytes, int]] = {}
        self._refs: dict[int, list[int]] = {}
        start = int(pdf[pdf.rindex(b"startxref") + 9 :].split()[0])
        self.startxref = start
        trailer = b""
        seen = set()
        while start not in seen:
            seen.add(start)
            section_trailer = self._read_xref(start)
            trailer = trailer or section_trailer
            prev = _PREV.search(section_trailer)
            if not prev:
                break
            start = int(prev.group(1))
        self.trailer = trailer
        self.size = int(_SIZE.search(trailer).group(1))  # type: ignore[union-attr]
        self.root_id = int(_ROOT.search(trailer).group(1))  # type: ignore[union-attr]
        self.pages_id = int(_PAGES.search(self.body(self.root_id)).group(1))  # type: ignore[union-attr]

    def _read_xref(self, offset: int) -> bytes:
        pdf = self.pdf
        if not pdf.startswith(b"xref", offset):
            raise ValueError(f"no classic xref table at offset {offset}")
        end = pdf.index(b"trailer", offset)
        lines = pdf[offset + 4 : end].split()
        i = 0
        while i < len(lines):
            first, count = int(lines[i]), int(lines[i + 1])
            i += 2
            for n in range(count):
                obj_offset, _gen, kind = lines[i], lines[i + 1], lines[i + 2]
                i += 3
                if kind == b"n":
                    self.offsets.setdefault(first + n, int(obj_offset))
        return pdf[end : pdf.index(b"startxref", end)]

    def _parsed(self, obj_id: int) -> tuple[bytes, int]:
        """The object's bytes between ``N 0 obj`` and ``endobj``, and the length of its
        dictionary part (all of it unless a stream follows). Each object is parsed once."""
        parsed = self._objects.get(obj_id)
        if parsed is not None:
            return parsed
        offset = self.offsets[obj_id]
        match = _OBJ.match(self.pdf, offset)
        if not match or int(match.group(1)) != obj_id:
            raise ValueError(f"object {obj_id} is not at offset {offset}")
        end = self.pdf.index(b"endobj", match.end())
        # A stream's keyword comes before the first "endobj", which its data may hold.
        stream = _STREAM.search(self.pdf, match.end(), end)
        if stream:
            end = self.pdf.index(b"endstream", stream.end())
            end = self.pdf.index(b"endobj", end)
        body = self.pdf[match.end() : end].rstrip()
        head = stream.start() - match.end() if stream else len(body)
        parsed = self._objects[obj_id] = (body, head)
        return parsed

    def body(self, obj_id: int) -> bytes:
        """The object's bytes between ``N 0 obj`` and ``endobj``."""
        return self._parsed(obj_id)[0]

    def is_stream(self, obj_id: int) -> bool:
        body, head = self._parsed(obj_id)
        return head < len(body)

    def refs(self, obj_id: int) -> list[int]:
        """The objects ``obj_id`` refers to outside its stream data, without /Parent."""
        refs = self._refs.get(obj_id)
        if refs is None:
            body, n = self._parsed(obj_id)
            head = body[:n]
            # Width arrays run to thousands of numbers and hold no reference: skip the scan.
            found = _REF.finditer(_PARENT.sub(b"", head)) if b" R" in head else ()
            refs = self._refs[obj_id] = [int(m.group(1)) for m in found]
        return refs

    def renumbered(self, obj_id: int, ids: dict[int, int]) -> bytes:
        """The object's bytes with its references moved to new numbers (stream data kept)."""
        body, n = self._parsed(obj_id)
        if not self.refs(obj_id) and b"/Parent" not in body[:n]:
            return body
        return _renumber_refs(body[:n], ids) + body[n:]

    def kids(self, pages_id: int | None = None) -> list[int]:
        kids = _KIDS.search(self.body(pages_id or self.pages_id))
        return [int(m.group(1)) for m in _REF.finditer(kids.group(1))] if kids else []

    def ids(self) -> list[int]:
        return sorted(self.offsets)


def _renumber_refs(head: bytes, ids: dict[int, int]) -> bytes:
    return _REF.sub(lambda m: b"%d 0 R" % ids.get(int(m.group(1)), int(m.group(1))), head)


def _with_parent(body: bytes, parent_id: int) -> bytes:
    parent = b"/Parent %d 0 R" % parent_id
    if _PARENT.search(body):
        return _PARENT.sub(parent, body, count=1)
    return body.replace(b"<<", b"<< " + parent + b" ", 1)


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

    def write(self, obj_id: int, body: bytes) -> None:
        data = b"%d 0 obj\n%s\nendobj\n" % (obj_id, body)
        self.offsets[obj_id] = self.offset
        self.out.write(data)
        self.offset += len(data)

    def raw(self, data: bytes) -> None:
        self.out.write(data)
        self.offset += len(data)

    def finish(self, trailer: bytes, *, full_table: bool) -> None:
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
        parts.append(
            b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (self.next_id, trailer, start)
        )
        self.raw(b"".join(parts))


def _reachable(raw: RawPdf, roots: Iterable[int]) -> list[int]:
    """The objects the given pages use (not following /Parent back up the tree)."""
    seen: set[int] = set()
    todo = list(roots)
    while todo:
        obj_id = todo.pop()
        if obj_id in seen or obj_id not in raw.offsets:
            continue
        seen.add(obj_id)
        todo += raw.refs(obj_id)
    return sorted(seen)


def _copy_pages(
    raw: RawPdf,
    w: _ObjectWriter,
    parent_id: int,
    pages: Sequence[int] | None = None,
    ids: dict[int, int] | None = None,
) -> list[int]:
    """Write the objects of ``pages`` (default: all) under new numbers; the new page ids.

    With a page subset, only what those pages use is copied: a chunk of colleges' slips can
    be rendered as one document and each college's bundle gets its own slip and nothing else.
    ``ids`` maps objects of ``raw`` already written (old number to new): pages taken from one
    document in several places share its fonts.
    """
    pages = list(raw.kids()) if pages is None else list(pages)
    ids = {} if ids is None else ids
    numbers = [n for n in _reachable(raw, pages) if n not in ids]
    first = w.reserve(len(numbers))
    ids.update({old: first + n for n, old in enumerate(numbers)})
    page_set = set(pages)
    for old in numbers:
        body = raw.renumbered(old, ids)
        w.write(ids[old], _with_parent(body, parent_id) if old in page_set else body)
    return [ids[old] for old in pages]


PageSource = bytes | tuple[RawPdf, Sequence[int]]


def _pages_of(source: PageSource) -> tuple[RawPdf, Sequence[int] | None]:
    if isinstance(source, bytes):
        return RawPdf(source), None
    return source


class BundleBase:
    """The shared pages of every bundle, parsed once."""

    def __init__(self, pdf: bytes) -> None:
        self.pdf = pdf if pdf.endswith(b"\n") else pdf + b"\n"
        self.raw = RawPdf(self.pdf)
        self.page_ids = self.raw.kids()
        pages_body = self.raw.body(self.raw.pages_id)
        self._pages_head = _KIDS.sub(b"", pages_body)

    @property
    def size(self) -> int:
        return self.raw.size

    @property
    def page_count(self) -> int:
        return len(self.page_ids)

    def bundle(
        self, before: Sequence[PageSource], after: Sequence[PageSource]
    ) -> tuple[bytes, int]:
        """The base with ``before``'s pages ahead of its own and ``after``'s behind them.

        A source is a whole PDF (bytes) or some pages of a parsed one (``(RawPdf, page ids)``).
        Returns the bundle's bytes and its page count.
        """
        out = io.BytesIO()
        out.write(self.pdf)
        w = _ObjectWriter(out, len(self.pdf), self.size)
        pages_id = self.raw.pages_id
        order: list[int] = []
        # Per source document, the objects already written (the document kept alive with its
        # map, so that its id() is never another's).
        copied: dict[int, tuple[RawPdf, dict[int, int]]] = {}
        for source in [*before, None, *after]:
            if source is None:
                order += self.page_ids
                continue
            raw, pages = _pages_of(source)
            _raw, ids = copied.setdefault(id(raw), (raw, {}))
            order += _copy_pages(raw, w, pages_id, pages, ids)
        w.write(pages_id, _pages_dict(order))
        w.finish(
            b"/Root %d 0 R /Prev %d" % (self.raw.root_id, self.raw.startxref), full_table=False
        )
        return out.getvalue(), len(order)


def _pages_dict(kids: Sequence[int]) -> bytes:
    refs = b" ".join(b"%d 0 R" % i for i in kids)
    return b"<< /Type /Pages /Count %d /Kids [ %s ] >>" % (len(kids), refs)


class PrintFile:
    """Every bundle in one file for the print room, each bundle starting on an odd page.

    The base's objects are written once; each bundle adds its own objects and page objects
    pointing at shared content; a stream that an earlier bundle holds byte for byte (the fonts
    of one chunk of colleges) is written once. Only object offsets, page numbers and the
    streams' digests stay in memory.
    """

    def __init__(self, base: BundleBase, out: BinaryIO) -> None:
        self.base = base
        self.w = _ObjectWriter(out, 0, base.size)
        self.w.raw(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
        self.pages_id = self.w.reserve()
        self.root_id = self.w.reserve()
        self.kids: list[int] = []
        self._streams: dict[bytes, int] = {}  # digest of a self-contained stream: its object
        raw = base.raw
        skip = {raw.root_id, raw.pages_id, *base.page_ids}
        for obj_id in raw.ids():
            if obj_id not in skip:
                self.w.write(obj_id, raw.body(obj_id))
        self._shared_pages = {i: raw.body(i) for i in base.page_ids}
        self._blank_box = b"[0 0 595.2756 841.8898]"
        if base.page_ids:
            box = re.search(rb"/MediaBox\s*(\[[^\]]*\])", self._shared_pages[base.page_ids[0]])
            if box:
                self._blank_box = box.group(1)

    def _page(self, body: bytes) -> None:
        obj_id = self.w.reserve()
        self.w.write(obj_id, _with_parent(body, self.pages_id))
        self.kids.append(obj_id)

    def add(self, bundle_pdf: bytes) -> int:
        """Append one bundle (as made by :meth:`BundleBase.bundle`); returns its page count."""
        raw = RawPdf(bundle_pdf)
        ids: dict[int, int] = {}
        fresh: list[int] = []
        streams: dict[int, bytes] = {}
        for old in (i for i in raw.ids() if i >= self.base.size):
            if raw.is_stream(old) and not raw.refs(old):
                body = raw.body(old)
                # Font files and other self-contained streams are the bulk of a bundle; the
                # bundles of one chunk share them, so the print file holds each once.
                digest = hashlib.blake2b(body, digest_size=16).digest()
                known = self._streams.get(digest)
                if known is not None:
                    ids[old] = known
                    continue
                streams[old] = digest
            fresh.append(old)
        first = self.w.reserve(len(fresh))
        ids.update({old: first + n for n, old in enumerate(fresh)})
        for old, digest in streams.items():
            self._streams[digest] = ids[old]
        kids = raw.kids()
        own_pages = set(kids) - set(self._shared_pages)
        for old in fresh:
            if old not in own_pages:
                self.w.write(ids[old], raw.renumbered(old, ids))
        for kid in kids:
            shared = self._shared_pages.get(kid)
            self._page(shared if shared is not None else raw.renumbered(kid, ids))
        if len(kids) % 2:
            self._page(b"<< /Type /Page /MediaBox %s /Resources << >> >>" % self._blank_box)
        return len(kids)

    def close(self) -> None:
        self.w.write(self.pages_id, _pages_dict(self.kids))
        self.w.write(self.root_id, b"<< /Type /Catalog /Pages %d 0 R >>" % self.pages_id)
        self.w.finish(b"/Root %d 0 R" % self.root_id, full_table=True)
