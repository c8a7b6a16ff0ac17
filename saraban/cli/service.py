"""Commands of the web service: ``serve``, ``user add``, ``audit verify`` and ``audit head``.

Registered on the main ``saraban`` command by :func:`register_service_commands`; this module
imports saraban.cli only inside the commands, since saraban.cli imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from saraban.settings import Settings

user_app = typer.Typer(help="OVEC staff accounts of the web service.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _settings() -> Settings:
    from pydantic import ValidationError

    from saraban.cli import fail
    from saraban.settings import Settings

    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(f"{where}: {first['msg'].removeprefix('Value error, ')}")
        raise  # unreachable: fail exits


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Server processes (one per core).")] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (the reverse proxy usually does).")
    ] = False,
) -> None:
    """Run the web service (JSON API under /api, its schema at /api/openapi.json).

    With ``--workers N``, N processes share the port; logins, sessions and throttles are in
    the database, so any of them answers any request."""
    import os
    import secrets

    import uvicorn

    from saraban.cli import open_database

    settings = _settings()  # refuse a bad configuration here, before any worker starts
    if settings.secret_key is None:
        # Outside production a missing key is made up, but once for all the workers: a CSRF
        # token signed by one must be good at the others. It lasts as long as this server.
        os.environ["SARABAN_SECRET_KEY"] = secrets.token_urlsafe(48)
    open_database().dispose()  # migrated to head once, not by each worker
    uvicorn.run(**uvicorn_options(host=host, port=port, workers=workers, access_log=access_log))


def uvicorn_options(*, host: str, port: int, workers: int, access_log: bool) -> dict[str, Any]:
    """How ``serve`` runs uvicorn. Each worker builds its own app from the environment
    (``saraban.web.app:served_app``: settings and engine), on uvloop and httptools when installed
    (``uvicorn[standard]``). Forwarded headers are read by the app itself, from
    SARABAN_TRUSTED_PROXIES only."""
    return {
        "app": "saraban.web.app:served_app",
        "factory": True,
        "host": host,
        "port": port,
        "workers": workers,
        "loop": "auto",
        "http": "auto",
        "proxy_headers": False,
        "server_header": False,
        "access_log": access_log,
    }


def _read_password() -> str:
    import getpass
    import sys

    from saraban.cli import fail

    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    password = getpass.getpass("รหัสผ่าน (password): ")
    if getpass.getpass("อีกครั้ง (again): ") != password:
        fail("the two passwords differ")
    return password


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, '.', '_', '-'.")],
    name: Annotated[str, typer.Option(help="Full name, e.g. นายสมชาย ใจดี.")],
) -> None:
    """Add an OVEC staff account; the password is read from a prompt (or one line of standard
    input), never from the command line."""
    from saraban.cli import current_user, open_database, out, user_errors
    from saraban.domain.errors import ServiceError
    from saraban.services import accounts
    from saraban.storage.engine import session_scope

    settings = _settings()
    password = _read_password()
    with user_errors(ServiceError):
        engine = open_database()
        with session_scope(engine, immediate=True) as session:
            accounts.create_ovec_user(
                session,
                username=username,
                name=name,
                password=password,
                settings=settings,
                by=f"cli:{current_user()}",
            )
    del password
    out.print(f"[green]added[/] OVEC user {username.strip().lower()}")


def _anchor(value: str | None) -> tuple[int, str] | None:
    from saraban.cli import UserError

    if value is None:
        return None
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        raise UserError(f"--anchor {value!r}: expected SEQ:HASH as `saraban audit head` prints")
    return int(seq), digest.lower()


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH from `saraban audit head`, kept outside the database."),
    ] = None,
) -> None:
    """Check every row of the audit log; name the first one edited, deleted or inserted."""
    from saraban.cli import err, open_database, out, user_errors
    from saraban.services import audit

    with user_errors(audit.AuditError):
        published = _anchor(anchor)
        engine = open_database()
        report = audit.verify(engine, anchor=published)
    if report.ok:
        out.print(f"[green]ok[/]: {report.checked:,} events, chained and unaltered")
        return
    err.print(
        f"[bold red]tampered:[/] event {report.first_bad_seq} was {report.problem} "
        f"({report.checked:,} events before it are intact)"
    )
    raise typer.Exit(1)


@audit_app.command("head")
def audit_head() -> None:
    """Print SEQ:HASH of the last event, to keep somewhere the database's writers cannot
    change (then `saraban audit verify --anchor SEQ:HASH`)."""
    from sqlmodel import Session

    from saraban.cli import open_database, out
    from saraban.services import audit

    with Session(open_database()) as session:
        seq, digest = audit.head(session)
    out.print(f"{seq}:{digest}")


def register_service_commands(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.add_typer(user_app, name="user")
    app.add_typer(audit_app, name="audit")
