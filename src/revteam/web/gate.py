"""Read-only access to the warehouse for a web server that must not block data loads.

DuckDB lets one process write a file, or any number of processes read it, never both at once.
A web server that kept the file open would lock every ``revteam ingest`` out, so the gate:

- opens the workspace **read-only**, and only when a request misses the result cache;
- closes it again after ``idle_seconds`` without a query, so a load can take the write lock;
- stays away while a load has announced itself (:mod:`revteam.storage.announce`, a ``stat``),
  letting go of an open handle when its current use ends, so loads always get in;
- learns whether the data changed from the file's size and modification time (a ``stat``, no
  database connection), and reads ``data_version`` only when they changed;
- reports a load in progress (the file is locked for writing) as :class:`WarehouseBusyError`,
  so callers can serve the last result they have, marked stale, instead of failing.

One thread at a time uses the open workspace: a DuckDB connection is not thread-safe, and the
queries themselves already use every core. So that one slow request cannot hold everyone up
(``[limits]`` in ``revteam.toml``):

- a hold longer than ``query_seconds`` is interrupted (DuckDB's ``interrupt()``, from a
  watchdog thread) and fails with :class:`QueryTimeoutError`; the connection stays usable;
- the background warmer's hold (:data:`BACKGROUND`) is bound by ``warm_seconds`` instead (the
  attribution credit of 10M leads takes minutes), and is interrupted as soon as a load
  announces itself, failing with :class:`WarehouseBusyError` (the warmer tries again later);
- at most ``max_queued`` requests wait for (or hold) the warehouse, ``max_queued_per_user`` of
  one user, and none waits longer than ``query_seconds``: the others get
  :class:`ServerBusyError` (503 with ``Retry-After``) at once instead of filling the server's
  threads. Cached answers never come here, so they are served meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol

import revteam
from revteam.exceptions import (
    ConfigError,
    QueryTimeoutError,
    ServerBusyError,
    WarehouseBusyError,
)
from revteam.settings import LimitSettings, load_settings
from revteam.storage import load_announced
from revteam.storage.engine import engine_kind
from revteam.workspace import Workspace
from revteam.workspace.workspace import load_file_of

log = logging.getLogger("revteam.web")
Signature = tuple[tuple[int, int], ...]
Opener = Callable[[Path], Workspace]
CALLER: ContextVar[str | None] = ContextVar("revteam_caller", default=None)
"""Who the current request acts for (the web app binds it once a caller is signed in)."""
BACKGROUND: ContextVar[bool] = ContextVar("revteam_background", default=False)
"""Whether the current work is the warmer's: bound by ``limits.warm_seconds``, not a
request's ``query_seconds`` (what it computes can take minutes), and giving way to loads."""
RECHECK_SECONDS = 5.0
"""How often the data version of a warehouse that others may write is read again."""
RETRY_AFTER = 5
"""Seconds a refused request is told to wait: a few cache misses' worth."""
GIVE_WAY_SECONDS = 0.5
"""How often a warmer's hold looks for an announced load (which then interrupts it)."""


class Interruptible(Protocol):
    def interrupt(self) -> None: ...


def _open_read_only(root: Path) -> Workspace:
    return revteam.open(root, read_only=True)


