"""Direct delivery over the JSON API: a signed letter without the credential slip goes at once
into each recipient's inbox, registered there with a receipt number from the recipient's own
register, its signature check stored, one audit event per delivery, all or nothing.

- OVEC's shared circular to three colleges: one file (one sha256), three receipt numbers, each
  college sees its own and nobody else's; sending again is refused.
- A letter merged per college: a PDF per college whose text layer names it; more colleges than
  the bound is refused (nothing delivered).
- A bad roster row (a college saraban does not know) delivers nothing and names the row.
- A college's letter to OVEC, routed there to a decision; OVEC answers it into the college's
  inbox (the reply goes to the sender organisation).
- A failure in the middle (a college's register gives a number already taken) delivers to
  nobody, and the send succeeds once the register is repaired.
- Signed at approval (the seal): the shared letter goes as those bytes; a merged letter's
  copies are each sealed, valid and trusted, their checks stored.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from saraban.domain.numbering import receipt_scope
from saraban.domain.roster import read_roster
from saraban.services import deliveries, organisations, signatures
from saraban.services.roster import import_roster
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    AuditEvent,
    Draft,
    NumberCounter,
    Organisation,
    OrgReceipt,
    SignatureCheck,
)
from saraban.web.app import create_app
from tests.support.drafts import SEED
from tests.support.mailouts import MailoutRun, copy_template
from tests.support.pdftext import page_texts, squash
from tests.support.pki import TestPKI
from tests.support.service import Actor, College, World, service_settings
from tests.web.test_service_sending import ovec_signer

SUBJECT = "ขอเชิญประชุมผู้บริหารสถานศึกษา"


def letter(
    signer_id: int,
    *,
    kind: str = "circular",
    to: str = "ผู้อำนวยการสถานศึกษา",
    body: str = "ด้วยสำนักงานคณะกรรมการการอาชีวศึกษาจะจัดประชุมผู้บริหารสถานศึกษา",
) -> dict[str, Any]:
    return {
        "kind": kind,
        "date": "2026-05-01",
        "subject": SUBJECT,
        "to": to,
        "body": body,
        "unit": "สำนักนโยบายและแผนการอาชีวศึกษา",
        "phone": "0 2026 5555",
        "signer_id": signer_id,
    }


def ovec_signed(world: World, **changes: str) -> tuple[Actor, int, str]:
    """OVEC's letter, written by the clerk and signed by the deputy: (clerk, draft, ที่)."""
    clerk, signer = ovec_signer(world)
    draft, reference = ovec_letter(clerk, signer, **changes)
    return clerk, draft, reference


def ovec_letter(clerk: Actor, signer: Actor, **changes: str) -> tuple[int, str]:
    staff = clerk.ok("GET", "/api/organisation")["staff"]
    signer_id = next(m["id"] for m in staff if m["username"] == "wiwat")
    draft = clerk.ok("POST", "/api/drafts", 201, json=letter(signer_id, **changes))["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": signer_id})
    reference = signer.ok("POST", f"/api/drafts/{draft}/approve")["reference"]
    return draft, reference


def delivered(world: World, draft: int) -> list[OrgReceipt]:
    with Session(world.engine) as s:
        return list(s.exec(select(OrgReceipt).where(OrgReceipt.draft_id == draft)).all())


def audit_kinds(world: World, kind: str) -> int:
    with Session(world.engine) as s:
        return len(s.exec(select(AuditEvent).where(AuditEvent.event == kind)).all())


