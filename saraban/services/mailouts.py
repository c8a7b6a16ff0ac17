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

**Signed mailouts.** A digital signature does not survive being merged into a bundle, so the
letter a college receives (its inbox serves it, and checks its signatures) is a file of its own
beside the bundles; the bundles and the print file hold the same letter's pages as printed
(the signed line in the signature block). A letter the same for every college is signed once,
before any chunk (``letter.signed.pdf``, or the bytes signed at approval in the web: the
folder's ``signed-letter.pdf``), and every item names that one file. A letter merged per
college is signed per college in the chunk's worker, its file (``<code>.signed.pdf``) written,
committed (its sha256 with the bundle's) and moved into place with the bundle: a college
committed is never signed again, so a rerun changes no byte. The key is a personal PKCS#12 given
to the run (:class:`MailoutSigning`: held in memory, handed to the workers as they start,
never written) or the organisation's seal (``sign = "seal"`` in ``mailout.toml``: each process
opens it from its own settings).
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import hashlib
import io
import logging
import os
import secrets
import signal
import socket
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from pypdf import PdfReader
from pypdf.errors import PdfReadError
from reportlab.pdfgen.canvas import Canvas
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from credentials import HashSettings, PasswordPolicy, generate, policy_from_name, pool_context
from letters.assembly import BundleBase, PageSource, PrintFile, RawPdf, merge_pdfs, sha256
from letters.letter import render_letter, render_letter_layout, render_letters
from letters.letterfile import LetterFile, LetterFileError, key_line, load_letter_file
from letters.model import Letter
from letters.qrsheet import QRSheet, load_qr_sheet, render_qr_sheet
from letters.signing import SigningError, SigningKey, sign_letter
from letters.slip import Slip, SlipText, check_slip_name, draw_slips, render_slips
from letters.verification import load_trust_roots, verify_pdf
from saraban.domain.errors import Invalid
from saraban.domain.roster import RosterFile, read_roster
from saraban.domain.spreadsheet import safe_cell
from saraban.domain.vocabulary import bangkok_today, in_bangkok
from saraban.files import fsync_dir, fsync_files, write_atomically, write_if_changed
from saraban.services import audit, dispatch, signatures
from saraban.settings import load_settings
from saraban.storage import store
from saraban.storage.engine import make_engine, session_scope
from saraban.storage.models import (
    BatchKind,
    College,
    DispatchEntry,
    Mailout,
    MailoutItem,
    MailoutJob,
    MailoutState,
    utcnow,
)

log = logging.getLogger(__name__)

MAILOUT_KEYS = {"register", "due_date", "policy", "slip", "sign"}
SLIP_KEYS = {"system_th", "system_en", "issuer", "hint"}
COMMIT_EVERY = 16  # results per transaction: few enough to lose little, many enough to be fast
# Colleges per worker task: a chunk's letters and slips are one document, so its fonts and its
# first letter's lines are drawn once for all of them.
CHUNK_MIN, CHUNK_MAX = 8, 64  # a chunk costs ≈ 30 ms of CPU on top of its colleges
MANIFEST_FIELDS = ("code", "college", "letter_number", "pages", "sha256", "file")
SIGNED_INPUT = "signed-letter.pdf"  # in a mailout folder: the shared letter as signed already
SIGNED_LETTER = "letter.signed.pdf"  # in the output folder: the shared letter as delivered
NO_SEAL = (
    "ยังไม่ได้กำหนดตราขององค์กร (SARABAN_SEAL_FILE) จึงลงนามหนังสือที่ระบุชื่อสถานศึกษาแต่ละแห่งไม่ได้ "
    "/ no organisation seal is configured (SARABAN_SEAL_FILE): a letter merged per college "
    "cannot be signed for each college"
)


class ChunkErrors(Invalid):
    """Colleges whose bundles could not be made (the others were); each named."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        shown = "; ".join(f"college {code}: {message}" for code, message in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        super().__init__(None, f"{len(errors)} bundles could not be made: {shown}{more}")


class MailoutError(Invalid):
    """A mailout that cannot run as given (its folder, files or output folder); nothing was
    numbered or issued."""

    def __init__(self, message: str) -> None:
        super().__init__(None, message)


class WorkerDied(MailoutError):
    """A chunk's worker process died: what it had not committed was never issued; running the
    mailout again finishes it."""


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
    # The shared letter as signed already (the folder's signed-letter.pdf); whether the letters
    # are signed with the organisation's seal (mailout.toml: sign = "seal").
    signed_letter: bytes | None = None
    sign_with_seal: bool = False
    # Every file whose bytes (or absence) the plan was read from: the roster it would have
    # chosen instead too, when none was given.
    inputs: tuple[Path, ...] = ()

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

    candidates: tuple[Path, ...] = ()
    if roster_path is None:
        candidates = (folder / "roster.csv", folder / "roster.xlsx")
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
            merged.add(_letter_digest(letter_file, college))
        except LetterFileError as exc:
            raise MailoutError(f"{exc} (for college {college.code}, {college.name})") from None
        try:
            check_slip_name(college.name, slip_text)
        except ValueError as exc:
            raise MailoutError(f"{roster_path}: college {college.code}: {exc}") from None

    sign = settings.get("sign")
    if sign is not None and sign != "seal":
        raise _toml_error(settings_path, source, None, "sign", 'the only value is "seal"')
    names = _names_college(letter_file, merged)
    signed_path = folder / SIGNED_INPUT
    signed_letter = None
    if signed_path.is_file():
        if names:
            raise MailoutError(
                f"{signed_path}: the letter names each college, so one signed letter cannot go "
                "to all of them"
            )
        signed_letter = signed_path.read_bytes()
        _check_signed(signed_path, signed_letter, letter_file.merge({}))

    read_from = (letter_path, settings_path, folder / "qr-sheet.toml", signed_path, *files)
    digest = hashlib.sha256()
    for path in read_from:
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
        letter_names_college=names,
        enclosure_files=tuple(files),
        signed_letter=signed_letter,
        sign_with_seal=sign == "seal",
        inputs=(*read_from, roster_path, *candidates),
    )


def _letter_digest(letter_file: LetterFile, college: Any) -> bytes:
    """What the college's letter says, as a digest (not the texts: the roster may hold
    thousands of colleges)."""
    letter = letter_file.merge({"college": _college_context(college)})
    return hashlib.sha256("\0".join((letter.to, *letter.body)).encode()).digest()


def names_college(letter_file: LetterFile, colleges: Sequence[Any]) -> bool:
    """Whether the letter differs from one college to another (merged per college)."""
    return _names_college(letter_file, {_letter_digest(letter_file, c) for c in colleges})


def _names_college(letter_file: LetterFile, digests: set[bytes]) -> bool:
    """Whether the colleges' letters (their digests) are merged per college: they differ, or
    (a roster of one) the college's letter is not the letter addressed to no college."""
    if len(digests) > 1:
        return True
    try:
        alone = letter_file.merge({})
    except LetterFileError:  # it needs a college to merge at all
        return True
    return hashlib.sha256("\0".join((alone.to, *alone.body)).encode()).digest() not in digests


