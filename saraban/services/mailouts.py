"""The mailout: one command turns a roster into numbered, print-ready bundles for every college.

A mailout folder holds ``letter.toml``, ``roster.csv`` (or ``.xlsx``), ``qr-sheet.toml``,
``mailout.toml`` (register, due date, password policy, slip text) and ``enclosures/``. Every
input is checked before anything is numbered or issued. Then:

1. one transaction imports the roster, records the mailout, takes its number from the dispatch
   register (one ``ว`` number for a circular, one per college otherwise) and lists one pending
   item per college;
2. the shared pages (enclosures, QR sheet, and the letter when it does not name the college)
   are rendered once;
3. worker processes each take a chunk of colleges: draw their passwords, hash them, render
   their own pages (letters and slips, as one document), assemble each bundle and write it
   beside the target as a partial file. A password never leaves the worker except inside
   that file;
4. the parent commits results in groups: it fsyncs the partial files, stores the credentials
   and the items' state, size and sha256 in one transaction, then renames the files into
   place.

A crash at any moment leaves either uncommitted partial files (deleted on the next run; their
passwords were never valid) or committed items whose files wait under the partial name
(renamed on the next run, after checking their sha256). So a rerun finishes the job, no college
gets two live credentials, and every stored hash has its slip in a bundle.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from pypdf.errors import PdfReadError
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from credentials import HashSettings, PasswordPolicy, generate, policy_from_name, pool_context
from letters.assembly import BundleBase, PageSource, PrintFile, RawPdf, merge_pdfs, sha256
from letters.letter import render_letter, render_letters
from letters.letterfile import LetterFile, LetterFileError, key_line, load_letter_file
from letters.model import Letter
from letters.qrsheet import QRSheet, load_qr_sheet, render_qr_sheet
from letters.slip import Slip, SlipText, check_slip_name, draw_slips, render_slips
from saraban.domain.errors import Invalid
from saraban.domain.roster import RosterFile, read_roster
from saraban.files import fsync_dir, fsync_files, write_if_changed
from saraban.services import audit, dispatch
from saraban.storage import store
from saraban.storage.engine import session_scope
from saraban.storage.models import (
    BatchKind,
    College,
    DispatchEntry,
    Mailout,
    MailoutItem,
    MailoutState,
    utcnow,
)

log = logging.getLogger(__name__)

MAILOUT_KEYS = {"register", "due_date", "policy", "slip"}
SLIP_KEYS = {"system_th", "system_en", "issuer", "hint"}
COMMIT_EVERY = 16  # results per transaction: few enough to lose little, many enough to be fast
# Colleges per worker task: a chunk's letters and slips are one document, so its fonts and its
# first letter's lines are drawn once for all of them.
CHUNK_MIN, CHUNK_MAX = 8, 64  # a chunk costs ≈ 30 ms of CPU on top of its colleges
MANIFEST_FIELDS = ("code", "college", "letter_number", "pages", "sha256", "file")


class MailoutError(Invalid):
    """A mailout that cannot run as given (its folder, files or output folder); nothing was
    numbered or issued."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


@dataclass(frozen=True)
class MailoutPlan:
    """Every input of a mailout, read and checked."""

    folder: Path
    name: str
    letter_file: LetterFile
    roster: RosterFile
    roster_path: Path
    qr_sheet: QRSheet | None
    slip_text: SlipText
    policy: PasswordPolicy
    register: str
    due_date: date | None
    fingerprint: str
    letter_names_college: bool
    enclosure_files: tuple[Path, ...]

    def letter_for(self, college: College | None, number: str | None) -> Letter:
        context = {"college": _college_context(college)} if college is not None else {}
        letter = self.letter_file.merge(context)
        return replace(letter, number=number) if number is not None else letter


def _college_context(college: Any) -> dict[str, str]:
    return {
        "code": college.code,
        "name": college.name,
        "province": college.province or "",
        "email": college.email or "",
        "director_title": college.director_title or "",
    }


def _toml_error(path: Path, source: str, table: str | None, key: str, message: str) -> MailoutError:
    line = key_line(source, table, key)
    where = f"{path}:{line}" if line else str(path)
    name = f"{table}.{key}" if table else key
    return MailoutError(f"{where}: key '{name}': {message}")


