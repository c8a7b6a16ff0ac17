"""The colleges' credentials: issue, reissue, void and verify, each written once and called by
the command line, the JSON API and the pages alike.

**Issue** (the command line, a batch): draw passwords (``secrets``), hash them over the cores,
render the slips to a partial file beside the target and fsync it, then in one transaction
record the batch and the hashes as committed, then rename the partial file into place. A crash
before the commit leaves an orphan partial file whose passwords were never valid: it is
deleted on the next run. A crash after it leaves a committed batch whose slips wait under the
partial name: the next run finishes the rename. So every stored hash has its slip, and no
password lives anywhere but the slips file the clerk asked for.

**Reissue** one college's credential, with a reason: the password is drawn, its slip rendered
and its hash made with no transaction open; then one transaction voids the live credential,
stores the new hash and records the audit event (one payload, whoever asked). The slip is made
before anything is stored: a slip that cannot be printed leaves the old credential live. From
the command line the slip is kept in the file given, as an issue batch of one (the same
partial-file discipline as an issue); from the service it is only returned, with the password,
and written nowhere. Sessions that logged in with the old credential end (saraban.services.
sessions).

**Void** a college's credential, with a reason: it no longer logs in, and its sessions end.
Both a void and a reissue end every session of the college, its staff's included; after a
void its staff cannot log in until a new credential is issued (saraban.services.passwords).
:func:`staff_since_previous` lists the staff accounts made since the credential before the
live one, for OVEC and the college to switch off those they did not make
(saraban.services.accounts).

**Verify** a college's password against its live credential (e-MVS asks through the API; a
clerk from the command line), under the login throttle with budgets of its own (scope
``emvs``: e-MVS's checks and the web's logins never lock each other), recorded in the audit
log; a hash made with other settings is replaced on success.

Reissue and void act for OVEC staff (a :class:`Principal`: anyone else is refused without
learning whether another college exists) or for the command line's operator (a name).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from credentials import (
    DEFAULT_POLICY,
    HashSettings,
    PasswordPolicy,
    generate,
    hash_many_while,
    policy_from_name,
)
from letters.slip import Slip, SlipText, render_slips
from saraban.domain.colleges import normalise_college_code
from saraban.domain.errors import Forbidden, Invalid, NotFound
from saraban.domain.principal import Principal, active
from saraban.domain.text import visible_text
from saraban.domain.vocabulary import SessionKind
from saraban.files import replace_durably, write_new
from saraban.services import audit, passwords, sessions, throttle
from saraban.services.passwords import Client
from saraban.settings import Settings
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    BatchKind,
    BatchState,
    College,
    CredentialPublic,
    IssueBatch,
    utcnow,
)

log = logging.getLogger(__name__)

DEFAULT_HASHING = HashSettings()
MAX_REASON = 500
# Where a verification from the command line comes from, for the throttle and the audit log.
COMMAND_LINE = Client("command line")

RenderSlips = Callable[[Sequence[Slip]], bytes]


class IssueError(Invalid):
    """A batch that cannot be issued as asked (its slips file); nothing was stored or written."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


@dataclass(frozen=True)
class IssueResult:
    batch_id: str | None
    codes: tuple[str, ...]
    slips_path: Path | None

    @property
    def count(self) -> int:
        return len(self.codes)


@dataclass(frozen=True)
class Reissued:
    """The new credential: the password is shown once and stored nowhere."""

    code: str
    college_name: str
    password: str = field(repr=False)
    credential: CredentialPublic
    slip: bytes | None = field(default=None, repr=False)  # when the caller asked for one
    slips_path: Path | None = None  # where the slip was kept (the command line)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # "ok", "wrong password", "no live credential"
    rehashed: bool = False


# --------------------------------------------------------------------------- #
# What is asked, checked
# --------------------------------------------------------------------------- #


def policy_named(name: str) -> PasswordPolicy:
    """A password policy by name (``default``, ``long``)."""
    try:
        return policy_from_name(name)
    except ValueError as exc:
        raise Invalid("policy", str(exc), text=str(exc)) from None


