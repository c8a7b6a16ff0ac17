"""Direct delivery through the pages, JavaScript off: OVEC's signed letter without the slip is
sent from the draft page's form (a roster naming a college saraban does not know shows the row
and sends nothing); the draft page then lists each college and its receipt number; each
college finds the letter in its inbox (หนังสือเข้า), opens it with its signature check, and
may answer it; another college sees none of it. A college's draft page offers OVEC."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from saraban.storage.models import Draft, OrgReceipt
from tests.support.browser import Site, Visitor, option_value
from tests.support.drafts import SEED, SIGNER
from tests.support.service import SEED_STAFF
from tests.web.test_pages_compose import _ovec_people

SUBJECT = "ขอเชิญประชุมผู้บริหารสถานศึกษา ประจำปี"


def _fields(html: str, signer: str, **changes: str) -> dict[str, object]:
    return {
        "kind": "circular",
        "urgency": "",
        "secrecy": "",
        "date_day": "1",
        "date_month": "5",
        "date_year": "2569",
        "subject": SUBJECT,
        "to": "ผู้อำนวยการสถานศึกษา",
        "references": "",
        "body": "ด้วยสำนักงานคณะกรรมการการอาชีวศึกษาจะจัดประชุมผู้บริหารสถานศึกษา",
        "thai_digits": "1",
        "unit": "สำนักนโยบายและแผนการอาชีวศึกษา",
        "phone": "0 2026 5555",
        "signer_id": option_value(html, "signer_id", signer),
        "acting": "",
        "on_behalf_of": "",
        "qr_title": "",
        "qr_rows": "",
        **changes,
    }


def _signed(clerk: Visitor, signer: Visitor, signer_name: str) -> int:
    fields = _fields(clerk.get("/drafts/new").text, signer_name)
    saved = clerk.submit("/drafts/new", {**fields, "action": "save"})
    assert saved.status_code == 200 and re.fullmatch(r"/drafts/\d+", saved.url.path), saved.text
    draft_id = int(saved.url.path.rsplit("/", 1)[1])
    clerk.submit(f"/drafts/{draft_id}/submit", {"to_id": fields["signer_id"]})
    signer.get(f"/drafts/{draft_id}")
    signed = signer.submit(f"/drafts/{draft_id}/approve", {})
    assert "ลงนามแล้ว" in signed.text, signed.text
    return draft_id


def test_ovec_delivers_from_the_draft_page_and_colleges_find_it_in_their_inbox(
    site: Site,
) -> None:
    clerk, signer = _ovec_people(site)
    draft_id = _signed(clerk, signer, SIGNER["name"])
    page = clerk.get(f"/drafts/{draft_id}")
    assert "เข้ากล่องหนังสือเข้าของสถานศึกษาที่เลือกทันที" in page.text
    assert 'name="due_day"' not in page.text  # tracking dates are a mailout's
    for choice in ("colleges", "province", "all"):
        assert f'name="to" value="{choice}"' in page.text
    codes = list(site.run.codes)

    # A roster with a college saraban does not know: its row is shown, nothing is sent.
    lines = (SEED / "roster.csv").read_text(encoding="utf-8").splitlines()
    known = [line for line in lines[1:] if line.split(",")[0] in codes]
    roster = "\n".join([lines[0], known[0], lines[-1]]) + "\n"
    refused = clerk.submit(
        f"/drafts/{draft_id}/send",
        {"to": "colleges"},
        files={"roster": ("roster.csv", roster.encode("utf-8"), "text/csv")},
    )
    assert refused.status_code == 422
    assert "ยังไม่ได้ส่งถึงผู้ใด" in refused.text
    assert re.search(r"<td>3</td><td>code</td><td class=\"mono\">" + lines[-1][:10], refused.text)
    with Session(site.engine) as s:
        assert s.exec(select(OrgReceipt)).all() == []

    sent = clerk.submit(f"/drafts/{draft_id}/send", {"to": "colleges", "codes": codes})
    assert sent.status_code == 200 and sent.url.path == f"/drafts/{draft_id}"
    assert "เข้ากล่องหนังสือของ 3 แห่งแล้ว" in sent.text
    with Session(site.engine) as s:
        rows = s.exec(select(OrgReceipt)).all()
        draft = s.get(Draft, draft_id)
        assert draft is not None and draft.status == "sent"
    table = re.search(r'<table class="table deliveries">.*?</table>', sent.text, re.S)
    assert table is not None
    for code in codes:
        assert code in table.group(0)
    assert len(re.findall(r"<strong>\d+/25\d\d</strong>", table.group(0))) == 3
    assert f'action="/drafts/{draft_id}/send"' not in sent.text  # sent: no form

    lampang = site.college(codes[0])
    inbox = lampang.get("/inbox")
    assert SUBJECT in inbox.text
    link = re.search(r'href="(/received/(\d+))"', inbox.text)
    assert link is not None
    item_id = int(link.group(2))
    mine = next(r for r in rows if r.id == item_id)
    shown = lampang.get(link.group(1))
    assert shown.status_code == 200
    assert f"{mine.number}/{mine.year_be}" in shown.text
    assert '<a href="/inbox">หนังสือเข้า</a>' in shown.text
    assert "ลายมือชื่อดิจิทัล" in shown.text  # the signature card
    assert f'href="/drafts/new?reply_to_received={item_id}"' in shown.text
    pdf = lampang.get(f"/received/{item_id}/letter.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    reply = lampang.get(f"/drafts/new?reply_to_received={item_id}")
    assert reply.status_code == 200 and "ตอบหนังสือ" in reply.text
    assert f'name="reply_to_received" value="{item_id}"' in reply.text

    other = site.college(codes[1])
    assert other.get(f"/received/{item_id}").status_code == 404
    assert other.get(f"/received/{item_id}/letter.pdf").status_code == 404
    their = other.get("/inbox").text
    assert f'href="/received/{item_id}"' not in their
    assert SUBJECT in their  # its own copy, under its own number


def test_a_college_draft_page_offers_ovec(site: Site) -> None:
    lampang = site.college()
    lampang.get("/organisation")
    lampang.submit("/organisation", {"agency_code": "ศธ 0656.12", "address": "", "short_name": ""})
    people = site.staff(lampang, "clerk", "acting")
    (_, clerk), (_, acting) = people["clerk"], people["acting"]
    fields = _fields(
        clerk.get("/drafts/new").text,
        SEED_STAFF["acting"]["name"],
        kind="external",
        to="เลขาธิการคณะกรรมการการอาชีวศึกษา",
        body="วิทยาลัยขอรายงานผลการดำเนินงาน",
        unit="งานบริหารงานทั่วไป",
    )
    saved = clerk.submit("/drafts/new", {**fields, "action": "save"})
    draft_id = int(saved.url.path.rsplit("/", 1)[1])
    clerk.submit(f"/drafts/{draft_id}/submit", {"to_id": fields["signer_id"]})
    acting.get(f"/drafts/{draft_id}")
    assert "ลงนามแล้ว" in acting.submit(f"/drafts/{draft_id}/approve", {}).text
    page = clerk.get(f"/drafts/{draft_id}")
    assert 'name="to" value="ovec"' in page.text
    assert 'name="codes"' not in page.text
    sent = clerk.submit(f"/drafts/{draft_id}/send", {"to": "ovec"})
    assert sent.url.path == f"/drafts/{draft_id}", sent.text
    assert re.search(r"ถึงสำนักงานคณะกรรมการการอาชีวศึกษาแล้ว เลขรับ \d+/25\d\d", sent.text)
    ovec = site.ovec()
    listed = ovec.get("/received")
    assert "วิทยาลัย" in listed.text and SUBJECT in listed.text
