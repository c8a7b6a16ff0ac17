"""The bundled fonts for the web (fonts/Laksaman*.ttf for Thai, DejaVu Sans Mono for
passwords and codes), served from this site: no CDN."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import FileResponse

from letters.fonts import FONTS_DIR
from saraban.domain.errors import NotFound

router = APIRouter(include_in_schema=False)
WEB_FONTS = frozenset(
    {
        "Laksaman.ttf",
        "Laksaman-Bold.ttf",
        "Laksaman-Italic.ttf",
        "Laksaman-BoldItalic.ttf",
        "DejaVuSansMono.ttf",  # passwords and codes, as on the printed slips
        "DejaVuSansMono-Bold.ttf",
    }
)


@router.get("/static/fonts/{name}")
def font(name: Annotated[str, Path(max_length=64)]) -> FileResponse:
    if name not in WEB_FONTS or not (FONTS_DIR / name).is_file():
        raise NotFound(f"no font {name}")
    return FileResponse(
        FONTS_DIR / name,
        media_type="font/ttf",
        headers={"Cache-Control": "public, max-age=604800"},
    )
