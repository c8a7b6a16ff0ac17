"""Commands of the web service: ``serve``, ``user add``, ``audit verify`` and ``audit head``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from saraban.cli.console import current_user, err, out, read_password
from saraban.domain.errors import Invalid

user_app = typer.Typer(help="OVEC staff accounts of the web service.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


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

    from saraban.services.signatures import check_configuration
    from saraban.settings import load_settings
    from saraban.storage.engine import open_database

    settings = load_settings()  # refuse a bad configuration here, before any worker starts
    check_configuration(settings)  # the trust store reads, the seal opens with its passphrase
    if settings.secret_key is None:
        # Outside production a missing key is made up, but once for all the workers: a CSRF
        # token signed by one must be good at the others. It lasts as long as this server.
        os.environ["SARABAN_SECRET_KEY"] = secrets.token_urlsafe(48)
    engine = open_database()  # migrated to head once, not by each worker
    local = engine.dialect.name == "sqlite"
    engine.dispose()
    jobs = _local_worker() if local else None
    try:
        uvicorn.run(**uvicorn_options(host=host, port=port, workers=workers, access_log=access_log))
    finally:
        if jobs is not None:
            jobs.terminate()  # it stops its chunk workers too: no process keeps the db open
            jobs.join(timeout=30)


def _local_worker() -> Any:
    """On SQLite, the mailout jobs run in a process of their own beside the web service
    (forked now, before the server starts threads); on PostgreSQL, ``saraban worker`` runs
    them."""
    import multiprocessing

    from saraban.services import local_worker
    from saraban.storage.engine import database_url

    process = multiprocessing.get_context("fork").Process(
        target=local_worker.serve, args=(database_url(),), name="saraban-jobs"
    )
    process.start()
    return process


def uvicorn_options(*, host: str, port: int, workers: int, access_log: bool) -> dict[str, Any]:
    """How ``serve`` runs uvicorn. Each worker builds its own app from the environment
    (``saraban.web.app:served_app``: settings and engine), on uvloop and httptools when
    installed (``uvicorn[standard]``). Forwarded headers are read by the app itself, from
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


@user_app.command("add")
def user_add(
    username: Annotated[str, typer.Argument(help="Login name: a-z, 0-9, '.', '_', '-'.")],
    name: Annotated[str, typer.Option(help="Full name, e.g. นายสมชาย ใจดี.")],
) -> None:
    """Add an OVEC staff account; the password is read from a prompt (or one line of standard
    input), never from the command line."""
    from saraban.services import accounts
    from saraban.settings import load_settings
    from saraban.storage.engine import open_database

    settings = load_settings()
    password = read_password(confirm=True)
    accounts.add_ovec_user(
        open_database(),
        settings,
        username=username,
        name=name,
        password=password,
        by=f"cli:{current_user()}",
    )
    del password
    out.print(f"[green]added[/] OVEC user {username.strip().lower()}")


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        message = f"--anchor {value!r}: expected SEQ:HASH as `saraban audit head` prints"
        raise Invalid("--anchor", message, text=message)
    return int(seq), digest.lower()


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option(help="SEQ:HASH from `saraban audit head`, kept outside the database."),
    ] = None,
) -> None:
    """Check every row of the audit log; name the first one edited, deleted or inserted."""
    from saraban.services import audit
    from saraban.storage.engine import open_database

    published = _anchor(anchor)
    report = audit.verify(open_database(), anchor=published)
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
    from saraban.services import audit
    from saraban.storage.engine import open_database

    seq, digest = audit.published_head(open_database())
    out.print(f"{seq}:{digest}")
