"""Every PDF reader CI can run gives back exactly the text saraban typeset.

Readers: poppler's pdftotext (default and ``-layout``), MuPDF's ``mutool draw -F txt``, pdf.js
(Firefox's reader, from npm, under node), pypdf, pypdfium2 (Chrome's PDFium) and pdfminer.six.
Documents: the seed letter, a Thai letter of three pages and more, credential slips, the QR
sheet, an annotated letter and the ``print-all.pdf`` of a six-college mailout. For each page,
every line drawn must come back whole and exact (no space inside a word, marks in the order
typed, ำ as one character, an ordinary space where the text has one, no private-use
character) and nothing else; whitespace counts only between words, so readers may end lines
where they like. The letters' lines must also come in order. A reader that is not installed
fails these tests (scripts/readers.sh installs them all).
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest

from letters.thaitext import numerals
from tests.unit.pdfreaders import (
    READERS,
    ReaderMissing,
    check_installed,
    out_of_order,
    pdfjs,
    read,
    read_back,
    typeset_runs,
)
from tests.unit.reader_documents import (
    DOCUMENTS,
    corpus_letter,
    long_memo,
    memo,
    seed_letter,
)

# One column: lines must come top to bottom.
ORDERED = {"seed letter", "signed seed letter", "corpus letter", "memo", "long memo"}
PRIVATE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")


@pytest.fixture(scope="module", autouse=True)
def readers_installed() -> None:
    try:
        check_installed()
    except ReaderMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("readers")
    paths = {}
    for n, (name, make) in enumerate(DOCUMENTS.items()):
        work = folder / f"work{n}"
        work.mkdir()
        path = folder / f"doc{n}.pdf"
        path.write_bytes(make(work))
        paths[name] = path
    return paths


@pytest.mark.parametrize("reader", READERS)
@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_reader_gives_back_the_typeset_text(
    documents: dict[str, Path], document: str, reader: str
) -> None:
    path = documents[document]
    drawn = typeset_runs(path.read_bytes())
    pages = read(path, reader)
    assert len(pages) >= len(drawn)
    assert not any(p.strip() for p in pages[len(drawn) :])
    for n, (runs, text) in enumerate(zip(drawn, pages, strict=False), start=1):
        assert "\u00a0" not in text, f"page {n}: a no-break space in the text"
        assert not PRIVATE.search(text), f"page {n}: a private-use character in the text"
        order, problems = read_back(runs, text)
        assert order is not None, f"{document}, page {n}, {reader}: {'; '.join(problems)}"
        if document in ORDERED:
            wrong = out_of_order(runs, order)
            assert not wrong, f"{document}, page {n}, {reader}: out of order: {wrong[:3]}"


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_the_drawn_text_is_plain_unicode(documents: dict[str, Path], document: str) -> None:
    """What the tests compare against holds no no-break space, no private-use character, no
    NIKHAHIT split from its SARA AA: ำ stays one character."""
    for runs in typeset_runs(documents[document].read_bytes()):
        for run in runs:
            assert "\u00a0" not in run.text
            assert not PRIVATE.search(run.text)
            assert "\u0e4d\u0e32" not in run.text and "\u0e4d" not in run.text


@pytest.mark.parametrize(
    ("name", "make"),
    [("seed letter", seed_letter), ("corpus letter", corpus_letter), ("memo", memo),
     ("long memo", long_memo)],
)
def test_the_drawn_text_is_the_letter_file(name: str, make, documents: dict[str, Path]) -> None:
    """The drawn text is the letter's own: every word of the body, in order, squashed."""
    letter = make()
    drawn = "".join(
        run.text for runs in typeset_runs(documents[name].read_bytes()) for run in runs
    )
    flat = re.sub(r"\s+", "", drawn)
    pos = 0
    for paragraph in letter.body:
        for word in numerals(paragraph, letter.thai_digits).split():
            found = flat.find(word, pos)
            assert found >= 0, f"{word!r} not drawn in order"
            pos = found + len(word)
    pages = len(typeset_runs(documents["corpus letter"].read_bytes()))
    assert pages >= 3


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_qpdf_finds_no_fault(documents: dict[str, Path], document: str) -> None:
    qpdf = shutil.which("qpdf")
    assert qpdf, "qpdf is not installed (Debian qpdf; scripts/readers.sh installs it)"
    result = subprocess.run([qpdf, "--check", str(documents[document])], capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No syntax or stream encoding errors" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.mark.parametrize("document", list(DOCUMENTS))
def test_pdfjs_warns_of_nothing(documents: dict[str, Path], document: str) -> None:
    """pdf.js warned once a page of the Helvetica that every page named and none embedded."""
    _pages, warnings = pdfjs(documents[document])
    assert warnings == []


def _fonts(reader: pypdf.PdfReader) -> list[pypdf.generic.DictionaryObject]:
    """Every font dictionary the pages use, in page and form resources, each object once."""
    seen: dict[int, pypdf.generic.DictionaryObject] = {}

    def visit(resources: object) -> None:
        if resources is None:
            return
        resources = resources.get_object()  # type: ignore[attr-defined]
        for ref in (resources.get("/Font") or {}).values():
            font = ref.get_object()
            seen.setdefault(id(font), font)
        for ref in (resources.get("/XObject") or {}).values():
            xobject = ref.get_object()
            if xobject.get("/Subtype") == "/Form":
                visit(xobject.get("/Resources"))

    for page in reader.pages:
        visit(page.get("/Resources"))
    return list(seen.values())


def _subset(font: pypdf.generic.DictionaryObject) -> tuple[str, str, bytes]:
    """(kind, name with its tag, digest of what the subset holds)."""
    kind = str(font["/Subtype"])
    if kind == "/Type3":
        name = str(font["/Name"])[1:] if "/Name" in font else ""
        procs = font["/CharProcs"]
        content = b"".join(
            k.encode() + procs[k].get_object().get_data() for k in sorted(procs)
        ) + repr(list(font["/Widths"])).encode()
        content += font["/ToUnicode"].get_object().get_data()
        return kind, name, hashlib.sha256(content).digest()
    name = str(font["/BaseFont"])[1:]
    descriptor = font.get("/FontDescriptor")
    program = descriptor.get_object().get("/FontFile2") if descriptor else None
    data = program.get_object().get_data() if program is not None else b""
    data += font["/ToUnicode"].get_object().get_data() if "/ToUnicode" in font else b""
    return kind, name, hashlib.sha256(data).digest()


@pytest.mark.parametrize(
    "document", ["seed letter", "signed seed letter", "long memo", "print-all (6 colleges)"]
)
def test_every_subset_has_its_own_tag_and_every_font_is_embedded(
    documents: dict[str, Path], document: str
) -> None:
    """A RIP or print server that caches fonts by name must never take one subset for
    another: equal tags only for equal subsets, and no font named without being embedded."""
    reader = pypdf.PdfReader(io.BytesIO(documents[document].read_bytes()))
    fonts = _fonts(reader)
    assert fonts
    by_tag: dict[str, set[bytes]] = {}
    by_content: dict[bytes, set[str]] = {}
    for font in fonts:
        kind, name, digest = _subset(font)
        assert kind in ("/TrueType", "/Type3"), f"{name}: a {kind} font, not embedded"
        if kind == "/TrueType":
            descriptor = font["/FontDescriptor"].get_object()
            assert "/FontFile2" in descriptor, f"{name} is named but not embedded"
        tag, plus, _rest = name.partition("+")
        assert plus and re.fullmatch("[A-Z]{6}", tag), f"{name!r} has no subset tag"
        by_tag.setdefault(tag, set()).add(digest)
        by_content.setdefault(digest, set()).add(tag)
    assert all(len(d) == 1 for d in by_tag.values()), "one tag names different subsets"
    assert all(len(t) == 1 for t in by_content.values())
    assert len(by_tag) == len(by_content) > 1
