"""Settings of the web service, from the environment (prefix ``SARABAN_``).

The database is configured as for the CLI (``DATABASE_URL`` or ``SARABAN_DB``, see
:mod:`saraban.storage.engine`). With ``SARABAN_ENV=production`` the service refuses to start
without a secret key of its own (``SARABAN_SECRET_KEY``, at least 32 characters, not a known
placeholder); elsewhere a missing key is replaced by a random one per process, so sessions'
CSRF tokens do not survive a restart.

Digital signatures (saraban.services.signatures): ``SARABAN_TRUST_DIR``, a folder of the CA
certificates the administrator trusts, against which every received PDF's signatures are
checked (without one, every signature shows as untrusted: no trust store configured);
``SARABAN_SEAL_FILE`` and ``SARABAN_SEAL_PASSPHRASE``, the organisation's seal (a PKCS#12 key
file and its passphrase), which signs letters when the signer gives no key of their own; in
production the seal file must be readable by its owner only; ``SARABAN_TIMESTAMP_URL``, an
RFC 3161 timestamp authority (PAdES B-T) for every signature made. A passphrase is never put
in an error message: the checks here see only the file's path.
"""

from __future__ import annotations

import ipaddress
import itertools
import math
import os
import secrets
import stat
import zlib
from collections import Counter
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from credentials import DEFAULT_MEMORY_KIB, DEFAULT_TIME_COST, HashSettings
from saraban.domain.errors import ConfigError

MIN_SECRET_LENGTH = 32
PLACEHOLDER_SECRETS = frozenset({"changethis", "change-me", "changeme", "secret", "dev", "test"})
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


MIN_SECRET_BITS = 96  # a 128-bit key estimates 98 at the lowest seen in 200,000 draws


def estimated_bits(key: str) -> float:
    """A cautious estimate of a key's entropy in bits: the smaller of its length times the
    Shannon entropy of its characters, and the bits zlib needs to store it (which finds
    repeated runs, such as ``changeme`` four times)."""
    if not key:
        return 0.0
    data = key.encode("utf-8")
    counts = Counter(key)
    # Counting characters underestimates a short key's entropy: Miller-Madow's correction,
    # (distinct - 1) / 2 nats, keeps 32 random hex digits (128 bits) clear of the bar.
    shannon = -sum(n * math.log2(n / len(key)) for n in counts.values())
    shannon += (len(counts) - 1) / (2 * math.log(2))
    compressed = (len(zlib.compress(data, 9)) - 8) * 8  # less zlib's header and checksum
    return min(shannon, float(compressed))


def random_enough(key: str) -> bool:
    """Whether ``key`` looks drawn at random: at least ``MIN_SECRET_BITS`` by
    :func:`estimated_bits`, and mostly no runs (``aaaa``, ``abcd``, ``4321``)."""
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(key)]
    in_runs = 0  # steps inside runs of 4 or more characters: aaaa, abcd, 4321
    for step, group in itertools.groupby(steps):
        length = len(list(group))
        if abs(step) <= 1 and length >= 3:
            in_runs += length
    return estimated_bits(key) >= MIN_SECRET_BITS and in_runs * 2 < max(len(steps), 1)


