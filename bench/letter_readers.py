"""How every PDF reader CI can run reads saraban's documents back, against what was typeset.

    .venv/bin/python -m bench.letter_readers [--save DIR]

For each document (tests/unit/reader_documents.py) and reader (tests/unit/pdfreaders.py):
pages read back exactly (every drawn line whole, nothing else: ``read_back``), lines of one
column out of order, and against the drawn text in drawing order: spaces a reader puts inside
a word, spaces it drops between words, other characters it gets wrong or places elsewhere
(marks out of order, lost or extra characters, lines read in another order), no-break spaces
and private-use characters. The reference is the text drawn on each page, read from the PDF's
own content streams and ToUnicode maps; whitespace counts only between tokens.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.unit.pdfreaders import READERS, differences, out_of_order, read, read_back, typeset_runs
from tests.unit.reader_documents import DOCUMENTS


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.letter_readers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--save", type=Path, help="keep the PDFs and each reader's text here")
    parser.add_argument("--documents", nargs="*", default=list(DOCUMENTS))
    args = parser.parse_args(argv)
    table = Table(title="Reading saraban's PDFs back (differences from the typeset text)")
    for name in ("document", "pages", "reader", "pages exact", "lines out of order",
                 "space inside", "space missing", "chars wrong", "U+00A0", "private use"):
        table.add_column(name, justify="left" if name in ("document", "reader") else "right")
    with tempfile.TemporaryDirectory() as tmp:
        for doc_name in args.documents:
            pdf = DOCUMENTS[doc_name](Path(tmp))
            drawn = typeset_runs(pdf)
            expected = ["\n".join(run.text for run in runs) for runs in drawn]
            slug = doc_name.split()[0].lower().replace("-", "")
            if args.save:
                args.save.mkdir(parents=True, exist_ok=True)
                (args.save / f"{slug}.pdf").write_bytes(pdf)
            for reader in READERS:
                pages = read(pdf, reader)
                if args.save:
                    (args.save / f"{slug}.{reader}.txt").write_text("\f".join(pages), "utf-8")
                total: dict[str, int] = {}
                exact = disordered = 0
                for n, want in enumerate(expected):
                    got = pages[n] if n < len(pages) else ""
                    order, _problems = read_back(drawn[n], got)
                    exact += order is not None
                    if order is not None:
                        disordered += len(out_of_order(drawn[n], order))
                    diff = differences(want, got)
                    for key, value in diff.items():
                        total[key] = total.get(key, 0) + value
                table.add_row(doc_name, str(len(expected)), reader, f"{exact}/{len(expected)}",
                              str(disordered), *(str(v) for v in total.values()))
            table.add_section()
    Console(width=140).print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
