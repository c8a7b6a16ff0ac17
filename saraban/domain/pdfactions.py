"""What a PDF would do by itself when opened: scripts and launch actions (active content).

A received PDF is kept byte for byte (its signatures must stay valid), so it cannot be
cleaned; instead it is flagged when it arrives, the flag shown on the letter's page, and it is
always served to the browser sandboxed (saraban.web). The check walks every object reachable
from the trailer (bounded, so a hostile file takes bounded time) and reports:

- ``javascript``: a JavaScript action anywhere (``/S /JavaScript``, a ``/JS`` entry, or the
  document's ``/Names /JavaScript`` tree);
- ``launch``: a ``/Launch`` action (runs a program or opens a file);
- ``open-action``: JavaScript run as the document opens (its ``/OpenAction``, or an ``/AA``
  additional action of the document or a page).

Pure: bytes in, findings out (pypdf reads the file).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from pypdf import PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, PdfObject

JAVASCRIPT = "javascript"
LAUNCH = "launch"
OPEN_ACTION = "open-action"
UNREADABLE = "unreadable"  # too deep or too large to walk: treated as suspect
FINDINGS = (JAVASCRIPT, LAUNCH, OPEN_ACTION, UNREADABLE)
MAX_OBJECTS = 200_000
LABELS_TH = {
    JAVASCRIPT: "มีสคริปต์ (JavaScript)",
    LAUNCH: "มีคำสั่งเปิดโปรแกรมหรือไฟล์อื่น (Launch)",
    OPEN_ACTION: "สั่งให้สคริปต์ทำงานทันทีที่เปิดไฟล์ (OpenAction)",
    UNREADABLE: "ตรวจเนื้อหาไม่ได้ครบ",
}


def _resolve(value: PdfObject | None) -> PdfObject | None:
    seen = 0
    while isinstance(value, IndirectObject) and seen < 32:
        value = value.get_object()
        seen += 1
    return value


def _is_javascript(action: PdfObject | None, depth: int = 0) -> bool:
    """Whether an action (or one chained after it with /Next) is JavaScript."""
    action = _resolve(action)
    if depth > 32:
        return True
    if isinstance(action, ArrayObject):
        return any(_is_javascript(item, depth + 1) for item in action)
    if not isinstance(action, DictionaryObject):
        return False
    if action.get("/S") == "/JavaScript" or "/JS" in action:
        return True
    return _is_javascript(action.get("/Next"), depth + 1)


def _children(value: PdfObject) -> Iterator[PdfObject]:
    if isinstance(value, DictionaryObject):
        yield from value.values()
    elif isinstance(value, ArrayObject):
        yield from value


def _walk(reader: PdfReader) -> Iterator[DictionaryObject]:
    """Every dictionary reachable from the trailer, each once (streams included)."""
    seen: set[tuple[int, int]] = set()
    stack: list[PdfObject | None] = [reader.trailer]
    count = 0
    while stack:
        value = stack.pop()
        if isinstance(value, IndirectObject):
            key = (value.idnum, value.generation)
            if key in seen:
                continue
            seen.add(key)
            value = value.get_object()
        if value is None:
            continue
        count += 1
        if count > MAX_OBJECTS:
            raise OverflowError("too many objects")
        if isinstance(value, DictionaryObject):
            yield value
        stack.extend(_children(value))


def active_content(pdf: bytes) -> tuple[str, ...]:
    """The findings of :data:`FINDINGS` that apply to ``pdf``, in that order (empty: none).
    A file that cannot be walked to the end is reported ``unreadable``."""
    found: set[str] = set()
    try:
        reader = PdfReader(io.BytesIO(pdf))
        root = _resolve(reader.trailer.get("/Root"))
        if isinstance(root, DictionaryObject):
            if _is_javascript(root.get("/OpenAction")):
                found.add(OPEN_ACTION)
            names = _resolve(root.get("/Names"))
            if isinstance(names, DictionaryObject) and "/JavaScript" in names:
                found.add(JAVASCRIPT)
        for obj in _walk(reader):
            kind = obj.get("/S")
            if kind == "/JavaScript" or "/JS" in obj:
                found.add(JAVASCRIPT)
            if kind == "/Launch":
                found.add(LAUNCH)
            additional = _resolve(obj.get("/AA"))
            if isinstance(additional, DictionaryObject) and any(
                _is_javascript(action) for action in additional.values()
            ):
                found.update((JAVASCRIPT, OPEN_ACTION))
    except Exception:  # a hostile file can make pypdf raise anything
        found.add(UNREADABLE)
    if OPEN_ACTION in found:
        found.add(JAVASCRIPT)
    return tuple(name for name in FINDINGS if name in found)


__all__ = [
    "FINDINGS",
    "JAVASCRIPT",
    "LABELS_TH",
    "LAUNCH",
    "OPEN_ACTION",
    "UNREADABLE",
    "active_content",
]