def reason_text(reason: str) -> str:
    """The reason on one line; required, at most ``MAX_REASON`` characters."""
    text = " ".join(visible_text("reason", reason).split())
    if not text:
        raise Invalid("reason", "โปรดระบุเหตุผล / a reason is required")
    if len(text) > MAX_REASON:
        raise Invalid("reason", f"เหตุผลยาวเกิน {MAX_REASON} ตัวอักษร / at most {MAX_REASON}")
    return text


def _normalised(code: str) -> str | None:
    try:
        return normalise_college_code(code)
    except ValueError:
        return None


def authorise(who: Principal, code: str) -> str:
    """The college code to act on, for OVEC staff; everyone else is refused without learning
    whether another college exists."""
    active(who)
    normalised = _normalised(code)
    if who.kind != SessionKind.OVEC:
        if normalised is not None and normalised == who.college_code:
            raise Forbidden("สำหรับเจ้าหน้าที่ สอศ. / for OVEC staff only")
        raise NotFound(f"no college {code}")
    if normalised is None:
        raise NotFound(f"no college {code}")
    return normalised


def _actor(who: Principal | str, code: str) -> tuple[str, str]:
    """Who acts on which college: OVEC staff, checked; or the command line's operator."""
    if isinstance(who, Principal):
        return who.actor, authorise(who, code)
    return who, normalise_college_code(code)


def _college(session: Session, code: str) -> College:
    college = store.get_college(session=session, code=code)
    if college is None:
        raise store.UnknownCollege([code])
    return college


def _public(credential: object) -> CredentialPublic:
    return CredentialPublic.model_validate(credential, from_attributes=True)


# --------------------------------------------------------------------------- #
# Slips files: both or neither
# --------------------------------------------------------------------------- #


def partial_path(final: Path, batch_id: str) -> Path:
    return final.with_name(f".{final.name}.{batch_id}.partial")


def recover(engine: Engine, folder: Path | None = None) -> list[str]:
    """Finish interrupted batches; delete partial slips of batches that never committed.

    Returns a line per action, for the log.
    """
    actions: list[str] = []
    with session_scope(engine) as session:
        batches = list(session.exec(select(IssueBatch)))
    committed = {b.id: Path(b.slips_path) for b in batches if b.state == BatchState.COMMITTED}
    for batch_id, final in committed.items():
        pending = partial_path(final, batch_id)
        if pending.exists():
            replace_durably(pending, final)
            actions.append(f"finished batch {batch_id}: slips at {final}")
            log.warning("finished interrupted batch %s: slips at %s", batch_id, final)
    folders = {final.parent for final in committed.values()}
    if folder is not None:
        folders.add(folder)
    for directory in folders:
        if not directory.is_dir():
            continue
        for pending in directory.glob(".*.partial"):
            batch_id = pending.name.rsplit(".", 2)[-2]
            if batch_id not in committed:
                pending.unlink()
                actions.append(f"removed slips of a batch that never committed: {pending.name}")
                log.warning("removed slips of a batch that never committed: %s", pending)
    return actions


def _new_slips_file(engine: Engine, slips_path: Path) -> Path:
    """The slips file to write, checked: a new file in a folder that exists. Interrupted
    batches are finished (or their orphans removed) first."""
    slips_path = slips_path.resolve()
    recover(engine, slips_path.parent)
    if slips_path.exists():
        raise IssueError(f"{slips_path} already exists; give a new file for these slips")
    if not slips_path.parent.is_dir():
        raise IssueError(f"folder {slips_path.parent} does not exist")
    return slips_path


# --------------------------------------------------------------------------- #
# Issue
# --------------------------------------------------------------------------- #


