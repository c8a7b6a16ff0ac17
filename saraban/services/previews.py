"""PDF pages as images (the pages' previews: no PDF plug-in, no JavaScript).

Rendering runs in the PDF worker pool (saraban.services.pdfjobs: processes of their own, with
a time and memory limit per job), never in the web's process, so one college's heavy page
does not hold up another's. A page is rendered at ``PREVIEW_DPI``, or smaller so that its
image has at most ``render_max_pixels`` pixels, whatever size the page declares.

:data:`PDFIUM_LOCK` remains for any use of PDFium in this process (PDFium is not safe from two
threads at once).
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict

import pypdfium2

from saraban.domain.errors import NotFound
from saraban.services import pdfjobs
from saraban.settings import Settings

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
_counts: OrderedDict[str, int] = OrderedDict()
_counts_lock = threading.Lock()


def render_scale(
    width_pt: float, height_pt: float, max_pixels: int, dpi: int = PREVIEW_DPI
) -> float:
    """The scale (pixels per point) of a page's preview: ``dpi``, or less so that the image
    has at most ``max_pixels`` pixels."""
    scale = dpi / 72
    area = max(width_pt, 1.0) * max(height_pt, 1.0)
    return min(scale, math.sqrt(max_pixels / area))


def _count_job(pdf: bytes) -> int:
    """In a PDF worker: the number of pages."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        return len(doc)
    finally:
        doc.close()


def _render_job(pdf: bytes, index: int, max_pixels: int) -> bytes | None:
    """In a PDF worker: page ``index`` as a PNG (None: no such page)."""
    doc = pypdfium2.PdfDocument(pdf)
    try:
        if not 0 <= index < min(len(doc), MAX_PREVIEW_PAGES):
            return None
        page = doc[index]
        width, height = page.get_size()
        image = page.render(scale=render_scale(width, height, max_pixels)).to_pil()
    finally:
        doc.close()
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _pool(settings: Settings | None) -> pdfjobs.PdfPool:
    settings = settings if settings is not None else Settings()
    return pdfjobs.pool_for(
        settings.pdf_workers, settings.pdf_job_seconds, settings.pdf_job_memory_mib
    )


def page_count(pdf: bytes, settings: Settings | None = None) -> int:
    """The pages a preview shows (at most ``MAX_PREVIEW_PAGES``)."""
    digest = hashlib.sha256(pdf).hexdigest()
    with _counts_lock:
        found = _counts.get(digest)
    if found is None:
        found = _pool(settings).run(_count_job, pdf, what="PDF")
        with _counts_lock:
            _counts[digest] = found
            while len(_counts) > 4 * _CACHE_SIZE:
                _counts.popitem(last=False)
    return min(found, MAX_PREVIEW_PAGES)


def page_png(pdf: bytes, index: int, settings: Settings | None = None) -> bytes:
    """Page ``index`` (from 0) as a PNG; NotFound past the last page."""
    key = (hashlib.sha256(pdf).hexdigest(), index)
    cached = _previews.get(key)
    if cached is not None:
        return cached
    max_pixels = (settings if settings is not None else Settings()).render_max_pixels
    png = _pool(settings).run(_render_job, pdf, index, max_pixels, what=f"page {index + 1}")
    if png is None:
        raise NotFound(f"no page {index + 1}")
    _previews.put(key, png)
    return png
