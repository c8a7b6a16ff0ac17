"""Argon2id password hashing through passlib (the ``libpass`` distribution).

Defaults are the OWASP minimum for argon2id: 19 MiB memory, 2 iterations,
parallelism 1. Contexts use ``deprecated="auto"``, so a hash made with other
parameters than the context's reports ``needs_update`` and
:func:`verify_password` hands back a replacement hash.

No function here ever puts a password into an exception message.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

from passlib.context import CryptContext
from passlib.exc import PasswordValueError

DEFAULT_MEMORY_KIB = 19456
DEFAULT_TIME_COST = 2
DEFAULT_PARALLELISM = 1

MIN_PARALLEL_ITEMS = 8
"""Below this many passwords :func:`hash_many` hashes in-process."""


def make_context(
    memory_kib: int = DEFAULT_MEMORY_KIB,
    time_cost: int = DEFAULT_TIME_COST,
    parallelism: int = DEFAULT_PARALLELISM,
) -> CryptContext:
    """A CryptContext hashing with argon2id at the given cost parameters."""
    _check_params(memory_kib, time_cost, parallelism)
    return CryptContext(
        schemes=["argon2"],
        deprecated="auto",
        argon2__type="ID",
        argon2__memory_cost=memory_kib,
        argon2__time_cost=time_cost,
        argon2__parallelism=parallelism,
    )


def _check_params(memory_kib: int, time_cost: int, parallelism: int) -> None:
    for label, value in (
        ("memory_kib", memory_kib),
        ("time_cost", time_cost),
        ("parallelism", parallelism),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"argon2 {label} must be a positive int, got {value!r}")
    if memory_kib < 8 * parallelism:
        raise ValueError(
            f"argon2 memory_kib ({memory_kib}) must be at least 8 x parallelism ({parallelism})"
        )


def _check_password(password: object) -> str:
    if not isinstance(password, str):
        # Deliberately name only the type, never the value.
        raise TypeError(f"password must be a str, got {type(password).__name__}")
    return password


def hash_password(ctx: CryptContext, password: str) -> str:
    """Hash *password* with *ctx*, returning a ``$argon2id$...`` string."""
    return ctx.hash(_check_password(password))


def verify_password(ctx: CryptContext, password: str, hash: str) -> tuple[bool, str | None]:
    """Check *password* against a stored *hash*.

    Returns ``(ok, new_hash)``; ``new_hash`` is a replacement to store when the
    password is right but the hash was made with parameters other than *ctx*'s,
    otherwise ``None``. A *hash* that is not an argon2 hash raises ValueError.
    """
    _check_password(password)
    if not isinstance(hash, str):
        raise TypeError(f"stored hash must be a str, got {type(hash).__name__}")
    try:
        ok, new_hash = ctx.verify_and_update(password, hash)
    except PasswordValueError:
        raise  # e.g. too long; passlib's message names no secret
    except ValueError:
        # passlib's messages do not contain the secret, but keep ours self-contained.
        raise ValueError("stored hash is not a valid argon2 hash for this context") from None
    return bool(ok), new_hash


@dataclass(frozen=True)
class HashSettings:
    """Argon2 cost parameters; picklable, so it can be handed to worker processes."""

    memory_kib: int = DEFAULT_MEMORY_KIB
    time_cost: int = DEFAULT_TIME_COST
    parallelism: int = DEFAULT_PARALLELISM

    def __post_init__(self) -> None:
        _check_params(self.memory_kib, self.time_cost, self.parallelism)

    def context(self) -> CryptContext:
        return make_context(self.memory_kib, self.time_cost, self.parallelism)


T = TypeVar("T")
_worker_context: CryptContext | None = None


def _init_worker(settings: HashSettings) -> None:
    global _worker_context
    _worker_context = settings.context()


def _hash_in_worker(password: str) -> str:
    if _worker_context is None:  # pragma: no cover - initializer always runs first
        raise RuntimeError("hash worker was not initialised")
    return _worker_context.hash(password)


def _worker_count(workers: int | None, items: int) -> int:
    if workers is None:
        workers = os.cpu_count() or 1
    elif isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive int or None, got {workers!r}")
    return max(1, min(workers, items))


def pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` when this process has one thread (workers start at once, with nothing to
    import), else ``spawn``: forking a threaded process (a web server) is unsafe."""
    if threading.active_count() == 1 and "fork" in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def hash_many(
    settings: HashSettings, passwords: Sequence[str], workers: int | None = None
) -> list[str]:
    """Hash *passwords* in parallel processes; the result is in the input's order.

    *workers* defaults to the CPU count. With one worker, or fewer than
    :data:`MIN_PARALLEL_ITEMS` passwords, hashing happens in this process.
    Workers are forked from a single-threaded process and spawned from a threaded
    one (e.g. a web server), where forking is unsafe; as with any ``spawn`` pool, a
    script calling this at import time needs an ``if __name__ == "__main__":`` guard.
    """
    hashes, _ = hash_many_while(settings, passwords, lambda: None, workers=workers)
    return hashes


def hash_many_while(
    settings: HashSettings,
    passwords: Sequence[str],
    during: Callable[[], T],
    workers: int | None = None,
) -> tuple[list[str], T]:
    """Hash *passwords* in worker processes while this process runs *during*.

    Returns the hashes (in input order) and what *during* returned: the caller's own work
    (rendering the slips) overlaps the hashing instead of following it.
    """
    passwords = [_check_password(p) for p in passwords]
    count = _worker_count(workers, len(passwords))
    if count == 1 or len(passwords) < MIN_PARALLEL_ITEMS:
        ctx = settings.context()
        return [ctx.hash(p) for p in passwords], during()
    chunksize = max(1, len(passwords) // (count * 4))
    with ProcessPoolExecutor(
        max_workers=count,
        mp_context=pool_context(),
        initializer=_init_worker,
        initargs=(settings,),
    ) as pool:
        pending = pool.map(_hash_in_worker, passwords, chunksize=chunksize)
        result = during()
        return list(pending), result
