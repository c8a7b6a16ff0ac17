"""The one place the error tree (saraban.domain.errors) becomes HTTP: a status for each kind of
refusal, and the JSON answer the API gives. The pages answer the same refusals as pages, with
the same statuses (saraban.web.pages.errors).

Only refusals are answered here. A :class:`~saraban.domain.errors.ConfigError` or an
:class:`~saraban.domain.errors.InternalError` is a server error: logged, and answered 500
without its message.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from saraban.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    PayloadTooLarge,
    Refused,
    Throttled,
    Unauthorized,
)

STATUS: dict[type[Refused], int] = {
    Refused: 400,
    Invalid: 422,
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    PayloadTooLarge: 413,
    Throttled: 429,
}


def status_of(exc: Refused) -> int:
    """The HTTP status of a refusal: its nearest kind's."""
    for kind in type(exc).__mro__:
        if kind in STATUS:
            return STATUS[kind]  # type: ignore[index]
    return 400


def headers_of(exc: Refused) -> dict[str, str] | None:
    if isinstance(exc, Throttled):
        return {"Retry-After": str(exc.retry_after)}
    return None


def api_error(request: Request, exc: Exception) -> JSONResponse:
    """A refusal as the JSON API answers it: ``{"detail": message}``, or for an invalid
    value FastAPI's own shape (``[{"loc": [...], "msg": ..., "type": "value_error"}]``)."""
    assert isinstance(exc, Refused)
    if isinstance(exc, Invalid):
        path = (exc.field or "").replace("[", ".").replace("]", "").split(".")
        loc = ["body", *(part for part in path if part)]
        content: object = [{"loc": loc, "msg": exc.message, "type": "value_error"}]
    else:
        content = exc.message
    return JSONResponse({"detail": content}, status_code=status_of(exc), headers=headers_of(exc))


MAX_LOC_PART = 100
MAX_MESSAGE = 300


def validation_errors(exc: RequestValidationError) -> list[dict[str, object]]:
    """FastAPI's errors without what was sent: each error's place (``loc``), message and type
    only. FastAPI's own answer echoes the ``input`` (the whole body for a body that is not an
    object, a password for a password too long) and its ``ctx``: never here (ASVS 7.1.1)."""
    out = []
    for error in exc.errors():
        loc = [
            part if isinstance(part, int) else str(part)[:MAX_LOC_PART]
            for part in error.get("loc", ())
        ]
        out.append(
            {
                "loc": loc,
                "msg": str(error.get("msg", ""))[:MAX_MESSAGE],
                "type": str(error.get("type", "value_error"))[:MAX_LOC_PART],
            }
        )
    return out


def validation_error(request: Request, exc: Exception) -> JSONResponse:
    """The 422 answer of an invalid request (see :func:`validation_errors`)."""
    assert isinstance(exc, RequestValidationError)
    return JSONResponse({"detail": jsonable_encoder(validation_errors(exc))}, status_code=422)


def install_api_errors(app: FastAPI) -> None:
    app.add_exception_handler(Refused, api_error)
    app.add_exception_handler(RequestValidationError, validation_error)
