"""What loading again changed: stages moved back or cleared, keys that changed, refusals resolved.

A re-load replaces the rows whose values changed (:mod:`~revteam.ingest.upsert`). For most
columns that is the point; but a stage timestamp that moves earlier or is cleared, or a record
that arrives under a new key, usually means the source was edited or re-keyed, and the old value
would be lost without a word. So the run's notes count them with sample keys, the replaced stage
values are kept in ``stage_history``, and quarantine entries whose key has now loaded are marked
resolved. Each step is one statement over the load's changed rows, in the load's transaction.
"""

from __future__ import annotations

import duckdb

from revteam.model import Table, enums
from revteam.storage import (
    QUARANTINE_TABLE,
    STAGE_HISTORY_TABLE,
    key_from_json,
    key_json,
    quote_ident,
)
from revteam.storage import quote_literal as lit

SAMPLES = 5
"""Sample keys a note names."""

_MORE_STAGES: dict[str, tuple[str, ...]] = {
    "people": ("disqualified_at",),
    "opportunities": ("closed_at", "stage"),
}
"""Stage columns besides a table's fill chain, whose stamps after the first are stages."""

IDENTITY: dict[str, str] = {"people": "email", "users": "email", "accounts": "domain"}
"""The column naming a record besides its key. A new key carrying the identity of a row loaded
before under another key is noted as a key change; tables not listed have no such column."""

_CLOSED = min(i for i, s in enumerate(enums.OPPORTUNITY_STAGES) if s.startswith("closed"))
_RANK = {s: min(i, _CLOSED) for i, s in enumerate(enums.OPPORTUNITY_STAGES)}
"""Order of deal stages; won and lost are both last, so neither is "earlier" than the other."""

_NOW = "CAST(current_timestamp AS TIMESTAMP)"


def stage_columns(table: Table) -> tuple[str, ...]:
    """The columns of ``table`` that say how far a record got, in funnel order."""
    return (*table.fill_chain[1:], *_MORE_STAGES.get(table.name, ()))


