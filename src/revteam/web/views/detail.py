"""One metric in depth: over time (optionally split by a dimension) and by dimension value.

The split by dimension is shown for the metric's headline period, the one its tile headlines
(:meth:`~revteam.metrics.MetricResult.headline`), with ``n`` and the ratio's parts beside every
value so that a reader can tell a solid number from a small sample, and drill into the records
behind it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from revteam.metrics import MetricSpec, periods
from revteam.web.filters import ViewFilters
from revteam.web.views import charts
from revteam.web.views.scorecard import lookback, query_start
from revteam.workspace import Workspace

DEFAULT_BY = ("channel", "segment", "region", "network", "keyword_group", "team")


@dataclass(frozen=True)
class GroupValue:
    name: str
    value: float | None
    n: int | None
    numerator: float | None
    denominator: float | None
    immature: bool


@dataclass(frozen=True)
class Detail:
    metric: str
    spec: MetricSpec
    by: str | None
    dimensions: tuple[str, ...]
    trend: dict[str, Any] | None
    bars: dict[str, Any] | None
    period: dt.date | None
    period_label: str
    period_end: dt.date | None
    groups: tuple[GroupValue, ...]
    unavailable: str = ""


def default_by(dims: tuple[str, ...]) -> str | None:
    return next((d for d in DEFAULT_BY if d in dims), dims[0] if dims else None)


def detail(ws: Workspace, metric: str, filters: ViewFilters, as_of: dt.date) -> Detail:
    spec = ws.metrics.get(metric)
    dims = tuple(ws.metrics.dimensions(metric))
    by = filters.by if filters.by in dims else default_by(dims)
    missing = [d for d in filters.where_dims if d not in dims]
    if missing:
        return Detail(
            metric,
            spec,
            by,
            dims,
            None,
            None,
            None,
            "",
            None,
            (),
            f"{spec.label} cannot be filtered by {', '.join(missing)}.",
        )
    fy = ws.settings.fiscal_year_start_month
    start, end = filters.range(as_of, fy)
    result = ws.metrics.query(
        [metric],
        by=[by] if by else [],
        grain=filters.grain,
        start=query_start(start, lookback(ws, [metric]), ws.settings.plausible_years[0]),
        end=end,
        where=filters.where_dict() or None,
    )
    every = sorted(result.to_pylist(), key=lambda r: r["period"])
    head = result.headline(metric)
    # The periods before the range were only queried so that a cohort can be headlined.
    rows = [r for r in every if start is None or r["period"] >= start]
    totals = [r for r in rows if r["is_total"]]
    currency = ws.settings.currency
    trend_rows = [_trend_row(r, "Total", filters.grain, result.as_of) for r in totals]
    if by:
        split = [
            _trend_row(r, _name(r[by]), filters.grain, result.as_of)
            for r in rows
            if not r["is_total"]
        ]
        if len({r["series"] for r in split}) > 1:  # one group is the total again
            trend_rows = charts.keep_largest(trend_rows + split)
    trend = (
        charts.trend(
            trend_rows, unit=spec.unit, owners=spec.owners, currency=currency, y_title=spec.label
        )
        if trend_rows
        else None
    )
    groups: tuple[GroupValue, ...] = ()
    bars = None
    if by and head is not None:
        at = [r for r in every if not r["is_total"] and r["period"] == head["period"]]
        groups = tuple(
            sorted(
                (
                    GroupValue(
                        _name(r[by]),
                        r["value"],
                        r["n"],
                        r["numerator"],
                        r["denominator"],
                        bool(r["immature"]),
                    )
                    for r in at
                ),
                key=lambda g: -(g.value if g.value is not None else float("-inf")),
            )
        )
        from revteam.web.format import display

        bar_rows = [
            {
                "name": g.name,
                "value": g.value,
                "text": display(g.value, spec.unit, currency=currency, short=True),
            }
            for g in groups
            if g.value is not None
        ]
        bars = (
            charts.bars(bar_rows, unit=spec.unit, owners=spec.owners, currency=currency)
            if bar_rows
            else None
        )
    return Detail(
        metric,
        spec,
        by,
        dims,
        trend,
        bars,
        head["period"] if head else None,
        head["period_label"] if head else "",
        periods.end(head["period"], filters.grain) - dt.timedelta(days=1) if head else None,
        groups,
    )


def _name(value: object) -> str:
    return "(none)" if value is None else str(value)


def _trend_row(
    r: dict[str, Any], series: str, grain: periods.Grain, as_of: dt.datetime
) -> dict[str, Any]:
    partial = not periods.complete(r["period"], grain, as_of)
    note = "immature cohort" if r["immature"] else "period in progress" if partial else ""
    return {
        "period": r["period"].isoformat(),
        "label": r["period_label"],
        "value": r["value"],
        "series": series,
        "hollow": bool(r["immature"]) or partial,
        "note": note,
    }
