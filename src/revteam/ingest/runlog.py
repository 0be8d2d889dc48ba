"""The run log: what one file's load did, recorded in ``_ingest_runs``.

A successful run is logged inside the transaction that wrote its rows, so a run is logged if and
only if its data landed; a failed run is logged after the rollback, so ``revteam status`` shows
it.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

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
