"""Sending a letter signed at approval (a real ``saraban worker`` runs the mailout job): the
colleges receive it signed. A circular the same for every college goes as the very bytes
signed at approval, to every college; one merged per college is signed for each college with
the organisation's seal, and without a seal configured the send is refused before anything
changes. Each college's inbox serves its signed letter byte for byte, valid and trusted by
pyHanko and poppler's pdfsig, and its page says so."""

from __future__ import annotations

import hashlib
import io
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from saraban.services import signatures
from saraban.storage.models import MailoutItem, MailoutJob
from saraban.web.app import create_app
from tests.db.test_signature_secrets import _database_bytes
from tests.support.jobs import running_worker, wait_for_job
from tests.support.mailouts import MailoutRun, copy_template, slip_credentials
from tests.support.pdfsig import pdfsig
from tests.support.pki import TestPKI
from tests.support.service import Actor, World, service_settings
from tests.web.test_service_sending import _roster, ovec_signer, seed_draft_body

PASSPHRASE = "กุญแจผู้ลงนาม-" + secrets.token_hex(8)
SEAL_PASSPHRASE = "ตรา-สอศ-" + secrets.token_hex(8)
VALID = "ลายมือชื่อดิจิทัลถูกต้อง"
NAMED = "{% if college is defined %} ของ{{ college.name }} ชื่อผู้ใช้ {{ college.code }}{% endif %}"


def _world(engine: Engine, run: MailoutRun, tmp_path: Path, pki: TestPKI, **changes: Any) -> World:
    copy_template(run, engine)
    settings = service_settings(
        tmp_path / "data", trust_dir=pki.write_trust_store(tmp_path / "ca"), **changes
    )
    return World(create_app(settings, engine), engine, settings, run, ExitStack())


@pytest.fixture
def signing_world(
    engine: Engine, mailout_run: MailoutRun, tmp_path: Path, pki: TestPKI
) -> Iterator[World]:
    world = _world(engine, mailout_run, tmp_path, pki)
    with world.stack:
        yield world


def _seal(pki: TestPKI, tmp_path: Path) -> Path:
    seal = tmp_path / "seal.p12"
    seal.write_bytes(pki.p12_with("signer", SEAL_PASSPHRASE))
    seal.chmod(0o600)
    return seal


def _signed_at_approval(world: World, pki: TestPKI, *, shared: bool) -> tuple[Actor, int, bytes]:
    """The seed circular (named per college, or not), approved with the signer's own key."""
    clerk, signer = ovec_signer(world)
    signer_id, body = seed_draft_body(clerk)
    if shared:
        assert NAMED in body["body"]
        body["body"] = body["body"].replace(NAMED, "")
    draft = clerk.ok("POST", "/api/drafts", 201, json=body)["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": signer_id})
    p12 = pki.p12_with("signer", PASSPHRASE)
    signer.ok(
        "POST",
        f"/api/drafts/{draft}/approve",
        files={"p12": ("me.p12", p12, "application/x-pkcs12")},
        data={"passphrase": PASSPHRASE},
    )
    letter = clerk.get(f"/api/drafts/{draft}/letter.pdf").content
    assert [v.status for v in signatures.verdicts_of(letter, world.settings)] == ["valid"]
    return clerk, draft, letter


def _send(world: World, clerk: Actor, draft: int, tmp_path: Path, count: int) -> dict[str, Any]:
    roster = _roster(10, count).encode("utf-8-sig")
    log = tmp_path / "worker.log"
    with running_worker(world.engine.url.render_as_string(hide_password=False), log):
        out = clerk.ok(
            "POST",
            f"/api/drafts/{draft}/send/roster",
            files={"roster": ("roster.csv", roster, "text/csv")},
        )
        job = wait_for_job(lambda: clerk.ok("GET", f"/api/mailouts/{out['job_id']}"), log=log)
    assert (job["state"], job["done"], job["errors"]) == ("finished", count, []), job
    return job


