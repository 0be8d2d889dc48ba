"""A first set of goals from the data itself: last year's value, grown, for the running period.

For a team that has not set goals yet (and for the demo): each count or sum gets the same
period a year earlier times ``1 + growth``; each rate or average keeps its value of the same
period a year earlier (a cohort rate's cohort of then has long matured). Targets are rounded
to two significant figures (rates to whole percent points), so they read like goals people
set, not like computed numbers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from revteam.goals.model import GoalSpec
from revteam.metrics import periods as P

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent

STARTER_METRICS = (
    "leads",
    "mqls",
    "sqls",
    "new_customers",
    "revenue",
    "sales_qualification_rate",
    "win_rate",
)
"""The shared scorecard's backbone: volume both teams feed, the hand-off, and the money."""


def starter_goals(
    metrics: MetricsComponent,
    *,
    period: str | None = None,
    growth: float = 0.3,
    metric_ids: Sequence[str] = STARTER_METRICS,
    segments: Mapping[str, Mapping[str, str]] | None = None,
    note: str = "starter goal: last year's value",
    fy_start: int = 1,
) -> list[GoalSpec]:
    """Goals for ``period`` (default: the quarter of the data's as-of day).

    ``segments`` adds goals for one segment of a metric (``{"sales_qualification_rate":
    {"channel": "paid_social"}}``), at that segment's own value last year.
    """
    grain: P.Grain = "quarter"
    if period is None:
        start = P.floor(metrics.as_of().date(), grain, fy_start)
    else:
        start, grain = P.parse_label(period, fy_start)
    label = P.label(start, grain, fy_start)
    wanted: list[tuple[str, dict[str, str]]] = [(m, {}) for m in metric_ids]
    wanted += [(m, dict(s)) for m, s in (segments or {}).items()]
    out = []
    for metric, segment in wanted:
        value = _last_year(metrics, metric, start, grain, segment)
        if value is None:
            continue
        spec = metrics.get(metric)
        if spec.kind in {"count", "sum"}:
            value *= 1 + growth
        target = _round(value, spec.unit == "percent")
        out.append(GoalSpec(metric, label, target, segment=segment, note=note))
    return out


def _last_year(
    metrics: MetricsComponent,
    metric: str,
    start: dt.date,
    grain: P.Grain,
    segment: Mapping[str, str],
) -> float | None:
    first = P.year_ago(start, grain)
    last = P.end(first, grain) - dt.timedelta(days=1)
    result = metrics.query(
        metric,
        grain="all",
        start=first,
        end=last,
        where={d: [v] for d, v in segment.items()} or None,
    )
    rows = [r for r in result.to_pylist() if r["is_total"]]
    value = rows[0]["value"] if rows else None
    return float(value) if value else None


def _round(value: float, share: bool) -> float:
    """Two significant figures (a rate: whole percent points)."""
    if share:
        return round(value, 2)
    digits = 1 - math.floor(math.log10(abs(value))) if value else 0
    return float(round(value, digits))
