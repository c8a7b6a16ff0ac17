"""What the service layer refuses, and why; the web layer maps each to its HTTP status.

Anything that belongs to another college is ``NotFound``, never ``Forbidden``: whether it
exists is itself not theirs to know.
"""

from __future__ import annotations


class ServiceError(Exception):
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unauthorized(ServiceError):
    status = 401


class Forbidden(ServiceError):
    status = 403


class PasswordChangeRequired(Forbidden):
    def __init__(self) -> None:
        super().__init__("เปลี่ยนรหัสผ่านก่อน / change your password first (POST /api/session/password)")


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Invalid(ServiceError):
    """A value the caller gave is wrong; ``field`` names it."""

    status = 422

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PayloadTooLarge(ServiceError):
    status = 413


class Throttled(ServiceError):
    """Too many failed logins: try again after ``retry_after`` seconds."""

    status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ลองใหม่ภายหลัง / too many failed attempts: try again in {retry_after} s")
        self.retry_after = retry_after
