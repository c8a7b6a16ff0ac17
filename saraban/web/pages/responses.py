"""File answers: PDFs shown inline and page images, never cached by the browser or a proxy."""

from __future__ import annotations

from fastapi import Response

PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


# A PDF that came from outside (an uploaded letter, or a copy made from one) may carry scripts
# or launch actions (saraban.domain.pdfactions): it is downloaded, never shown inline, and
# sandboxed should a browser show it anyway (no scripts, no same origin: no session).
UNTRUSTED = {"Content-Security-Policy": "sandbox", "X-Frame-Options": "DENY"}


def pdf_headers(name: str, *, download: bool = False, untrusted: bool = False) -> dict[str, str]:
    """The headers of a PDF answer (pages and API alike)."""
    disposition = "attachment" if download or untrusted else "inline"
    headers = {"Content-Disposition": f'{disposition}; filename="{name}"', **PRIVATE}
    return {**headers, **UNTRUSTED} if untrusted else headers


def pdf_response(
    name: str, data: bytes, *, download: bool = False, untrusted: bool = False
) -> Response:
    headers = pdf_headers(name, download=download, untrusted=untrusted)
    return Response(data, media_type="application/pdf", headers=headers)


def png_response(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers=PRIVATE)
