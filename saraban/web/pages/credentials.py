"""OVEC's credential actions for the pages: the service layer
(saraban.services.credential_admin) does the reissue or void and records it; this only turns
a reissued password into the printable slip the page shows once (rendered in memory: no file
is ever written).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from credentials import DEFAULT_POLICY
from letters.slip import Slip, SlipText, render_slips
from saraban.domain.principal import Principal
from saraban.services import credential_admin
from saraban.settings import Settings

MAX_REASON = credential_admin.MAX_REASON


@dataclass(frozen=True)
class IssuedSlip:
    """The new credential as printed: shown once, never stored."""

    college_name: str
    code: str
    password: str = field(repr=False)
    pdf: bytes = field(repr=False)
    hint: str


def reissue(
    engine: Engine, settings: Settings, *, who: Principal, code: str, reason: str
) -> IssuedSlip:
    """Void the college's credential and issue a new one (its sessions end); its slip, made
    before anything is stored."""
    text = SlipText(hint=DEFAULT_POLICY.hint_th)

    def slip(name: str, code: str, password: str) -> bytes:
        return render_slips([Slip(college_name=name, code=code, password=password)], text)

    new = credential_admin.reissue(
        engine, settings, who=who, code=code, reason=reason, policy=DEFAULT_POLICY, slip=slip
    )
    assert new.slip is not None
    return IssuedSlip(new.college_name, new.code, new.password, new.slip, text.hint)


def void(engine: Engine, *, who: Principal, code: str, reason: str) -> None:
    """Void the college's credential: it no longer logs in, and its sessions end."""
    credential_admin.void(engine, who=who, code=code, reason=reason)
