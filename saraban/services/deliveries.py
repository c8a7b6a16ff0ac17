"""Delivering a signed letter directly into its recipients' inboxes: an external letter, a
circular or a memo without the credential slip, from OVEC to colleges (chosen, a province's,
all, or an uploaded roster) or from a college to OVEC. Each recipient registers it on arrival
with a receipt number from its own register (saraban.services.replies.register_delivery),
its signatures checked and the delivery audited.

Both or neither: every recipient gets it in one transaction, with the draft marked sent, or
none does. The PDFs are made before that transaction (so the write lock, one writer on
SQLite, is not held while typesetting) and kept under their sha256: a failure or a crash
leaves at most a file no row names, never a letter half delivered. A draft already sent is
refused, and the register's unique (organisation, draft) makes a second delivery impossible
even when two sends race.

A letter the same for every recipient (no merge field such as ``{{ college.name }}``) is
rendered once and kept once: the bytes signed at approval when it was signed then
(drafts.signed_path), else the letter as approved. A merged letter is typeset per recipient
in the request, at most :data:`MAX_MERGED` of them (50 took 1.4 s on SQLite, 2.2 s on
PostgreSQL, unsealed; a request is no place for hundreds); those copies are signed with the
organisation's seal when the approved letter was signed (a personal key is never kept, so it
cannot sign them), else go as approved, unsigned.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from letters.letter import render_letter
from letters.letterfile import LetterFile
from saraban.domain import drafts as rules
from saraban.domain.errors import Conflict, Invalid
from saraban.domain.principal import Principal
from saraban.domain.roster import College as RosterCollege
from saraban.domain.roster import RosterError, RosterFile, RosterProblem
from saraban.domain.vocabulary import in_bangkok
from saraban.services import drafts, organisations, replies, signatures
from saraban.services.replies import DeliveryOut, StoredLetter
from saraban.settings import Settings
from saraban.storage.engine import session_scope
from saraban.storage.models import College, Draft, utcnow

MAX_MERGED = 50
"""Letters typeset per recipient in one request; more is refused, naming the way out."""


def carries_slip(letter_file: LetterFile) -> bool:
    """A letter with the credential slip goes as a mailout (saraban.services.sending)."""
    enclosures = letter_file.spec.enclosures
    return bool(enclosures) and enclosures[-1].make == "credential-slip"


def merged(letter_file: LetterFile) -> bool:
    """Does the letter differ per recipient (a merge field in ``เรียน`` or the body)?"""
    return bool(letter_file.merge_names())


def known_colleges(session: Session, roster: RosterFile) -> list[RosterCollege]:
    """The roster's colleges, each one a college saraban knows (an inbox to deliver into);
    else RosterError naming every row that is not, and nothing is delivered."""
    codes = [row.code for row in roster.rows]
    found = set(session.exec(select(College.code).where(col(College.code).in_(codes))).all())
    numbers = roster.row_numbers or tuple(range(2, len(codes) + 2))
    problems = [
        RosterProblem(
            roster.source,
            number,
            "code",
            row.code,
            f"ไม่พบสถานศึกษา {row.name} ในระบบ / no such college in saraban: {row.code}",
        )
        for row, number in zip(roster.rows, numbers, strict=True)
        if row.code not in found
    ]
    if problems:
        raise RosterError(problems)
    return list(roster.rows)


@dataclass(frozen=True)
class _Plan:
    version: int
    letters: list[StoredLetter]  # one per recipient (the same one, for a shared letter)


def _recipient(college: RosterCollege) -> dict[str, str]:
    return {
        "code": college.code,
        "name": college.name,
        "province": college.province,
        "email": college.email,
        "director_title": college.director_title,
    }


def _prepare(
    engine: Engine,
    who: Principal,
    draft_id: int,
    colleges: list[RosterCollege] | None,
    settings: Settings,
) -> _Plan:
    """The PDFs, made and kept before anything is registered."""
    with Session(engine) as session:
        draft = drafts.get(session, who=who, draft_id=draft_id)
        if draft.status == "sent":
            raise Conflict("ส่งหนังสือฉบับนี้แล้ว / already sent")
        rules.may_send(drafts.state_of(session, draft))
        assert draft.approved_version is not None
        org = organisations.get(session, draft.organisation_id)
        version = drafts.version_row(session, draft, draft.approved_version)
        letter_file = drafts.parse(version.letter_toml, org, settings)
        count = 1 if colleges is None else len(colleges)
        if colleges is None or not merged(letter_file):
            pdf = drafts.letter_pdf(session, who=who, draft_id=draft_id, settings=settings)
            stored = replies.store_letter(pdf, settings)
            return _Plan(draft.approved_version, [stored] * count)
        if count > MAX_MERGED:
            raise Invalid(
                "to",
                f"หนังสือที่มีข้อความเฉพาะแต่ละแห่ง ส่งตรงได้ครั้งละไม่เกิน {MAX_MERGED} แห่ง "
                f"(เลือก {count} แห่ง): แบ่งส่งเป็นชุด หรือใช้ข้อความเดียวกันทุกแห่ง / a letter "
                f"merged per recipient is delivered directly to at most {MAX_MERGED} at once "
                f"({count} chosen): send it in parts, or make it the same for every recipient",
            )
        number = drafts.number_of(draft)
        approved_on = next(
            (
                in_bangkok(e.at).date()
                for e in reversed(drafts.events_of(session, draft_id))
                if e.kind == "approve"
            ),
            None,
        )
        signed = drafts.signed_path(settings, draft).exists()
    letters = []
    for college in colleges:
        letter = drafts.letter_for(letter_file, _recipient(college), number)
        if signed:
            pdf = signatures.sign_for(settings, letter, on=approved_on).pdf
        else:
            pdf = render_letter(letter)
        letters.append(replies.store_letter(pdf, settings))
    return _Plan(draft.approved_version, letters)


def deliver(
    engine: Engine,
    *,
    who: Principal,
    draft_id: int,
    colleges: list[RosterCollege] | None,
    settings: Settings,
) -> list[DeliveryOut]:
    """The signed letter into each college's inbox (``colleges``), or OVEC's (None), all in
    one transaction; the draft is sent."""
    plan = _prepare(engine, who, draft_id, colleges, settings)
    with session_scope(engine, immediate=True) as session:
        drafts.get(session, who=who, draft_id=draft_id)
        draft = session.exec(select(Draft).where(Draft.id == draft_id).with_for_update()).one()
        if draft.status == "sent":
            raise Conflict("ส่งหนังสือฉบับนี้แล้ว / already sent")
        if draft.status != "approved" or draft.approved_version != plan.version:
            raise Conflict("หนังสือเปลี่ยนไประหว่างส่ง / the letter changed while being sent")
        org = organisations.get(session, draft.organisation_id)
        spec = drafts.parse(
            drafts.version_row(session, draft, plan.version).letter_toml, org, settings
        ).spec
        targets = (
            [organisations.ovec(session)]
            if colleges is None
            else organisations.of_colleges(session, [c.code for c in colleges])
        )
        for to, stored in zip(targets, plan.letters, strict=True):
            replies.register_delivery(
                session, who=who, draft=draft, to=to, spec=spec, stored=stored, settings=settings
            )
        draft.status = "sent"
        draft.updated_at = utcnow()
        session.add(draft)
        payload = {
            "delivered": len(targets),
            "to": targets[0].name if len(targets) == 1 else f"สถานศึกษา {len(targets)} แห่ง",
            "files": len({s.sha256 for s in plan.letters}),
        }
        drafts.append_event(session, draft, who, "send", payload)
        return replies.deliveries_of(session, draft)
