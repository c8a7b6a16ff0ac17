"""Organisations and drafts on SQLite and PostgreSQL: migration 0010 carries the colleges and
OVEC's accounts over; a draft is a letter file with versions, exported and imported; the
seed circular composed field by field is the letter ``saraban letter`` makes from
examples/emvs-2569 (same text layer, same page images); its number comes from the dispatch
register at signing, never earlier, never reused; another organisation never sees it."""

from __future__ import annotations

import io
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from PIL import ImageChops, ImageStat
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from letters.letter import render_letter
from letters.letterfile import load_letter_file
from saraban.domain.errors import Conflict, Forbidden, Invalid, NotFound
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.services import accounts, drafts, organisations
from saraban.services.letters import render_letter_file
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import alembic_config, session_scope
from saraban.storage.models import (
    CollegeCreate,
    DispatchEntry,
    Organisation,
    OrganisationMember,
)
from tests.support.drafts import SEED, SEED_ENCLOSURE, SIGNER, seed_compose
from tests.support.pdftext import page_texts, render_page

A, B = "1350100001", "1350100002"
PASSWORD = "Tamarind-Lampang-2569"


def _migrate(engine: Engine, revision: str) -> None:
    cfg = alembic_config(engine.url)
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        if revision == "head":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def test_0010_makes_organisations_of_colleges_and_ovec(engine: Engine) -> None:
    _migrate(engine, "0009")
    now = datetime(2026, 4, 10, 2, 0, tzinfo=UTC)
    with engine.begin() as conn:
        for code, name in ((A, "วิทยาลัยเทคนิคลำปาง"), (B, "วิทยาลัยสารพัดช่างน่าน")):
            conn.execute(
                text(
                    "INSERT INTO college (code, name, created_at, updated_at)"
                    " VALUES (:c, :n, :t, :t)"
                ),
                {"c": code, "n": name, "t": now},
            )
        conn.execute(
            text(
                "INSERT INTO account (id, username, kind, name, position, acting, acting_for,"
                " password_hash, must_change_password, active, created_at, created_by,"
                " updated_at) VALUES (5, 'somchai', 'ovec', 'นายสมชาย ใจดี', '', '', '',"
                " '$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2g', false, true, :t, 't', :t)"
            ),
            {"t": now},
        )
    _migrate(engine, "head")
    with Session(engine) as s:
        orgs = s.exec(select(Organisation).order_by(Organisation.id)).all()
        assert [(o.kind, o.college_code, o.name) for o in orgs] == [
            ("ovec", None, "สำนักงานคณะกรรมการการอาชีวศึกษา"),
            ("college", A, "วิทยาลัยเทคนิคลำปาง"),
            ("college", B, "วิทยาลัยสารพัดช่างน่าน"),
        ]
        assert (orgs[0].agency_code, orgs[0].short_name) == ("ศธ 0603", "สอศ.")
        members = s.exec(select(OrganisationMember)).all()
        assert [(m.account_id, m.organisation_id, m.role) for m in members] == [
            (5, orgs[0].id, "clerk")
        ]
    _migrate(engine, "0009")  # and down again: the colleges and the account stay
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM college")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM account")).scalar() == 1
    _migrate(engine, "head")


# --------------------------------------------------------------------------- #
# Drafts
# --------------------------------------------------------------------------- #


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path / "data", hash_memory_kib=1024, hash_time_cost=1)


def _ovec_account(engine: Engine, settings: Settings, username: str, name: str) -> Principal:
    with session_scope(engine, immediate=True) as s:
        account = accounts.create_ovec_user(
            s, username=username, name=name, password=PASSWORD, settings=settings, by="test"
        )
        assert account.id is not None
        return Principal(
            kind=SessionKind.OVEC,
            session_id=0,
            username=username,
            name=name,
            account_id=account.id,
        )


