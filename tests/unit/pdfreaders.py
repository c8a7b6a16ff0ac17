"""Every PDF reader CI can run, reading a PDF's text as a person copying from it would get it.

poppler's ``pdftotext`` (default and ``-layout``: also Evince and Okular), MuPDF's
``mutool draw -F txt``, pdf.js (Firefox, from npm, run with node), pypdf, pypdfium2 (Chrome's
PDFium) and pdfminer.six. A reader that is not installed is an error naming what to install,
never a skip.
"""

from __future__ import annotations

import io
import itertools
import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PDFJS_DIR = ROOT / "tests" / "js"
PDFJS_SCRIPT = PDFJS_DIR / "pdfjs_text.mjs"

READERS = (
    "pdftotext",
    "pdftotext-layout",
    "mutool",
    "pdfjs",
    "pypdf",
    "pdfium",
    "pdfminer",
)


class ReaderMissing(RuntimeError):
    """A reader the tests need is not installed."""


def _tool(name: str, package: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ReaderMissing(
            f"{name} is not installed: install Debian's {package} (scripts/readers.sh does)"
        )
    return path


def _run(args: list[str]) -> str:
    result = subprocess.run(args, capture_output=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{' '.join(args)} failed: {result.stderr.decode(errors='replace')}")
    return result.stdout.decode("utf-8")


def _pages_split(text: str) -> list[str]:
    pages = text.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return pages


def _pdftotext(path: Path, *options: str) -> list[str]:
    exe = _tool("pdftotext", "poppler-utils")
    return _pages_split(_run([exe, "-enc", "UTF-8", *options, str(path), "-"]))


def _mutool(path: Path) -> list[str]:
    exe = _tool("mutool", "mupdf-tools")
    return _pages_split(_run([exe, "draw", "-q", "-F", "txt", "-o", "-", str(path)]))


def pdfjs(path: Path) -> tuple[list[str], list[str]]:
    """pdf.js's page texts and its warnings."""
    node = _tool("node", "nodejs")
    if not (PDFJS_DIR / "node_modules" / "pdfjs-dist").is_dir():
        raise ReaderMissing(
            f"pdfjs-dist is not installed: run `npm ci --omit=optional` in {PDFJS_DIR} "
            "(scripts/readers.sh does)"
        )
    out = json.loads(_run([node, str(PDFJS_SCRIPT), str(path)]))
    return out["pages"], out["warnings"]


def _pypdf(path: Path) -> list[str]:
    import pypdf

    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def _pdfium(path: Path) -> list[str]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(str(path))
    try:
        out = []
        for page in doc:
            text = page.get_textpage().get_text_range()
            out.append(text.replace("\r\n", "\n").replace("\r", "\n"))
        return out
    finally:
        doc.close()


def _pdfminer(path: Path) -> list[str]:
    from pdfminer.high_level import extract_text

    return _pages_split(extract_text(str(path)))


_READ: dict[str, Callable[[Path], list[str]]] = {
    "pdftotext": lambda p: _pdftotext(p),
    "pdftotext-layout": lambda p: _pdftotext(p, "-layout"),
    "mutool": _mutool,
    "pdfjs": lambda p: pdfjs(p)[0],
    "pypdf": _pypdf,
    "pdfium": _pdfium,
    "pdfminer": _pdfminer,
}


def read(pdf: bytes | Path, reader: str) -> list[str]:
    """Each page's text as ``reader`` gives it."""
    if isinstance(pdf, Path):
        return _READ[reader](pdf)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "doc.pdf"
        path.write_bytes(pdf)
        return _READ[reader](path)


def check_installed() -> None:
    """Raise :class:`ReaderMissing` naming every reader that cannot run here."""
    missing = []
    for name, package in (("pdftotext", "poppler-utils"), ("mutool", "mupdf-tools"),
                          ("qpdf", "qpdf"), ("node", "nodejs")):
        if shutil.which(name) is None:
            missing.append(f"{name} (Debian {package})")
    if not (PDFJS_DIR / "node_modules" / "pdfjs-dist").is_dir():
        missing.append(f"pdfjs-dist (npm ci in {PDFJS_DIR})")
    if missing:
        raise ReaderMissing(
            "PDF readers missing: " + ", ".join(missing) + "; scripts/readers.sh installs them"
        )


# --- what was typeset -------------------------------------------------------------------------

_HEX = re.compile(rb"<([0-9A-Fa-f]*)>")


def _cmap(stream: bytes) -> dict[int, str]:
    """A ToUnicode CMap's bfchar and bfrange entries (one-byte codes, as ours are)."""
    out: dict[int, str] = {}
    for block in re.findall(rb"beginbfchar(.*?)endbfchar", stream, re.S):
        hexes = _HEX.findall(block)
        for src, dst in zip(hexes[::2], hexes[1::2], strict=True):
            out[int(src, 16)] = bytes.fromhex(dst.decode()).decode("utf-16-be")
    for block in re.findall(rb"beginbfrange(.*?)endbfrange", stream, re.S):
        for line in block.strip().splitlines():
            parts = _HEX.findall(line)
            if len(parts) == 3:
                lo, hi, dst = int(parts[0], 16), int(parts[1], 16), int(parts[2], 16)
                for n, code in enumerate(range(lo, hi + 1)):
                    out[code] = chr(dst + n)
    return out


@dataclass(frozen=True)
class Run:
    """One ``BT … ET`` block: a line (or a label, a value) as drawn, where it starts."""

    text: str
    x: float
    y: float


def typeset_runs(pdf: bytes) -> list[list[Run]]:
    """Per page, each ``BT … ET`` block's text (one drawn line or label) as drawn, in the order
    drawn, forms followed, blocks that show nothing left out; each code read through its font's
    ToUnicode map; x and y from the block's first ``Tm`` (page space for page content).

    This is the text the typesetter put on the page, read without any reader's heuristics: what
    every reader must give back.
    """
    import pypdf
    from pypdf.generic import ContentStream

    reader = pypdf.PdfReader(io.BytesIO(pdf))
    maps: dict[int, dict[int, str]] = {}

    def font_map(font: object) -> dict[int, str]:
        obj = font.get_object()  # type: ignore[attr-defined]
        key = id(obj)
        if key not in maps:
            tu = obj.get("/ToUnicode")
            maps[key] = _cmap(tu.get_object().get_data()) if tu is not None else {}
        return maps[key]

    def walk(content: object, resources: object, runs: list[Run]) -> None:
        fonts = resources.get("/Font", {}) if resources else {}  # type: ignore[attr-defined]
        xobjects = resources.get("/XObject", {}) if resources else {}  # type: ignore[attr-defined]
        stream = ContentStream(content, reader)
        current: dict[int, str] = {}
        text: list[str] | None = None
        where: tuple[float, float] | None = None
        for operands, op in stream.operations:
            if op == b"BT":
                text, where = [], None
            elif op == b"Tm" and where is None:
                where = (float(operands[4]), float(operands[5]))
            elif op == b"ET":
                if text and "".join(text).strip():
                    x, y = where or (0.0, 0.0)
                    runs.append(Run("".join(text), x, y))
                text = None
            elif op == b"Tf":
                current = font_map(fonts[operands[0]])
            elif op in (b"Tj", b"'", b'"') and text is not None:
                text += [current.get(b, chr(b)) for b in bytes(operands[-1])]
            elif op == b"TJ" and text is not None:
                for item in operands[0]:
                    if isinstance(item, (bytes, str)) or hasattr(item, "original_bytes"):
                        raw = item.original_bytes if hasattr(item, "original_bytes") else item
                        text += [current.get(b, chr(b)) for b in bytes(raw)]
            elif op == b"Do":
                xobject = xobjects[operands[0]].get_object()
                if xobject.get("/Subtype") == "/Form":
                    walk(xobject, xobject.get("/Resources", resources), runs)

    pages = []
    for page in reader.pages:
        runs: list[Run] = []
        contents = page.get_contents()
        if contents is not None:
            walk(contents, page.get("/Resources"), runs)
        pages.append(runs)
    return pages


# --- comparing --------------------------------------------------------------------------------

_SPACE = re.compile(r"[ \t\r\n\f]+")  # ASCII whitespace only: U+00A0 is a character here


def tokens(text: str) -> list[str]:
    """The text's pieces between ordinary whitespace."""
    return [t for t in _SPACE.split(text) if t]


def _iter_tokens(runs: list[str]) -> Iterator[str]:
    for run in runs:
        yield from tokens(run)


def read_back(runs: Sequence[Run], text: str) -> tuple[list[int] | None, list[str]]:
    """Match a reader's page text against the runs drawn on the page.

    The text must be the runs' text and nothing else, each run whole and in one piece, its
    characters exact and its spaces where the run has them: whitespace counts only between
    tokens, so a reader may end lines and join runs where it likes. Readers order runs that
    share a baseline, or sit in columns, each its own way, so the runs may come in any order.
    Returns the order the runs came in (indices into ``runs``), or None and what went wrong.
    """
    want = [tokens(run.text) for run in runs]
    got = tokens(text)
    by_first: dict[str, list[int]] = {}
    for k, run_tokens in enumerate(want):
        by_first.setdefault(run_tokens[0], []).append(k)
    used = [False] * len(want)
    order: list[int] = []
    best = [0]  # furthest token reached, for the report

    def search(pos: int, hint: int) -> bool:
        best[0] = max(best[0], pos)
        if pos == len(got):
            return all(used)
        candidates = [k for k in by_first.get(got[pos], []) if not used[k]]
        # The next run in drawing order first: most readers keep it.
        candidates.sort(key=lambda k: (k != hint, -len(want[k]), k))
        for k in candidates:
            n = len(want[k])
            if got[pos : pos + n] == want[k]:
                used[k] = True
                order.append(k)
                if search(pos + n, k + 1):
                    return True
                used[k] = False
                order.pop()
        return False

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(got) + 100))
    try:
        found = search(0, 0)
    finally:
        sys.setrecursionlimit(limit)
    if found:
        return order, []
    at = best[0]
    problems = [f"unmatched from token {at}: {' '.join(got[at : at + 12])!r}"]
    missing = [runs[k].text for k in range(len(want)) if not used[k]]
    if missing:
        problems.append(f"runs not found whole: {missing[:3]!r}")
    return None, problems