def _read_settings(folder: Path) -> tuple[dict[str, Any], str, Path]:
    path = folder / "mailout.toml"
    if not path.is_file():
        return {}, "", path
    source = path.read_text(encoding="utf-8")
    try:
        return tomllib.loads(source), source, path
    except tomllib.TOMLDecodeError as exc:
        raise MailoutError(f"{path}: invalid TOML: {exc}") from None


def _slip_text(settings: dict[str, Any], source: str, path: Path, hint: str) -> SlipText:
    table = settings.get("slip", {})
    if not isinstance(table, dict):
        raise _toml_error(path, source, None, "slip", "must be a table")
    for key in table:
        if key not in SLIP_KEYS:
            raise _toml_error(
                path, source, "slip", key, f"unknown key (known: {', '.join(sorted(SLIP_KEYS))})"
            )
    fields: dict[str, Any] = {"hint": table.get("hint", hint)}
    for key in ("system_th", "issuer"):
        if key in table:
            value = table[key]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _toml_error(path, source, "slip", key, "must be a list of text lines")
            fields[key] = tuple(value)
    if "system_en" in table:
        fields["system_en"] = str(table["system_en"])
    return SlipText(**fields)


def _check_pdf(path: Path) -> None:
    try:
        pages = len(PdfReader(path).pages)
    except (PdfReadError, OSError, ValueError) as exc:
        raise MailoutError(f"{path}: not a readable PDF ({exc})") from None
    if not pages:
        raise MailoutError(f"{path}: the PDF has no pages")


def load_plan(folder: Path, roster_path: Path | None = None) -> MailoutPlan:
    """Read and check a mailout folder. Raises :class:`MailoutError` (or the roster's own
    error, which lists every bad row) naming the file and the key or row."""
    folder = folder.resolve()
    if not folder.is_dir():
        raise MailoutError(f"{folder}: no such mailout folder")
    try:
        letter_file = load_letter_file(folder / "letter.toml")
    except LetterFileError as exc:
        raise MailoutError(str(exc)) from None

    settings, source, settings_path = _read_settings(folder)
    for key in settings:
        if key not in MAILOUT_KEYS:
            raise _toml_error(
                settings_path,
                source,
                None,
                key,
                f"unknown key (known: {', '.join(sorted(MAILOUT_KEYS))})",
            )
    try:
        policy = policy_from_name(str(settings.get("policy", "default")))
    except ValueError as exc:
        raise _toml_error(settings_path, source, None, "policy", str(exc)) from None
    due = settings.get("due_date")
    if due is not None and not isinstance(due, date):
        raise _toml_error(settings_path, source, None, "due_date", "must be a date (YYYY-MM-DD)")
    slip_text = _slip_text(settings, source, settings_path, policy.hint_th)

    if roster_path is None:
        candidates = [folder / "roster.csv", folder / "roster.xlsx"]
        roster_path = next((p for p in candidates if p.is_file()), None)
        if roster_path is None:
            raise MailoutError(f"{folder}: no roster.csv or roster.xlsx (or give --roster)")
    roster = read_roster(roster_path)
    if not roster.rows:
        raise MailoutError(f"{roster_path}: the roster has no colleges")

    letter_path = folder / "letter.toml"
    enclosures = letter_file.data["enclosures"]
    qr_sheet = None
    files: list[Path] = []
    for n, enclosure in enumerate(enclosures, start=1):
        if enclosure.make == "credential-slip" and n != len(enclosures):
            raise letter_file.error("enclosures", f"item {n}: the credential slip must be last")
        if enclosure.file:
            _check_pdf(Path(enclosure.file))
            files.append(Path(enclosure.file))
        elif enclosure.make == "qr-sheet":
            qr_path = folder / "qr-sheet.toml"
            if not qr_path.is_file():
                raise letter_file.error(
                    "enclosures", f"item {n}: make = 'qr-sheet' needs {qr_path}"
                )
            try:
                qr_sheet = load_qr_sheet(qr_path)
            except LetterFileError as exc:
                raise MailoutError(str(exc)) from None
        elif enclosure.make is None:
            raise MailoutError(
                f"{letter_path}: key 'enclosures': item {n} ({enclosure.title[:30]}…) has neither "
                "a file nor make: the bundle could not hold what the letter lists"
            )
    if not enclosures or enclosures[-1].make != "credential-slip":
        raise MailoutError(
            f"{letter_path}: key 'enclosures': a mailout needs a last item with "
            "make = 'credential-slip'"
        )

    # Every college's letter must merge; keep the first error with its row.
    merged: set[bytes] = set()
    for college in roster.rows:
        try:
            letter = letter_file.merge({"college": _college_context(college)})
        except LetterFileError as exc:
            raise MailoutError(f"{exc} (for college {college.code}, {college.name})") from None
        # A digest, not the texts: the roster may hold thousands of colleges.
        merged.add(hashlib.sha256("\0".join((letter.to, *letter.body)).encode()).digest())
        try:
            check_slip_name(college.name, slip_text)
        except ValueError as exc:
            raise MailoutError(f"{roster_path}: college {college.code}: {exc}") from None

    digest = hashlib.sha256()
    for path in [letter_path, settings_path, folder / "qr-sheet.toml", *files]:
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return MailoutPlan(
        folder=folder,
        name=folder.name,
        letter_file=letter_file,
        roster=roster,
        roster_path=roster_path,
        qr_sheet=qr_sheet,
        slip_text=slip_text,
        policy=policy,
        register=str(settings.get("register", "สอศ.")),
        due_date=due,
        fingerprint=digest.hexdigest(),
        letter_names_college=len(merged) > 1,
        enclosure_files=tuple(files),
    )


