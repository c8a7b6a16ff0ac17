"""The inbox and the receipt register: a delivered letter served without its credential slip,
receipt numbers that stay consecutive when clerks register at the same moment, and letters
registered from paper or e-mail."""

from __future__ import annotations

import io
import threading
import tomllib
from datetime import date

from pypdf import PdfReader
from sqlalchemy import update
from sqlmodel import select

from saraban.domain.principal import Principal
from saraban.domain.vocabulary import year_be
from saraban.services import receipts
from saraban.services.annotated_letter import letter_page_count
from saraban.storage.engine import session_scope
from saraban.storage.models import DispatchEntry, Mailout, MailoutItem, ReceiptCreate, SessionKind
from saraban.web.app import create_app
from tests.support.mailouts import EXAMPLE
from tests.support.service import LAMPANG, STAFF_PASSWORD, World, service_settings, tiny_pdf


def page_texts(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_letter_is_served_without_its_credential_slip(world: World) -> None:
    lampang = world.college(staff=("clerk",))
    password = world.run.passwords[LAMPANG]
    bundle = (world.run.out / f"{LAMPANG}.pdf").read_bytes()
    bundle_pages = page_texts(bundle)
    assert password in bundle_pages[-1]  # the slip: the bundle's last page

    (item,) = lampang.account.ok("GET", "/api/inbox")
    assert item["letter_pages"] == len(bundle_pages) - 1
    response = lampang.account.get(f"/api/inbox/{item['item_id']}/letter")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["cache-control"] == "private, no-store"
    served = response.content
    pages = page_texts(served)
    assert pages == bundle_pages[:-1]  # the letter and its enclosures, in order
    assert password.encode() not in served
    assert all(password not in text and "(Password)" not in text for text in pages)

    entry = lampang.staff["clerk"].ok("POST", f"/api/inbox/{item['item_id']}/receive", 201, json={})
    again = lampang.staff["clerk"].get(f"/api/receipts/{entry['id']}/letter").content
    assert password.encode() not in again and page_texts(again) == pages


def test_a_paper_letter_is_registered_with_its_pdf(world: World) -> None:
    clerk = world.college(staff=("clerk",)).staff["clerk"]
    pdf = tiny_pdf("Lampang Provincial Office")
    fields = {
        "sender": "ศาลากลางจังหวัดลำปาง",
        "subject": "ขอเชิญประชุม",
        "letter_number": "ลป 0017/123",
        "letter_date": "2026-11-20",
        "channel": "email",
    }
    entry = clerk.ok(
        "POST", "/api/receipts", 201, data=fields, files={"file": ("a.pdf", pdf, "application/pdf")}
    )
    assert entry["receipt_number"] == f"1/{year_be()}"
    assert (entry["channel"], entry["addressee"]) == ("email", "ผู้อำนวยการ")
    assert clerk.get(f"/api/receipts/{entry['id']}/letter").content == pdf
    register = clerk.ok("GET", "/api/receipts", params={"year": year_be()})
    assert [r["id"] for r in register] == [entry["id"]]
    assert register[0]["route_status"] is None

    not_pdf = clerk.post(
        "/api/receipts", data=fields, files={"file": ("a.pdf", b"hello", "application/pdf")}
    )
    assert not_pdf.status_code == 422 and not_pdf.json()["detail"][0]["loc"] == ["body", "file"]
    broken = clerk.post(
        "/api/receipts",
        data=fields,
        files={"file": ("a.pdf", b"%PDF-1.7\n garbage", "application/pdf")},
    )
    assert broken.status_code == 422
    blank = clerk.post(
        "/api/receipts",
        data={**fields, "sender": "  "},
        files={"file": ("a.pdf", pdf, "application/pdf")},
    )
    assert blank.status_code == 422
    assert len(clerk.ok("GET", "/api/receipts")) == 1  # nothing half-registered

    small = service_settings(world.settings.data_dir, max_upload_bytes=1024)
    world.app = create_app(small, world.engine)
    clerk2 = world.actor()
    clerk2.login(f"anchalee@{LAMPANG}", STAFF_PASSWORD)
    big = clerk2.post(
        "/api/receipts", data=fields, files={"file": ("a.pdf", pdf + b" " * 2048, "x/y")}
    )
    assert big.status_code == 413


def test_receipt_numbers_stay_consecutive_when_registered_at_once(world: World) -> None:
    who = Principal(
        kind=SessionKind.COLLEGE, session_id=0, username=LAMPANG, name="", college_code=LAMPANG
    )
    data = ReceiptCreate(sender="จังหวัด", addressee="ผู้อำนวยการ", subject="หนังสือ")
    pdf = tiny_pdf()
    numbers: list[int] = []
    errors: list[BaseException] = []

    def register_one() -> None:
        try:
            with session_scope(world.engine, immediate=True) as session:
                entry = receipts.receive_uploaded(
                    session, who=who, data=data, pdf=pdf, settings=world.settings
                )
            numbers.append(entry.number)
        except BaseException as exc:  # reported below, with the thread's error
            errors.append(exc)

    def receive_mailout_letter() -> None:
        try:
            with session_scope(world.engine, immediate=True) as session:
                entry = receipts.receive(
                    session, who=who, item_id=world.inbox_item(), settings=world.settings
                )
            numbers.append(entry.number)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=register_one) for _ in range(11)]
    threads.insert(5, threading.Thread(target=receive_mailout_letter))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(numbers) == list(range(1, 13))
    other = Principal(
        kind=SessionKind.COLLEGE,
        session_id=0,
        username=world.run.other,
        name="",
        college_code=world.run.other,
    )
    with session_scope(world.engine, immediate=True) as session:
        entry = receipts.receive_uploaded(
            session, who=other, data=data, pdf=pdf, settings=world.settings
        )
    assert entry.number == 1  # each college its own register


