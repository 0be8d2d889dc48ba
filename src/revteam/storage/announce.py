"""A writer's announcement: a file beside the warehouse saying a load wants it or holds it.

DuckDB lets one process write a file or many processes read it, never both. A web server that
opens the file on every cache miss could keep a load out for as long as people browse, so a
writer announces itself *before* it asks DuckDB for the write lock and keeps the announcement
until it lets go. Readers that can wait (the web app) check for it with a ``stat`` before they
open the warehouse and let go of it once they see one; ``revteam status`` reads it to say which
load runs and since when.

The file, ``<warehouse>.load``, holds JSON (process id, host, start time, command, the table
and file being loaded). Its writer holds an operating-system lock on it for as long as it
keeps it (``flock``; ``msvcrt.locking`` on Windows). The system drops that lock when the
process ends, however it ends, so a file left behind by a killed load is seen as unlocked:
readers ignore it and the next writer takes it over. One writer at a time holds it, so
writers queue here before they queue for DuckDB's lock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from revteam.exceptions import WarehouseBusyError

SUFFIX = ".load"
POLL_SECONDS = 0.1
"""How often a waiting writer tries again: a reader lets go between two of its queries."""
_LOCK_OFFSET = 1 << 20
"""Windows locks byte ranges and refuses reads of a locked range: lock one past the text."""

if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int, *, exclusive: bool) -> bool:
        os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        if not exclusive:  # a probe: give it back at once
            os.lseek(fd, _LOCK_OFFSET, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        return True

else:
    import fcntl

    def _try_lock(fd: int, *, exclusive: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True


WaitNotice = Callable[[str, float], None]
"""Told once, when a writer starts to wait: what holds the warehouse, and for how many seconds
at most the writer will wait."""


def announcement_path(warehouse: Path) -> Path:
    """Where the announcement for the warehouse file ``warehouse`` lives."""
    return warehouse.with_name(warehouse.name + SUFFIX)


@dataclass(frozen=True)
class LoadNotice:
    """What an announcement says: who writes the warehouse, since when, and what."""

    pid: int
    host: str
    since: str
    """When the writer announced itself (ISO 8601, UTC)."""
    command: str
    table: str | None = None
    """The table being loaded now, once the load has started reading its file."""
    source: str | None = None
    """The file being loaded now."""

    def describe(self) -> str:
        """``a load into people from contacts.csv (PID 4242, since 2026-01-05 09:00:03 UTC)``."""
        what = f"a load into {self.table}" if self.table else f"`{self.command}`"
        if self.source:
            what += f" from {Path(self.source).name}"
        since = self.since.replace("T", " ").removesuffix("+00:00")
        return f"{what} (PID {self.pid}, since {since} UTC)"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def load_announced(warehouse: Path) -> bool:
    """Whether a writer wants or holds the warehouse: a ``stat``, and a lock probe if needed."""
    path = announcement_path(warehouse)
    return path.exists() and current_load(warehouse) is not None


def current_load(warehouse: Path) -> LoadNotice | None:
    """The live announcement of the warehouse file ``warehouse``, or ``None``.

    A file whose writer has ended (nobody holds its lock) is ignored. A live one whose text
    cannot be read yet (being rewritten) still counts, with its details unknown.
    """
    path = announcement_path(warehouse)
    try:
        fd = os.open(path, os.O_RDWR if sys.platform == "win32" else os.O_RDONLY)
    except OSError:
        return None
    try:
        if _try_lock(fd, exclusive=False):
            return None  # nobody holds it: a file left by a writer that ended
        return _read(fd) or LoadNotice(0, "", "", "another process")
    finally:
        os.close(fd)


def _read(fd: int) -> LoadNotice | None:
    os.lseek(fd, 0, os.SEEK_SET)
    text = os.read(fd, 1 << 16)
    try:
        data = json.loads(text)
        return LoadNotice(**{k: data.get(k) for k in LoadNotice.__dataclass_fields__})
    except (ValueError, TypeError):
        return None


@dataclass
class _Held:
    """The hold of this process on one announcement file, shared by its writers."""

    path: Path
    fd: int
    notice: LoadNotice
    users: int = 1

    def write(self) -> None:
        # Rewritten in place: the lock belongs to this open file, which a rename would replace.
        # A reader catching it half-written still sees a live announcement (its lock).
        text = json.dumps(self.notice.to_dict()).encode()
        os.ftruncate(self.fd, 0)
        os.lseek(self.fd, 0, os.SEEK_SET)
        os.write(self.fd, text)


_HELD: dict[Path, _Held] = {}
"""Announcements this process holds. DuckDB lets connections of one process share a file, so
writers of one process share its announcement too (the last to withdraw removes it)."""
_HELD_LOCK = threading.Lock()


class Announcement:
    """A writer's hold on the announcement file; :meth:`claim` it, :meth:`withdraw` it."""

    def __init__(self, held: _Held) -> None:
        self._held: _Held | None = held

    @classmethod
    def claim(
        cls, warehouse: Path, *, deadline: float, waiting: WaitNotice | None = None
    ) -> Announcement:
        """Announce a writer, waiting until ``deadline`` (``time.monotonic``) for another one.

        Raises :class:`WarehouseBusyError` naming the other writer when it still holds the
        announcement at the deadline.
        """
        path = announcement_path(warehouse)
        started, told = time.monotonic(), False
        while True:
            with _HELD_LOCK:
                held = _HELD.get(path.resolve())
                if held is not None:
                    held.users += 1
                    return cls(held)
                fd = _exclusive(path)
                if fd is not None:
                    held = _HELD[path.resolve()] = _Held(path, fd, _notice())
                    held.write()
                    return cls(held)
            other = current_load(warehouse)
            holder = other.describe() if other else "another load"
            if time.monotonic() >= deadline:
                waited = time.monotonic() - started
                raise WarehouseBusyError(warehouse, holder=holder, waited=waited)
            if waiting is not None and not told:
                waiting(holder, deadline - time.monotonic())
                told = True
            time.sleep(POLL_SECONDS)

    @property
    def notice(self) -> LoadNotice | None:
        return self._held.notice if self._held else None

    def update(self, *, table: str, source: str) -> None:
        """Say which table and file the writer loads now (``revteam status`` shows them)."""
        if self._held is not None:
            with _HELD_LOCK:
                self._held.notice = replace(self._held.notice, table=table, source=source)
                self._held.write()

    def withdraw(self) -> None:
        """Let go of the announcement; the process's last writer removes it (idempotent)."""
        held, self._held = self._held, None
        if held is None:
            return
        with _HELD_LOCK:
            held.users -= 1
            if held.users:
                return
            del _HELD[held.path.resolve()]
            _remove(held.path, held.fd)


def _remove(path: Path, fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows cannot remove an open file
        os.close(fd)
        with contextlib.suppress(OSError):
            path.unlink()
    else:  # still locked until closed: no other writer can take it meanwhile
        with contextlib.suppress(OSError):
            if _same_file(path, fd):
                path.unlink()
        os.close(fd)


def _exclusive(path: Path) -> int | None:
    """The announcement file opened and locked for this writer, or ``None`` if another has it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    if _try_lock(fd, exclusive=True) and _same_file(path, fd):
        return fd
    # Locked by another writer; or it withdrew (removed the file) between our open and lock.
    os.close(fd)
    return None


def _same_file(path: Path, fd: int) -> bool:
    try:
        return path.stat().st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _notice() -> LoadNotice:
    args = [Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python", *sys.argv[1:]]
    command = " ".join(args)
    return LoadNotice(
        pid=os.getpid(),
        host=socket.gethostname(),
        since=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        command=command if len(command) <= 120 else command[:119] + "…",
    )
