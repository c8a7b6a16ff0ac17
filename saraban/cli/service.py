"""Commands of the web service: ``serve``, ``user add``, ``user role``, ``audit verify`` and
``audit head``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from saraban.cli.console import current_user, err, out, read_password
from saraban.cli.database import open_db
from saraban.cli.help import GROUP, Command
from saraban.domain.errors import Conflict, Invalid

user_app = typer.Typer(
    help="Add OVEC staff accounts to the web service and set their role in OVEC.", **GROUP
)
audit_app = typer.Typer(help="Check the tamper-evident audit log.", **GROUP)


def serve(
    host: Annotated[
        str, typer.Option(help="The address to listen on.", metavar="ADDRESS")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="The port to listen on.", metavar="PORT")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="How many server processes (one per core).", metavar="N")
    ] = 1,
    access_log: Annotated[
        bool, typer.Option(help="Log every request (the reverse proxy usually does).")
    ] = False,
) -> None:
    """Run the web service.

    The pages are at /, the JSON API under /api (its schema at /api/openapi.json). With
    --workers N, N processes share the port; logins, sessions and throttles are in the
    database, so any of them answers any request.
    """
    import os
    import secrets

    import uvicorn

    from saraban.services.signatures import check_configuration
    from saraban.settings import load_settings

    settings = load_settings()  # refuse a bad configuration here, before any worker starts
    check_configuration(settings)  # the trust store reads, the seal opens with its passphrase
    check_port(host, port)  # a busy port is refused before anything says it started
    if settings.secret_key is None:
        err.print(
            "[yellow]warning:[/] SARABAN_SECRET_KEY is not set: running in development mode with "
            "a key made up for this run (sessions end when it stops); set SARABAN_SECRET_KEY "
            "and SARABAN_ENV=production to serve for real",
            soft_wrap=True,
        )
        # Outside production a missing key is made up, but once for all the workers: a CSRF
        # token signed by one must be good at the others. It lasts as long as this server.
        os.environ["SARABAN_SECRET_KEY"] = secrets.token_urlsafe(48)
    engine = open_db(create=True)  # migrated to head once, not by each worker
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


def check_port(host: str, port: int) -> None:
    """Refuse, in one line naming it, an address and port this process cannot listen on (in
    use, privileged, not an address of this machine): uvicorn would say "startup complete"
    first and fail after."""
    import errno
    import socket

    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        message = f"{host!r} is not an address of this machine ({exc.strerror})"
        raise Invalid("--host", message) from None
    family, kind, proto, _, address = found[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                why = "the port is already in use (another server?); choose another with --port"
            elif exc.errno == errno.EACCES:
                why = "permission denied (ports below 1024 need root); choose another with --port"
            else:
                why = exc.strerror or str(exc)
            raise Conflict(f"cannot listen on {host}:{port}: {why}") from None


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


@user_app.command("add", cls=Command)
def user_add(
    username: Annotated[
        str, typer.Argument(help="The login name: a-z, 0-9, '.', '_', '-'.", metavar="USERNAME")
    ],
    name: Annotated[str, typer.Option(help="The full name, e.g. นายสมชาย ใจดี.", metavar="NAME")],
) -> None:
    """Add an OVEC staff account.

    The password is asked for twice, or read from one line of standard input; never from
    the command line.
    """
    from saraban.services import accounts
    from saraban.settings import load_settings

    settings = load_settings()
    engine = open_db(create=True)
    password = read_password(confirm=True)
    accounts.add_ovec_user(
        engine,
        settings,
        username=username,
        name=name,
        password=password,
        by=f"cli:{current_user()}",
    )
    del password
    out.print(f"[green]added[/] OVEC user {username.strip().lower()}")


# The service's names of what is wrong, as this command's options and arguments name them.
_ROLE_OPTIONS = {
    "role": "ROLE",
    "position": "--position",
    "acting": "--acting",
    "acting_for": "--acting-for",
}


@user_app.command("role", cls=Command)
def user_role(
    username: Annotated[
        str, typer.Argument(help="The OVEC account's login name.", metavar="USERNAME")
    ],
    role: Annotated[
        str,
        typer.Argument(
            help="clerk (registers letters and plans their routes), deputy, director or staff.",
            metavar="ROLE",
        ),
    ],
    position: Annotated[
        str | None,
        typer.Option(
            help="The position printed under a signature, e.g. รองเลขาธิการคณะกรรมการการอาชีวศึกษา.",
            metavar="POSITION",
        ),
    ] = None,
    acting: Annotated[
        str | None,
        typer.Option(
            help='รักษาราชการแทน or รักษาการในตำแหน่ง; an empty one ("") ends the relation.',
            metavar="RELATION",
        ),
    ] = None,
    acting_for: Annotated[
        str | None,
        typer.Option(help="The post acted for, with --acting.", metavar="POST"),
    ] = None,
) -> None:
    """Set an OVEC account's role, position and acting relation in OVEC.

    The role is the account's part in routing OVEC's received letters to a decision (a
    director, or one acting in the post, decides); the position and the acting relation are
    printed under the account's signature. What is not given stays as it is. The change is
    written to the audit log, naming who ran the command.
    """
    from rich.markup import escape

    from saraban.services import organisations

    engine = open_db()  # a new database has no accounts: refused, not made
    try:
        member = organisations.assign_ovec_member(
            engine,
            username=username,
            role=role,
            position=position,
            acting=acting,
            acting_for=acting_for,
            by=f"cli:{current_user()}",
        )
    except Invalid as exc:
        option = _ROLE_OPTIONS.get(exc.field or "", exc.field)
        raise Invalid(option, exc.message) from None
    post = f", {member.position}" if member.position else ""
    relation = f" ({member.acting} {member.acting_for})" if member.acting else ""
    said = escape(f"OVEC user {member.username}: {member.role}{post}{relation}")
    out.print(f"[green]set[/] {said}")


def _anchor(value: str | None) -> tuple[int, str] | None:
    if value is None:
        return None
    seq, sep, digest = value.partition(":")
    if not sep or not seq.isdigit() or len(digest) != 64:
        message = f"--anchor {value!r}: expected SEQ:HASH as `saraban audit head` prints"
        raise Invalid("--anchor", message, text=message)
    return int(seq), digest.lower()


@audit_app.command("verify", cls=Command)
def audit_verify(
    anchor: Annotated[
        str | None,
        typer.Option(
            help="The SEQ:HASH that saraban audit head printed, kept outside the database.",
            metavar="SEQ:HASH",
        ),
    ] = None,
) -> None:
    """Check every event of the audit log.

    The first event edited, deleted or inserted is named.
    """
    from saraban.services import audit

    published = _anchor(anchor)
    report = audit.verify(open_db(), anchor=published)
    if report.ok:
        out.print(f"[green]ok[/]: {report.checked:,} events, chained and unaltered")
        return
    err.print(
        f"[bold red]tampered:[/] event {report.first_bad_seq} was {report.problem} "
        f"({report.checked:,} events before it are intact)"
    )
    raise typer.Exit(1)


@audit_app.command("head", cls=Command)
def audit_head() -> None:
    """Print the last event of the audit log as SEQ:HASH.

    Keep it somewhere the database's writers cannot change, then check the log against it
    with saraban audit verify --anchor SEQ:HASH.
    """
    from saraban.services import audit

    seq, digest = audit.published_head(open_db())
    out.print(f"{seq}:{digest}")
