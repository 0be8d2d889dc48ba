"""The lead funnel: lead → MQL → SQL → opportunity → customer, for the leads of a date range.

The population is the leads *created* in the range (a cohort), so every step divides people by
people of the same cohort. A stage counts as reached when its timestamp is set and not after the
as-of time. Young cohorts have not had time to reach the late stages: the cohort view marks each
(cohort, stage) cell whose cohort is younger than that stage's conversion window, taken from the
workspace's settings (the windows of the matching cohort KPIs).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revteam.metrics import periods
from revteam.web.filters import ViewFilters
from revteam.web.views import relations as rel
from revteam.workspace import Workspace

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

STAGES: tuple[tuple[str, str, str, str], ...] = (
    ("lead", "created_at", "Leads", "marketing"),
    ("mql", "mql_at", "MQLs", "marketing"),
    ("sql", "sql_at", "SQLs", "shared"),
    ("opportunity", "opportunity_at", "Opportunities", "sales"),
    ("customer", "customer_at", "Customers", "sales"),
)
"""Stage id, people column, label, and the team that owns moving people *into* the stage."""


def stage_windows(windows: dict[str, int]) -> dict[str, int]:
    """Days after lead creation by which each stage is normally reached (settings' windows)."""
    mql = windows["mql_rate"]
    return {
        "lead": 0,
        "mql": mql,
        "sql": mql + windows["sales_qualification_rate"],
        "opportunity": windows["lead_conversion_rate"],
        "customer": windows["lead_to_customer_rate"],
    }


@dataclass(frozen=True)
class StageRow:
    """Counts per stage for one group (the total, or one dimension value, or one cohort)."""

    name: str
    counts: tuple[int, ...]
    days: tuple[float | None, ...] = ()
    """Median days from the previous stage (``days[0]`` is always ``None``)."""
    period: dt.date | None = None
    age_days: int | None = None
    immature: tuple[bool, ...] = ()

    def step(self, i: int) -> float | None:
        return self.counts[i] / self.counts[i - 1] if i and self.counts[i - 1] else None

    def cumulative(self, i: int) -> float | None:
        return self.counts[i] / self.counts[0] if self.counts[0] else None


@dataclass(frozen=True)
class Funnel:
    total: StageRow
    groups: tuple[StageRow, ...]
    cohorts: tuple[StageRow, ...]
    by: str | None
    start: dt.date | None
    end: dt.date
    windows: dict[str, int]


def _aggregates(t: ir.Table, as_of: dt.datetime) -> dict[str, Any]:
    import ibis

    cut = ibis.literal(as_of, type="timestamp")
    out: dict[str, Any] = {}
    for i, (stage, column, _, _) in enumerate(STAGES):
        reached = t[column].notnull() & (t[column] <= cut)
        out[f"n_{stage}"] = t.count(where=reached)
        if i:
            prev = STAGES[i - 1][1]
            both = reached & t[prev].notnull()
            seconds = t[column].epoch_seconds() - t[prev].epoch_seconds()
            out[f"d_{stage}"] = (seconds / 86400.0).median(where=both)
    return out


def _row(name: str, r: dict[str, Any], **extra: Any) -> StageRow:
    counts = tuple(int(r[f"n_{s}"] or 0) for s, _, _, _ in STAGES)
    days = (None, *(r[f"d_{s}"] for s, _, _, _ in STAGES[1:]))
    return StageRow(name, counts, days, **extra)


def funnel(ws: Workspace, filters: ViewFilters, as_of: dt.datetime) -> Funnel:
    people = rel.tables()("people")
    dims = [*filters.where_dims, *([filters.by] if filters.by else [])]
    rel.check_dims("people", dims, "funnel")
    t, columns = rel.attach(people, "people", dims)
    t = rel.where(t, columns, filters.where)
    fy = ws.settings.fiscal_year_start_month
    start, end = filters.range(as_of.date(), fy)
    t = t.filter(*rel.in_range(t, "people", "created_at", start, end))

    def run(expr: ir.Table) -> pa.Table:
        return rel.run(ws, expr)

    aggs = _aggregates(t, as_of)
    total = _row("All leads", run(t.aggregate(**aggs)).to_pylist()[0])
    groups: tuple[StageRow, ...] = ()
    if filters.by:
        g = t.mutate(_group=t[columns[filters.by]])
        found = run(g.group_by("_group").aggregate(**_aggregates(g, as_of))).to_pylist()
        found.sort(key=lambda r: -int(r["n_lead"] or 0))
        groups = tuple(
            _row(str(r["_group"]) if r["_group"] is not None else "(none)", r) for r in found
        )
    windows = stage_windows(ws.settings.conversion_windows)
    c = t.mutate(_period=periods.truncate(t.created_at, filters.grain, fy))
    found = run(c.group_by("_period").aggregate(**_aggregates(c, as_of))).to_pylist()
    cohorts = []
    for r in sorted(found, key=lambda r: r["_period"]):
        last_day = periods.end(r["_period"], filters.grain) - dt.timedelta(days=1)
        age = (as_of.date() - min(last_day, as_of.date())).days
        immature = tuple(age < windows[s] for s, _, _, _ in STAGES)
        label = periods.label(r["_period"], filters.grain, fy)
        cohorts.append(_row(label, r, period=r["_period"], age_days=age, immature=immature))
    return Funnel(total, groups, tuple(cohorts), filters.by, start, end, windows)
