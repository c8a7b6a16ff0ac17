"""Work with PDFium (page previews, the annotated letter) in a bounded pool of processes, each
job with a time limit and each process with a memory limit.

PDFium is not safe in two threads at once: in the web's process, every use of it took one
lock, so one college's 19-second preview of a hostile page stalled every other college's.
Here each job runs in a worker process of its own (``pdf_workers`` of them, forked from a
clean server: ``forkserver``), which is single-threaded, so jobs of different colleges run
side by side and none holds a lock in the web's process. A worker may use at most
``pdf_job_memory_mib`` of address space (``RLIMIT_AS``: a bigger allocation fails in the
worker, not the server), and a job is given ``pdf_job_seconds``: then its worker is killed
(``SIGALRM``, default action), the pool is made again, and the request is answered as a
refusal that names the limit. Jobs that were in the killed pool are tried once more.

The renders are bounded as well (saraban.services.previews): a page is rendered at no more
than ``render_max_pixels``, whatever size it declares.
"""

from __future__ import annotations

import multiprocessing
import resource
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from saraban.domain.errors import PayloadTooLarge

T = TypeVar("T")


class TooMuchWork(PayloadTooLarge):
    """A PDF job ran out of time or memory: the file is too much to work on (413)."""


def _limit_worker(memory_mib: int) -> None:
    """Each worker's limits (the pool's initializer)."""
    limit = memory_mib * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def _timed(seconds: float, work: Callable[..., T], args: tuple[Any, ...]) -> T:
    """In the worker: ``work(*args)``, the worker killed if it runs past ``seconds`` (a job
    stuck in C code cannot be interrupted otherwise)."""
    signal.signal(signal.SIGALRM, signal.SIG_DFL)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        return work(*args)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


class PdfPool:
    """The pool of one server process (made at first use, made again after a kill)."""

    def __init__(self, workers: int, seconds: float, memory_mib: int) -> None:
        self.workers = workers
        self.seconds = seconds
        self.memory_mib = memory_mib
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    max_workers=self.workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_limit_worker,
                    initargs=(self.memory_mib,),
                )
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def run(self, work: Callable[..., T], *args: Any, what: str = "PDF") -> T:
        """``work(*args)`` in a worker (``work`` must be a module-level function)."""
        for attempt in range(2):
            pool = self._executor()
            started = time.monotonic()
            future = pool.submit(_timed, self.seconds, work, args)
            try:
                return future.result(timeout=self.seconds + 5)
            except MemoryError:
                raise TooMuchWork(
                    f"{what}: ใช้หน่วยความจำเกิน {self.memory_mib} MB / needs more than "
                    f"{self.memory_mib} MiB"
                ) from None
            except (BrokenProcessPool, FutureTimeout):
                self._discard(pool)
                if attempt == 0 and time.monotonic() - started < self.seconds * 0.9:
                    continue  # another job's worker was killed, not this one's: again
                raise TooMuchWork(
                    f"{what}: ใช้เวลาเกิน {self.seconds:g} วินาที หรือหน่วยความจำเกิน "
                    f"{self.memory_mib} MB / took more than {self.seconds:g} s or "
                    f"{self.memory_mib} MiB"
                ) from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


_pools: dict[tuple[int, float, int], PdfPool] = {}
_pools_lock = threading.Lock()


def pool_for(workers: int, seconds: float, memory_mib: int) -> PdfPool:
    """The process's pool for these limits (one per set of settings in practice)."""
    key = (workers, seconds, memory_mib)
    with _pools_lock:
        found = _pools.get(key)
        if found is None:
            found = _pools[key] = PdfPool(workers, seconds, memory_mib)
        return found
