"""``ws.status()``: what the warehouse holds and how it got there, from the ingest bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revteam.ingest.runlog import INTERRUPTED
from revteam.storage import QUARANTINE_TABLE, RUNS_TABLE, TableInfo, Warehouse, quote_ident

GAPS: tuple[tuple[str, str, str], ...] = (
    ("opportunities", "account_id", "deals without an account"),
)
"""Optional links whose absence some KPIs notice: (table, column, what such rows are). A deal
without an account loads and counts in deal and revenue KPIs, but KPIs that need its account
cannot place it (they say so: ``MetricResult.notes``)."""


@dataclass(frozen=True)
class Gap:
    """Rows loaded with an optional link empty (see :data:`GAPS`)."""

    table: str
    column: str
    what: str
    rows: int


@dataclass(frozen=True)
class WorkspaceStatus:
    """A snapshot of what the warehouse holds and how it got there."""

    root: Path
    data_version: int
    tables: tuple[TableInfo, ...]
    quarantine_counts: dict[str, int]
    top_reasons: tuple[tuple[str, str, int], ...]
    last_runs: tuple[dict[str, Any], ...]
    gaps: tuple[Gap, ...] = ()
    """Per entry of :data:`GAPS`, how many rows lack that link."""

    @property
    def empty_tables(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tables if t.rows == 0)

    def to_dict(self) -> dict[str, Any]:
        """Everything above as plain JSON-able values (``revteam status --format json``)."""

        def plain(value: Any) -> Any:
            return value.isoformat() if hasattr(value, "isoformat") else value

        return {
            "workspace": str(self.root),
            "data_version": self.data_version,
            "tables": [
                {
                    "table": t.name,
                    "rows": t.rows,
                    "from": plain(t.min_time),
                    "to": plain(t.max_time),
                    "quarantined": self.quarantine_counts.get(t.name, 0),
                }
                for t in self.tables
            ],
            "quarantine_reasons": [
                {"table": t, "reason": r, "rows": n} for t, r, n in self.top_reasons
            ],
            "runs": [{k: plain(v) for k, v in r.items()} for r in self.last_runs],
            "gaps": [
                {"table": g.table, "column": g.column, "what": g.what, "rows": g.rows}
                for g in self.gaps
            ],
        }


def collect_status(
    root: Path, warehouse: Warehouse, *, runs: int = 10, reasons: int = 10
) -> WorkspaceStatus:
    """Tables, row counts, time ranges, the latest ``runs`` loads and top ``reasons`` refusals."""
    # Resolved entries (their key has loaded since) need nothing more: only open ones count.
    refused = (
        f"(SELECT * FROM {warehouse.system_table(QUARANTINE_TABLE)} WHERE resolved_at IS NULL)"
    )
    counts = {
        r["table_name"]: r["n"]
        for r in warehouse.arrow(
            f"SELECT table_name, count(*) AS n FROM {refused} GROUP BY 1"
        ).to_pylist()
    }
    # A reason's text names the column first ("amount: ..."); group by that prefix and text.
    top = warehouse.arrow(
        f"""SELECT table_name, regexp_replace(r, '''[^'']*''', '…', 'g') AS reason,
                   count(*) AS n
            FROM (SELECT table_name, unnest(reasons) AS r FROM {refused})
            GROUP BY ALL ORDER BY n DESC, reason LIMIT ?""",
        [reasons],
    ).to_pylist()
    last = warehouse.arrow(
        # A row still 'running' when the warehouse can be opened here is a load whose process
        # died: one process writes a warehouse at a time (the next load marks it too).
        f"""SELECT table_name, source,
                   CASE status WHEN 'running' THEN 'interrupted' ELSE status END AS status,
                   rows_read, rows_inserted, rows_updated,
                   rows_unchanged, rows_quarantined, seconds, finished_at,
                   CASE status WHEN 'running' THEN ? ELSE error END AS error, notes
            FROM {RUNS_TABLE} ORDER BY finished_at DESC LIMIT ?""",
        [INTERRUPTED, runs],
    ).to_pylist()
    return WorkspaceStatus(
        root=root,
        data_version=warehouse.data_version,
        tables=tuple(warehouse.table_info()),
        quarantine_counts=counts,
        top_reasons=tuple((r["table_name"], r["reason"], r["n"]) for r in top),
        last_runs=tuple(last),
        gaps=tuple(_gaps(warehouse)),
    )


def _gaps(warehouse: Warehouse) -> list[Gap]:
    found = []
    for table, column, what in GAPS:
        sql = f"SELECT count(*) AS n FROM {quote_ident(table)} WHERE {quote_ident(column)} IS NULL"
        found.append(Gap(table, column, what, int(warehouse.arrow(sql).to_pylist()[0]["n"])))
    return found