def stage_moves(
    con: duckdb.DuckDBPyConnection,
    table: Table,
    changed: str,
    moves: str,
    run_id: str,
) -> list[str]:
    """Keep the stage values that replaced rows change or clear; note those moved back.

    ``changed`` holds the load's clean new and changed rows (``_new`` tells them apart); the
    table still holds the old versions. Call before they are replaced.
    """
    columns = stage_columns(table)
    if not columns:
        return []
    entries = ", ".join(
        f"{{'column_name': {lit(c)}, 'old_value': CAST(t.{quote_ident(c)} AS VARCHAR), "
        f"'new_value': CAST(v.{quote_ident(c)} AS VARCHAR), 'earlier': {_earlier(c)}}}"
        for c in columns
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {moves} AS
        SELECT key, label, m.column_name, m.old_value, m.new_value, m.earlier FROM (
            SELECT {key_json(table, lambda k: f"v.{quote_ident(k)}")} AS key,
                   {_label(table, "v")} AS label, unnest([{entries}]) AS m
            FROM {changed} v JOIN {quote_ident(table.name)} t ON {key_match(table, "v", "t")}
            WHERE NOT v._new)
        WHERE m.old_value IS NOT NULL AND m.old_value IS DISTINCT FROM m.new_value""")
    con.execute(
        f"INSERT INTO {STAGE_HISTORY_TABLE} (table_name, key, column_name, old_value, new_value, "
        f"run_id, changed_at) SELECT ?, key, column_name, old_value, new_value, ?, {_NOW} "
        f"FROM {moves}",
        [table.name, run_id],
    )
    found = con.execute(f"""
        SELECT column_name,
               count(*) FILTER (new_value IS NULL),
               min(label, {SAMPLES}) FILTER (new_value IS NULL),
               count(*) FILTER (earlier), min(label, {SAMPLES}) FILTER (earlier)
        FROM {moves} GROUP BY 1""").fetchall()
    notes = []
    for column, cleared, cleared_keys, earlier, earlier_keys in sorted(
        found, key=lambda r: columns.index(r[0])
    ):
        moved = "moved to an earlier stage" if column == "stage" else "moved earlier"
        for n, keys, what in ((cleared, cleared_keys, "cleared"), (earlier, earlier_keys, moved)):
            if n:
                notes.append(
                    f"{column} {what} on {n} replaced row(s) (e.g. {', '.join(keys)}); the "
                    f"values before are kept in the stage history"
                )
    return notes


def key_changes(
    con: duckdb.DuckDBPyConnection, table: Table, changed: str, run_id: str
) -> list[str]:
    """Note new keys that carry the identity of a row loaded before under another key.

    A CRM that merges or re-creates a record, or an export re-keyed by another tool, shows up so:
    the old row stays and the new one is added. Call after the load's rows are written, so that
    the rows this load wrote (``_ingest_run``) are not taken for rows loaded before.
    """
    column = IDENTITY.get(table.name)
    if column is None:
        return []

    def ident(alias: str) -> str:
        return f"NULLIF(lower(trim({alias}.{quote_ident(column)})), '')"

    new, old = _label(table, "v"), _label(table, "t")
    n, pairs = con.execute(
        f"""SELECT count(DISTINCT new), min(new || ' (was ' || old || ')', {SAMPLES}) FROM (
            SELECT {new} AS new, {old} AS old
            FROM {changed} v JOIN {quote_ident(table.name)} t ON {ident("v")} = {ident("t")}
            WHERE v._new AND t._ingest_run IS DISTINCT FROM ?)""",
        [run_id],
    ).fetchall()[0]
    if not n:
        return []
    key = "/".join(table.key)
    return [
        f"{n} new {key} value(s) carry the {column} of a row loaded before under another {key} "
        f"(a changed key?), e.g. {', '.join(pairs)}; both rows are kept"
    ]


def resolve_quarantine(
    con: duckdb.DuckDBPyConnection, table: Table, written: str, run_id: str
) -> list[str]:
    """Mark resolved the open quarantine entries of ``table`` whose key this load wrote.

    ``written`` holds the rows this load inserted or replaced. Entries of any source count, but
    not this run's own: what a file refuses is not fixed by what the same file loads.
    """
    match = " AND ".join(
        f"{key_from_json(table, k, text='q.key')} "
        f"{'IS NOT DISTINCT FROM' if k in table.nullable_key else '='} w.{quote_ident(k)}"
        for k in table.key
    )
    keys = ", ".join(quote_ident(k) for k in table.key)
    rows = con.execute(
        f"""UPDATE {QUARANTINE_TABLE} q SET resolved_at = {_NOW}, resolved_by_run = ?
            FROM (SELECT {keys} FROM {written}) w
            WHERE q.table_name = ? AND q.resolved_at IS NULL AND q.run_id <> ?
              AND q.key IS NOT NULL AND {match}""",
        [run_id, table.name, run_id],
    ).fetchall()
    n = int(rows[0][0]) if rows else 0
    if not n:
        return []
    return [
        f"{n} quarantine entr{'y' if n == 1 else 'ies'} of earlier loads resolved: their key has "
        "loaded now (`revteam quarantine --all` lists them)"
    ]


def _earlier(column: str) -> str:
    """SQL: the new value ``v`` of a stage column comes before the old one ``t``."""
    new, old = f"v.{quote_ident(column)}", f"t.{quote_ident(column)}"
    if column != "stage":
        return f"{new} < {old}"
    cases = " ".join(f"WHEN {lit(s)} THEN {r}" for s, r in _RANK.items())
    return f"(CASE {new} {cases} END) < (CASE {old} {cases} END)"


def _label(table: Table, alias: str) -> str:
    """SQL naming a row by its key for notes: ``P1``, or ``2024-01-01 / sales / …``."""
    parts = [f"COALESCE(CAST({alias}.{quote_ident(k)} AS VARCHAR), '∅')" for k in table.key]
    return parts[0] if len(parts) == 1 else f"concat_ws(' / ', {', '.join(parts)})"


def key_match(table: Table, left: str, right: str) -> str:
    """SQL: rows ``left`` and ``right`` have the same key (NULL matching NULL)."""
    return " AND ".join(
        f"{left}.{quote_ident(k)} IS NOT DISTINCT FROM {right}.{quote_ident(k)}" for k in table.key
    )
