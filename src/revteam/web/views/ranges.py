"""Values over a whole range, as the campaign table and the funnel show them.

One metric-layer query per distinct range end (``grain="all"``): cohort rates stop at their
newest mature period (:meth:`~revteam.metrics.MetricsComponent.mature_end`), every other
metric covers the whole range. Rows are keyed by metric and group (``None``: the total).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from revteam.web.filters import ViewFilters
from revteam.workspace import Workspace

Values = dict[tuple[str, str | None], dict[str, Any]]


def over_range(
    ws: Workspace,
    metrics: Sequence[str],
    filters: ViewFilters,
    start: dt.date | None,
    end: dt.date,
    *,
    by: str | None = None,
    where: dict[str, list[str]] | None = None,
) -> Values:
    """The value of each metric over ``start``..``end``, total and per value of ``by``.

    A group without a value (``None`` in the data) is keyed by the empty string.
    """
    ends: dict[dt.date, list[str]] = {}
    as_of = ws.metrics.as_of()
    for m in metrics:
        last = ws.metrics.mature_end(m, end, grain=filters.grain, as_of=as_of)
        ends.setdefault(last, []).append(m)
    found: Values = {}
    for last, chosen in ends.items():
        if start is not None and last < start:
            continue  # no cohort of the range has matured yet
        result = ws.metrics.query(
            chosen,
            by=[by] if by else [],
            grain="all",
            start=start,
            end=last,
            where=where or None,
            as_of=as_of,
        )
        for r in result.to_pylist():
            group = None if r["is_total"] else (r[by] if by else None) or ""
            found[(r["metric"], group)] = r
    return found


def groups(values: Values) -> list[str]:
    """Every group that has a value, in order (the empty group last)."""
    return sorted({g for _, g in values if g is not None}, key=lambda g: (g == "", g))
