"""Logging in through the pages (SQLite and PostgreSQL): clear messages for a wrong password
and for throttling, the forced first password change, logging out, and error pages that help
and show no stack trace."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import Session, select

from saraban.storage.models import AuditEvent, Credential, LoginSession, LoginThrottle
from saraban.web.pages.auth import LOGIN_COOKIE
from tests.support.browser import LAMPANG, SEED_STAFF, STAFF_PASSWORD, Site


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
    for next_url, target in (
        ("/inbox?state=unread", "/inbox?state=unread"),
        ("//evil.example", "/inbox"),
    ):
        visitor = site.visitor()
        visitor.get("/login")
        fields = {"username": LAMPANG, "password": site.run.passwords[LAMPANG], "next": next_url}
        done = visitor.submit("/login", fields, follow_redirects=False)
        # Only a path on this site is a place to come back to.
        assert done.status_code == 303 and done.headers["location"] == target
        cookie = _cookie(done, "saraban_session")
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def _cookie(response: Any, name: str) -> str:
    """The Set-Cookie header that sets ``name``."""
    found = [c for c in response.headers.get_list("set-cookie") if c.startswith(f"{name}=")]
    assert len(found) == 1, response.headers.get_list("set-cookie")
    return str(found[0])


def _counts(site: Site) -> dict[str, Any]:
    """What a login attempt may leave behind: sessions, throttle rows, audit events, and the
    credential hashes (a first login rehashes a college's)."""
    with Session(site.engine) as session:
        return {
            "sessions": session.exec(select(func.count()).select_from(LoginSession)).one(),
            "throttle": session.exec(select(func.count()).select_from(LoginThrottle)).one(),
            "audit": session.exec(select(func.count()).select_from(AuditEvent)).one(),
            "hashes": sorted(session.exec(select(Credential.password_hash)).all()),
        }


def test_the_login_form_carries_a_pre_session_csrf_token(site: Site) -> None:
    visitor = site.visitor()
    form = visitor.get("/login")
    cookie = _cookie(form, LOGIN_COOKIE)
    for flag in ("httponly", "samesite=lax", "path=/login"):
        assert flag in cookie.lower(), cookie
    assert visitor.csrf and f'name="csrf_token" value="{visitor.csrf}"' in form.text
    assert visitor.client.cookies[LOGIN_COOKIE] not in form.text  # the nonce stays a cookie
    again = visitor.get("/login?next=/inbox")  # a second tab: the same nonce, the same token
    assert _cookie(again, LOGIN_COOKIE).split(";")[0] == cookie.split(";")[0]
    assert visitor.csrf == re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)

    # Another site's form: no token, a wrong one, or a token without its cookie.
    before = _counts(site)
    password = site.run.passwords[LAMPANG]
    credentials = {"username": LAMPANG, "password": password}
    no_token = visitor.client.post("/login", data=credentials, follow_redirects=False)
    wrong = visitor.client.post(
        "/login", data={**credentials, "csrf_token": "x" * 43}, follow_redirects=False
    )
    stranger = site.visitor()  # never saw the form: no cookie
    lifted = stranger.client.post(
        "/login", data={**credentials, "csrf_token": visitor.csrf}, follow_redirects=False
    )
    for refused in (no_token, wrong, lifted):
        assert refused.status_code == 403, refused.text
        assert "ส่งแบบฟอร์มเข้าสู่ระบบไม่ได้" in refused.text and "คุกกี้" in refused.text
        assert 'role="alert"' in refused.text and "<h1" in refused.text
        assert "saraban_session=" not in " ".join(refused.headers.get_list("set-cookie"))
        assert f'value="{LAMPANG}"' not in refused.text  # not filled in from another site
    assert _counts(site) == before  # no session, no throttle row, no audit event, no rehash
    assert visitor.get("/inbox").url.path == "/login"
    # The refusal shows a fresh form, which works.
    stranger.csrf = re.search(r'name="csrf_token" value="([^"]+)"', lifted.text).group(1)
    done = stranger.submit("/login", credentials, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == "/inbox"
    assert "max-age=0" in _cookie(done, LOGIN_COOKIE).lower()  # spent once logged in
    assert _counts(site)["sessions"] == before["sessions"] + 1

    # The JSON API's login stays as API clients use it: no form, no cookie of the pages.
    api = site.visitor().client.post("/api/login", json=credentials)
    assert api.status_code == 200 and api.json()["csrf_token"]


def test_logout_and_password_forms_need_the_session_token(site: Site) -> None:
    college = site.college()
    _, first = site.add_staff(college, "clerk")
    clerk = site.visitor()
    clerk.login(f"{SEED_STAFF['clerk']['handle']}@{LAMPANG}", first)
    fields = {
        "current_password": first,
        "new_password": STAFF_PASSWORD,
        "confirm_password": STAFF_PASSWORD,
    }
    for url, data in (("/password", fields), ("/logout", {})):
        refused = clerk.client.post(url, data=data)
        assert refused.status_code == 403 and "แบบฟอร์มนี้หมดอายุแล้ว" in refused.text, url
        wrong = clerk.client.post(url, data={**data, "csrf_token": "not-the-token"})
        assert wrong.status_code == 403, url
    assert clerk.get("/password").url.path == "/password"  # still logged in, unchanged
    assert (
        site.visitor().login(f"{SEED_STAFF['clerk']['handle']}@{LAMPANG}", first).url.path
        == "/password"
    )


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
