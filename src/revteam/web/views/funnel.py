"""The lead funnel: the catalogue's funnel stages, each a count and a conversion KPI.

Every number is a catalogue metric with the page's filters (:attr:`Catalogue.funnel`): how
many people entered each stage in the range (``leads``, ``mqls`` …) and the cohort rate from
the previous stage into it (``mql_rate``, ``sales_qualification_rate`` …) with that metric's
window and "earliest of" rule. So the Funnel page equals the scorecard and the API. Over the
whole range a conversion covers the cohorts that have matured (:mod:`.ranges`); per period,
a young cohort is shown and marked immature, as everywhere else.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

from revteam.metrics import MetricSpec
from revteam.metrics.spec import Funnel as FunnelSpec
from revteam.metrics.spec import FunnelStage
from revteam.web.filters import ViewFilters
from revteam.web.views.ranges import Values, groups, over_range
from revteam.workspace import Workspace


@dataclass(frozen=True)
class Cell:
    """One metric's value in one row of the funnel."""

    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    immature: bool = False

    @classmethod
    def of(cls, row: dict[str, Any] | None) -> Cell:
        if row is None:
            return cls()
        return cls(row["value"], row["numerator"], row["denominator"], bool(row["immature"]))


@dataclass(frozen=True)
class StageRow:
    """The funnel for one group (the total, one dimension value, or one period's cohorts)."""

    name: str
    counts: tuple[Cell, ...]
    conversions: tuple[Cell, ...]
    """Conversion into each stage from the one before (the first stage has none)."""
    overall: Cell = Cell()
    period: dt.date | None = None
    age_days: int | None = None

    @property
    def entered(self) -> float:
        return self.counts[0].value or 0.0


@dataclass(frozen=True)
class Funnel:
    stages: tuple[FunnelStage, ...]
    specs: dict[str, MetricSpec]
    overall: str | None
    total: StageRow
    groups: tuple[StageRow, ...]
    cohorts: tuple[StageRow, ...]
    by: str | None
    start: dt.date | None
    end: dt.date
    mature_through: dict[str, dt.date]
    """Last day each conversion is summed to over the range (its newest mature period)."""


def _row(spec: FunnelSpec, values: Values, group: str | None, name: str) -> StageRow:
    counts = tuple(Cell.of(values.get((s.count, group))) for s in spec.stages)
    conversions = tuple(
        Cell.of(values.get((s.conversion, group))) if s.conversion else Cell() for s in spec.stages
    )
    overall = Cell.of(values.get((spec.overall, group))) if spec.overall else Cell()
    return StageRow(name, counts, conversions, overall)


def funnel(ws: Workspace, filters: ViewFilters, as_of: dt.datetime) -> Funnel:
    spec = ws.metrics.catalogue.funnel
    if spec is None:
        raise ValueError("the catalogue defines no funnel")  # the shipped one always does
    metrics = list(spec.metrics)
    fy = ws.settings.fiscal_year_start_month
    start, end = filters.range(as_of.date(), fy)
    where = filters.where_dict() or None
    total = over_range(ws, metrics, filters, start, end, where=where)
    found: tuple[StageRow, ...] = ()
    if filters.by:
        split = over_range(ws, metrics, filters, start, end, by=filters.by, where=where)
        rows = [_row(spec, split, g, g or "(none)") for g in groups(split)]
        found = tuple(sorted(rows, key=lambda r: -r.entered))
    per_period = ws.metrics.query(
        metrics, grain=filters.grain, start=start, end=end, where=where, as_of=as_of
    ).totals()
    by_period: dict[dt.date, Values] = {}
    labels: dict[dt.date, str] = {}
    for r in per_period.to_pylist():
        by_period.setdefault(r["period"], {})[(r["metric"], None)] = r
        labels[r["period"]] = r["period_label"]
    cohorts = []
    for period in sorted(by_period):
        row = _row(spec, by_period[period], None, labels[period])
        after = per_period.query.period_end(period) or end + dt.timedelta(days=1)
        age = (as_of.date() - min(after - dt.timedelta(days=1), as_of.date())).days
        cohorts.append(replace(row, period=period, age_days=age))
    mature = {
        s.conversion: ws.metrics.mature_end(s.conversion, end, grain=filters.grain, as_of=as_of)
        for s in spec.stages
        if s.conversion
    }
    return Funnel(
        stages=spec.stages,
        specs={m: ws.metrics.get(m) for m in metrics},
        overall=spec.overall,
        total=_row(spec, total, None, "All leads"),
        groups=found,
        cohorts=tuple(cohorts),
        by=filters.by,
        start=start,
        end=end,
        mature_through=mature,
    )
