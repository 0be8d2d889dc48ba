"""Commands about data in the warehouse: ``ingest``, ``status``, ``quarantine``."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from revteam.cli._common import (
    OutputFormat,
    WaitOption,
    console,
    emit,
    err_console,
    file_steps,
    open_ws,
    progress_bar,
    state,
)
from revteam.exceptions import ConfigError, SourceFileError, WarehouseBusyError
from revteam.ingest import FileOutcome, LoadReport, WorkspaceStatus
from revteam.model import TABLES
from revteam.workspace import last_status

CRM_SYSTEMS = ("hubspot", "salesforce")
EXIT_QUARANTINED = 5

"""Exit code of ``ingest --strict`` when rows were refused (everything else still loaded), and
of ``check`` when rows of sources.yaml break the model's rules (KPIs leave them out)."""


def register(app: typer.Typer) -> None:
    app.command("ingest")(ingest)
    app.command("status")(status)
    app.command("quarantine")(quarantine)
    app.command("check")(check)


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
    all_or_nothing: Annotated[
        bool,
        typer.Option(
            "--all-or-nothing", help="Load the files in one transaction: if one fails, none loads."
        ),
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    wait: WaitOption = None,
) -> None:
    """Load files into a canonical table; refused rows go to quarantine with their reasons.

    Files load in the order given, each in its own transaction; the first that fails stops the
    load, and the files before it stay loaded (exit code 9). ``revteam ingest
    hubspot|salesforce PATH…`` reads CRM exports instead (``revteam crm ingest``). The web app
    lets go of the warehouse for the load; ``--wait`` bounds how long the load waits for it.
    """
    if table in CRM_SYSTEMS:
        from revteam.cli import crm

        if mapping is not None or all_or_nothing:
            raise ConfigError(
                "CRM sources take neither --mapping (crm.yaml maps them) nor --all-or-nothing "
                "(they load table by table); see docs/crm.md"
            )
        crm.ingest(crm.System(table), files, strict=strict, fmt=fmt, wait=wait)
        return
    with open_ws(wait=wait) as ws, progress_bar() as bar:
        step = file_steps(bar, bar.add_task("Loading", total=len(files)))
        report = ws.ingest.load_report(
            table, files, mapping=mapping, all_or_nothing=all_or_nothing, progress=step
        )
    _show(report, table, fmt)
    report.raise_for_failure()
    if strict and any(r.quarantined for r in report.results):
        raise typer.Exit(EXIT_QUARANTINED)


def _show(report: LoadReport, table: str, fmt: OutputFormat) -> None:
    """Every file's outcome, in the order given; scripts get the same columns every time."""
    rows = [_outcome(f) for f in report.files]
    screen = fmt is OutputFormat.table
    # On screen the file name is enough, and the error message follows the table.
    cols = [c for c in _OUTCOME_COLUMNS if not screen or c not in {"source", "error"}]
    for row in rows if screen else []:
        row["status"] = row["status"].replace("_", " ")
    title = f"Loaded into {table}" if report.error is None else f"Loading into {table} stopped"
    emit(rows, fmt, title=title, columns=cols)
    out = console if screen else err_console  # stdout stays parseable
    if any(r.quarantined for r in report.results):
        out.print(f"Refused rows: `revteam quarantine --table {table}`", style="yellow")
    if report.error is not None and not report.results:
        out.print("Nothing was loaded: the warehouse is unchanged.", style="yellow")


_OUTCOME_COLUMNS = (
    "file",
    "source",
    "status",
    "read",
    "inserted",
    "updated",
    "unchanged",
    "quarantined",
    "seconds",
    "notes",
    "error",
)


def _outcome(f: FileOutcome) -> dict[str, Any]:
    r = f.result
    counts: dict[str, Any] = (
        {
            "read": r.rows_read,
            "inserted": r.inserted,
            "updated": r.updated,
            "unchanged": r.unchanged,
            "quarantined": r.quarantined,
            "seconds": round(r.seconds, 2),
        }
        if r
        else {}
    )
    return {
        "file": Path(f.source).name,
        "source": f.source,
        "status": f.status,
        **counts,
        "notes": list(r.notes) if r else [],
        "error": f.error,
    }