def out_of_order(runs: Sequence[Run], order: Sequence[int]) -> list[str]:
    """Runs of one column that a reader gives out of top-to-bottom order: of the runs alone on
    their baseline (a body line, not the head's ที่ beside the agency's address), each must
    come after every such run above it."""
    baselines: dict[float, int] = {}
    for run in runs:
        baselines[round(run.y, 1)] = baselines.get(round(run.y, 1), 0) + 1
    alone = [k for k in order if baselines[round(runs[k].y, 1)] == 1]
    wrong = []
    for a, b in itertools.pairwise(alone):
        if runs[b].y > runs[a].y + 0.5:
            wrong.append(f"{runs[b].text[:30]!r} after {runs[a].text[:30]!r}")
    return wrong


_PRIVATE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")


def differences(expected: str, got: str) -> dict[str, int]:
    """How ``got`` differs from ``expected``, whitespace counted only between tokens:
    spaces inserted inside a token, spaces missing between tokens, other characters wrong,
    no-break spaces and private-use characters in ``got``."""
    import difflib

    a = " ".join(tokens(expected))
    b = " ".join(tokens(got))
    counts = {"space inside": 0, "space missing": 0, "chars wrong": 0}
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        left, right = a[i1:i2], b[j1:j2]
        if not left.strip() and not right.strip():
            counts["space inside" if len(right) > len(left) else "space missing"] += abs(
                len(right) - len(left)
            )
        else:
            counts["chars wrong"] += max(len(left.replace(" ", "")), len(right.replace(" ", "")))
    counts["U+00A0"] = got.count("\u00a0")
    counts["private use"] = len(_PRIVATE.findall(got))
    return counts
