"""Sending from the web over the JSON API: OVEC composes the seed circular (every part), sends
it up, the signer signs it (its ว number from the dispatch register), and OVEC sends it to the
colleges of an uploaded roster: a roster with a bad row sends nothing and names the row; the
answer is the mailout job at once, run by a real ``saraban worker``; then the colleges find
it in their inbox, numbered as signed, and log in with their slips' passwords."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from saraban.services import organisations
from saraban.storage.engine import session_scope
from saraban.storage.models import Account, DispatchEntry, Mailout
from tests.support.drafts import SEED, SEED_ENCLOSURE, SIGNER, seed_compose
from tests.support.jobs import running_worker, wait_for_job
from tests.support.mailouts import slip_credentials
from tests.support.service import Actor, World


def _roster(skip: int, count: int) -> str:
    lines = (SEED / "roster.csv").read_text(encoding="utf-8").splitlines()
    return "\n".join([lines[0], *lines[1 + skip : 1 + skip + count]]) + "\n"


def ovec_signer(world: World) -> tuple[Actor, Actor]:
    clerk = world.ovec("somchai")
    signer = world.ovec("wiwat")
    with session_scope(world.engine, immediate=True) as s:
        organisations.set_ovec_member(
            s, username="wiwat", role="deputy", position=SIGNER["position"], by="test"
        )
        row = s.exec(select(Account).where(Account.username == "wiwat")).one()
        row.name = SIGNER["name"]
        s.add(row)
    return clerk, signer


def seed_draft_body(clerk: Actor) -> tuple[int, dict[str, Any]]:
    """The seed circular as the compose form sends it, its enclosure uploaded first, to be
    signed by wiwat: his id and the body."""
    up = clerk.ok(
        "POST",
        "/api/drafts/files",
        201,
        files={"file": ("stand-in.pdf", SEED_ENCLOSURE.read_bytes(), "application/pdf")},
    )
    staff = clerk.ok("GET", "/api/organisation")["staff"]
    signer_id = next(m["id"] for m in staff if m["username"] == "wiwat")
    return signer_id, seed_compose(signer_id, up["sha256"])


def signed_seed(world: World) -> tuple[Actor, Actor, int]:
    clerk, signer = ovec_signer(world)
    signer_id, body = seed_draft_body(clerk)
    draft = clerk.ok("POST", "/api/drafts", 201, json=body)["id"]
    clerk.ok("POST", f"/api/drafts/{draft}/submit", json={"to_id": signer_id})
    signed = signer.ok("POST", f"/api/drafts/{draft}/approve")
    assert signed["reference"] == "ศธ 0603/ว 1"
    return clerk, signer, draft


def test_the_signed_seed_circular_sent_to_an_uploaded_roster(world: World, tmp_path: Path) -> None:
    clerk, _signer, draft = signed_seed(world)
    send = f"/api/drafts/{draft}/send/roster"
    bad = _roster(10, 2) + "135201650,วิทยาลัยที่รหัสขาด,ลำปาง,,\n"
    refused = clerk.post(send, files={"roster": ("roster.csv", bad.encode(), "text/csv")})
    assert refused.status_code == 422 and "row 4" in refused.text, refused.text
    with Session(world.engine) as s:
        assert s.exec(select(Mailout).where(Mailout.name.startswith("letter-"))).all() == []
    good = _roster(10, 2).encode("utf-8-sig")
    log = tmp_path / "worker.log"
    with running_worker(world.engine.url.render_as_string(hide_password=False), log):
        started = time.monotonic()
        out = clerk.ok("POST", send, files={"roster": ("roster.csv", good, "text/csv")})
        assert time.monotonic() - started < 30  # answered with the job, not after the mailout
        assert (out["colleges"], out["reference"]) == (2, "ศธ 0603/ว 1")
        assert out["job_url"] == f"/ovec/jobs/{out['job_id']}"
        assert clerk.ok("GET", f"/api/drafts/{draft}")["draft"]["status"] == "sent"
        again = clerk.post(send, files={"roster": ("roster.csv", good, "text/csv")})
        assert again.status_code == 409
        job = wait_for_job(lambda: clerk.ok("GET", f"/api/mailouts/{out['job_id']}"), log=log)
    assert (job["state"], job["total"], job["done"], job["errors"]) == ("finished", 2, 2, [])
    with Session(world.engine) as s:
        mailout = s.get(Mailout, job["mailout_id"])
        assert mailout is not None and mailout.reference == "ศธ 0603/ว 1"
        entries = s.exec(select(DispatchEntry).where(DispatchEntry.register_name == "สอศ.")).all()
        assert [e.reference for e in entries if e.kind == "circular"].count("ศธ 0603/ว 1") == 1
        out_dir = Path(mailout.out_dir)
    code = _roster(10, 1).splitlines()[1].split(",")[0]
    password = slip_credentials((out_dir / f"{code}.pdf").read_bytes())[code]
    college = world.actor()
    college.login(code, password)
    inbox = college.ok("GET", "/api/inbox")
    assert [(i["reference"], i["kind"]) for i in inbox] == [("ศธ 0603/ว 1", "circular")]
    print_file = clerk.get(f"/api/drafts/{draft}/print-all.pdf")
    assert print_file.status_code == 200 and print_file.content.startswith(b"%PDF")
    detail = clerk.ok("GET", f"/api/drafts/{draft}")
    assert detail["draft"]["status"] == "sent"
    assert [e["kind"] for e in detail["events"]] == ["submit", "approve", "send"]
