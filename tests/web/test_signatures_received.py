"""Received letters' digital signatures, as a college sees them: each kind of signed PDF uploaded
through the receive form gets the same verdict from pyHanko (saraban's), from poppler's pdfsig
(independent, NSS) and on the letter page, the register and the API, in plain Thai, never a
500. The original downloads byte for byte and still validates; the annotated letter carries it.

- valid: pyHanko valid; pdfsig Signature is Valid, Certificate is Trusted; the page
  ลายมือชื่อดิจิทัลถูกต้อง
- a byte edited after signing: tampered; Digest Mismatch; เอกสารถูกแก้ไขหลังลงนาม
- a certificate under another root: untrusted; Valid, Certificate issuer isn't Trusted;
  ใบรับรองไม่อยู่ในรายการที่เชื่อถือ
- an expired certificate: expired; Valid, Certificate has Expired; ใบรับรองหมดอายุ
- content added after signing: modified; Not total document signed, Valid;
  เอกสารถูกแก้ไขหลังลงนาม
- a signature that cannot be parsed: unreadable; Unknown Validation Failure;
  อ่านลายมือชื่อดิจิทัลไม่ได้ หรือไฟล์เสียหาย
- unsigned: no verdict from either; ไม่มีลายมือชื่อดิจิทัล
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from letters.letter import RenderedLetter, render_letter_layout
from letters.letterfile import load_letter_file
from letters.provenance import attachment
from letters.signing import SigningKey, load_signing_key, sign_letter
from letters.verification import verify_pdf
from saraban.services import audit
from tests.support.browser import Site, Visitor
from tests.support.pdfsig import pdfsig
from tests.support.pki import TestPKI, sign_unchecked

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "examples" / "emvs-2569" / "letter.toml"
FIELDS = {
    "sender": "สำนักงานคณะกรรมการการอาชีวศึกษา",
    "addressee": "ผู้อำนวยการ",
    "subject": "ขอความร่วมมือติดตามการดำเนินงาน",
    "channel": "email",
}


@dataclass(frozen=True)
class Case:
    pdf: bytes
    pyhanko: str | None  # None: no signature
    pdfsig: dict[str, str]  # lines pdfsig must print (empty with pyhanko None: no signature)
    page: str  # the Thai verdict on the letter page


@pytest.fixture(scope="module")
def rendered() -> RenderedLetter:
    return render_letter_layout(
        replace(load_letter_file(SEED).merge(), signed_on=date(2026, 4, 10))
    )


@pytest.fixture(scope="module")
def cases(rendered: RenderedLetter, signing_key: SigningKey, pki: TestPKI) -> dict[str, Case]:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    good = sign_letter(rendered, signing_key)
    at = good.index(b"/Creator (saraban)") + len(b"/Creator (s")
    box = rendered.signature
    widget = tuple(round(v) for v in box.rect)
    writer = IncrementalPdfFileWriter(io.BytesIO(good), strict=False)
    writer.add_stream_to_page(0, writer.add_object(
        generic.StreamObject(stream_data=b"q 1 0 0 rg 100 100 200 50 re f Q")))
    changed = io.BytesIO()
    writer.write(changed)
    valid = "Signature is Valid."
    return {
        "valid": Case(good, "valid", {"Signature Validation": valid,
                                      "Certificate Validation": "Certificate is Trusted."},
                      "ลายมือชื่อดิจิทัลถูกต้อง"),
        "tampered": Case(good[:at] + b"A" + good[at + 1:], "tampered",
                         {"Signature Validation": "Digest Mismatch."}, "เอกสารถูกแก้ไขหลังลงนาม"),
        "other-root": Case(
            sign_letter(rendered, load_signing_key(pki.p12("stranger"), pki.passphrase)),
            "untrusted",
            {"Signature Validation": valid,
             "Certificate Validation": "Certificate issuer isn't Trusted."},
            "ใบรับรองไม่อยู่ในรายการที่เชื่อถือ"),
        "expired": Case(
            sign_unchecked(rendered.pdf, pki.p12("expired"), pki.passphrase, page=box.page,
                           box=widget),  # type: ignore[arg-type]
            "expired",
            {"Signature Validation": valid, "Certificate Validation": "Certificate has Expired"},
            "ใบรับรองหมดอายุ"),
        "modified": Case(changed.getvalue(), "modified",
                         {"Signature Validation": valid, "Not total document signed": ""},
                         "เอกสารถูกแก้ไขหลังลงนาม"),
        "broken": Case(re.sub(rb"/Contents <([0-9A-Fa-f]{40})", b"/Contents <" + b"AB" * 20, good),
                       "unreadable",
                       {"Signature Validation": "Unknown Validation Failure."},
                       "อ่านลายมือชื่อดิจิทัลไม่ได้ หรือไฟล์เสียหาย"),
        "unsigned": Case(rendered.pdf, None, {}, "ไม่มีลายมือชื่อดิจิทัล"),
    }


def upload(college: Visitor, pdf: bytes, name: str = "letter.pdf") -> tuple[int, str]:
    """The letter received by e-mail, registered through the form: (receipt id, its page)."""
    college.get("/receipts/new")
    page = college.submit("/receipts", FIELDS, files={"file": (name, pdf, "application/pdf")})
    assert page.status_code == 200, page.text
    found = re.fullmatch(r"/receipts/(\d+)", page.url.path)
    assert found, page.url
    return int(found.group(1)), page.text


def shown(page_html: str) -> str:
    """The page's text, tags dropped and spaces squeezed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page_html)).split())


