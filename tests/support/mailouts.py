"""Mailouts for the tests: a copy of the seed's folder with a small roster, run for real, and
its colleges' passwords read off their slips as a person reads them."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, text
from sqlmodel import SQLModel

from saraban.services.mailouts import load_plan, run_mailout
from saraban.storage.engine import make_engine
from tests.support.letters import ROOT
from tests.support.pdftext import lines

EXAMPLE = ROOT / "examples" / "emvs-2569"
LAMPANG = "1352016501"
# Copied from the template, parents first.
COPIED_TABLES = (
    "college",
    "issue_batch",
    "credential",
    "number_counter",
    "dispatch_entry",
    "mailout",
    "mailout_item",
)
SERIAL_TABLES = ("credential", "dispatch_entry", "mailout", "mailout_item")


def make_folder(
    tmp_path: Path,
    colleges: int = 8,
    *,
    edit=None,
    name: str = "emvs-2569",
    skip: int = 0,
) -> Path:
    """A copy of the example mailout with a small roster (Lampang first unless skipped)."""
    folder = tmp_path / name
    shutil.copytree(EXAMPLE, folder)
    lines = (EXAMPLE / "roster.csv").read_text(encoding="utf-8").splitlines()
    header, rows = lines[0], lines[1:]
    others = [r for r in rows if not r.startswith(LAMPANG)]
    lampang = [r for r in rows if r.startswith(LAMPANG)]
    chosen = others[skip : skip + colleges] if skip else (lampang + others)[:colleges]
    (folder / "roster.csv").write_text("\n".join([header, *chosen]) + "\n", encoding="utf-8")
    if edit:
        path = folder / "letter.toml"
        path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


def slip_credentials(pdf: bytes) -> dict[str, str]:
    """Code → password, read from the slips' text layer as a person reading them would.

    pdfium reads the slips' lines exactly as pypdf does, about ten times faster: the 420-college
    tests read thousands of pages (the text layer's readers have tests of their own)."""
    found: dict[str, str] = {}
    code = None
    want_password = False
    for line in (s.strip() for s in lines(pdf, "pdfium")):
        if re.fullmatch(r"\d{10}", line):
            code, want_password = line, False
        elif line == "(Password)":
            want_password = True
        elif want_password and code and re.fullmatch(r"[!-~]+", line):
            found[code] = line
            code, want_password = None, False
    return found


@dataclass(frozen=True)
class MailoutRun:
    db_url: str
    out: Path
    codes: tuple[str, ...]  # Lampang first
    passwords: dict[str, str]  # read off the slips

    @property
    def other(self) -> str:
        return self.codes[1]


def mail_small(root: Path, engine: Engine, colleges: int = 3) -> MailoutRun:
    """OVEC's mailout of a copy of examples/emvs-2569 to ``colleges`` colleges (Lampang
    first) into ``engine``'s database and ``root / "out"``; the passwords are read off the
    bundles' slips, as a college reads them."""
    plan = load_plan(make_folder(root, colleges))
    out = root / "out"
    run_mailout(plan, out, engine, issued_by="ovec-clerk", jobs=1)
    codes = tuple(row.code for row in plan.roster.rows)
    passwords: dict[str, str] = {}
    for code in codes:
        passwords.update(slip_credentials((out / f"{code}.pdf").read_bytes()))
    assert set(passwords) == set(codes)
    return MailoutRun(engine.url.render_as_string(hide_password=False), out, codes, passwords)


def copy_template(run: MailoutRun, target: Engine) -> None:
    source = make_engine(run.db_url)
    try:
        with source.connect() as src, target.begin() as dst:
            for name in COPIED_TABLES:
                table = SQLModel.metadata.tables[name]
                rows = [dict(row._mapping) for row in src.execute(table.select())]
                if rows:
                    dst.execute(table.insert(), rows)
            if dst.dialect.name == "postgresql":
                for name in SERIAL_TABLES:
                    dst.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                            f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                        )
                    )
    finally:
        source.dispose()


