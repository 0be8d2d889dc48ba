"""``ws.status()``: what the warehouse holds and how it got there, from the ingest bookkeeping.

A load holds the warehouse for writing, and then nothing else can open it, not even to read.
So that ``revteam status`` still answers, every load leaves the status it finished with in a
file beside the warehouse (``<warehouse>.status.json``, :func:`write_snapshot`), and the
running load announces itself (:mod:`revteam.storage.announce`): :func:`status_during_load`
shows both.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import duckdb

from revteam.ingest.runlog import INTERRUPTED
from revteam.storage import (
    QUARANTINE_TABLE,
    RUNS_TABLE,
    LoadNotice,
    TableInfo,
    Warehouse,
    current_load,
    quote_ident,
)

log = logging.getLogger("revteam.ingest")
SNAPSHOT_SUFFIX = ".status.json"

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
    load: LoadNotice | None = None
    """A load that holds the warehouse or waits for it, from its announcement."""
    as_of: str | None = None
    """Set when a load held the warehouse: the figures are those the last load left (at this
    time, ISO 8601 UTC); ``"never"`` when no load left any. ``None``: read just now."""

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
            "load": self.load.to_dict() if self.load else None,
            "as_of": self.as_of,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], root: Path) -> WorkspaceStatus:
        """The status :meth:`to_dict` wrote."""
        tables = data.get("tables", [])
        return cls(
            root=root,
            data_version=int(data.get("data_version", 0)),
            tables=tuple(
                TableInfo(t["table"], t["rows"], _when(t["from"]), _when(t["to"])) for t in tables
            ),
            quarantine_counts={t["table"]: t["quarantined"] for t in tables if t["quarantined"]},
            top_reasons=tuple(
                (r["table"], r["reason"], r["rows"]) for r in data.get("quarantine_reasons", [])
            ),
            last_runs=tuple(data.get("runs", [])),
            gaps=tuple(Gap(**g) for g in data.get("gaps", [])),
            as_of=data.get("as_of"),
        )


def _when(text: str | None) -> dt.datetime | str | None:
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return text


def snapshot_path(warehouse: Path) -> Path:
    return warehouse.with_name(warehouse.name + SNAPSHOT_SUFFIX)


def write_snapshot(warehouse: Warehouse) -> None:
    """Leave the status beside the warehouse for :func:`status_during_load` (best effort).

    Written by the process that holds the warehouse for writing, so nobody else writes it;
    replaced atomically, so a reader never sees half of it. Failing to write it never fails
    the load that just ended.
    """
    if warehouse.path is None:
        return
    try:
        data = collect_status(warehouse.path.parent, warehouse).to_dict()
        data["as_of"] = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
        target = snapshot_path(warehouse.path)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data, default=str), encoding="utf-8")
        tmp.chmod(0o600)
        os.replace(tmp, target)
    except (OSError, duckdb.Error) as exc:
        log.warning("Could not record the warehouse status for `revteam status`: %s", exc)


def status_during_load(root: Path, warehouse: Path) -> WorkspaceStatus:
    """The status while a load holds the warehouse: the running load and what the last one left."""
    try:
        data = json.loads(snapshot_path(warehouse).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {"as_of": "never"}
    return replace(WorkspaceStatus.from_dict(data, root), load=current_load(warehouse))


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
        load=_other_load(warehouse),
    )


def _other_load(warehouse: Warehouse) -> LoadNotice | None:
    """A load announced by another process (one waiting for the warehouse, when we can read it)."""
    load = current_load(warehouse.path) if warehouse.path is not None else None
    return load if load is not None and load.pid != os.getpid() else None


def _gaps(warehouse: Warehouse) -> list[Gap]:
    found = []
    for table, column, what in GAPS:
        sql = f"SELECT count(*) AS n FROM {quote_ident(table)} WHERE {quote_ident(column)} IS NULL"
        found.append(Gap(table, column, what, int(warehouse.arrow(sql).to_pylist()[0]["n"])))
    return found
