"""CRM commands: ``crm ingest``, ``crm unmapped``, ``crm sync``, ``crm extra``, and ``resolve``."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from revteam.cli._common import OutputFormat, WaitOption, console, emit, open_ws, progress_bar
from revteam.cli.data import EXIT_QUARANTINED
from revteam.resolve.model import DEFAULT_REVIEW_LOW, DEFAULT_THRESHOLD

crm_app = typer.Typer(
    name="crm",
    help="HubSpot and Salesforce: load exports, sync APIs, check mappings.",
    no_args_is_help=True,
)


class System(StrEnum):
    hubspot = "hubspot"
    salesforce = "salesforce"


class Engine(StrEnum):
    duckdb = "duckdb"
    spark = "spark"


def register(app: typer.Typer) -> None:
    app.add_typer(crm_app)
    app.command("resolve")(resolve)


def _notes(notes: tuple[str, ...], unmapped: int) -> None:
    for note in notes:
        console.print(f"- {note}", style="dim", highlight=False)
    if unmapped:
        console.print(
            f"{unmapped} source value(s) are not mapped: `revteam crm unmapped …` lists them.",
            style="yellow",
        )


@crm_app.command("ingest")
def ingest(
    system: Annotated[System, typer.Argument(help="hubspot or salesforce.")],
    paths: Annotated[
        list[Path], typer.Argument(help="Export files, object tables, or folders of them.")
    ],
    include_deleted: Annotated[
        bool, typer.Option(help="Also load records the CRM marks as deleted.")
    ] = False,
    encoding: Annotated[
        str | None,
        typer.Option(
            help="Text encoding of CSV exports: utf-8, windows-1252 (cp1252), latin-1, utf-16; "
            "default: encoding in crm.yaml, else utf-8."
        ),
    ] = None,
    strict: Annotated[
        bool, typer.Option(help=f"Exit with {EXIT_QUARANTINED} if any row was quarantined.")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    wait: WaitOption = None,
) -> None:
    """Load CRM exports or API object tables into every canonical table they fill."""
    with open_ws(wait=wait) as ws, progress_bar() as bar:
        task = bar.add_task("Translating", total=None)
        result = ws.crm.load(
            system.value,
            paths,
            include_deleted=include_deleted,
            encoding=encoding,
            progress=lambda table, phase, _f: bar.update(task, description=f"{table}: {phase}"),
        )
        bar.update(task, description="Loaded", total=1, completed=1)
    emit(result.rows(), fmt, title=f"Loaded from {system.value}")
    if fmt is OutputFormat.table:
        _notes(result.notes, len(result.unmapped))
    if result.quarantined:
        console.print("Refused rows: `revteam quarantine`", style="yellow")
        if strict:
            raise typer.Exit(EXIT_QUARANTINED)


@crm_app.command("unmapped")
def unmapped(
    system: Annotated[System, typer.Argument(help="hubspot or salesforce.")],
    paths: Annotated[list[Path], typer.Argument(help="Export files or folders.")],
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """List source values (stages, sources, types) that no mapping turns into canonical ones."""
    with open_ws(read_only=True) as ws:
        values = ws.crm.unmapped(system.value, paths)
    rows = [
        {
            "object": v.object,
            "field": v.field,
            "value": v.value,
            "rows": v.rows,
            "outcome": v.outcome,
            "map it with": v.setting,
        }
        for v in values
    ]
    if not rows and fmt is OutputFormat.table:
        console.print("Every value maps onto the canonical vocabularies.")
        return
    emit(rows, fmt, title="Unmapped values")


@crm_app.command("sync")
def sync(
    system: Annotated[System, typer.Argument(help="hubspot or salesforce.")],
    full: Annotated[
        bool, typer.Option(help="Fetch everything, not just what changed since the last sync.")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
    wait: WaitOption = None,
) -> None:
    """Fetch what changed in the CRM since the last sync and load it (credentials: env).

    Like ``revteam ingest``, it announces itself so the web app lets go of the warehouse, and
    waits for it at most ``--wait`` seconds.
    """
    with open_ws(wait=wait) as ws, progress_bar() as bar:
        task = bar.add_task(f"Syncing {system.value}", total=None)

        def step(table: str, phase: str, _fraction: float) -> None:
            bar.update(task, description=f"{table}: {phase}")

        if system is System.hubspot:
            result = ws.crm.sync_hubspot(full=full, progress=step)
        else:
            result = ws.crm.sync_salesforce(full=full, progress=step)
        bar.update(task, description="Synced", total=1, completed=1)
    emit(result.rows(), fmt, title=f"Fetched from {system.value}")
    emit(result.load.rows(), fmt, title="Loaded")
    if fmt is OutputFormat.table:
        _notes(result.load.notes, len(result.load.unmapped))


@crm_app.command("extra")
def extra(
    system: Annotated[System | None, typer.Option(help="Only this CRM.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to show.")] = 50,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Show CRM fields kept aside because no canonical column takes them."""
    with open_ws() as ws:
        table = ws.crm.extra_fields(system=system.value if system else None, limit=limit)
    emit(table.to_pylist(), fmt, title="Kept-aside CRM fields")


def resolve(
    threshold: Annotated[
        float, typer.Option(help="Match probability from which two records are one person.")
    ] = DEFAULT_THRESHOLD,
    review_low: Annotated[
        float, typer.Option(help="Pairs from this probability up to the threshold are listed.")
    ] = DEFAULT_REVIEW_LOW,
    engine: Annotated[
        Engine | None,
        typer.Option(help="Where the linker runs; default: the workspace's [identity] engine."),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Link people across sources (splink): unified ids, review list, account links."""
    with open_ws() as ws, progress_bar() as bar:
        task = bar.add_task("Resolving identities", total=1.0)
        result = ws.identity.run(
            threshold=threshold,
            review_low=review_low,
            engine=engine.value if engine else None,
            progress=lambda phase, f: bar.update(task, description=phase, completed=f),
        )
    emit(result.rows(), fmt, title="Identity resolution")
    if fmt is OutputFormat.table and result.review_pairs:
        console.print(
            "Uncertain pairs are in the warehouse table identity_review; unified ids in "
            "person_links.",
            style="yellow",
        )
