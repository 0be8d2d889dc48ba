"""Write one validated file into its table, inside the caller's transaction.

Rows that changed are replaced, new rows are added and unchanged rows are left alone (so loading
the same file twice changes nothing); refused rows replace this file's earlier quarantine
entries, and the data version is bumped when canonical data changed. What a re-load changed
beyond that (stages moved back, keys changed, refusals resolved) is noted and kept by
:mod:`~revteam.ingest.reload`. A file that repeats a key raises :class:`RepeatedKeys` before
anything but its own new rows is written, so the caller can refuse the repeats and write again.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from revteam.ingest.readers import Staged
from revteam.ingest.reload import key_changes, key_match, resolve_quarantine, stage_moves
from revteam.ingest.runlog import IngestResult
from revteam.ingest.validate import Plan
from revteam.model import TABLES, Table
from revteam.storage import QUARANTINE_TABLE, Warehouse, key_json, quote_ident


class RepeatedKeys(Exception):
    """Raised when the file repeats a key, before the write added anything but its own rows."""


@dataclass(frozen=True)
class Temp:
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

    @property
    def moves(self) -> str:
        return f"_moves_{self.run_id}"

    def objects(self) -> list[str]:
        return [
            f"VIEW {self.valid}",
            f"TABLE {self.refused}",
            f"TABLE {self.changed}",
            f"TABLE {self.moves}",
        ]


def _failpoint(name: str) -> None:
    """Let tests crash a load at a named point (``REVTEAM_FAILPOINT=name`` or ``kill:name``)."""
    point = os.environ.get("REVTEAM_FAILPOINT", "")
    if point == name:
        raise RuntimeError(f"injected failure at {name}")
    if point == f"kill:{name}":
        os.kill(os.getpid(), signal.SIGKILL)


def collect_refused(
    con: duckdb.DuckDBPyConnection, plan: Plan, tmp: Temp, *, none: bool = False
) -> None:
    """One pass keeping the rows with problems, and those whose stages were filled (for notes).

    Rows keep their key as read, so that their quarantine entries can be resolved once it
    loads. With ``none`` (every row is known to be clean) the table is only created, empty.
    """
    flags = "".join(f", _filled_{c}" for c in plan.filled_columns)
    keep = "".join(f" OR _filled_{c}" for c in plan.filled_columns)
    keys = "".join(f", {quote_ident(k)}" for k in _table_of(plan).key)
    con.execute(f"DROP TABLE IF EXISTS {tmp.refused}")
    con.execute(
        f"CREATE TEMP TABLE {tmp.refused} AS SELECT _line, _problems{keys}{flags} "
        f"FROM {tmp.valid} " + ("LIMIT 0" if none else f"WHERE _problems <> ''{keep}")
    )


def _table_of(plan: Plan) -> Table:
    """The table a validation plan is for: the one whose columns it reads, in that order."""
    columns = tuple(plan.source_of)
    return next(t for t in TABLES.values() if t.column_names == columns)


def refuse_repeated_keys(con: duckdb.DuckDBPyConnection, table: Table, tmp: Temp) -> None:
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
        SELECT _line, reason, {keys} FROM (
            SELECT _line, {keys}, CASE
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
        f"INSERT INTO {tmp.refused} BY NAME SELECT _line, reason AS _problems, {keys} "
        f"FROM {tmp.refused}_keys WHERE _line NOT IN (SELECT _line FROM {tmp.refused})"
    )
    con.execute(f"DROP TABLE {tmp.refused}_keys")


def write(
    warehouse: Warehouse,
    table: Table,
    staged: Staged,
    plan: Plan,
    tmp: Temp,
    run_id: str,
    path: Path,
    digest: str,
    started: float,
    *,
    dedupe: bool,
) -> IngestResult:
    """Write the file's clean rows and quarantine its refused ones; say what the load did."""
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
    reloaded: list[str] = []
    if empty == [(0,)]:
        new = _insert(con, insert + f"FROM {tmp.valid} WHERE {good}", [source, run_id])
        changed = 0
        written = target
        # The table was empty, so it now holds exactly the file's clean rows.
        if not dedupe and _count(con, _repeats(table, target)):
            raise RepeatedKeys
        _failpoint("after_delete")
        # A first load that took every record needs no second pass to find refused rows.
        every_row_loaded = not dedupe and new == staged.rows
        if not dedupe:
            collect_refused(con, plan, tmp, none=every_row_loaded)
    else:
        if not dedupe:
            collect_refused(con, plan, tmp)
        new, changed, reloaded = _upsert(
            con, table, tmp, good, insert, source, run_id, dedupe=dedupe
        )
        written = tmp.changed
    _failpoint("after_insert")
    # This file's earlier refusals, and those of an earlier version at the same path (the
    # corrected export), are replaced by what this load refuses.
    con.execute(
        f"DELETE FROM {QUARANTINE_TABLE} WHERE table_name = ? AND (file_hash = ? OR source = ?)",
        [table.name, digest, source],
    )
    now = "CAST(current_timestamp AS TIMESTAMP)"
    key = key_json(table, lambda k: f"r.{quote_ident(k)}")
    con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} ({_QUARANTINED}, key) SELECT ?, ?, ?, ?, r._line, "
        f"{staged.raw_expr}, string_split(r._problems, chr(30)), {now}, {key} "
        f"FROM {tmp.refused} r JOIN {staged.relation} s ON s._line = r._line "
        "WHERE r._problems <> ''",
        [run_id, table.name, source, digest],
    )
    if staged.rejects:
        _quarantine_rejects(con, staged.rejects, [run_id, table.name, source, digest], now)
    if new or changed:
        reloaded += resolve_quarantine(con, table, written, run_id)
    if every_row_loaded:
        # The refused table was skipped: every row is clean, so the stages that were filled can
        # be counted on the source columns alone, without the validation expressions.
        extra = f", {plan.filled_on_source}" if plan.filled_on_source else ""
        # An aggregate: one row even when the file held no readable record.
        counts = con.execute(f"SELECT count(*) * 0{extra} FROM {staged.relation}").fetchall()[0]
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
        tuple(_notes(plan, dict(zip(plan.filled_columns, counts[1:], strict=True))) + reloaded),
    )