def test_a_shared_letter_into_three_inboxes(world: World) -> None:
    clerk, draft, reference = ovec_signed(world)
    codes = list(world.run.codes)
    out = clerk.ok("POST", f"/api/drafts/{draft}/send", json={"codes": codes})
    assert out["job_id"] is None and out["colleges"] == 3
    assert sorted(d["college_code"] for d in out["deliveries"]) == sorted(codes)
    rows = delivered(world, draft)
    assert len(rows) == 3 and len({r.file_sha256 for r in rows}) == 1  # stored once
    assert len(list((world.settings.data_dir / "drafts" / "delivered").glob("*.pdf"))) == 1
    assert audit_kinds(world, "letter_delivered") == 3
    with Session(world.engine) as s:
        checks = s.exec(
            select(SignatureCheck).where(SignatureCheck.document_sha256 == rows[0].file_sha256)
        ).all()
        assert sorted(c.college_code for c in checks) == sorted(codes)
        assert s.get(Draft, draft).status == "sent"  # type: ignore[union-attr]
    again = clerk.post(f"/api/drafts/{draft}/send", json={"codes": codes})
    assert again.status_code == 409 and "already sent" in again.text
    assert len(delivered(world, draft)) == 3
    sent = clerk.ok("GET", f"/api/drafts/{draft}")
    assert [e["kind"] for e in sent["events"]][-1] == "send"

    numbers = {d["college_code"]: d["receipt_number"] for d in out["deliveries"]}
    ids = {r.organisation_id: r.id for r in rows}
    letter_bytes = None
    seen: dict[str, int] = {}
    for code in codes:
        college = world.college(code)
        [item] = college.account.ok("GET", "/api/received")
        assert (item["receipt_number"], item["letter_number"]) == (numbers[code], reference)
        assert item["sender"] == "สำนักงานคณะกรรมการการอาชีวศึกษา"
        pdf = college.account.get(f"/api/received/{item['id']}/letter.pdf").content
        assert letter_bytes is None or pdf == letter_bytes
        letter_bytes = pdf
        seen[code] = item["id"]
    assert sorted(seen.values()) == sorted(ids.values())
    # Nobody sees another's: a college, OVEC.
    lampang, other = world.college(codes[0]), world.college(codes[1])
    for path in ("", "/letter.pdf"):
        assert other.account.get(f"/api/received/{seen[codes[0]]}{path}").status_code == 404
        assert clerk.get(f"/api/received/{seen[codes[0]]}{path}").status_code == 404
    # The college's register is one: registering its mailout letter takes the next number.
    item = world.inbox_item(codes[0])
    entry = lampang.account.ok("POST", f"/api/inbox/{item}/receive", 201, json={})
    first = int(numbers[codes[0]].split("/")[0])
    assert entry["receipt_number"].split("/")[0] == str(first + 1)


def test_a_merged_letter_per_college_and_the_bound(world: World) -> None:
    body = "ด้วย{{ college.name }} ได้รับคัดเลือกเป็นสถานศึกษาต้นแบบ"
    clerk, draft, _ = ovec_signed(
        world, kind="external", to="ผู้อำนวยการ{{ college.name }}", body=body
    )
    import_roster(world.engine, read_roster(SEED / "roster.csv"))
    refused = clerk.post(f"/api/drafts/{draft}/send", json={"to": "all"})
    assert refused.status_code == 422, refused.text
    assert f"at most {deliveries.MAX_MERGED}" in refused.text
    assert delivered(world, draft) == []
    assert clerk.ok("GET", f"/api/drafts/{draft}")["draft"]["status"] == "approved"

    codes = list(world.run.codes)
    out = clerk.ok("POST", f"/api/drafts/{draft}/send", json={"codes": codes})
    assert len(out["deliveries"]) == 3
    rows = delivered(world, draft)
    assert len({r.file_sha256 for r in rows}) == 3
    with Session(world.engine) as s:
        names = {o.id: o.name for o in (organisations.of_college(s, c) for c in codes)}
    for row in rows:
        pdf = (world.settings.data_dir / row.file_path).read_bytes()
        text = squash(" ".join(page_texts(pdf, "pypdf")))
        assert squash(f"ผู้อำนวยการ{names[row.organisation_id]}") in text
        others = [n for i, n in names.items() if i != row.organisation_id]
        assert not any(squash(f"ด้วย{n}") in text for n in others)


def test_a_bad_roster_row_delivers_nothing(world: World) -> None:
    clerk, draft, _ = ovec_signed(world)
    lines = (SEED / "roster.csv").read_text(encoding="utf-8").splitlines()
    known = [line for line in lines[1:] if line.split(",")[0] in world.run.codes]
    unknown = lines[-1]  # the seed's last college: not in this database
    assert unknown.split(",")[0] not in world.run.codes
    roster = "\n".join([lines[0], *known[:2], unknown, known[2]]) + "\n"
    refused = clerk.post(
        f"/api/drafts/{draft}/send/roster",
        files={"roster": ("roster.csv", roster.encode("utf-8"), "text/csv")},
    )
    assert refused.status_code == 422 and "row 4" in refused.text, refused.text
    assert unknown.split(",")[0] in refused.text
    assert delivered(world, draft) == [] and audit_kinds(world, "letter_delivered") == 0
    good = "\n".join([lines[0], *known]) + "\n"
    out = clerk.ok(
        "POST",
        f"/api/drafts/{draft}/send/roster",
        files={"roster": ("roster.csv", good.encode("utf-8-sig"), "text/csv")},
    )
    assert len(out["deliveries"]) == 3


