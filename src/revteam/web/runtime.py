"""What one web-server process holds: options, application state, warehouse gate, result cache.

:meth:`Runtime.read` is the only way views reach the warehouse: cache first, then the gate.
A cache key names the request (view, filters, options); the version is the warehouse's
``data_version`` plus a fingerprint of the workspace's own metric files. A new load bumps the
data version, so the next request misses and recomputes: a stale number is never served as
fresh. The newest entry per key is kept even after the version moves on, so that while a load
holds the warehouse the app can still show the last numbers, marked stale. The cache is bounded
by an estimate of the bytes it holds (``limits.cache_megabytes``), not by a count of entries:
one answer can be a few bytes or tens of megabytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from revteam.app import AppState, ThrottlePolicy, load_secret_key, open_app
from revteam.app.agreed import agreed_definitions
from revteam.exceptions import (
    ClvError,
    RevteamError,
    ScoringError,
    ServerBusyError,
    WarehouseBusyError,
)
from revteam.goals import GoalBook
from revteam.metrics import Definitions
from revteam.metrics.catalogue import APPROVED_DIR
from revteam.proposals import ProposalStore
from revteam.review.actions import ActionStore
from revteam.settings import LimitSettings, Settings, find_workspace, load_settings
from revteam.web.fitter import Fitter, Version
from revteam.web.gate import Opener, WarehouseGate
from revteam.workspace import Workspace

T = TypeVar("T")
In = TypeVar("In")
MB = 1 << 20
LARGEST = 1 / 8
"""Share of the cache budget one entry may take; a larger answer is computed, not kept."""
_SAMPLE = 64
"""Items of a long list or dict measured; the rest are taken to be of the same size."""
_NODES = 20_000
"""Objects one estimate visits at most; past that, each object counts :data:`_UNSEEN` bytes."""
_DEPTH = 12
"""Nesting one estimate follows at most (a cycle ends there); deeper objects count as unseen."""
_UNSEEN = 1024


def size_of(value: object) -> int:
    """The bytes ``value`` holds, estimated on the high side, for the cache's budget.

    Arrow tables (and anything with ``nbytes``) count their buffers, text its characters;
    containers, dataclasses and pydantic models count themselves and their items (a sample of
    long ones, scaled). Shared objects count each time they are met, which over-counts.
    """
    left = [_NODES]

    def measure(item: object, depth: int) -> int:
        left[0] -= 1
        if left[0] < 0 or depth > _DEPTH:
            return _UNSEEN
        nbytes = getattr(item, "nbytes", None)
        if isinstance(nbytes, int) and not isinstance(item, type):
            return nbytes + 128
        if isinstance(item, str | bytes | bytearray | int | float | bool | dt.date | None):
            return sys.getsizeof(item)
        items = _items(item)
        own = sys.getsizeof(item) + (sys.getsizeof(vars(item)) if hasattr(item, "__dict__") else 0)
        if items is None:
            return own
        if len(items) <= _SAMPLE:
            return own + sum(measure(i, depth + 1) for i in items)
        step = len(items) / _SAMPLE
        sample = [items[int(k * step)] for k in range(_SAMPLE)]
        return own + sum(measure(i, depth + 1) for i in sample) * len(items) // _SAMPLE

    return measure(value, 0)


def _items(value: object) -> list[object] | None:
    if isinstance(value, dict):
        return [*value.keys(), *value.values()]
    if isinstance(value, list | tuple | set | frozenset):
        return list(value)
    if dataclasses.is_dataclass(value):
        return [getattr(value, f.name) for f in dataclasses.fields(value)]
    if hasattr(value, "__dict__"):
        return list(vars(value).values())
    return None


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
    nbytes: int = 0
    """Estimated size (:func:`size_of`), what the cache's budget counts."""

    @property
    def data_version(self) -> int:
        return self.version[0]


