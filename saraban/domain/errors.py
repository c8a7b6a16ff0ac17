"""The one error tree: everything saraban refuses on purpose, and why.

Every such error is a :class:`SarabanError` carrying a message for a person. Most are a
:class:`Refused`: what a person asked for, refused with the reason (invalid, not found, not
now, not theirs...); the rest are a configuration that cannot work (:class:`ConfigError`) or
an invariant broken (:class:`InternalError`). The rules raise the subclass that says what went
wrong; the front doors map the tree, each in one place: the web to HTTP statuses
(``saraban.web.errors``), the command line to a one-line message and an exit code
(``saraban.cli.errors``). Errors of a module's own kind (a roster's rows, a routing move, a
letter file) subclass the branch they belong to.

Anything that belongs to another college is :class:`NotFound`, never :class:`Forbidden`:
whether it exists is itself not theirs to know.

The branches also derive from the built-in exception they stand for (``ValueError`` for
:class:`Invalid`, ``LookupError`` for :class:`NotFound`, ``RuntimeError`` for
:class:`InternalError`), so that code written against those still catches them.
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[SarabanError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls, *args)
    error.__dict__.update(state)
    return error


class SarabanError(Exception):
    """The root: a refusal or failure saraban raises on purpose, with its ``message``."""

    message: str

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __reduce__(self) -> tuple[Any, ...]:
        # Subclasses take other arguments than their message; a worker process's error must
        # still arrive in the parent whole (pickled with its fields, not re-constructed).
        return (_rebuild, (type(self), self.args, self.__dict__))


class Refused(SarabanError):
    """What a person asked for is refused, and they are told why: a status on the web, a
    message on the command line. Its branches say what kind of refusal it is."""


class Invalid(Refused, ValueError):
    """A value given is wrong; ``field`` names it (None: the input as a whole). The text is
    ``"field: message"`` unless the error has its own (``text``: a file, line and key)."""

    field: str | None

    def __init__(self, field: str | None, message: str, *, text: str | None = None) -> None:
        if text is None:
            text = f"{field}: {message}" if field else message
        super().__init__(text)
        self.field = field
        self.message = message


class NotFound(Refused, LookupError):
    """No such thing, or not the asker's to know of."""


class Conflict(Refused):
    """Not now: the state of things refuses it (already done, out of turn, taken meanwhile)."""


class Forbidden(Refused):
    """Known, but not this person's to do."""


class PasswordChangeRequired(Forbidden):
    def __init__(self) -> None:
        super().__init__("เปลี่ยนรหัสผ่านก่อน / change your password first (POST /api/session/password)")


class Unauthorized(Refused):
    """Not logged in, or the login failed (the same answer for every reason)."""


class Throttled(Refused):
    """Too many failed logins: try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ลองใหม่ภายหลัง / too many failed attempts: try again in {retry_after} s")
        self.retry_after = retry_after


class PayloadTooLarge(Refused):
    """A file larger than the service accepts."""


class ConfigError(SarabanError):
    """The installation's configuration cannot work (a font family, a setting)."""


class InternalError(SarabanError, RuntimeError):
    """An invariant broken by the code or by tampering, never by what a person asked: the web
    answers it as a server error."""
