"""Statistics commands: ``compare``, ``anomalies``, ``drivers``, ``rank``, ``cohorts``.

Each is a thin shell over ``ws.stats`` (:class:`revteam.stats.StatsComponent`); intervals on
KPI values are ``revteam kpis --ci``.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from revteam.cli._common import OutputFormat, console, emit, open_ws
from revteam.cli.kpis import parse_where
from revteam.metrics.format import delta, display
from revteam.stats import describe_drivers, meta_of

if TYPE_CHECKING:
    import pyarrow as pa


Metric = Annotated[str, typer.Argument(help="Metric id (`revteam metrics list`).")]
By = Annotated[list[str] | None, typer.Option("--by", "-b", help="Dimension (repeatable).")]
Grain = Annotated[str, typer.Option(help="Period: day, week, month, quarter, year.")]
Period = Annotated[
    str | None, typer.Option(help="Period, e.g. 2026-03 (default: latest complete one).")
]
Where = Annotated[
    list[str] | None, typer.Option("--where", help="DIMENSION=VALUE[,VALUE…] (repeatable).")
]
AsOf = Annotated[str | None, typer.Option(help="As-of date (default: latest data).")]
Format = Annotated[OutputFormat, typer.Option("--format")]
Level = Annotated[float, typer.Option(help="Confidence level of intervals.")]


class Against(StrEnum):
    rest = "rest"
    previous = "previous"
    last_year = "last_year"


class Prior(StrEnum):
    marginal_likelihood = "marginal_likelihood"
    moments = "moments"


VALUE_COLUMNS = {
    "value",
    "baseline",
    "expected",
    "level",
    "raw_rate",
    "shrunk_rate",
    "ci_low",
    "ci_high",
    "value_before",
    "value_after",
    "observed_rate",
    "projected_rate",
}
SHARE_COLUMNS = {"share_before", "share_after"}
COUNT_COLUMNS = {"numerator", "denominator"}
CHANGE_COLUMNS = {"difference", "diff_low", "diff_high", "change", "contribution"}


def register(app: typer.Typer) -> None:
    for name, command in (
        ("compare", compare),
        ("anomalies", anomalies),
        ("drivers", drivers),
        ("rank", rank),
        ("cohorts", cohorts),
    ):
        app.command(name)(command)


def compare(
    metric: Metric,
    by: By = None,
    against: Annotated[Against, typer.Option(help="What to compare with.")] = Against.rest,
    period: Period = None,
    grain: Grain = "month",
    where: Where = None,
    as_of: AsOf = None,
    alpha: Annotated[float, typer.Option(help="False-discovery rate.")] = 0.05,
    fmt: Format = OutputFormat.table,
) -> None:
    """Is a segment (or period) really different? Tests with Benjamini-Hochberg correction."""
    with open_ws(read_only=True) as ws:
        table = ws.stats.compare(
            metric,
            by=by or (),
            against=cast("Any", against.value),
            period=period,
            grain=grain,
            where=parse_where(where or []),
            as_of=as_of,
            alpha=alpha,
        )
        currency = ws.settings.currency
    meta = meta_of(table)
    title = f"{metric}: {meta['period']} against {against} ({meta['baseline_period']})"
    columns = [
        "segment",
        "value",
        "baseline",
        "difference",
        "diff_low",
        "diff_high",
        "n",
        "baseline_n",
        "test",
        "p_adjusted",
        "verdict",
    ]
    emit(table_rows(table, fmt, columns, currency=currency), fmt, title=title)


def anomalies(
    metric: Metric,
    by: By = None,
    grain: Grain = "month",
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    where: Where = None,
    as_of: AsOf = None,
    alpha: Annotated[float, typer.Option(help="False-discovery rate.")] = 0.01,
    window: Annotated[int | None, typer.Option(help="Baseline periods.")] = None,
    all_periods: Annotated[bool, typer.Option("--all", help="Every scored period.")] = False,
    fmt: Format = OutputFormat.table,
) -> None:
    """Periods that moved beyond noise: spikes and lasting shifts, with size and direction."""
    with open_ws(read_only=True) as ws:
        table = ws.stats.anomalies(
            metric,
            by=by or (),
            grain=grain,
            start=start,
            end=end,
            where=parse_where(where or []),
            as_of=as_of,
            alpha=alpha,
            window=window,
            all_periods=all_periods,
        )
        currency = ws.settings.currency
    columns = [
        "segment",
        "period_label",
        "kind",
        "direction",
        "value",
        "expected",
        "level",
        "change",
        "z",
        "p_adjusted",
        "flagged",
    ]
    title = f"{metric}: {table.num_rows} {'periods' if all_periods else 'anomalies'} per {grain}"
    if not table.num_rows and fmt is OutputFormat.table:
        console.print(f"{metric}: no anomalies per {grain} at a false-discovery rate of {alpha}.")
        return
    emit(table_rows(table, fmt, columns, currency=currency), fmt, title=title)


def drivers(
    metric: Metric,
    by: By = None,
    period: Period = None,
    against: Annotated[str, typer.Option(help="previous, last_year or a date.")] = "previous",
    window: Annotated[int, typer.Option(help="Periods pooled on each side.")] = 1,
    grain: Grain = "month",
    where: Where = None,
    as_of: AsOf = None,
    top: Annotated[int, typer.Option(help="Rows to show.")] = 10,
    fmt: Format = OutputFormat.table,
) -> None:
    """Why a KPI moved: rate and mix effects per segment (or the levers of velocity)."""
    with open_ws(read_only=True) as ws:
        table = ws.stats.drivers(
            metric,
            by=by or (),
            period=period,
            against=against,
            window=window,
            grain=grain,
            where=parse_where(where or []),
            as_of=as_of,
        )
        currency = ws.settings.currency
    if fmt is OutputFormat.table:
        console.print(describe_drivers(table), highlight=False, soft_wrap=True)
    columns = None
    if "segment" in table.column_names:
        columns = [
            "segment",
            "effect",
            "contribution",
            "share_before",
            "share_after",
            "value_before",
            "value_after",
            "p_adjusted",
        ]
    emit(
        table_rows(table.slice(0, top), fmt, columns, currency=currency),
        fmt,
        title=f"{metric}: drivers",
    )


def rank(
    metric: Metric,
    by: By = None,
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    where: Where = None,
    as_of: AsOf = None,
    level: Level = 0.95,
    prior: Annotated[Prior, typer.Option(help="How the beta prior is fitted.")] = (
        Prior.marginal_likelihood
    ),
    top: Annotated[int | None, typer.Option(help="Rows to show.")] = None,
    fmt: Format = OutputFormat.table,
) -> None:
    """Segments ranked by rate with empirical-Bayes shrinkage (raw and shrunk side by side)."""
    with open_ws(read_only=True) as ws:
        table = ws.stats.rank(
            metric,
            by=by or ("campaign",),
            start=start,
            end=end,
            where=parse_where(where or []),
            as_of=as_of,
            level=level,
            prior=cast("Any", prior.value),
        )
        currency = ws.settings.currency
    prior_fit = meta_of(table)["prior"]
    title = (
        f"{metric} by {', '.join(by or ['campaign'])}: prior Beta({prior_fit['alpha']:.3g}, "
        f"{prior_fit['beta']:.3g}) by {prior_fit['method']}"
    )
    columns = [
        "rank",
        "segment",
        "numerator",
        "denominator",
        "raw_rate",
        "raw_rank",
        "shrunk_rate",
        "ci_low",
        "ci_high",
        "small_sample",
    ]
    emit(
        table_rows(table.slice(0, top) if top else table, fmt, columns, currency=currency),
        fmt,
        title=title,
    )


def cohorts(
    metric: Metric,
    by: By = None,
    grain: Grain = "month",
    start: Annotated[str | None, typer.Option(help="First day, YYYY-MM-DD.")] = None,
    end: Annotated[str | None, typer.Option(help="Last day, YYYY-MM-DD.")] = None,
    where: Where = None,
    as_of: AsOf = None,
    level: Level = 0.95,
    fmt: Format = OutputFormat.table,
) -> None:
    """Each cohort's rate at the window; immature ones projected by Kaplan-Meier."""
    with open_ws(read_only=True) as ws:
        table = ws.stats.cohorts(
            metric,
            by=by or (),
            grain=grain,
            start=start,
            end=end,
            where=parse_where(where or []),
            as_of=as_of,
            level=level,
        )
        currency = ws.settings.currency
    emit(
        table_rows(table, fmt, currency=currency),
        fmt,
        title=f"{metric}: cohorts at {meta_of(table)['window_days']} days",
    )


def table_rows(
    table: pa.Table, fmt: OutputFormat, columns: Sequence[str] | None = None, *, currency: str
) -> list[dict[str, Any]]:
    """Rows of a statistics table; for people, the ``columns`` that matter, formatted.

    ``currency`` is the workspace's, in which money values are written.
    """
    unit = meta_of(table).get("unit", "number")
    rows: list[dict[str, Any]] = table.to_pylist()
    if fmt is not OutputFormat.table:
        return rows
    out = []
    for r in rows:
        row: dict[str, Any] = {}
        for c in columns or table.column_names:
            v = r.get(c)
            if isinstance(v, float) and c in SHARE_COLUMNS:
                v = f"{v:.1%}"
            elif isinstance(v, float) and c in COUNT_COLUMNS:
                v = int(v)
            elif isinstance(v, float) and c in VALUE_COLUMNS:
                v = display(v, unit, currency=currency)
            elif isinstance(v, float) and c in CHANGE_COLUMNS:
                v = delta(v, unit, currency=currency)
            elif isinstance(v, float) and c.startswith("p_"):
                v = f"{v:.2g}"
            row[c] = v
        out.append(row)
    return out