# --------------------------------------------------------------------------- #
# Phase 1: record the mailout, its number and its items
# --------------------------------------------------------------------------- #


MARKER = ".saraban-mailout"


def _check_out_folder(out: Path, token: str | None) -> None:
    """An output folder belongs to one mailout of one database."""
    marker = out / MARKER
    if marker.is_file():
        if marker.read_text(encoding="utf-8").strip() != token:
            raise MailoutError(
                f"{out} holds another mailout's bundles (not this database's {MARKER}); use the "
                "database that made them (SARABAN_DB / DATABASE_URL) or an empty folder"
            )
    elif any(out.iterdir()):
        raise MailoutError(f"{out} is not empty: give an empty or new folder for the bundles")


def _prepare(plan: MailoutPlan, engine: Engine, out: Path, issued_by: str) -> int:
    letter = (
        plan.letter_for(None, None)
        if not plan.letter_names_college
        else plan.letter_for(plan.roster.rows[0], None)
    )
    with session_scope(engine, immediate=True) as session:
        store.import_colleges(session=session, colleges=plan.roster.rows)
        mailout = session.exec(select(Mailout).where(Mailout.name == plan.name)).one_or_none()
        if mailout is not None:
            if mailout.fingerprint != plan.fingerprint:
                raise MailoutError(
                    f"mailout {plan.name} was started from different files (letter, settings, "
                    "QR sheet or enclosures changed); put the changed mailout in a new folder"
                )
            if Path(mailout.out_dir) != out:
                raise MailoutError(f"mailout {plan.name} writes to {mailout.out_dir}, not {out}")
            _check_out_folder(out, mailout.token)
        else:
            _check_out_folder(out, None)
            mailout = Mailout(
                name=plan.name,
                folder=str(plan.folder),
                out_dir=str(out),
                fingerprint=plan.fingerprint,
                kind=letter.kind,
                subject=letter.subject,
                letter_date=letter.date,
                due_date=plan.due_date,
                created_by=issued_by,
            )
            session.add(mailout)
            session.flush()
            if letter.kind == "circular":
                mailout.reference = (
                    letter.reference_number
                    if letter.number
                    else _take(session, plan, letter, mailout, letter.to, issued_by).reference
                )
        assert mailout.id is not None
        existing = set(
            session.exec(
                select(MailoutItem.college_code).where(MailoutItem.mailout_id == mailout.id)
            )
        )
        pending_codes = [
            code
            for code in session.exec(
                select(MailoutItem.college_code).where(
                    MailoutItem.mailout_id == mailout.id, MailoutItem.state == "pending"
                )
            )
        ]
        new = [c for c in plan.roster.rows if c.code not in existing]
        clash = store.codes_with_live_credential(
            session=session, codes=[c.code for c in new] + pending_codes
        )
        if clash:
            raise MailoutError(
                f"{len(clash)} colleges already have a live credential from elsewhere: "
                f"{', '.join(sorted(clash)[:20])}{' …' if len(clash) > 20 else ''}; void them "
                "(saraban credentials void CODE --reason ...) or leave them out of the roster"
            )
        rows = []
        for college in new:
            reference = mailout.reference
            if letter.kind != "circular":
                reference = (
                    letter.reference_number
                    if letter.number
                    else _take(session, plan, letter, mailout, college.name, issued_by).reference
                )
            rows.append(
                {
                    "mailout_id": mailout.id,
                    "college_code": college.code,
                    "reference": reference,
                    "file_name": f"{college.code}.pdf",
                    "state": "pending",
                }
            )
        if rows:  # one statement: a roster may hold thousands of colleges
            session.execute(insert(MailoutItem), rows)
        if new and mailout.state == MailoutState.FINISHED:
            mailout.state = MailoutState.RUNNING
            mailout.finished_at = None
        session.add(mailout)
        token, mailout_id = mailout.token, mailout.id
    marker = out / MARKER
    if not marker.is_file():
        marker.write_text(token + "\n", encoding="utf-8")
    return mailout_id


