"""Letter files: TOML with Jinja2 templates in ``to`` and ``body``, checked key by key.

Every error names the file, the key and its line, and nothing is rendered from a bad file.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from letters.model import (
    ACTING_RELATIONS,
    MADE_ENCLOSURES,
    URGENCIES,
    Enclosure,
    Letter,
    Sender,
    Signer,
)
from letters.segment import is_thai
from letters.thaitext import KEEP_CLOSE, KEEP_OPEN, nfc
from saraban.domain.errors import Invalid

TOP_KEYS = {
    "kind",
    "number",
    "date",
    "thai_digits",
    "urgency",
    "subject",
    "to",
    "references",
    "enclosures",
    "body",
    "closing",
    "sender",
    "signer",
}
SENDER_KEYS = {"code", "agency", "address", "unit", "phone", "fax", "email", "emblem"}
SIGNER_KEYS = {"name", "position", "acting", "on_behalf_of"}
ENCLOSURE_KEYS = {"title", "count", "file", "make"}
TEMPLATE_KEYS = ("to", "body")


class LetterFileError(Invalid):
    """A letter file that cannot be used, with where the problem is."""

    def __init__(self, path: Path, key: str | None, line: int | None, message: str) -> None:
        self.path, self.key, self.line = path, key, line
        where = f"{path}:{line}" if line else str(path)
        what = f"key '{key}': " if key else ""
        super().__init__(key, message, text=f"{where}: {what}{message}")


def _keep(value: Any) -> Any:
    """Jinja finalize: mark merged values so Thai numerals leave their digits alone."""
    if value is None or isinstance(value, jinja2.Undefined):
        return value
    return f"{KEEP_OPEN}{value}{KEEP_CLOSE}"


_ENV = SandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, finalize=_keep, keep_trailing_newline=False
)


def key_line(source: str, table: str | None, key: str) -> int | None:
    """The line where ``key`` is set (in ``[table]`` if given), for error messages."""
    current: str | None = None
    pattern = re.compile(rf'^\s*"?{re.escape(key)}"?\s*=')
    for number, line in enumerate(source.splitlines(), start=1):
        header = re.match(r"^\s*\[+\s*([^\]]+?)\s*\]+", line)
        if header:
            current = header.group(1)
            continue
        if current == table and pattern.match(line):
            return number
    return None


def join_wrapped(text: str) -> str:
    """A paragraph written over several lines: Thai joins directly, other text with a space."""
    lines = [line.strip() for line in text.strip().splitlines()]
    out = ""
    for line in lines:
        if not line:
            continue
        if out and not (is_thai(out[-1]) and is_thai(line[0])):
            out += " "
        out += line
    return out


def split_paragraphs(text: str) -> tuple[str, ...]:
    blocks = re.split(r"\n\s*\n", text.strip())
    return tuple(p for p in (join_wrapped(b) for b in blocks) if p)


@dataclass(frozen=True)
class LetterFile:
    """A parsed, checked letter file whose templates are ready to merge per recipient."""

    path: Path
    source: str
    data: Mapping[str, Any]
    templates: Mapping[str, jinja2.Template]

    def error(self, key: str, message: str, table: str | None = None) -> LetterFileError:
        return LetterFileError(self.path, key, key_line(self.source, table, key), message)

    def merge(self, context: Mapping[str, Any] | None = None) -> Letter:
        """The letter for one recipient (``college`` and any other names in ``context``)."""
        rendered: dict[str, str] = {}
        for key, template in self.templates.items():
            try:
                rendered[key] = nfc(template.render(**(context or {})))
            except jinja2.UndefinedError as exc:
                raise self.error(key, f"template uses an undefined name: {exc.message}") from None
            except jinja2.TemplateError as exc:
                raise self.error(key, f"template error: {exc}") from None
        d = self.data
        return Letter(
            kind=d["kind"],
            number=d.get("number"),
            date=d["date"],
            thai_digits=d.get("thai_digits", True),
            urgency=d.get("urgency"),
            subject=d["subject"],
            to=join_wrapped(rendered["to"]),
            references=tuple(d.get("references", ())),
            enclosures=d["enclosures"],
            body=split_paragraphs(rendered["body"]),
            closing=d.get("closing", "ขอแสดงความนับถือ"),
            sender=d["sender"],
            signer=d["signer"],
        )


def _require_str(lf: LetterFile, table: dict[str, Any], key: str, where: str | None) -> str:
    value = table.get(key)
    if value is None:
        raise LetterFileError(
            lf.path,
            key if not where else f"{where}.{key}",
            key_line(lf.source, where, key) or _table_line(lf, where),
            "is required",
        )
    if not isinstance(value, str) or not value.strip():
        raise lf.error(key, f"must be non-empty text, got {value!r}", where)
    return nfc(value.strip())


def _table_line(lf: LetterFile, table: str | None) -> int | None:
    if table is None:
        return None
    for number, line in enumerate(lf.source.splitlines(), start=1):
        if re.match(rf"^\s*\[\s*{re.escape(table)}\s*\]", line):
            return number
    return None


def _check_unknown(
    lf: LetterFile, table: Mapping[str, Any], allowed: set[str], where: str | None
) -> None:
    for key in table:
        if key not in allowed:
            known = ", ".join(sorted(allowed))
            raise LetterFileError(
                lf.path,
                f"{where}.{key}" if where else key,
                key_line(lf.source, where, key),
                f"unknown key (known keys: {known})",
            )


def _parse_date(lf: LetterFile, value: Any) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise lf.error("date", f"{value!r} is not an ISO date (YYYY-MM-DD)")


def _parse_enclosures(lf: LetterFile, value: Any) -> tuple[Enclosure, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise lf.error("enclosures", "must be a list")
    out = []
    for n, item in enumerate(value, start=1):
        if isinstance(item, str):
            out.append(Enclosure(title=nfc(item.strip())))
            continue
        if not isinstance(item, dict):
            raise lf.error("enclosures", f"item {n} must be text or a table, got {item!r}")
        for key in item:
            if key not in ENCLOSURE_KEYS:
                raise lf.error(
                    "enclosures", f"item {n}: unknown key {key!r} (known: count, file, make, title)"
                )
        title = item.get("title")
        if not isinstance(title, str) or not title.strip():
            raise lf.error("enclosures", f"item {n}: 'title' is required")
        file = item.get("file")
        if file is not None:
            path = (lf.path.parent / str(file)).resolve()
            if not path.is_file():
                raise lf.error("enclosures", f"item {n}: file {path} does not exist")
            file = str(path)
        make = item.get("make")
        if make is not None and make not in MADE_ENCLOSURES:
            raise lf.error(
                "enclosures",
                f"item {n}: make = {make!r} is not one of {', '.join(MADE_ENCLOSURES)}",
            )
        if make is not None and file is not None:
            raise lf.error("enclosures", f"item {n}: give either file or make, not both")
        out.append(
            Enclosure(
                title=nfc(title.strip()),
                count=nfc(str(item.get("count", ""))),
                file=file,
                make=make,
            )
        )
    return tuple(out)


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """A TOML file's text and data; a missing, non-UTF-8 or malformed file is a
    :class:`LetterFileError` naming the file and, for bad TOML, the line."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LetterFileError(path, None, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise LetterFileError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    try:
        return source, tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise LetterFileError(
            path, None, int(line.group(1)) if line else None, f"invalid TOML: {exc}"
        ) from None


