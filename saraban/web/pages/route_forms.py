"""The forms of the letter page that act on the route: planning it, a note (or a correction
of one's signed note: a new note that amends it), the decision, รับทราบ. Each posts to
``/receipts/{id}/<form>`` with the page's CSRF token; a refusal shows the letter page again
with the form as it was filled and why."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData

from saraban.domain import vocabulary
from saraban.domain.errors import Invalid, Refused
from saraban.domain.principal import Principal
from saraban.services import endorsement
from saraban.services.endorsement import DecisionIn, NoteIn, ProposalIn, RoutePlan, StepIn
from saraban.web.deps import CheckedForm, CollegeUser, SessionDep, SettingsDep
from saraban.web.errors import status_of
from saraban.web.pages.errors import thai_part
from saraban.web.pages.forms import text
from saraban.web.pages.letter import NOTE_SLOTS, PROPOSAL_TEXT, ReceiptId, letter_page
from saraban.web.pages.render import redirect

router = APIRouter(include_in_schema=False)


def _number(value: str) -> int | None:
    """A whole number written in 0-9 (not ², not ๒: ``str.isdigit`` takes those, ``int`` not);
    its range is the model's to check (DbInt)."""
    value = value.strip()
    return int(value) if value.isascii() and value.isdecimal() and len(value) <= 12 else None


def _ids(form: FormData, name: str) -> list[int]:
    return [n for v in form.getlist(name) if isinstance(v, str) and (n := _number(v)) is not None]


def _id(form: FormData, name: str) -> int | None:
    return _number(text(form, name))


def plan_from(form: FormData) -> RoutePlan:
    """Note writers in the order chosen (blank slots skipped), then the decision."""
    writers = [i for n in range(1, NOTE_SLOTS + 1) if (i := _id(form, f"note_{n}")) is not None]
    decider = _id(form, "decider")
    if decider is None:
        raise Invalid("decider", "โปรดเลือกผู้สั่งการ")
    steps = [StepIn(order=n, staff_id=i, kind="note") for n, i in enumerate(writers, 1)]
    steps.append(StepIn(order=len(writers) + 1, staff_id=decider, kind="decision"))
    return RoutePlan(steps=steps)


def note_from(form: FormData) -> NoteIn:
    checked = set(form.getlist("proposal"))
    proposals = []
    for kind in vocabulary.PROPOSAL_KINDS:
        words = " ".join(text(form, PROPOSAL_TEXT[kind]).split()) if kind in PROPOSAL_TEXT else ""
        if kind in checked or words:
            proposals.append(ProposalIn.model_validate({"kind": kind, "text": words}))
    return NoteIn(
        to_position=" ".join(text(form, "to_position").split()) or "ผู้อำนวยการ",
        summary=" ".join(text(form, "summary").split()) or None,
        proposals=proposals,
        amends=text(form, "amends").strip() or None,
    )


def decision_from(form: FormData) -> DecisionIn:
    """The order chosen; fields that belong to other orders (the people suggested for แจ้ง
    when the director writes ทราบ) are left out, not refused."""
    kind = text(form, "kind")
    assigning = kind in vocabulary.ASSIGNING
    returning = kind == vocabulary.RETURN
    return DecisionIn.model_validate(
        {
            "kind": kind,
            "people": " ".join(text(form, "people").split()) if assigning else "",
            "assignees": _ids(form, "assignee") if assigning else [],
            "reason": " ".join(text(form, "reason").split()) if returning else "",
            "return_to": _id(form, "return_to") if returning else None,
        }
    )


