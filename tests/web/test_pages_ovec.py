"""OVEC's pages (SQLite and PostgreSQL): the mailouts, the per-college status table with its
filters and CSV, and a college's credential: reissued (the new password shown once, on a
slip) or voided, each with a reason."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import update

from saraban.domain.vocabulary import bangkok_today
from saraban.storage.models import Mailout
from tests.support.browser import LAMPANG, LAMPANG_NAME, Site

_SLIP_PASSWORD = re.compile(r'id="slip-password">([^<]+)<')


def _due(site: Site, days: int) -> None:
    with site.engine.begin() as conn:
        conn.execute(update(Mailout).values(due_date=bangkok_today() + timedelta(days=days)))


def _rows(html: str) -> set[str]:
    """The college codes in the status table."""
    table = re.search(r'<table class="table" id="tracking">.*?</table>', html, re.S)
    return set(re.findall(r'<td class="mono">(\d{10})</td>', table.group(0))) if table else set()


def test_status_table_filters_and_csv(site: Site) -> None:
    _due(site, -1)  # due yesterday: undecided letters are overdue
    codes = set(site.run.codes)
    lampang = site.college()
    lampang.get(f"/inbox/{site.item_id()}")
    lampang.submit(f"/inbox/{site.item_id()}/receive")
    ovec = site.ovec()

    summary = ovec.get("/ovec").text
    assert "หนังสือเวียนที่ส่ง" in summary and "ศธ 0603/ว 5553" in summary
    assert "เกินกำหนด" in summary

    everything = ovec.get("/ovec/tracking")
    assert _rows(everything.text) == codes
    assert "ผลลัพธ์ 3 รายการ" in everything.text
    assert "ลงรับแล้ว" in everything.text and "เกินกำหนด" in everything.text
    assert _rows(ovec.get("/ovec/tracking?view=not_received").text) == codes - {LAMPANG}
    assert _rows(ovec.get("/ovec/tracking?view=not_decided").text) == codes
    assert _rows(ovec.get("/ovec/tracking?view=overdue").text) == codes
    assert _rows(ovec.get("/ovec/tracking?view=decided").text) == set()
    by_name = ovec.get("/ovec/tracking", params={"college": "สารพัดช่างลำปาง"})
    assert _rows(by_name.text) == {LAMPANG}
    assert _rows(ovec.get("/ovec/tracking", params={"province": "ลำปาง"}).text) == {LAMPANG}

    csv = ovec.get("/ovec/tracking.csv", params={"view": "not_decided"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens the Thai
    lines = csv.content.decode("utf-8-sig").strip().splitlines()
    assert lines[0].startswith("หนังสือ (mailout),ที่,รหัสสถานศึกษา")
    assert len(lines) == 4 and sum(LAMPANG in line for line in lines) == 1
    not_received = ovec.get("/ovec/tracking.csv", params={"view": "not_received"})
    assert LAMPANG not in not_received.content.decode("utf-8-sig")

    _due(site, 30)
    assert _rows(ovec.get("/ovec/tracking?view=overdue").text) == set()


def test_not_decided_is_every_letter_without_a_decision(site: Site) -> None:
    """ยังไม่สั่งการ: delivered, received and routed letters (a ส่งคืน is no decision); a
    decided letter leaves the view, in the table, the CSV and the tracking API alike."""
    lampang, other, third = site.run.codes
    college = site.college()
    (acting_id, acting), (clerk_id, clerk) = site.staff(college, "acting", "clerk").values()
    path = college.receive(site.item_id())
    plan = {"note_1": str(clerk_id), "decider": str(acting_id)}
    assert college.submit(f"{path}/route", plan).url.path == path
    clerk.get(path)
    assert clerk.submit(f"{path}/notes", {"summary": "ด้วย สอศ. แจ้ง"}).status_code == 200
    site.college(other).receive(site.item_id(other))
    ovec = site.ovec()
    views = {
        view: _rows(ovec.get("/ovec/tracking", params={"view": view}).text)
        for view in ("not_decided", "decided", "routed", "received", "not_received")
    }
    assert views == {
        "not_decided": {lampang, other, third},
        "decided": set(),
        "routed": {lampang},
        "received": {other},
        "not_received": {third},
    }

    acting.get(path)
    returned = {"kind": "ส่งคืน", "reason": "ขอรายละเอียด", "return_to": str(clerk_id)}
    assert acting.submit(f"{path}/decision", returned).status_code == 200
    assert _rows(ovec.get("/ovec/tracking?view=not_decided").text) == {lampang, other, third}
    clerk.get(path)
    assert clerk.submit(f"{path}/notes", {"summary": "รายละเอียดตามที่ขอ"}).status_code == 200
    acting.get(path)
    assert acting.submit(f"{path}/decision", {"kind": "ทราบ"}).status_code == 200

    not_decided = ovec.get("/ovec/tracking?view=not_decided").text
    assert _rows(not_decided) == {other, third}
    assert "ผลลัพธ์ 2 รายการ · ยังไม่สั่งการ" in not_decided
    assert _rows(ovec.get("/ovec/tracking?view=completed").text) == {lampang}  # ทราบ: done
    csv = ovec.get("/ovec/tracking.csv", params={"view": "not_decided"}).content
    rows = csv.decode("utf-8-sig").strip().splitlines()[1:]
    assert sorted(row.split(",")[2] for row in rows) == sorted([other, third])
    assert len(rows) == 2
    api = ovec.get("/api/tracking", params={"decided": "false"}).json()
    assert {row["college_code"] for row in api["rows"]} == {other, third}


def test_reissue_shows_the_new_password_once(site: Site) -> None:
    old_password = site.run.passwords[LAMPANG]
    college = site.college()
    ovec = site.ovec()
    page = ovec.get(f"/ovec/colleges/{LAMPANG}")
    assert LAMPANG_NAME in page.text and "ใช้งานได้" in page.text

    no_reason = ovec.submit(f"/ovec/colleges/{LAMPANG}/reissue", {"reissue_reason": "  "})
    assert no_reason.status_code == 422 and "โปรดระบุเหตุผล" in no_reason.text

    slip = ovec.submit(f"/ovec/colleges/{LAMPANG}/reissue", {"reissue_reason": "ซองสูญหาย"})
    assert slip.status_code == 200 and slip.headers["cache-control"] == "no-store"
    assert "รหัสผ่านนี้แสดงเพียงครั้งเดียว" in slip.text and LAMPANG_NAME in slip.text
    found = _SLIP_PASSWORD.search(slip.text)
    assert found
    new_password = found.group(1)
    assert new_password != old_password
    assert 'href="data:application/pdf;base64,' in slip.text  # the same slip as on paper

    # Never again: not on the college's page, and the old password and session are gone.
    again = ovec.get(f"/ovec/colleges/{LAMPANG}").text
    assert new_password not in again and "ซองสูญหาย" in again and "ยกเลิกแล้ว" in again
    assert college.get("/inbox").url.path == "/login"
    assert site.visitor().login(LAMPANG, old_password).status_code == 401
    assert site.visitor().login(LAMPANG, new_password).url.path == "/inbox"


def test_void_with_a_reason(site: Site) -> None:
    ovec = site.ovec()
    voided = ovec.submit(f"/ovec/colleges/{LAMPANG}/void", {"void_reason": "ยุบรวมสถานศึกษา"})
    assert voided.status_code == 200 and "ยกเลิกรหัสผ่านของสถานศึกษาแล้ว" in voided.text
    assert "ยุบรวมสถานศึกษา" in voided.text
    assert site.visitor().login(LAMPANG, site.run.passwords[LAMPANG]).status_code == 401
    twice = ovec.submit(f"/ovec/colleges/{LAMPANG}/void", {"void_reason": "อีกครั้ง"})
    assert twice.status_code == 409 and "ไม่มีรหัสผ่านที่ใช้งานอยู่" in twice.text
    assert ovec.get("/ovec/colleges/0000000000").status_code == 404
    assert ovec.submit("/ovec/colleges/0000000000/void", {"void_reason": "x"}).status_code == 404


def test_a_reason_with_a_nul_is_refused_naming_the_field(site: Site) -> None:
    """PostgreSQL refuses NUL in text: the form must say so, not fail with a 500."""
    ovec = site.ovec()
    refused = ovec.submit(f"/ovec/colleges/{LAMPANG}/void", {"void_reason": "ยุบ\x00รวม"})
    assert refused.status_code == 422 and "U+0000" in refused.text
    assert site.visitor().login(LAMPANG, site.run.passwords[LAMPANG]).url.path == "/inbox"


def test_ovec_pages_are_for_ovec(site: Site) -> None:
    college = site.college()
    for url in ("/ovec", "/ovec/tracking", "/ovec/tracking.csv", f"/ovec/colleges/{LAMPANG}"):
        assert college.get(url).status_code == 404, url
    refused = college.submit(f"/ovec/colleges/{LAMPANG}/reissue", {"reissue_reason": "x"})
    assert refused.status_code == 404
    ovec = site.ovec()
    assert ovec.get("/inbox").status_code == 404
    assert ovec.get("/").url.path == "/ovec"