class WarehouseGate:
    """Opens the warehouse read-only on demand and lets go of it when idle.

    Parameters
    ----------
    root
        The workspace folder.
    idle_seconds
        Close the warehouse after this long without a query (0: after every use).
    opener
        How to open the workspace (tests inject failures).
    limits
        Time limit and queue bounds (default: the workspace's ``[limits]``).
    """

    def __init__(
        self,
        root: Path,
        *,
        idle_seconds: float = 10.0,
        opener: Opener | None = None,
        limits: LimitSettings | None = None,
    ):
        self.root = root
        self.idle_seconds = idle_seconds
        self._opener = opener or _open_read_only
        settings = load_settings(root)
        self.limits = limits or settings.limits
        self._queue = _Queue()
        self._watchdog = _Watchdog()
        self._owner: int | None = None
        path = load_file_of(root, settings)
        self._files = (path, path.with_name(path.name + ".wal")) if path else ()
        self._recheck = not self._files or engine_kind(settings.warehouse) != "duckdb"
        """Whether the data can change without the load file changing (Postgres or Spark
        written by others): then the data version is read again every few seconds."""
        self._read_at = 0.0
        self._lock = threading.RLock()
        self._ws: Workspace | None = None
        self._last_used = 0.0
        self._busy_until = 0.0
        self._seen: Signature | None = None
        self._version: int | None = None
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None
        self.opened = 0
        """How many times the warehouse was opened (tests and the Data page show it)."""

    def signature(self) -> Signature:
        """Size and modification time of the warehouse files: changes whenever a load commits."""
        out = []
        for f in self._files:
            try:
                st = f.stat()
            except FileNotFoundError:
                out.append((0, 0))
            else:
                out.append((st.st_mtime_ns, st.st_size))
        return tuple(out)

    def version(self) -> int:
        """The warehouse's data version, read from the database only when the files changed.

        A warehouse that others may write (Postgres, Spark) is also asked again after
        :data:`RECHECK_SECONDS`.
        """
        sig = self.signature()
        fresh = not self._recheck or time.monotonic() - self._read_at < RECHECK_SECONDS
        if sig == self._seen and self._version is not None and fresh:
            return self._version
        with self.workspace() as ws:
            # While we hold the read handle no writer can change the file: note what we saw.
            self._seen, self._version = self.signature(), ws.data_version
            self._read_at = time.monotonic()
            return self._version

    @property
    def is_open(self) -> bool:
        return self._ws is not None

    @property
    def queued(self) -> int:
        """Requests waiting for or holding the warehouse now."""
        return self._queue.total

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """The open read-only workspace, for this thread alone until the block ends.

        A block nested in one of the same thread shares its place in the queue and its
        deadline. Raises :class:`ServerBusyError` when the queue is full or the wait too long,
        and :class:`QueryTimeoutError` when the block outlives ``limits.query_seconds`` (the
        warmer's: ``limits.warm_seconds``; a load announced meanwhile stops the warmer's with
        :class:`WarehouseBusyError`).
        """
        if self._owner == threading.get_ident() and self._ws is not None:
            yield self._ws
            return
        with self._queue.admitted(CALLER.get(), self.limits), self._held() as ws:
            yield ws

    @contextmanager
    def _held(self) -> Iterator[Workspace]:
        background = BACKGROUND.get()
        limit = "warm_seconds" if background else "query_seconds"
        seconds: float = getattr(self.limits, limit)
        if not self._lock.acquire(timeout=seconds):
            who = "the warmer" if background else "this request"
            raise ServerBusyError(
                f"{who} waited {seconds:g} s for the warehouse (limits.{limit})", RETRY_AFTER
            )
        try:
            self._owner = threading.get_ident()
            ws = self._ensure_open()
            # a request's hold is short (query_seconds); the warmer's may last minutes, so it
            # gives way to a load the moment one announces itself
            self._watchdog.arm(ws.warehouse, seconds, self._load_waiting if background else None)
            try:
                yield ws
            except Exception as exc:
                why = self._watchdog.disarm()
                if why == "load":
                    log.info("The warmer gave way to a load; it warms again after it")
                    raise WarehouseBusyError(self._files[0] if self._files else self.root) from exc
                if why:
                    log.warning(
                        "A request held the warehouse over %g s (limits.%s); it was interrupted",
                        seconds,
                        limit,
                    )
                    raise QueryTimeoutError(seconds, limit) from exc
                raise
            finally:
                self._watchdog.disarm()  # before the lock goes: never interrupt the next holder
                self._last_used = time.monotonic()
                if self.idle_seconds <= 0 or self._load_waiting():
                    self._close()
        finally:
            self._owner = None
            self._lock.release()

    def _ensure_open(self) -> Workspace:
        if self._load_waiting():
            self._close()  # loads win: let go now, and stay away until the load is over
            raise WarehouseBusyError(self._files[0] if self._files else self.root)
        if self._ws is not None:
            return self._ws
        if time.monotonic() < self._busy_until:
            raise WarehouseBusyError(self._files[0] if self._files else self.root)
        sig = self.signature()
        try:
            ws = self._opener(self.root)
        except (ConfigError, WarehouseBusyError) as exc:
            if isinstance(exc, ConfigError) and "lock" not in str(exc).lower():
                raise
            self._busy_until = time.monotonic() + 1.0  # do not hammer a running load
            raise WarehouseBusyError(self._files[0] if self._files else self.root) from exc
        self._ws, self.opened = ws, self.opened + 1
        self._seen, self._version = sig, ws.data_version
        self._read_at = time.monotonic()
        self._start_reaper()
        return ws

    def _start_reaper(self) -> None:
        if self.idle_seconds > 0 and (self._reaper is None or not self._reaper.is_alive()):
            self._reaper = threading.Thread(target=self._reap, name="warehouse-gate", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        tick = min(1.0, self.idle_seconds / 2)
        while not self._stop.wait(tick):
            if self._ws is not None and self._due() and self._lock.acquire(False):
                try:
                    if self._due():
                        self._close()
                finally:
                    self._lock.release()

    def _due(self) -> bool:
        """Whether to let go of the warehouse: idle long enough, or a load waits for it."""
        idle = time.monotonic() - self._last_used
        return idle >= self.idle_seconds or self._load_waiting()

    def _load_waiting(self) -> bool:
        """A writer has announced itself (a ``stat``; see :mod:`revteam.storage.announce`)."""
        return any(load_announced(f) for f in self._files[:1])

    def release(self) -> None:
        """Close the warehouse now (waiting for a running query), e.g. before a load."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            ws.close()

    def close(self) -> None:
        """Stop the idle reaper and the watchdog, and close the warehouse (shutdown)."""
        self._stop.set()
        self._watchdog.stop()
        self.release()


class _Queue:
    """Counts the requests that wait for or hold the warehouse, in all and per caller."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._by: Counter[str] = Counter()

    @property
    def total(self) -> int:
        return self._total

    @contextmanager
    def admitted(self, caller: str | None, limits: LimitSettings) -> Iterator[None]:
        """A place in the queue for the block, or :class:`ServerBusyError` at once."""
        most, mine = limits.max_queued, limits.max_queued_per_user
        with self._lock:
            if self._total >= most:
                raise ServerBusyError(
                    f"{self._total} uncached requests are waiting for the warehouse "
                    f"(limits.max_queued is {most})",
                    RETRY_AFTER,
                )
            if caller is not None and self._by[caller] >= mine:
                raise ServerBusyError(
                    f"{self._by[caller]} of your uncached requests are waiting for the "
                    f"warehouse (limits.max_queued_per_user is {mine})",
                    RETRY_AFTER,
                )
            self._total += 1
            if caller is not None:
                self._by[caller] += 1
        try:
            yield
        finally:
            with self._lock:
                self._total -= 1
                if caller is not None:
                    self._by[caller] -= 1
                    if not self._by[caller]:
                        del self._by[caller]


class _Watchdog:
    """Interrupts the warehouse's statements once a hold has run past its deadline.

    After the deadline it keeps interrupting (every 50 ms) until the hold ends, so that the
    hold's next statement stops too. Interrupting and disarming share one lock, so an
    interrupt never reaches the next holder's query. A hold armed with ``give_way`` (the
    warmer's, which may last minutes) is interrupted the same way as soon as it returns true:
    a load has announced itself, and loads always get in.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._target: Interruptible | None = None
        self._deadline = 0.0
        self._give_way: Callable[[], bool] | None = None
        self._reason: str | None = None
        self._stopped = False
        self._thread: threading.Thread | None = None

    def arm(
        self, target: Interruptible, seconds: float, give_way: Callable[[], bool] | None = None
    ) -> None:
        with self._cond:
            self._target, self._deadline = target, time.monotonic() + seconds
            self._give_way, self._reason = give_way, None
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="query-timeout", daemon=True)
                self._thread.start()
            self._cond.notify()

    def disarm(self) -> str | None:
        """Stop watching; why the hold was interrupted (``"deadline"``, ``"load"``), or None."""
        with self._cond:
            reason, self._target, self._reason, self._give_way = self._reason, None, None, None
            return reason

    def stop(self) -> None:
        with self._cond:
            self._stopped, self._target = True, None
            self._cond.notify()

    def _run(self) -> None:
        with self._cond:
            while not self._stopped:
                if self._target is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if self._reason is None and left > 0:
                    if self._give_way is None:
                        self._cond.wait(left)
                        continue
                    if not self._give_way():  # a stat of the load's announcement
                        self._cond.wait(min(left, GIVE_WAY_SECONDS))
                        continue
                    self._reason = "load"
                self._reason = self._reason or "deadline"
                self._target.interrupt()
                self._cond.wait(0.05)