# What to say when the rules refuse a value (saraban.domain.routing's field names).
FIELD_MESSAGES = {
    "proposal": "โปรดระบุข้อความของข้อเสนอที่เลือก (ผู้ใด หรือข้อเสนออื่น)",
    "proposals": "โปรดระบุข้อความของข้อเสนอที่เลือก (ผู้ใด หรือข้อเสนออื่น)",
    "people": "โปรดระบุผู้ที่แจ้งหรือมอบ ตามที่จะเขียนในคำสั่ง",
    "assignees": "โปรดเลือกผู้ลงนามรับทราบอย่างน้อยหนึ่งคน (ไม่ซ้ำกัน)",
    "reason": "โปรดระบุเหตุผลที่ส่งคืน",
    "return_to": "โปรดเลือกผู้ที่จะส่งคืนให้ (ไม่ใช่ตนเอง)",
    "steps": (
        "โปรดตรวจสอบลำดับผู้เกษียนและผู้สั่งการ: ไม่ซ้ำคนในลำดับเดียวกัน และผู้สั่งการต้องเป็นผู้อำนวยการหรือผู้รักษาการ"
    ),
}


def refusal_message(exc: Refused) -> str:
    if isinstance(exc, Invalid):
        field = exc.field.split("[", 1)[0].split(".", 1)[0]
        return FIELD_MESSAGES.get(field, thai_part(exc.message))
    return thai_part(exc.message)


def _form_values(form: FormData) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for key in set(form.keys()):
        items = [v for v in form.getlist(key) if isinstance(v, str)]
        values[key] = items if key in ("proposal", "assignee") else (items[0] if items else "")
    return values


def _validation_message(exc: ValidationError) -> str:
    fields = {str(e["loc"][0]) for e in exc.errors(include_url=False) if e["loc"]}
    if "kind" in fields:
        return "โปรดเลือกคำสั่งการ"
    return "ข้อมูลไม่ครบหรือไม่ถูกต้อง โปรดตรวจสอบแบบฟอร์ม"


# Each form's act: the service call, and the message for the page that follows.
Act = Callable[[Session, Principal, int, FormData], str]


def _plan(db: Session, who: Principal, receipt_id: int, form: FormData) -> str:
    endorsement.plan(db, who=who, receipt_id=receipt_id, data=plan_from(form))
    return "เสนอหนังสือตามลำดับแล้ว"


def _note(db: Session, who: Principal, receipt_id: int, form: FormData) -> str:
    data = note_from(form)
    endorsement.add_note(db, who=who, receipt_id=receipt_id, data=data)
    return "ลงนามบันทึกฉบับแก้ไขแล้ว" if data.amends else "ลงนามบันทึกเกษียนแล้ว"


def _decide(db: Session, who: Principal, receipt_id: int, form: FormData) -> str:
    endorsement.decide(db, who=who, receipt_id=receipt_id, data=decision_from(form))
    return "ลงนามสั่งการแล้ว"


def _acknowledge(db: Session, who: Principal, receipt_id: int, form: FormData) -> str:
    endorsement.acknowledge(db, who=who, receipt_id=receipt_id)
    return "ลงนามรับทราบแล้ว"


def _form_route(act: Act) -> Callable[..., Response]:
    """The POST handler of one form: ``act``, then back to the letter page with its message;
    on a refusal, the letter page again with the form as filled and why."""

    def submit(
        request: Request,
        receipt_id: ReceiptId,
        who: CollegeUser,
        form: CheckedForm,
        db: SessionDep,
        settings: SettingsDep,
    ) -> Response:
        try:
            done = act(db, who, receipt_id, form)
        except ValidationError as exc:
            error, status = _validation_message(exc), 422
        except Refused as exc:
            if status_of(exc) in (401, 404):
                raise
            error, status = refusal_message(exc), status_of(exc)
        else:
            return redirect(f"/receipts/{receipt_id}", done)
        db.rollback()
        values = _form_values(form)
        return letter_page(
            request, who, db, receipt_id, settings, error=error, form=values, status_code=status
        )

    return submit


FORMS: dict[str, Act] = {
    "route": _plan,
    "notes": _note,
    "decision": _decide,
    "acknowledgement": _acknowledge,
}
for _name, _act in FORMS.items():
    router.add_api_route(
        f"/receipts/{{receipt_id}}/{_name}",
        _form_route(_act),
        methods=["POST"],
        name=f"letter_{_name}",
    )