def _check_signed(path: Path, signed: bytes, letter: Letter) -> None:
    """A letter signed already is this letter, numbered and dated as the letter file says and
    typeset as the mailout would typeset it: its first revision is exactly that typesetting
    (signed on the day its signature claims), and its signature is intact."""
    try:
        verdicts = verify_pdf(signed, trust_roots=())
    except Exception:
        verdicts = []
    if len(verdicts) != 1 or not verdicts[0].intact or verdicts[0].claimed_time is None:
        raise MailoutError(f"{path}: not a letter with one intact digital signature")
    day = in_bangkok(verdicts[0].claimed_time).date()
    rendered = render_letter_layout(replace(letter, signed_on=day))
    if not signed.startswith(rendered.pdf):
        raise MailoutError(
            f"{path}: the signed letter is not this letter (its number, date or text differ "
            "from letter.toml)"
        )


@dataclass(frozen=True)
class MailoutSigning:
    """Who signs a mailout's letters: the personal PKCS#12 given to this run (``p12`` and its
    ``passphrase``: held in memory only; the worker processes get them as they start, by fork
    or a pipe, never through a file, a log or the database; its repr shows neither), or else
    the organisation's seal (each process opens it from its own settings).
    ``key_name`` names the key in a refusal (the file), never the passphrase."""

    p12: bytes | None = field(default=None, repr=False)
    passphrase: bytes | None = field(default=None, repr=False)
    key_name: str = "key"
    timestamp_url: str | None = None
    trust_dir: Path | None = None

    def open(self) -> _OpenKey:
        """The key, opened: Invalid naming ``key_name`` for a wrong passphrase or a damaged
        file; MailoutError when the seal is wanted and none is configured."""
        if self.p12 is None:
            settings = load_settings()
            seal = signatures.organisation_seal(settings)
            if seal is None:
                raise MailoutError(NO_SEAL)
            store = signatures.trust_store(settings)
            roots = store.roots if store.fingerprint is not None else None
            return _OpenKey(seal, "seal", settings.timestamp_url, roots)
        key = signatures.personal_key(self.p12, self.passphrase, name=self.key_name)
        roots = tuple(load_trust_roots(self.trust_dir)) if self.trust_dir is not None else None
        return _OpenKey(key, "personal", self.timestamp_url, roots)


