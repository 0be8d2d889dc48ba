"""The campaign table: one row per campaign, its funnel, money and efficiency over the range.

Every number comes from the metric layer by ``campaign`` and is rolled up over the range from
its parts (:mod:`~revteam.web.views.rollup`). Rates with fewer than ``MIN_N`` records are
marked as small samples; rates that differ from the other campaigns beyond chance are marked
higher or lower (:func:`~revteam.web.views.rollup.differences`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from revteam.metrics import MetricSpec
from revteam.stats import MIN_N
from revteam.web.filters import ViewFilters
from revteam.web.views.rollup import Total, differences, rollup
from revteam.workspace import Workspace

COLUMNS: tuple[tuple[str, str], ...] = (
    ("leads", "Leads"),
    ("mqls", "MQLs"),
    ("sales_qualification_rate", "SQR"),
    ("lead_conversion_rate", "Lead conv."),
    ("pipeline_created", "Pipeline"),
    ("revenue", "Revenue"),
    ("marketing_cost", "Cost"),
    ("cost_per_lead", "CPL"),
    ("cac", "CAC"),
    ("marketing_roi", "ROI"),
)
TESTED = ("sales_qualification_rate", "lead_conversion_rate")
"""Rates compared across campaigns (the ones a campaign can move and Sales cares about)."""
NO_CAMPAIGN = "(no campaign)"


@dataclass(frozen=True)
class Cell:
    value: float | None
    n: int | None = None
    numerator: float | None = None
    denominator: float | None = None
    small: bool = False
    signif: int = 0
    immature_left_out: int = 0


@dataclass(frozen=True)
class CampaignRow:
    campaign: str | None
    name: str
    channel: str
    type: str
    cells: dict[str, Cell] = field(default_factory=dict)


@dataclass(frozen=True)
class CampaignTable:
    rows: tuple[CampaignRow, ...]
    total: CampaignRow
    units: dict[str, str]
    owners: dict[str, str]
    labels: dict[str, str]
    start: dt.date | None
    end: dt.date
    ignored: tuple[str, ...]
    """Filter dimensions the table cannot apply (campaign economics reach channel only)."""


def _cell(spec: MetricSpec, total: Total) -> Cell:
    rate = spec.kind in {"ratio", "cohort_rate"} and spec.unit == "percent"
    small = rate and total.value is not None and (total.denominator or 0) < MIN_N
    return Cell(
        total.value, total.n, total.numerator, total.denominator, small, 0, total.immature_left_out
    )


def campaign_table(ws: Workspace, filters: ViewFilters, as_of: dt.date) -> CampaignTable:
    ids = [m for m, _ in COLUMNS]
    reach = set.intersection(*(set(ws.metrics.dimensions(m)) for m in ids))
    where = {d: list(v) for d, v in filters.where if d in reach}
    ignored = tuple(d for d in filters.where_dims if d not in reach)
    start, end = filters.range(as_of, ws.settings.fiscal_year_start_month)
    result = ws.metrics.query(
        ids, by="campaign", grain=filters.grain, start=start, end=end, where=where or None
    )
    groups: dict[tuple[bool, str | None], dict[str, list[dict[str, Any]]]] = {}
    for r in result.to_pylist():
        key = (bool(r["is_total"]), None if r["is_total"] else r["campaign"])
        groups.setdefault(key, {}).setdefault(r["metric"], []).append(r)
    specs = {m: ws.metrics.get(m) for m in ids}
    info = _campaigns(ws)
    totals = {m: rollup(specs[m], groups.get((True, None), {}).get(m, [])) for m in ids}
    rows = []
    for (is_total, campaign), metrics in groups.items():
        if is_total:
            continue
        name, channel, kind = info.get(campaign or "", (NO_CAMPAIGN, "", ""))
        cells = {m: _cell(specs[m], rollup(specs[m], metrics.get(m, []))) for m in ids}
        rows.append(CampaignRow(campaign, name, channel, kind, cells))
    rows = _mark_differences(rows, totals)
    total_cells = {m: _cell(specs[m], totals[m]) for m in ids}
    return CampaignTable(
        rows=tuple(sorted(rows, key=lambda r: (r.campaign is None, r.campaign or ""))),
        total=CampaignRow(None, "All campaigns", "", "", total_cells),
        units={m: specs[m].unit for m in ids},
        owners={m: specs[m].owners for m in ids},
        labels=dict(COLUMNS),
        start=start,
        end=end,
        ignored=ignored,
    )


def _mark_differences(rows: list[CampaignRow], totals: dict[str, Total]) -> list[CampaignRow]:
    for metric in TESTED:
        total = totals[metric]
        if not total.denominator:
            continue
        parts = {}
        for r in rows:
            c = r.cells[metric]
            if r.campaign is not None and c.numerator is not None and c.denominator:
                parts[r.campaign] = (c.numerator, c.denominator)
        found = differences(parts, (total.numerator or 0.0, total.denominator))
        for r in rows:
            diff = found.get(r.campaign or "")
            if diff and diff.direction:
                c = r.cells[metric]
                r.cells[metric] = replace(c, signif=diff.direction)
    return rows


def _campaigns(ws: Workspace) -> dict[str, tuple[str, str, str]]:
    table = ws.warehouse.arrow("SELECT campaign_id, name, channel, type FROM campaigns")
    return {
        r["campaign_id"]: (r["name"] or r["campaign_id"], r["channel"] or "", r["type"] or "")
        for r in table.to_pylist()
    }


def sort_rows(table: CampaignTable, column: str, descending: bool) -> list[CampaignRow]:
    """Rows sorted by a metric column or ``name``; empty values always last."""
    if column == "name":
        return sorted(table.rows, key=lambda r: r.name.lower(), reverse=descending)
    if column not in table.units:
        return list(table.rows)
    filled = [r for r in table.rows if r.cells[column].value is not None]
    empty = [r for r in table.rows if r.cells[column].value is None]
    filled.sort(key=lambda r: r.cells[column].value or 0.0, reverse=descending)
    return filled + empty
