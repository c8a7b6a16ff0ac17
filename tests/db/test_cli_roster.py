"""``saraban roster import`` as a clerk runs it: a bad file imports nothing and says why."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.support.letters import ROOT

ROSTER = ROOT / "examples" / "emvs-2569" / "roster.csv"


def cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SARABAN_DB": str(work / "saraban.db")}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "saraban.cli", *args],
        capture_output=True,
        text=True,
        cwd=work,
        env=env,
        timeout=120,
    )


def colleges(work: Path) -> int:
    with sqlite3.connect(work / "saraban.db") as db:
        return db.execute("select count(*) from college").fetchone()[0]


def test_good_roster_imports_and_reimport_updates_by_code(tmp_path: Path) -> None:
    result = cli(tmp_path, "roster", "import", str(ROSTER))
    assert result.returncode == 0, result.stderr
    assert "420 created" in result.stdout
    again = cli(tmp_path, "roster", "import", str(ROSTER))
    assert "0 created, 0 updated, 420 unchanged" in again.stdout.replace("\n", " ")
    assert colleges(tmp_path) == 420


def test_bad_rows_are_all_listed_and_nothing_is_imported(tmp_path: Path) -> None:
    lines = ROSTER.read_text(encoding="utf-8").splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[0], "1.35202E+09")
    lines[9] = "๑๓๕๒๐๑๖๕๐๑" + lines[9][10:]
    lines[12] = lines[12].split(",")[0] + ",,ลำปาง,,"
    bad = tmp_path / "roster.csv"
    bad.write_text("\n".join(lines) + "\n", encoding="cp874", errors="replace")
    cli(tmp_path, "roster", "import", str(ROSTER))  # the database already holds the roster
    result = cli(tmp_path, "roster", "import", str(bad))
    assert result.returncode == 2
    message = " ".join(result.stderr.split())
    assert "row 6" in message and "1.35202E+09" in message
    assert "row 10" in message and "Thai digits" in message
    assert "row 13" in message
    assert "Traceback" not in result.stderr
    assert colleges(tmp_path) == 420
