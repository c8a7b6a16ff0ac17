"""Composed letters refuse characters that hide or reorder text (saraban.domain.text): the
JSON API names the field, the compose page shows the error on it, and a letter file imported
with one is refused naming its key and line. Nothing in letters/ or the seed relies on any of
them (no U+200B as a word-break hint: Thai line breaking is letters.segment's dictionary)."""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from sqlalchemy import text

from saraban.domain.text import DISGUISING
from tests.support.browser import Site
from tests.support.drafts import seed_qr, seed_raw
from tests.support.letters import ROOT
from tests.support.service import Actor, World

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
ZWSP = "\u200b"  # ZERO WIDTH SPACE

LETTER: dict[str, Any] = {
    "kind": "circular",
    "date": "2026-04-10",
    "subject": "การติดตามการดำเนินงานของสถานศึกษา",
    "to": "ผู้อำนวยการสถานศึกษาของรัฐ ทุกแห่ง",
    "body": "ด้วยสำนักงานคณะกรรมการการอาชีวศึกษาขอแจ้ง\n\nจึงเรียนมาเพื่อทราบ",
    "unit": "กลุ่มติดตามและรายงานผล",
    "phone": "0 2026 5555 ต่อ 4020",
    "enclosures": [{"title": "แผ่น QR Code", "count": "1 แผ่น", "make": "qr-sheet"}],
    "qr_title": "QR Code",
    "qr_rows": [{"url": "https://example.org/plan", "caption": "แผนการติดตาม"}],
}


def _loc(response: Any) -> list[list[object]]:
    return [error["loc"] for error in response.json()["detail"]]


def test_the_api_refuses_each_field_naming_it(world: World) -> None:
    clerk = world.ovec()
    assert clerk.post("/api/drafts", json=LETTER).status_code == 201  # the same, clean
    cases: list[tuple[dict[str, Any], list[object]]] = [
        ({"subject": f"ขอเชิญ{RLO}ประชุม"}, ["body", "subject"]),
        ({"to": f"ผู้อำนวยการ{ZWSP}วิทยาลัย"}, ["body", "to"]),
        ({"references": ["หนังสือที่ ศธ 0603/1", f"ที่ {ZWSP}2"]}, ["body", "references", 1]),
        ({"body": f"ด้วย{ZWSP}สำนักงาน\n\nจึงเรียนมา"}, ["body", "body"]),
        ({"unit": "กลุ่ม\u2066ติดตาม"}, ["body", "unit"]),
        ({"on_behalf_of": "เลขาธิการ\u200d"}, ["body", "on_behalf_of"]),
        ({"qr_title": "QR\ufeff"}, ["body", "qr_title"]),
        (
            {"qr_rows": [{"url": "https://example.org/plan", "caption": f"แผน{RLO}"}]},
            ["body", "qr_rows", 0, "caption"],
        ),
        (
            {"enclosures": [{"title": "สำเนา\u00adหนังสือ", "make": "qr-sheet"}]},
            ["body", "enclosures", 0, "title"],
        ),
    ]
    for change, loc in cases:
        refused = clerk.post("/api/drafts", json={**LETTER, **change})
        assert refused.status_code == 422, (change, refused.text)
        assert _loc(refused) == [loc], refused.text
        assert "invisible or text-direction characters" in refused.text
    with world.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM draft").scalar_one() == 1
    # A preview is refused the same way (no letter is typeset from such text).
    preview = clerk.post("/api/drafts/preview", json={**LETTER, "subject": f"x{RLO}y"})
    assert preview.status_code == 422 and _loc(preview) == [["body", "subject"]]


def test_the_compose_page_shows_the_error_on_the_field(site: Site) -> None:
    clerk = site.ovec()
    clerk.get("/drafts/new")
    raw = seed_raw()
    fields = {
        "kind": "circular",
        "date_day": "10",
        "date_month": "4",
        "date_year": "2569",
        "subject": raw["subject"].replace("การ", f"การ{ZWSP}", 1),
        "to": raw["to"],
        "body": raw["body"],
        "thai_digits": "1",
        "unit": "กลุ่มติดตามและรายงานผล",
        "qr_rows": f"https://example.org/x | แผน{RLO}การ",
        "action": "save",
    }
    page = clerk.submit("/drafts/new", fields)
    assert page.status_code == 422
    error = re.search(r'<p class="error" id="e-subject">([^<]*)</p>', page.text)
    assert error and "เรื่อง" in error.group(1) and "U+200B" in error.group(1), page.text
    assert 'id="e-qr_rows"' in page.text and "U+202E" in page.text
    assert 'id="e-body"' not in page.text  # only the fields at fault
    assert raw["to"] in page.text  # what was typed is shown again, to be corrected
    fields["subject"] = raw["subject"]
    fields["qr_rows"] = "https://example.org/x | แผนการ"
    saved = clerk.submit("/drafts/new", fields)
    assert saved.status_code == 200 and re.fullmatch(r"/drafts/\d+", saved.url.path), saved.text


# For import: a letter whose only enclosure is made (the slip), so that the file is all of it.
IMPORTED = {
    **LETTER,
    "enclosures": [{"title": "ใบแจ้งรหัสผ่าน", "count": "1 แผ่น", "make": "credential-slip"}],
    "qr_title": "",
    "qr_rows": [],
}


