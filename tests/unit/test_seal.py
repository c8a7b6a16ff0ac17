"""The two ways a letter gets a key (saraban.services.signatures): a personal PKCS#12 for one
request, or the organisation's seal configured on the server, loaded once; and the settings
that configure the seal, refused in production when others may read the file. No passphrase in
any message."""

from __future__ import annotations

import secrets
import traceback
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from letters.letterfile import load_letter_file
from letters.model import DIGITALLY_SIGNED
from letters.signing import SigningError
from letters.verification import verify_pdf
from saraban.domain.errors import ConfigError, Invalid
from saraban.services import signatures
from saraban.settings import Settings, load_settings
from tests.support.pki import TestPKI
from tests.unit.pdfreaders import read

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
SECRET_KEY = secrets.token_urlsafe(48)


def settings(**values: object) -> Settings:
    return Settings(**{"env": "test", "secret_key": SECRET_KEY, **values})  # type: ignore[arg-type]


@pytest.fixture
def seal_file(pki: TestPKI, tmp_path: Path) -> Path:
    path = tmp_path / "seal.p12"
    path.write_bytes(pki.p12("signer"))
    path.chmod(0o600)
    return path


def _letter():  # the seed circular, as a draft the approval step would sign
    return load_letter_file(SEED).merge()


def test_production_refuses_a_seal_file_others_may_read(pki: TestPKI, seal_file: Path) -> None:
    seal_file.chmod(0o640)
    with pytest.raises(ValidationError) as caught:
        Settings(env="production", secret_key=SECRET_KEY, seal_file=seal_file,
                 seal_passphrase=pki.passphrase)
    shown = str(caught.value)
    assert "readable by others (mode 0640)" in shown and f"chmod 600 {seal_file}" in shown
    assert pki.passphrase not in shown
    seal_file.chmod(0o604)
    with pytest.raises(ValidationError, match="mode 0604"):
        Settings(env="production", secret_key=SECRET_KEY, seal_file=seal_file)
    seal_file.chmod(0o600)
    ok = Settings(env="production", secret_key=SECRET_KEY, seal_file=seal_file,
                  seal_passphrase=pki.passphrase)
    assert ok.seal_file == seal_file
    # outside production a readable file is allowed (a developer's test seal)
    seal_file.chmod(0o644)
    assert settings(seal_file=seal_file).seal_file == seal_file