def _set(world: World, **values: object) -> None:
    """Lampang's mailout row and item as the mailout would have stored them (``letter_date``
    on the mailout, ``letter_pages`` on the item); None: a mailout made before 0005."""
    with world.engine.begin() as conn:
        if "letter_date" in values:
            conn.execute(update(Mailout).values(letter_date=values["letter_date"]))
        if "letter_pages" in values:
            conn.execute(
                update(MailoutItem)
                .where(MailoutItem.college_code == LAMPANG)
                .values(letter_pages=values["letter_pages"])
            )


def test_a_delivered_letter_is_dated_as_the_mailout_stored_it(world: World) -> None:
    clerk = world.college(staff=("clerk",)).staff["clerk"]
    item_id = world.inbox_item()
    receive = f"/api/inbox/{item_id}/receive"
    _set(world, letter_date=date(2026, 4, 9))
    assert clerk.ok("GET", f"/api/inbox/{item_id}")["letter_date"] == "2026-04-09"
    (listed,) = clerk.ok("GET", "/api/inbox")
    assert listed["letter_date"] == "2026-04-09"

    wrong = clerk.post(receive, json={"letter_date": "2026-04-10"})
    assert wrong.status_code == 422 and "9/4/2569" in wrong.text and "2026-04-09" in wrong.text
    entry = clerk.ok("POST", receive, 201, json={"letter_date": "2026-04-09"})
    assert entry["letter_date"] == "2026-04-09"
    assert clerk.ok("GET", "/api/receipts")[0]["letter_date"] == "2026-04-09"


def test_without_a_stored_date_the_clerk_or_the_dispatch_register_dates_it(world: World) -> None:
    lampang = world.college(staff=("clerk",))
    clerk = lampang.staff["clerk"]
    _set(world, letter_date=None)
    item_id = world.inbox_item()
    # The seed's letter fixes its own number, so OVEC's dispatch register has no entry for it.
    assert clerk.ok("GET", f"/api/inbox/{item_id}")["letter_date"] is None
    entry = clerk.ok("POST", f"/api/inbox/{item_id}/receive", 201, json={})
    assert entry["letter_date"] is None

    other = world.college(world.run.other)
    other_item = world.inbox_item(world.run.other)
    with session_scope(world.engine, immediate=True) as session:
        mailout_id, reference = session.exec(
            select(MailoutItem.mailout_id, MailoutItem.reference).where(
                MailoutItem.id == other_item
            )
        ).one()
        session.add(
            DispatchEntry(
                register_name="ovec",
                kind="circular",
                year_be=2569,
                number=5553,
                reference=reference or "",
                dated=date(2026, 4, 8),
                subject="s",
                recipients="ผู้อำนวยการวิทยาลัย",
                owning_unit="u",
                created_by="t",
                mailout_id=mailout_id,
            )
        )
    assert other.account.ok("GET", f"/api/inbox/{other_item}")["letter_date"] == "2026-04-08"
    given = other.account.ok(
        "POST", f"/api/inbox/{other_item}/receive", 201, json={"letter_date": "2026-04-10"}
    )
    assert given["letter_date"] == "2026-04-10"  # as before 0005: the clerk's date first


