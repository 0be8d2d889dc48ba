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
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from revteam.exceptions import IngestError, RevteamError, SourceFileError
from revteam.ingest.mapping import Mapping
from revteam.ingest.readers import Staged, detect_format, stage
from revteam.ingest.validate import Plan, build_plan
from revteam.model import Table
from revteam.model import table as model_table
from revteam.storage import QUARANTINE_TABLE, RUNS_TABLE, Warehouse, quote_ident
from revteam.workspace.settings import Settings

Progress = Callable[[str, float], None]
"""Called with the phase ("reading", "validating", "writing", "done") and the fraction of the
file's load done so far, from 0 to 1, several times a second during long statements."""

_PHASES = {"reading": (0.0, 0.25), "validating": (0.25, 0.5), "writing": (0.5, 1.0)}


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


def _key_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(
        f"{left}.{quote_ident(k)} IS NOT DISTINCT FROM {right}.{quote_ident(k)}" for k in table.key
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
    say = progress or (lambda _phase, _fraction: None)
    run_id = uuid.uuid4().hex[:16]
    started = time.perf_counter()
    started_at = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    digest = file_hash(path)
    con = warehouse.con
    staged: Staged | None = None
    tmp = _Temp(run_id)
    try:
        with warehouse._lock:
            with _watch(con, "reading", say):
                staged = stage(con, path, mapping)
            plan = build_plan(con, table, staged, mapping, settings, str(path))
            # A view, not a table: clean rows flow from the file straight into the warehouse,
            # and only refused (or stage-filled) rows are kept aside.
            con.execute(f"CREATE TEMP VIEW {tmp.valid} AS {plan.sql}")
            say("validating", _PHASES["validating"][0])

            def write(*, dedupe: bool) -> IngestResult:
                with _watch(con, "writing", say), warehouse.transaction():
                    done = _write(
                        warehouse,
                        table,
                        staged,
                        plan,
                        tmp,
                        run_id,
                        path,
                        digest,
                        started,
                        dedupe=dedupe,
                    )
                    _log_run(con, done, started_at, "ok", None)
                return done

            try:
                result = write(dedupe=False)
            except _RepeatedKeys:
                # Rare: the file repeats keys. Refuse the repeats and write again.
                _collect_refused(con, plan, tmp)
                _refuse_repeated_keys(con, table, tmp)
                result = write(dedupe=True)
            say("done", 1.0)
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
        for obj in [*tmp.objects(), *(staged.drop if staged else [])]:
            con.execute(f"DROP {obj.replace(' ', ' IF EXISTS ', 1)}")


@contextmanager
def _watch(con: duckdb.DuckDBPyConnection, phase: str, say: Progress) -> Iterator[None]:
    """Report a phase's progress from DuckDB's own query progress while its statements run."""
    low, high = _PHASES[phase]
    say(phase, low)
    done = threading.Event()

    def poll() -> None:
        best = 0.0
        while not done.wait(0.2):
            pct = con.query_progress()
            if pct > best:  # a phase runs several statements; never move backwards
                best = pct
                say(phase, low + (high - low) * min(best, 100.0) / 100.0)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    say(phase, high)


class _RepeatedKeys(Exception):
    """Raised inside the write transaction (rolling it back) when the file repeats a key."""


@dataclass(frozen=True)
class _Temp:
    """Names of one load's temporary objects."""

    run_id: str

    @property
    def valid(self) -> str:
        return f"_valid_{self.run_id}"

    @property
    def refused(self) -> str:
        return f"_refused_{self.run_id}"

    @property
    def changed(self) -> str:
        return f"_changed_{self.run_id}"

    def objects(self) -> list[str]:
        return [f"VIEW {self.valid}", f"TABLE {self.refused}", f"TABLE {self.changed}"]


def _collect_refused(
    con: duckdb.DuckDBPyConnection, plan: Plan, tmp: _Temp, *, none: bool = False
) -> None:
    """One pass keeping the rows with problems, and those whose stages were filled (for notes).

    With ``none`` (every row is known to be clean) the table is only created, empty.
    """
    flags = "".join(f", _filled_{c}" for c in plan.filled_columns)
    keep = "".join(f" OR _filled_{c}" for c in plan.filled_columns)
    con.execute(f"DROP TABLE IF EXISTS {tmp.refused}")
    con.execute(
        f"CREATE TEMP TABLE {tmp.refused} AS SELECT _line, _problems{flags} FROM {tmp.valid} "
        + ("LIMIT 0" if none else f"WHERE _problems <> ''{keep}")
    )


def _refuse_repeated_keys(con: duckdb.DuckDBPyConnection, table: Table, tmp: _Temp) -> None:
    """Refuse rows repeating a key: exact repeats after the first, and all rows that disagree.

    When rows with one key disagree, nothing says which is right, so none of them loads.
    """
    keys = ", ".join(quote_ident(k) for k in table.key)
    cols = ", ".join(quote_ident(c) for c in table.column_names)
    key_text = " || ', ' || ".join(
        f"'{k}=' || COALESCE(CAST({quote_ident(k)} AS VARCHAR), 'NULL')" for k in table.key
    )
    con.execute(f"""
        CREATE TEMP TABLE {tmp.refused}_keys AS
        SELECT _line, reason FROM (
            SELECT _line, CASE
                WHEN min(h) OVER w <> max(h) OVER w THEN 'key ' || {key_text} ||
                    ' appears on several lines of the file with different values (first on line '
                    || CAST(min(_line) OVER w AS VARCHAR) || ')'
                WHEN row_number() OVER (w ORDER BY _line) > 1 THEN
                    'exact duplicate of line ' || CAST(min(_line) OVER w AS VARCHAR)
                END AS reason
            FROM (SELECT *, hash({cols}) AS h FROM {tmp.valid} WHERE _problems = '')
            WINDOW w AS (PARTITION BY {keys})
        ) WHERE reason IS NOT NULL""")
    con.execute(
        f"UPDATE {tmp.refused} r SET _problems = k.reason FROM {tmp.refused}_keys k "
        f"WHERE r._line = k._line"
    )
    con.execute(
        f"INSERT INTO {tmp.refused} BY NAME SELECT _line, reason AS _problems "
        f"FROM {tmp.refused}_keys WHERE _line NOT IN (SELECT _line FROM {tmp.refused})"
    )
    con.execute(f"DROP TABLE {tmp.refused}_keys")


def _write(
    warehouse: Warehouse,
    table: Table,
    staged: Staged,
    plan: Plan,
    tmp: _Temp,
    run_id: str,
    path: Path,
    digest: str,
    started: float,
    *,
    dedupe: bool,
) -> IngestResult:
    con = warehouse.con
    target = quote_ident(table.name)
    cols = ", ".join(quote_ident(c) for c in table.column_names)
    good = "_problems = ''" + (
        f" AND _line NOT IN (SELECT _line FROM {tmp.refused} WHERE _problems <> '')"
        if dedupe
        else ""
    )
    source = str(path)
    insert = f"INSERT INTO {target} SELECT {cols}, ?, CAST(current_timestamp AS TIMESTAMP), ? "
    empty = con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {target} LIMIT 1)").fetchall()
    every_row_loaded = False
    if empty == [(0,)]:
        new = _insert(con, insert + f"FROM {tmp.valid} WHERE {good}", [source, run_id])
        changed = 0
        # The table was empty, so it now holds exactly the file's clean rows.
        if not dedupe and _count(con, _repeats(table, target)):
            raise _RepeatedKeys
        _failpoint("after_delete")
        # A first load that took every record needs no second pass to find refused rows.
        every_row_loaded = not dedupe and new == staged.rows
        if not dedupe:
            _collect_refused(con, plan, tmp, none=every_row_loaded)
    else:
        if not dedupe:
            _collect_refused(con, plan, tmp)
        new, changed = _upsert(con, table, tmp, good, insert, [source, run_id], dedupe=dedupe)
    _failpoint("after_insert")
    con.execute(
        f"DELETE FROM {QUARANTINE_TABLE} WHERE table_name = ? AND file_hash = ?",
        [table.name, digest],
    )
    now = "CAST(current_timestamp AS TIMESTAMP)"
    con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} SELECT ?, ?, ?, ?, r._line, {staged.raw_expr}, "
        f"string_split(r._problems, chr(30)), {now} FROM {tmp.refused} r "
        f"JOIN {staged.relation} s ON s._line = r._line WHERE r._problems <> ''",
        [run_id, table.name, source, digest],
    )
    if staged.rejects:
        _quarantine_rejects(con, staged.rejects, [run_id, table.name, source, digest], now)
    if every_row_loaded:
        # The refused table was skipped: every row is clean, so the stages that were filled can
        # be counted on the source columns alone, without the validation expressions.
        extra = f", {plan.filled_on_source}" if plan.filled_on_source else ""
        counts = con.execute(f"SELECT 0{extra} FROM {staged.relation}").fetchall()[0]
    else:
        flags = "".join(
            f", count(*) FILTER (_problems = '' AND _filled_{c})" for c in plan.filled_columns
        )
        counts = con.execute(
            f"SELECT count(*) FILTER (_problems <> ''){flags} FROM {tmp.refused}"
        ).fetchall()[0]
    refused = int(counts[0])
    version = warehouse.bump_data_version(con) if new or changed else warehouse.data_version
    _failpoint("before_commit")
    return IngestResult(
        run_id,
        table.name,
        source,
        digest,
        staged.format,
        staged.rows + len(staged.rejects),
        new,
        changed,
        staged.rows - refused - new - changed,
        refused + len(staged.rejects),
        time.perf_counter() - started,
        version,
        tuple(_notes(plan, dict(zip(plan.filled_columns, counts[1:], strict=True)))),
    )


