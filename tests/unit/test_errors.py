"""One error tree (saraban.domain.errors): every error saraban and the typesetting raise on
purpose is a SarabanError; each crosses a process boundary whole; the web maps every kind of
refusal to a status in one table."""

from __future__ import annotations

import importlib
import inspect
import pickle
import pkgutil
from types import ModuleType

import pytest

import credentials
import letters
import saraban
from letters.letterfile import LetterFileError
from saraban.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Refused,
    SarabanError,
    Throttled,
    Unauthorized,
)
from saraban.domain.roster import RosterError, RosterProblem
from saraban.domain.routing import RoutingError
from saraban.web.errors import STATUS, status_of


def _modules(package: ModuleType) -> list[ModuleType]:
    names = [package.__name__]
    names += [
        info.name
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{package.__name__}.")
        if ".migrations" not in info.name and not info.name.endswith("__main__")
    ]
    return [importlib.import_module(name) for name in names]


def _exceptions() -> list[type[BaseException]]:
    found = []
    for package in (letters, credentials, saraban):
        for module in _modules(package):
            for _name, value in inspect.getmembers(module, inspect.isclass):
                if issubclass(value, BaseException) and value.__module__ == module.__name__:
                    found.append(value)
    return found


def test_every_error_raised_on_purpose_is_in_the_one_tree() -> None:
    errors = _exceptions()
    assert len(errors) > 20
    outside = [
        f"{e.__module__}.{e.__qualname__}"
        for e in errors
        if not issubclass(e, SarabanError) and not e.__name__.startswith("_")
    ]
    assert outside == []


@pytest.mark.parametrize(
    "error",
    [
        Invalid("reason", "โปรดระบุเหตุผล / a reason is required"),
        Throttled(30),
        RoutingError("proposal.text", "เห็นควรแจ้ง needs text"),
        RosterError([RosterProblem("roster.csv", 6, "code", "1.35202E+09", "is a number")]),
        LetterFileError(letters.letterfile.Path("letter.toml"), "date", 6, "not a date"),
    ],
)
def test_an_error_crosses_a_process_boundary_whole(error: SarabanError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error) and copy.message == error.message
    assert copy.__dict__ == error.__dict__


def test_each_refusal_has_its_status_in_one_table() -> None:
    expected = {
        Invalid: 422,
        Unauthorized: 401,
        Forbidden: 403,
        NotFound: 404,
        Conflict: 409,
        PayloadTooLarge: 413,
        Throttled: 429,
    }
    assert {kind: STATUS[kind] for kind in expected} == expected
    for error in _exceptions():
        if issubclass(error, Refused):
            nearest = next(k for k in error.__mro__ if k in STATUS)
            assert nearest is not Refused or error is Refused, error  # every refusal has a kind
    assert status_of(RoutingError("by", "not your turn")) == 422  # the service maps turns
    assert status_of(RosterError([])) == 422
