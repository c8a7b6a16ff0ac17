"""What an uploaded PDF may be, checked before it is kept: so few pages, each so large.

A 435-byte PDF can declare one page of 14,400 × 14,400 pt (5 × 5 m): rendered for a preview at
110 dpi it is a 22,000-pixel square, 19 s and 3.7 GB. The page count and every page's size
(its MediaBox, scaled by its UserUnit) are read from the file's structure with pypdf, which
renders nothing, and a file over ``max_upload_pages`` pages or with a page whose longest side is
over ``max_page_points`` is refused with the file's name, the page and the limit. (Pages are
also rendered at a bounded size whatever they declare: saraban.services.pdfjobs.)
"""

from __future__ import annotations

import io

from pypdf import PdfReader

from saraban.domain.errors import Invalid
from saraban.settings import Settings

MM_PER_POINT = 25.4 / 72


def page_sizes(reader: PdfReader) -> list[tuple[float, float]]:
    """Each page's width and height in points (the MediaBox times the UserUnit)."""
    sizes = []
    for page in reader.pages:
        box = page.mediabox
        unit = float(page.user_unit or 1)
        sizes.append((abs(float(box.width)) * unit, abs(float(box.height)) * unit))
    return sizes


def check_pages(data: bytes, settings: Settings, *, name: str = "", field: str = "file") -> int:
    """The PDF's page count, once its pages are few and small enough (Invalid naming the
    file and the page otherwise)."""
    label = f"{name}: " if name else ""
    try:
        reader = PdfReader(io.BytesIO(data))
        count = len(reader.pages)
    except Exception as exc:  # a hostile file can make pypdf raise anything
        raise Invalid(
            field, f"{label}ไม่ใช่ PDF ที่อ่านได้ / is not a readable PDF ({type(exc).__name__})"
        ) from None
    if count < 1:
        raise Invalid(field, f"{label}ไม่มีหน้าใดเลย / the PDF has no pages")
    if count > settings.max_upload_pages:
        limit = settings.max_upload_pages
        raise Invalid(
            field,
            f"{label}มี {count:,} หน้า เกินกว่าที่รับได้ ({limit:,} หน้า) / "
            f"has {count:,} pages; at most {limit:,} are accepted",
        )
    try:
        sizes = page_sizes(reader)
    except Exception as exc:
        raise Invalid(
            field, f"{label}อ่านขนาดหน้าไม่ได้ / a page's size is unreadable ({type(exc).__name__})"
        ) from None
    most = settings.max_page_points
    for number, (width, height) in enumerate(sizes, start=1):
        if max(width, height) > most or min(width, height) <= 0:
            w_mm, h_mm = width * MM_PER_POINT, height * MM_PER_POINT
            raise Invalid(
                field,
                f"{label}หน้า {number} มีขนาด {w_mm:,.0f} × {h_mm:,.0f} มม. ใหญ่เกินกว่าที่รับได้ "
                f"(ด้านยาวไม่เกิน {most * MM_PER_POINT:,.0f} มม.) / page {number} is "
                f"{width:,.0f} × {height:,.0f} pt; its longest side may be at most {most:,.0f} pt",
            )
    return count