@dataclass(frozen=True)
class _OpenKey:
    key: SigningKey
    kind: signatures.KeyKind
    timestamp_url: str | None
    trust_roots: Sequence[asn1_x509.Certificate] | None

    def sign(self, letter: Letter, day: date) -> bytes:
        """The letter typeset with its signed line (signed on ``day``) and signed, as
        signatures.sign_with signs it, without its event loop's thread per letter."""
        rendered = render_letter_layout(replace(letter, signed_on=day))
        try:
            return sign_letter(
                rendered,
                self.key,
                reason=signatures.SIGNING_REASON,
                timestamper_url=self.timestamp_url,
                trust_roots=self.trust_roots,
            )
        except SigningError as exc:
            raise MailoutError(f"{exc.message} (key: {self.key.subject})") from None


def signing_of(plan: MailoutPlan, given: MailoutSigning | None) -> MailoutSigning | None:
    """The signing of a run: the key given to it, else the seal if the folder asks for it."""
    if given is not None:
        return given
    return MailoutSigning() if plan.sign_with_seal else None


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
            if mailout.state == MailoutState.CANCELLED:
                raise MailoutError(
                    f"mailout {plan.name} was cancelled: what it issued stands, the rest is never "
                    "issued; start the remaining colleges as a new mailout in a new folder"
                )
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
    # The letter as delivered, if signed: its file's name and sha256, and (signed for this
    # college) its partial file, moved into place with the bundle's.
    signed_file: str | None = None
    signed_sha256: str | None = None
    signed_partial: str | None = None

    @property
    def partials(self) -> list[str]:
        return [self.partial] + ([self.signed_partial] if self.signed_partial else [])


_worker: dict[str, Any] = {}


def _number_of(reference: str | None) -> str | None:
    """The number part of ``ศธ 0603/ว 5553`` (the letter prints the prefix itself)."""
    if not reference:
        return None
    return reference.rsplit("/", 1)[-1].removeprefix("ว").strip()