def _college_reads(world: World, job: dict[str, Any], nss_db: str, tmp_path: Path) -> list[bytes]:
    """Each college logs in with its slip's password and finds the letter signed and valid:
    downloaded byte for byte as delivered, valid and trusted in both validators."""
    with Session(world.engine) as s:
        items = s.exec(select(MailoutItem).where(MailoutItem.mailout_id == job["mailout_id"]))
        rows = [(i.college_code, i.file_name, i.signed_file, i.signed_sha256) for i in items]
        out = Path(s.get(MailoutJob, job["id"]).out_dir)  # type: ignore[union-attr]
    letters = []
    for code, bundle, signed_file, signed_sha in rows:
        assert signed_file is not None and signed_sha is not None
        password = slip_credentials((out / bundle).read_bytes())[code]
        college = world.actor()
        college.login(code, password)
        [item] = college.ok("GET", "/api/inbox")
        letter = college.get(f"/api/inbox/{item['item_id']}/letter").content
        assert letter == (out / signed_file).read_bytes()
        assert hashlib.sha256(letter).hexdigest() == signed_sha
        verdicts = signatures.verdicts_of(letter, world.settings)
        assert [(v.status, v.trusted, v.covers_whole_file) for v in verdicts] == [
            ("valid", True, True)
        ]
        [report] = pdfsig(letter, nss_db, tmp_path)
        assert report["Signature Validation"] == "Signature is Valid."
        assert report["Certificate Validation"] == "Certificate is Trusted."
        check = college.ok("GET", f"/api/inbox/{item['item_id']}/signatures")
        assert (check["status"], check["document_sha256"]) == ("valid", signed_sha)
        page = college.get(f"/inbox/{item['item_id']}")
        assert page.status_code == 200 and VALID in page.text, page.text
        # The enclosures (the stand-in and the QR sheet), apart: never the slip.
        assert item["enclosures_apart"] and "/enclosures.pdf" in page.text
        enclosures = college.get(f"/api/inbox/{item['item_id']}/enclosures").content
        bundle_pages = len(PdfReader(out / bundle).pages)
        assert len(PdfReader(io.BytesIO(enclosures)).pages) == bundle_pages - 1 - len(
            PdfReader(io.BytesIO(letter)).pages
        )
        assert slip_credentials(enclosures) == {} and password.encode() not in enclosures
        # Registered: the check is stored with the entry, as valid.
        entry = college.ok("POST", f"/api/inbox/{item['item_id']}/receive", 201, json={})
        assert entry["signature"]["status"] == "valid"
        assert college.get(f"/api/receipts/{entry['id']}/letter").content == letter
        assert college.get(f"/api/receipts/{entry['id']}/enclosures").content == enclosures
        shown = college.get(f"/receipts/{entry['id']}")
        assert VALID in shown.text and "/enclosures.pdf" in shown.text
        letters.append(letter)
    return letters


def test_a_circular_the_same_for_every_college_goes_as_signed_at_approval(
    signing_world: World, pki: TestPKI, nss_db: str, tmp_path: Path, db_url: str
) -> None:
    world = signing_world
    clerk, draft, approved = _signed_at_approval(world, pki, shared=True)
    job = _send(world, clerk, draft, tmp_path, 2)
    letters = _college_reads(world, job, nss_db, tmp_path)
    assert letters == [approved, approved]
    assert PASSPHRASE.encode() not in _database_bytes(world.engine, db_url)


def test_a_merged_circular_without_a_seal_is_refused_before_anything_changes(
    signing_world: World, pki: TestPKI, tmp_path: Path
) -> None:
    world = signing_world
    clerk, draft, _ = _signed_at_approval(world, pki, shared=False)
    roster = _roster(10, 2).encode("utf-8-sig")
    refused = clerk.post(
        f"/api/drafts/{draft}/send/roster", files={"roster": ("roster.csv", roster, "text/csv")}
    )
    assert refused.status_code == 409, refused.text
    assert "SARABAN_SEAL_FILE" in refused.text and "ตรา" in refused.text
    assert clerk.ok("GET", f"/api/drafts/{draft}")["draft"]["status"] == "approved"
    with world.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM mailout_job")).scalar_one() == 0
    inputs = world.settings.data_dir / "mailouts" / "inputs"
    assert not inputs.exists() or not any(inputs.iterdir())


def test_a_merged_circular_is_signed_for_each_college_with_the_seal(
    engine: Engine,
    mailout_run: MailoutRun,
    pki: TestPKI,
    nss_db: str,
    tmp_path: Path,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seal = _seal(pki, tmp_path)
    world = _world(
        engine, mailout_run, tmp_path, pki, seal_file=seal, seal_passphrase=SEAL_PASSPHRASE
    )
    # The worker opens the seal from its own settings: the same environment as the service.
    monkeypatch.setenv("SARABAN_SEAL_FILE", str(seal))
    monkeypatch.setenv("SARABAN_SEAL_PASSPHRASE", SEAL_PASSPHRASE)
    with world.stack:
        clerk, draft, approved = _signed_at_approval(world, pki, shared=False)
        job = _send(world, clerk, draft, tmp_path, 2)
        letters = _college_reads(world, job, nss_db, tmp_path)
    assert len(set(letters)) == 2 and approved not in letters
    for secret in (PASSPHRASE, SEAL_PASSPHRASE):
        assert secret.encode() not in _database_bytes(engine, db_url)
    log = (tmp_path / "worker.log").read_text(errors="replace")
    assert PASSPHRASE not in log and SEAL_PASSPHRASE not in log
