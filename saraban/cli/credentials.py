"""``saraban credentials issue|reissue|void|verify``: the colleges' credentials from the
command line (saraban.services.credentials, as the service uses them)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from saraban.cli.console import current_user, err, out, read_password
from saraban.cli.database import open_db

app = typer.Typer(
    help="Credentials for the colleges: issue, reissue, void, verify.", no_args_is_help=True
)


@app.command("issue")
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
    from saraban.services import credentials

    chosen = credentials.policy_named(policy)
    result = credentials.issue(
        open_db(create=True),
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


@app.command("reissue")
def credentials_reissue(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with who and when).")],
    slips: Annotated[Path, typer.Option(help="The slip PDF to write (a new file).")],
    policy: Annotated[str, typer.Option(help="Password policy: default or long.")] = "default",
) -> None:
    """Void a college's credential and issue a new one with its slip."""
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


@app.command("void")
def credentials_void(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.")],
    reason: Annotated[str, typer.Option(help="Why (recorded with who and when).")],
) -> None:
    """Void a college's credential: it no longer logs in."""
    from saraban.services import credentials

    credentials.void(open_db(), who=current_user(), code=code, reason=reason)
    out.print(f"[green]voided[/] the credential of {code}")


@app.command("verify")
def credentials_verify(
    code: Annotated[str, typer.Argument(help="The college's 10-digit code.")],
) -> None:
    """Check a password, read from a prompt (or one line of standard input), never argv."""
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
