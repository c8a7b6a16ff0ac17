"""OVEC's credential actions for the pages: the service layer (saraban.credential_admin) does
the reissue or void and records it; this only turns a reissued password into the printable
slip the page shows once (rendered in memory: no file is ever written).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from credentials import DEFAULT_POLICY
from letters.slip import Slip, SlipText, render_slips
from saraban import credential_admin
from saraban.principal import Principal
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
    """Void the college's credential and issue a new one (its sessions end); its slip."""
    new = credential_admin.reissue(
        engine, settings, who=who, code=code, reason=reason, policy=DEFAULT_POLICY
    )
    text = SlipText(hint=DEFAULT_POLICY.hint_th)
    slip = Slip(college_name=new.college_name, code=new.code, password=new.password)
    pdf = render_slips([slip], text, per_page=1)
    return IssuedSlip(new.college_name, new.code, new.password, pdf, text.hint)


def void(engine: Engine, *, who: Principal, code: str, reason: str) -> None:
    """Void the college's credential: it no longer logs in, and its sessions end."""
    credential_admin.void(engine, who=who, code=code, reason=reason)