def issue(
    engine: Engine,
    *,
    slips_path: Path,
    render: RenderSlips,
    issued_by: str,
    codes: Sequence[str] | None = None,
    policy: PasswordPolicy = DEFAULT_POLICY,
    hashing: HashSettings = DEFAULT_HASHING,
    workers: int | None = None,
) -> IssueResult:
    """Issue credentials to ``codes`` (default: every college without one), their slips in
    ``slips_path`` (a new file): both or neither."""
    slips_path = slips_path.resolve()
    recover(engine, slips_path.parent)
    with session_scope(engine) as session:
        targets = store.colleges_without_live_credential(session=session, codes=codes)
        slips_base = [(c.code, c.name) for c in targets]
    if not slips_base:
        return IssueResult(batch_id=None, codes=(), slips_path=None)
    slips_path = _new_slips_file(engine, slips_path)

    passwords_drawn = [generate(policy) for _ in slips_base]
    slips = [
        Slip(college_name=name, code=code, password=pw)
        for (code, name), pw in zip(slips_base, passwords_drawn, strict=True)
    ]
    hashes, pdf = hash_many_while(hashing, passwords_drawn, partial(render, slips), workers=workers)
    del passwords_drawn, slips

    batch_id = str(uuid.uuid4())
    pending_slips = partial_path(slips_path, batch_id)
    write_new(pending_slips, pdf)
    del pdf
    try:
        with session_scope(engine, immediate=True) as session:
            store.create_batch(
                session=session,
                created_by=issued_by,
                kind=BatchKind.ISSUE,
                slips_path=str(slips_path),
                batch_id=batch_id,
            )
            by_code = {code: h for (code, _), h in zip(slips_base, hashes, strict=True)}
            store.store_credentials(
                session=session, batch_id=batch_id, issued_by=issued_by, hashes=by_code
            )
            store.commit_batch(session=session, batch_id=batch_id)
            audit.record(
                session, "issue", issued_by, f"batch:{batch_id}", {"colleges": sorted(by_code)}
            )
    except BaseException:
        pending_slips.unlink(missing_ok=True)
        raise
    replace_durably(pending_slips, slips_path)
    log.info(
        "batch %s: issue %d credentials by %s; slips at %s",
        batch_id,
        len(slips_base),
        issued_by,
        slips_path,
    )
    codes_issued = tuple(code for code, _ in slips_base)
    return IssueResult(batch_id=batch_id, codes=codes_issued, slips_path=slips_path)


# --------------------------------------------------------------------------- #
# Reissue and void
# --------------------------------------------------------------------------- #

RenderSlip = Callable[[str, str, str], bytes]  # (college name, code, password) -> PDF


def slips_renderer(hint: str = DEFAULT_POLICY.hint_th, per_page: int = 1) -> RenderSlips:
    """Slips as the command line prints them: the policy's hint, ``per_page`` to a page."""
    text = SlipText(hint=hint)
    return lambda slips: render_slips(slips, text, per_page=per_page)


def slip_renderer(hint: str = DEFAULT_POLICY.hint_th) -> RenderSlip:
    """One college's slip, alone on its page."""
    slips = slips_renderer(hint)
    return lambda name, code, password: slips(
        [Slip(college_name=name, code=code, password=password)]
    )


