"""Every page form and query parameter, fuzzed (SQLite and PostgreSQL): what schemathesis does
for the JSON API (tests/web/test_service_schemathesis.py), hypothesis does here for the
server-rendered pages. Values are drawn from any text, numbers of every size, and the inputs
that gave 500s before: superscript and Thai digits (``str.isdigit`` takes them, ``int`` does
not), 20-digit numbers, NUL and other control characters, bidi overrides and zero-width
characters, long strings. Not one answer may be a server error; a refusal is a 4xx (or the
form again, or a redirect), never a traceback.

Each form is posted by the person whose form it is (the college, its clerk, the acting
director, OVEC), with a good CSRF token, so the request reaches the form's own checks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.browser import Site, Visitor
from tests.support.service import tiny_pdf

NASTY = [
    "",
    " ",
    "²",
    "¹²",
    "๑๒",
    "٣",
    "12345678901234567890",
    "99999999999999999999999999999999",
    "-1",
    "0",
    "1e9",
    "NaN",
    "\x00",
    "a\x00b",
    "\x01\x7f",
    "\r\n",
    "\u202eabc",
    "นาย\u200bสมชาย",
    "\ufeff",
    '=HYPERLINK("http://x","คลิก")',
    "x" * 5000,
    "๑๐",
    "2569",
    "10",
    "on",
    "paper",
    "ทราบ",
]
VALUE = st.one_of(
    st.sampled_from(NASTY),
    st.text(max_size=40),
    st.integers().map(str),
    st.from_regex(r"[0-9]{1,25}", fullmatch=True),
)
EXAMPLES = 25
HYPOTHESIS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def fields(*names: str) -> st.SearchStrategy[dict[str, str]]:
    """Some of ``names`` (any subset), each with a drawn value."""
    return st.fixed_dictionaries({}, optional=dict.fromkeys(names, VALUE))


def no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"


def fuzz_form(
    visitor: Visitor,
    url: str,
    names: tuple[str, ...],
    *,
    before: Callable[[], Any] | None = None,
    files: Callable[[], dict[str, Any]] | None = None,
) -> None:
    @HYPOTHESIS
    @given(data=fields(*names))
    def post(data: dict[str, str]) -> None:
        if before is not None:
            before()
        extra = {"files": files()} if files is not None else {}
        response = visitor.submit(url, data, follow_redirects=False, **extra)
        no_server_error(response, f"POST {url} {data!r}"[:300])

    post()


def fuzz_query(visitor: Visitor, url: str, names: tuple[str, ...]) -> None:
    @HYPOTHESIS
    @given(params=fields(*names))
    def get(params: dict[str, str]) -> None:
        response = visitor.client.get(url, params=params, follow_redirects=False)
        no_server_error(response, f"GET {url} {params!r}"[:300])

    get()


def fuzz_path(visitor: Visitor, template: str) -> None:
    @HYPOTHESIS
    @given(value=VALUE.filter(lambda v: "/" not in v and v not in (".", "..")))
    def get(value: str) -> None:
        from urllib.parse import quote

        url = template.format(quote(value, safe=""))
        response = visitor.client.get(url, follow_redirects=False)
        no_server_error(response, f"GET {url[:200]}")

    get()


@pytest.fixture
def people(site: Site) -> dict[str, Any]:
    """Lampang with a clerk and an acting director; a delivered letter registered and routed
    (the clerk's note, then the acting director's decision); OVEC."""
    college = site.college()
    staff = site.staff(college, "clerk", "acting")
    (clerk_id, clerk), (acting_id, acting) = staff["clerk"], staff["acting"]
    item = site.item_id()
    path = clerk.receive(item)
    clerk.get(path)
    planned = clerk.submit(f"{path}/route", {"note_1": str(clerk_id), "decider": str(acting_id)})
    assert planned.status_code == 200, planned.text
    return {
        "college": college,
        "clerk": clerk,
        "clerk_id": clerk_id,
        "acting": acting,
        "acting_id": acting_id,
        "item": item,
        "receipt": path,
        "ovec": site.ovec(),
    }


def test_no_page_query_answers_a_server_error(site: Site, people: dict[str, Any]) -> None:
    anonymous = site.visitor()
    fuzz_query(anonymous, "/login", ("next",))
    fuzz_query(people["clerk"], "/inbox", ("q", "state"))
    for url in ("/ovec/tracking", "/ovec/tracking.csv"):
        fuzz_query(people["ovec"], url, ("view", "mailout_id", "college", "province", "start"))
    fuzz_path(people["ovec"], "/ovec/colleges/{}")
    fuzz_path(people["clerk"], "/receipts/{}")
    fuzz_path(people["clerk"], "/inbox/{}")
    fuzz_path(people["college"], "/staff/{}")
    fuzz_path(people["clerk"], people["receipt"] + "/pages/{}.png")
    fuzz_path(anonymous, "/static/fonts/{}")


def test_no_page_form_answers_a_server_error(site: Site, people: dict[str, Any]) -> None:
    college, clerk, acting, ovec = (people[k] for k in ("college", "clerk", "acting", "ovec"))
    receipt = people["receipt"]

    fuzz_form(site.visitor(), "/login", ("username", "password", "next"))
    date = ("letter_date_day", "letter_date_month", "letter_date_year")
    # Another college's delivered letter is not Lampang's: the form's checks still run first.
    fuzz_form(clerk, f"/inbox/{people['item']}/receive", (*date, "action", "note"))
    fuzz_form(
        clerk,
        "/receipts",
        ("sender", "subject", "addressee", "letter_number", *date, "action", "note", "channel"),
        files=lambda: {"file": ("letter.pdf", tiny_pdf(), "application/pdf")},
    )
    staff_fields = ("handle", "name", "position", "role", "acting", "acting_for")
    fuzz_form(college, "/staff", staff_fields)
    fuzz_form(college, f"/staff/{people['acting_id']}", (*staff_fields[1:], "active"))
    fuzz_form(clerk, f"{receipt}/route", ("note_1", "note_2", "note_3", "note_4", "decider"))
    note = ("to_position", "summary", "proposal", "inform_text", "assign_text", "other_text")
    fuzz_form(clerk, f"{receipt}/notes", (*note, "amends"))
    decision = ("kind", "people", "assignee", "reason", "return_to")
    fuzz_form(acting, f"{receipt}/decision", decision)
    fuzz_form(acting, f"{receipt}/acknowledgement", ())

    spare = site.run.codes[2]  # a college no one here logged in as
    fuzz_form(ovec, f"/ovec/colleges/{spare}/void", ("void_reason",))
    fuzz_form(ovec, f"/ovec/colleges/{spare}/reissue", ("reissue_reason",))
    fuzz_form(ovec, f"/ovec/colleges/{spare}/staff/1/switch-off", ())
    # Last: these may end the session they run in.
    fuzz_form(college, f"/staff/{people['clerk_id']}/password-reset", ())
    fuzz_form(college, f"/staff/{people['clerk_id']}/switch-off", ())
    fuzz_form(acting, "/password", ("current_password", "new_password", "confirm_password"))
    fuzz_form(clerk, "/logout", ())
