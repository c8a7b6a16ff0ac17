"""``saraban letter --sign KEY.p12`` and ``saraban verify``, run as a person runs them: in a
process of their own, the passphrase on standard input.

The letter signed from the command line is valid and trusted against the test root in pyHanko
and in poppler's pdfsig, prints the signed line with today's date in Bangkok, and
``saraban verify`` says so in Thai and English. Every refusal (a wrong passphrase, a file that
is not a key, an expired certificate, one from another root) is one line naming the key file,
never the passphrase, and writes nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from letters.model import DIGITALLY_SIGNED
from letters.verification import verify_pdf
from saraban.domain.vocabulary import bangkok_today, thai_date
from tests.support.pdfsig import pdfsig
from tests.support.pki import TestPKI, TimestampServer, sign_unchecked
from tests.unit.pdfreaders import read

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"


@dataclass
class Keys:
    folder: Path
    trust: Path
    passphrase: str

    def p12(self, who: str) -> Path:
        return self.folder / f"{who}.p12"


@pytest.fixture(scope="module")
def keys(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    for who in ("signer", "expired", "stranger"):
        (folder / f"{who}.p12").write_bytes(pki.p12(who))
    return Keys(folder, pki.write_trust_store(folder / "ca"), pki.passphrase)


def saraban(*args: str, stdin: str = "", env: dict[str, str] | None = None,
            cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SARABAN_")}
    return subprocess.run(
        [sys.executable, "-m", "saraban.cli", *args], input=stdin, capture_output=True,
        text=True, cwd=cwd, timeout=180, env={**environment, **(env or {})},
    )


@pytest.fixture(scope="module")
def signed(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    out = tmp_path_factory.mktemp("signed") / "letter.pdf"
    result = saraban("letter", str(SEED), "-o", str(out), "--sign", str(keys.p12("signer")),
                     "--trust", str(keys.trust), stdin=keys.passphrase + "\n")
    assert result.returncode == 0, result.stderr
    assert "signed by CN=นายวิวัฒน์ ปัญจมะวัต" in result.stdout
    # The seed letter is dated 10 April 2569; signed today, it says so.
    assert "the letter is dated 2026-04-10; it is signed today" in result.stderr
    assert keys.passphrase not in result.stdout + result.stderr
    return out.read_bytes()


def test_signed_from_the_command_line_valid_and_trusted_in_both_validators(
    signed: bytes, pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    (verdict,) = verify_pdf(signed, trust_roots=pki.roots)
    assert verdict.status == "valid" and verdict.covers_whole_file and verdict.trusted
    assert verdict.signer_name == "นายวิวัฒน์ ปัญจมะวัต"
    (report,) = pdfsig(signed, nss_db, tmp_path)
    assert report["Signature Validation"] == "Signature is Valid."
    assert report["Certificate Validation"] == "Certificate is Trusted."
    assert "Total document signed" in report


def test_the_signature_block_says_signed_today(signed: bytes) -> None:
    """The signed line carries the day it was signed (today in Bangkok: the day the signer
    approves), in the signature block, exact in the text layer."""
    line = f"{DIGITALLY_SIGNED} {thai_date(bangkok_today())}"
    text = read(signed, "pdftotext")
    assert sum(page.count(line) for page in text) == 1


def test_saraban_verify_in_thai_and_english(signed: bytes, keys: Keys, tmp_path: Path) -> None:
    path = tmp_path / "signed.pdf"
    path.write_bytes(signed)
    result = saraban("verify", str(path), "--trust", str(keys.trust))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "ลายมือชื่อดิจิทัลถูกต้อง (the digital signature is valid)" in out
    assert "ผู้ลงนาม (signer): Common Name: นายวิวัฒน์ ปัญจมะวัต" in out
    assert "ผู้ออกใบรับรอง (issuer): Common Name: saraban Test Issuing CA" in out
    assert "(the signature covers the whole file)" in out
    assert "(trusted: the certificate chains to a trusted root)" in out
    assert "signing time claimed by the signer" in out
    # the trust store from the environment, as the service has it
    assert saraban("verify", str(path), env={"SARABAN_TRUST_DIR": str(keys.trust)}).returncode == 0
    # without one: intact, but never called valid
    bare = saraban("verify", str(path))
    assert bare.returncode == 1
    assert "(untrusted: no trust store configured)" in bare.stdout


@pytest.mark.slow  # five runs of the command
def test_saraban_verify_gives_each_bad_case_its_verdict(
    signed: bytes, keys: Keys, pki: TestPKI, tmp_path: Path
) -> None:
    from letters.letter import render_letter_layout
    from letters.letterfile import load_letter_file

    at = signed.index(b"/Creator (saraban)") + len(b"/Creator (s")
    rendered = render_letter_layout(load_letter_file(SEED).merge())
    box = rendered.signature
    widget = tuple(round(v) for v in box.rect)
    cases = {
        "tampered": (signed[:at] + b"A" + signed[at + 1:],
                     "เอกสารถูกแก้ไขหลังลงนาม (the document was changed after signing)"),
        "stranger": (sign_unchecked(rendered.pdf, pki.p12("stranger"), pki.passphrase,
                                    page=box.page, box=widget),  # type: ignore[arg-type]
                     "ใบรับรองไม่อยู่ในรายการที่เชื่อถือ (the certificate does not chain to a "
                     "trusted root)"),
        "expired": (sign_unchecked(rendered.pdf, pki.p12("expired"), pki.passphrase,
                                   page=box.page, box=widget),  # type: ignore[arg-type]
                    "ใบรับรองหมดอายุ (the certificate has expired)"),
        "unsigned": (rendered.pdf, "ไม่มีลายมือชื่อดิจิทัล (no digital signature)"),
        "garbage": (b"%PDF-1.7 not really", "อ่านลายมือชื่อดิจิทัลไม่ได้ หรือไฟล์เสียหาย"),
    }
    for name, (data, expected) in cases.items():
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(data)
        result = saraban("verify", str(path), "--trust", str(keys.trust))
        assert result.returncode == 1, (name, result.stdout, result.stderr)
        assert expected in result.stdout, (name, result.stdout)
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("who", "stdin", "expected"),
    [
        ("signer", "not the passphrase ลับ\n",
         "รหัสผ่านไม่ถูกต้องหรือไฟล์ .p12 เสียหาย (wrong passphrase or damaged PKCS#12 file)"),
        ("not-a-key", None, "รหัสผ่านไม่ถูกต้องหรือไฟล์ .p12 เสียหาย"),
        ("expired", None, "ใบรับรองของผู้ลงนามหมดอายุแล้วเมื่อ"),
        ("stranger", None, "ใบรับรองของผู้ลงนามไม่อยู่ในรายการที่เชื่อถือ"),
    ],
)
def test_a_refusal_is_one_line_naming_the_key_file_never_the_passphrase(
    keys: Keys, tmp_path: Path, who: str, stdin: str | None, expected: str
) -> None:
    key = keys.p12(who)
    if who == "not-a-key":
        key = tmp_path / "not-a-key.p12"
        key.write_bytes(SEED.read_bytes())
    typed = stdin if stdin is not None else keys.passphrase + "\n"
    out = tmp_path / "out.pdf"
    result = saraban("letter", str(SEED), "-o", str(out), "--sign", str(key),
                     "--trust", str(keys.trust), stdin=typed)
    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith(f"error: {key}: ") and expected in line
    assert typed.strip() not in result.stdout + result.stderr
    assert not out.exists()


def test_the_passphrase_is_never_taken_from_the_command_line_or_the_environment(
    keys: Keys, tmp_path: Path
) -> None:
    out = tmp_path / "out.pdf"
    result = saraban("letter", str(SEED), "-o", str(out), "--sign", str(keys.p12("signer")),
                     "--passphrase", keys.passphrase)
    assert result.returncode != 0 and not out.exists()  # no such option
    result = saraban("letter", str(SEED), "-o", str(out), "--sign", str(keys.p12("signer")),
                     env={"SARABAN_SEAL_PASSPHRASE": keys.passphrase,
                          "SARABAN_PASSPHRASE": keys.passphrase})
    assert result.returncode == 2 and "รหัสผ่านไม่ถูกต้อง" in result.stderr
    assert keys.passphrase not in result.stdout + result.stderr and not out.exists()


@pytest.mark.slow
def test_timestamped_from_the_command_line(keys: Keys, pki: TestPKI,
                                           timestamp_server: TimestampServer,
                                           tmp_path: Path) -> None:
    out = tmp_path / "bt.pdf"
    result = saraban("letter", str(SEED), "-o", str(out), "--sign", str(keys.p12("signer")),
                     "--timestamp-url", timestamp_server.url, stdin=keys.passphrase + "\n")
    assert result.returncode == 0, result.stderr
    assert "(PAdES B-T)" in result.stdout
    (verdict,) = verify_pdf(out.read_bytes(), trust_roots=pki.roots)
    assert verdict.status == "valid" and verdict.timestamp_trusted
    shown = saraban("verify", str(out), "--trust", str(keys.trust)).stdout
    assert "ตราประทับเวลา (timestamp):" in shown and "เชื่อถือได้ / trusted" in shown