@pytest.fixture
def ovec(engine: Engine, settings: Settings) -> dict[str, Principal]:
    with session_scope(engine) as s:
        store.import_colleges(
            session=s,
            colleges=[
                CollegeCreate(code=A, name="วิทยาลัยเทคนิคลำปาง", province="ลำปาง"),
                CollegeCreate(code=B, name="วิทยาลัยสารพัดช่างน่าน", province="น่าน"),
            ],
        )
    people = {
        "clerk": _ovec_account(engine, settings, "somchai", "นายสมชาย ใจดี"),
        "signer": _ovec_account(engine, settings, "wiwat", SIGNER["name"]),
    }
    with session_scope(engine, immediate=True) as s:
        organisations.set_ovec_member(
            s, username="wiwat", role="deputy", position=SIGNER["position"], by="test"
        )
    return people


def _college(code: str) -> Principal:
    return Principal(
        kind=SessionKind.COLLEGE, session_id=0, username=code, name=code, college_code=code
    )


def _seed_draft(engine: Engine, settings: Settings, who: Principal, signer: Principal) -> int:
    with session_scope(engine, immediate=True) as s:
        sha = drafts.keep_file(s, who=who, data=SEED_ENCLOSURE.read_bytes(), settings=settings)
        data = drafts.ComposeIn.model_validate(seed_compose(signer.account_id or 0, sha))
        draft = drafts.create(s, who=who, data=data, settings=settings)
        assert draft.id is not None
        return draft.id


def _same_pages(one: bytes, other: bytes) -> None:
    """Same text layer and page images within the reference-image tolerance."""
    assert page_texts(one, "pdfium") == page_texts(other, "pdfium")
    for index in range(len(page_texts(one, "pypdf"))):
        a, b = render_page(one, index, dpi=50), render_page(other, index, dpi=50)
        assert a.size == b.size
        diff = ImageChops.difference(a, b)
        assert ImageStat.Stat(diff).mean[0] < 1.0
        changed = diff.point(lambda v: 255 if v > 96 else 0).histogram()[255]
        assert changed / (a.size[0] * a.size[1]) < 0.002


def test_the_seed_circular_composed_is_the_letter_files_letter(
    engine: Engine, settings: Settings, ovec: dict[str, Principal], tmp_path: Path
) -> None:
    draft_id = _seed_draft(engine, settings, ovec["clerk"], ovec["signer"])
    with Session(engine) as s:
        text_ = drafts.export_text(s, who=ovec["clerk"], draft_id=draft_id)
        org = organisations.ovec(s)
        web = drafts.parse(text_, org, settings).merge()
        archive = drafts.export_zip(s, who=ovec["clerk"], draft_id=draft_id, settings=settings)
    cli = load_letter_file(SEED / "letter.toml").merge()
    # The register gives the number at signing; the seed's is 5553.
    assert web.number is None
    _same_pages(render_letter(replace(web, number="5553")), render_letter(cli))
    # Exported as a folder, it is what `saraban letter` renders (the same service function).
    folder = tmp_path / "exported"
    zipfile.ZipFile(io.BytesIO(archive)).extractall(folder)
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.*")) == [
        f"files/{Path(web.enclosures[0].file or '').name}",
        "letter.toml",
        "qr-sheet.toml",
    ]
    exported = render_letter_file(folder / "letter.toml")
    _same_pages(exported, render_letter(web))


def test_import_reads_the_seed_letter_file_back(
    engine: Engine, settings: Settings, ovec: dict[str, Principal]
) -> None:
    source = (SEED / "letter.toml").read_text(encoding="utf-8")
    with (
        session_scope(engine, immediate=True) as s,
        pytest.raises(Invalid, match=r"enclosures/stand-in-0180\.pdf was not uploaded"),
    ):
        drafts.import_text(s, who=ovec["clerk"], text=source, files={}, settings=settings)
    with session_scope(engine, immediate=True) as s:
        draft = drafts.import_text(
            s,
            who=ovec["clerk"],
            text=source,
            files={"enclosures/stand-in-0180.pdf": SEED_ENCLOSURE.read_bytes()},
            settings=settings,
            qr_sheet=(SEED / "qr-sheet.toml").read_text(encoding="utf-8"),
        )
        assert draft.signer_id == ovec["signer"].account_id  # found by name among the staff
        assert draft.kind == "circular" and draft.status == "draft"
        detail = drafts.detail(s, who=ovec["clerk"], draft_id=draft.id or 0, settings=settings)
        web = drafts.parse(detail.letter_toml, organisations.ovec(s), settings).merge()
    _same_pages(
        render_letter(replace(web, number="5553")),
        render_letter(load_letter_file(SEED / "letter.toml").merge()),
    )


