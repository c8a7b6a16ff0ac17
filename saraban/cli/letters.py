"""``saraban letter`` (signed with ``--sign``), ``saraban verify`` and ``saraban qr-sheet``: a
letter file or a QR sheet file to PDF, and a PDF's digital signatures checked."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from saraban.cli.console import err, out
from saraban.cli.signing import TimestampUrl, TrustFolder, read_key_passphrase
from saraban.domain.errors import Invalid

EXIT_NOT_VALID = 1


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``college.name=วิทยาลัย…`` pairs into a nested template context."""
    context: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            message = f"--set {pair!r}: expected NAME=VALUE, e.g. college.name=วิทยาลัย..."
            raise Invalid("--set", message, text=message)
        node = context
        *parents, leaf = key.strip().split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                message = f"--set {pair!r}: {part!r} is already a value"
                raise Invalid("--set", message, text=message)
            node = child
        node[leaf] = value
    return context


def letter(
    file: Annotated[Path, typer.Argument(help="The letter file (TOML).", metavar="FILE")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The PDF to write.", metavar="PDF")
    ],
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="A value for the templates, e.g. --set college.name=วิทยาลัย... (repeat it for "
            "each value).",
            metavar="NAME=VALUE",
        ),
    ] = None,
    sign: Annotated[
        Path | None,
        typer.Option(
            "--sign",
            help="Sign it digitally with this PKCS#12 key (.p12); its passphrase is asked for, "
            "or read from one line of standard input, never from the command line.",
            metavar="KEY",
        ),
    ] = None,
    timestamp_url: TimestampUrl = None,
    trust: TrustFolder = None,
) -> None:
    """Make an official letter's PDF from its letter file.

    The letter is external, circular or an internal memo (its kind). With --sign it is
    signed digitally (PAdES) on today's date in Bangkok, which its signature block prints.
    """
    from letters.letterfile import LetterFileError
    from saraban.files import write_atomically
    from saraban.services.letters import letter_from_file

    values = parse_assignments(set_ or [])
    try:
        letter = letter_from_file(file, values)
    except LetterFileError as exc:
        if values or not exc.message.startswith("unknown merge field"):
            raise
        hint = f"{exc.message}; give them with --set NAME=VALUE, e.g. --set college.name=..."
        raise LetterFileError(exc.path, exc.key, exc.line, hint) from None
    if sign is None:
        from letters.letter import render_letter

        pdf = render_letter(letter)
    else:
        pdf = _signed(letter, sign, timestamp_url=timestamp_url, trust=trust)
    size = write_atomically(output, pdf, make_folder=True)
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")


def _signed(letter: Any, key_file: Path, *, timestamp_url: str | None, trust: Path | None) -> bytes:
    """The letter signed with the key in ``key_file``, its passphrase read here and dropped once
    the key is open. Everything is checked before the letter is typeset."""
    from letters.signing import SigningError
    from letters.verification import load_trust_roots
    from saraban.domain.vocabulary import bangkok_today
    from saraban.services import signatures

    roots = load_trust_roots(trust) if trust is not None else None
    p12 = key_file.read_bytes()
    passphrase = read_key_passphrase(key_file)
    key = signatures.personal_key(p12, passphrase, name=str(key_file))
    del passphrase, p12
    today = bangkok_today()
    try:
        signed = signatures.sign_with(
            letter, key, "personal", on=today, timestamp_url=timestamp_url, trust_roots=roots
        )
    except SigningError as exc:  # the certificate, or the timestamp authority: name the key
        raise Invalid(str(key_file), exc.message, text=f"{key_file}: {exc.message}") from None
    kind = "B-T" if timestamp_url else "B-B"
    out.print(f"[green]signed[/] by {signed.signer} (PAdES {kind}) on {today.isoformat()}")
    if letter.date != today:
        err.print(
            f"[yellow]note:[/] the letter is dated {letter.date.isoformat()}; it is signed "
            f"today, {today.isoformat()}, and its signature block says so",
            soft_wrap=True,
        )
    return signed.pdf


def verify(
    file: Annotated[Path, typer.Argument(help="The PDF to check.", metavar="PDF")],
    trust: Annotated[
        Path | None,
        typer.Option(
            "--trust",
            envvar="SARABAN_TRUST_DIR",
            help="A folder of trusted CA certificates (.pem, .crt, .cer, .der).",
            metavar="FOLDER",
        ),
    ] = None,
) -> None:
    """Check the digital signatures of a PDF.

    For each signature: who signed, whether the file is as signed, whether the certificate
    chains to a trusted root, and when. The exit status is 0 only when the PDF is signed and
    every signature is valid, 1 otherwise.
    """
    from letters.verification import load_trust_roots
    from saraban.services import signatures

    roots = load_trust_roots(trust) if trust is not None else ()
    verdicts = signatures.verify_file(file.read_bytes(), roots)
    if not verdicts:
        out.print(f"{file}: ไม่มีลายมือชื่อดิจิทัล (no digital signature)")
        raise typer.Exit(EXIT_NOT_VALID)
    for number, verdict in enumerate(verdicts, start=1):
        colour = "green" if verdict.ok else "bold red"
        out.print(
            f"{file}: ลายมือชื่อที่ {number} (signature {number}): "
            f"[{colour}]{verdict.summary} ({verdict.summary_en})[/]"
        )
        for line in signatures.verdict_lines(verdict):
            out.print(f"  {line}")
    if not all(v.ok for v in verdicts):
        raise typer.Exit(EXIT_NOT_VALID)


def qr_sheet(
    file: Annotated[Path, typer.Argument(help="The QR sheet file (TOML).", metavar="FILE")],
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The PDF to write.", metavar="PDF")
    ],
) -> None:
    """Make a QR-code sheet's PDF.

    Each code is printed with its caption, and its link as text.
    """
    from saraban.files import write_atomically
    from saraban.services.letters import render_qr_sheet_file

    size = write_atomically(output, render_qr_sheet_file(file), make_folder=True)
    out.print(f"[green]wrote[/] {output} ({size:,} bytes)")
