"""KPI commands: ``kpis`` (numbers) and ``metrics list|show`` (the catalogue)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from revteam.cli._common import OutputFormat, console, emit, err_console, open_ws
from revteam.exceptions import MetricQueryError
from revteam.metrics import DIMENSIONS, GRAINS, MetricResult
from revteam.metrics.columns import NUMBERS
from revteam.metrics.docs import formula_in_words
from revteam.metrics.format import display
from revteam.metrics.request import NULL_VALUE

metrics_app = typer.Typer(
    name="metrics",
    help="The KPI catalogue: every definition, its owners and its SQL.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.command("kpis")(kpis)
    metrics_app.command("list")(list_metrics)
    metrics_app.command("show")(show)
    app.add_typer(metrics_app)


def parse_where(items: list[str]) -> dict[str, list[str]]:
    """``["channel=email,webinar", "segment=(none)"]`` → ``{"channel": [...], ...}``.

    Syntax only: the metric layer gives the values their one meaning (``(none)``: records
    without a value) and checks them.
    """
    out: dict[str, list[str]] = {}
    for item in items:
        dim, sep, values = item.partition("=")
        given = [v.strip() for v in values.split(",")]
        if not sep or not dim.strip() or not all(given):
            raise MetricQueryError(
                "--where", item, f"DIMENSION=VALUE[,VALUE…] ({NULL_VALUE} for records without one)"
            )
        out.setdefault(dim.strip(), []).extend(given)
    return out


def result_rows(result: MetricResult, fmt: OutputFormat, *, currency: str) -> list[dict[str, Any]]:
    """Rows to print: formatted values beside their owners for people, raw ones for scripts.

    ``currency`` is the workspace's, in which money values are written.
    """
    dims = list(result.query.by)
    rows = []
    for r in result.to_pylist():
        row = {"metric": r["metric"], "owners": r["owners"], "period": r["period_label"]}
        if fmt is OutputFormat.table:
            row |= {d: "total" if r["is_total"] else _group(r[d]) for d in dims}
            flag = f"immature ({r['age_days']} d)" if r["immature"] else ""
            value = display(r["value"], r["unit"], currency=currency)
            row |= {"value": value, "n": r["n"], "flag": flag}
            if "ci_low" in r:
                low, high = (
                    display(r[c], r["unit"], currency=currency) for c in ("ci_low", "ci_high")
                )
                row["interval"] = f"{low} to {high}" if r["ci_method"] else ""
                if r["small_sample"]:
                    row["flag"] = ", ".join(f for f in (flag, "small sample") if f)
        else:
            row |= {d: r[d] for d in dims}
            row |= {k: r[k] for k in ("is_total", *NUMBERS, "unit", "immature", "age_days")}
            row |= {k: r[k] for k in ("ci_low", "ci_high", "ci_method", "small_sample") if k in r}
        rows.append(row)
    return rows


def _group(value: str | None) -> str:
    """A group's dimension value; records without one form the ``(none)`` group."""
    return NULL_VALUE if value is None else value


def kpis(
    metrics: Annotated[
        list[str] | None,
        typer.Argument(help="Metric ids (default: every metric that supports --by)."),
    ] = None,
    by: Annotated[
        list[str] | None,
        typer.Option("--by", "-b", help=f"Dimension to group by: {', '.join(DIMENSIONS)}."),
    ] = None,
    grain: Annotated[str, typer.Option(help=f"Period: {', '.join(GRAINS)}.")] = "month",
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD (inclusive).")] = None,
    where: Annotated[
        list[str] | None,
        typer.Option("--where", help="Keep records with DIMENSION=VALUE[,VALUE…] (repeatable)."),
    ] = None,
    as_of: Annotated[str | None, typer.Option(help="As-of date for cohorts.")] = None,
    ci: Annotated[
        bool, typer.Option("--ci", help="Add confidence intervals (rates, means, medians).")
    ] = False,
    level: Annotated[float, typer.Option(help="Confidence level of --ci.", min=0.5, max=0.999)] = (
        0.95
    ),
    defined_on: Annotated[
        dt.datetime | None,
        typer.Option(
            "--defined-on",
            formats=["%Y-%m-%d"],
            help="With the definitions both teams had agreed by the end of this day.",
        ),
    ] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """KPI values per period (and dimension), with the team that owns each number."""
    dims = by or []
    with open_ws(read_only=True) as opened:
        ws = opened.defined_on(defined_on.date()) if defined_on else opened
        # predicted CLV fits a customer-value model: asked for by name, not with every KPI
        ids = metrics or [
            s.id
            for s in ws.metrics.list(fitted=False)
            if set(dims) <= set(ws.metrics.dimensions(s.id))
        ]
        result = ws.metrics.query(
            ids,
            by=dims,
            grain=grain,
            start=start,
            end=end,
            where=parse_where(where or []),
            as_of=as_of,
            intervals=ci,
            level=level,
        )
        currency = ws.settings.currency
    emit(
        result_rows(result, fmt, currency=currency),
        fmt,
        title=f"KPIs per {grain}, as of {result.as_of:%Y-%m-%d %H:%M}",
    )
    # Notes say what the numbers could not place; scripts read them on stderr.
    out = console if fmt is OutputFormat.table else err_console
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, soft_wrap=True)


def list_metrics(
    owners: Annotated[str | None, typer.Option(help="Only marketing, sales or shared.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Every metric with its owners, kind, unit and where its definition comes from."""
    with open_ws(read_only=True) as ws:
        specs = ws.metrics.list(owners=owners)
    rows = [
        {
            "id": s.id,
            "label": s.label,
            "owners": s.owners,
            "kind": s.kind,
            "unit": s.unit,
            "source": s.source,
        }
        for s in specs
    ]
    emit(rows, fmt, title=f"{len(rows)} metrics")


def show(
    metric: Annotated[str, typer.Argument(help="Metric id.")],
    sql: Annotated[bool, typer.Option("--sql", help="Also print the compiled SQL.")] = False,
    dialect: Annotated[str, typer.Option(help="SQL dialect for --sql.")] = "duckdb",
) -> None:
    """One metric's definition: formula in words, owners, window, dimensions (and SQL)."""
    with open_ws(read_only=True) as ws:
        spec = ws.metrics.get(metric)
        dims = ws.metrics.dimensions(metric)
        text = ws.metrics.sql(metric, dialect=dialect) if sql else None
    console.print(f"[bold]{spec.id}[/] — {spec.label}  [dim]({spec.source})[/]", highlight=False)
    console.print(spec.description, highlight=False)
    for key, value in (
        ("owners", spec.owners),
        ("kind", spec.kind),
        ("unit", f"{spec.unit}, {spec.direction} is better"),
        ("formula", formula_in_words(spec)),
        ("window", f"{spec.window_days} days" if spec.window_days else None),
        ("dimensions", ", ".join(dims)),
        ("defined in", spec.path),
    ):
        if value:
            console.print(f"  [bold]{key}:[/] {value}", highlight=False, soft_wrap=True)
    if text:
        console.print(text, highlight=False, soft_wrap=True)