def test_numbered_at_signing_in_turn_never_reused(
    engine: Engine, settings: Settings, ovec: dict[str, Principal]
) -> None:
    clerk, signer = ovec["clerk"], ovec["signer"]
    draft_id = _seed_draft(engine, settings, clerk, signer)
    with session_scope(engine, immediate=True) as s, pytest.raises(Conflict):  # not submitted
        drafts.approve(s, who=signer, draft_id=draft_id, settings=settings)
    with session_scope(engine, immediate=True) as s:
        drafts.submit(
            s, who=clerk, draft_id=draft_id, data=drafts.SubmitIn(to_id=signer.account_id or 0)
        )
    with session_scope(engine, immediate=True) as s, pytest.raises(Forbidden):  # not the signer
        drafts.approve(s, who=clerk, draft_id=draft_id, settings=settings)
    with session_scope(engine, immediate=True) as s:
        assert s.exec(select(DispatchEntry)).all() == []  # nothing numbered before signing
        draft = drafts.approve(s, who=signer, draft_id=draft_id, settings=settings)
        assert (draft.status, draft.reference, draft.approved_version) == (
            "approved",
            "ศธ 0603/ว 1",
            1,
        )
        pdf = drafts.letter_pdf(s, who=clerk, draft_id=draft_id, settings=settings)
    assert "ที่ ศธ ๐๖๐๓/ว ๑" in page_texts(pdf, "pypdf")[0]
    # A change to the signed letter: a new version, its number cancelled, signed again.
    with session_scope(engine, immediate=True) as s:
        detail = drafts.detail(s, who=clerk, draft_id=draft_id, settings=settings)
        changed = detail.compose.model_copy(update={"subject": detail.compose.subject + " (แก้ไข)"})
        draft = drafts.update(s, who=clerk, draft_id=draft_id, data=changed, settings=settings)
        assert (draft.version, draft.status, draft.reference) == (2, "draft", None)
        drafts.submit(
            s, who=clerk, draft_id=draft_id, data=drafts.SubmitIn(to_id=signer.account_id or 0)
        )
        drafts.approve(s, who=signer, draft_id=draft_id, settings=settings)
    with Session(engine) as s:
        entries = s.exec(select(DispatchEntry).order_by(DispatchEntry.number)).all()
        assert [(e.number, e.status) for e in entries] == [(1, "cancelled"), (2, "issued")]
        assert drafts.get(s, who=clerk, draft_id=draft_id).reference == "ศธ 0603/ว 2"
        # Version 1 as it was signed stays, unchanged.
        assert "(แก้ไข)" not in drafts.export_text(s, who=clerk, draft_id=draft_id, version=1)
        events = [
            e["kind"]
            for e in drafts.detail(s, who=clerk, draft_id=draft_id, settings=settings).events
        ]
        assert events == ["submit", "approve", "submit", "approve"]


def test_another_organisation_never_sees_a_draft(
    engine: Engine, settings: Settings, ovec: dict[str, Principal]
) -> None:
    draft_id = _seed_draft(engine, settings, ovec["clerk"], ovec["signer"])
    with session_scope(engine, immediate=True) as s:
        college = _college(A)
        with pytest.raises(NotFound):
            drafts.get(s, who=college, draft_id=draft_id)
        with pytest.raises(NotFound):
            drafts.export_text(s, who=college, draft_id=draft_id)
        assert drafts.list_drafts(s, who=college) == []
        assert [d.id for d in drafts.list_drafts(s, who=ovec["clerk"])] == [draft_id]
        assert organisations.organisation_of(s, college).college_code == A
