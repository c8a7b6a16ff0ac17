"""Who may do what, for every route in the OpenAPI schema.

A college (its account and its staff) never reads or changes another college's letters, notes
or staff: anything not theirs answers 404, exactly as if it did not exist. Every route but
logging in needs a session, every state-changing one its CSRF token, and a first login allows
nothing but a password change. Staff act only on their own step, in turn.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saraban.storage.engine import make_engine
from saraban.web.app import create_app
from tests.support.pdftext import page_texts, squash
from tests.support.service import (
    LAMPANG,
    STAFF_PASSWORD,
    Actor,
    College,
    World,
    service_settings,
    tiny_pdf,
)

PUBLIC = {("POST", "/api/login"), ("POST", "/api/credentials/verify")}
# Open to a session that must still change its password.
FIRST_LOGIN = {("GET", "/api/session"), ("POST", "/api/logout"), ("POST", "/api/session/password")}
BODIES: dict[str, dict[str, Any]] = {
    "/api/login": {"json": {"username": "x", "password": "y"}},
    "/api/credentials/verify": {"json": {"code": "x", "password": "y"}},
    "/api/session/password": {"json": {"current_password": "x", "new_password": "y"}},
}


def schema_routes() -> set[tuple[str, str]]:
    app = create_app(service_settings(Path("unused")), make_engine("sqlite://"))
    paths = app.openapi()["paths"]
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


def concrete(path: str, value: int = 1) -> str:
    return re.sub(r"\{[^}]+\}", str(value), path)


@dataclass
class Scene:
    """Lampang with a routed letter; another college (B) trying to reach it."""

    world: World
    a: College
    b: College
    item: int  # Lampang's inbox item
    receipt: int  # Lampang's receipt, routed: clerk's note, then the acting director's decision


def scene_of(world: World) -> Scene:
    a = world.college(staff=("clerk", "acting", "planning_head"))
    b = world.college(world.run.other, staff=("clerk",))
    item = world.inbox_item(LAMPANG)
    receipt = a.staff["clerk"].ok("POST", f"/api/inbox/{item}/receive", 201, json={})["id"]
    steps = [
        {"order": 1, "staff_id": a.ids["clerk"], "kind": "note"},
        {"order": 2, "staff_id": a.ids["acting"], "kind": "decision"},
    ]
    a.staff["clerk"].ok("POST", f"/api/receipts/{receipt}/route", 201, json={"steps": steps})
    return Scene(world, a, b, item, receipt)


def not_found(actor: Actor, method: str, path: str, **kwargs: Any) -> None:
    response = actor.request(method, path, **kwargs)
    assert response.status_code == 404, f"{method} {path}: {response.status_code} {response.text}"


def lampang_is_untouched(s: Scene) -> None:
    detail = s.a.account.ok("GET", f"/api/receipts/{s.receipt}")
    assert detail["route"]["events"] == []
    assert s.a.staff["clerk"].ok("GET", "/api/session")["username"] == f"anchalee@{LAMPANG}"


def _login(s: Scene) -> None:
    stranger = s.world.actor()
    stranger.login(f"anchalee@{LAMPANG}", STAFF_PASSWORD + "-b", expect=401)
    stranger.login(LAMPANG, s.world.run.passwords[s.world.run.other], expect=401)


def _logout(s: Scene) -> None:
    b = s.world.actor()
    b.login(f"anchalee@{s.b.code}", STAFF_PASSWORD)
    assert b.post("/api/logout").status_code == 204
    assert b.get("/api/session").status_code == 401
    lampang_is_untouched(s)


def _session(s: Scene) -> None:
    assert s.b.staff["clerk"].ok("GET", "/api/session")["college_code"] == s.b.code


def _password(s: Scene) -> None:
    body = {"handle": "anchalee2", "name": "นางสาวบี", "position": "ครู", "role": "staff"}
    created = s.b.account.ok("POST", "/api/staff", 201, json=body)
    b = s.world.actor()
    b.login(f"anchalee2@{s.b.code}", created["initial_password"])
    assert b.change_password(created["initial_password"], STAFF_PASSWORD).status_code == 200
    lampang_is_untouched(s)


def _verify(s: Scene) -> None:
    body = {"code": LAMPANG, "password": s.world.run.passwords[s.b.code]}
    assert s.world.actor().ok("POST", "/api/credentials/verify", json=body) == {"valid": False}


def _list_staff(s: Scene) -> None:
    for actor in (s.b.account, s.b.staff["clerk"]):
        listed = actor.ok("GET", "/api/staff")
        assert {m["college_code"] for m in listed} == {s.b.code}


def _create_staff(s: Scene) -> None:
    body = {"handle": "planhead", "name": "นายบี", "position": "ครู", "role": "staff"}
    created = s.b.account.ok("POST", "/api/staff", 201, json=body)
    assert created["staff"]["college_code"] == s.b.code
    assert created["staff"]["username"] == f"planhead@{s.b.code}"


def _get_staff(s: Scene) -> None:
    for actor in (s.b.account, s.b.staff["clerk"]):
        not_found(actor, "GET", f"/api/staff/{s.a.ids['clerk']}")


def _update_staff(s: Scene) -> None:
    not_found(s.b.account, "PATCH", f"/api/staff/{s.a.ids['clerk']}", json={"active": False})
    lampang_is_untouched(s)


def _reset_staff(s: Scene) -> None:
    not_found(s.b.account, "POST", f"/api/staff/{s.a.ids['clerk']}/password-reset")
    lampang_is_untouched(s)


def _inbox(s: Scene) -> None:
    assert s.item not in {i["item_id"] for i in s.b.staff["clerk"].ok("GET", "/api/inbox")}


def _inbox_item(s: Scene) -> None:
    not_found(s.b.staff["clerk"], "GET", f"/api/inbox/{s.item}")


def _inbox_letter(s: Scene) -> None:
    not_found(s.b.staff["clerk"], "GET", f"/api/inbox/{s.item}/letter")


def _inbox_signatures(s: Scene) -> None:
    not_found(s.b.staff["clerk"], "GET", f"/api/inbox/{s.item}/signatures")


def _enclosures_case(path: str) -> Callable[[Scene], None]:
    """Enclosures served apart (a signed letter's): another college's letter is not found as
    one that does not exist; Lampang's letter, unsigned, has none apart from it."""

    def check(s: Scene) -> None:
        url = path.format(item=s.item, receipt=s.receipt)
        for actor in (s.b.account, s.b.staff["clerk"]):
            response = actor.get(url)
            assert response.status_code == 404, f"GET {url}: {response.status_code}"
            assert "enclosures" not in response.text
        own = s.a.staff["clerk"].get(url)
        assert own.status_code == 404 and "no enclosures apart" in own.text, own.text

    return check


def _receive(s: Scene) -> None:
    for actor in (s.b.account, s.b.staff["clerk"]):
        not_found(actor, "POST", f"/api/inbox/{s.item}/receive", json={})


def _register(s: Scene) -> None:
    assert {r["college_code"] for r in s.b.account.ok("GET", "/api/receipts")} <= {s.b.code}
    assert s.receipt not in {r["id"] for r in s.b.staff["clerk"].ok("GET", "/api/receipts")}


def _upload(s: Scene) -> None:
    entry = s.b.staff["clerk"].ok(
        "POST",
        "/api/receipts",
        201,
        data={"sender": "จังหวัดลำปาง", "subject": "ทดสอบ"},
        files={"file": ("x.pdf", tiny_pdf(), "application/pdf")},
    )
    assert entry["college_code"] == s.b.code
    assert entry["number"] == 1  # B's own sequence, not Lampang's


def _receipt(s: Scene) -> None:
    not_found(s.b.staff["clerk"], "GET", f"/api/receipts/{s.receipt}")


def _receipt_letter(s: Scene) -> None:
    not_found(s.b.account, "GET", f"/api/receipts/{s.receipt}/letter")


def _receipt_signatures(s: Scene) -> None:
    for actor in (s.b.account, s.b.staff["clerk"]):
        not_found(actor, "GET", f"/api/receipts/{s.receipt}/signatures")
    own = s.a.staff["clerk"].ok("GET", f"/api/receipts/{s.receipt}/signatures")
    assert own["status"] == "unsigned" and own["recorded"]


def _annotated(s: Scene) -> None:
    for actor in (s.b.account, s.b.staff["clerk"]):
        not_found(actor, "GET", f"/api/receipts/{s.receipt}/annotated")
    own = s.a.staff["clerk"].get(f"/api/receipts/{s.receipt}/annotated")
    assert own.status_code == 200 and own.headers["content-type"] == "application/pdf"
    assert own.headers["cache-control"] == "private, no-store"
    number = s.a.account.ok("GET", f"/api/receipts/{s.receipt}")["receipt"]["receipt_number"]
    assert squash(f"เลขรับ {number}") in squash(page_texts(own.content, "pypdf")[0])


def _route(s: Scene) -> None:
    steps = [{"order": 1, "staff_id": s.b.ids["clerk"], "kind": "decision"}]
    not_found(s.b.staff["clerk"], "POST", f"/api/receipts/{s.receipt}/route", json={"steps": steps})


def _note(s: Scene) -> None:
    not_found(s.b.staff["clerk"], "POST", f"/api/receipts/{s.receipt}/notes", json={})
    lampang_is_untouched(s)


def _decision(s: Scene) -> None:
    body = {"kind": "ทราบ"}
    not_found(s.b.staff["clerk"], "POST", f"/api/receipts/{s.receipt}/decision", json=body)


def _acknowledgement(s: Scene) -> None:
    not_found(s.b.staff["clerk"], "POST", f"/api/receipts/{s.receipt}/acknowledgement")


def _tasks(s: Scene) -> None:
    assert s.b.staff["clerk"].ok("GET", "/api/tasks") == []


def _ovec_only(method: str, path: str) -> Callable[[Scene], None]:
    def check(s: Scene) -> None:
        for actor in (s.b.account, s.b.staff["clerk"]):
            assert actor.request(method, path).status_code == 403

    return check


def _credential(action: str) -> Callable[[Scene], None]:
    """OVEC's reissue and void: another college's credential is not found (as one that does
    not exist), the college's own is refused, and nothing changes."""

    def check(s: Scene) -> None:
        for actor in (s.b.account, s.b.staff["clerk"]):
            for code in (s.a.code, "0000000000", "x"):
                url = f"/api/colleges/{code}/credential/{action}"
                not_found(actor, "POST", url, json={"reason": "x"})
            own = actor.post(f"/api/colleges/{s.b.code}/credential/{action}", json={"reason": "x"})
            assert own.status_code == 403, own.text
        assert s.a.account.ok("GET", "/api/session")["username"] == LAMPANG
        assert s.b.account.ok("GET", "/api/session")["username"] == s.b.code
        lampang_is_untouched(s)

    return check


def _staff_since(s: Scene) -> None:
    """The staff made since the previous credential: OVEC's, and each college's own account's
    for itself; another college's is not found, and a member of staff may not look."""
    for actor in (s.b.account, s.b.staff["clerk"]):
        for code in (s.a.code, "0000000000", "x"):
            not_found(actor, "GET", f"/api/colleges/{code}/credential/staff")
    assert s.b.account.ok("GET", f"/api/colleges/{s.b.code}/credential/staff") == []
    own = s.b.staff["clerk"].get(f"/api/colleges/{s.b.code}/credential/staff")
    assert own.status_code == 403, own.text


def _switch_off(s: Scene) -> None:
    """Switching off a member of staff: never another college's."""
    clerk = s.a.ids["clerk"]
    for actor in (s.b.account, s.b.staff["clerk"]):
        not_found(actor, "POST", f"/api/colleges/{s.a.code}/credential/staff/{clerk}/switch-off")
    own = f"/api/colleges/{s.b.code}/credential/staff/{clerk}/switch-off"
    not_found(s.b.account, "POST", own)
    refused = s.b.staff["clerk"].post(own)
    assert refused.status_code == 403, refused.text  # only the college's own account may
    lampang_is_untouched(s)


CASES: dict[tuple[str, str], Callable[[Scene], None]] = {
    ("POST", "/api/login"): _login,
    ("POST", "/api/logout"): _logout,
    ("GET", "/api/session"): _session,
    ("POST", "/api/session/password"): _password,
    ("POST", "/api/credentials/verify"): _verify,
    ("GET", "/api/staff"): _list_staff,
    ("POST", "/api/staff"): _create_staff,
    ("GET", "/api/staff/{staff_id}"): _get_staff,
    ("PATCH", "/api/staff/{staff_id}"): _update_staff,
    ("POST", "/api/staff/{staff_id}/password-reset"): _reset_staff,
    ("GET", "/api/inbox"): _inbox,
    ("GET", "/api/inbox/{item_id}"): _inbox_item,
    ("GET", "/api/inbox/{item_id}/letter"): _inbox_letter,
    ("GET", "/api/inbox/{item_id}/signatures"): _inbox_signatures,
    ("GET", "/api/inbox/{item_id}/enclosures"): _enclosures_case("/api/inbox/{item}/enclosures"),
    ("POST", "/api/inbox/{item_id}/receive"): _receive,
    ("GET", "/api/receipts"): _register,
    ("POST", "/api/receipts"): _upload,
    ("GET", "/api/receipts/{receipt_id}"): _receipt,
    ("GET", "/api/receipts/{receipt_id}/letter"): _receipt_letter,
    ("GET", "/api/receipts/{receipt_id}/signatures"): _receipt_signatures,
    ("GET", "/api/receipts/{receipt_id}/enclosures"): _enclosures_case(
        "/api/receipts/{receipt}/enclosures"
    ),
    ("GET", "/api/receipts/{receipt_id}/annotated"): _annotated,
    ("POST", "/api/receipts/{receipt_id}/route"): _route,
    ("POST", "/api/receipts/{receipt_id}/notes"): _note,
    ("POST", "/api/receipts/{receipt_id}/decision"): _decision,
    ("POST", "/api/receipts/{receipt_id}/acknowledgement"): _acknowledgement,
    ("GET", "/api/tasks"): _tasks,
    ("GET", "/api/mailouts"): _ovec_only("GET", "/api/mailouts"),
    ("GET", "/api/tracking"): _ovec_only("GET", "/api/tracking"),
    ("GET", "/api/tracking.csv"): _ovec_only("GET", "/api/tracking.csv"),
    ("POST", "/api/colleges/{code}/credential/reissue"): _credential("reissue"),
    ("POST", "/api/colleges/{code}/credential/void"): _credential("void"),
    ("GET", "/api/colleges/{code}/credential/staff"): _staff_since,
    ("POST", "/api/colleges/{code}/credential/staff/{staff_id}/switch-off"): _switch_off,
    ("POST", "/api/mailouts"): _ovec_only("POST", "/api/mailouts"),
    ("GET", "/api/mailouts/{job_id}"): _ovec_only("GET", "/api/mailouts/1"),
    ("POST", "/api/mailouts/{job_id}/cancel"): _ovec_only("POST", "/api/mailouts/1/cancel"),
    ("GET", "/api/mailouts/{job_id}/files/{name}"): _ovec_only(
        "GET", "/api/mailouts/1/files/manifest.csv"
    ),
}


def test_every_route_in_the_schema_has_its_access_case() -> None:
    assert set(CASES) == schema_routes()


def test_a_college_reaches_nothing_of_another_college(world: World) -> None:
    scene = scene_of(world)
    for (method, path), check in CASES.items():
        try:
            check(scene)
        except AssertionError as exc:
            raise AssertionError(f"{method} {path}: {exc}") from exc


def test_every_route_needs_a_session_and_csrf(world: World) -> None:
    stranger = world.actor()
    lampang = world.college()
    no_csrf = world.actor()
    no_csrf.login(LAMPANG, world.run.passwords[LAMPANG])
    no_csrf.csrf = ""
    for method, path in sorted(schema_routes() - PUBLIC):
        url = concrete(path)
        kwargs = BODIES.get(path, {})
        response = stranger.request(method, url, **kwargs)
        assert response.status_code == 401, f"{method} {path}: {response.text}"
        if method != "GET":
            response = no_csrf.request(method, url, **kwargs)
            assert response.status_code == 403, f"{method} {path}: {response.text}"
            assert "CSRF" in response.json()["detail"]
    assert lampang.account.ok("GET", "/api/session")["username"] == LAMPANG


def test_a_first_login_allows_only_a_password_change(world: World) -> None:
    lampang = world.college()
    created = lampang.account.ok(
        "POST",
        "/api/staff",
        201,
        json={"handle": "newbie", "name": "นางใหม่ มาก่อน", "position": "ครู", "role": "clerk"},
    )
    newbie = world.actor()
    newbie.login(f"newbie@{LAMPANG}", created["initial_password"])
    for method, path in sorted(schema_routes() - PUBLIC - FIRST_LOGIN):
        response = newbie.request(method, concrete(path), **BODIES.get(path, {}))
        assert response.status_code == 403, f"{method} {path}: {response.text}"
        assert "change your password" in response.text
    assert newbie.ok("GET", "/api/session")["must_change_password"] is True
    weak = newbie.change_password(created["initial_password"], "short")
    assert weak.status_code == 422
    assert newbie.change_password(created["initial_password"], STAFF_PASSWORD).status_code == 200
    assert newbie.ok("GET", "/api/inbox") is not None


def test_staff_act_only_on_their_own_step_in_turn(world: World) -> None:
    s = scene_of(world)
    clerk, acting, head = (s.a.staff[r] for r in ("clerk", "acting", "planning_head"))
    notes, decision = f"/api/receipts/{s.receipt}/notes", f"/api/receipts/{s.receipt}/decision"

    early = acting.post(decision, json={"kind": "ทราบ"})
    assert early.status_code == 409 and "ยังไม่ถึงลำดับ" in early.json()["detail"]
    stranger = head.post(notes, json={"summary": "ขอเสนอ"})
    assert stranger.status_code == 409 and "ไม่ใช่ผู้รับผิดชอบ" in stranger.json()["detail"]
    assert (
        s.a.account.post(notes, json={}).status_code == 403
    )  # the college's account signs nothing
    assert clerk.post(decision, json={"kind": "ทราบ"}).status_code == 409  # a clerk never decides

    clerk.ok("POST", notes, 201, json={"summary": "ด้วย สอศ. แจ้ง"})
    twice = clerk.post(notes, json={"summary": "อีกครั้ง"})
    assert twice.status_code == 409 and "ดำเนินการแล้ว" in twice.json()["detail"]
    wrong_kind = acting.post(notes, json={"summary": "x"})
    assert wrong_kind.status_code == 409  # the acting director's step is a decision
    bad = acting.post(decision, json={"kind": "แจ้ง", "people": "รองฯ", "assignees": [999999]})
    assert bad.status_code == 422  # not one of Lampang's staff (nor anyone's, as far as it knows)
    acting.ok("POST", decision, 201, json={"kind": "ทราบ"})
    assert head.post(f"/api/receipts/{s.receipt}/acknowledgement").status_code == 409

    # Only the college's account manages staff; only the clerk (or the account) registers.
    member = {"handle": "x1", "name": "x", "position": "x", "role": "staff"}
    assert head.post("/api/staff", json=member).status_code == 403
    assert head.post(f"/api/inbox/{s.item}/receive", json={}).status_code == 403
    assert s.a.account.get("/api/tracking").status_code == 403
    ovec = world.ovec()
    assert ovec.get("/api/inbox").status_code == 403
    assert ovec.get(f"/api/receipts/{s.receipt}").status_code == 403
    assert ovec.get(f"/api/receipts/{s.receipt}/annotated").status_code == 403


# --------------------------------------------------------------------------- #
# Composing and sending (saraban.web.api.drafts): an organisation never sees another's drafts
# --------------------------------------------------------------------------- #

LETTER = {
    "kind": "external",
    "subject": "ขอความอนุเคราะห์",
    "to": "เลขาธิการคณะกรรมการการอาชีวศึกษา",
    "body": "ด้วยวิทยาลัยขอความอนุเคราะห์\n\nจึงเรียนมาเพื่อโปรดพิจารณา",
}


def lampang_draft(s: Scene) -> int:
    """Lampang's draft, written by its clerk, to be signed by its acting director."""
    s.a.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
    body = {**LETTER, "signer_id": s.a.ids["acting"]}
    return int(s.a.staff["clerk"].ok("POST", "/api/drafts", 201, json=body)["id"])


def _lampang_draft_is_untouched(s: Scene, draft: int) -> None:
    detail = s.a.staff["clerk"].ok("GET", f"/api/drafts/{draft}")
    assert (detail["draft"]["version"], detail["draft"]["status"]) == (1, "draft")
    assert detail["events"] == []


def _draft_case(method: str, suffix: str, **kwargs: Any) -> Callable[[Scene], None]:
    def check(s: Scene) -> None:
        draft = lampang_draft(s)
        for actor in (s.b.account, s.b.staff["clerk"], s.world.ovec(f"ovec-d{draft}")):
            not_found(actor, method, f"/api/drafts/{draft}{suffix}", **kwargs)
        _lampang_draft_is_untouched(s, draft)

    return check


def _organisation(s: Scene) -> None:
    assert s.b.staff["clerk"].ok("GET", "/api/organisation")["organisation"]["college_code"] == (
        s.b.code
    )
    staff = s.b.account.ok("GET", "/api/organisation")["staff"]
    assert {m["username"].split("@")[1] for m in staff} == {s.b.code}


def _update_organisation(s: Scene) -> None:
    s.b.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0999"})
    assert s.a.account.ok("GET", "/api/organisation")["organisation"]["agency_code"] == ""
    # A member of staff does not change the organisation's details.
    assert s.b.staff["clerk"].patch("/api/organisation", json={"address": "x"}).status_code == 403


def _list_drafts(s: Scene) -> None:
    draft = lampang_draft(s)
    assert draft not in {d["id"] for d in s.b.staff["clerk"].ok("GET", "/api/drafts")}
    assert s.b.account.ok("GET", "/api/drafts") == []


def _create_draft(s: Scene) -> None:
    s.b.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0999"})
    # Another college's member of staff is no signer of B's.
    body = {**LETTER, "signer_id": s.a.ids["acting"]}
    assert s.b.staff["clerk"].post("/api/drafts", json=body).status_code == 404
    created = s.b.staff["clerk"].ok("POST", "/api/drafts", 201, json=LETTER)
    assert s.a.staff["clerk"].get(f"/api/drafts/{created['id']}").status_code == 404


def _preview(s: Scene) -> None:
    s.a.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
    out = s.a.staff["clerk"].ok("POST", "/api/drafts/preview", json=LETTER)
    png = s.a.staff["clerk"].get(f"/api/drafts/preview/{out['key']}/1.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    not_found(s.b.staff["clerk"], "GET", f"/api/drafts/preview/{out['key']}/1.png")


def _preview_page(s: Scene) -> None:
    _preview(s)


def _upload_file(s: Scene) -> None:
    up = s.a.staff["clerk"].ok(
        "POST", "/api/drafts/files", 201, files={"file": ("a.pdf", tiny_pdf(), "application/pdf")}
    )
    s.b.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0999"})
    body = {**LETTER, "enclosures": [{"title": "สำเนา", "file": up["sha256"]}]}
    refused = s.b.staff["clerk"].post("/api/drafts", json=body)
    assert refused.status_code == 422 and "not uploaded" in refused.text  # A's file is not B's
    bad = s.a.staff["clerk"].post("/api/drafts/files", files={"file": ("x.pdf", b"nope", "x")})
    assert bad.status_code == 422


def _import(s: Scene) -> None:
    draft = lampang_draft(s)
    text_ = s.a.staff["clerk"].get(f"/api/drafts/{draft}/letter.toml").text
    # B imports A's letter file: its sender is not B.
    s.b.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0999"})
    refused = s.b.staff["clerk"].post(
        "/api/drafts/import", files={"letter": ("letter.toml", text_.encode(), "text/plain")}
    )
    assert refused.status_code == 422 and "[sender]" in refused.text
    again = s.a.staff["clerk"].post(
        "/api/drafts/import", files={"letter": ("letter.toml", text_.encode(), "text/plain")}
    )
    assert again.status_code == 201, again.text


def _approve_in_turn(s: Scene) -> None:
    draft = lampang_draft(s)
    clerk, acting, head = (s.a.staff[r] for r in ("clerk", "acting", "planning_head"))
    url = f"/api/drafts/{draft}"
    assert acting.post(f"{url}/approve").status_code == 409  # not up for signature yet
    clerk.ok("POST", f"{url}/submit", json={"to_id": s.a.ids["acting"]})
    assert clerk.post(f"{url}/approve").status_code == 403  # the clerk signs nothing
    assert head.post(f"{url}/forward", json={"to_id": s.a.ids["acting"]}).status_code == 403
    assert head.post(f"{url}/return", json={"reason": "x"}).status_code == 403
    assert s.a.account.post(f"{url}/approve").status_code == 422  # the account signs nothing
    not_found(s.b.staff["clerk"], "POST", f"{url}/approve")
    done = acting.ok("POST", f"{url}/approve")
    assert done["reference"] == "ศธ 0656.12/1"
    assert acting.post(f"{url}/approve").status_code == 409  # signed once


def _send(s: Scene) -> None:
    draft = lampang_draft(s)
    body = {"to": "all"}
    for actor in (s.b.account, s.b.staff["clerk"], s.world.ovec(f"ovec-s{draft}")):
        not_found(actor, "POST", f"/api/drafts/{draft}/send", json=body)
    # Not signed: nothing is sent, to anyone.
    refused = s.a.staff["clerk"].post(f"/api/drafts/{draft}/send", json=body)
    assert refused.status_code == 409
    _lampang_draft_is_untouched(s, draft)


CASES.update(
    {
        ("GET", "/api/organisation"): _organisation,
        ("PATCH", "/api/organisation"): _update_organisation,
        ("GET", "/api/drafts"): _list_drafts,
        ("POST", "/api/drafts"): _create_draft,
        ("POST", "/api/drafts/preview"): _preview,
        ("GET", "/api/drafts/preview/{key}/{page}.png"): _preview_page,
        ("POST", "/api/drafts/files"): _upload_file,
        ("POST", "/api/drafts/import"): _import,
        ("GET", "/api/drafts/{draft_id}"): _draft_case("GET", ""),
        ("PUT", "/api/drafts/{draft_id}"): _draft_case("PUT", "", json=LETTER),
        ("GET", "/api/drafts/{draft_id}/letter.toml"): _draft_case("GET", "/letter.toml"),
        ("GET", "/api/drafts/{draft_id}/export.zip"): _draft_case("GET", "/export.zip"),
        ("GET", "/api/drafts/{draft_id}/letter.pdf"): _draft_case("GET", "/letter.pdf"),
        ("POST", "/api/drafts/{draft_id}/submit"): _draft_case(
            "POST", "/submit", json={"to_id": 1}
        ),
        ("POST", "/api/drafts/{draft_id}/forward"): _draft_case(
            "POST", "/forward", json={"to_id": 1}
        ),
        ("POST", "/api/drafts/{draft_id}/return"): _draft_case(
            "POST", "/return", json={"reason": "x"}
        ),
        ("POST", "/api/drafts/{draft_id}/approve"): _approve_in_turn,
        ("POST", "/api/drafts/{draft_id}/send"): _send,
        ("POST", "/api/drafts/{draft_id}/send/roster"): _draft_case(
            "POST", "/send/roster", files={"roster": ("r.csv", b"code,name\n", "text/csv")}
        ),
        ("GET", "/api/drafts/{draft_id}/print-all.pdf"): _draft_case("GET", "/print-all.pdf"),
    }
)


# --------------------------------------------------------------------------- #
# Replies: a college answers a letter it received; the reply lands in the sender's inbox
# --------------------------------------------------------------------------- #


def lampang_reply(s: Scene) -> tuple[int, dict[str, Any]]:
    """Lampang's reply to the routed letter, signed by its acting director and sent: the
    reply draft's id and the send's answer."""
    s.a.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
    clerk, acting = s.a.staff["clerk"], s.a.staff["acting"]
    form = clerk.ok("GET", f"/api/receipts/{s.receipt}/reply")
    body = {**form, "body": "วิทยาลัยได้ดำเนินการแล้ว", "signer_id": s.a.ids["acting"]}
    draft = clerk.ok("POST", f"/api/receipts/{s.receipt}/reply", 201, json=body)["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": s.a.ids["acting"]})
    acting.ok("POST", f"/api/drafts/{draft}/approve")
    return draft, clerk.ok("POST", f"/api/drafts/{draft}/send", json={})


def _reply_form(s: Scene) -> None:
    for actor in (s.b.account, s.b.staff["clerk"]):
        not_found(actor, "GET", f"/api/receipts/{s.receipt}/reply")
    form = s.a.staff["clerk"].ok("GET", f"/api/receipts/{s.receipt}/reply")
    assert form["references"] and form["references"][0].startswith("หนังสือสำนักงานคณะกรรมการ")


def _start_reply(s: Scene) -> None:
    s.b.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0999"})
    before = s.b.staff["clerk"].ok("GET", "/api/drafts")
    not_found(s.b.staff["clerk"], "POST", f"/api/receipts/{s.receipt}/reply", json=LETTER)
    assert s.b.staff["clerk"].ok("GET", "/api/drafts") == before


def _received(s: Scene) -> None:
    _draft, sent = lampang_reply(s)
    assert sent["delivered_to"] == "สำนักงานคณะกรรมการการอาชีวศึกษา"
    for actor in (s.b.account, s.b.staff["clerk"], s.a.staff["clerk"]):
        assert actor.ok("GET", "/api/received") == []
    listed = s.world.ovec(f"ovec-r{_draft}").ok("GET", "/api/received")
    assert [i["receipt_number"] for i in listed] == [sent["receipt_number"]]


def _received_case(suffix: str) -> Callable[[Scene], None]:
    def check(s: Scene) -> None:
        draft, _sent = lampang_reply(s)
        ovec = s.world.ovec(f"ovec-i{draft}")
        item = ovec.ok("GET", "/api/received")[0]["id"]
        for actor in (s.b.account, s.b.staff["clerk"], s.a.staff["clerk"]):
            not_found(actor, "GET", f"/api/received/{item}{suffix}")
        assert ovec.get(f"/api/received/{item}{suffix}").status_code == 200

    return check


CASES.update(
    {
        ("GET", "/api/receipts/{receipt_id}/reply"): _reply_form,
        ("POST", "/api/receipts/{receipt_id}/reply"): _start_reply,
        ("GET", "/api/received"): _received,
        ("GET", "/api/received/{item_id}"): _received_case(""),
        ("GET", "/api/received/{item_id}/letter.pdf"): _received_case("/letter.pdf"),
    }
)


def _ovec_director(s: Scene, name: str) -> tuple[Actor, int]:
    from saraban.services import organisations
    from saraban.storage.engine import session_scope

    director = s.world.ovec(name)
    with session_scope(s.world.engine, immediate=True) as db:
        member = organisations.set_ovec_member(
            db, username=name, role="director", position="เลขาธิการ กอศ.", by="test"
        )
    return director, member.id


def _received_route_case(s: Scene) -> None:
    draft, _sent = lampang_reply(s)
    ovec = s.world.ovec(f"ovec-p{draft}")
    _director, director_id = _ovec_director(s, f"dir-p{draft}")
    item = ovec.ok("GET", "/api/received")[0]["id"]
    url = f"/api/received/{item}"
    plan = {"steps": [{"order": 1, "staff_id": director_id, "kind": "decision"}]}
    for actor in (s.b.account, s.b.staff["clerk"], s.a.staff["clerk"]):
        not_found(actor, "POST", f"{url}/route", json=plan)
    # Lampang's acting director is no one of OVEC's.
    foreign = {"steps": [{"order": 1, "staff_id": s.a.ids["acting"], "kind": "decision"}]}
    assert ovec.post(f"{url}/route", json=foreign).status_code == 422
    ovec.ok("POST", f"{url}/route", 201, json=plan)
    assert ovec.post(f"{url}/route", json=plan).status_code == 409


def _received_act_case(s: Scene) -> None:
    draft, _sent = lampang_reply(s)
    clerk = s.world.ovec(f"ovec-n{draft}")
    clerk_id = next(
        m["id"]
        for m in clerk.ok("GET", "/api/organisation")["staff"]
        if m["username"] == f"ovec-n{draft}"
    )
    director, director_id = _ovec_director(s, f"dir-n{draft}")
    item = clerk.ok("GET", "/api/received")[0]["id"]
    url = f"/api/received/{item}"
    steps = [
        {"order": 1, "staff_id": clerk_id, "kind": "note"},
        {"order": 2, "staff_id": director_id, "kind": "decision"},
    ]
    clerk.ok("POST", f"{url}/route", 201, json={"steps": steps})
    for actor in (s.b.staff["clerk"], s.a.staff["clerk"], s.a.staff["acting"]):
        not_found(actor, "POST", f"{url}/notes", json={"summary": "x"})
        not_found(actor, "POST", f"{url}/decision", json={"kind": "ทราบ"})
    assert director.post(f"{url}/decision", json={"kind": "ทราบ"}).status_code == 409  # early
    clerk.ok("POST", f"{url}/notes", 201, json={"summary": "วิทยาลัยรายงานแล้ว"})
    assert clerk.post(f"{url}/notes", json={"summary": "x"}).status_code == 409  # twice
    done = director.ok("POST", f"{url}/decision", 201, json={"kind": "ทราบ"})
    assert done["status"] == "completed" and done["decision"] == "ทราบ"


CASES.update(
    {
        ("POST", "/api/received/{item_id}/route"): _received_route_case,
        ("POST", "/api/received/{item_id}/notes"): _received_act_case,
        ("POST", "/api/received/{item_id}/decision"): _received_act_case,
    }
)


# --------------------------------------------------------------------------- #
# Letters delivered directly: OVEC's letter in Lampang's inbox, answered from there
# --------------------------------------------------------------------------- #


def delivered_to_lampang(s: Scene, tag: str) -> tuple[Actor, int]:
    """OVEC's letter (no slip), signed and delivered at once into Lampang's inbox: OVEC's
    clerk and the item's id in Lampang's inbox."""
    from saraban.services import organisations
    from saraban.storage.engine import session_scope

    clerk = s.world.ovec(f"ovec-c{tag}")
    signer = s.world.ovec(f"ovec-s{tag}")
    with session_scope(s.world.engine, immediate=True) as db:
        member = organisations.set_ovec_member(
            db, username=f"ovec-s{tag}", role="director", position="เลขาธิการ กอศ.", by="test"
        )
    body = {**LETTER, "to": "ผู้อำนวยการวิทยาลัย", "signer_id": member.id}
    draft = clerk.ok("POST", "/api/drafts", 201, json=body)["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": member.id})
    signer.ok("POST", f"/api/drafts/{draft}/approve")
    clerk.ok("POST", f"/api/drafts/{draft}/send", json={"codes": [s.a.code]})
    [item] = [i for i in s.a.account.ok("GET", "/api/received") if i["draft_id"] == draft]
    return clerk, item["id"]


