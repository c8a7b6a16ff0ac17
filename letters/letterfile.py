"""Letter files: TOML with Jinja2 templates in ``to`` and ``body``, checked key by key.

Every error names the file, the key and its line, and nothing is rendered from a bad file. A
letter file is the exchange format between the command line and the web: a draft is read from
text (:func:`parse_letter_file`) and written back (:func:`dump_letter_file`) unmerged, its
templates as written.

Kinds: ``external`` and ``circular`` letters, and the internal memo, ``memo`` (บันทึกข้อความ). A
memo's ``[sender]`` gives ``code`` (for ที่), ``agency``, ``unit`` (required) and ``phone``: its
ส่วนราชการ line; it has no address, fax, e-mail or closing words, and those keys are refused on
a memo rather than silently not printed. ``references`` and ``enclosures`` print on a memo only
when given, under เรียน, as on a letter.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Any

import jinja2
import tomli_w
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from letters.model import (
    ACTING_RELATIONS,
    DEFAULT_CLOSING,
    KINDS,
    MADE_ENCLOSURES,
    SECRECY_CLASSES,
    URGENCIES,
    Enclosure,
    Kind,
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
    "secrecy",
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
# What a memo does not print, so does not take.
MEMO_REFUSED = {"closing": "a memo has no closing words"}
MEMO_SENDER_REFUSED = {
    "address": "a memo prints no address",
    "fax": "a memo prints only the unit's phone (ส่วนราชการ)",
    "email": "a memo prints only the unit's phone (ส่วนราชการ)",
}


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


def template_file_line(
    source: str, key: str, text: str, within: int | None, raw: Any = None
) -> int | None:
    """The line of the file holding line ``within`` (1-based) of the template ``key``, whose
    text (stripped, as checked) is ``text``: a multi-line string starts on the line after its
    opening quotes, and the blank lines the check stripped off its start are counted back."""
    start = key_line(source, None, key)
    if start is None:
        return None
    lines = source.splitlines()
    opener = re.search(r'=\s*("""|\'\'\')(.*)$', lines[start - 1])
    first = start + 1 if opener and not opener.group(2).strip() else start
    if not isinstance(raw, str):
        raw = _raw_value(source, key)
    if isinstance(raw, str):
        stripped_nfc = nfc(raw.strip())
        if stripped_nfc == text or raw.strip() == text:
            first += raw[: len(raw) - len(raw.lstrip())].count("\n")
    return first + max((within or 1) - 1, 0)


def _raw_value(source: str, key: str) -> Any:
    try:
        return tomllib.loads(source).get(key)
    except tomllib.TOMLDecodeError:
        return None


def _template_line(exc: BaseException) -> int | None:
    """The template's line where rendering failed (Jinja2 rewrites the traceback so that its
    frames carry the template's own line numbers)."""
    line = getattr(exc, "lineno", None)
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _dotted(node: nodes.Node) -> str | None:
    """``college.name`` for the expression ``college.name`` (or ``college['name']``)."""
    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        parent = _dotted(node.node)
        return f"{parent}.{node.attr}" if parent else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        parent = _dotted(node.node)
        return f"{parent}.{node.arg.value}" if parent else None
    return None


def unknown_field(text: str, message: str, line: int | None) -> str | None:
    """The merge field a template names that the values lack, as written (``college.nmae``),
    from Jinja2's message (``'dict object' has no attribute 'nmae'``, ``'colege' is
    undefined``); the expression on the failing ``line`` is preferred."""
    undefined = re.match(r"^'([^']+)' is undefined$", message)
    if undefined:
        return undefined.group(1)
    attribute = re.match(r"^.+ has no attribute '([^']+)'$", message)
    if not attribute:
        return None
    name = attribute.group(1)
    try:
        tree = _ENV.parse(text)
    except jinja2.TemplateSyntaxError:
        return None
    found: list[tuple[bool, str]] = []
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        dotted = _dotted(node)
        if dotted and dotted.rpartition(".")[2] == name:
            found.append((node.lineno != line, dotted))
    return min(found)[1] if found else name