def _quarantine_rejects(
    con: duckdb.DuckDBPyConnection, rejects: list[tuple[int, str, str]], params: list[str], now: str
) -> None:
    """Quarantine the records the reader could not split, all in one statement.

    One statement per record took seconds per thousand records.
    """
    lines, raws, reasons = (list(column) for column in zip(*rejects, strict=True))
    con.execute(
        f"INSERT INTO {QUARANTINE_TABLE} ({_QUARANTINED}) "
        f"SELECT $1, $2, $3, $4, line, record, [reason], {now} "
        "FROM (SELECT unnest($5::BIGINT[]) AS line, unnest($6::VARCHAR[]) AS record, "
        "unnest($7::VARCHAR[]) AS reason)",
        [*params, lines, raws, reasons],
    )


_QUARANTINED = "run_id, table_name, source, file_hash, line, record, reasons, quarantined_at"
"""The quarantine columns every entry fills (named: the table grew columns)."""


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
    tmp: Temp,
    good: str,
    insert: str,
    source: str,
    run_id: str,
    *,
    dedupe: bool,
) -> tuple[int, int, list[str]]:
    """Replace rows whose values changed and add new ones; leave identical rows untouched.

    Also returns notes on what replacing changed: stages moved back or cleared (whose values
    before go to the stage history), and new keys that look like changed ones.
    """
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
        LEFT JOIN {target} t ON {key_match(table, "v", "t")}
        WHERE t._loaded_at IS NULL OR {differs}""")
    # Repeats are looked for among all the file's clean rows, not only the changed ones: a
    # repeat of a row the warehouse holds already is refused as on the first load.
    clean = f"{tmp.valid} WHERE _problems = ''"
    repeats = "0" if dedupe else f"({_repeats(table, clean)})"
    counts = con.execute(
        f"SELECT {repeats}, count(*) FILTER (_new), count(*) FILTER (NOT _new) FROM {tmp.changed}"
    ).fetchall()[0]
    if counts[0]:
        raise RepeatedKeys
    new, changed = int(counts[1]), int(counts[2])
    notes = stage_moves(con, table, tmp.changed, tmp.moves, run_id) if changed else []
    if changed:
        con.execute(
            f"DELETE FROM {target} t USING {tmp.changed} v "
            f"WHERE NOT v._new AND {key_match(table, 'v', 't')}"
        )
    _failpoint("after_delete")
    con.execute(insert + f"FROM {tmp.changed}", [source, run_id]).fetchall()
    if new:
        notes += key_changes(con, table, tmp.changed, run_id)
    return new, changed, notes


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