def status(fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """Tables, row counts, date ranges, recent loads, quarantine and the data version.

    While a load holds the warehouse: that load, and the figures the last load left.
    """
    try:
        with open_ws(read_only=True) as ws:
            st = ws.status()
    except WarehouseBusyError:
        st = last_status(state.workspace)
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
    _say_load(st)
    console.print(f"Workspace [bold]{st.root}[/] · data version {st.data_version}")
    emit(tables, fmt, title="Tables")
    if gaps := [{"table": g.table, "rows": g.rows, "what": g.what} for g in st.gaps if g.rows]:
        emit(gaps, fmt, title="Loaded without a link (KPIs that need it say so)")
    if st.top_reasons:
        emit(
            [{"table": t, "reason": r, "rows": n} for t, r, n in st.top_reasons],
            fmt,
            title="Top quarantine reasons",
        )
    if st.last_runs:
        emit(_runs(st.last_runs), fmt, title="Last loads")


def _say_load(st: WorkspaceStatus) -> None:
    if st.load is not None:
        console.print(f"A load is running: {st.load.describe()}.", style="yellow", highlight=False)
    if st.as_of == "never":
        console.print("It holds the warehouse, and no earlier load left figures to show.")
    elif st.as_of is not None:
        since = st.as_of.replace("T", " ").removesuffix("+00:00")
        console.print(f"It holds the warehouse: figures as the last load left them ({since} UTC).")


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
    all_: Annotated[
        bool, typer.Option("--all", help="Also rows resolved since (their key has loaded).")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """List, export or clear refused rows with every reason and the raw record.

    Rows whose key a later load wrote are resolved and shown only with ``--all``.
    """
    if clear:
        with open_ws() as ws:
            gone = ws.ingest.clear_quarantine(table=table, source=source)
        console.print(f"Cleared {gone:,} refused rows.")
        return
    with open_ws(read_only=True) as ws:
        refused = ws.ingest.quarantine(
            table=table, source=source, limit=None if export else limit, include_resolved=all_
        )
    if export:
        _export(refused, export)
        console.print(f"Wrote {refused.num_rows:,} refused rows to {export}.")
        return
    shown = ["table_name", "source", "line", "reasons", "record"]
    rows = refused.select(shown + (["resolved_at"] if all_ else [])).to_pylist()
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


def check(
    apply: Annotated[
        bool,
        typer.Option(
            "--apply",
            help="Then keep the views: KPIs read the warehouse's rows (a new data version).",
        ),
    ] = False,
    samples: Annotated[int, typer.Option(help="Refused rows shown per reason (0-50).")] = 5,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Check sources.yaml on the warehouse: the model's rules as queries, refused rows counted.

    Nothing is copied and, without --apply, nothing changes. Exits with 5 when rows break a
    rule (the views leave them out, as ingest's quarantine would).
    """
    with open_ws() as ws:
        sources = ws.sources
        report = sources.apply(samples=samples) if apply else sources.check(samples=samples)
    if fmt is OutputFormat.json:
        sys.stdout.write(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n")
    else:
        emit(
            [
                {"table": t, "rows": n, "kept": report.kept[t], "refused": n - report.kept[t]}
                for t, n in report.rows.items()
            ],
            fmt,
            title="Canonical tables from sources.yaml",
        )
        if report.violations:
            emit(
                [
                    {
                        "table": v.table,
                        "reason": v.reason,
                        "rows": v.rows,
                        "samples": "; ".join(_sample(s) for s in v.samples),
                    }
                    for v in report.violations
                ],
                fmt,
                title="Rows refused (left out of every KPI)",
            )
        for note in report.notes:
            err_console.print(f"Note: {note}", highlight=False)
        if fmt is OutputFormat.table:
            console.print(
                "Applied: the KPIs now read these views."
                if report.applied
                else "Checked; nothing changed. `revteam check --apply` puts the views in place.",
                highlight=False,
            )
    if report.violations:
        raise typer.Exit(EXIT_QUARANTINED)


def _sample(row: dict[str, str | None]) -> str:
    """A refused row's key, and the value its reason quotes (``person_id=7 ('x')``)."""
    key = ", ".join(f"{k}={v}" for k, v in row.items() if k != "reason")
    quoted = re.search(r"'([^']*)'", row.get("reason") or "")
    return f"{key} ({quoted.group(0)})" if quoted else key
