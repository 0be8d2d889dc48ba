"""``revteam attribution``: credit by channel or campaign under one model, or all side by side.

    revteam attribution --model markov --conversion opportunity --by channel --format json
    revteam attribution --compare-models --conversion won --by campaign
    revteam attribution --audit --model shapley --conversion won --limit 50

See docs/attribution.md for each model's formula and caveats.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from revteam.attribution import MODELS, Attribution
from revteam.cli._common import OutputFormat, console, emit, err_console, open_ws

Model = Literal[
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
    "markov",
    "shapley",
]
DateOpt = Annotated[
    dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="YYYY-MM-DD (inclusive).")
]


def register(app: typer.Typer) -> None:
    app.command("attribution")(attribution)


def attribution(
    model: Annotated[
        Model | None,
        typer.Option(help="The model (default: [attribution] model in revteam.toml)."),
    ] = None,
    conversion: Annotated[
        Literal["lead", "mql", "sql", "opportunity", "won", "customer"],
        typer.Option(
            help="What converts: a lead, MQL, SQL, an opportunity created or won, a new customer."
        ),
    ] = "opportunity",
    by: Annotated[
        Literal["channel", "campaign"], typer.Option(help="Credit channels or campaigns.")
    ] = "channel",
    order: Annotated[
        int | None, typer.Option(min=1, max=3, help="Markov chain order: 1, 2 or 3.")
    ] = None,
    half_life: Annotated[
        float | None, typer.Option("--half-life", help="Time decay's half-life in days.")
    ] = None,
    start: DateOpt = None,
    end: DateOpt = None,
    as_of: DateOpt = None,
    compare_models: Annotated[
        bool, typer.Option("--compare-models", help="Every model, side by side.")
    ] = False,
    intervals: Annotated[
        bool, typer.Option("--intervals", help="Bootstrap intervals of each credit.")
    ] = False,
    level: Annotated[float, typer.Option(min=0.5, max=0.99, help="Interval level.")] = 0.9,
    audit: Annotated[
        bool,
        typer.Option("--audit", help="Per touch of each conversion: its credit under each model."),
    ] = False,
    conversion_id: Annotated[
        str | None, typer.Option(help="With --audit: only this conversion (person or deal id).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100_000, help="With --audit: touches.")] = 200,
    sourcing: Annotated[
        bool,
        typer.Option(
            "--sourcing",
            help="Sourced (under each of the three rules) versus influenced pipeline.",
        ),
    ] = False,
    budget: Annotated[
        bool,
        typer.Option("--budget", help="Campaign budget versus spend versus attributed return."),
    ] = False,
    grain: Annotated[
        Literal["month", "quarter", "year", "all"], typer.Option(help="With --budget: periods.")
    ] = "month",
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Who gets credit for conversions: each channel's (or campaign's) conversions and amount.

    ``credit`` sums to the number of conversions and ``amount`` to their pipeline or revenue,
    under every model; the model is named in every row.
    """
    days = {k: v.date() if v else None for k, v in (("start", start), ("end", end))}
    common: dict[str, Any] = {"conversion": conversion, "by": by, **days}
    if as_of is not None:
        common["as_of"] = dt.datetime.combine(as_of.date(), dt.time.max)
    with open_ws(read_only=True) as ws:
        if sourcing:
            rows = ws.attribution.sourcing(**days, as_of=common.get("as_of"))
            emit(rows, fmt, title="Marketing-sourced (each rule) and influenced pipeline")
            return
        if budget:
            table = ws.attribution.budget(model, grain=grain, **days, as_of=common.get("as_of"))
            emit(table.to_pylist(), fmt, title="Budget, spend and attributed return by campaign")
            return
        if audit:
            table = ws.attribution.audit(
                [model] if model else None, conversion_id=conversion_id, limit=limit, **common
            )
            emit(table.to_pylist(), fmt, title=f"Credit per touch ({conversion})")
            return
        options: dict[str, Any] = {
            **common,
            "order": order,
            "half_life_days": half_life,
            "intervals": intervals,
            "level": level,
        }
        if compare_models:
            results = ws.attribution.compare([model] if model else MODELS, **options)
        else:
            results = [ws.attribution.run(model, **options)]
    rows = [row | _context(r) for r in results for row in r.rows]
    if fmt is not OutputFormat.table:
        emit(rows, fmt)
        _notes(results, fmt)
        return
    if compare_models:
        emit(_wide(results), fmt, title=_title(results[0], "credit by model"))
    else:
        r = results[0]
        shown = [{k: v for k, v in row.items() if k != "model"} for row in r.rows]
        emit(shown, fmt, title=_title(r, r.model.replace("_", " ")))
    _notes(results, fmt)


def _context(r: Attribution) -> dict[str, Any]:
    return {"conversion": r.conversion, "metric": r.metric}


def _title(r: Attribution, what: str) -> str:
    span = f"{r.start or 'the start'} to {r.end or 'the end'}" if r.start or r.end else "all"
    return (
        f"{r.conversion} conversions ({r.conversions:,.0f} records of {r.metric}, {span}) by "
        f"{r.by}: {what}; as of {r.as_of:%Y-%m-%d}"
    )


SHORT = {
    "first_touch": "first",
    "last_touch": "last",
    "last_non_direct": "non-direct",
    "time_decay": "decay",
    "u_shaped": "U",
    "w_shaped": "W",
}
"""Column heads of the side-by-side table (it must fit a terminal)."""


def _wide(results: list[Attribution]) -> list[dict[str, Any]]:
    """One row per segment, one column of credit per model (largest total first)."""
    label = results[0].by
    credit: dict[str, dict[str, float]] = {}
    for r in results:
        for row in r.rows:
            credit.setdefault(row[label], {})[r.model] = row["credit"]
    order = sorted(credit, key=lambda seg: -sum(credit[seg].values()))
    return [
        {label: seg}
        | {SHORT.get(r.model, r.model): f"{credit[seg].get(r.model, 0.0):,.1f}" for r in results}
        for seg in order
    ]


def _notes(results: list[Attribution], fmt: OutputFormat) -> None:
    out = console if fmt is OutputFormat.table else err_console
    seen: set[str] = set()
    for r in results:
        for note in r.notes:
            if note not in seen:
                seen.add(note)
                out.print(f"note: {escape(note)}", highlight=False, soft_wrap=True)
