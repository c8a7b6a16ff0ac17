"""Neither a key nor a passphrase ever reaches the database, a log or an error message: the
organisation's seal and a personal key sign letters, their checks are stored and audited, wrong
passphrases are refused, and then the database (the SQLite file's bytes, every PostgreSQL
table's text), every log record and every error message are searched for the passphrases and
for pieces of the private keys."""

from __future__ import annotations

import logging
import secrets
import traceback
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from sqlalchemy import Engine, text
from sqlmodel import Session, select

from letters.letterfile import load_letter_file
from saraban.domain.errors import ConfigError, Invalid
from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind
from saraban.services import signatures
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.storage.models import College, SignatureCheck, SignatureVerdictRow
from tests.support.pki import TestPKI

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
CODE = "1352016501"
SEAL_PASSPHRASE = "ตราสำนักงาน-seal-" + secrets.token_hex(8)


def _key_pieces(pki: TestPKI) -> list[bytes]:
    """Slices of the private keys' DER (and their hex), as a leak would carry them."""
    pieces = []
    for issued in (pki.signer, pki.digital_only):
        der = issued.key.private_bytes(serialization.Encoding.DER,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption())
        for at in (len(der) // 3, len(der) // 2, len(der) - 40):
            piece = der[at:at + 24]
            pieces += [piece, piece.hex().encode(), piece.hex().upper().encode()]
    return pieces


def _database_bytes(engine: Engine, db_url: str) -> bytes:
    if engine.dialect.name == "sqlite":
        engine.dispose()
        path = Path(engine.url.database or "")
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
        return b"".join(f.read_bytes() for f in files if f.exists())
    found = []
    with engine.connect() as conn:
        tables = conn.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        )).scalars().all()
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                found.append(repr(tuple(row)))
    return "\n".join(found).encode("utf-8")


def test_no_key_or_passphrase_in_the_database_the_logs_or_the_errors(
    engine: Engine, db_url: str, pki: TestPKI, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seal = tmp_path / "seal.p12"
    seal.write_bytes(pki.p12_with("digital_only", SEAL_PASSPHRASE))
    seal.chmod(0o600)
    settings = Settings(env="test", secret_key=secrets.token_urlsafe(48), data_dir=tmp_path,
                        seal_file=seal, seal_passphrase=SEAL_PASSPHRASE,
                        trust_dir=pki.write_trust_store(tmp_path / "ca"))
    letter = load_letter_file(SEED).merge()
    who = Principal(SessionKind.COLLEGE, 1, CODE, "วิทยาลัยสารพัดช่างลำปาง", college_code=CODE)
    messages: list[str] = []
    with caplog.at_level(logging.DEBUG):
        signatures.check_configuration(settings)
        made = [
            signatures.sign_for(settings, letter),  # the seal
            signatures.sign_for(settings, letter, personal_p12=pki.p12("signer"),
                                passphrase=pki.passphrase),
        ]
        assert [m.key for m in made] == ["seal", "personal"]
        for wrong in (pki.passphrase + "x", SEAL_PASSPHRASE):
            with pytest.raises(Invalid) as refused:
                signatures.sign_for(settings, letter, personal_p12=pki.p12("signer"),
                                    passphrase=wrong)
            messages.append("".join(traceback.format_exception(refused.value)))
        with pytest.raises(ConfigError) as refused_seal:
            signatures.organisation_seal(
                Settings(env="test", secret_key=secrets.token_urlsafe(48), seal_file=seal,
                         seal_passphrase=pki.passphrase)
            )
        messages.append("".join(traceback.format_exception(refused_seal.value)))
        with session_scope(engine, immediate=True) as session:
            session.add(College(code=CODE, name="วิทยาลัยสารพัดช่างลำปาง"))
            session.flush()
            for number, signed in enumerate(made, start=1):
                verdicts = signatures.verdicts_of(signed.pdf, settings)
                assert [v.status for v in verdicts] == ["valid"]
                signatures.record_check(session, actor=who.actor, college_code=CODE,
                                        sha256=f"{number:064x}", verdicts=verdicts,
                                        settings=settings, subject=f"receipt:{number}")
    with Session(engine) as session:  # the checks are there, as a person reads them
        assert len(session.exec(select(SignatureCheck)).all()) == 2
        assert len(session.exec(select(SignatureVerdictRow)).all()) == 2
    logged = "\n".join(
        r.getMessage() + (str(r.exc_info) if r.exc_info else "") + repr(r.args)
        for r in caplog.records
    )
    stored = _database_bytes(engine, db_url)
    everything = {"database": stored, "logs": logged.encode(),
                  "errors": "\n".join(messages).encode()}
    for passphrase in (pki.passphrase, SEAL_PASSPHRASE):
        for where, data in everything.items():
            assert passphrase.encode() not in data, where
    for where, data in everything.items():
        for piece in _key_pieces(pki):
            assert piece not in data, where
        assert b"PRIVATE KEY" not in data, where
    assert "รหัสผ่านไม่ถูกต้อง" in everything["errors"].decode()