@pytest.mark.parametrize(
    "name", ["valid", "tampered", "other-root", "expired", "modified", "broken", "unsigned"]
)
def test_each_received_pdf_gets_the_same_verdict_from_both_validators_and_the_page(
    trusting_site: Site, cases: dict[str, Case], name: str, pki: TestPKI, nss_db: str,
    tmp_path: Path,
) -> None:
    case = cases[name]
    college = trusting_site.college()
    receipt, page = upload(college, case.pdf, f"{name}.pdf")

    # the original as the college downloads it: byte for byte, in both validators
    original = college.get(f"/receipts/{receipt}/letter.pdf").content
    assert original == case.pdf
    verdicts = verify_pdf(original, trust_roots=pki.roots)
    assert [v.status for v in verdicts] == ([case.pyhanko] if case.pyhanko else [])
    reports = pdfsig(original, nss_db, tmp_path)
    assert len(reports) == len(verdicts)
    for line, value in case.pdfsig.items():
        assert reports[0][line] == value, (line, reports[0])

    # the letter page, plainly
    text = shown(page)
    assert case.page in text
    status = case.pyhanko or "unsigned"
    assert f'data-signature-status="{status}"' in page
    if case.pyhanko not in (None, "unreadable"):
        signer = verdicts[0].signer_name
        assert signer in text and verdicts[0].issuer in text
    if name == "valid":
        assert "ลายมือชื่อครอบคลุมทั้งไฟล์" in text
        assert "เชื่อถือได้: ใบรับรองออกโดยผู้ออกใบรับรองที่อยู่ในรายการที่เชื่อถือ" in text
        assert "ตามที่ผู้ลงนามระบุ" in text and "ไฟล์ต้นฉบับ (PDF)" in text
    if name == "modified":
        assert "มีการเพิ่มหรือแก้ไขเนื้อหาหลังลงนาม" in text
    if name == "tampered":
        assert "ไฟล์ถูกแก้ไขหลังลงนาม: ข้อมูลไม่ตรงกับที่ลงนามไว้" in text
        assert "ไม่ได้ตรวจ เพราะไฟล์ไม่ตรงกับที่ลงนาม" in text
    if name == "expired":
        assert "ไม่เชื่อถือ: ใบรับรองหมดอายุ" in text
    if name == "other-root":
        assert "ไม่เชื่อถือ: ใบรับรองไม่ได้ออกโดยผู้ออกใบรับรองที่อยู่ในรายการที่เชื่อถือ" in text

    # the API: the check as stored, and the register's column
    check = college.get(f"/api/receipts/{receipt}/signatures").json()
    assert check["status"] == status and check["recorded"] and check["trust_store"]
    assert [s["status"] for s in check["signatures"]] == [v.status for v in verdicts]
    for mine, theirs in zip(check["signatures"], verdicts, strict=True):
        assert mine["signer"] == theirs.signer and mine["issuer"] == theirs.issuer
        assert mine["intact"] == theirs.intact and mine["trusted"] == theirs.trusted
        assert mine["covers_whole_file"] == theirs.covers_whole_file
    (entry,) = [e for e in college.get("/api/receipts").json() if e["id"] == receipt]
    assert entry["signature"]["status"] == status
    assert entry["signature"]["signatures"] == len(verdicts)

    # the inbox: a signed letter's verdict under its subject
    inbox = college.get("/inbox").text
    if case.pyhanko:
        assert f'data-signature-status="{status}"' in inbox
        assert case.page in shown(inbox)


