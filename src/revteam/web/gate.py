"""Read-only access to the warehouse for a web server that must not block data loads.

DuckDB lets one process write a file, or any number of processes read it, never both at once.
A web server that kept the file open would lock every ``revteam ingest`` out, so the gate:

- opens the workspace **read-only**, and only when a request misses the result cache;
- closes it again after ``idle_seconds`` without a query, so a load can take the write lock;
- learns whether the data changed from the file's size and modification time (a ``stat``, no
  database connection), and reads ``data_version`` only when they changed;
- reports a load in progress (the file is locked for writing) as :class:`WarehouseBusyError`,
  so callers can serve the last result they have, marked stale, instead of failing.

One thread at a time uses the open workspace: a DuckDB connection is not thread-safe, and the
queries themselves already use every core.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import revteam
from revteam.exceptions import ConfigError, WarehouseBusyError
from revteam.settings import load_settings
from revteam.storage import parse_warehouse_url
from revteam.workspace import Workspace

Signature = tuple[tuple[int, int], ...]
Opener = Callable[[Path], Workspace]


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
    """

    def __init__(self, root: Path, *, idle_seconds: float = 10.0, opener: Opener | None = None):
        self.root = root
        self.idle_seconds = idle_seconds
        self._opener = opener or _open_read_only
        path = parse_warehouse_url(load_settings(root).warehouse, root)
        self._files = (path, path.with_name(path.name + ".wal")) if path else ()
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
        """The warehouse's data version, read from the database only when the files changed."""
        sig = self.signature()
        if sig == self._seen and self._version is not None:
            return self._version
        with self.workspace() as ws:
            # While we hold the read handle no writer can change the file: note what we saw.
            self._seen, self._version = self.signature(), ws.data_version
            return self._version

    @property
    def is_open(self) -> bool:
        return self._ws is not None

    @contextmanager
    def workspace(self) -> Iterator[Workspace]:
        """The open read-only workspace, for this thread alone until the block ends."""
        with self._lock:
            ws = self._ensure_open()
            try:
                yield ws
            finally:
                self._last_used = time.monotonic()
                if self.idle_seconds <= 0:
                    self._close()

    def _ensure_open(self) -> Workspace:
        if self._ws is not None:
            return self._ws
        if time.monotonic() < self._busy_until:
            raise WarehouseBusyError(self._files[0] if self._files else self.root)
        sig = self.signature()
        try:
            ws = self._opener(self.root)
        except ConfigError as exc:
            if "lock" not in str(exc).lower():
                raise
            self._busy_until = time.monotonic() + 1.0  # do not hammer a running load
            raise WarehouseBusyError(self._files[0] if self._files else self.root) from exc
        self._ws, self.opened = ws, self.opened + 1
        self._seen, self._version = sig, ws.data_version
        self._start_reaper()
        return ws

    def _start_reaper(self) -> None:
        if self.idle_seconds > 0 and (self._reaper is None or not self._reaper.is_alive()):
            self._reaper = threading.Thread(target=self._reap, name="warehouse-gate", daemon=True)
            self._reaper.start()

    def _reap(self) -> None:
        tick = min(1.0, self.idle_seconds / 2)
        while not self._stop.wait(tick):
            idle = time.monotonic() - self._last_used
            if self._ws is not None and idle >= self.idle_seconds and self._lock.acquire(False):
                try:
                    if time.monotonic() - self._last_used >= self.idle_seconds:
                        self._close()
                finally:
                    self._lock.release()

    def release(self) -> None:
        """Close the warehouse now (waiting for a running query), e.g. before a load."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._ws is not None:
            ws, self._ws = self._ws, None
            ws.close()

    def close(self) -> None:
        """Stop the idle reaper and close the warehouse (application shutdown)."""
        self._stop.set()
        self.release()
