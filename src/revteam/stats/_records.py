"""What the statistics need from the metric layer beyond a query's tidy result.

Intervals of medians and means, duration tests and cohort curves need the *records* behind a
number, not just its aggregate. They come from ``ws.metrics.records`` with the result's own
request, so they are, by construction, exactly those behind the published number.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.compute as pc

from revteam.exceptions import UnsupportedStatisticError
from revteam.metrics import request
from revteam.stats.intervals import RateMethod, add_intervals

if TYPE_CHECKING:
    from revteam.metrics import MetricResult, MetricsComponent, MetricSpec

SAMPLE_KINDS = {"mean": "mean", "median": "median"}
"""Metric kinds whose intervals and tests use per-record values, and their statistic."""


def result_intervals(
    metrics: MetricsComponent,
    result: MetricResult,
    *,
    level: float = 0.95,
    method: RateMethod = "wilson",
) -> pa.Table:
    """``result``'s table with intervals on rates, means and medians (see ``add_intervals``).

    Means and medians get theirs from the per-record values of the same request.
    """
    samples = [
        record_values(metrics, result, m)
        for m in result.query.metrics
        if metrics.get(m).kind in SAMPLE_KINDS
    ]
    values = pa.concat_tables(samples) if samples else None
    return add_intervals(result.to_arrow(), level=level, method=method, values=values)


def record_values(metrics: MetricsComponent, result: MetricResult, metric: str) -> pa.Table:
    """Per-record values of a mean or median metric for ``result``'s request.

    Columns: ``metric``, ``statistic``, ``period``, the request's dimensions, ``value``
    (scaled like the metric, e.g. CLV by the gross margin; records without a value dropped).
    """
    spec = metrics.get(metric)
    if spec.kind not in SAMPLE_KINDS:
        raise UnsupportedStatisticError(
            "Per-record values", metric, spec.kind, "mean and median metrics"
        )
    part = "numerator" if spec.kind == "mean" else "all"
    table = _records(metrics, result, metric, part, ())
    table = table.select(["period", *result.query.by, "value"])
    table = table.filter(pc.is_valid(table["value"]))
    size = table.num_rows
    return table.add_column(0, "statistic", pa.array([SAMPLE_KINDS[spec.kind]] * size)).add_column(
        0, "metric", pa.array([metric] * size)
    )


def cohort_records(metrics: MetricsComponent, result: MetricResult, metric: str) -> pa.Table:
    """Members of each cohort of a cohort-rate metric, for ``result``'s request.

    Columns: ``period``, the request's dimensions, ``entered`` and ``reached`` (the earliest
    of the metric's target stages, null when none yet).
    """
    spec = metrics.get(metric)
    if spec.kind != "cohort_rate" or not spec.window_days:
        raise UnsupportedStatisticError(
            "Cohort curves", metric, spec.kind, "cohort rates with a window"
        )
    assert spec.time is not None
    table = _records(metrics, result, metric, "denominator", (spec.time,))
    entered = table[spec.time].cast(pa.timestamp("us"))
    reached = table["reached_at"].cast(pa.timestamp("us"))
    keep = table.select(["period", *result.query.by])
    return keep.append_column("entered", entered).append_column("reached", reached)


def _records(
    metrics: MetricsComponent,
    result: MetricResult,
    metric: str,
    part: str,
    columns: tuple[str, ...],
) -> pa.Table:
    q = result.query
    return metrics.records(
        metric,
        part=part,
        by=q.by,
        grain=q.grain,
        start=q.start,
        end=q.end,
        where={d: list(v) for d, v in q.where} or None,
        as_of=result.as_of,
        columns=columns,
    )


def as_of_of(metrics: MetricsComponent, as_of: request.DateLike | None) -> dt.datetime:
    return request.to_as_of(as_of) or metrics.as_of()


def kind_of(spec: MetricSpec) -> str:
    """``rate`` (binomial), ``mean``, ``median``, ``additive`` or the spec's kind."""
    if spec.kind in ("cohort_rate", "ratio") and spec.unit == "percent":
        return "rate"
    if spec.kind in SAMPLE_KINDS:
        return spec.kind
    return "additive" if spec.kind in ("count", "sum") else spec.kind