def test_the_verdict_is_in_the_audit_log(trusting_site: Site, cases: dict[str, Case]) -> None:
    college = trusting_site.college()
    receipt, _ = upload(college, cases["tampered"].pdf)
    with trusting_site.engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT subject, record FROM audit_event WHERE event = 'signature_check'"
        )).all()
    (subject, record), = rows
    assert subject == f"receipt:{receipt}"
    assert '"status":"tampered"' in record.replace(" ", "")
    assert "นายวิวัฒน์ ปัญจมะวัต" in record
    assert audit.verify(trusting_site.engine).ok


def test_the_annotated_letter_of_a_signed_letter_carries_the_original(
    trusting_site: Site, cases: dict[str, Case], pki: TestPKI, nss_db: str, tmp_path: Path
) -> None:
    college = trusting_site.college()
    receipt, _ = upload(college, cases["valid"].pdf)
    annotated = college.get(f"/receipts/{receipt}/annotated.pdf")
    assert annotated.status_code == 200
    carried = attachment(annotated.content, f"receipt-1-{_year(college, receipt)}.pdf")
    assert carried == cases["valid"].pdf
    assert verify_pdf(carried, trust_roots=pki.roots)[0].status == "valid"
    (report,) = pdfsig(carried, nss_db, tmp_path)
    assert report["Certificate Validation"] == "Certificate is Trusted."
    assert verify_pdf(annotated.content, trust_roots=pki.roots) == []  # no broken signature
    # and the original is still there as it came, still valid
    again = college.get(f"/receipts/{receipt}/letter.pdf").content
    assert again == cases["valid"].pdf


def _year(college: Visitor, receipt: int) -> int:
    return int(college.get(f"/api/receipts/{receipt}").json()["receipt"]["year_be"])


def test_without_a_trust_store_every_signature_says_so(site: Site,
                                                       cases: dict[str, Case]) -> None:
    college = site.college()
    receipt, page = upload(college, cases["valid"].pdf)
    text = shown(page)
    assert "ใบรับรองไม่อยู่ในรายการที่เชื่อถือ: ยังไม่ได้กำหนดรายการใบรับรองที่เชื่อถือ" in text
    assert "ลายมือชื่อดิจิทัลถูกต้อง" not in text
    check = college.get(f"/api/receipts/{receipt}/signatures").json()
    assert check["status"] == "untrusted" and not check["trust_store"]
    assert check["signatures"][0]["trust_problem"] == "no_trust_store"
    assert check["signatures"][0]["intact"] is True


def test_a_delivered_letter_is_checked_when_it_is_registered(trusting_site: Site) -> None:
    college = trusting_site.college()
    with trusting_site.engine.connect() as conn:
        item = conn.execute(text(
            "SELECT id FROM mailout_item WHERE college_code = :c"), {"c": college.code}
        ).scalar_one()
    before = college.get(f"/inbox/{item}")
    assert "ไม่มีลายมือชื่อดิจิทัล" in shown(before.text)
    assert "(ตรวจขณะเปิดหน้านี้)" in shown(before.text)  # not stored before it is registered
    path = college.receive(item)
    after = shown(college.get(path).text)
    assert "ไม่มีลายมือชื่อดิจิทัล" in after and "(ตรวจขณะเปิดหน้านี้)" not in after
    receipt = int(path.rsplit("/", 1)[1])
    check = college.get(f"/api/receipts/{receipt}/signatures").json()
    assert check["status"] == "unsigned" and check["recorded"] and check["signatures"] == []
    inbox_check = college.get(f"/api/inbox/{item}/signatures").json()
    assert inbox_check["recorded"] and inbox_check["status"] == "unsigned"
