"""Load one file into one canonical table: stage, validate, quarantine, upsert — atomically.

The warehouse changes in a single transaction per file: rows that changed are replaced, new
rows are added, unchanged rows are left alone (so loading the same file twice changes nothing),
refused rows replace this file's earlier quarantine entries, the run is logged and the data
version is bumped when canonical data changed. Any failure rolls all of it back.
"""

from __future__ import annotations

import hashlib
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from revteam.exceptions import IngestError, RevteamError, SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.ingest.readers import Staged, detect_format, stage
from revteam.ingest.validate import Plan, build_plan
from revteam.model import Table
from revteam.model import table as model_table
from revteam.storage import QUARANTINE_TABLE, RUNS_TABLE, Warehouse
from revteam.workspace.settings import Settings

Progress = Callable[[str], None]
"""Called with a short label as each phase of a load starts."""


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


def _failpoint(name: str) -> None:
    """Let tests crash a load at a named point (``REVTEAM_FAILPOINT=name`` or ``kill:name``)."""
    point = os.environ.get("REVTEAM_FAILPOINT", "")
    if point == name:
        raise RuntimeError(f"injected failure at {name}")
    if point == f"kill:{name}":
        os.kill(os.getpid(), signal.SIGKILL)


def file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _key_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(
        f"{left}.{_ident(k)} IS NOT DISTINCT FROM {right}.{_ident(k)}" for k in table.key
    )


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
    table = model_table(table_name)
    if mapping.table and mapping.table != table_name:
        raise IngestError(
            f"The mapping file is for table {mapping.table!r}, not {table_name!r}; "
            "use the mapping written for this table."
        )
    if not path.is_file():
        raise SourceFileError(path, "file not found")
    detect_format(path)
    say = progress or (lambda _label: None)
    run_id = uuid.uuid4().hex[:16]
    started = time.perf_counter()
    started_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    digest = file_hash(path)
    con = warehouse.con
    staged: Staged | None = None
    temp = [f"_v_{run_id}", f"_chg_{run_id}"]
    try:
        with warehouse._lock:
            say("reading")
            staged = stage(con, path, mapping)
            say("validating")
            plan = build_plan(con, table, staged, mapping, settings, str(path))
            con.execute(f"CREATE TEMP TABLE {temp[0]} AS {plan.sql}")
            _flag_duplicate_keys(con, table, temp[0])
            say("writing")
            with warehouse.transaction():
                result = _write(
                    warehouse, table, staged, plan, temp, run_id, path, digest, started, started_at
                )
            say("done")
            return result
    except RevteamError:
        _log_failure(warehouse, run_id, table_name, path, digest, started, started_at)
        raise
    except (duckdb.Error, RuntimeError, OSError) as exc:
        _log_failure(warehouse, run_id, table_name, path, digest, started, started_at, exc)
        raise IngestError(
            f"Loading {path} into {table_name} failed and was rolled back; the warehouse is "
            f"unchanged. Cause: {exc}"
        ) from exc
    finally:
        for obj in [*(f"TABLE {t}" for t in temp), *(staged.drop if staged else [])]:
            con.execute(f"DROP {obj.replace(' ', ' IF EXISTS ', 1)}")


def _flag_duplicate_keys(con: duckdb.DuckDBPyConnection, table: Table, valid: str) -> None:
    """Refuse repeated keys within the file: exact repeats after the first, all conflicting ones."""
    keys = ", ".join(_ident(k) for k in table.key)
    row = con.execute(
        f"SELECT count(*) - count(DISTINCT ({keys})) FROM {valid} WHERE len(_reasons) = 0"
    ).fetchall()[0]
    if not row or row[0] == 0:
        return
    cols = ", ".join(_ident(c) for c in table.column_names)
    key_text = " || ', ' || ".join(
        f"'{k}=' || COALESCE(CAST({_ident(k)} AS VARCHAR), 'NULL')" for k in table.key
    )
    con.execute(f"""
        UPDATE {valid} SET _reasons = list_append(_reasons, d.reason)
        FROM (
            SELECT _line, CASE
                WHEN min(h) OVER w <> max(h) OVER w THEN 'key ' || {key_text} ||
                    ' appears on several lines of the file with different values (first on line '
                    || CAST(min(_line) OVER w AS VARCHAR) || ')'
                WHEN row_number() OVER (w ORDER BY _line) > 1 THEN
                    'exact duplicate of line ' || CAST(min(_line) OVER w AS VARCHAR)
                END AS reason
            FROM (SELECT *, hash({cols}) AS h FROM {valid} WHERE len(_reasons) = 0)
            WINDOW w AS (PARTITION BY {keys})
        ) d
        WHERE {valid}._line = d._line AND d.reason IS NOT NULL""")


