"""KPI tiles: the latest complete period's value, its change, a sparkline and honest notes.

The headline of a tile is the metric layer's (:meth:`~revteam.metrics.MetricResult.headline`):
the newest *complete* period, and for cohort metrics the newest *mature* one. A cohort younger
than its conversion window is drawn in the sparkline but never headlined.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from revteam.metrics import MetricResult, periods
from revteam.web.filters import ViewFilters
from revteam.web.format import change
from revteam.workspace import Workspace


@dataclass(frozen=True)
class Point:
    period: dt.date
    label: str
    value: float | None
    immature: bool
    partial: bool


@dataclass(frozen=True)
class GoalSlot:
    """The goal a tile shows: its target for the running period and how it is pacing."""

    id: int
    period: str
    target: float
    status: str
    probability: float | None
    projected: float | None
    low: float | None
    high: float | None


@dataclass(frozen=True)
class Tile:
    metric: str
    label: str
    description: str
    owners: str
    unit: str
    direction: str
    window_days: int | None
    points: tuple[Point, ...] = ()
    value: float | None = None
    period: dt.date | None = None
    period_last: dt.date | None = None
    """Last day of the headline period (for drill-down links)."""
    period_label: str = ""
    previous: float | None = None
    previous_label: str = ""
    change: float | None = None
    change_text: str = ""
    good: bool | None = None
    n: int | None = None
    numerator: float | None = None
    denominator: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    note: str = ""
    unavailable: str = ""
    """Why there is no value (e.g. the metric cannot be filtered by a chosen dimension)."""
    goal: GoalSlot | None = None


def supported(ws: Workspace, metric: str, dims: Sequence[str]) -> bool:
    return all(d in ws.metrics.dimensions(metric) for d in dims)


def lookback(ws: Workspace, metrics: Sequence[str]) -> int:
    """Days to start a query early: the longest conversion window of ``metrics``.

    A cohort metric whose window is longer than the range still has a mature cohort to headline.
    """
    return max((ws.metrics.get(m).window_days or 0 for m in metrics), default=0)


def query_start(start: dt.date | None, lookback_days: int, first_year: int = 1) -> dt.date | None:
    """``lookback_days`` before ``start``, but not before ``first_year`` (no data lies there)."""
    if start is None:
        return None
    return start - min(dt.timedelta(days=lookback_days), start - dt.date(first_year, 1, 1))


def query_totals(
    ws: Workspace,
    metrics: Sequence[str],
    filters: ViewFilters,
    as_of: dt.date,
    *,
    lookback_days: int = 0,
) -> MetricResult | None:
    """The total rows of ``metrics`` over the filters' range (``None`` without metrics).

    ``lookback_days`` starts the query that much earlier (see :func:`lookback`).
    """
    if not metrics:
        return None
    start, end = filters.range(as_of, ws.settings.fiscal_year_start_month)
    result: MetricResult = ws.metrics.query(
        list(metrics),
        grain=filters.grain,
        start=query_start(start, lookback_days, ws.settings.plausible_years[0]),
        end=end,
        where=filters.where_dict() or None,
    )
    return result.totals()


def tiles(
    ws: Workspace, metrics: Sequence[str], filters: ViewFilters, as_of: dt.date
) -> list[Tile]:
    """One tile per metric, in the order given."""
    usable = [m for m in metrics if supported(ws, m, filters.where_dims)]
    result = query_totals(ws, usable, filters, as_of, lookback_days=lookback(ws, usable))
    start, _ = filters.range(as_of, ws.settings.fiscal_year_start_month)
    by_metric: dict[str, list[dict[str, Any]]] = {}
    for r in sorted(result.to_pylist() if result else [], key=lambda r: r["period"]):
        by_metric.setdefault(r["metric"], []).append(r)
    out = []
    for m in metrics:
        spec = ws.metrics.get(m)
        base = Tile(
            m,
            spec.label,
            spec.description,
            spec.owners,
            spec.unit,
            spec.direction,
            spec.window_days,
        )
        if m not in usable:
            dims = ", ".join(d for d in filters.where_dims if d not in ws.metrics.dimensions(m))
            out.append(_replace(base, unavailable=f"Not available when filtering by {dims}."))
            continue
        head = result.headline(m) if result else None
        out.append(_tile(base, by_metric.get(m, []), head, filters.grain, as_of, start))
    return out


def _replace(tile: Tile, **changes: Any) -> Tile:
    from dataclasses import replace

    return replace(tile, **changes)


def _tile(
    base: Tile,
    rows: list[dict[str, Any]],
    head: dict[str, Any] | None,
    grain: periods.Grain,
    as_of: dt.date,
    start: dt.date | None,
) -> Tile:
    cut = dt.datetime.combine(as_of, dt.time())
    every = [
        Point(
            r["period"],
            r["period_label"],
            r["value"],
            bool(r["immature"]),
            not periods.complete(r["period"], grain, cut),
        )
        for r in rows
    ]
    points = tuple(p for p in every if start is None or p.period >= start)
    if head is None:
        note = "No complete period yet." if points else "No data in this range."
        return _replace(base, points=points, note=note)
    row = head
    earlier = [r for r in rows if r["period"] < row["period"]]
    prev = earlier[-1] if earlier else None
    delta, text = change(row["value"], prev["value"] if prev else None, base.unit)
    good = None if delta is None or delta == 0 else (delta > 0) == (base.direction == "higher")
    note = ""
    if base.window_days and any(p.immature for p in points):
        note = f"Latest mature cohort ({base.window_days}-day window)"
    return _replace(
        base,
        points=points,
        value=row["value"],
        period=row["period"],
        period_last=periods.end(row["period"], grain) - dt.timedelta(days=1),
        period_label=row["period_label"],
        previous=prev["value"] if prev else None,
        previous_label=prev["period_label"] if prev else "",
        change=delta,
        change_text=text,
        good=good,
        n=row.get("n"),
        numerator=row.get("numerator"),
        denominator=row.get("denominator"),
        ci_low=row.get("ci_low"),
        ci_high=row.get("ci_high"),
        note=note,
    )