def _received_reply_form(s: Scene) -> None:
    ovec, item = delivered_to_lampang(s, "f")
    for actor in (s.b.account, s.b.staff["clerk"], ovec):
        not_found(actor, "GET", f"/api/received/{item}/reply")
        not_found(actor, "GET", f"/api/received/{item}")
        not_found(actor, "GET", f"/api/received/{item}/letter.pdf")
    form = s.a.staff["clerk"].ok("GET", f"/api/received/{item}/reply")
    assert form["to"] == "เลขาธิการคณะกรรมการการอาชีวศึกษา"


def _start_received_reply(s: Scene) -> None:
    ovec, item = delivered_to_lampang(s, "r")
    s.b.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0999"})
    before = s.b.staff["clerk"].ok("GET", "/api/drafts")
    not_found(s.b.staff["clerk"], "POST", f"/api/received/{item}/reply", json=LETTER)
    not_found(ovec, "POST", f"/api/received/{item}/reply", json=LETTER)
    assert s.b.staff["clerk"].ok("GET", "/api/drafts") == before
    s.a.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
    body = {**LETTER, "signer_id": s.a.ids["acting"]}
    draft = s.a.staff["clerk"].ok("POST", f"/api/received/{item}/reply", 201, json=body)
    assert draft["reply_to_org_receipt_id"] == item


CASES.update(
    {
        ("GET", "/api/received/{item_id}/reply"): _received_reply_form,
        ("POST", "/api/received/{item_id}/reply"): _start_received_reply,
    }
)
