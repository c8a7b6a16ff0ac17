"""What signing a letter digitally costs: signing and checking one letter, and a mailout's letters
signed once (the shared letter) or per college (merged letters); what checking a received PDF
on arrival adds to registering it, and what the annotated letter of a signed letter costs.

    .venv/bin/python -m bench.letter_sign [--runs 30] [--colleges 40]

Keys and certificates come from the tests' PKI (RSA-2048, a root, an issuing CA, the signer; a
timestamp authority on 127.0.0.1 for B-T). Every figure is a median of ``--runs`` timed runs
after one untimed run, in one warm process; the per-college rows time ``--colleges`` colleges
of the example roster one after another, rendering each letter alone (as a signer must: each
signed letter is its own file).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from letters.letter import RenderedLetter, render_letter_layout
from letters.letterfile import load_letter_file
from letters.signing import load_signing_key, sign_letter
from letters.verification import verify_pdf
from tests.support.pki import TestPKI, TimestampServer, make_pki

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "emvs-2569"
SIGNED_ON = date(2026, 4, 10)


def median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def colleges(count: int) -> list[dict[str, str]]:
    with (EXAMPLE / "roster.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    return [{"name": r["name"], "code": r["code"]} for r in rows[:count]]


def plain_signer(p12: bytes, passphrase: str, rendered: RenderedLetter) -> Callable[[], bytes]:
    """Signing as pyHanko's documentation shows it: SimpleSigner.load_pkcs12_data, no
    bytes_reserved (a dry run sizes the signature first)."""
    import io

    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import NoOpStampStyle

    signer = signers.SimpleSigner.load_pkcs12_data(p12, [], passphrase.encode("utf-8"))
    box = tuple(round(v) for v in rendered.signature.rect)

    def sign() -> bytes:
        meta = signers.PdfSignatureMetadata(
            field_name="Signature1", subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256")
        spec = fields.SigFieldSpec("Signature1", on_page=rendered.signature.page, box=box)
        out = io.BytesIO()
        signers.PdfSigner(meta, signer=signer, stamp_style=NoOpStampStyle(),
                          new_field_spec=spec).sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(rendered.pdf), strict=False), output=out)
        return out.getvalue()

    return sign


def receipt_rows(pki: TestPKI, signed: bytes, rendered: RenderedLetter,
                 runs: int) -> list[tuple[str, float, str]]:
    """Checking on arrival (saraban.services.signatures.verdicts_of: the trust store from a
    folder, cached; the size bound; pyHanko), and the annotated letter with and without a
    signed original to carry."""
    from datetime import datetime, timedelta, timezone

    from letters.annotation import NoteBlock, ReceiptStamp, annotate
    from saraban.services.signatures import verdicts_of
    from saraban.settings import Settings

    rows: list[tuple[str, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(env="test", trust_dir=pki.write_trust_store(Path(tmp) / "ca"))
        enclosure = next(iter(sorted((EXAMPLE / "enclosures").glob("*.pdf"))), None)
        unsigned = [("the unsigned letter", rendered.pdf)]
        if enclosure is not None:
            unsigned.append((f"an unsigned {enclosure.stat().st_size // 1024} KB enclosure",
                             enclosure.read_bytes()))
        for name, pdf in unsigned:
            rows.append((f"check on arrival: {name}",
                         median_ms(lambda pdf=pdf: verdicts_of(pdf, settings), runs),
                         "no signature: the reader and the form only"))
        rows.append(("check on arrival: the signed letter",
                     median_ms(lambda: verdicts_of(signed, settings), runs),
                     "trust store cached; one pyHanko validation"))
    stamp = ReceiptStamp("วิทยาลัยสารพัดช่างลำปาง", "12/2569",
                         datetime(2026, 4, 20, 10, 35, tzinfo=timezone(timedelta(hours=7))))
    notes = [NoteBlock(["เรียน ผู้อำนวยการ", "/ เพื่อโปรดทราบ", "(นางสาวอัญชลี ธรรมศรีใจ)",
                        "หัวหน้างานบริหารงานทั่วไป", "๒๐ เม.ย. ๖๙"], signature=3)]
    plain = median_ms(lambda: annotate(rendered.pdf, stamp, notes), max(3, runs // 3))
    carried = median_ms(lambda: annotate(signed, stamp, notes), max(3, runs // 3))
    rows.append(("annotated letter, unsigned original", plain, ""))
    rows.append(("annotated letter, signed original", carried,
                 f"+{carried - plain:.1f} ms: note sheet, fields dropped, original attached"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--colleges", type=int, default=40)
    args = parser.parse_args()
    console = Console(width=120)

    pki = make_pki()
    p12 = pki.p12("signer")
    source = load_letter_file(EXAMPLE / "letter.toml")
    shared = replace(source.merge(), signed_on=SIGNED_ON)
    rendered = render_letter_layout(shared)
    key = load_signing_key(p12, pki.passphrase)
    signed = sign_letter(rendered, key)
    tsa = TimestampServer(pki)
    rows: list[tuple[str, float, str]] = []
    try:
        rows.append(("load the PKCS#12 (PBKDF2, 50,000 rounds)",
                     median_ms(lambda: load_signing_key(p12, pki.passphrase), args.runs),
                     "once per key"))
        rows.append(("render the seed letter (2 pages)",
                     median_ms(lambda: render_letter_layout(shared), args.runs), ""))
        rows.append(("sign, B-B", median_ms(lambda: sign_letter(rendered, key), args.runs),
                     f"{len(rendered.pdf):,} → {len(signed):,} bytes"))
        rows.append(("for comparison: pyHanko's SimpleSigner, its own size estimate",
                     median_ms(plain_signer(p12, pki.passphrase, rendered), args.runs),
                     "the key parsed and the CMS made twice"))
        rows.append(("sign, B-B, checking the chain first (trust_roots)",
                     median_ms(lambda: sign_letter(rendered, key, trust_roots=pki.roots),
                               args.runs), ""))
        rows.append(("sign, B-T (timestamp over HTTP, 127.0.0.1)",
                     median_ms(lambda: sign_letter(rendered, key, timestamper_url=tsa.url),
                               args.runs), "plus a real TSA's round trip"))
        rows.append(("verify (pyHanko), valid",
                     median_ms(lambda: verify_pdf(signed, trust_roots=pki.roots), args.runs),
                     ""))
        stranger = sign_letter(rendered, load_signing_key(pki.p12("stranger"), pki.passphrase))
        rows.append(("verify (pyHanko), untrusted",
                     median_ms(lambda: verify_pdf(stranger, trust_roots=pki.roots), args.runs),
                     ""))
        if shutil.which("pdfsig") and shutil.which("certutil"):
            with tempfile.TemporaryDirectory() as tmp:
                db = f"sql:{tmp}"
                (Path(tmp) / "root.pem").write_bytes(pki.root.pem)
                subprocess.run(["certutil", "-N", "-d", db, "--empty-password"], check=True)
                subprocess.run(["certutil", "-A", "-d", db, "-n", "root", "-t", ",C,", "-i",
                                f"{tmp}/root.pem"], check=True)
                path = Path(tmp) / "signed.pdf"
                path.write_bytes(signed)
                rows.append(("verify (pdfsig subprocess)", median_ms(
                    lambda: subprocess.run(["pdfsig", "-nssdir", db, str(path)],
                                           capture_output=True, check=True), args.runs), ""))

        rows += receipt_rows(pki, signed, rendered, args.runs)

        roster = colleges(args.colleges)
        n = len(roster)

        def render_each() -> None:
            for college in roster:
                letter = replace(source.merge({"college": college}), signed_on=SIGNED_ON)
                render_letter_layout(letter)

        def render_and_sign_each() -> None:
            for college in roster:
                letter = replace(source.merge({"college": college}), signed_on=SIGNED_ON)
                sign_letter(render_letter_layout(letter), key)

        def shared_once() -> None:
            sign_letter(render_letter_layout(shared), key)

        runs = max(3, args.runs // 10)
        rendered_each = median_ms(render_each, runs) / n
        signed_each = median_ms(render_and_sign_each, runs) / n
        rows.append((f"per college: merge + render ({n} colleges)", rendered_each, "per college"))
        rows.append((f"per college: merge + render + sign ({n} colleges)", signed_each,
                     f"signing adds {signed_each - rendered_each:.1f} ms a college"))
        once = median_ms(shared_once, args.runs)
        rows.append(("shared letter: render + sign once", once,
                     f"{once / n:.2f} ms a college over {n}"))
    finally:
        tsa.close()

    table = Table(title="Signing letters (median ms; "
                        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    table.add_column("step")
    table.add_column("ms", justify="right")
    table.add_column("note")
    for step, ms, note in rows:
        table.add_row(step, f"{ms:.1f}", note)
    console.print(table)


if __name__ == "__main__":
    main()
