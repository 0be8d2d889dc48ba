"""Model fits off the request path: inputs read under the warehouse gate, the fit in the background.

A lead score takes most of a minute to fit on 1M leads: longer than a request may hold a server
thread or the warehouse (``limits.query_seconds``). :meth:`Runtime.fitted` reads a fit's inputs
under the gate (seconds), then hands the fit to the one background thread here and waits at most
``fit_wait_seconds`` for it. A request that is not answered by then gets the last fit of older data,
marked stale, or else 503 with ``Retry-After`` (how long the last fit took), while the fit goes
on; the warmer starts the fits after each load, so visitors rarely wait at all.

One job per key and version: every request for a fit in progress waits for the same job.
Refusals the data determine are kept like answers; any other failure is dropped, so the next
request tries again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from revteam.exceptions import RevteamError, ServerBusyError

T = TypeVar("T")
Version = tuple[int, str]
"""The warehouse's data version and the fingerprint of the workspace's metric files."""
KEPT_JOBS = 8
"""Finished fits kept (the newest per key is kept beyond it, to serve while the next runs)."""


@dataclass(frozen=True)
class Fitted(Generic[T]):
    """A finished fit and the version of the data it was fitted on."""

    value: T
    version: Version
    computed_at: float
    seconds: float


@dataclass
class _Job:
    future: Future[Any]
    version: Version
    started: float


class Fitter:
    """One background thread for slow fits, and the fits it made (``Runtime.fitted``)."""

    def __init__(self, kept_refusals: tuple[type[RevteamError], ...]) -> None:
        self._pool: ThreadPoolExecutor | None = None
        """Made on first use, and again after :meth:`close` (an app may start up again)."""
        self._jobs: OrderedDict[tuple[Hashable, Version], _Job] = OrderedDict()
        self._last: dict[Hashable, Fitted[Any]] = {}
        """The newest finished fit per key, whatever its version: served while the next runs."""
        self._lock = threading.Lock()
        self._kept = kept_refusals

    def job(self, key: Hashable, version: Version) -> _Job | None:
        with self._lock:
            return self._jobs.get((key, version))

    def start(self, key: Hashable, version: Version, work: Callable[[], T]) -> _Job:
        """Fit ``work()`` for ``(key, version)`` unless a job for it exists; that job."""
        with self._lock:
            found = self._jobs.get((key, version))
            if found is not None:
                return found
            started = time.perf_counter()

            def run() -> T:
                value = work()
                done = Fitted(value, version, time.time(), time.perf_counter() - started)
                with self._lock:
                    self._last[key] = done
                return value

            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="revteam-fit")
            job = _Job(self._pool.submit(run), version, started)
            self._jobs[(key, version)] = job
            while len(self._jobs) > KEPT_JOBS:
                self._jobs.popitem(last=False)
            return job

    def refuse(self, key: Hashable, version: Version, exc: RevteamError) -> _Job:
        """Keep a refusal of reading the inputs like a failed fit (same version, same answer)."""
        future: Future[Any] = Future()
        future.set_exception(exc)
        job = _Job(future, version, time.perf_counter())
        with self._lock:
            self._jobs[(key, version)] = job
        return job

    def last(self, key: Hashable) -> Fitted[Any] | None:
        with self._lock:
            return self._last.get(key)

    def result(
        self, key: Hashable, job: _Job, *, wait: float | None, what: str
    ) -> tuple[Fitted[Any], bool]:
        """``job``'s fit and whether it is stale (not ``job``'s), within ``wait`` seconds.

        Past ``wait``: the last fit of ``key`` (stale), else :class:`ServerBusyError`.
        """
        try:
            value = job.future.result(timeout=wait)
        except FutureTimeout:
            last = self.last(key)
            if last is not None:
                return last, True
            so_far = time.perf_counter() - job.started
            raise ServerBusyError(
                f"{what} is being fitted ({so_far:.0f} s so far)",
                retry_after=max(5, int(wait or 0)),
            ) from None
        except self._kept:
            raise
        except BaseException:
            with self._lock:  # not a refusal the data determine: the next request retries
                if self._jobs.get((key, job.version)) is job:
                    del self._jobs[(key, job.version)]
            raise
        done = self.last(key)
        if done is not None and done.version == job.version:
            return done, False
        return Fitted(value, job.version, time.time(), time.perf_counter() - job.started), False

    def close(self) -> None:
        """Stop the fits in progress and forget every job (the fits made so far are kept)."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._jobs.clear()
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