def reissue(
    engine: Engine,
    *,
    who: Principal | str,
    code: str,
    reason: str,
    hashing: HashSettings = DEFAULT_HASHING,
    policy: PasswordPolicy = DEFAULT_POLICY,
    slip: RenderSlip | None = None,
    slips_path: Path | None = None,
) -> Reissued:
    """Void the college's live credential and issue a new one; returns the new password.

    ``slip(college name, code, password)`` renders the printable slip before anything is
    stored: if it fails, the old credential stays live (a new hash nobody can read would lock
    the college out). With ``slips_path`` (a new file) the slip is kept there, committed with
    the new credential as an issue batch of one."""
    by, code = _actor(who, code)
    reason = reason_text(reason)
    with session_scope(engine) as session:  # a cheap refusal before the costly hash
        name = _college(session, code).name
        if store.live_credential(session=session, code=code) is None:
            raise store.NoLiveCredential(code)
    if slips_path is not None:
        if slip is None:
            raise TypeError("a slips file needs a slip to keep in it")
        slips_path = _new_slips_file(engine, slips_path)
    password = generate(policy)
    try:
        printed = slip(name, code, password) if slip is not None else None
    except ValueError as exc:  # the slip's layout refused it (a name too long to fit)
        raise Invalid("slip", f"พิมพ์ใบแจ้งรหัสผ่านไม่ได้ / the slip cannot be printed: {exc}") from None
    password_hash = passwords.make_hash(hashing, password)

    batch_id = pending_slips = None
    if slips_path is not None and printed is not None:
        batch_id = str(uuid.uuid4())
        pending_slips = partial_path(slips_path, batch_id)
        write_new(pending_slips, printed)
    try:
        with session_scope(engine, immediate=True) as session:
            if batch_id is not None:
                store.create_batch(
                    session=session,
                    created_by=by,
                    kind=BatchKind.REISSUE,
                    slips_path=str(slips_path),
                    batch_id=batch_id,
                )
            new = store.reissue_credential(
                session=session,
                code=code,
                password_hash=password_hash,
                by=by,
                reason=reason,
                batch_id=batch_id,
            )
            if batch_id is not None:
                store.commit_batch(session=session, batch_id=batch_id)
            sessions.revoke_college(session, code=code, now=utcnow())  # its staff's too
            details = {"reason": reason, "credential": new.id, "batch": batch_id}
            audit.record(session, "reissue", by, f"college:{code}", details)
            credential = _public(new)
    except BaseException:
        if pending_slips is not None:
            pending_slips.unlink(missing_ok=True)
        raise
    if pending_slips is not None and slips_path is not None:
        replace_durably(pending_slips, slips_path)
        log.info("batch %s: reissue 1 credentials by %s; slips at %s", batch_id, by, slips_path)
    log.info("reissued the credential of %s by %s: %s", code, by, reason)
    return Reissued(code, name, password, credential, printed, slips_path)


def void(engine: Engine, *, who: Principal | str, code: str, reason: str) -> CredentialPublic:
    """Void the college's credential: it no longer logs in, every session of the college
    ends (its staff's too), and its staff cannot log in until a new credential is issued."""
    by, code = _actor(who, code)
    reason = reason_text(reason)
    with session_scope(engine, immediate=True) as session:
        _college(session, code)
        voided = store.void_credential(session=session, code=code, by=by, reason=reason)
        sessions.revoke_college(session, code=code, now=utcnow())  # its staff's too
        details = {"reason": reason, "credential": voided.id}
        audit.record(session, "void", by, f"college:{code}", details)
        credential = _public(voided)
    log.info("voided the credential of %s by %s: %s", code, by, reason)
    return credential


# --------------------------------------------------------------------------- #
# Verify
# --------------------------------------------------------------------------- #


def verify(
    engine: Engine,
    settings: Settings,
    *,
    code: str,
    password: str,
    client: Client = COMMAND_LINE,
) -> Verdict:
    """Whether ``password`` is the college's live credential, under the same throttle as
    logging in (Throttled: no hash computed); every answer is in the audit log."""
    name = passwords.normalise_username(code)
    # e-MVS's budgets are its own (scope ``emvs``): its checks never lock the web's logins.
    budget = passwords.limits_for(settings, name, client.address, scope=throttle.EMVS)
    target = passwords.attempt(engine, settings, budget, name, utcnow(), colleges_only=True)
    try:
        ok, new_hash = passwords.check(settings, password, target)
    except BaseException:
        passwords.released(engine, budget)
        raise
    if target is None:
        passwords.failed(engine, name, client, "credentials/verify", budget)
        return Verdict(False, "no live credential")
    if not ok:
        passwords.failed(engine, name, client, "credentials/verify", budget)
        log.info("wrong password for %s", name)
        return Verdict(False, "wrong password")
    with session_scope(engine, immediate=True) as session:
        passwords.succeeded(session, budget)
        if new_hash:
            passwords.store_rehash(session, target, new_hash)
        details = {"address": client.address, "rehashed": bool(new_hash)}
        audit.record(session, "credential_verified", name, f"college:{name}", details)
    return Verdict(True, "ok", rehashed=bool(new_hash))


__all__ = [
    "COMMAND_LINE",
    "DEFAULT_HASHING",
    "MAX_REASON",
    "IssueError",
    "IssueResult",
    "Reissued",
    "Verdict",
    "authorise",
    "issue",
    "partial_path",
    "policy_named",
    "reason_text",
    "recover",
    "reissue",
    "slip_renderer",
    "slips_renderer",
    "verify",
    "void",
]
