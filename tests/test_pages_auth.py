"""Logging in through the pages (SQLite and PostgreSQL): clear messages for a wrong password
and for throttling, the forced first password change, logging out, and error pages that help
and show no stack trace."""

from __future__ import annotations

import re

from fastapi import FastAPI

from tests import browser, service_fixtures
from tests.browser import LAMPANG, SEED_STAFF, STAFF_PASSWORD, Site

mailout_run = service_fixtures.mailout_run
site = browser.site


def test_a_page_asks_for_a_login_then_comes_back(site: Site) -> None:
    visitor = site.visitor()
    response = visitor.get("/inbox?state=unread", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/inbox%3Fstate%3Dunread"
    login_page = visitor.get(response.headers["location"])
    form = login_page.text
    assert "script-src 'none'" in login_page.headers["content-security-policy"]
    assert login_page.headers["x-frame-options"] == "DENY"
    assert "<script" not in form and 'style="' not in form  # no JavaScript, no inline style
    assert 'name="next" value="/inbox?state=unread"' in form
    assert '<label for="f-username">ชื่อผู้ใช้</label>' in form
    assert '<label for="f-password">รหัสผ่าน</label>' in form
    done = visitor.client.post(
        "/login",
        data={
            "username": LAMPANG,
            "password": site.run.passwords[LAMPANG],
            "next": "/inbox?state=unread",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/inbox?state=unread"
    cookie = done.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    # Only a path on this site is a place to come back to.
    elsewhere = site.visitor().client.post(
        "/login",
        data={
            "username": LAMPANG,
            "password": site.run.passwords[LAMPANG],
            "next": "//evil.example",
        },
        follow_redirects=False,
    )
    assert elsewhere.headers["location"] == "/inbox"


def test_wrong_password_then_throttled(site: Site) -> None:
    visitor = site.visitor()
    for _ in range(site.settings.account_free_failures):
        wrong = visitor.login(LAMPANG, "wrong-password")
        assert wrong.status_code == 401
        assert "ชื่อผู้ใช้หรือรหัสผ่านไม่ถูกต้อง" in wrong.text
        assert f'value="{LAMPANG}"' in wrong.text  # the username stays, the password does not
    throttled = visitor.login(LAMPANG, site.run.passwords[LAMPANG])
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) > 0
    assert "ระงับการเข้าสู่ระบบชั่วคราว" in throttled.text
    assert re.search(r"โปรดลองใหม่ในอีก \d+ (วินาที|นาที)", throttled.text)
    empty = visitor.login("", "")
    assert empty.status_code == 422 and "โปรดกรอกชื่อผู้ใช้และรหัสผ่าน" in empty.text


def test_first_login_changes_the_password_first(site: Site) -> None:
    college = site.college()
    _, first = site.add_staff(college, "clerk")
    username = f"{SEED_STAFF['clerk']['handle']}@{LAMPANG}"
    clerk = site.visitor()
    assert clerk.login(username, first).url.path == "/password"
    assert clerk.get("/inbox").url.path == "/password"  # nothing else until it is changed
    assert "เข้าสู่ระบบครั้งแรกด้วยรหัสผ่านชั่วคราว" in clerk.get("/password").text
    mismatch = clerk.submit(
        "/password",
        {"current_password": first, "new_password": STAFF_PASSWORD, "confirm_password": "x"},
    )
    assert mismatch.status_code == 422 and "ไม่ตรงกัน" in mismatch.text
    short = clerk.submit(
        "/password", {"current_password": first, "new_password": "abc", "confirm_password": "abc"}
    )
    assert short.status_code == 422 and "ต้องยาว" in short.text
    wrong = clerk.submit(
        "/password",
        {
            "current_password": "not-it",
            "new_password": STAFF_PASSWORD,
            "confirm_password": STAFF_PASSWORD,
        },
    )
    assert wrong.status_code == 422 and "ไม่ถูกต้อง" in wrong.text
    done = clerk.submit(
        "/password",
        {
            "current_password": first,
            "new_password": STAFF_PASSWORD,
            "confirm_password": STAFF_PASSWORD,
        },
    )
    assert done.url.path == "/inbox" and "เปลี่ยนรหัสผ่านเรียบร้อยแล้ว" in done.text
    out = clerk.submit("/logout")
    assert out.url.path == "/login" and "ออกจากระบบแล้ว" in out.text
    assert clerk.get("/inbox").url.path == "/login"
    assert site.visitor().login(username, STAFF_PASSWORD).url.path == "/inbox"


def test_a_colleges_password_is_its_slip(site: Site) -> None:
    college = site.college()
    page = college.get("/password").text
    assert "รหัสผ่านของบัญชีสถานศึกษาคือรหัสในใบแจ้งรหัสผ่าน" in page
    assert 'name="new_password"' not in page


def test_error_pages_help_and_hide_the_stack_trace(site: Site) -> None:
    app: FastAPI = site.app

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    visitor = site.visitor(raise_server_exceptions=False)
    missing = visitor.get("/no-such-page")
    assert missing.status_code == 404 and "ไม่พบหน้าที่ต้องการ" in missing.text
    assert 'href="/"' in missing.text
    crashed = visitor.get("/boom")
    assert crashed.status_code == 500 and "ระบบขัดข้อง" in crashed.text
    assert "Traceback" not in crashed.text and "secret internals" not in crashed.text
    # The API keeps its JSON answers.
    assert visitor.get("/api/no-such-thing").json() == {"detail": "Not Found"}
    assert visitor.get("/api/inbox").status_code == 401
    assert visitor.get("/api/inbox").headers["content-type"] == "application/json"


def test_the_thai_font_is_served_from_this_site(site: Site) -> None:
    visitor = site.visitor()
    css = visitor.get("/static/style.css").text
    assert '@font-face { font-family: "Laksaman"; src: url("/static/fonts/Laksaman.ttf")' in css
    assert "http://" not in css and "https://" not in css
    font = visitor.get("/static/fonts/Laksaman.ttf")
    assert font.status_code == 200 and font.headers["content-type"] == "font/ttf"
    assert visitor.get("/static/fonts/..%2Fpyproject.toml").status_code == 404
    assert visitor.get("/static/fonts/DejaVuSansMono.ttf").status_code == 200
    assert visitor.get("/static/fonts/COPYRIGHT-Laksaman").status_code == 404
