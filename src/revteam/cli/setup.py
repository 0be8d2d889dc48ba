"""Commands that create things: ``init``, ``generate``, ``demo``."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

import revteam
from revteam.cli._common import console, file_steps, open_ws, progress_bar
from revteam.exceptions import ConfigError
from revteam.generate.params import ADD_ON_PRODUCTS
from revteam.model import TABLES
from revteam.settings import CONFIG_FILE
from revteam.workspace import Workspace

if TYPE_CHECKING:
    from revteam.generate import Company

DEMO_DIR = Path("revteam-demo")
SHAPES = ("canonical", "hubspot", "salesforce")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("generate")(generate)
    app.command("demo")(demo)


def init(
    directory: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    currency: Annotated[str, typer.Option(help="Workspace currency (ISO 4217).")] = "USD",
    timezone: Annotated[str, typer.Option(help="IANA time zone of the data.")] = "UTC",
    fiscal_year_start_month: Annotated[
        int, typer.Option("--fiscal-year-start", min=1, max=12, help="First fiscal month.")
    ] = 1,
    gross_margin: Annotated[float, typer.Option(help="Gross margin for CLV and ROI.")] = 0.8,
    warehouse: Annotated[
        str,
        typer.Option(
            help="Where the data lives: a DuckDB file, postgresql://user@host/db or spark "
            "(docs/warehouses.md)."
        ),
    ] = "warehouse.duckdb",
) -> None:
    """Create a workspace: revteam.toml and an empty warehouse."""
    ws = revteam.init(
        directory,
        warehouse=warehouse,
        currency=currency,
        timezone=timezone,
        fiscal_year_start_month=fiscal_year_start_month,
        gross_margin=gross_margin,
    )
    ws.close()
    console.print(
        f"Created workspace [bold]{ws.root}[/]. Load data with "
        f"`revteam -w {directory} ingest TABLE FILE…` or try `revteam demo`."
    )


def _generate(
    out: Path, leads: int, months: int, seed: int, start: date | None, planted: bool, fmt: str
) -> Company:
    from revteam.generate import GeneratorConfig, generate_company

    options: dict[str, Any] = {"n_leads": leads, "months": months, "seed": seed}
    if start is not None:
        options["start"] = start
    config = GeneratorConfig(planted_changes=planted, **options)
    with progress_bar() as bar:
        task = bar.add_task(f"Generating {leads:,} leads", total=None)
        company = generate_company(
            config, progress=lambda label: bar.update(task, description=f"Generating {label}")
        )
        bar.update(task, description="Writing files")
        company.write(out, format=fmt)  # type: ignore[arg-type]
        bar.update(task, description=f"Generated {leads:,} leads", total=1, completed=1)
    return company


def _load(ws: Workspace, directory: Path) -> None:
    with progress_bar() as bar:
        task = bar.add_task("Loading", total=len(TABLES))
        step = file_steps(bar, task)
        results = ws.ingest.load_directory(directory, progress=step)
        bar.update(task, description="Loaded", completed=len(TABLES))
    rows = sum(r.loaded for r in results)
    bad = sum(r.quarantined for r in results)
    console.print(f"Loaded {rows:,} rows into {len(results)} tables ({bad:,} quarantined).")


def _demo_goals(ws: Workspace, data: Path) -> None:
    """The demo's goals for the running quarter, from last year's values.

    Counts grown by half; the planted campaign's channel held to its SQR of a year ago, which
    the planted drop puts clearly off track.
    """
    from revteam.goals.starter import STARTER_METRICS, starter_goals

    truth = json.loads((data / "truth.json").read_text(encoding="utf-8"))
    planted = truth.get("planted_change") or {}
    segments = {}
    if planted.get("channel"):
        segments[planted["metric"]] = {"channel": planted["channel"]}
    specs = starter_goals(
        ws.metrics,
        growth=0.5,
        metric_ids=STARTER_METRICS,
        segments=segments,
        fy_start=ws.settings.fiscal_year_start_month,
    )
    for spec in specs:
        ws.goals.set(spec)
    console.print(f"Set {len(specs)} goals for the running quarter (`revteam goals list`).")


def generate(
    out: Annotated[Path, typer.Argument(help="Folder to write <table>.<format> files into.")],
    leads: Annotated[int, typer.Option(help="Number of leads.")] = 100_000,
    months: Annotated[int, typer.Option(help="Months of history.")] = 24,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same company).")] = 42,
    start: Annotated[
        str | None, typer.Option(help="First day, YYYY-MM-DD (default: the generator's).")
    ] = None,
    planted: Annotated[
        bool, typer.Option("--planted/--no-planted", help="Plant the SQR drop (see truth.json).")
    ] = True,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    shape: Annotated[
        str,
        typer.Option(help="canonical tables, or hubspot / salesforce exports of the same company."),
    ] = "canonical",
    load: Annotated[bool, typer.Option(help="Also load the files into the workspace.")] = False,
) -> None:
    """Generate a synthetic B2B SaaS company (files plus truth.json)."""
    if fmt not in {"parquet", "csv"}:
        raise ConfigError(f"--format must be parquet or csv, not {fmt!r}")
    if shape not in SHAPES:
        raise ConfigError(f"--shape must be one of {', '.join(SHAPES)}, not {shape!r}")
    try:
        first = date.fromisoformat(start) if start else None
    except ValueError:
        raise ConfigError(f"--start must be a date like 2024-11-01, not {start!r}") from None
    started = time.perf_counter()
    company = _generate(out, leads, months, seed, first, planted, fmt)
    if shape != "canonical":
        _write_exports(company, shape, out)
    console.print(f"Wrote {out} in {time.perf_counter() - started:.1f} s.")
    if load:
        with open_ws() as ws:
            if shape == "canonical":
                _load(ws, out)
            else:
                results = ws.crm.load_exports_folder(shape, out / shape)
                rows = sum(r.loaded for r in results)
                console.print(f"Loaded {rows:,} rows from the {shape} exports.")


def _write_exports(company: Company, shape: str, out: Path) -> None:
    """Write the company as a CRM would export it, beside the canonical files (for round trips)."""
    from revteam.crm import write_hubspot_exports, write_salesforce_exports

    writer = write_hubspot_exports if shape == "hubspot" else write_salesforce_exports
    writer(company, out / shape)
    console.print(f"Wrote {shape}-shaped exports to {out / shape}.")


def demo(
    directory: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = DEMO_DIR,
    leads: Annotated[int, typer.Option(help="Number of leads.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 42,
    force: Annotated[bool, typer.Option(help="Rebuild an existing demo workspace.")] = False,
    serve: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the dashboard when it is built.")
    ] = True,
    port: Annotated[int, typer.Option(help="Port of the dashboard.")] = 8000,
) -> None:
    """Build a demo workspace filled with a synthetic company, then serve its dashboard."""
    started = time.perf_counter()
    if (directory / CONFIG_FILE).exists():
        if not force:
            raise ConfigError(
                f"{directory} already holds a workspace. Use it with `revteam -w {directory} "
                "status`, or rebuild it with `revteam demo --force`."
            )
        _remove_demo(directory)
    # the generated company's add-ons are its purchases at will; its invoices are contractual,
    # renewed yearly: its predicted CLV counts both
    ws = revteam.init(directory, clv={"model": "both", "repeat_products": list(ADD_ON_PRODUCTS)})
    try:
        data = directory / "data"
        _generate(data, leads, 24, seed, None, True, "parquet")
        _load(ws, data)
        _demo_goals(ws, data)
    finally:
        ws.close()
    console.print(
        f"\n[bold green]Demo workspace ready[/] in {time.perf_counter() - started:.0f} s: "
        f"{ws.root}\nPlanted truth: {data / 'truth.json'}\n"
        f"Try: `revteam -w {directory} kpis sales_qualification_rate --by channel --ci`"
    )
    if serve:
        from revteam.app.server import serve_demo

        serve_demo(directory, port=port, announce=console.print)


def _remove_demo(directory: Path) -> None:
    """Delete only what `demo` itself creates, never anything else in the folder."""
    made = (CONFIG_FILE, "warehouse.duckdb", "warehouse.duckdb.wal", ".revteam-secret")
    for name in (*made, "revteam.db", "revteam.db-wal", "revteam.db-shm"):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / "data", ignore_errors=True)
