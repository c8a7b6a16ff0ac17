"""Composing in the web with JavaScript off (the pages' forms, as a browser posts them): the
seed circular with every part, previewed, saved, sent up and signed; the letter it makes is
the letter file's; a memo composed in the web prints in the regulation's memo layout."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pdfplumber
import pytest
from PIL import ImageChops, ImageStat
from reportlab.lib.units import mm
from sqlmodel import Session, select

from letters.fonts import load_family
from letters.letter import render_letter
from letters.letterfile import load_letter_file
from saraban.services import drafts, organisations
from saraban.storage.engine import session_scope
from saraban.storage.models import Account, Draft
from tests.support.browser import Site, Visitor, option_value
from tests.support.drafts import ON_BEHALF_OF, SEED, SEED_ENCLOSURE, SIGNER, seed_qr, seed_raw
from tests.support.pdftext import page_texts, render_page
from tests.support.service import add_ovec_user

FAMILY = load_family()


def _ovec_people(site: Site) -> tuple[Visitor, Visitor]:
    clerk = site.ovec()
    add_ovec_user(site.engine, site.settings, "wiwat")
    with session_scope(site.engine, immediate=True) as s:
        organisations.set_ovec_member(
            s, username="wiwat", role="deputy", position=SIGNER["position"], by="test"
        )
        row = s.exec(select(Account).where(Account.username == "wiwat")).one()
        row.name = SIGNER["name"]  # as `saraban user add wiwat --name ...` would have it
        s.add(row)
    signer = site.visitor()
    assert signer.login("wiwat", "Tamarind-Lampang-2569").url.path == "/ovec"
    return clerk, signer


def _seed_fields(html: str) -> dict[str, object]:
    raw = seed_raw()
    qr = seed_qr()
    return {
        "kind": "circular",
        "urgency": "",
        "secrecy": "",
        "date_day": "10",
        "date_month": "4",
        "date_year": "2569",
        "subject": raw["subject"],
        "to": raw["to"],
        "references": "",
        "body": raw["body"],
        "thai_digits": "1",
        "unit": raw["sender"]["unit"].strip(),
        "phone": raw["sender"]["phone"],
        "signer_id": option_value(html, "signer_id", SIGNER["name"]),
        "acting": "ปฏิบัติราชการแทน",
        "on_behalf_of": ON_BEHALF_OF,
        "qr_title": qr["title"],
        "qr_rows": "\n".join(f"{e['url']} | {e['caption']}" for e in qr["entry"]),
    }


def _enclosure_rows(html: str) -> dict[str, list[str]]:
    def values(name: str) -> list[str]:
        return re.findall(rf'name="{name}" value="([^"]*)"', html)

    return {k: values(k) for k in ("enc_title", "enc_count", "enc_file", "enc_make")}


def test_the_seed_circular_composed_previewed_sent_up_and_signed(site: Site) -> None:
    clerk, signer = _ovec_people(site)
    form = clerk.get("/drafts/new")
    assert form.status_code == 200
    assert "script-src 'self'" in form.headers["content-security-policy"]
    assert 'src="/static/compose.js"' in form.text
    fields = _seed_fields(form.text)
    raw = seed_raw()
    # The three enclosures, one at a time, as the form adds them.
    rows: dict[str, list[str]] = {}
    for item in raw["enclosures"]:
        add = {**fields, **rows, "action": "add_enclosure", "new_title": item["title"]}
        add["new_count"] = item["count"]
        files = None
        if "file" in item:
            add["new_kind"] = "file"
            files = {"new_file": ("stand-in.pdf", SEED_ENCLOSURE.read_bytes(), "application/pdf")}
        else:
            add["new_kind"] = item["make"]
        page = clerk.submit("/drafts/new", add, files=files)
        assert page.status_code == 200, page.text
        rows = _enclosure_rows(page.text)
    assert rows["enc_make"] == ["", "qr-sheet", "credential-slip"]
    # The preview without JavaScript: the letter's pages as images.
    shown = clerk.submit("/drafts/new", {**fields, **rows, "action": "preview"})
    assert shown.status_code == 200
    images = re.findall(r'src="(/drafts/preview/[0-9a-f]{64}/\d+\.png)"', shown.text)
    assert len(images) == 2
    png = clerk.get(images[0])
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    # Another organisation's visitor does not see the preview.
    assert site.college().get(images[0]).status_code == 404
    saved = clerk.submit("/drafts/new", {**fields, **rows, "action": "save"})
    assert saved.status_code == 200 and re.fullmatch(r"/drafts/\d+", saved.url.path)
    assert "บันทึกร่างแล้ว" in saved.text
    draft_id = int(saved.url.path.rsplit("/", 1)[1])

    # The letter it makes is the letter file's (the number comes at signing: 5553 in the seed).
    with Session(site.engine) as s:
        draft = s.get(Draft, draft_id)
        assert draft is not None and draft.reference is None
        org = organisations.ovec(s)
        text = drafts.version_row(s, draft).letter_toml
    web = drafts.parse(text, org, site.settings).merge()
    cli = load_letter_file(SEED / "letter.toml").merge()
    one, other = render_letter(replace(web, number="5553")), render_letter(cli)
    assert page_texts(one, "pdfium") == page_texts(other, "pdfium")
    for index in range(2):
        a, b = render_page(one, index), render_page(other, index)
        diff = ImageChops.difference(a, b)
        assert ImageStat.Stat(diff).mean[0] < 1.0

    # Up for signature, and signed: the ว number from the dispatch register.
    signer_id = fields["signer_id"]
    up = clerk.submit(
        f"/drafts/{draft_id}/submit", {"to_id": signer_id, "proposal": "เพื่อโปรดพิจารณาลงนาม"}
    )
    assert "เสนอแล้ว" in up.text
    assert "ลงนาม</button>" not in clerk.get(f"/drafts/{draft_id}").text
    page = signer.get(f"/drafts/{draft_id}")
    assert "ลงนาม</button>" in page.text
    signed = signer.submit(f"/drafts/{draft_id}/approve")
    assert "ลงนามแล้ว: เลขที่หนังสือ ศธ 0603/ว 1" in signed.text
    letter = signer.get(f"/api/drafts/{draft_id}/letter.pdf").content
    assert "ที่ ศธ ๐๖๐๓/ว ๑" in page_texts(letter, "pypdf")[0]


def _memo_rows(pdf: bytes) -> list[list[dict]]:
    with pdfplumber.open(io.BytesIO(pdf)) as doc:
        chars = list(doc.pages[0].chars)
    rows: dict[float, list[dict]] = {}
    for c in chars:
        rows.setdefault(round(c["matrix"][5], 1), []).append(c)
    return [sorted(rows[y], key=lambda c: c["x0"]) for y in sorted(rows, reverse=True)]


def _find(pdf: bytes, text: str) -> list[dict]:
    for row in _memo_rows(pdf):
        for i in range(len(row)):
            if "".join(c["text"] for c in row[i:]).startswith(text):
                return row[i : i + len(text)]
    raise AssertionError(f"{text!r} not on page 1")


def test_a_memo_composed_in_the_web_prints_in_the_memo_layout(site: Site) -> None:
    college = site.college()
    assert college.submit("/organisation", {"agency_code": "ศธ 0603.21"}).status_code == 200
    people = site.staff(college, "clerk", "acting")
    clerk = people["clerk"][1]
    form = clerk.get("/drafts/new")
    fields = {
        "kind": "memo",
        "date_day": "20",
        "date_month": "4",
        "date_year": "2569",
        "subject": "การนำเข้าข้อมูลในระบบ e-MVS",
        "to": "ผู้อำนวยการวิทยาลัยสารพัดช่างลำปาง",
        "body": "ด้วยสำนักงานคณะกรรมการการอาชีวศึกษาแจ้งให้นำเข้าข้อมูล\n\nจึงเรียนมาเพื่อโปรดพิจารณา",
        "thai_digits": "1",
        "unit": "งานบริหารงานทั่วไป ฝ่ายบริหารทรัพยากร",
        "phone": "0 5422 0000 ต่อ 101",
        "signer_id": option_value(form.text, "signer_id", "นางสาวอัญชลี"),
        "acting": "",
        "action": "save",
    }
    saved = clerk.submit("/drafts/new", fields)
    assert saved.status_code == 200 and re.fullmatch(r"/drafts/\d+", saved.url.path), saved.text
    pdf = clerk.get(f"/api/drafts{saved.url.path.removeprefix('/drafts')}/letter.pdf").content
    heading = _find(pdf, "บันทึกข้อความ")
    assert all("Bold" in c["fontname"] for c in heading)
    assert heading[0]["size"] == pytest.approx(FAMILY.size(29), abs=0.01)
    centre = (heading[0]["x0"] + heading[-1]["x1"]) / 2 / mm
    assert abs(centre - 105) <= 1
    for label in ("ส่วนราชการ", "ที่", "เรื่อง"):
        chars = _find(pdf, label + " ")[: len(label)]
        assert chars[0]["size"] == pytest.approx(FAMILY.size(20), abs=0.01)
        assert all("Bold" in c["fontname"] for c in chars)
        assert abs(chars[0]["x0"] / mm - 30) <= 0.5
    number, day = _find(pdf, "ที่ ศธ ๐๖๐๓.๒๑/"), _find(pdf, "วันที่ ๒๐ เมษายน ๒๕๖๙")
    assert number[0]["matrix"][5] == pytest.approx(day[0]["matrix"][5], abs=0.01)
    assert abs(day[0]["x0"] / mm - 105) <= 0.5
    text = page_texts(pdf, "pypdf")[0]
    assert "ขอแสดงความนับถือ" not in text
    assert "ส่วนราชการ งานบริหารงานทั่วไป ฝ่ายบริหารทรัพยากร" in text