def _exported(clerk: Actor) -> str:
    draft = clerk.ok("POST", "/api/drafts", 201, json=IMPORTED)["id"]
    return str(clerk.get(f"/api/drafts/{draft}/letter.toml").text)


def _import(clerk: Actor, text: str, qr: str | None = None) -> Any:
    files: dict[str, Any] = {"letter": ("letter.toml", text.encode(), "text/plain")}
    if qr is not None:
        files["qr_sheet"] = ("qr-sheet.toml", qr.encode(), "text/plain")
    return clerk.post("/api/drafts/import", files=files)


def _line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def test_a_letter_file_imported_with_one_is_refused_naming_the_key(world: World) -> None:
    clerk = world.ovec()
    text = _exported(clerk)
    assert _import(clerk, text).status_code == 201  # as exported: fine
    subject = LETTER["subject"]
    bad = text.replace(subject, subject.replace("การ", f"การ{ZWSP}", 1))
    refused = _import(clerk, bad)
    assert refused.status_code == 422
    (error,) = refused.json()["detail"]
    assert error["loc"] == ["body", "subject"]
    line = _line_of(bad, ZWSP)
    assert error["msg"].startswith(f"letter.toml:{line}: key 'subject': "), error["msg"]
    assert "U+200B" in error["msg"]
    # Written as a TOML escape, in a table: the key's line.
    escaped = text.replace(LETTER["unit"], LETTER["unit"][:5] + "\\u202E" + LETTER["unit"][5:])
    refused = _import(clerk, escaped)
    (error,) = refused.json()["detail"]
    assert refused.status_code == 422 and error["loc"] == ["body", "sender", "unit"]
    line = _line_of(escaped, "\\u202E")
    assert error["msg"].startswith(f"letter.toml:{line}: key 'sender.unit': "), error["msg"]
    # In an enclosure's title.
    title = IMPORTED["enclosures"][0]["title"]
    refused = _import(clerk, text.replace(title, f"{title}\u2067"))
    assert refused.status_code == 422
    assert "key 'enclosures[1].title'" in refused.json()["detail"][0]["msg"]
    # And in the QR sheet that comes with it.
    qr = seed_qr()
    caption = qr["entry"][0]["caption"]
    sheet = f'title = "QR Code"\n[[entry]]\ncaption = "{caption}{RLO}"\nurl = "https://x.org"\n'
    refused = _import(clerk, text, sheet)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["msg"].startswith(
        "qr-sheet.toml:3: key 'entry[1].caption': "
    )
    with world.engine.connect() as conn:  # nothing imported but the clean one
        assert conn.exec_driver_sql("SELECT count(*) FROM draft").scalar_one() == 2


def test_a_zip_imported_with_one_is_refused_naming_the_key(world: World) -> None:
    clerk = world.ovec()
    text = _exported(clerk)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("letter.toml", text.replace(LETTER["to"], LETTER["to"] + "\u200c"))
    refused = clerk.post(
        "/api/drafts/import", files={"letter": ("letter.zip", out.getvalue(), "application/zip")}
    )
    assert refused.status_code == 422
    assert "letter.toml:" in refused.text and "key 'to'" in refused.text


def test_nothing_the_product_writes_carries_such_a_character() -> None:
    """The typesetter and the seed rely on none of them (so none is allowed through)."""
    for folder in ("letters", "examples", "templates"):
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in {".py", ".toml", ".csv", ".html", ".md"}:
                content = path.read_text(encoding="utf-8")
                assert not set(content) & set(DISGUISING), path


def test_a_draft_saved_before_the_rule_still_opens_and_its_save_says_what_to_fix(
    site: Site,
) -> None:
    clerk = site.ovec()
    clerk.get("/drafts/new")
    fields = {
        "kind": "circular",
        "date_day": "10",
        "date_month": "4",
        "date_year": "2569",
        "subject": LETTER["subject"],
        "to": LETTER["to"],
        "body": LETTER["body"],
        "thai_digits": "1",
        "unit": LETTER["unit"],
        "action": "save",
    }
    saved = clerk.submit("/drafts/new", fields)
    assert saved.status_code == 200, saved.text
    draft = int(saved.url.path.rsplit("/", 1)[1])
    # As a draft saved before: a soft hyphen pasted into its subject.
    with site.engine.begin() as conn:
        conn.execute(
            text("UPDATE draft_version SET letter_toml = replace(letter_toml, :a, :b)"),
            {"a": LETTER["subject"], "b": LETTER["subject"].replace("การ", "การ\u00ad", 1)},
        )
    detail = clerk.get(f"/api/drafts/{draft}")
    assert detail.status_code == 200 and "\u00ad" in detail.json()["compose"]["subject"]
    edit = clerk.get(f"/drafts/{draft}/edit")
    assert edit.status_code == 200
    fields["subject"] = LETTER["subject"].replace("การ", "การ\u00ad", 1)
    again = clerk.submit(f"/drafts/{draft}/edit", fields)
    assert again.status_code == 422 and 'id="e-subject"' in again.text and "U+00AD" in again.text
