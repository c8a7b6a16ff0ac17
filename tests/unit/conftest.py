"""Fixtures of the typesetting and signing tests: a test PKI, a timestamp authority on
127.0.0.1, an NSS database trusting the test root for poppler's pdfsig."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from letters.signing import SigningKey, load_signing_key
from tests.unit.pki import TestPKI, TimestampServer, make_pki


@pytest.fixture(scope="session")
def pki() -> TestPKI:
    return make_pki()


@pytest.fixture(scope="session")
def signing_key(pki: TestPKI) -> SigningKey:
    return load_signing_key(pki.p12("signer"), pki.passphrase)


@pytest.fixture(scope="session")
def timestamp_server(pki: TestPKI) -> Iterator[TimestampServer]:
    server = TimestampServer(pki)
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def nss_db(pki: TestPKI, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``sql:<folder>`` of an NSS database that trusts the test root to sign documents
    (``-t ",C,"``: trusted for e-mail, what pdfsig checks; ``C,,`` trusts for TLS only)."""
    certutil = shutil.which("certutil")
    if certutil is None or shutil.which("pdfsig") is None:
        pytest.fail("certutil and pdfsig are needed: install Debian's libnss3-tools and "
                    "poppler-utils (scripts/readers.sh does)", pytrace=False)
    folder = tmp_path_factory.mktemp("nssdb")
    root = folder / "root.pem"
    root.write_bytes(pki.root.pem)
    db = f"sql:{folder}"
    for args in (["-N", "-d", db, "--empty-password"],
                 ["-A", "-d", db, "-n", "saraban test root", "-t", ",C,", "-i", str(root)]):
        subprocess.run([certutil, *args], check=True, capture_output=True)
    assert Path(folder, "cert9.db").is_file()
    return db
