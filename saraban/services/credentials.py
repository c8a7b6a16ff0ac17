"""Issuing credentials: hashes in the database and passwords on paper, both or neither.

A batch goes: draw passwords (``secrets``), hash them over the cores, render the slips to a
partial file beside the target and fsync it, then in one transaction record the batch and the
hashes as committed, then rename the partial file into place. A crash before the commit leaves
an orphan partial file whose passwords were never valid: it is deleted on the next run. A
crash after it leaves a committed batch whose slips wait under the partial name: the next run
finishes the rename. So every stored hash has its slip, and no password lives anywhere but the
slips file the clerk asked for.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    verify_password,
)
from letters.slip import Slip
from saraban.services import audit
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import BatchKind, BatchState, College, IssueBatch

log = logging.getLogger(__name__)
DEFAULT_HASHING = HashSettings()
RenderSlips = Callable[[Sequence[Slip]], bytes]


class IssueError(Exception):
    """A batch that cannot be issued; nothing was stored or written."""


@dataclass(frozen=True)
class IssueResult:
    batch_id: str | None
    codes: tuple[str, ...]
    slips_path: Path | None

    @property
    def count(self) -> int:
        return len(self.codes)


def partial_path(final: Path, batch_id: str) -> Path:
    return final.with_name(f".{final.name}.{batch_id}.partial")


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "xb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    _fsync_dir(path.parent)


def recover(engine: Engine, folder: Path | None = None) -> list[str]:
    """Finish interrupted batches; delete partial slips of batches that never committed.

    Returns a line per action, for the log.
    """
    actions: list[str] = []
    with session_scope(engine) as session:
        batches = list(session.exec(select(IssueBatch)))
    committed = {b.id: Path(b.slips_path) for b in batches if b.state == BatchState.COMMITTED}
    for batch_id, final in committed.items():
        partial = partial_path(final, batch_id)
        if partial.exists():
            os.replace(partial, final)
            _fsync_dir(final.parent)
            actions.append(f"finished batch {batch_id}: slips at {final}")
            log.warning("finished interrupted batch %s: slips at %s", batch_id, final)
    folders = {final.parent for final in committed.values()}
    if folder is not None:
        folders.add(folder)
    for directory in folders:
        if not directory.is_dir():
            continue
        for partial in directory.glob(".*.partial"):
            batch_id = partial.name.rsplit(".", 2)[-2]
            if batch_id not in committed:
                partial.unlink()
                actions.append(f"removed slips of a batch that never committed: {partial.name}")
                log.warning("removed slips of a batch that never committed: %s", partial)
    return actions


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
    kind: BatchKind = BatchKind.ISSUE,
    reason: str = "",
) -> IssueResult:
    """Issue credentials to ``codes`` (default: every college without one).

    For ``kind=REISSUE`` each code's live credential is voided with ``reason``.
    """
    slips_path = slips_path.resolve()
    recover(engine, slips_path.parent)
    with session_scope(engine) as session:
        if kind == BatchKind.REISSUE:
            targets = [_college(session, code) for code in codes or ()]
            for college in targets:
                if store.live_credential(session=session, code=college.code) is None:
                    raise IssueError(f"college {college.code} has no live credential to reissue")
        else:
            targets = store.colleges_without_live_credential(session=session, codes=codes)
        slips_base = [(c.code, c.name) for c in targets]
    if not slips_base:
        return IssueResult(batch_id=None, codes=(), slips_path=None)
    if slips_path.exists():
        raise IssueError(f"{slips_path} already exists; give a new file for these slips")
    if not slips_path.parent.is_dir():
        raise IssueError(f"folder {slips_path.parent} does not exist")

    passwords = [generate(policy) for _ in slips_base]
    slips = [
        Slip(college_name=name, code=code, password=pw)
        for (code, name), pw in zip(slips_base, passwords, strict=True)
    ]
    hashes, pdf = hash_many_while(hashing, passwords, partial(render, slips), workers=workers)
    del passwords, slips

    batch_id = str(uuid.uuid4())
    pending_slips = partial_path(slips_path, batch_id)
    _write_durably(pending_slips, pdf)
    del pdf
    try:
        with session_scope(engine, immediate=True) as session:
            store.create_batch(
                session=session,
                created_by=issued_by,
                kind=kind,
                slips_path=str(slips_path),
                batch_id=batch_id,
            )
            by_code = {code: h for (code, _), h in zip(slips_base, hashes, strict=True)}
            if kind == BatchKind.REISSUE:
                for code, password_hash in by_code.items():
                    store.reissue_credential(
                        session=session,
                        code=code,
                        password_hash=password_hash,
                        by=issued_by,
                        reason=reason,
                        batch_id=batch_id,
                    )
            else:
                store.store_credentials(
                    session=session, batch_id=batch_id, issued_by=issued_by, hashes=by_code
                )
            store.commit_batch(session=session, batch_id=batch_id)
            if kind == BatchKind.REISSUE:
                for code in by_code:
                    audit.record(
                        session,
                        "reissue",
                        issued_by,
                        f"college:{code}",
                        {"batch": batch_id, "reason": reason},
                    )
            else:
                audit.record(
                    session, "issue", issued_by, f"batch:{batch_id}", {"colleges": sorted(by_code)}
                )
    except BaseException:
        pending_slips.unlink(missing_ok=True)
        raise
    os.replace(pending_slips, slips_path)
    _fsync_dir(slips_path.parent)
    log.info(
        "batch %s: %s %d credentials by %s; slips at %s",
        batch_id,
        kind,
        len(slips_base),
        issued_by,
        slips_path,
    )
    codes_issued = tuple(code for code, _ in slips_base)
    return IssueResult(batch_id=batch_id, codes=codes_issued, slips_path=slips_path)


def _college(session: Session, code: str) -> College:
    college = store.get_college(session=session, code=code)
    if college is None:
        raise store.UnknownCollege([code])
    return college


def void(engine: Engine, *, code: str, by: str, reason: str) -> None:
    with session_scope(engine, immediate=True) as session:
        store.void_credential(session=session, code=code, by=by, reason=reason)
        audit.record(session, "void", by, f"college:{code}", {"reason": reason})
    log.info("voided the credential of %s by %s: %s", code, by, reason)


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str  # "ok", "wrong password", "no live credential"
    rehashed: bool = False


def verify(
    engine: Engine, *, code: str, password: str, hashing: HashSettings = DEFAULT_HASHING
) -> Verdict:
    """Check a college's password; a hash made with weaker settings is replaced on success."""
    with session_scope(engine, immediate=True) as session:
        credential = store.live_credential(session=session, code=code)
        if credential is None:
            return Verdict(False, "no live credential")
        ok, new_hash = verify_password(hashing.context(), password, credential.password_hash)
        if not ok:
            log.info("wrong password for %s", code)
            return Verdict(False, "wrong password")
        if new_hash:
            credential.password_hash = new_hash
            session.add(credential)
        return Verdict(True, "ok", rehashed=bool(new_hash))