def load_letter_file(path: Path | str) -> LetterFile:
    """Read and check a letter file; raises :class:`LetterFileError` naming file, key and line."""
    path = Path(path)
    source, raw = read_toml(path)

    lf = LetterFile(path=path, source=source, data={}, templates={})
    _check_unknown(lf, raw, TOP_KEYS, None)
    data: dict[str, Any] = {}

    kind = raw.get("kind")
    if kind not in ("external", "circular"):
        if kind is None:
            raise LetterFileError(path, "kind", None, "is required: external or circular")
        raise lf.error("kind", f"{kind!r} is not external or circular")
    data["kind"] = kind
    if "number" in raw:
        number = raw["number"]
        if isinstance(number, bool) or not isinstance(number, (int, str)) or not str(number):
            raise lf.error("number", f"must be the register number as text, got {number!r}")
        data["number"] = nfc(str(number).strip())
    if "date" not in raw:
        raise LetterFileError(path, "date", None, "is required (YYYY-MM-DD)")
    data["date"] = _parse_date(lf, raw["date"])
    if "thai_digits" in raw:
        if not isinstance(raw["thai_digits"], bool):
            raise lf.error("thai_digits", f"must be true or false, got {raw['thai_digits']!r}")
        data["thai_digits"] = raw["thai_digits"]
    if "urgency" in raw:
        urgency = raw["urgency"]
        if urgency not in URGENCIES:
            raise lf.error("urgency", f"{urgency!r} is not one of {', '.join(URGENCIES)}")
        data["urgency"] = urgency
    data["subject"] = _require_str(lf, raw, "subject", None)
    if "closing" in raw:
        data["closing"] = _require_str(lf, raw, "closing", None)
    references = raw.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise lf.error("references", "must be a list of text")
    data["references"] = [nfc(r.strip()) for r in references]
    data["enclosures"] = _parse_enclosures(lf, raw.get("enclosures"))

    templates: dict[str, jinja2.Template] = {}
    for key in TEMPLATE_KEYS:
        source_text = _require_str(lf, raw, key, None)
        try:
            templates[key] = _ENV.from_string(source_text)
        except jinja2.TemplateSyntaxError as exc:
            start = key_line(source, None, key) or 0
            raise LetterFileError(
                path,
                key,
                start + (exc.lineno or 1) - 1 if start else None,
                f"template syntax error: {exc.message}",
            ) from None

    for table, keys in (("sender", SENDER_KEYS), ("signer", SIGNER_KEYS)):
        if not isinstance(raw.get(table), dict):
            raise LetterFileError(path, table, None, f"the [{table}] table is required")
        _check_unknown(lf, raw[table], keys, table)
    s = raw["sender"]
    emblem = None
    if "emblem" in s:
        emblem = (path.parent / str(s["emblem"])).resolve()
        if not emblem.is_file():
            raise lf.error("emblem", f"image {emblem} does not exist", "sender")
    optional = {k: nfc(str(s.get(k, "")).strip()) for k in ("unit", "phone", "fax", "email")}
    data["sender"] = Sender(
        code=_require_str(lf, s, "code", "sender"),
        agency=_require_str(lf, s, "agency", "sender"),
        address=_require_str(lf, s, "address", "sender"),
        emblem=emblem,
        **optional,
    )
    g = raw["signer"]
    acting = nfc(str(g.get("acting", "")).strip())
    if acting and acting not in ACTING_RELATIONS:
        raise lf.error(
            "acting", f"{acting!r} is not one of {', '.join(ACTING_RELATIONS)}", "signer"
        )
    data["signer"] = Signer(
        name=_require_str(lf, g, "name", "signer"),
        position=_require_str(lf, g, "position", "signer"),
        acting=acting,
        on_behalf_of=nfc(str(g.get("on_behalf_of", "")).strip()),
    )
    return LetterFile(path=path, source=source, data=data, templates=templates)