def college_signed(world: World) -> tuple[College, int, str]:
    """Lampang's letter to OVEC, written by its clerk and signed by the acting director."""
    college = world.college(staff=("clerk", "acting"))
    college.account.ok("PATCH", "/api/organisation", json={"agency_code": "ศธ 0656.12"})
    clerk = college.staff["clerk"]
    body = letter(
        college.ids["acting"],
        kind="external",
        to="เลขาธิการคณะกรรมการการอาชีวศึกษา",
        body="วิทยาลัยขอรายงานผลการดำเนินงานตามแผนปฏิบัติราชการ",
    )
    draft = clerk.ok("POST", "/api/drafts", 201, json=body)["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": college.ids["acting"]})
    reference = college.staff["acting"].ok("POST", f"/api/drafts/{draft}/approve")["reference"]
    return college, draft, reference


def test_a_college_letter_to_ovec_routed_to_a_decision_and_answered(world: World) -> None:
    college, draft, reference = college_signed(world)
    clerk = college.staff["clerk"]
    wrong = clerk.post(f"/api/drafts/{draft}/send", json={"codes": [world.run.codes[1]]})
    assert wrong.status_code == 422 and "goes to OVEC" in wrong.text
    out = clerk.ok("POST", f"/api/drafts/{draft}/send", json={"to": "ovec"})
    assert out["delivered_to"] == "สำนักงานคณะกรรมการการอาชีวศึกษา"
    assert [d["receipt_number"] for d in out["deliveries"]] == [out["receipt_number"]]

    ovec_clerk, deputy = ovec_signer(world)
    [item] = ovec_clerk.ok("GET", "/api/received")
    assert (item["letter_number"], item["receipt_number"]) == (reference, out["receipt_number"])
    staff = ovec_clerk.ok("GET", "/api/organisation")["staff"]
    ids = {m["username"]: m["id"] for m in staff}
    with session_scope(world.engine, immediate=True) as s:
        organisations.set_ovec_member(s, username="somchai", role="clerk", by="test")
        organisations.set_ovec_member(
            s,
            username="wiwat",
            role="deputy",
            position="รองเลขาธิการคณะกรรมการการอาชีวศึกษา",
            acting="รักษาราชการแทน",
            acting_for="เลขาธิการคณะกรรมการการอาชีวศึกษา",
            by="test",
        )
    steps = [
        {"order": 1, "staff_id": ids["somchai"], "kind": "note"},
        {"order": 2, "staff_id": ids["wiwat"], "kind": "decision"},
    ]
    ovec_clerk.ok("POST", f"/api/received/{item['id']}/route", 201, json={"steps": steps})
    note = {"to_position": "รองเลขาธิการ", "summary": "วิทยาลัยรายงานผล", "proposals": []}
    ovec_clerk.ok("POST", f"/api/received/{item['id']}/notes", 201, json=note)
    decided = deputy.ok("POST", f"/api/received/{item['id']}/decision", 201, json={"kind": "ทราบ"})
    assert decided["status"] in ("decided", "completed"), decided
    # Lampang does not see OVEC's inbox; another college neither.
    assert clerk.get(f"/api/received/{item['id']}").status_code == 404

    # OVEC answers it: the reply arrives in Lampang's inbox.
    form = ovec_clerk.ok("GET", f"/api/received/{item['id']}/reply")
    assert form["to"] == f"ผู้อำนวยการ{item['sender']}" and reference in form["references"][0]
    reply = ovec_clerk.ok(
        "POST",
        f"/api/received/{item['id']}/reply",
        201,
        json={**form, "body": "รับทราบแล้ว", "signer_id": ids["wiwat"]},
    )["id"]
    ovec_clerk.ok("POST", f"/api/drafts/{reply}/submit", json={"to_id": ids["wiwat"]})
    deputy.ok("POST", f"/api/drafts/{reply}/approve")
    answered = ovec_clerk.ok("POST", f"/api/drafts/{reply}/send", json={})
    assert (
        answered["delivered_to"]
        == college.account.ok("GET", "/api/organisation")["organisation"]["name"]
    )
    [back] = college.account.ok("GET", "/api/received")
    assert back["receipt_number"] == answered["receipt_number"]
    with Session(world.engine) as s:
        rows = s.exec(select(OrgReceipt).order_by(col(OrgReceipt.id))).all()
        assert [r.draft_id for r in rows] == [draft, reply]