def die_with_parent() -> None:
    """SIGTERM this process when its parent dies, however it dies (Linux's PR_SET_PDEATHSIG):
    no worker outlives the command or the service that started it, with the database open."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _init_worker(
    plan: MailoutPlan | tuple[Path, Path],
    shared: SharedPdfs,
    hashing: HashSettings,
    out: str,
    db_url: str | None = None,
    pooled: bool = False,
    signing: MailoutSigning | None = None,
) -> None:
    """Make this process ready for a mailout's chunks: its plan, shared pages, hashing, its
    signing key if it signs each college's letter, and (for chunks that commit themselves) its
    own engine. A pool's worker ignores Ctrl-C: its parent stops it (saraban mailout's
    SIGINT/SIGTERM handling)."""
    if pooled:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not the parent's handler
        die_with_parent()
    if isinstance(plan, tuple):  # a spawned worker reads the (checked) inputs again
        plan = load_plan(*plan)
    old = _worker.get("engine")
    if old is not None and not pooled:
        old.dispose()
    signed = None
    if shared.signed is not None:
        signed = (SIGNED_LETTER, sha256(shared.signed))
    _worker.update(
        plan=plan,
        base=BundleBase(shared.base),
        # The letter shared by every college, parsed once: (document, its pages).
        letter=None if shared.letter is None else _all_pages(RawPdf(shared.letter)),
        signed=signed,
        # Each college's letter signed: the key opened once in this process.
        signer=signing.open() if signing is not None and plan.letter_names_college else None,
        context=hashing.context(),
        out=out,
        # A fresh engine: a forked worker never uses its parent's connections.
        engine=None if db_url is None else make_engine(db_url),
    )


def _all_pages(raw: RawPdf) -> tuple[RawPdf, list[int]]:
    return raw, raw.kids()


def _own_pages(
    plan: MailoutPlan, jobs: Sequence[_Job], passwords: Sequence[str], letters: Sequence[Letter]
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
        pdf, letter_pages = render_letters(letters, appendix=draw)
    first_slip = sum(len(pages) for pages in letter_pages) + 1
    return RawPdf(pdf), letter_pages, list(range(first_slip, first_slip + len(jobs)))


def _make_bundles(jobs: Sequence[_Job]) -> list[_Done]:
    """A chunk of colleges: their letters and slips rendered as one document, then every
    college's bundle assembled from its own pages only and written as a partial file (the
    parent fsyncs it before the commit)."""
    plan: MailoutPlan = _worker["plan"]
    base: BundleBase = _worker["base"]
    key: _OpenKey | None = _worker["signer"]
    day = bangkok_today()
    letters = []
    if _worker["letter"] is None:
        letters = [plan.letter_for(job, _number_of(job.reference)) for job in jobs]
        if key is not None:  # printed as signed: the signed line in the signature block
            letters = [replace(letter, signed_on=day) for letter in letters]
    passwords = [generate(plan.policy) for _ in jobs]
    hashes = [_worker["context"].hash(p) for p in passwords]
    own, letter_pages, slip_pages = _own_pages(plan, jobs, passwords, letters)
    del passwords
    kids = own.kids()
    out = Path(_worker["out"])
    done = []
    for n, (job, letter, slip) in enumerate(zip(jobs, letter_pages, slip_pages, strict=True)):
        before: list[PageSource] = (
            [(own, [kids[p - 1] for p in letter])] if letter else [_worker["letter"]]
        )
        pdf_bytes, pages = base.bundle(before, [(own, [kids[slip - 1]])])
        # Named for this attempt: a chunk retried elsewhere never writes over this file.
        attempt = secrets.token_hex(4)
        partial = out / f".{job.file_name}.{attempt}.partial"
        partial.write_bytes(pdf_bytes)
        letter_count = len(letter) if letter else len(_worker["letter"][1])
        signed_file, signed_sha = _worker["signed"] or (None, None)
        signed_partial = None
        if key is not None:
            signed = key.sign(letters[n], day)
            signed_file, signed_sha = signed_name(job.code), sha256(signed)
            signed_partial = out / f".{signed_file}.{attempt}.partial"
            signed_partial.write_bytes(signed)
        done.append(
            _Done(
                job.code,
                hashes[n],
                sha256(pdf_bytes),
                pages,
                letter_count,
                str(partial),
                signed_file,
                signed_sha,
                str(signed_partial) if signed_partial else None,
            )
        )
    return done


def signed_name(code: str) -> str:
    """A college's own signed letter, beside its bundle."""
    return f"{code}.signed.pdf"


def _chunks(pending: Sequence[_Job], workers: int) -> Iterator[Sequence[_Job]]:
    """Large chunks while much is left, smaller ones towards the end, so that no worker waits
    idle while another finishes a large one."""
    start = 0
    while start < len(pending):
        size = (len(pending) - start) // (workers * 2)
        size = max(CHUNK_MIN, min(CHUNK_MAX, size))
        yield pending[start : start + size]
        start += size