def merge_fields(values: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Every merge field the values give, as a template names it: ``college.code``, ..."""
    fields: list[str] = []
    for key, value in values.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            fields.extend(merge_fields(value, f"{name}."))
        else:
            fields.append(name)
    return fields


@dataclass(frozen=True)
class LetterSource:
    """A letter file's content, checked and unmerged: ``to`` and ``body`` are still Jinja2
    templates. Paths (enclosure files, the emblem) are absolute."""

    kind: Kind
    date: date
    subject: str
    to: str
    body: str
    sender: Sender
    signer: Signer
    number: str | None = None
    thai_digits: bool = True
    urgency: str | None = None
    secrecy: str | None = None
    references: tuple[str, ...] = ()
    enclosures: tuple[Enclosure, ...] = ()
    closing: str | None = None  # None: the regulation's ขอแสดงความนับถือ (a memo has none)


@dataclass(frozen=True)
class LetterFile:
    """A parsed, checked letter file whose templates are ready to merge per recipient."""

    path: Path
    source: str  # the file's text
    spec: LetterSource
    templates: Mapping[str, jinja2.Template]

    @property
    def data(self) -> Mapping[str, Any]:
        """The checked values by letter-file key (``enclosures`` as :class:`Enclosure`)."""
        spec = self.spec
        return MappingProxyType(
            {
                "kind": spec.kind,
                "number": spec.number,
                "date": spec.date,
                "thai_digits": spec.thai_digits,
                "urgency": spec.urgency,
                "secrecy": spec.secrecy,
                "subject": spec.subject,
                "references": list(spec.references),
                "enclosures": spec.enclosures,
                "closing": spec.closing,
                "sender": spec.sender,
                "signer": spec.signer,
            }
        )

    def error(self, key: str, message: str, table: str | None = None) -> LetterFileError:
        return LetterFileError(self.path, key, key_line(self.source, table, key), message)

    def template_error(
        self, key: str, exc: jinja2.TemplateError, values: Mapping[str, Any]
    ) -> LetterFileError:
        """A template that failed to merge, at the line of the file where the failing
        expression is (not the line of ``key = \"\"\"``), with an unknown merge field named as
        the clerk writes it (``college.nmae``) beside the fields there are."""
        text = str(getattr(self.spec, key, "") or "")
        within = _template_line(exc)
        line = template_file_line(self.source, key, text, within)
        if isinstance(exc, jinja2.UndefinedError):
            field = unknown_field(text, exc.message or "", within)
            if field is not None:
                known = ", ".join(merge_fields(values)) or "none were given"
                message = f"unknown merge field {field}; known: {known}"
                return LetterFileError(self.path, key, line, message)
            return LetterFileError(self.path, key, line, f"template error: {exc.message}")
        return LetterFileError(self.path, key, line, f"template error: {exc}")

    def merge_names(self) -> frozenset[str]:
        """The names the templates take from outside (``college`` for ``{{ college.name }}``):
        none, and the letter is the same for every recipient."""
        found: set[str] = set()
        for key in TEMPLATE_KEYS:
            text = str(getattr(self.spec, key, "") or "")
            found |= meta.find_undeclared_variables(_ENV.parse(text))
        return frozenset(found)

    def merge(self, context: Mapping[str, Any] | None = None) -> Letter:
        """The letter for one recipient (``college`` and any other names in ``context``)."""
        rendered: dict[str, str] = {}
        values = dict(context or {})
        for key, template in self.templates.items():
            try:
                rendered[key] = nfc(template.render(**values))
            except jinja2.TemplateError as exc:
                raise self.template_error(key, exc, values) from None
        spec = self.spec
        return Letter(
            kind=spec.kind,
            number=spec.number,
            date=spec.date,
            thai_digits=spec.thai_digits,
            urgency=spec.urgency,
            secrecy=spec.secrecy,
            subject=spec.subject,
            to=join_wrapped(rendered["to"]),
            references=spec.references,
            enclosures=spec.enclosures,
            body=split_paragraphs(rendered["body"]),
            closing=spec.closing or DEFAULT_CLOSING,
            sender=spec.sender,
            signer=spec.signer,
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
            problem = date_problem(value.strip())
            if problem:
                raise lf.error("date", problem) from None
    raise lf.error("date", f"{value!r} is not an ISO date (YYYY-MM-DD)")


_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def date_problem(text: str) -> str | None:
    """Why ``text``, written as an ISO date (YYYY-MM-DD, perhaps with a time after it), is not
    a day of the calendar (``2026-02-30``), or None if it is one or is not written so."""
    found = _ISO_DATE.match(text)
    if not found:
        return None
    year, month, day = (int(part) for part in found.groups())
    written = found.group(0)
    if not 1 <= month <= 12:
        return f"{written} does not exist: there is no month {month} (months are 01 to 12)"
    try:
        date(year, month, day)
    except ValueError:
        following = date(year + month // 12, month % 12 + 1, 1)
        days = (following - date(year, month, 1)).days
        return (
            f"{written} does not exist: {_MONTHS[month - 1]} {year} has {days} days"
            if day > 0
            else f"{written} does not exist: days start at 01"
        )
    return None


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


def _parse_toml(path: Path, source: str) -> dict[str, Any]:
    try:
        return tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        found = re.search(r"line (\d+)", str(exc))
        line = int(found.group(1)) if found else None
        dated = _impossible_date(source, line)
        if dated is not None:
            raise LetterFileError(path, dated[0], line, dated[1]) from None
        raise LetterFileError(path, None, line, f"invalid TOML: {exc}") from None


def _impossible_date(source: str, line: int | None) -> tuple[str, str] | None:
    """The key and the reason when the TOML parser stopped at ``key = 2026-02-30`` (a date
    written as a TOML date that is not a day of the calendar)."""
    lines = source.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return None
    written = re.match(r'^\s*"?([A-Za-z0-9_.-]+)"?\s*=\s*(\d{4}-\d{2}-\d{2}\S*)', lines[line - 1])
    if not written:
        return None
    problem = date_problem(written.group(2))
    return (written.group(1), problem) if problem else None


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """A TOML file's text and data; a missing, non-UTF-8 or malformed file is a
    :class:`LetterFileError` naming the file and, for bad TOML, the line."""
    try:
        source = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LetterFileError(path, None, None, "file not found") from None
    except UnicodeDecodeError as exc:
        raise LetterFileError(path, None, None, f"not UTF-8 text ({exc.reason})") from None
    return source, _parse_toml(path, source)


def load_letter_file(path: Path | str) -> LetterFile:
    """Read and check a letter file; raises :class:`LetterFileError` naming file, key and line."""
    path = Path(path)
    source, raw = read_toml(path)
    return _check(path, source, raw)


def parse_letter_file(source: str, path: Path | str = "letter.toml") -> LetterFile:
    """Check a letter file given as text (a draft from the web): as :func:`load_letter_file`,
    errors naming ``path``, and enclosure files and the emblem relative to its folder."""
    path = Path(path)
    return _check(path, source, _parse_toml(path, source))


def _check(path: Path, source: str, raw: dict[str, Any]) -> LetterFile:
    lf = LetterFile(path=path, source=source, spec=_EMPTY, templates={})
    _check_unknown(lf, raw, TOP_KEYS, None)
    data: dict[str, Any] = {}

    kind = raw.get("kind")
    if kind not in KINDS:
        if kind is None:
            raise LetterFileError(path, "kind", None, "is required: external, circular or memo")
        raise lf.error("kind", f"{kind!r} is not external, circular or memo")
    data["kind"] = kind
    memo = kind == "memo"
    if memo:
        for key, why in MEMO_REFUSED.items():
            if key in raw:
                raise lf.error(key, f"{why}: remove it")
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
    for key, allowed in (("urgency", URGENCIES), ("secrecy", SECRECY_CLASSES)):
        if key in raw:
            value = raw[key]
            if value not in allowed:
                raise lf.error(key, f"{value!r} is not one of {', '.join(allowed)}")
            data[key] = value
    data["subject"] = _require_str(lf, raw, "subject", None)
    if "closing" in raw:
        data["closing"] = _require_str(lf, raw, "closing", None)
    references = raw.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise lf.error("references", "must be a list of text")
    data["references"] = tuple(nfc(r.strip()) for r in references)
    data["enclosures"] = _parse_enclosures(lf, raw.get("enclosures"))

    templates: dict[str, jinja2.Template] = {}
    for key in TEMPLATE_KEYS:
        source_text = _require_str(lf, raw, key, None)
        data[key] = source_text
        try:
            templates[key] = _ENV.from_string(source_text)
        except jinja2.TemplateSyntaxError as exc:
            raise LetterFileError(
                path,
                key,
                template_file_line(source, key, source_text, exc.lineno or 1, raw[key]),
                f"template syntax error: {exc.message}",
            ) from None

    for table, keys in (("sender", SENDER_KEYS), ("signer", SIGNER_KEYS)):
        if not isinstance(raw.get(table), dict):
            raise LetterFileError(path, table, None, f"the [{table}] table is required")
        _check_unknown(lf, raw[table], keys, table)
    s = raw["sender"]
    if memo:
        for key, why in MEMO_SENDER_REFUSED.items():
            if key in s:
                raise lf.error(key, f"{why}: remove it", "sender")
    emblem = None
    if "emblem" in s:
        emblem = (path.parent / str(s["emblem"])).resolve()
        if not emblem.is_file():
            raise lf.error("emblem", f"image {emblem} does not exist", "sender")
    optional = {k: nfc(str(s.get(k, "")).strip()) for k in ("unit", "phone", "fax", "email")}
    if memo:
        optional["unit"] = _require_str(lf, s, "unit", "sender")
    data["sender"] = Sender(
        code=_require_str(lf, s, "code", "sender"),
        agency=_require_str(lf, s, "agency", "sender"),
        address="" if memo else _require_str(lf, s, "address", "sender"),
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
    return LetterFile(path=path, source=source, spec=LetterSource(**data), templates=templates)


# A stand-in while a file is checked (errors need only its path and text).
_EMPTY = LetterSource(
    kind="external",
    date=date(1970, 1, 1),
    subject="",
    to="",
    body="",
    sender=Sender(code="", agency=""),
    signer=Signer(name="", position=""),
)


def _relative(path: str | Path, folder: Path | None) -> str:
    """``path`` relative to ``folder`` where it can be (the file is written there), else as
    it is."""
    if folder is None:
        return str(path)
    try:
        return Path(os.path.relpath(Path(path), folder.resolve())).as_posix()
    except ValueError:  # another drive
        return str(path)


def dump_letter_file(letter: LetterSource | LetterFile, *, folder: Path | None = None) -> str:
    """A letter file's text that loads back to the same :class:`LetterSource`: templates as
    written, the body as a multi-line string, enclosure files and the emblem relative to
    ``folder`` (where the text will be saved; by default the letter file's own folder)."""
    if isinstance(letter, LetterFile):
        folder = folder if folder is not None else letter.path.parent
        spec = letter.spec
    else:
        spec = letter
    out: dict[str, Any] = {"kind": spec.kind}
    if spec.number is not None:
        out["number"] = spec.number
    out["date"] = spec.date
    out["thai_digits"] = spec.thai_digits
    if spec.urgency is not None:
        out["urgency"] = spec.urgency
    if spec.secrecy is not None:
        out["secrecy"] = spec.secrecy
    out["subject"] = spec.subject
    out["to"] = spec.to
    if spec.references:
        out["references"] = list(spec.references)
    if spec.enclosures:
        enclosures = []
        for e in spec.enclosures:
            item: dict[str, str] = {"title": e.title}
            if e.count:
                item["count"] = e.count
            if e.file is not None:
                item["file"] = _relative(e.file, folder)
            if e.make is not None:
                item["make"] = e.make
            enclosures.append(item)
        out["enclosures"] = enclosures
    out["body"] = spec.body  # a multi-line string: one paragraph a line, a blank line between
    if spec.closing is not None:
        out["closing"] = spec.closing
    sender = spec.sender
    table: dict[str, str] = {"code": sender.code, "agency": sender.agency}
    for key in ("address", "unit", "phone", "fax", "email"):
        value = getattr(sender, key)
        if value:
            table[key] = value
    if sender.emblem is not None:
        table["emblem"] = _relative(sender.emblem, folder)
    out["sender"] = table
    signer = spec.signer
    out["signer"] = {
        key: getattr(signer, key)
        for key in ("name", "position", "acting", "on_behalf_of")
        if getattr(signer, key)
    }
    return tomli_w.dumps(out, multiline_strings=True)