def _take(
    session: Session,
    plan: MailoutPlan,
    letter: Letter,
    mailout: Mailout,
    recipients: str,
    by: str,
) -> DispatchEntry:
    return dispatch.take_number(
        session=session,
        register=plan.register,
        kind=letter.kind,
        dated=letter.date,
        subject=letter.subject,
        recipients=recipients,
        owning_unit=letter.sender.unit.replace("\n", " ") or letter.sender.agency,
        created_by=by,
        mailout_id=mailout.id,
        agency_code=letter.sender.code,
    )


# --------------------------------------------------------------------------- #
# Phase 2: the bundles, in worker processes
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class _Job:
    code: str
    name: str
    province: str
    email: str
    director_title: str
    reference: str | None
    file_name: str


@dataclass(frozen=True)
class _Done:
    code: str
    password_hash: str
    sha256: str
    pages: int
    letter_pages: int
    partial: str


_worker: dict[str, Any] = {}


def _number_of(reference: str | None) -> str | None:
    """The number part of ``ศธ 0603/ว 5553`` (the letter prints the prefix itself)."""
    if not reference:
        return None
    return reference.rsplit("/", 1)[-1].removeprefix("ว").strip()


def _init_worker(
    plan: MailoutPlan | tuple[Path, Path],
    base_pdf: bytes,
    letter_pdf: bytes | None,
    hashing: HashSettings,
    out: str,
) -> None:
    if isinstance(plan, tuple):  # a spawned worker reads the (checked) inputs again
        plan = load_plan(*plan)
    _worker.update(
        plan=plan,
        base=BundleBase(base_pdf),
        # The letter shared by every college, parsed once: (document, its pages).
        letter=None if letter_pdf is None else _all_pages(RawPdf(letter_pdf)),
        context=hashing.context(),
        out=out,
    )


def _all_pages(raw: RawPdf) -> tuple[RawPdf, list[int]]:
    return raw, raw.kids()


def _own_pages(
    plan: MailoutPlan, jobs: Sequence[_Job], passwords: Sequence[str]
) -> tuple[RawPdf, list[list[int]], list[int]]:
    """The chunk's own pages as one document (fonts embedded once): each college's letter,
    unless the letter is shared, then the slips. Returns it with each college's letter pages
    and slip page (1-based)."""
    slips = [
        Slip(college_name=j.name, code=j.code, password=p)
        for j, p in zip(jobs, passwords, strict=True)
    ]

    def draw(canvas: Canvas) -> None:
        draw_slips(canvas, slips, plan.slip_text)

    if _worker["letter"] is not None:
        pdf, letter_pages = render_slips(slips, plan.slip_text), [[] for _ in jobs]
    else:
        letters = [plan.letter_for(job, _number_of(job.reference)) for job in jobs]
        pdf, letter_pages = render_letters(letters, appendix=draw)
    first_slip = sum(len(pages) for pages in letter_pages) + 1
    return RawPdf(pdf), letter_pages, list(range(first_slip, first_slip + len(jobs)))


