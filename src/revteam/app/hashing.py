"""How many passwords are hashed at once: a bounded gate in front of argon2.

An argon2id hash takes tens of MiB and a core for tens of milliseconds, on purpose. Forty
sign-ins at once would take gigabytes and every core, so a handful of hashes run at a time
(sized from the machine's cores and memory), a few more callers wait a short while for a
turn, and the rest are refused at once with :class:`~revteam.exceptions.HashingBusyError`
(HTTP 503 with ``Retry-After``). Waiting callers hold a server thread, so their number is
bounded too: the other requests keep the rest of the thread pool.

The gate is process-wide (:data:`gate`); tests swap in one of their own.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from revteam.exceptions import HashingBusyError

MAX_SLOTS = 4
HASH_MEMORY_KIB = 65536
"""Memory of one hash at argon2-cffi's default parameters (RFC 9106's low-memory profile)."""
MEMORY_SHARE = 8
"""At most this fraction (1/8) of the machine's memory is spent on hashing at once."""


def physical_memory() -> int | None:
    """The machine's memory in bytes, where the platform says."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def default_slots(memory_kib: int = HASH_MEMORY_KIB) -> int:
    """Hashes at once: 1 to 4, no more than the cores or an eighth of memory allows."""
    cores = os.cpu_count() or 1
    memory = physical_memory()
    by_memory = MAX_SLOTS if memory is None else memory // MEMORY_SHARE // (memory_kib * 1024)
    return max(1, min(MAX_SLOTS, cores, by_memory))


class HashingGate:
    """At most ``slots`` hashes at once; at most ``waiting`` callers wait for a turn.

    Parameters
    ----------
    slots
        Hashes that may run at the same time.
    waiting
        Callers that may wait for a turn (default: four per slot); further ones are refused.
    wait_seconds
        How long a caller waits for a turn before it is refused.
    """

    def __init__(
        self, slots: int, *, waiting: int | None = None, wait_seconds: float = 3.0
    ) -> None:
        self.slots = max(1, slots)
        self.waiting = 4 * self.slots if waiting is None else max(0, waiting)
        self.wait_seconds = wait_seconds
        self._free = threading.Semaphore(self.slots)
        self._lock = threading.Lock()
        self._queued = 0

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold a turn for one hash, or raise :class:`HashingBusyError`."""
        if not self._free.acquire(blocking=False):
            self._wait()
        try:
            yield
        finally:
            self._free.release()

    def _wait(self) -> None:
        with self._lock:
            if self._queued >= self.waiting:
                raise HashingBusyError(self._retry_after())
            self._queued += 1
        try:
            got = self._free.acquire(timeout=self.wait_seconds)
        finally:
            with self._lock:
                self._queued -= 1
        if not got:
            raise HashingBusyError(self._retry_after())

    def _retry_after(self) -> int:
        return max(1, round(self.wait_seconds))


gate = HashingGate(default_slots())
"""The process's gate; :mod:`revteam.app.credentials` takes a turn for every hash."""