def test_the_seal_refusal_at_startup_is_one_line_without_the_passphrase(
    pki: TestPKI, seal_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``saraban serve`` loads the settings first: the refusal names the setting and the
    file, never the passphrase (pydantic would show the input it refused)."""
    seal_file.chmod(0o644)
    for name, value in {
        "SARABAN_ENV": "production",
        "SARABAN_SECRET_KEY": SECRET_KEY,
        "SARABAN_SEAL_FILE": str(seal_file),
        "SARABAN_SEAL_PASSPHRASE": pki.passphrase,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith("seal_file: ") and "chmod 600" in message
    assert pki.passphrase not in message + "".join(traceback.format_exception(caught.value))


def test_no_refused_setting_shows_the_passphrase(pki: TestPKI, seal_file: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A check over the whole model (the production secret key) would show pydantic's input,
    every setting given, the seal's passphrase among them: inputs are hidden."""
    for name, value in {
        "SARABAN_ENV": "production",
        "SARABAN_SECRET_KEY": "tooShortKey-7",
        "SARABAN_SEAL_FILE": str(seal_file),
        "SARABAN_SEAL_PASSPHRASE": pki.passphrase,
    }.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as caught:
        Settings()
    shown = str(caught.value) + "".join(traceback.format_exception(caught.value))
    assert "SARABAN_SECRET_KEY must be set" in shown
    assert pki.passphrase not in shown and "tooShortKey-7" not in shown


def test_a_seal_setting_that_cannot_work(pki: TestPKI, tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="cannot read the seal file"):
        settings(seal_file=tmp_path / "missing.p12")
    with pytest.raises(ValidationError, match="SARABAN_SEAL_FILE is not"):
        settings(seal_passphrase=pki.passphrase)
    with pytest.raises(ValidationError, match="trust store folder does not exist"):
        settings(trust_dir=tmp_path / "no-such-folder")
    with pytest.raises(ValidationError, match="starts with http"):
        settings(timestamp_url="ftp://tsa.example")


def test_the_seal_is_loaded_once(pki: TestPKI, seal_file: Path) -> None:
    configured = settings(seal_file=seal_file, seal_passphrase=pki.passphrase)
    first = signatures.organisation_seal(configured)
    assert first is not None and "นายวิวัฒน์ ปัญจมะวัต" in first.subject
    assert signatures.organisation_seal(configured) is first
    signatures.check_configuration(configured)  # what create_app does at startup
    assert signatures.organisation_seal(settings()) is None


def test_a_wrong_seal_passphrase_is_a_config_error_naming_the_file(
    pki: TestPKI, seal_file: Path
) -> None:
    wrong = "not-the-seal-passphrase-ลับ"
    with pytest.raises(ConfigError) as caught:
        signatures.organisation_seal(settings(seal_file=seal_file, seal_passphrase=wrong))
    message = str(caught.value)
    assert message.startswith(f"SARABAN_SEAL_FILE: {seal_file}: รหัสผ่านไม่ถูกต้อง")
    assert wrong not in message + "".join(traceback.format_exception(caught.value))


def test_sign_for_takes_the_personal_key_then_the_seal_then_none(
    pki: TestPKI, seal_file: Path
) -> None:
    seal_file.write_bytes(pki.p12("digital_only"))  # the seal: another certificate
    configured = settings(seal_file=seal_file, seal_passphrase=pki.passphrase)
    day = date(2026, 4, 10)
    personal = signatures.sign_for(configured, _letter(), personal_p12=pki.p12("signer"),
                                   passphrase=pki.passphrase, on=day)
    assert personal.key == "personal" and "นายวิวัฒน์" in personal.signer
    sealed = signatures.sign_for(configured, _letter(), on=day)
    assert sealed.key == "seal" and "Digital Signature Only" in sealed.signer
    for made in (personal, sealed):
        (verdict,) = verify_pdf(made.pdf, trust_roots=pki.roots)
        assert verdict.status == "valid"
        assert f"{DIGITALLY_SIGNED} ๑๐ เมษายน ๒๕๖๙" in "".join(read(made.pdf, "pypdf"))
    unsigned = signatures.sign_for(settings(), _letter())
    assert unsigned.key is None and unsigned.signed_on is None
    assert verify_pdf(unsigned.pdf, trust_roots=pki.roots) == []
    assert DIGITALLY_SIGNED not in "".join(read(unsigned.pdf, "pypdf"))


def test_sign_for_refuses_what_the_trust_store_does_not_trust(pki: TestPKI,
                                                              tmp_path: Path) -> None:
    configured = settings(trust_dir=pki.write_trust_store(tmp_path / "ca"))
    with pytest.raises(SigningError, match="ไม่อยู่ในรายการที่เชื่อถือ"):
        signatures.sign_for(configured, _letter(), personal_p12=pki.p12("stranger"),
                            passphrase=pki.passphrase)
    with pytest.raises(SigningError, match="หมดอายุ"):
        signatures.sign_for(configured, _letter(), personal_p12=pki.p12("expired"),
                            passphrase=pki.passphrase)
    done = signatures.sign_for(configured, _letter(), personal_p12=pki.p12("signer"),
                               passphrase=pki.passphrase)
    assert verify_pdf(done.pdf, trust_roots=pki.roots)[0].status == "valid"


def test_a_personal_key_refused_names_the_field_never_the_passphrase(pki: TestPKI) -> None:
    wrong = "hunter2-ลับสุดยอด"
    with pytest.raises(Invalid) as caught:
        signatures.sign_for(settings(), _letter(), personal_p12=pki.p12("signer"),
                            passphrase=wrong, key_name="p12")
    error = caught.value
    assert error.field == "p12" and str(error).startswith("p12: รหัสผ่านไม่ถูกต้อง")
    assert wrong not in str(error) + "".join(traceback.format_exception(error))


def test_sign_for_in_an_event_loop_says_to_await(pki: TestPKI) -> None:
    import asyncio

    async def in_a_loop() -> None:
        with pytest.raises(RuntimeError, match="await async_sign_for"):
            signatures.sign_for(settings(), _letter())
        made = await signatures.async_sign_for(
            settings(), replace(_letter()), personal_p12=pki.p12("signer"),
            passphrase=pki.passphrase,
        )
        assert made.key == "personal"

    asyncio.run(in_a_loop())