def _quarantine_rejects(
    con: duckdb.DuckDBPyConnection, rejects: list[tuple[int, str, str]], params: list[str], now: str
) -> None:
    """Quarantine the records the reader could not split, all in one statement.

    One statement per record took seconds per thousand records.
    """
    lines, raws, reasons = (list(column) for column in zip(*rejects, strict=True))
    con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} SELECT $1, $2, $3, $4, line, record, [reason], {now} "
        "FROM (SELECT unnest($5::BIGINT[]) AS line, unnest($6::VARCHAR[]) AS record, "
        "unnest($7::VARCHAR[]) AS reason)",
        [*params, lines, raws, reasons],
    )


def _insert(con: duckdb.DuckDBPyConnection, sql: str, params: list[str]) -> int:
    return int(con.execute(sql, params).fetchall()[0][0])


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(sql).fetchall()[0][0])


def _repeats(table: Table, relation: str) -> str:
    """SQL counting the rows of ``relation`` that repeat a key of an earlier row."""
    keys = ", ".join(quote_ident(k) for k in table.key)
    return f"SELECT count(*) - count(DISTINCT ({keys})) FROM {relation}"


def _upsert(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    tmp: _Temp,
    good: str,
    insert: str,
    params: list[str],
    *,
    dedupe: bool,
) -> tuple[int, int]:
    """Replace rows whose values changed and add new ones; leave identical rows untouched."""
    target = quote_ident(table.name)
    differs = (
        " OR ".join(
            f"v.{quote_ident(c)} IS DISTINCT FROM t.{quote_ident(c)}"
            for c in table.column_names
            if c not in table.key
        )
        or "FALSE"
    )
    con.execute(f"DROP TABLE IF EXISTS {tmp.changed}")
    con.execute(f"""
        CREATE TEMP TABLE {tmp.changed} AS
        SELECT v.*, t._loaded_at IS NULL AS _new
        FROM (SELECT * FROM {tmp.valid} WHERE {good}) v
        LEFT JOIN {target} t ON {_key_match(table, "v", "t")}
        WHERE t._loaded_at IS NULL OR {differs}""")
    # Repeats are looked for among all the file's clean rows, not only the changed ones: a
    # repeat of a row the warehouse holds already is refused as on the first load.
    clean = f"{tmp.valid} WHERE _problems = ''"
    repeats = "0" if dedupe else f"({_repeats(table, clean)})"
    counts = con.execute(
        f"SELECT {repeats}, count(*) FILTER (_new), count(*) FILTER (NOT _new) FROM {tmp.changed}"
    ).fetchall()[0]
    if counts[0]:
        raise _RepeatedKeys
    new, changed = int(counts[1]), int(counts[2])
    if changed:
        con.execute(
            f"DELETE FROM {target} t USING {tmp.changed} v "
            f"WHERE NOT v._new AND {_key_match(table, 'v', 't')}"
        )
    _failpoint("after_delete")
    con.execute(insert + f"FROM {tmp.changed}", params).fetchall()
    return new, changed


def _notes(plan: Plan, filled: dict[str, int]) -> list[str]:
    notes = []
    if plan.ignored_columns:
        notes.append(
            f"{len(plan.ignored_columns)} source column(s) not loaded (no canonical column): "
            + ", ".join(plan.ignored_columns[:20])
            + (" …" if len(plan.ignored_columns) > 20 else "")
        )
    notes += [
        f"{col} filled from a later stage on {n} row(s) (a later stage implies it)"
        for col, n in filled.items()
        if n
    ]
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
