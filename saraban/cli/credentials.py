"""``saraban credentials issue|reissue|void|verify``: the colleges' credentials from the
command line (saraban.services.credentials, as the service uses them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import current_user, err, out, read_password
from saraban.cli.database import open_db
from saraban.cli.help import GROUP, Command

app = typer.Typer(help="Issue, reissue, void and verify the colleges' credentials.", **GROUP)


@app.command("issue", cls=Command)
def credentials_issue(
    codes: Annotated[
        list[str] | None,
        typer.Argument(
            help="The colleges' 10-digit codes (default: every college without a live credential).",
            metavar="CODE",
        ),
    ] = None,
    slips: Annotated[
        Path, typer.Option(help="The slips PDF to write (a new file).", metavar="PDF")
    ] = Path("slips.pdf"),
    policy: Annotated[
        str, typer.Option(help="The password policy: default or long.", metavar="POLICY")
    ] = "default",
    per_page: Annotated[
        int, typer.Option(help="How many slips on each A4 page: 1, 2 or 4.", metavar="N")
    ] = 1,
    jobs: Annotated[
        int | None,
        typer.Option(help="How many hashing processes (default: one per core).", metavar="N"),
    ] = None,
) -> None:
    """Issue credentials to colleges and write their slips.

    Each password is drawn, hashed and printed on its slip in one step: both or neither. A
    college that already has a live credential is skipped (reissue replaces one).
    """
    from saraban.services import credentials

    chosen = credentials.policy_named(policy)
    engine = open_db()  # a new database has no colleges to issue to: refused, not made
    result = credentials.issue(
        engine,
        slips_path=slips,
        render=credentials.slips_renderer(chosen.hint_th, per_page),
        issued_by=current_user(),
        codes=codes,
        policy=chosen,
        workers=jobs,
    )
    skipped = _already_live(codes or [], result.codes)
    if skipped:
        have = "has" if len(skipped) == 1 else "have"
        err.print(
            f"[yellow]skipped:[/] {', '.join(skipped)} already {have} a live credential "
            "(to replace one: saraban credentials reissue CODE --reason ... --slips ...)"
        )
    if not result.count:
        if not codes:
            from saraban.domain.errors import NotFound
            from saraban.services.roster import college_count

            if not college_count(engine):
                raise NotFound(
                    "nothing to issue: the database has no colleges; import the roster first "
                    "(saraban roster import FILE)"
                )
            out.print("nothing to issue: every college in the roster has a live credential")
        else:
            out.print("nothing to issue")
        return
    out.print(f"[green]issued[/] {result.count} credentials; slips: {result.slips_path}")


def _already_live(asked: list[str], issued: tuple[str, ...] | list[str]) -> list[str]:
    """The codes asked for that were not issued: they already had a live credential (an
    unknown code is refused before anything is issued)."""
    from saraban.domain.colleges import normalise_college_code

    done = set(issued)
    skipped: list[str] = []
    for code in asked:
        try:
            normal = normalise_college_code(code)
        except ValueError:
            normal = code
        if normal not in done and normal not in skipped:
            skipped.append(normal)
    return skipped


@app.command("reissue", cls=Command)
def credentials_reissue(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.", metavar="CODE")],
    reason: Annotated[
        str, typer.Option(help="Why, recorded with who did it and when.", metavar="TEXT")
    ],
    slips: Annotated[Path, typer.Option(help="The slip PDF to write (a new file).", metavar="PDF")],
    policy: Annotated[
        str, typer.Option(help="The password policy: default or long.", metavar="POLICY")
    ] = "default",
) -> None:
    """Replace a college's credential with a new one and its slip.

    The old credential is void from then on, with the reason recorded.
    """
    from saraban.services import credentials

    chosen = credentials.policy_named(policy)
    result = credentials.reissue(
        open_db(),
        who=current_user(),
        code=code,
        reason=reason,
        policy=chosen,
        slip=credentials.slip_renderer(chosen.hint_th),
        slips_path=slips,
    )
    out.print(f"[green]reissued[/] {code}; the old credential is void; slip: {result.slips_path}")


@app.command("void", cls=Command)
def credentials_void(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.", metavar="CODE")],
    reason: Annotated[
        str, typer.Option(help="Why, recorded with who did it and when.", metavar="TEXT")
    ],
) -> None:
    """Void a college's credential, so that it no longer logs in."""
    from saraban.services import credentials

    credentials.void(open_db(), who=current_user(), code=code, reason=reason)
    out.print(f"[green]voided[/] the credential of {code}")


@app.command("verify", cls=Command)
def credentials_verify(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.", metavar="CODE")],
) -> None:
    """Check a college's password against its live credential.

    The password is asked for, or read from one line of standard input; never from the
    command line.
    """
    from saraban.domain.colleges import code_problem, normalise_college_code
    from saraban.domain.errors import Invalid
    from saraban.services import credentials
    from saraban.settings import load_settings

    try:
        normalise_college_code(code)
    except ValueError:
        problem = code_problem(code.strip()) or "a college code is 10 digits"
        raise Invalid("code", problem, text=f"{code!r} is not a college code: {problem}") from None
    settings = load_settings()
    engine = open_db()  # a missing database is said before the password is asked for
    password = read_password()
    verdict = credentials.verify(engine, settings, code=code, password=password)
    del password
    if verdict.ok:
        out.print(f"[green]ok[/]: the password of {code} is right")
        return
    err.print(f"[bold red]no:[/] {code}: {verdict.reason}")
    raise typer.Exit(1)