def _commit(
    engine: Engine,
    mailout_id: int,
    done: list[_Done],
    issued_by: str,
    out: Path,
    job_id: int | None = None,
) -> list[str]:
    """Store a chunk's credentials and bundles' facts, then move their files into place; the
    codes committed.

    The partial files reach the disk first, so no stored hash is ever without its slip. Only
    colleges still pending are committed (a chunk retried after a worker died skips what the
    first attempt committed), and nothing once the job is cancelled: the row locks make a
    concurrent cancel or a second attempt wait for this transaction, then see its outcome."""
    fsync_files([p for d in done for p in d.partials])
    codes = [d.code for d in done]
    committed: list[_Done] = []
    with session_scope(engine, immediate=True) as session:
        if job_id is not None:
            job = session.exec(
                select(MailoutJob).where(MailoutJob.id == job_id).with_for_update(read=True)
            ).one()
            if job.state == "cancelled":
                codes = []
        pending = (
            set(
                session.exec(
                    select(MailoutItem.college_code)
                    .where(
                        MailoutItem.mailout_id == mailout_id,
                        col(MailoutItem.college_code).in_(codes),
                        MailoutItem.state == "pending",
                    )
                    .with_for_update()
                )
            )
            if codes
            else set()
        )
        committed = [d for d in done if d.code in pending]
        if committed:
            _store(session, mailout_id, committed, issued_by, out)
    for d in done:
        if d not in committed:
            for partial in d.partials:
                Path(partial).unlink(missing_ok=True)
    for d in committed:
        os.replace(d.partial, out / f"{d.code}.pdf")
        if d.signed_partial is not None and d.signed_file is not None:
            os.replace(d.signed_partial, out / d.signed_file)
    if committed:
        fsync_dir(out)
    return [d.code for d in committed]


def _store(session: Session, mailout_id: int, done: list[_Done], issued_by: str, out: Path) -> None:
    """One transaction: the credentials, the items' facts, the batch and the audit entry."""
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
        item.signed_file, item.signed_sha256 = fact.signed_file, fact.signed_sha256
        item.credential_id, item.issued_at = by_code[item.college_code].id, utcnow()
        session.add(item)
    store.commit_batch(session=session, batch_id=batch.id)
    audit.record(
        session,
        "issue",
        issued_by,
        f"mailout:{mailout_id}",
        {
            "batch": batch.id,
            "colleges": sorted(facts),
            "process": f"{socket.gethostname()}:{os.getpid()}",
        },
    )


def _partial_target(name: str) -> str:
    """``.1352016501.pdf.9f3a01bc.partial`` → ``1352016501.pdf``."""
    stem = name[1:].removesuffix(".partial")
    return stem if stem.endswith(".pdf") else stem.rsplit(".", 1)[0]


def _recover(engine: Engine, mailout_id: int, out: Path) -> list[str]:
    """Finish renames of committed bundles; delete partial files nobody committed."""
    actions = []
    with session_scope(engine) as session:
        rows = session.exec(select(MailoutItem).where(MailoutItem.mailout_id == mailout_id)).all()
    items = {i.file_name: i for i in rows}
    # A college's own signed letter, committed with its bundle (not the shared one).
    signed = {i.signed_file: i for i in rows if i.signed_file and i.signed_file != SIGNED_LETTER}
    for partial in out.glob(".*.partial"):
        target = _partial_target(partial.name)
        final = out / target
        item, want = items.get(target), None
        if item is not None:
            want = item.sha256
        elif target in signed:
            item = signed[target]
            want = item.signed_sha256
        if (
            item is not None
            and item.state == "issued"
            and not final.exists()
            and (sha256(partial.read_bytes()) == want)
        ):
            os.replace(partial, final)
            actions.append(f"finished {final.name}")
        else:
            partial.unlink()
            actions.append(f"removed {partial.name} (never committed)")
    if actions:
        fsync_dir(out)
    lost = [i.file_name for i in rows if i.state == "issued" and not (out / i.file_name).exists()]
    unsigned = sorted(
        {
            i.signed_file
            for i in rows
            if i.state == "issued" and i.signed_file and not (out / i.signed_file).exists()
        }
    )
    if unsigned:
        raise MailoutError(
            f"{len(unsigned)} signed letters are missing from {out}: {', '.join(unsigned[:10])}; "
            "their colleges' inboxes serve them: restore them from a backup"
        )
    if lost:
        raise MailoutError(
            f"{len(lost)} issued bundles are missing from {out}: {', '.join(lost[:10])}; their "
            "passwords exist nowhere else: reissue those colleges' credentials"
        )
    return actions


