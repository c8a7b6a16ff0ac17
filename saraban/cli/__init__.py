"""The ``saraban`` command: one function per command, errors as one red line and a non-zero exit."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

app = typer.Typer(
    name="saraban",
    help="สารบรรณ: Thai official letters, enclosures, credentials, mailouts and routing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)


@app.callback()
def _root() -> None:
    """สารบรรณ: Thai official letters, enclosures, credentials, mailouts and routing."""
    from saraban.logs import configure_logging

    configure_logging()


class UserError(Exception):
    """A problem with what the user gave us: printed as one line, exit code 2."""


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    raise typer.Exit(2)


@contextmanager
def user_errors(*kinds: type[BaseException]) -> Iterator[None]:
    """Turn the domain's own errors into a clear message and exit code 2."""
    try:
        yield
    except (UserError, *kinds) as exc:
        fail(str(exc))


def write_atomically(path: Path, produce: Callable[[], bytes]) -> int:
    """Write ``produce()`` to ``path`` via a temp file; nothing is left behind if it fails."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = produce()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.fchmod(fd, 0o666 & ~umask)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``college.name=วิทยาลัย…`` pairs into a nested template context."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--set {pair!r}: expected NAME=VALUE, e.g. college.name=วิทยาลัย...")
        node = context
        *parents, leaf = key.strip().split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise UserError(f"--set {pair!r}: {part!r} is already a value")
            node = child
        node[leaf] = value
    return context


@app.command()
def letter(
    file: Annotated[Path, typer.Argument(help="The letter file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF to write.")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="A template value, e.g. --set college.name=วิทยาลัย..."),
    ] = None,
) -> None:
    """Render an official letter (external or circular) to PDF."""
    from letters.fonts import FontConfigError
    from letters.letter import render_letter
    from letters.letterfile import LetterFileError, load_letter_file

    with user_errors(LetterFileError, FontConfigError):
        letter_file = load_letter_file(file)
        merged = letter_file.merge(parse_assignments(set_ or []))
        size = write_atomically(output, lambda: render_letter(merged))
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")


roster_app = typer.Typer(help="The roster of colleges (รายชื่อสถานศึกษา).", no_args_is_help=True)
credentials_app = typer.Typer(
    help="Credentials for the colleges: issue, reissue, void, verify.", no_args_is_help=True
)
app.add_typer(roster_app, name="roster")
app.add_typer(credentials_app, name="credentials")


def open_database():
    """The configured database (``DATABASE_URL`` or the SQLite file), migrated to head."""
    from saraban.storage.engine import make_engine, upgrade_schema

    engine = make_engine()
    upgrade_schema(engine)
    return engine


def current_user() -> str:
    import getpass

    return os.environ.get("SARABAN_USER") or getpass.getuser()


@roster_app.command("import")
def roster_import(
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8, UTF-8 with BOM, cp874) or XLSX.")],
    encoding: Annotated[
        str | None, typer.Option(help="The CSV's encoding, if detection gets it wrong.")
    ] = None,
) -> None:
    """Import or update colleges by code. A file with any bad row imports nothing."""
    from saraban.domain.roster import RosterError, read_roster
    from saraban.storage.engine import session_scope
    from saraban.storage.store import StoreError, import_colleges

    with user_errors(RosterError, StoreError, OSError):
        roster = read_roster(file, encoding)
        engine = open_database()
        with session_scope(engine, immediate=True) as session:
            result = import_colleges(session=session, colleges=roster.rows)
    out.print(
        f"[green]imported[/] {file} ({roster.encoding}): {len(roster.rows)} colleges: {result}"
    )


def _slip_renderer(policy_hint: str, per_page: int):
    from letters.slip import SlipText, render_slips

    text = SlipText(hint=policy_hint)
    return lambda slips: render_slips(slips, text, per_page=per_page)


@credentials_app.command("issue")
def credentials_issue(
    codes: Annotated[
        list[str] | None, typer.Argument(help="College codes; default: every college without one.")
    ] = None,
    slips: Annotated[Path, typer.Option(help="The slips PDF to write (a new file).")] = Path(
        "slips.pdf"
    ),
    policy: Annotated[str, typer.Option(help="Password policy: default or long.")] = "default",
    per_page: Annotated[int, typer.Option(help="Slips per A4 page: 1, 2 or 4.")] = 1,
    jobs: Annotated[int | None, typer.Option(help="Hashing processes (default: cores).")] = None,
) -> None:
    """Issue credentials and write their slips in one step: both or neither."""
    from credentials import policy_from_name
    from saraban.services.credentials import IssueError, issue
    from saraban.storage.store import StoreError

    with user_errors(IssueError, StoreError, ValueError, OSError):
        chosen = policy_from_name(policy)
        engine = open_database()
        result = issue(
            engine,
            slips_path=slips,
            render=_slip_renderer(chosen.hint_th, per_page),
            issued_by=current_user(),
            codes=codes,
            policy=chosen,
            workers=jobs,
        )
    if not result.count:
        out.print("nothing to issue: every college has a live credential")
        return
    out.print(f"[green]issued[/] {result.count} credentials; slips: {result.slips_path}")


@credentials_app.command("reissue")
def credentials_reissue(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with who and when).")],
    slips: Annotated[Path, typer.Option(help="The slip PDF to write (a new file).")],
    policy: Annotated[str, typer.Option(help="Password policy: default or long.")] = "default",
) -> None:
    """Void a college's credential and issue a new one with its slip."""
    from credentials import policy_from_name
    from saraban.services.credentials import IssueError, issue
    from saraban.storage.models import BatchKind
    from saraban.storage.store import StoreError

    with user_errors(IssueError, StoreError, ValueError, OSError):
        chosen = policy_from_name(policy)
        engine = open_database()
        result = issue(
            engine,
            slips_path=slips,
            render=_slip_renderer(chosen.hint_th, 1),
            issued_by=current_user(),
            codes=[code],
            policy=chosen,
            kind=BatchKind.REISSUE,
            reason=reason,
        )
    out.print(f"[green]reissued[/] {code}; the old credential is void; slip: {result.slips_path}")


