"""Forms whose text is not UTF-8 are refused (422, naming the field), never stored as mojibake.

Starlette decodes a multipart field that is not valid in its charset as Latin-1, and a
urlencoded field's bad percent-escapes as U+FFFD: either way the text stored is not what was
sent. Its two parsers are replaced here by strict ones (:func:`install_strict_forms`, called by
``create_app``), which answer 422 as FastAPI answers a bad field
(``{"detail": [{"loc": ["body", FIELD], ...}]}``), and the pages show their 422 page.
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

import starlette.requests
from starlette.exceptions import HTTPException
from starlette.formparsers import FormParser, MultiPartParser

MESSAGE = "ข้อความไม่ใช่ UTF-8 / is not valid UTF-8 text"


def malformed(field: str) -> HTTPException:
    loc = ["body", field] if field else ["body"]
    return HTTPException(422, detail=[{"loc": loc, "msg": MESSAGE, "type": "value_error"}])


def _strict(data: bytes | bytearray, field: str, codec: str = "utf-8") -> str:
    try:
        return bytes(data).decode(codec or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise malformed(field) from None


class StrictFormParser(FormParser):
    """A urlencoded form whose names and values, unescaped, are UTF-8."""

    def on_field_end(self) -> None:
        name = _strict(unquote_to_bytes(bytes(self._field_name).replace(b"+", b" ")), "")
        _strict(unquote_to_bytes(bytes(self._field_value).replace(b"+", b" ")), name)
        super().on_field_end()


class StrictMultiPartParser(MultiPartParser):
    """A multipart form whose field names, file names and text fields are in its charset."""

    def on_headers_finished(self) -> None:
        super().on_headers_finished()
        part = self._current_part
        disposition = part.content_disposition
        if disposition:  # the field's name and the file's name
            _strict(disposition, part.field_name, self._charset)

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            _strict(part.data, part.field_name, self._charset)
        super().on_part_end()


def install_strict_forms() -> None:
    """Make every request's ``form()`` use the strict parsers (idempotent)."""
    starlette.requests.FormParser = StrictFormParser  # type: ignore[misc]
    starlette.requests.MultiPartParser = StrictMultiPartParser  # type: ignore[misc]


__all__ = ["StrictFormParser", "StrictMultiPartParser", "install_strict_forms", "malformed"]