def sign_shared_letter(
    plan: MailoutPlan,
    out: Path,
    letter_number: str | None,
    signing: MailoutSigning | None,
    key: _OpenKey | None = None,
) -> bytes | None:
    """The letter the same for every college as delivered, signed once and kept in
    ``out/letter.signed.pdf`` before any college is committed: the bytes signed already (the
    folder's ``signed-letter.pdf``), else signed now with ``signing``; a rerun takes the kept
    file and never signs again. None: the letter is merged per college, or not signed."""
    if plan.letter_names_college:
        return None
    path = out / SIGNED_LETTER
    if path.is_file():
        return path.read_bytes()
    if plan.signed_letter is not None:
        pdf = plan.signed_letter
    elif signing is not None:
        key = key or signing.open()
        pdf = key.sign(plan.letter_for(None, letter_number), bangkok_today())
    else:
        return None
    write_atomically(path, pdf)
    fsync_dir(out)
    return pdf


def check_signing(
    engine: Engine, mailout_id: int, plan: MailoutPlan, out: Path, signing: MailoutSigning | None
) -> None:
    """A mailout resumed is signed as it was started: every college's letter signed, or none."""
    signed_now = signing is not None or (
        not plan.letter_names_college
        and (plan.signed_letter is not None or (out / SIGNED_LETTER).is_file())
    )
    with session_scope(engine) as session:
        issued = session.exec(
            select(MailoutItem.signed_file).where(
                MailoutItem.mailout_id == mailout_id, MailoutItem.state == "issued"
            )
        ).all()
    if signed_now and any(f is None for f in issued):
        raise MailoutError(
            f"mailout {plan.name} was started without a digital signature: finish it unsigned "
            "(without --sign), or send the letter signed as a new mailout"
        )
    if not signed_now and any(f is not None for f in issued):
        raise MailoutError(
            f"mailout {plan.name} was started signed digitally: give --sign with its key again "
            "to finish it"
        )


@dataclass(frozen=True)
class SharedPdfs:
    """What every bundle of a mailout shares: the base (enclosures, QR sheet), the letter when
    it is the same for everyone (as printed), and that letter as delivered if signed."""

    base: bytes
    letter: bytes | None
    signed: bytes | None


