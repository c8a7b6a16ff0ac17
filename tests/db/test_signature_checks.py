"""The stored checks of received PDFs' signatures (migration 0007), on SQLite
and PostgreSQL: one check per college's document, its verdicts replaced when the same bytes
arrive again, the database refusing a check that contradicts itself, and text from a
certificate (the signer's to choose) stored safely."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from letters.verification import SignatureVerdict
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.services import signatures
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.storage.models import College, SignatureCheck, SignatureVerdictRow

CODE = "1352016501"
OTHER = "1350016501"
SHA = "ab" * 32
WHO = Principal(SessionKind.COLLEGE, 1, CODE, "วิทยาลัย", college_code=CODE)


def verdict(status: str = "valid", **fields: object) -> SignatureVerdict:
    values: dict[str, object] = dict(
        summary="ลายมือชื่อดิจิทัลถูกต้อง", signer="Common Name: นายก", signer_name="นายก",
        issuer="Common Name: CA", intact=True, valid=True, trusted=status == "valid",
        covers_whole_file=True, claimed_time=datetime(2026, 4, 10, 3, 0, tzinfo=UTC),
    )
    values.update(fields)
    return SignatureVerdict(status, **values)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(env="test", data_dir=tmp_path)


@pytest.fixture
def colleges(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(College(code=CODE, name="วิทยาลัยสารพัดช่างลำปาง"))
        session.add(College(code=OTHER, name="วิทยาลัยเทคนิคลำปาง"))


def record(engine: Engine, settings: Settings, verdicts: list[SignatureVerdict],
           code: str = CODE) -> None:
    who = WHO if code == CODE else Principal(SessionKind.COLLEGE, 2, code, "ว", college_code=code)
    with session_scope(engine, immediate=True) as session:
        signatures.record_check(session, actor=who.actor, college_code=code, sha256=SHA,
                                verdicts=verdicts, settings=settings, subject="receipt:1")


def test_a_check_is_stored_and_replaced_when_the_bytes_arrive_again(
    engine: Engine, settings: Settings, colleges: None
) -> None:
    record(engine, settings, [verdict("valid"), verdict("modified", covers_whole_file=False)])
    with session_scope(engine) as session:
        shown = signatures.stored_check(session, CODE, SHA)
        assert shown is not None and shown.status == "modified" and shown.recorded
        assert [v.status for v in shown.signatures] == ["valid", "modified"]
        assert shown.signatures[0].claimed_time == datetime(2026, 4, 10, 3, 0, tzinfo=UTC)
        assert not shown.trust_store
        (headline,) = signatures.headlines(session, CODE, [SHA]).values()
        assert headline.status == "modified" and headline.signatures == 2
    record(engine, settings, [])  # the same bytes again: the newer check stands
    record(engine, settings, [verdict("tampered", intact=False)], code=OTHER)
    with session_scope(engine) as session:
        mine = signatures.stored_check(session, CODE, SHA)
        theirs = signatures.stored_check(session, OTHER, SHA)
        assert mine is not None and mine.status == "unsigned" and mine.signatures == []
        assert mine.summary == "ไม่มีลายมือชื่อดิจิทัล"
        assert theirs is not None and theirs.status == "tampered"  # each college its own copy
        assert len(session.exec(select(SignatureCheck)).all()) == 2
        assert len(session.exec(select(SignatureVerdictRow)).all()) == 1
        events = session.execute(text(
            "SELECT count(*) FROM audit_event WHERE event = 'signature_check'"
        )).scalar_one()
        assert events == 3


def test_text_from_a_certificate_is_stored_safely(engine: Engine, settings: Settings,
                                                  colleges: None) -> None:
    """A hostile certificate's names: control characters (PostgreSQL refuses NUL), very long."""
    nasty = verdict("untrusted", signer="CN=a\x00b\x1bc" + "ก" * 5000, signer_name="x\x00y" * 200,
                    issuer="\u202eevil", trust_problem="no_chain")
    record(engine, settings, [nasty])
    with session_scope(engine) as session:
        shown = signatures.stored_check(session, CODE, SHA)
        assert shown is not None
        (v,) = shown.signatures
        assert "\x00" not in v.signer and len(v.signer) <= 2000
        assert v.signer.startswith("CN=a\ufffdb\ufffdc") and len(v.signer_name) <= 255


def test_the_database_refuses_a_check_that_contradicts_itself(engine: Engine,
                                                              colleges: None) -> None:
    now = datetime.now(UTC)
    for status, count in (("unsigned", 1), ("valid", 0), ("fine", 1)):
        with pytest.raises(IntegrityError), session_scope(engine) as session:
            session.add(SignatureCheck(college_code=CODE, document_sha256=SHA, checked_at=now,
                                       checked_by="x", signatures=count, status=status))
    with session_scope(engine) as session:
        session.add(SignatureCheck(college_code=CODE, document_sha256=SHA, checked_at=now,
                                   checked_by="x", signatures=0, status="unsigned"))
    with pytest.raises(IntegrityError), session_scope(engine) as session:
        session.add(SignatureCheck(college_code=CODE, document_sha256=SHA, checked_at=now,
                                   checked_by="y", signatures=0, status="unsigned"))
