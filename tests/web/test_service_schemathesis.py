"""Schemathesis over the whole JSON API, logged in, on SQLite and PostgreSQL: generated valid
and invalid requests for every operation in the schema, and not one answer a server error."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.schemas import APIOperation

from saraban.services import audit
from saraban.services.sessions import COOKIE_NAME, CSRF_HEADER
from saraban.storage.engine import session_scope
from tests.support.service import LAMPANG, Actor, World

EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}
# Operations that may end the session they run in go last (a password reset or change, then
# logging out), so the others keep theirs.
LAST = ("/api/staff", "/api/session", "/api/logout")


def rank(operation: APIOperation) -> tuple[int, str, str]:
    later = [i for i, prefix in enumerate(LAST, 1) if operation.path.startswith(prefix)]
    return (later[-1] if later else 0), operation.path, operation.method


def credentials_of(actor: Actor) -> dict[str, dict[str, str]]:
    return {
        "headers": {CSRF_HEADER: actor.csrf},
        "cookies": {COOKIE_NAME: actor.client.cookies[COOKIE_NAME]},
    }


def test_no_operation_answers_a_server_error(world: World) -> None:
    lampang = world.college(staff=("clerk", "acting"))
    clerk = lampang.staff["clerk"]
    item = world.inbox_item(LAMPANG)
    receipt = clerk.ok("POST", f"/api/inbox/{item}/receive", 201, json={})["id"]
    steps = [
        {"order": 1, "staff_id": lampang.ids["clerk"], "kind": "note"},
        {"order": 2, "staff_id": lampang.ids["acting"], "kind": "decision"},
    ]
    clerk.ok("POST", f"/api/receipts/{receipt}/route", 201, json={"steps": steps})
    as_whom = {"OVEC": world.ovec(), "staff": lampang.account, "correspondence": clerk}

    schema = schemathesis.openapi.from_asgi("/api/openapi.json", world.app)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=rank)
    assert len(operations) >= 20
    for operation in operations:
        actor = as_whom.get(operation.tags[0] if operation.tags else "", clerk)
        for mode, count in EXAMPLES.items():
            fuzz(operation, mode, count, credentials_of(actor))
    # Generated codes name no college: OVEC's credential actions again on a real one (that no
    # other actor here logged in as), so their success paths meet generated reasons too.
    spare = {"code": world.run.codes[2]}
    for operation in operations:
        if operation.path.startswith("/api/colleges/{code}/credential/"):
            for mode, count in EXAMPLES.items():
                fuzz(operation, mode, count, credentials_of(as_whom["OVEC"]), spare)
    with session_scope(world.engine) as session:
        reissued = {e.subject for e in audit.events(session, event="reissue")}
    assert reissued == {f"college:{spare['code']}"}


def fuzz(
    operation: APIOperation,
    mode: GenerationMode,
    count: int,
    sent: dict[str, dict[str, str]],
    path_parameters: dict[str, str] | None = None,
) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        if path_parameters:
            case.path_parameters = {**(case.path_parameters or {}), **path_parameters}
        response = case.call(**sent)
        case.validate_response(response, checks=[not_a_server_error])

    try:
        call()
    except Unsatisfiable:
        # An operation without parameters has no invalid request to make.
        assert mode == GenerationMode.NEGATIVE, operation.label