def _write(
    warehouse: Warehouse,
    table: Table,
    staged: Staged,
    plan: Plan,
    temp: list[str],
    run_id: str,
    path: Path,
    digest: str,
    started: float,
    started_at: str,
) -> IngestResult:
    con = warehouse.con
    valid, chg = temp
    target = _ident(table.name)
    cols = ", ".join(_ident(c) for c in table.column_names)
    differs = (
        " OR ".join(
            f"v.{_ident(c)} IS DISTINCT FROM t.{_ident(c)}"
            for c in table.column_names
            if c not in table.key
        )
        or "FALSE"
    )
    con.execute(f"""
        CREATE TEMP TABLE {chg} AS
        SELECT v.*, t._loaded_at IS NULL AS _new
        FROM {valid} v LEFT JOIN {target} t ON {_key_match(table, "v", "t")}
        WHERE len(v._reasons) = 0 AND (t._loaded_at IS NULL OR {differs})""")
    new, changed = _counts(
        con, f"SELECT count(*) FILTER (_new), count(*) FILTER (NOT _new) FROM {chg}"
    )
    good, bad = _counts(
        con,
        f"SELECT count(*) FILTER (len(_reasons) = 0), "
        f"count(*) FILTER (len(_reasons) > 0) FROM {valid}",
    )
    if changed:
        con.execute(
            f"DELETE FROM {target} t USING {chg} v "
            f"WHERE NOT v._new AND {_key_match(table, 'v', 't')}"
        )
    _failpoint("after_delete")
    source = str(path)
    con.execute(
        f"INSERT INTO {target} SELECT {cols}, ?, CAST(current_timestamp AS TIMESTAMP), ? "
        f"FROM {chg} ORDER BY _line",
        [source, run_id],
    )
    _failpoint("after_insert")
    con.execute(
        f"DELETE FROM {QUARANTINE_TABLE} WHERE table_name = ? AND file_hash = ?",
        [table.name, digest],
    )
    now = "CAST(current_timestamp AS TIMESTAMP)"
    con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} SELECT ?, ?, ?, ?, v._line, {staged.raw_expr}, "
        f"v._reasons, {now} FROM {valid} v JOIN {staged.relation} s ON s._line = v._line "
        "WHERE len(v._reasons) > 0",
        [run_id, table.name, source, digest],
    )
    for line, raw, reason in staged.rejects:
        con.execute(
            f"INSERT INTO {QUARANTINE_TABLE} VALUES (?, ?, ?, ?, ?, ?, [?], {now})",
            [run_id, table.name, source, digest, line, raw, reason],
        )
    quarantined = bad + len(staged.rejects)
    notes = _notes(con, valid, plan)
    version = warehouse.bump_data_version(con) if new or changed else warehouse.data_version
    _failpoint("before_commit")
    seconds = time.perf_counter() - started
    result = IngestResult(
        run_id,
        table.name,
        source,
        digest,
        staged.format,
        staged.rows + len(staged.rejects),
        new,
        changed,
        good - new - changed,
        quarantined,
        seconds,
        version,
        tuple(notes),
    )
    _log_run(con, result, started_at, "ok", None)
    return result


def _counts(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[int, int]:
    row = con.execute(sql).fetchall()[0]
    assert row is not None
    return int(row[0]), int(row[1])


def _notes(con: duckdb.DuckDBPyConnection, valid: str, plan: Plan) -> list[str]:
    notes = []
    if plan.ignored_columns:
        notes.append(
            f"{len(plan.ignored_columns)} source column(s) not loaded (no canonical column): "
            + ", ".join(plan.ignored_columns[:20])
            + (" …" if len(plan.ignored_columns) > 20 else "")
        )
    if plan.filled_columns:
        sums = ", ".join(f"count(*) FILTER (_filled_{c})" for c in plan.filled_columns)
        row = con.execute(f"SELECT {sums} FROM {valid} WHERE len(_reasons) = 0").fetchall()[0]
        assert row is not None
        for col, n in zip(plan.filled_columns, row, strict=True):
            if n:
                notes.append(
                    f"{col} filled from a later stage on {n} row(s) (a later stage implies it)"
                )
    return notes


def _log_run(
    con: duckdb.DuckDBPyConnection,
    r: IngestResult,
    started_at: str,
    status: str,
    error: str | None,
) -> None:
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


def _log_failure(
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
    import sys

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
            _log_run(con, result, started_at, "failed", str(err))
    except duckdb.Error:
        pass  # the warehouse itself is unusable; the original error says why
