"""What one web-server process holds: options, application state, warehouse gate, result cache.

:meth:`Runtime.read` is the only way views reach the warehouse: cache first, then the gate.
A cache key names the request (view, filters, options); the version is the warehouse's
``data_version`` plus a fingerprint of the workspace's own metric files. A new load bumps the
data version, so the next request misses and recomputes: a stale number is never served as
fresh. The newest entry per key is kept even after the version moves on, so that while a load
holds the warehouse the app can still show the last numbers, marked stale.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from revteam.app import AppState, ThrottlePolicy, load_secret_key, open_app
from revteam.exceptions import WarehouseBusyError
from revteam.settings import Settings, find_workspace, load_settings
from revteam.web.gate import Opener, WarehouseGate
from revteam.workspace import Workspace

T = TypeVar("T")
Version = tuple[int, str]


@dataclass(frozen=True)
class Cached(Generic[T]):
    """A value with the data version it was computed from."""

    value: T
    version: Version
    computed_at: float
    seconds: float
    """How long computing it took."""
    stale: bool = False
    """True when the warehouse was busy and this is the last value computed before."""

    @property
    def data_version(self) -> int:
        return self.version[0]


class ResultCache:
    """A thread-safe LRU of :class:`Cached` values, one per key (the newest version)."""

    def __init__(self, max_entries: int = 512) -> None:
        self.max_entries = max_entries
        self._items: OrderedDict[Hashable, Cached[Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, version: Version) -> Cached[Any] | None:
        """The value for ``key`` computed from exactly ``version``, else ``None``."""
        with self._lock:
            found = self._items.get(key)
            if found is None or found.version != version:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return found

    def latest(self, key: Hashable) -> Cached[Any] | None:
        """The newest value for ``key`` whatever its version (for stale fallbacks)."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: Hashable, version: Version, value: T, seconds: float) -> Cached[T]:
        entry = Cached(value, version, time.time(), seconds)
        with self._lock:
            self._items[key] = entry
            self._items.move_to_end(key)
            while len(self._items) > self.max_entries:
                self._items.popitem(last=False)
        return entry

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class WebOptions:
    """How the web app runs; every field has a production-safe default."""

    upgrade: bool = True
    """Apply application-database migrations at start-up (else refuse an old schema)."""
    session_hours: float = 12.0
    """How long a sign-in lasts."""
    cache_entries: int = 512
    idle_seconds: float = 10.0
    """Release the warehouse after this long without a query, so loads can write."""
    warm: bool = True
    """Compute the default views in the background at start-up."""
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    opener: Opener | None = None
    """How the gate opens the workspace (tests inject a busy warehouse)."""


class Runtime:
    """The web app's long-lived objects, created at start-up and closed at shutdown."""

    def __init__(self, ws_path: Path | str | None, options: WebOptions) -> None:
        self.root = find_workspace(ws_path)
        self.settings: Settings = load_settings(self.root)
        self.options = options
        self.secret = load_secret_key(self.root)
        self.app: AppState = open_app(
            self.root,
            upgrade=options.upgrade,
            throttle=options.throttle,
            session_lifetime=dt.timedelta(hours=options.session_hours),
        )
        self.gate = WarehouseGate(
            self.root, idle_seconds=options.idle_seconds, opener=options.opener
        )
        self.cache = ResultCache(options.cache_entries)

    def version(self) -> Version:
        """Data version and the fingerprint of the workspace's metric files."""
        return (self.gate.version(), self._metrics_fingerprint())

    def _metrics_fingerprint(self) -> str:
        folder = self.root / "metrics"
        files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
        text = "|".join(f"{p.name}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in files)
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]

    def read(self, key: Hashable, compute: Callable[[Workspace], T]) -> Cached[T]:
        """``compute(ws)`` for ``key``, from the cache when the data has not changed.

        While a load holds the warehouse, the last value computed is returned marked
        ``stale``; without one, :class:`WarehouseBusyError` propagates (503).
        """
        try:
            version = self.version()
        except WarehouseBusyError:
            last: Cached[T] | None = self.cache.latest(key)
            if last is None:
                raise
            return Cached(last.value, last.version, last.computed_at, last.seconds, stale=True)
        hit: Cached[T] | None = self.cache.get(key, version)
        if hit is not None:
            return hit
        with self.gate.workspace() as ws:
            version = (ws.data_version, version[1])
            hit = self.cache.get(key, version)  # another thread may have computed it meanwhile
            if hit is not None:
                return hit
            started = time.perf_counter()
            value = compute(ws)
            return self.cache.put(key, version, value, time.perf_counter() - started)

    def close(self) -> None:
        self.gate.close()
        self.app.close()
