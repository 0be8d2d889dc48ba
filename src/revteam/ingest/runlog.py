"""The run log: what one file's load did, recorded in ``_ingest_runs``.

A successful run is logged inside the transaction that wrote its rows, so a run is logged if and
only if its data landed; a failed run is logged after the rollback, so ``revteam status`` shows
it. :class:`LoadReport` says what a load of several files did with each of them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import duckdb

from revteam.exceptions import PartialLoadError
from revteam.storage import RUNS_TABLE, Warehouse


@dataclass(frozen=True)
class IngestResult:
    """What one file's load did."""

    run_id: str
    table: str
    source: str
    file_hash: str
    format: str
    rows_read: int
    inserted: int
    updated: int
    unchanged: int
    quarantined: int
    seconds: float
    data_version: int
    notes: tuple[str, ...] = ()

    @property
    def loaded(self) -> int:
        return self.inserted + self.updated + self.unchanged


FileStatus = Literal["committed", "failed", "rolled_back", "skipped"]
"""What became of one file of a load: its rows are in the warehouse; it failed; it was written or
read, then undone because another file of an all-or-nothing load failed; it was not attempted."""


@dataclass(frozen=True)
class FileOutcome:
    """What a load of several files did with one of them."""

    table: str
    source: str
    status: FileStatus
    result: IngestResult | None = None
    """What was written, for a committed file."""
    error: str | None = None
    """Why it failed and the fix; for a file rolled back or skipped, the file that stopped it."""


@dataclass(frozen=True)
class LoadReport:
    """Every file of a load, in the order given, and what became of it.

    A load stops at the first file that fails: the files after it are skipped, since loading
    them without it could apply older and newer versions of rows out of order. Without
    ``all_or_nothing`` the files before it stay committed.
    """

    files: tuple[FileOutcome, ...]
    all_or_nothing: bool = False
    error: BaseException | None = field(default=None, compare=False, repr=False)
    """The failed file's error (what :meth:`raise_for_failure` raises), ``None`` if none failed."""

    @property
    def results(self) -> list[IngestResult]:
        """What each committed file wrote."""
        return [f.result for f in self.files if f.result is not None]

    def sources(self, status: FileStatus) -> list[str]:
        """The files with this outcome."""
        return [f.source for f in self.files if f.status == status]

    def raise_for_failure(self) -> LoadReport:
        """Raise the failure, if any; else return the report.

        When files were committed before the failure, raise :class:`PartialLoadError`, which
        names them; otherwise the warehouse is unchanged and the file's own error is raised.
        """
        if self.error is None:
            return self
        committed = self.sources("committed")
        if not committed:
            others = [f.source for f in self.files if f.status in {"rolled_back", "skipped"}]
            note = f"Not loaded either: {', '.join(others)}."
            if others and note not in getattr(self.error, "__notes__", ()):
                self.error.add_note(note)
            raise self.error
        [failed] = self.sources("failed")
        raise PartialLoadError(
            failed, str(self.error), committed, self.sources("skipped")
        ) from self.error


INTERRUPTED = (
    "the load stopped before it finished (the process was killed or the machine went down); "
    "nothing of it was written: load the file again"
)


def mark_started(
    warehouse: Warehouse, run_id: str, table_name: str, path: Path, digest: str, started_at: str
) -> None:
    """Log a load as ``running`` before it starts, in a transaction of its own.

    The load's own transaction replaces this row with its outcome; a load whose process dies
    leaves it, and the next load on this warehouse marks it ``interrupted``. Earlier rows still
    ``running`` here are such loads: DuckDB lets one process write a warehouse at a time.
    """
    with warehouse.transaction() as con:
        con.execute(
            f"UPDATE {RUNS_TABLE} SET status = 'interrupted', error = ? WHERE status = 'running'",
            [INTERRUPTED],
        )
        con.execute(
            f"INSERT INTO {RUNS_TABLE} (run_id, table_name, source, file_hash, started_at, "
            "finished_at, status, data_version) VALUES (?, ?, ?, ?, ?, ?, 'running', ?)",
            [run_id, table_name, str(path), digest, started_at, started_at, warehouse.data_version],
        )


def log_run(
    con: duckdb.DuckDBPyConnection,
    r: IngestResult,
    started_at: str,
    status: str,
    error: str | None,
) -> None:
    con.execute(f"DELETE FROM {RUNS_TABLE} WHERE run_id = ?", [r.run_id])
    con.execute(
        f"INSERT INTO {RUNS_TABLE} VALUES (?, ?, ?, ?, ?, ?, CAST(current_timestamp AS TIMESTAMP), "
        "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            r.run_id,
            r.table,
            r.source,
            r.file_hash,
            r.format,
            started_at,
            r.seconds,
            r.rows_read,
            r.inserted,
            r.updated,
            r.unchanged,
            r.quarantined,
            list(r.notes),
            status,
            error,
            r.data_version,
        ],
    )


def log_failure(
    warehouse: Warehouse,
    run_id: str,
    table_name: str,
    path: Path,
    digest: str,
    started: float,
    started_at: str,
    exc: BaseException | None = None,
) -> None:
    """Record a failed run after the rollback, so `revteam status` shows it."""
    err = exc or sys.exc_info()[1]
    result = IngestResult(
        run_id,
        table_name,
        str(path),
        digest,
        "",
        0,
        0,
        0,
        0,
        0,
        time.perf_counter() - started,
        warehouse.data_version,
    )
    try:
        with warehouse.transaction() as con:
            log_run(con, result, started_at, "failed", str(err))
    except duckdb.Error:
        pass  # the warehouse itself is unusable; the original error says why
