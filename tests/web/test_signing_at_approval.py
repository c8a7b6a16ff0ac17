"""Signing at approval (ลงนาม) in the web: the signer's own PKCS#12, uploaded with its passphrase
for that one request, signs the numbered letter with PAdES (dated the approval day); those
bytes are the letter downloaded and the reply delivered into OVEC's inbox, valid and trusted by
pyHanko and by poppler's pdfsig against the test root. A wrong passphrase is a 422 naming the
field ``p12`` and changes nothing (no number taken, the draft still waiting); the passphrase
is in no response, log record or database row. Approval without a key is as before."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from saraban.domain.vocabulary import bangkok_today, thai_date
from saraban.services import signatures
from saraban.storage.models import DispatchEntry, Draft
from saraban.web.app import create_app
from tests.db.test_signature_secrets import _database_bytes
from tests.support.browser import Site
from tests.support.mailouts import MailoutRun, copy_template
from tests.support.pdfsig import pdfsig
from tests.support.pdftext import page_texts
from tests.support.pki import TestPKI
from tests.support.service import World, service_settings
from tests.web.test_pages_compose import _ovec_people, _seed_fields
from tests.web.test_service_access import scene_of

PASSPHRASE = "กุญแจลำปาง-" + secrets.token_hex(8)


@pytest.fixture
def trusting_world(
    engine: Engine, mailout_run: MailoutRun, tmp_path: Path, pki: TestPKI
) -> Iterator[World]:
    copy_template(mailout_run, engine)
    trust = pki.write_trust_store(tmp_path / "ca")
    settings = service_settings(tmp_path / "data", trust_dir=trust)
    with ExitStack() as stack:
        yield World(create_app(settings, engine), engine, settings, mailout_run, stack)


def _valid_and_trusted(pdf: bytes, settings: object, nss_db: str, folder: Path) -> None:
    verdicts = signatures.verdicts_of(pdf, settings)  # type: ignore[arg-type]
    assert [(v.status, v.trusted, v.covers_whole_file) for v in verdicts] == [("valid", True, True)]
    [report] = pdfsig(pdf, nss_db, folder)
    assert report["Signature Validation"] == "Signature is Valid."
    assert report["Certificate Validation"] == "Certificate is Trusted."
    assert "Total document signed" in report


def test_a_reply_signed_with_the_signers_own_key_through_the_api(
    trusting_world: World,
    pki: TestPKI,
    nss_db: str,
    tmp_path: Path,
    db_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    world = trusting_world
    s = scene_of(world)
    s.a.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
    clerk, acting = s.a.staff["clerk"], s.a.staff["acting"]
    form = clerk.ok("GET", f"/api/receipts/{s.receipt}/reply")
    body = {**form, "body": "วิทยาลัยได้ดำเนินการแล้ว", "signer_id": s.a.ids["acting"]}
    draft = clerk.ok("POST", f"/api/receipts/{s.receipt}/reply", 201, json=body)["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": s.a.ids["acting"]})
    p12 = pki.p12_with("signer", PASSPHRASE)
    url = f"/api/drafts/{draft}/approve"
    with Session(world.engine) as session:
        numbers = len(session.exec(select(DispatchEntry)).all())
    with caplog.at_level(logging.DEBUG):
        # A wrong passphrase: 422 naming the field, nothing taken, nothing signed.
        wrong = acting.post(
            url,
            files={"p12": ("me.p12", p12, "application/x-pkcs12")},
            data={"passphrase": PASSPHRASE + "x"},
        )
        assert wrong.status_code == 422, wrong.text
        assert "p12" in wrong.text and PASSPHRASE not in wrong.text
        with Session(world.engine) as session:
            row = session.get(Draft, draft)
            assert row is not None and row.status == "submitted" and row.reference is None
            assert len(session.exec(select(DispatchEntry)).all()) == numbers
        # The right one: numbered and signed.
        done = acting.ok(
            "POST",
            url,
            files={"p12": ("me.p12", p12, "application/x-pkcs12")},
            data={"passphrase": PASSPHRASE},
        )
        assert done["reference"] == "ศธ 0656.12/1"
        letter = clerk.get(f"/api/drafts/{draft}/letter.pdf").content
        assert letter == clerk.get(f"/api/drafts/{draft}/letter.pdf").content  # kept, not redone
        _valid_and_trusted(letter, world.settings, nss_db, tmp_path)
        text = page_texts(letter, "pypdf")[0]
        assert "ลงนามด้วยลายมือชื่อดิจิทัล" in text
        assert thai_date(bangkok_today()) in text
        # Sent: OVEC's inbox has the signed bytes, their check shown as valid.
        clerk.ok("POST", f"/api/drafts/{draft}/send", json={})
        ovec = world.ovec()
        item = ovec.ok("GET", "/api/received")[0]["id"]
        delivered = ovec.get(f"/api/received/{item}/letter.pdf").content
        assert delivered == letter
        shown = ovec.get(f"/received/{item}")
        assert shown.status_code == 200, shown.text
        assert "ลายมือชื่อดิจิทัลถูกต้อง" in shown.text
    logged = "\n".join(r.getMessage() + repr(r.args) for r in caplog.records)
    assert PASSPHRASE not in logged
    assert PASSPHRASE.encode() not in _database_bytes(world.engine, db_url)


def test_signed_at_approval_through_the_page_form(
    trusting_site: Site, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    site = trusting_site
    clerk, signer = _ovec_people(site)
    fields = _seed_fields(clerk.get("/drafts/new").text)
    saved = clerk.submit("/drafts/new", {**fields, "action": "save"})
    assert saved.status_code == 200, saved.text
    draft_id = int(saved.url.path.rsplit("/", 1)[1])
    clerk.submit(f"/drafts/{draft_id}/submit", {"to_id": fields["signer_id"]})
    page = signer.get(f"/drafts/{draft_id}")
    assert 'name="p12"' in page.text and 'name="passphrase"' in page.text
    p12 = pki.p12_with("signer", PASSPHRASE)
    key = {"p12": ("me.p12", p12, "application/x-pkcs12")}
    wrong = signer.submit(f"/drafts/{draft_id}/approve", {"passphrase": "not-it"}, files=key)
    assert "ลงนามไม่สำเร็จ: p12:" in wrong.text
    assert "ลงนาม</button>" in wrong.text  # still waiting for the signature
    signed = signer.submit(f"/drafts/{draft_id}/approve", {"passphrase": PASSPHRASE}, files=key)
    assert "ลงนามแล้ว: เลขที่หนังสือ ศธ 0603/ว 1" in signed.text
    assert PASSPHRASE not in signed.text
    letter = signer.get(f"/api/drafts/{draft_id}/letter.pdf").content
    _valid_and_trusted(letter, site.settings, nss_db, tmp_path)


def test_approval_without_a_key_stays_unsigned(trusting_site: Site) -> None:
    site = trusting_site
    clerk, signer = _ovec_people(site)
    fields = _seed_fields(clerk.get("/drafts/new").text)
    saved = clerk.submit("/drafts/new", {**fields, "action": "save"})
    draft_id = int(saved.url.path.rsplit("/", 1)[1])
    clerk.submit(f"/drafts/{draft_id}/submit", {"to_id": fields["signer_id"]})
    signed = signer.submit(f"/drafts/{draft_id}/approve")
    assert "ลงนามแล้ว: เลขที่หนังสือ ศธ 0603/ว 1" in signed.text
    letter = signer.get(f"/api/drafts/{draft_id}/letter.pdf").content
    assert signatures.verdicts_of(letter, site.settings) == []


def test_approval_without_a_key_is_signed_with_the_organisations_seal(
    engine: Engine, mailout_run: MailoutRun, tmp_path: Path, pki: TestPKI, nss_db: str
) -> None:
    copy_template(mailout_run, engine)
    seal = tmp_path / "seal.p12"
    seal.write_bytes(pki.p12_with("signer", PASSPHRASE))
    seal.chmod(0o600)
    settings = service_settings(
        tmp_path / "data",
        trust_dir=pki.write_trust_store(tmp_path / "ca"),
        seal_file=seal,
        seal_passphrase=PASSPHRASE,
    )
    with ExitStack() as stack:
        world = World(create_app(settings, engine), engine, settings, mailout_run, stack)
        s = scene_of(world)
        s.a.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
        clerk, acting = s.a.staff["clerk"], s.a.staff["acting"]
        form = clerk.ok("GET", f"/api/receipts/{s.receipt}/reply")
        body = {**form, "body": "วิทยาลัยได้ดำเนินการแล้ว", "signer_id": s.a.ids["acting"]}
        draft = clerk.ok("POST", f"/api/receipts/{s.receipt}/reply", 201, json=body)["id"]
        clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": s.a.ids["acting"]})
        acting.ok("POST", f"/api/drafts/{draft}/approve")
        letter = clerk.get(f"/api/drafts/{draft}/letter.pdf").content
        _valid_and_trusted(letter, settings, nss_db, tmp_path)
        detail = clerk.ok("GET", f"/api/drafts/{draft}")
        approve = next(e for e in detail["events"] if e["kind"] == "approve")
        assert PASSPHRASE not in str(detail)
        assert approve is not None
