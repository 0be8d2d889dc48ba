"""Commands about data in the warehouse: ``ingest``, ``status``, ``quarantine``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from revteam.cli._common import OutputFormat, console, emit, file_steps, open_ws, progress_bar
from revteam.exceptions import ConfigError, SourceFileError
from revteam.model import TABLES

CRM_SYSTEMS = ("hubspot", "salesforce")
EXIT_QUARANTINED = 5
"""Exit code of ``ingest --strict`` when rows were refused (everything else still loaded)."""


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("status")(status)
    app.command("quarantine")(quarantine)


def ingest(
    table: Annotated[
        str,
        typer.Argument(help=f"Canonical table ({', '.join(TABLES)}), or hubspot / salesforce."),
    ],
    files: Annotated[list[Path], typer.Argument(help="CSV, Parquet, JSON Lines or Excel files.")],
    mapping: Annotated[
        Path | None, typer.Option("--mapping", "-m", help="Column-mapping YAML file.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help=f"Exit with {EXIT_QUARANTINED} if any row was quarantined.")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Load files into a canonical table; refused rows go to quarantine with their reasons.

    ``revteam ingest hubspot|salesforce PATH…`` reads CRM exports instead (``revteam crm ingest``).
    """
    if table in CRM_SYSTEMS:
        from revteam.cli import crm

        if mapping is not None:
            raise ConfigError("CRM sources are mapped by crm.yaml, not --mapping (see docs/crm.md)")
        crm.ingest(crm.System(table), files, strict=strict, fmt=fmt)
        return
    with open_ws() as ws, progress_bar() as bar:
        task = bar.add_task("Loading", total=len(files))
        step = file_steps(bar, task)

        results = ws.ingest.load(table, files, mapping=mapping, progress=step)
    rows = [
        {
            "file": Path(r.source).name,
            "read": r.rows_read,
            "inserted": r.inserted,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "quarantined": r.quarantined,
            "seconds": round(r.seconds, 2),
            "notes": list(r.notes),
        }
        for r in results
    ]
    emit(rows, fmt, title=f"Loaded into {table}")
    if any(r.quarantined for r in results):
        console.print(f"Refused rows: `revteam quarantine --table {table}`", style="yellow")
        if strict:
            raise typer.Exit(EXIT_QUARANTINED)


def status(fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """Tables, row counts, date ranges, recent loads, quarantine and the data version."""
    with open_ws(read_only=True) as ws:
        st = ws.status()
    tables = [
        {
            "table": t.name,
            "rows": t.rows,
            "from": t.min_time,
            "to": t.max_time,
            "quarantined": st.quarantine_counts.get(t.name, 0),
        }
        for t in st.tables
    ]
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(st.to_dict(), indent=2, ensure_ascii=False) + "\n")
        return
    if fmt is OutputFormat.csv:
        emit(tables, fmt)
        return
    console.print(f"Workspace [bold]{st.root}[/] · data version {st.data_version}")
    emit(tables, fmt, title="Tables")
    if st.top_reasons:
        emit(
            [{"table": t, "reason": r, "rows": n} for t, r, n in st.top_reasons],
            fmt,
            title="Top quarantine reasons",
        )
    if st.last_runs:
        emit(_runs(st.last_runs), fmt, title="Last loads")


def _runs(runs: tuple[dict[str, Any], ...]) -> list[dict[str, Any]]:
    return [
        {
            "finished": r["finished_at"],
            "table": r["table_name"],
            "file": Path(r["source"]).name,
            "status": r["status"],
            "loaded": (r["rows_inserted"] or 0) + (r["rows_updated"] or 0),
            "quarantined": r["rows_quarantined"],
            "seconds": round(r["seconds"] or 0, 2),
        }
        for r in runs
    ]


def quarantine(
    table: Annotated[str | None, typer.Option(help="Only this table.")] = None,
    source: Annotated[str | None, typer.Option(help="Only this source file (its path).")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show (export takes all).")] = 50,
    export: Annotated[
        Path | None, typer.Option(help="Write all refused rows to .csv, .jsonl or .parquet.")
    ] = None,
    clear: Annotated[
        bool, typer.Option("--clear", help="Forget the refused rows chosen (the data stays).")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """List, export or clear refused rows with every reason and the raw record."""
    if clear:
        with open_ws() as ws:
            gone = ws.ingest.clear_quarantine(table=table, source=source)
        console.print(f"Cleared {gone:,} refused rows.")
        return
    with open_ws(read_only=True) as ws:
        refused = ws.ingest.quarantine(table=table, source=source, limit=None if export else limit)
    if export:
        _export(refused, export)
        console.print(f"Wrote {refused.num_rows:,} refused rows to {export}.")
        return
    rows = refused.select(["table_name", "source", "line", "reasons", "record"]).to_pylist()
    emit(rows, fmt, title="Quarantined rows")


def _export(refused: Any, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.write_table(refused, path)
    elif suffix in {".csv", ".jsonl"}:
        frame = refused.to_pandas()
        frame["reasons"] = frame["reasons"].map(lambda rs: "; ".join(rs))
        if suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_json(path, orient="records", lines=True, date_format="iso")
    else:
        raise SourceFileError(path, "unknown export type", "use .csv, .jsonl or .parquet")
