"""The college's receipt register (ทะเบียนหนังสือรับ) is one: the letters it registered from
OVEC's mailouts or on paper (``receipt`` rows) and those delivered directly through saraban
(``org_receipt`` rows, registered on arrival from the same numbers) are listed together in
number order, without gaps, each naming its own entry; paging and the year filter hold across
both; another college sees none of them. Over the JSON API and on the register page."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from saraban.domain.principal import Principal
from saraban.domain.vocabulary import SessionKind, year_be
from saraban.services import receipts
from saraban.storage.models import OrgReceipt
from saraban.web.pages import inbox as inbox_pages
from tests.support.browser import Site
from tests.support.drafts import SIGNER
from tests.support.service import LAMPANG, World, tiny_pdf
from tests.web.test_pages_compose import _ovec_people
from tests.web.test_pages_delivery import SUBJECT as PAGE_SUBJECT
from tests.web.test_pages_delivery import _signed
from tests.web.test_service_delivery import SUBJECT, delivered, ovec_letter
from tests.web.test_service_sending import ovec_signer


def _number(entry: dict[str, Any]) -> int:
    return int(entry["receipt_number"].split("/")[0])


def test_one_register_for_mailout_paper_and_direct_letters(world: World) -> None:
    clerk, signer = ovec_signer(world)
    codes = list(world.run.codes)
    lampang = world.college(LAMPANG, staff=("clerk", "acting"))
    other_code = next(code for code in codes if code != LAMPANG)
    other = world.college(other_code)

    first, _ = ovec_letter(clerk, signer)
    clerk.ok("POST", f"/api/drafts/{first}/send", json={"codes": [LAMPANG]})  # 1
    mailout = lampang.account.ok(
        "POST", f"/api/inbox/{world.inbox_item(LAMPANG)}/receive", 201, json={}
    )  # 2
    second, second_reference = ovec_letter(clerk, signer)
    clerk.ok("POST", f"/api/drafts/{second}/send", json={"codes": [LAMPANG, other_code]})  # 3
    fields = {"sender": "ศาลากลางจังหวัดลำปาง", "subject": "ขอเชิญประชุม", "channel": "paper"}
    pdf = ("a.pdf", tiny_pdf("Lampang Provincial Office"), "application/pdf")
    paper = lampang.account.ok("POST", "/api/receipts", 201, data=fields, files={"file": pdf})  # 4

    direct: dict[int, OrgReceipt] = {}
    for draft in (first, second):
        for row in delivered(world, draft):
            direct[row.id or 0] = row
    mine = {r.id for r in direct.values() if r.draft_id in (first, second)}
    register = lampang.account.ok("GET", "/api/receipts")
    year = year_be()
    assert [e["receipt_number"] for e in register] == [f"{n}/{year}" for n in (4, 3, 2, 1)]
    assert [e["kind"] for e in register] == ["receipt", "org_receipt", "receipt", "org_receipt"]
    assert [e["channel"] for e in register] == ["paper", "direct", "mailout", "direct"]
    assert (register[0]["id"], register[2]["id"]) == (paper["id"], mailout["id"])
    for entry in register:
        if entry["kind"] == "receipt":  # its own entry, as before
            shown = lampang.account.ok("GET", f"/api/receipts/{entry['id']}")
            assert shown["receipt"]["receipt_number"] == entry["receipt_number"]
            continue
        row = direct[entry["id"]]
        assert row.organisation_id != 0 and entry["id"] in mine
        assert entry["receipt_number"] == f"{row.number}/{row.year_be}"
        item = lampang.account.ok("GET", f"/api/received/{entry['id']}")
        assert item["item"]["receipt_number"] == entry["receipt_number"]
        assert (entry["subject"], entry["sender"]) == (SUBJECT, "สำนักงานคณะกรรมการการอาชีวศึกษา")
        assert entry["mailout_item_id"] is None and entry["route_status"] is None
        assert entry["signature"] is not None  # the check stored on arrival
        assert entry["received_by"] == LAMPANG
    assert register[1]["letter_number"] == second_reference

    # Paging across both kinds: any window is the slice of the whole.
    for limit in (1, 2, 3):
        for offset in range(6):
            window = lampang.account.ok(
                "GET", "/api/receipts", params={"limit": limit, "offset": offset}
            )
            wanted = register[offset : offset + limit]
            assert [(e["kind"], e["id"]) for e in window] == [(e["kind"], e["id"]) for e in wanted]
    assert lampang.account.ok("GET", "/api/receipts", params={"year": year}) == register
    who = Principal(
        kind=SessionKind.COLLEGE, session_id=0, username=LAMPANG, name="", college_code=LAMPANG
    )
    with Session(world.engine) as s:  # the inbox's list of receipt rows alone
        only = receipts.receipt_register(s, who=who, direct=False)
    assert [(e.kind, e.number) for e in only] == [("receipt", 4), ("receipt", 2)]
    assert lampang.account.ok("GET", "/api/receipts", params={"year": year - 1}) == []

    # Another college: its own copy of the second letter, under its own number 1; nothing else.
    theirs = other.account.ok("GET", "/api/receipts")
    assert [(e["kind"], _number(e)) for e in theirs] == [("org_receipt", 1)]
    assert theirs[0]["id"] not in {e["id"] for e in register if e["kind"] == "org_receipt"}
    assert other.account.get(f"/api/received/{register[1]['id']}").status_code == 404

    # A route on a letter delivered directly shows in the register.
    routed = register[3]["id"]
    step = {"order": 1, "kind": "decision", "staff_id": lampang.ids["acting"]}
    lampang.staff["clerk"].ok("POST", f"/api/received/{routed}/route", 201, json={"steps": [step]})
    again = lampang.account.ok("GET", "/api/receipts", params={"offset": 3})
    assert again[0]["id"] == routed and again[0]["route_status"] is not None


def test_the_register_page_lists_both_kinds_in_number_order(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk, signer = _ovec_people(site)
    codes = list(site.run.codes)
    other_code = next(code for code in codes if code != LAMPANG)
    first = _signed(clerk, signer, SIGNER["name"])
    sent = clerk.submit(f"/drafts/{first}/send", {"to": "colleges", "codes": [LAMPANG]})
    assert sent.status_code == 200, sent.text
    lampang = site.college(LAMPANG)
    letter_path = lampang.receive(site.item_id(LAMPANG))
    second = _signed(clerk, signer, SIGNER["name"])
    sent = clerk.submit(
        f"/drafts/{second}/send", {"to": "colleges", "codes": [LAMPANG, other_code]}
    )
    assert sent.status_code == 200, sent.text

    inbox = lampang.get("/inbox")
    assert 'href="/receipts"' in inbox.text
    page = lampang.get("/receipts")
    assert page.status_code == 200
    table = re.search(r'<table class="table" id="receipt-register">.*?</table>', page.text, re.S)
    assert table is not None
    rows = re.findall(
        r'<tr data-kind="(\w+)">\s*<td class="nowrap"><strong>(\d+)/(\d+)</strong></td>'
        r'.*?<a href="(/\w+/\d+)">(.*?)</a>',
        table.group(0),
        re.S,
    )
    year = str(year_be())
    assert [(kind, number, y) for kind, number, y, _, _ in rows] == [
        ("org_receipt", "3", year),
        ("receipt", "2", year),
        ("org_receipt", "1", year),
    ]
    links = [link for _, _, _, link, _ in rows]
    assert links[1] == letter_path
    assert re.fullmatch(r"/received/\d+", links[0]) and re.fullmatch(r"/received/\d+", links[2])
    assert rows[0][4] == PAGE_SUBJECT
    for link in links:
        assert lampang.get(link).status_code == 200
    assert "เก่ากว่า" not in page.text  # one page
    assert "ยังไม่มีหนังสือ" in lampang.get(f"/receipts?year={int(year) - 1}").text

    assert 'href="/receipts"' in lampang.get("/received").text  # the whole register

    # Two to a page: 3 and 2, then 1; the links go both ways and keep the year.
    monkeypatch.setattr(inbox_pages, "REGISTER_PAGE", 2)
    first_page = lampang.get(f"/receipts?year={year}").text
    assert re.findall(r"<strong>(\d+)/\d+</strong>", first_page) == ["3", "2"]
    older = f"/receipts?year={year}&amp;offset=2"
    assert f'href="{older}"' in first_page and "ใหม่กว่า" not in first_page
    last_page = lampang.get(older.replace("&amp;", "&")).text
    assert re.findall(r"<strong>(\d+)/\d+</strong>", last_page) == ["1"]
    assert f'href="/receipts?year={year}&amp;offset=0"' in last_page and "เก่ากว่า" not in last_page
    monkeypatch.undo()
    theirs = site.college(other_code).get("/receipts").text
    for link in links:
        assert f'href="{link}"' not in theirs
    assert re.findall(r"<strong>(\d+)/\d+</strong>", theirs) == ["1"]
