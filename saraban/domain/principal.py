"""Who is asking: the logged-in principal, and the checks every service function starts with.

Three kinds: OVEC staff (tracking), a college (its own account: staff, inbox, register) and a
member of a college's staff (inbox, register, routing). A college and its staff see only that
college's things.
"""

from __future__ import annotations

from dataclasses import dataclass

from saraban.domain.errors import Forbidden, PasswordChangeRequired
from saraban.domain.vocabulary import REGISTRAR_ROLES, SessionKind


@dataclass(frozen=True)
class Principal:
    kind: SessionKind
    session_id: int
    username: str  # the OVEC username, the college code, or handle@college-code
    name: str
    college_code: str | None = None
    account_id: int | None = None
    role: str | None = None
    must_change_password: bool = False

    @property
    def actor(self) -> str:
        """How the audit log names them."""
        return self.username


def active(who: Principal) -> Principal:
    if who.must_change_password:
        raise PasswordChangeRequired()
    return who


def ovec(who: Principal) -> Principal:
    if active(who).kind != SessionKind.OVEC:
        raise Forbidden("สำหรับเจ้าหน้าที่ สอศ. / for OVEC staff only")
    return who


def college_of(who: Principal) -> str:
    """The college the principal acts in (a college, or its staff)."""
    code = active(who).college_code
    if code is None or who.kind == SessionKind.OVEC:
        raise Forbidden("สำหรับสถานศึกษา / for a college and its staff only")
    return code


def college_account(who: Principal) -> str:
    """The college's own account: it manages its staff."""
    code = college_of(who)
    if who.kind != SessionKind.COLLEGE:
        raise Forbidden("เฉพาะบัญชีของสถานศึกษา / only the college's own account manages staff")
    return code


def registrar(who: Principal) -> str:
    """The college's account or its clerk: they register letters and plan routes."""
    code = college_of(who)
    if who.kind == SessionKind.STAFF and who.role not in REGISTRAR_ROLES:
        raise Forbidden("เฉพาะงานสารบรรณ / only the clerk or the college's account may do this")
    return code


def staff(who: Principal) -> tuple[str, int]:
    """A member of staff (college code, staff id): only they sign notes and decisions."""
    code = college_of(who)
    if who.kind != SessionKind.STAFF or who.account_id is None:
        raise Forbidden("เฉพาะบุคลากร / only a member of staff signs: log in as yourself")
    return code, who.account_id
