"""poppler's ``pdfsig``, an independent validator (NSS), as the tests read it.

Its exit code is 0 whatever the verdict (2: no signature; 1: not a PDF), so the report's lines
are what counts: one dict a signature, e.g. ``{"Signature Validation": "Signature is Valid.",
"Certificate Validation": "Certificate is Trusted.", "Total document signed": ""}``.
Never ``-no-ocsp``: with it every signature, even a good one, reads "Unknown issue".
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path


def pdfsig(pdf: bytes, nss_db: str, folder: Path) -> list[dict[str, str]]:
    """pdfsig's report on ``pdf`` against the NSS database ``nss_db`` (``sql:<folder>``); an
    unsigned PDF gives ``[]``."""
    path = folder / f"pdfsig-{hashlib.sha256(pdf).hexdigest()[:16]}.pdf"
    path.write_bytes(pdf)
    result = subprocess.run(["pdfsig", "-nssdir", nss_db, str(path)], capture_output=True,
                            text=True, timeout=60)
    if result.returncode == 2:
        return []
    assert result.returncode == 0, result.stderr
    signatures: list[dict[str, str]] = []
    for line in result.stdout.splitlines():
        if re.match(r"^Signature #\d+:", line):
            signatures.append({})
        elif (m := re.match(r"^\s+- ([^:]+?)(?:: (.*))?$", line)) and signatures:
            signatures[-1][m.group(1)] = m.group(2) or ""
    return signatures
