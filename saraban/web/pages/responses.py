"""File answers: PDFs shown inline and page images, never cached by the browser or a proxy."""

from __future__ import annotations

from fastapi import Response

PRIVATE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}


def pdf_response(name: str, data: bytes, *, download: bool = False) -> Response:
    disposition = "attachment" if download else "inline"
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'{disposition}; filename="{name}"', **PRIVATE},
    )


def png_response(data: bytes) -> Response:
    return Response(data, media_type="image/png", headers=PRIVATE)