def _note_page(pdf: bytes, mark: str) -> int:
    return next(i for i, text in enumerate(page_texts(pdf)) if mark in text)


def _second_letter_page(pdf: bytes) -> int:
    """The page headed ``- ๒ -``: the letter's page 2."""
    return next(i for i, t in enumerate(page_texts(pdf)) if t.strip().startswith("- ๒ -"))


def test_the_notes_go_where_the_stored_letter_pages_end_the_letter(world: World) -> None:
    lampang = world.college(staff=("clerk", "acting"))
    clerk = lampang.staff["clerk"]
    item_id = world.inbox_item()
    receipt = clerk.ok("POST", f"/api/inbox/{item_id}/receive", 201, json={})["id"]
    steps = [
        {"order": 1, "staff_id": lampang.ids["clerk"], "kind": "note"},
        {"order": 2, "staff_id": lampang.ids["acting"], "kind": "decision"},
    ]
    clerk.ok("POST", f"/api/receipts/{receipt}/route", 201, json={"steps": steps})
    mark = "NOTE-4242"
    clerk.ok("POST", f"/api/receipts/{receipt}/notes", 201, json={"summary": f"ด้วย {mark}"})
    served = clerk.get(f"/api/receipts/{receipt}/letter").content
    pages = len(page_texts(served))

    def annotated() -> bytes:
        response = clerk.get(f"/receipts/{receipt}/annotated.pdf")
        assert response.status_code == 200, response.text
        return response.content

    # Not stored (or not believable): the letter ends where its "- ๒ -" headers end.
    for stored in (None, 0, pages + 1):
        _set(world, letter_pages=stored)
        pdf = annotated()
        assert _note_page(pdf, mark) >= _second_letter_page(pdf) == 1, stored
    # Stored: the letter is its first page only, so the notes come before the page headed
    # "- ๒ -" (which, as far as the mailout says, is an enclosure and stays as it is).
    _set(world, letter_pages=1)
    pdf = annotated()
    assert _note_page(pdf, mark) < _second_letter_page(pdf)
    assert page_texts(pdf)[_second_letter_page(pdf)] == page_texts(served)[1]
    # All of it the letter: the notes go on (or after) its last page.
    _set(world, letter_pages=pages)
    pdf = annotated()
    assert _note_page(pdf, mark) >= pages - 1


def test_what_the_real_mailout_stored_agrees_with_its_bundles(world: World) -> None:
    """The seed mailout's own ``letter_date`` and ``letter_pages``: the letter file's date,
    and the pages its ``- ๒ -`` headers mark; and the inbox and register use them."""
    letter = tomllib.loads((EXAMPLE / "letter.toml").read_text("utf-8"))
    with session_scope(world.engine) as session:
        (mailout,) = session.exec(select(Mailout)).all()
        items = session.exec(select(MailoutItem)).all()
    assert mailout.letter_date == letter["date"]
    assert len(items) == len(world.run.codes)
    for item in items:
        served = receipts.letter_without_slip(world.run.out / item.file_name)
        assert item.letter_pages == letter_page_count(served) == 2, item.college_code
    clerk = world.college(staff=("clerk",)).staff["clerk"]
    item_id = world.inbox_item()
    assert clerk.ok("GET", f"/api/inbox/{item_id}")["letter_date"] == "2026-04-10"
    entry = clerk.ok("POST", f"/api/inbox/{item_id}/receive", 201, json={})
    assert entry["letter_date"] == "2026-04-10"