@credentials_app.command("void")
def credentials_void(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with who and when).")],
) -> None:
    """Void a college's credential: it no longer logs in."""
    from saraban.services.credentials import void
    from saraban.storage.store import StoreError

    with user_errors(StoreError, ValueError):
        void(open_database(), code=code, by=current_user(), reason=reason)
    out.print(f"[green]voided[/] the credential of {code}")


@credentials_app.command("verify")
def credentials_verify(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.")],
) -> None:
    """Check a password, read from a prompt (or one line of standard input), never argv."""
    import getpass
    import sys

    from saraban.services.credentials import verify

    if sys.stdin.isatty():
        password = getpass.getpass("รหัสผ่าน (password): ")
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    verdict = verify(open_database(), code=code, password=password)
    del password
    if verdict.ok:
        out.print(f"[green]ok[/]: the password of {code} is right")
        return
    err.print(f"[bold red]no:[/] {code}: {verdict.reason}")
    raise typer.Exit(1)


@app.command("qr-sheet")
def qr_sheet(
    file: Annotated[Path, typer.Argument(help="The QR sheet file (TOML).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The PDF to write.")],
) -> None:
    """Render a sheet of QR codes with captions and their links as text."""
    from letters.letterfile import LetterFileError
    from letters.qrsheet import load_qr_sheet, render_qr_sheet

    with user_errors(LetterFileError):
        sheet = load_qr_sheet(file)
        size = write_atomically(output, lambda: render_qr_sheet(sheet))
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")


@app.command()
def mailout(
    folder: Annotated[Path, typer.Argument(help="The mailout folder (letter.toml, roster, ...).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where the bundles go.")],
    roster: Annotated[
        Path | None, typer.Option(help="A roster to use in place of the folder's.")
    ] = None,
    jobs: Annotated[int | None, typer.Option(help="Worker processes (default: cores).")] = None,
) -> None:
    """Make every college's bundle (letter, enclosures, QR sheet, credential slip), the print
    file and the manifest. Safe to rerun: it finishes an interrupted run and issues nothing
    twice."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )
    from rich.table import Table

    from saraban.domain.roster import RosterError
    from saraban.services.mailouts import MailoutError, load_plan, run_mailout
    from saraban.storage.store import StoreError

    with user_errors(MailoutError, RosterError, StoreError, OSError):
        plan = load_plan(folder, roster)
        engine = open_database()
        columns = (
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        )
        # No refresh thread: the workers are forked, which wants a single-threaded parent.
        with Progress(*columns, console=err, transient=False, auto_refresh=False) as bar:
            task = bar.add_task(f"mailout {plan.name}", total=len(plan.roster.rows))

            def advance(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)
                bar.refresh()

            result = run_mailout(
                plan, out_dir, engine, issued_by=current_user(), jobs=jobs, progress=advance
            )
    table = Table(title=f"mailout {result.name}", show_header=False)
    table.add_row("letter number (ที่)", result.reference or "one per college (see manifest)")
    table.add_row("colleges", f"{result.colleges:,}")
    table.add_row("issued in this run", f"{result.issued_now:,}")
    table.add_row("pages", f"{result.pages:,}")
    table.add_row("bundles", f"{result.out}/<code>.pdf")
    table.add_row("print file", f"{result.out}/print-all.pdf")
    table.add_row("manifest", f"{result.out}/manifest.csv")
    table.add_row("time", f"{result.seconds:.1f} s")
    out.print(table)


from saraban.cli.service import register_service_commands  # noqa: E402

register_service_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