def _make_bundles(jobs: Sequence[_Job]) -> list[_Done]:
    """A chunk of colleges: their letters and slips rendered as one document, then every
    college's bundle assembled from its own pages only and written as a partial file (the
    parent fsyncs it before the commit)."""
    plan: MailoutPlan = _worker["plan"]
    base: BundleBase = _worker["base"]
    passwords = [generate(plan.policy) for _ in jobs]
    hashes = [_worker["context"].hash(p) for p in passwords]
    own, letter_pages, slip_pages = _own_pages(plan, jobs, passwords)
    del passwords
    kids = own.kids()
    done = []
    for job, letter, slip in zip(jobs, letter_pages, slip_pages, strict=True):
        before: list[PageSource] = (
            [(own, [kids[p - 1] for p in letter])] if letter else [_worker["letter"]]
        )
        pdf_bytes, pages = base.bundle(before, [(own, [kids[slip - 1]])])
        partial = Path(_worker["out"]) / f".{job.file_name}.partial"
        partial.write_bytes(pdf_bytes)
        letter_count = len(letter) if letter else len(_worker["letter"][1])
        done.append(
            _Done(job.code, hashes[len(done)], sha256(pdf_bytes), pages, letter_count, str(partial))
        )
    return done


def _chunks(pending: Sequence[_Job], workers: int) -> Iterator[Sequence[_Job]]:
    """Large chunks while much is left, smaller ones towards the end, so that no worker waits
    idle while another finishes a large one."""
    start = 0
    while start < len(pending):
        size = (len(pending) - start) // (workers * 2)
        size = max(CHUNK_MIN, min(CHUNK_MAX, size))
        yield pending[start : start + size]
        start += size


def _commit(engine: Engine, mailout_id: int, done: list[_Done], issued_by: str, out: Path) -> None:
    """Store a group's credentials and bundles' facts, then move their files into place.

    The partial files reach the disk first, so no stored hash is ever without its slip. (The
    parent does this rather than the workers: its wait for the disk overlaps their hashing.)"""
    fsync_files([d.partial for d in done])
    with session_scope(engine, immediate=True) as session:
        batch = store.create_batch(
            session=session, created_by=issued_by, kind=BatchKind.ISSUE, slips_path=str(out)
        )
        credentials = store.store_credentials(
            session=session,
            batch_id=batch.id,
            issued_by=issued_by,
            hashes={d.code: d.password_hash for d in done},
        )
        by_code = {c.college_code: c for c in credentials}
        items = session.exec(
            select(MailoutItem).where(
                MailoutItem.mailout_id == mailout_id,
                col(MailoutItem.college_code).in_([d.code for d in done]),
            )
        ).all()
        facts = {d.code: d for d in done}
        for item in items:
            fact = facts[item.college_code]
            item.state, item.sha256, item.pages = "issued", fact.sha256, fact.pages
            item.letter_pages = fact.letter_pages
            item.credential_id, item.issued_at = by_code[item.college_code].id, utcnow()
            session.add(item)
        store.commit_batch(session=session, batch_id=batch.id)
        audit.record(
            session,
            "issue",
            issued_by,
            f"mailout:{mailout_id}",
            {"batch": batch.id, "colleges": sorted(facts)},
        )
    for d in done:
        os.replace(d.partial, out / f"{d.code}.pdf")
    fsync_dir(out)


def _recover(engine: Engine, mailout_id: int, out: Path) -> list[str]:
    """Finish renames of committed bundles; delete partial files nobody committed."""
    actions = []
    with session_scope(engine) as session:
        items = {
            i.file_name: i
            for i in session.exec(select(MailoutItem).where(MailoutItem.mailout_id == mailout_id))
        }
    for partial in out.glob(".*.partial"):
        item = items.get(partial.name[1:].removesuffix(".partial"))
        final = out / partial.name[1:].removesuffix(".partial")
        if (
            item is not None
            and item.state == "issued"
            and not final.exists()
            and (sha256(partial.read_bytes()) == item.sha256)
        ):
            os.replace(partial, final)
            actions.append(f"finished {final.name}")
        else:
            partial.unlink()
            actions.append(f"removed {partial.name} (never committed)")
    if actions:
        fsync_dir(out)
    lost = [
        i.file_name
        for i in items.values()
        if i.state == "issued" and not (out / i.file_name).exists()
    ]
    if lost:
        raise MailoutError(
            f"{len(lost)} issued bundles are missing from {out}: {', '.join(lost[:10])}; their "
            "passwords exist nowhere else: reissue those colleges' credentials"
        )
    return actions