class Settings(BaseSettings):
    # hide_input_in_errors: a refused setting's message never carries what was given, which for
    # a check over the whole model would be every setting (the secret key, the seal's
    # passphrase).
    model_config = SettingsConfigDict(
        env_prefix="SARABAN_", extra="ignore", frozen=True, hide_input_in_errors=True
    )

    env: Literal["development", "test", "production"] = "development"
    secret_key: SecretStr | None = Field(
        default=None, description="signs the CSRF tokens; required in production"
    )
    data_dir: Path = Field(default=Path("data"), description="uploaded letters are kept here")
    cookie_secure: bool | None = Field(
        default=None, description="Secure cookies: None means when the request came over HTTPS"
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="addresses or networks (comma-separated) whose X-Forwarded-For and "
        "X-Forwarded-Proto are believed: the reverse proxy, and e-MVS if it forwards its "
        "users' addresses",
    )
    session_idle_minutes: int = Field(default=120, ge=1)
    session_max_hours: int = Field(default=12, ge=1)
    account_free_failures: int = Field(default=3, ge=1, description="before an account locks")
    address_free_failures: int = Field(default=20, ge=1, description="before an address locks")
    first_lock_seconds: int = Field(default=1, ge=1, description="then doubled per failure")
    max_lock_seconds: int = Field(default=900, ge=1)
    forget_failures_seconds: int = Field(
        default=3600, ge=1, description="failures older than this (and no lock) are forgotten"
    )
    hash_memory_kib: int = DEFAULT_MEMORY_KIB
    hash_time_cost: int = DEFAULT_TIME_COST
    max_upload_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    ovec_sender: str = "สำนักงานคณะกรรมการการอาชีวศึกษา"
    trust_dir: Path | None = Field(
        default=None,
        description="a folder of trusted CA certificates (.pem, .crt, .cer, .der) for checking "
        "the digital signatures of received PDFs",
    )
    seal_file: Path | None = Field(
        default=None, description="the organisation's seal: a PKCS#12 key file (.p12)"
    )
    seal_passphrase: SecretStr | None = Field(
        default=None, description="the seal file's passphrase (from the environment only)"
    )
    timestamp_url: str | None = Field(
        default=None, description="an RFC 3161 timestamp authority: signatures become PAdES B-T"
    )
    # Bounded work per request (saraban.web.limits, saraban.services.pdfcheck, pdfjobs).
    max_anonymous_body_bytes: int = Field(
        default=16 * 1024, ge=1024, description="a request body without a session cookie"
    )
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="a logged-in request body, but an upload"
    )
    max_upload_pages: int = Field(default=500, ge=1, description="pages of an uploaded PDF")
    max_page_points: float = Field(
        default=2384.0, ge=100, description="a page's longest side in points (A1: 2384)"
    )
    render_max_pixels: int = Field(
        default=4_000_000, ge=10_000, description="a page preview's pixels, at most"
    )
    pdf_workers: int = Field(default=2, ge=1, description="processes rendering PDF pages")
    pdf_job_seconds: float = Field(default=20.0, gt=0, description="one PDF job, at most")
    pdf_job_memory_mib: int = Field(default=1024, ge=128, description="one PDF worker, at most")
    # The login throttle's account-wide budget (saraban.services.throttle).
    account_burst_failures: int = Field(
        default=30, ge=1, description="failures from anywhere before an account-wide lock"
    )
    account_refill_seconds: int = Field(
        default=60, ge=1, description="the account-wide budget gets one failure back this often"
    )
    device_days: int = Field(default=30, ge=1, description="a device cookie's life")
    mailout_dir: Path | None = Field(
        default=None,
        description="where mailouts started from the web keep their inputs and bundles (default "
        "data_dir/mailouts); on PostgreSQL every `saraban worker` and `saraban serve` machine "
        "must see the same files at this path",
    )

    _fallback_secret: bytes = PrivateAttr(default_factory=lambda: secrets.token_bytes(32))
    # What these settings loaded once (the organisation's seal: saraban.services.signatures).
    _loaded: dict[str, object] = PrivateAttr(default_factory=dict)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value

    @field_validator("trust_dir")
    @classmethod
    def _trust_dir(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_dir():
            raise ValueError(f"{value}: the trust store folder does not exist")
        return value

    @field_validator("seal_file")
    @classmethod
    def _seal_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """The seal file exists; in production only its owner may read it (like an ssh key).
        Only the path is seen here, never the passphrase."""
        if value is None:
            return None
        try:
            mode = os.stat(value).st_mode
        except OSError as exc:
            raise ValueError(f"{value}: cannot read the seal file ({exc.strerror})") from None
        if not stat.S_ISREG(mode):
            raise ValueError(f"{value}: the seal file is not a file")
        if info.data.get("env") == "production" and mode & 0o077:
            raise ValueError(
                f"{value}: the seal file is readable by others (mode {stat.S_IMODE(mode):04o}); "
                f"only its owner may read it in production: chmod 600 {value}"
            )
        return value

    @field_validator("seal_passphrase")
    @classmethod
    def _passphrase_with_a_file(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is not None and info.data.get("seal_file") is None and "seal_file" in info.data:
            raise ValueError("SARABAN_SEAL_PASSPHRASE is set but SARABAN_SEAL_FILE is not")
        return value

    @field_validator("timestamp_url")
    @classmethod
    def _timestamp_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r}: a timestamp authority's URL starts with http(s)://")
        return value or None

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.env != "production":
            return self
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if not key or key.lower() in PLACEHOLDER_SECRETS or len(key) < MIN_SECRET_LENGTH:
            raise ValueError(
                "SARABAN_SECRET_KEY must be set in production to a secret of at least "
                f"{MIN_SECRET_LENGTH} characters (e.g. python -c "
                "'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not random_enough(key):  # the message never shows the key, nor any part of it
            raise ValueError(
                "SARABAN_SECRET_KEY is too predictable (repeated or sequential characters, "
                f"under {MIN_SECRET_BITS} bits by estimate); make one with python -c "
                "'import secrets; print(secrets.token_urlsafe(48))'"
            )
        return self

    @property
    def secret(self) -> bytes:
        if self.secret_key is None:
            return self._fallback_secret
        return self.secret_key.get_secret_value().encode("utf-8")

    @property
    def loaded(self) -> dict[str, object]:
        """A place for what is loaded once from these settings (the seal's key): it lives and
        dies with them, and is never copied into another settings object."""
        return self._loaded

    @property
    def hashing(self) -> HashSettings:
        return HashSettings(memory_kib=self.hash_memory_kib, time_cost=self.hash_time_cost)

    def proxy_networks(self) -> tuple[Network, ...]:
        return tuple(ipaddress.ip_network(item, strict=False) for item in self.trusted_proxies)


def load_settings() -> Settings:
    """The settings from the environment; ConfigError names the first setting at fault."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(f"{where}: {first['msg'].removeprefix('Value error, ')}") from None