def _shared_pdfs(plan: MailoutPlan, letter_number: str | None, out: Path) -> SharedPdfs:
    """The base (enclosures and QR sheet, plus the letter if it is the same for everyone). A
    shared letter signed already (:func:`sign_shared_letter`) is printed as it was signed:
    its first revision, the typesetting with the signed line."""
    parts: list[bytes] = []
    for enclosure in plan.letter_file.data["enclosures"]:
        if enclosure.file:
            parts.append(Path(enclosure.file).read_bytes())
        elif enclosure.make == "qr-sheet" and plan.qr_sheet is not None:
            parts.append(render_qr_sheet(plan.qr_sheet))
    letter_pdf = signed = None
    if not plan.letter_names_college:
        path = out / SIGNED_LETTER
        if path.is_file():
            signed = path.read_bytes()
            letter_pdf = _base_of(signed)
        else:
            letter_pdf = render_letter(plan.letter_for(None, letter_number))
    return SharedPdfs(merge_pdfs(parts), letter_pdf, signed)


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
    job_id: int | None = None,
    signing: MailoutSigning | None = None,
) -> MailoutResult:
    """Run (or finish) the mailout here, its chunks in worker processes of this machine; safe
    to call again after any crash. ``job_id``: the background job it runs for (a cancel of
    that job stops its commits). ``signing``: the letters are signed with that key (else with
    the seal if the folder asks for it); it is opened before anything is numbered."""
    started = time.perf_counter()
    signing = signing_of(plan, signing)
    key = signing.open() if signing is not None else None
    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    mailout_id = _prepare(plan, engine, out, issued_by)
    _recover(engine, mailout_id, out)
    check_signing(engine, mailout_id, plan, out, signing)
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
        sign_shared_letter(plan, out, _number_of(reference), signing, key)
        shared = _shared_pdfs(plan, _number_of(reference), out)
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
            errors = _run_jobs(
                plan,
                engine,
                mailout_id,
                out,
                pending,
                shared,
                hashing,
                jobs,
                issued_by,
                committed,
                job_id,
                signing,
            )
        except BaseException:
            printer.discard()
            raise
        printed = printer.finish()
        if errors:
            raise ChunkErrors(errors)
        if job_id is not None and _cancelled(engine, job_id):
            return MailoutResult(
                plan.name,
                out,
                total,
                count - done_count,
                _total_pages(engine, mailout_id),
                reference,
                time.perf_counter() - started,
                False,
            )
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
    shared: SharedPdfs,
    hashing: HashSettings,
    jobs: int | None,
    issued_by: str,
    committed: Callable[[list[str]], None],
    job_id: int | None = None,
    signing: MailoutSigning | None = None,
) -> list[tuple[str, str]]:
    """The chunks in worker processes of this machine, each committing its own colleges (the
    chunk job of a queued mailout, run here); the errors, by college."""
    workers = max(1, min(jobs or os.cpu_count() or 1, len(pending)))
    context = pool_context()
    errors: list[tuple[str, str]] = []
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(
            plan if context.get_start_method() == "fork" else (plan.folder, plan.roster_path),
            shared,
            hashing,
            str(out),
            engine.url.render_as_string(hide_password=False),
            True,
            signing,
        ),
    )
    running: set[Future[ChunkOutcome]] = set()
    try:
        chunks = _chunks(pending, workers)
        for chunk in chunks:
            running.add(pool.submit(run_chunk, mailout_id, job_id, chunk, issued_by))
            if len(running) >= workers * 2:
                break
        while running:
            finished_now, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished_now:
                try:
                    outcome = future.result()
                except BrokenProcessPool:
                    raise WorkerDied(
                        "a worker process died (killed, or out of memory); what it had not "
                        "committed was never issued: run the mailout again to finish it"
                    ) from None
                errors += outcome.errors
                next_chunk = next(chunks, None)
                if next_chunk is not None:
                    running.add(pool.submit(run_chunk, mailout_id, job_id, next_chunk, issued_by))
                committed(outcome.committed)
    except BaseException:
        _stop_workers(pool)  # their futures fail with BrokenProcessPool, unread
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return errors


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """End the pool's processes now (Ctrl-C, SIGTERM, a failure): none is left running with
    the database open. A chunk cut short leaves only partial files, removed by the next run;
    its transaction, if it had begun, never commits."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        with contextlib.suppress(OSError, ValueError):
            process.terminate()
    for process in processes:
        with contextlib.suppress(OSError, ValueError, AssertionError):
            process.join(timeout=10)


def _cancelled(engine: Engine, job_id: int) -> bool:
    with session_scope(engine) as session:
        job = session.get(MailoutJob, job_id)
        return job is not None and job.state == "cancelled"


@dataclass(frozen=True)
class ChunkOutcome:
    committed: list[str]
    errors: list[tuple[str, str]]  # (college code, message)


def run_chunk(
    mailout_id: int, job_id: int | None, jobs: Sequence[_Job], issued_by: str
) -> ChunkOutcome:
    """A chunk job, in a process made ready by :func:`_init_worker` with a database: make the
    bundles of the chunk's colleges still pending and commit them. Idempotent: a retry (after
    a worker died) skips the colleges already committed. A college whose bundle cannot be
    made is named in the errors; the others are still made."""
    engine: Engine = _worker["engine"]
    out = Path(_worker["out"])
    if job_id is not None and _cancelled(engine, job_id):
        return ChunkOutcome([], [])
    with session_scope(engine) as session:
        pending = set(
            session.exec(
                select(MailoutItem.college_code).where(
                    MailoutItem.mailout_id == mailout_id,
                    col(MailoutItem.college_code).in_([j.code for j in jobs]),
                    MailoutItem.state == "pending",
                )
            )
        )
    jobs = [j for j in jobs if j.code in pending]
    errors: list[tuple[str, str]] = []
    if not jobs:
        return ChunkOutcome([], errors)
    try:
        done = _make_bundles(jobs)
    except Exception:
        log.exception("a chunk of mailout %s failed; making its colleges one by one", mailout_id)
        done = []
        for job in jobs:
            try:
                done += _make_bundles([job])
            except Exception as exc:
                errors.append((job.code, f"{type(exc).__name__}: {str(exc)[:300]}"))
    try:
        return ChunkOutcome(_commit(engine, mailout_id, done, issued_by, out, job_id), errors)
    except BaseException:
        for d in done:
            for partial in d.partials:
                Path(partial).unlink(missing_ok=True)
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
    writer.writerow([safe_cell(title) for title in MANIFEST_FIELDS])
    for item, college in rows:
        writer.writerow(
            [
                safe_cell(cell)
                for cell in (
                    item.college_code,
                    college.name,
                    item.reference or "",
                    item.pages,
                    item.sha256,
                    item.file_name,
                )
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