def _shared_pdfs(plan: MailoutPlan, letter_number: str | None) -> tuple[bytes, bytes | None]:
    """The base (enclosures and QR sheet, plus the letter if it is the same for everyone)."""
    parts: list[bytes] = []
    for enclosure in plan.letter_file.data["enclosures"]:
        if enclosure.file:
            parts.append(Path(enclosure.file).read_bytes())
        elif enclosure.make == "qr-sheet" and plan.qr_sheet is not None:
            parts.append(render_qr_sheet(plan.qr_sheet))
    letter_pdf = None
    if not plan.letter_names_college:
        letter_pdf = render_letter(plan.letter_for(None, letter_number))
    return merge_pdfs(parts), letter_pdf


@dataclass(frozen=True)
class MailoutResult:
    name: str
    out: Path
    colleges: int
    issued_now: int
    pages: int
    reference: str | None
    seconds: float
    manifest_changed: bool


Progress = Callable[[int, int], None]


def run_mailout(
    plan: MailoutPlan,
    out: Path,
    engine: Engine,
    *,
    issued_by: str,
    jobs: int | None = None,
    hashing: HashSettings = HashSettings(),  # noqa: B008 - frozen, compared by value
    progress: Progress | None = None,
) -> MailoutResult:
    """Run (or finish) the mailout; safe to call again after any crash."""
    started = time.perf_counter()
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    mailout_id = _prepare(plan, engine, out, issued_by)
    _recover(engine, mailout_id, out)
    with session_scope(engine) as session:
        mailout = session.get(Mailout, mailout_id)
        assert mailout is not None
        items = session.exec(select(MailoutItem).where(MailoutItem.mailout_id == mailout_id)).all()
        colleges = {
            c.code: c
            for c in session.exec(
                select(College).where(
                    col(College.code).in_([i.college_code for i in items if i.state == "pending"])
                )
            )
        }
        reference = mailout.reference
    total = len(items)
    pending = [
        _Job(
            i.college_code,
            colleges[i.college_code].name,
            colleges[i.college_code].province or "",
            colleges[i.college_code].email or "",
            colleges[i.college_code].director_title or "",
            i.reference,
            i.file_name,
        )
        for i in sorted(items, key=lambda i: i.college_code)  # the print file's order
        if i.state == "pending"
    ]
    done_count = total - len(pending)
    if progress:
        progress(done_count, total)
    printed = False
    if pending:
        base_pdf, letter_pdf = _shared_pdfs(plan, _number_of(reference))
        printer = _PrintAsYouGo(
            out,
            sorted((i.college_code, i.file_name) for i in items),
            {i.college_code for i in items if i.state != "pending"},
        )
        count = done_count

        def committed(codes: list[str]) -> None:
            nonlocal count
            printer.committed(codes)
            count += len(codes)
            if progress:
                progress(count, total)

        try:
            _run_jobs(
                plan,
                engine,
                mailout_id,
                out,
                pending,
                base_pdf,
                letter_pdf,
                hashing,
                jobs,
                issued_by,
                committed,
            )
        except BaseException:
            printer.discard()
            raise
        printed = printer.finish()
    changed = _finish(plan, engine, mailout_id, out, printed=printed)
    return MailoutResult(
        plan.name,
        out,
        total,
        len(pending),
        _total_pages(engine, mailout_id),
        reference,
        time.perf_counter() - started,
        changed,
    )


def _run_jobs(
    plan: MailoutPlan,
    engine: Engine,
    mailout_id: int,
    out: Path,
    pending: Sequence[_Job],
    base_pdf: bytes,
    letter_pdf: bytes | None,
    hashing: HashSettings,
    jobs: int | None,
    issued_by: str,
    committed: Callable[[list[str]], None],
) -> None:
    workers = max(1, min(jobs or os.cpu_count() or 1, len(pending)))
    context = pool_context()
    ready: list[_Done] = []
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(
            plan if context.get_start_method() == "fork" else (plan.folder, plan.roster_path),
            base_pdf,
            letter_pdf,
            hashing,
            str(out),
        ),
    ) as pool:
        chunks = _chunks(pending, workers)
        running: set[Future[list[_Done]]] = set()
        for chunk in chunks:
            running.add(pool.submit(_make_bundles, chunk))
            if len(running) >= workers * 2:
                break
        try:
            while running:
                finished_now, running = wait(running, return_when=FIRST_COMPLETED)
                for future in finished_now:
                    ready += future.result()
                    next_chunk = next(chunks, None)
                    if next_chunk is not None:
                        running.add(pool.submit(_make_bundles, next_chunk))
                if len(ready) >= COMMIT_EVERY or not running:
                    _commit(engine, mailout_id, ready, issued_by, out)
                    codes, ready = [d.code for d in ready], []
                    committed(codes)
        except BaseException:
            for future in running:
                future.cancel()
            for d in ready:
                Path(d.partial).unlink(missing_ok=True)
            raise


