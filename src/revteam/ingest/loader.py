"""Load one file into one canonical table: stage, validate, quarantine, upsert — atomically.

The warehouse changes in a single transaction per file: rows that changed are replaced, new
rows are added, unchanged rows are left alone (so loading the same file twice changes nothing),
refused rows replace this file's earlier quarantine entries, the run is logged and the data
version is bumped when canonical data changed. Any failure rolls all of it back. A load of
several files all or nothing starts each (:class:`FileLoad`), then writes all in one.

This module runs the steps; :mod:`~revteam.ingest.upsert` writes the rows and
:mod:`~revteam.ingest.runlog` records the run.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from revteam.exceptions import IngestError, RevteamError, SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.ingest.readers import Staged, detect_format, part, stage, watch_query
from revteam.ingest.runlog import IngestResult, log_failure, log_run, mark_started
from revteam.ingest.upsert import RepeatedKeys, Temp, collect_refused, refuse_repeated_keys, write
from revteam.ingest.validate import Plan, build_plan
from revteam.model import Table
from revteam.model import table as model_table
from revteam.settings import Settings
from revteam.storage import Warehouse, quote_ident

Progress = Callable[[str, float], None]
"""Called with the phase ("reading", "validating", "writing", "done") and the fraction of the
file's load done so far, from 0 to 1: while reading, as bytes, records or rows are read; while
writing, several times a second from DuckDB's progress of long statements."""

_PHASES = {"reading": (0.0, 0.25), "validating": (0.25, 0.5), "writing": (0.5, 1.0)}


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_file(
    warehouse: Warehouse,
    settings: Settings,
    table_name: str,
    path: Path,
    mapping: Mapping,
    *,
    progress: Progress | None = None,
) -> IngestResult:
    """Load ``path`` into ``table_name``; raises :class:`IngestError` with the warehouse intact."""
    with warehouse.exclusive():
        load = FileLoad.start(warehouse, settings, table_name, path, mapping, progress=progress)
        try:
            with load.failures(), warehouse.transaction():
                result = load.write()
        finally:
            load.close()
    load.say("done", 1.0)
    return result


@dataclass
class FileLoad:
    """One file, read and validated, whose rows a caller writes in a transaction it owns.

    :func:`load_file` gives the file a transaction of its own; a load of several files all or
    nothing starts each of them, then writes them all in one transaction.
    """

    warehouse: Warehouse
    table: Table
    path: Path
    digest: str
    say: Progress
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    started: float = field(default_factory=time.perf_counter)
    started_at: str = field(
        default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    )
    staged: Staged | None = None
    plan: Plan | None = None

    @classmethod
    def start(
        cls,
        warehouse: Warehouse,
        settings: Settings,
        table_name: str,
        path: Path,
        mapping: Mapping,
        *,
        progress: Progress | None = None,
    ) -> FileLoad:
        """Check, read and validate the file, and log the run as started.

        Not inside a transaction: readers recover from some failed statements, and a failed
        statement aborts the transaction it runs in.
        """
        table = model_table(table_name)
        if mapping.table and mapping.table != table_name:
            raise IngestError(
                f"The mapping file is for table {mapping.table!r}, not {table_name!r}; "
                "use the mapping written for this table."
            )
        if not path.is_file():
            raise SourceFileError(path, "file not found")
        detect_format(path)
        say = progress or (lambda _phase, _fraction: None)
        load = cls(warehouse, table, path, file_hash(path), say)
        warehouse.announce(table=table_name, source=str(path))  # for `revteam status`
        mark_started(warehouse, load.run_id, table_name, path, load.digest, load.started_at)
        con = warehouse.con
        try:
            with load.failures(), warehouse.exclusive():
                low, high = _PHASES["reading"]
                say("reading", low)
                reading = part(lambda f: say("reading", f), low, high)
                load.staged = stage(con, path, mapping, table=table, progress=reading)
                say("reading", high)
                load.plan = build_plan(con, table, load.staged, mapping, settings, str(path))
                # A view, not a table: clean rows flow from the file straight into the warehouse,
                # and only refused (or stage-filled) rows are kept aside.
                con.execute(f"CREATE TEMP VIEW {load.tmp.valid} AS {load.plan.sql}")
        except BaseException:
            load.close()
            raise
        say("validating", _PHASES["validating"][0])
        return load

    @property
    def tmp(self) -> Temp:
        return Temp(self.run_id)

    def write(self) -> IngestResult:
        """Write the rows and log the run inside the caller's transaction, which commits both."""
        con = self.warehouse.con
        with _watch(con, "writing", self.say):
            try:
                result = self._write(dedupe=False)
            except RepeatedKeys:
                # Rare: the file repeats keys. Until it raised, the write only added rows of its
                # own run: take them out, refuse the repeats and write again, in this transaction.
                target = quote_ident(self.table.name)
                con.execute(f"DELETE FROM {target} WHERE _ingest_run = ?", [self.run_id])
                assert self.plan is not None  # set by start
                collect_refused(con, self.plan, self.tmp)
                refuse_repeated_keys(con, self.table, self.tmp)
                result = self._write(dedupe=True)
            log_run(con, result, self.started_at, "ok", None)
        return result

    def _write(self, *, dedupe: bool) -> IngestResult:
        assert self.staged is not None and self.plan is not None  # set by start
        return write(
            self.warehouse,
            self.table,
            self.staged,
            self.plan,
            self.tmp,
            self.run_id,
            self.path,
            self.digest,
            self.started,
            dedupe=dedupe,
        )

    @contextmanager
    def failures(self) -> Iterator[None]:
        """Log the run as failed when the block raises (after its rollback), and say why."""
        try:
            yield
        except BaseException as exc:
            error = self.failed(exc)
            if error is exc:
                raise
            raise error from exc

    def failed(self, exc: BaseException) -> BaseException:
        """Log the run as failed, once its writes are rolled back; return the error to raise.

        A database or system error becomes an :class:`IngestError`, or an
        :class:`~revteam.exceptions.UnreadableWarehouseError` when it means the warehouse file
        is damaged. Anything else (a bug, an interrupt) is returned as it is and leaves the run
        logged as running, which shows as interrupted.
        """
        if not isinstance(exc, RevteamError | duckdb.Error | RuntimeError | OSError):
            return exc
        log_failure(
            self.warehouse,
            self.run_id,
            self.table.name,
            self.path,
            self.digest,
            self.started,
            self.started_at,
            exc,
        )
        if isinstance(exc, RevteamError):
            return exc
        return self.warehouse.unreadable(exc) or IngestError(
            f"Loading {self.path} into {self.table.name} failed and was rolled back; the "
            f"warehouse is unchanged. Cause: {exc}"
        )

    def close(self) -> None:
        """Drop the load's temporary objects."""
        con = self.warehouse.con
        for obj in [*self.tmp.objects(), *(self.staged.drop if self.staged else [])]:
            con.execute(f"DROP {obj.replace(' ', ' IF EXISTS ', 1)}")


@contextmanager
def _watch(con: duckdb.DuckDBPyConnection, phase: str, say: Progress) -> Iterator[None]:
    """Report a phase's progress from DuckDB's own query progress while its statements run.

    A phase runs several long statements; each moves half of the rest of the way.
    """
    low, high = _PHASES[phase]
    say(phase, low)
    with watch_query(con, part(lambda f: say(phase, f), low, high), share=0.5):
        yield
    say(phase, high)