def test_a_failure_in_the_middle_delivers_to_nobody(world: World) -> None:
    """The last college's register fails (its counter lost, so the number it gives is taken):
    the colleges before it were registered in the same transaction, and are not kept."""
    codes = sorted(world.run.codes)
    clerk, signer = ovec_signer(world)
    first, _ = ovec_letter(clerk, signer)
    clerk.ok("POST", f"/api/drafts/{first}/send", json={"codes": [codes[-1]]})
    with session_scope(world.engine, immediate=True) as s:
        lost = s.exec(
            select(NumberCounter).where(NumberCounter.scope == receipt_scope(codes[-1]))
        ).one()
        kept = {"scope": lost.scope, "year_be": lost.year_be, "last": lost.last}
        s.delete(lost)
    second, _ = ovec_letter(clerk, signer)
    before = audit_kinds(world, "letter_delivered")
    shaky = world.actor(raise_server_exceptions=False)
    shaky.client.cookies = clerk.client.cookies  # the clerk's session, errors as a user sees
    shaky.csrf = clerk.csrf
    failed = shaky.post(f"/api/drafts/{second}/send", json={"codes": codes})
    assert failed.status_code == 500, failed.text
    assert delivered(world, second) == []
    assert audit_kinds(world, "letter_delivered") == before
    with Session(world.engine) as s:
        assert s.get(Draft, second).status == "approved"  # type: ignore[union-attr]
        counters = {
            c.scope: c.last
            for c in s.exec(select(NumberCounter)).all()
            if c.scope in {receipt_scope(code) for code in codes}
        }
    assert receipt_scope(codes[0]) not in counters  # its number was given back
    with session_scope(world.engine, immediate=True) as s:
        s.add(NumberCounter(**kept))
    out = clerk.ok("POST", f"/api/drafts/{second}/send", json={"codes": codes})
    assert [d["receipt_number"].split("/")[0] for d in out["deliveries"]] == ["1", "1", "2"]


def test_signed_at_approval_the_shared_letter_goes_as_signed_and_merged_copies_are_sealed(
    engine: Engine, mailout_run: MailoutRun, tmp_path: Path, pki: TestPKI
) -> None:
    copy_template(mailout_run, engine)
    seal = tmp_path / "seal.p12"
    seal.write_bytes(pki.p12_with("signer", "seal-passphrase"))
    seal.chmod(0o600)
    settings = service_settings(
        tmp_path / "data",
        trust_dir=pki.write_trust_store(tmp_path / "ca"),
        seal_file=seal,
        seal_passphrase="seal-passphrase",
    )
    codes = sorted(mailout_run.codes)
    with ExitStack() as stack:
        world = World(create_app(settings, engine), engine, settings, mailout_run, stack)
        clerk, signer = ovec_signer(world)
        shared, _ = ovec_letter(clerk, signer)
        signed = clerk.get(f"/api/drafts/{shared}/letter.pdf").content
        assert [v.status for v in signatures.verdicts_of(signed, settings)] == ["valid"]
        clerk.ok("POST", f"/api/drafts/{shared}/send", json={"codes": codes})
        for row in delivered(world, shared):
            assert (settings.data_dir / row.file_path).read_bytes() == signed  # as signed
        merged, _ = ovec_letter(clerk, signer, kind="external", to="ผู้อำนวยการ{{ college.name }}")
        clerk.ok("POST", f"/api/drafts/{merged}/send", json={"codes": codes})
        rows = delivered(world, merged)
        assert len({r.file_sha256 for r in rows}) == 3
        with Session(engine) as s:
            for row in rows:
                pdf = (settings.data_dir / row.file_path).read_bytes()
                verdicts = signatures.verdicts_of(pdf, settings)
                assert [(v.status, v.trusted) for v in verdicts] == [("valid", True)]
                org = s.get(Organisation, row.organisation_id)
                assert org is not None and org.college_code is not None
                text = squash(" ".join(page_texts(pdf, "pypdf")))
                assert squash(f"ผู้อำนวยการ{org.name}") in text
                check = s.exec(
                    select(SignatureCheck).where(
                        SignatureCheck.college_code == org.college_code,
                        SignatureCheck.document_sha256 == row.file_sha256,
                    )
                ).one()
                assert check.status == "valid"