class _PrintAsYouGo:
    """``print-all.pdf``, written while the bundles are made: in code order, each bundle as
    soon as it and every bundle before it are committed, so that the file is ready when the
    last bundle is. It is moved into place only when it holds every bundle."""

    def __init__(self, out: Path, files: list[tuple[str, str]], committed: set[str]) -> None:
        self.out, self.files, self.ready = out, files, set(committed)
        self.next = 0
        self.tmp = out / ".print-all.pdf.tmp"
        self.fh = open(self.tmp, "wb")  # noqa: SIM115 - closed in finish()
        self.printer: PrintFile | None = None
        try:
            self.committed([])
        except BaseException:
            self.discard()
            raise

    def committed(self, codes: list[str]) -> None:
        self.ready.update(codes)
        while self.next < len(self.files) and self.files[self.next][0] in self.ready:
            bundle = (self.out / self.files[self.next][1]).read_bytes()
            if self.printer is None:
                self.printer = PrintFile(BundleBase(_base_of(bundle)), self.fh)
            self.printer.add(bundle)
            self.next += 1

    def finish(self) -> bool:
        """Move the file into place if it holds every bundle; else drop it. Whether it did."""
        if self.next != len(self.files):
            self.discard()
            return False
        try:
            if self.printer is not None:
                self.printer.close()
            self.fh.flush()
            os.fsync(self.fh.fileno())
        except BaseException:
            self.discard()
            raise
        self.fh.close()
        os.replace(self.tmp, self.out / "print-all.pdf")
        return True

    def discard(self) -> None:
        """Drop the unfinished file (after a failure: never raises)."""
        with contextlib.suppress(OSError):
            self.fh.close()
            self.tmp.unlink(missing_ok=True)


def _total_pages(engine: Engine, mailout_id: int) -> int:
    with session_scope(engine) as session:
        return sum(
            p or 0
            for p in session.exec(
                select(MailoutItem.pages).where(MailoutItem.mailout_id == mailout_id)
            )
        )


def _finish(
    plan: MailoutPlan, engine: Engine, mailout_id: int, out: Path, *, printed: bool
) -> bool:
    """The manifest and (unless ``printed`` while the bundles were made) the print file,
    written atomically; the mailout marked finished."""
    with session_scope(engine) as session:
        rows = session.exec(
            select(MailoutItem, College)
            .join(College)
            .where(MailoutItem.mailout_id == mailout_id)
            .order_by(MailoutItem.college_code)
        ).all()
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(MANIFEST_FIELDS)
    for item, college in rows:
        writer.writerow(
            [
                item.college_code,
                college.name,
                item.reference or "",
                item.pages,
                item.sha256,
                item.file_name,
            ]
        )
    manifest = buf.getvalue().encode("utf-8-sig")
    changed = write_if_changed(out / "manifest.csv", manifest)
    if not printed and (changed or not (out / "print-all.pdf").exists()):
        files = [(item.college_code, item.file_name) for item, _college in rows]
        _PrintAsYouGo(out, files, {code for code, _name in files}).finish()
    with session_scope(engine, immediate=True) as session:
        mailout = session.get(Mailout, mailout_id)
        if mailout is not None and mailout.state != MailoutState.FINISHED:
            mailout.state, mailout.finished_at = MailoutState.FINISHED, utcnow()
            session.add(mailout)
    return changed


def _base_of(bundle: bytes) -> bytes:
    """The base a bundle was built on: its bytes up to the first ``%%EOF``."""
    end = bundle.index(b"%%EOF") + len(b"%%EOF")
    return bundle[:end] + b"\n"
