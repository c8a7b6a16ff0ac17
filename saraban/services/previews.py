"""PDF pages as images (the pages' previews: no PDF plug-in, no JavaScript), and the one lock
every use of PDFium in this process holds.

PDFium is not safe to call from two threads at once, and the web's routes run in a thread
pool: previews and the annotated letter's search for blank space (saraban.services.
annotated_letter) take :data:`PDFIUM_LOCK`.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import OrderedDict

import pypdfium2

from saraban.domain.errors import NotFound

PDFIUM_LOCK = threading.Lock()
PREVIEW_DPI = 110
MAX_PREVIEW_PAGES = 30
_CACHE_SIZE = 48


class _PreviewCache:
    """PNGs of recently shown pages, by (the PDF's sha256, page index)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[str, int], bytes] = OrderedDict()

    def get(self, key: tuple[str, int]) -> bytes | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: tuple[str, int], png: bytes) -> None:
        with self._lock:
            self._items[key] = png
            while len(self._items) > _CACHE_SIZE:
                self._items.popitem(last=False)


_previews = _PreviewCache()


def page_count(pdf: bytes) -> int:
    with PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(pdf)
        try:
            return min(len(doc), MAX_PREVIEW_PAGES)
        finally:
            doc.close()


def page_png(pdf: bytes, index: int) -> bytes:
    """Page ``index`` (from 0) as a PNG; NotFound past the last page."""
    key = (hashlib.sha256(pdf).hexdigest(), index)
    cached = _previews.get(key)
    if cached is not None:
        return cached
    with PDFIUM_LOCK:
        doc = pypdfium2.PdfDocument(pdf)
        try:
            if not 0 <= index < min(len(doc), MAX_PREVIEW_PAGES):
                raise NotFound(f"no page {index + 1}")
            image = doc[index].render(scale=PREVIEW_DPI / 72).to_pil()
        finally:
            doc.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    _previews.put(key, out.getvalue())
    return out.getvalue()