class ResultCache:
    """A thread-safe LRU of :class:`Cached` values, one per key, within ``max_bytes``.

    Sizes are :func:`size_of` estimates. The least recently used entries go first; a value
    over ``largest`` of the budget is returned but not kept, so one huge answer cannot empty
    the cache of everyone else's.
    """

    def __init__(self, max_bytes: int = 256 * MB, *, largest: float = LARGEST) -> None:
        self.max_bytes = max_bytes
        self.largest = largest
        self._items: OrderedDict[Hashable, Cached[Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        """Estimated bytes held."""
        self.hits = 0
        self.misses = 0
        self.evicted = 0
        self.too_large = 0

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
        """Keep ``value`` for ``key`` (replacing its older version) unless it is too large."""
        entry = Cached(value, version, time.time(), seconds, nbytes=size_of(value))
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.bytes -= old.nbytes
            if entry.nbytes > self.max_bytes * self.largest:
                self.too_large += 1
                return entry
            self._items[key] = entry
            self.bytes += entry.nbytes
            while self.bytes > self.max_bytes and self._items:
                _, dropped = self._items.popitem(last=False)
                self.bytes -= dropped.nbytes
                self.evicted += 1
        return entry

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.bytes = 0

    def __len__(self) -> int:
        return len(self._items)


@dataclass(frozen=True)
class WebOptions:
    """How the web app runs; every field has a production-safe default."""

    upgrade: bool = True
    """Apply application-database migrations at start-up (else refuse an old schema)."""
    session_hours: float = 12.0
    """How long a sign-in lasts."""
    session_idle_minutes: float | None = None
    """A sign-in also ends after this long without a request (OWASP ASVS 3.3.2); default:
    ``session_idle_minutes`` of the workspace's ``[limits]`` (30)."""
    max_body_bytes: int | None = None
    """Largest request body accepted (API calls and forms); larger ones get 413. Default:
    ``max_body_kilobytes`` of ``[limits]`` (1 MiB)."""
    body_timeout_seconds: float | None = None
    """Longest wait for the next part of a request body being read; slower clients get 408.
    Default: ``body_timeout_seconds`` of ``[limits]`` (30)."""
    idle_seconds: float = 10.0
    """Release the warehouse after this long without a query, so loads can write."""
    warm: bool = True
    """Compute the default views in the background at start-up."""
    fit_wait_seconds: float | None = None
    """How long a request waits for a model fit in progress (:meth:`Runtime.fitted`). Default:
    ``fit_wait_seconds`` of ``[limits]`` (10)."""
    throttle: ThrottlePolicy = field(default_factory=ThrottlePolicy)
    opener: Opener | None = None
    """How the gate opens the workspace (tests inject a busy warehouse)."""
    limits: LimitSettings | None = None
    """The web app's time, cache and queue limits (default: the workspace's ``[limits]``);
    the periods and rows of an answer are always the workspace's."""


KEPT_REFUSALS: tuple[type[RevteamError], ...] = (ClvError, ScoringError)
"""Refusals that only new data can change: a model the data cannot support."""
KEPT_REFUSED = 256


class Runtime:
    """The web app's long-lived objects, created at start-up and closed at shutdown."""

    def __init__(self, ws_path: Path | str | None, options: WebOptions) -> None:
        self.root = find_workspace(ws_path)
        self.settings: Settings = load_settings(self.root)
        self.options = options
        self.secret = load_secret_key(self.root)
        self.limits = options.limits or self.settings.limits
        idle = options.session_idle_minutes or self.limits.session_idle_minutes
        self.max_body_bytes = options.max_body_bytes or self.limits.max_body_kilobytes * 1024
        self.body_timeout = options.body_timeout_seconds or self.limits.body_timeout_seconds
        self.app: AppState = open_app(
            self.root,
            upgrade=options.upgrade,
            throttle=options.throttle,
            session_lifetime=dt.timedelta(hours=options.session_hours),
            session_idle=dt.timedelta(minutes=idle),
        )
        self.gate = WarehouseGate(
            self.root, idle_seconds=options.idle_seconds, opener=options.opener, limits=self.limits
        )
        self.cache = ResultCache(self.limits.cache_megabytes * MB)
        self.fitter = Fitter(KEPT_REFUSALS)
        self.fit_wait = options.fit_wait_seconds or self.limits.fit_wait_seconds
        """Slow model fits, off the request path (:meth:`fitted`)."""
        self._refused: OrderedDict[tuple[Hashable, Version], RevteamError] = OrderedDict()
        """Refusals the data determine (:data:`KEPT_REFUSALS`), kept like answers: a model
        that cannot be fitted is not refitted on every visit until the data change."""
        self.definitions = Definitions(
            self.root / "metrics", self.settings, agreed=lambda: agreed_definitions(self.app.db)
        )
        """The catalogue and the checks a request passes before it may wait for data."""
        self.goals = GoalBook(
            self.app.db, self.definitions, fy_start=self.settings.fiscal_year_start_month
        )
        """Goals and their history (the application database; no warehouse needed)."""
        self.actions = ActionStore(self.app.db)
        """The review's action items (the application database; metrics checked by callers)."""
        self.proposals = ProposalStore(self.app.db, self.definitions, self.root / "metrics")
        """Definition proposals, votes and versions (impact previews read through ``read``)."""

    def version(self) -> Version:
        """Data version and the fingerprint of the workspace's metric files.

        Goals are not part of it: what shows a goal keys its cache by the goals it shows (ids
        and versions) or by their revision, so a goal edit recomputes no KPI.
        """
        return (self.gate.version(), self._metrics_fingerprint())

    def _metrics_fingerprint(self) -> str:
        folder = self.root / "metrics"
        files = sorted(folder.glob("*.y*ml")) if folder.is_dir() else []
        agreed = folder / APPROVED_DIR  # a definition both teams signed off changes numbers too
        files += sorted(agreed.glob("*.y*ml")) if agreed.is_dir() else []
        text = "|".join(
            f"{p.relative_to(folder)}:{p.stat().st_mtime_ns}:{p.stat().st_size}" for p in files
        )
        return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]

    def read(self, key: Hashable, compute: Callable[[Workspace], T]) -> Cached[T]:
        """``compute(ws)`` for ``key``, from the cache when the data has not changed.

        A cache hit never waits for the warehouse gate, whatever runs there (only a changed
        warehouse file makes reading the version take it, and while the gate is held the file
        cannot change). While a load holds the warehouse, the last value computed is returned
        marked ``stale``; without one, :class:`WarehouseBusyError` propagates (503). So does a
        full queue (:class:`ServerBusyError`): the last value, if any, beats a 503.
        """
        try:
            version = self.version()
            self._raise_refused(key, version)
            hit: Cached[T] | None = self.cache.get(key, version)
            if hit is not None:
                return hit
            # A load may announce itself at any moment: the gate then refuses here, too.
            with self.gate.workspace() as ws:
                version = (ws.data_version, version[1])
                hit = self.cache.get(key, version)  # another thread may have computed it
                if hit is not None:
                    return hit
                started = time.perf_counter()
                try:
                    value = compute(ws)
                except KEPT_REFUSALS as exc:
                    self._refused[(key, version)] = exc
                    while len(self._refused) > KEPT_REFUSED:
                        self._refused.popitem(last=False)
                    raise
                return self.cache.put(key, version, value, time.perf_counter() - started)
        except (WarehouseBusyError, ServerBusyError):
            last: Cached[T] | None = self.cache.latest(key)
            if last is None:
                raise
            return Cached(last.value, last.version, last.computed_at, last.seconds, stale=True)

    def fitted(
        self,
        key: Hashable,
        gather: Callable[[Workspace], In],
        fit: Callable[[In], T],
        *,
        what: str,
        block: bool = False,
    ) -> Cached[T]:
        """A model fitted on the current data: ``fit(gather(ws))``, the fit off the request path.

        ``gather`` reads the inputs under the warehouse gate; ``fit`` runs in the background
        (:mod:`revteam.web.fitter`) and is waited for at most ``fit_wait_seconds`` (``block``:
        until done, for the warmer). Not done by then: the last fit of older data, marked stale, or
        :class:`ServerBusyError` naming ``what`` is being fitted. Fits are kept per key and
        version, apart from the result cache: a model is not an answer to trim.
        """
        try:
            version = self.version()
            job = self.fitter.job(key, version)
            if job is None:
                with self.gate.workspace() as ws:
                    version = (ws.data_version, version[1])
                    job = self.fitter.job(key, version)
                    if job is None:
                        try:
                            inputs = gather(ws)
                        except KEPT_REFUSALS as exc:
                            job = self.fitter.refuse(key, version, exc)
                        else:
                            job = self.fitter.start(key, version, lambda: fit(inputs))
        except (WarehouseBusyError, ServerBusyError):
            last = self.fitter.last(key)
            if last is None:
                raise
            return Cached(last.value, last.version, last.computed_at, last.seconds, stale=True)
        wait = None if block else self.fit_wait
        done, stale = self.fitter.result(key, job, wait=wait, what=what)
        return Cached(done.value, done.version, done.computed_at, done.seconds, stale=stale)

    def _raise_refused(self, key: Hashable, version: Version) -> None:
        found = self._refused.get((key, version))
        if found is not None:
            raise found

    def close(self) -> None:
        self.fitter.close()
        self.gate.close()
        self.app.close()
