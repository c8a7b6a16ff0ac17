"""OVEC's credential actions from the web: reissue (the new password shown once, on a slip)
and void, each with a reason, who and when.

A reissue goes through ``saraban.issuing.issue`` like the CLI's: the old credential voided
and the new hash stored in one transaction, with the slip rendered first. The slip is written
to a private temporary folder (``issue`` writes before it commits) and deleted as soon as the
answer is made: the password leaves only in that one answer, and is stored nowhere.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine

from credentials import DEFAULT_POLICY
from letters.slip import Slip, SlipText, render_slips
from saraban import audit, issuing, principal, store
from saraban.db import session_scope
from saraban.errors import Conflict, Invalid, NotFound
from saraban.models import BatchKind, normalise_college_code
from saraban.principal import Principal
from saraban.settings import Settings

MAX_REASON = 500


@dataclass(frozen=True)
class IssuedSlip:
    """The new credential as printed: shown once, never stored."""

    college_name: str
    code: str
    password: str = field(repr=False)
    pdf: bytes = field(repr=False)
    hint: str


def _reason(reason: str) -> str:
    text = " ".join(reason.split())
    if not text:
        raise Invalid("reason", "โปรดระบุเหตุผล")
    if len(text) > MAX_REASON:
        raise Invalid("reason", f"เหตุผลยาวเกิน {MAX_REASON} ตัวอักษร")
    return text


def _code(code: str) -> str:
    try:
        return normalise_college_code(code)
    except ValueError:
        raise NotFound(f"no college {code}") from None


def reissue(
    engine: Engine, settings: Settings, *, who: Principal, code: str, reason: str
) -> IssuedSlip:
    """Void the college's credential and issue a new one; its sessions end."""
    principal.ovec(who)
    code, reason = _code(code), _reason(reason)
    text = SlipText(hint=DEFAULT_POLICY.hint_th)
    made: list[Slip] = []

    def render(slips: Sequence[Slip]) -> bytes:
        made.extend(slips)
        return render_slips(slips, text, per_page=1)

    with tempfile.TemporaryDirectory(prefix="saraban-slip-") as folder:
        slip_path = Path(folder) / "slip.pdf"
        try:
            issuing.issue(
                engine,
                slips_path=slip_path,
                render=render,
                issued_by=who.actor,
                codes=[code],
                policy=DEFAULT_POLICY,
                hashing=settings.hashing,
                workers=1,
                kind=BatchKind.REISSUE,
                reason=reason,
            )
        except store.UnknownCollege:
            raise NotFound(f"no college {code}") from None
        except issuing.IssueError:
            raise Conflict("สถานศึกษานี้ไม่มีรหัสผ่านที่ใช้งานอยู่ให้ออกใหม่") from None
        pdf = slip_path.read_bytes()
    with session_scope(engine, immediate=True) as session:
        audit.record(
            session, "credential_reissued", who.actor, f"college:{code}", {"reason": reason}
        )
    (slip,) = made
    return IssuedSlip(slip.college_name, slip.code, slip.password, pdf, text.hint)


def void(engine: Engine, *, who: Principal, code: str, reason: str) -> None:
    """Void the college's credential: it no longer logs in, and its sessions end."""
    principal.ovec(who)
    code, reason = _code(code), _reason(reason)
    try:
        with session_scope(engine, immediate=True) as session:
            if store.get_college(session=session, code=code) is None:
                raise NotFound(f"no college {code}")
            store.void_credential(session=session, code=code, by=who.actor, reason=reason)
            audit.record(
                session, "credential_voided", who.actor, f"college:{code}", {"reason": reason}
            )
    except store.NoLiveCredential:
        raise Conflict("สถานศึกษานี้ไม่มีรหัสผ่านที่ใช้งานอยู่") from None
