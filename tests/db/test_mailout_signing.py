"""Signed mailouts from the command line (``saraban mailout --sign KEY.p12``), on both
databases: every college's delivered letter is a PDF of its own that pyHanko and poppler's
pdfsig find valid and trusted against the test root. A letter the same for every college is
signed once (the same bytes for all); a letter merged per college is signed for each college.
A run killed in the middle and run again changes no byte of what was committed, and the
passphrase is in no output, file, log or database row."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine

from letters.verification import verify_pdf
from saraban.domain.errors import Invalid
from saraban.services.mailouts import SIGNED_LETTER, MailoutSigning, load_plan
from saraban.storage.engine import make_engine, upgrade_schema
from tests.db.test_mailout import check_bundles, manifest_rows
from tests.db.test_signature_secrets import _database_bytes
from tests.db.test_store import _migrate
from tests.support.letters import ROOT
from tests.support.mailouts import make_folder
from tests.support.pdfsig import pdfsig
from tests.support.pdftext import page_texts
from tests.support.pki import TestPKI

PASSPHRASE = "ตรา-สอศ-" + os.urandom(6).hex()
SIGNED_LINE = "ลงนามด้วยลายมือชื่อดิจิทัล"


def _unnamed(source: str) -> str:
    return source.replace(
        "{% if college is defined %} ของ{{ college.name }} ชื่อผู้ใช้ {{ college.code }}"
        "{% endif %}",
        "",
    )


def _mailout(
    db_url: str, folder: Path, out: Path, key: Path | None, *, stdin: str = PASSPHRASE
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "saraban.cli", "mailout", str(folder), "--out", str(out)]
    command += ["--jobs", "2"]
    if key is not None:
        command += ["--sign", str(key)]
    env = {**os.environ, "DATABASE_URL": db_url}
    env.pop("SARABAN_DB", None)
    return subprocess.run(
        command,
        input=stdin + "\n",
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _key(pki: TestPKI, tmp_path: Path) -> Path:
    key = tmp_path / "signer.p12"
    key.write_bytes(pki.p12_with("signer", PASSPHRASE))
    return key


def _items(engine: Engine) -> dict[str, tuple[str, str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT college_code, sha256, signed_file, signed_sha256 FROM mailout_item")
        ).all()
    return {code: (bundle, signed, digest) for code, bundle, signed, digest in rows}


def _valid_and_trusted(pdf: bytes, pki: TestPKI, nss_db: str, folder: Path) -> None:
    verdicts = verify_pdf(pdf, trust_roots=pki.roots)
    assert [(v.status, v.trusted, v.covers_whole_file) for v in verdicts] == [("valid", True, True)]
    [report] = pdfsig(pdf, nss_db, folder)
    assert report["Signature Validation"] == "Signature is Valid."
    assert report["Certificate Validation"] == "Certificate is Trusted."


def _no_passphrase(result: subprocess.CompletedProcess[str], out: Path, engine: Engine,
                   db_url: str) -> None:
    assert PASSPHRASE not in result.stdout + result.stderr
    for path in out.rglob("*"):
        if path.is_file():
            assert PASSPHRASE.encode() not in path.read_bytes(), path
    assert PASSPHRASE.encode() not in _database_bytes(engine, db_url)


def test_a_letter_merged_per_college_is_signed_for_each_college(
    db_url: str, engine: Engine, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path, 4)
    plan = load_plan(folder)
    assert plan.letter_names_college
    out = tmp_path / "out"
    key = _key(pki, tmp_path)
    # A wrong passphrase: one line naming the key file, nothing recorded.
    wrong = _mailout(db_url, folder, out, key, stdin=PASSPHRASE + "x")
    assert wrong.returncode != 0 and str(key) in wrong.stderr, wrong.stderr
    assert PASSPHRASE not in wrong.stdout + wrong.stderr
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mailout")).scalar_one() == 0
    done = _mailout(db_url, folder, out, key)
    assert done.returncode == 0, done.stderr
    codes = {r.code for r in plan.roster.rows}
    check_bundles(engine, out, codes)
    items = _items(engine)
    letters = {}
    for row in plan.roster.rows:
        _bundle_sha, signed_file, signed_sha = items[row.code]
        assert signed_file == f"{row.code}.signed.pdf"
        signed = (out / signed_file).read_bytes()
        assert hashlib.sha256(signed).hexdigest() == signed_sha
        _valid_and_trusted(signed, pki, nss_db, tmp_path)
        text_of = "".join(page_texts(signed, "pypdf"))
        assert row.name in text_of and SIGNED_LINE in text_of
        letters[row.code] = signed
        # The bundle prints the same letter, with its signed line.
        bundle = page_texts((out / f"{row.code}.pdf").read_bytes(), "pypdf")
        assert SIGNED_LINE in "".join(bundle[:2]) and row.name in "".join(bundle[:2])
    assert len(set(letters.values())) == len(codes)
    assert not (out / SIGNED_LETTER).exists()
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = _mailout(db_url, folder, out, key)
    assert again.returncode == 0, again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    _no_passphrase(done, out, engine, db_url)


def test_a_letter_the_same_for_every_college_is_signed_once(
    db_url: str, engine: Engine, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    folder = make_folder(tmp_path, 3, edit=_unnamed)
    plan = load_plan(folder)
    assert not plan.letter_names_college
    out = tmp_path / "out"
    done = _mailout(db_url, folder, out, _key(pki, tmp_path))
    assert done.returncode == 0, done.stderr
    check_bundles(engine, out, {r.code for r in plan.roster.rows})
    signed = (out / SIGNED_LETTER).read_bytes()
    _valid_and_trusted(signed, pki, nss_db, tmp_path)
    digest = hashlib.sha256(signed).hexdigest()
    assert {(f, s) for _b, f, s in _items(engine).values()} == {(SIGNED_LETTER, digest)}
    assert list(out.glob("*.signed.pdf")) == [out / SIGNED_LETTER]
    for row in manifest_rows(out):
        pages = page_texts((out / row["file"]).read_bytes(), "pypdf")
        assert SIGNED_LINE in "".join(pages[:2])
    _no_passphrase(done, out, engine, db_url)


@pytest.mark.slow
def test_killed_in_the_middle_a_rerun_signs_only_what_was_not_committed(
    db_url: str, engine: Engine, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    """Two chunks of 8 in one worker: killed once the first is committed, run again without
    the key (refused: it was started signed), then with it: the first chunk's bundles and
    signed letters keep every byte and every stored sha256."""
    folder = make_folder(tmp_path, 16)
    out = tmp_path / "out"
    key = _key(pki, tmp_path)
    command = [sys.executable, "-m", "saraban.cli", "mailout", str(folder), "--out", str(out),
               "--jobs", "1", "--sign", str(key)]
    env = {**os.environ, "DATABASE_URL": db_url}
    env.pop("SARABAN_DB", None)
    process = subprocess.Popen(command, env=env, cwd=ROOT, stdin=subprocess.PIPE,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    assert process.stdin is not None
    process.stdin.write((PASSPHRASE + "\n").encode())
    process.stdin.close()
    watcher = make_engine(db_url)
    deadline = time.monotonic() + 240
    committed: dict[str, tuple[str, str, str]] = {}
    while time.monotonic() < deadline and process.poll() is None:
        with watcher.connect() as conn:
            issued = conn.execute(
                text("SELECT count(*) FROM mailout_item WHERE state = 'issued'")
            ).scalar_one()
        if issued >= 8:
            os.killpg(process.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    process.wait()
    watcher.dispose()
    committed = {c: v for c, v in _items(engine).items() if v[0] is not None}
    assert 8 <= len(committed) < 16, "the run was not killed between its two chunks"
    kept = {c: (out / f"{c}.signed.pdf").read_bytes() for c in committed}
    bundles = {c: (out / f"{c}.pdf").read_bytes() for c in committed}
    unsigned = _mailout(db_url, folder, out, None)
    assert unsigned.returncode != 0 and "--sign" in unsigned.stderr, unsigned.stderr
    resumed = _mailout(db_url, folder, out, key)
    assert resumed.returncode == 0, resumed.stderr
    items = _items(engine)
    for code, facts in committed.items():
        assert items[code] == facts
        assert (out / f"{code}.signed.pdf").read_bytes() == kept[code]
        assert (out / f"{code}.pdf").read_bytes() == bundles[code]
    check_bundles(engine, out, set(items))
    rows = {r["code"]: r["sha256"] for r in manifest_rows(out)}
    assert {c: rows[c] for c in committed} == {c: f[0] for c, f in committed.items()}
    for _bundle, signed_file, digest in items.values():
        signed = (out / signed_file).read_bytes()
        assert hashlib.sha256(signed).hexdigest() == digest
        assert [v.status for v in verify_pdf(signed, trust_roots=pki.roots)] == ["valid"]


def test_0012_adds_the_signed_letter_to_mailout_items_and_takes_it_away(engine: Engine) -> None:
    """0012 adds ``mailout_item.signed_file`` and ``signed_sha256`` (NULL for items made
    before: unsigned); down again, the rows stay."""
    _migrate(engine, "0011")
    now = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO college (code, name, province, email, director_title,"
                " created_at, updated_at) VALUES (:c, 'ว', 'ลำปาง', 'a@b.th', 'ผอ.', :t, :t)"
            ),
            {"c": "1352016501", "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mailout (id, name, folder, out_dir, fingerprint, kind, subject,"
                " token, state, created_at, created_by) VALUES (7, 'm', '/f', '/o', :fp,"
                " 'circular', 'เรื่อง', 'tok', 'finished', :t, 'clerk')"
            ),
            {"fp": "0" * 64, "t": now},
        )
        conn.execute(
            text(
                "INSERT INTO mailout_item (id, mailout_id, college_code, file_name, state, pages)"
                " VALUES (3, 7, '1352016501', 'a.pdf', 'issued', 5)"
            )
        )
    _migrate(engine, "head")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT pages, signed_file, signed_sha256 FROM mailout_item"))
        assert rows.all() == [(5, None, None)]
    with engine.begin() as conn:
        conn.execute(text("UPDATE mailout_item SET signed_file = 'a.signed.pdf'"))
    _migrate(engine, "0011")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("mailout_item")}
        assert not {"signed_file", "signed_sha256"} & columns
        assert conn.execute(text("SELECT id, pages FROM mailout_item")).all() == [(3, 5)]
    upgrade_schema(engine)


def test_the_key_given_to_a_mailout_never_shows_its_passphrase(pki: TestPKI) -> None:
    signing = MailoutSigning(pki.p12("signer"), PASSPHRASE.encode(), key_name="signer.p12")
    assert PASSPHRASE not in repr(signing) and "signer.p12" in repr(signing)
    wrong = MailoutSigning(pki.p12("signer"), b"not-it", key_name="signer.p12")
    with pytest.raises(Invalid) as refused:
        wrong.open()
    assert "signer.p12" in str(refused.value) and "not-it" not in str(refused.value)


def test_a_roster_of_one_college_still_gets_its_own_letter(tmp_path: Path) -> None:
    """A letter that names the college is merged per college even when one college is sent
    it (signed for that college, never the letter addressed to no college)."""
    assert load_plan(make_folder(tmp_path, 1)).letter_names_college
    assert not load_plan(make_folder(tmp_path, 1, edit=_unnamed, name="one")).letter_names_college
