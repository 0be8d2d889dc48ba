"""What the statistics need from the metric layer beyond a query's tidy result.

Intervals of medians and means, duration tests and cohort curves need the *records* behind a
number, not just its aggregate. Rather than restate any metric's definition, the metric
layer's own compiled aggregation for the same request is opened up: its input relation (with
``period`` and the dimension columns) is filtered by the same condition as the aggregate and
the aggregated expression is selected instead of reduced. So the records are, by construction,
exactly those behind the published number.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revteam.exceptions import UnsupportedStatisticError
from revteam.metrics import periods, request
from revteam.metrics.compiler import compile_group
from revteam.metrics.plan import Planner, Recipe
from revteam.metrics.sources import offline_tables
from revteam.stats.intervals import RateMethod, add_intervals

if TYPE_CHECKING:
    from revteam.metrics import MetricResult, MetricSpec
    from revteam.workspace import Workspace

_TABLES = offline_tables()
SAMPLE_KINDS = {"mean": "mean", "median": "median"}
"""Metric kinds whose intervals and tests use per-record values, and their statistic."""


def result_intervals(
    ws: Workspace, result: MetricResult, *, level: float = 0.95, method: RateMethod = "wilson"
) -> pa.Table:
    """``result``'s table with intervals on rates, means and medians (see ``add_intervals``).

    Means and medians get theirs from the per-record values of the same request.
    """
    samples = [
        record_values(ws, result, m)
        for m in result.query.metrics
        if ws.metrics.get(m).kind in SAMPLE_KINDS
    ]
    values = pa.concat_tables(samples) if samples else None
    return add_intervals(result.to_arrow(), level=level, method=method, values=values)


def record_values(ws: Workspace, result: MetricResult, metric: str) -> pa.Table:
    """Per-record values of a mean or median metric for ``result``'s request.

    Columns: ``metric``, ``statistic``, ``period``, the request's dimensions, ``value``
    (scaled like the metric, e.g. CLV by the gross margin; records without a value dropped).
    """
    spec = ws.metrics.get(metric)
    if spec.kind not in SAMPLE_KINDS:
        raise UnsupportedStatisticError(
            "Per-record values", metric, spec.kind, "mean and median metrics"
        )
    rel, recipe = _source(ws, result, metric, "value" if spec.kind == "median" else "numerator")
    table = _execute(ws, rel.select(*rel.keys, value=rel.arg.cast("float64")))
    value = pc.multiply(table["value"], pa.scalar(recipe.scale))
    table = table.set_column(table.column_names.index("value"), "value", value)
    table = table.filter(pc.is_valid(table["value"]))
    size = table.num_rows
    return table.add_column(0, "statistic", pa.array([SAMPLE_KINDS[spec.kind]] * size)).add_column(
        0, "metric", pa.array([metric] * size)
    )


def cohort_records(ws: Workspace, result: MetricResult, metric: str) -> pa.Table:
    """Members of each cohort of a cohort-rate metric, for ``result``'s request.

    Columns: ``period``, the request's dimensions, ``entered`` and ``reached`` (the earliest
    of the metric's target stages, null when none yet).
    """
    spec = ws.metrics.get(metric)
    if spec.kind != "cohort_rate" or not spec.window_days:
        raise UnsupportedStatisticError(
            "Cohort curves", metric, spec.kind, "cohort rates with a window"
        )
    rel, _ = _source(ws, result, metric, "denominator")
    parent = rel.parent
    cols = {"entered": parent[spec.time].cast("timestamp")}
    cols |= {f"_r{i}": parent[c].cast("timestamp") for i, c in enumerate(spec.reached)}
    table = _execute(ws, rel.select(*rel.keys, **cols))
    stamps = np.stack(
        [
            table[f"_r{i}"].to_numpy(zero_copy_only=False).astype("datetime64[us]")
            for i in range(len(spec.reached))
        ]
    )
    never = np.datetime64("9999-12-31", "us")  # the earliest *known* stamp: NaT never wins
    earliest = np.where(np.isnat(stamps), never, stamps).min(axis=0)
    earliest = np.where(earliest == never, np.datetime64("NaT", "us"), earliest)
    table = table.drop_columns([f"_r{i}" for i in range(len(spec.reached))])
    reached = pa.array(earliest, type=pa.timestamp("us"), from_pandas=True)
    return table.append_column("reached", reached)


def latest_period(
    as_of: dt.datetime, grain: periods.Grain, fy_start: int = 1, window: int | None = None
) -> dt.date:
    """The last period that has ended by ``as_of`` (and whose cohort is ``window`` days old)."""
    cut = as_of - dt.timedelta(days=window or 0)
    start = periods.floor(cut.date(), grain, fy_start)
    if dt.datetime.combine(periods.end(start, grain), dt.time()) > cut:
        start = periods.shift(start, grain, -1)
    return start


def complete(period: dt.date, grain: periods.Grain, as_of: dt.datetime) -> bool:
    """Whether ``period`` had ended by ``as_of`` (a partial period is not comparable)."""
    return dt.datetime.combine(periods.end(period, grain), dt.time()) <= as_of


def as_of_of(ws: Workspace, as_of: request.DateLike | None) -> dt.datetime:
    return request.to_as_of(as_of) or ws.metrics.as_of()


def kind_of(spec: MetricSpec) -> str:
    """``rate`` (binomial), ``mean``, ``median``, ``additive`` or the spec's kind."""
    if spec.kind in ("cohort_rate", "ratio") and spec.unit == "percent":
        return "rate"
    if spec.kind in SAMPLE_KINDS:
        return spec.kind
    return "additive" if spec.kind in ("count", "sum") else spec.kind


class _Rows:
    """The relation an atom aggregates, its group keys, its expression and its condition."""

    def __init__(self, agg: Any, reduction: Any) -> None:
        self.parent = agg.parent.to_expr()
        self.keys = [v.to_expr().name(k) for k, v in agg.groups.items()]
        self.arg: Any = reduction.arg.to_expr() if hasattr(reduction, "arg") else None
        self.where = reduction.where.to_expr() if reduction.where is not None else None

    def select(self, *keys: Any, **columns: Any) -> Any:
        if self.where is None:
            return self.parent.select(*keys, **columns)
        rows = self.parent.select(*keys, **columns, _keep=self.where)
        return rows.filter(rows["_keep"]).drop("_keep")


def _source(ws: Workspace, result: MetricResult, metric: str, role: str) -> tuple[_Rows, Recipe]:
    catalogue = ws.metrics.catalogue
    # Without totals a group compiles to one plain aggregation, whose input we reuse.
    query = replace(result.query, metrics=(metric,), totals=False)
    ctx = ws.metrics.context(result.as_of)
    plan = Planner(catalogue.specs, query, ctx.gross_margin).plan()
    recipe = plan.recipes[metric]
    atom = getattr(recipe, role)
    agg = compile_group(plan.group_of(atom), query, ctx, _TABLES).op()
    return _Rows(agg, agg.metrics[plan.name_of(atom)]), recipe


def _execute(ws: Workspace, expr: Any) -> pa.Table:
    """Run an expression over unbound model tables the way the metric layer does: as SQL."""
    import ibis

    table: pa.Table = ws.warehouse.arrow(ibis.to_sql(expr, dialect="duckdb"))
    return table
