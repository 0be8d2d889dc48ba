"""The campaign table: one row per campaign, its funnel, money and efficiency over the range.

Every number is the metric layer's value over the whole range by ``campaign``
(``grain="all"``: ratios from summed parts). Cohort rates cover the cohorts that have matured
by the as-of time (the range ends at the newest mature period of the page's grain, the one a
tile headlines), so young cohorts do not drag a campaign's rate down. Rates with fewer than
``MIN_N`` records are marked as small samples; rates that differ from the other campaigns
beyond chance are marked higher or lower (:func:`revteam.stats.differ_from_rest`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

from revteam.metrics import MetricSpec
from revteam.metrics.pages import CAMPAIGN_COLUMNS
from revteam.stats import MIN_N, differ_from_rest
from revteam.web.filters import ViewFilters
from revteam.web.views.ranges import groups, over_range
from revteam.workspace import Workspace

COLUMNS = CAMPAIGN_COLUMNS
TESTED = ("sales_qualification_rate", "lead_conversion_rate")
"""Rates compared across campaigns (the ones a campaign can move and Sales cares about)."""
NO_CAMPAIGN = "(no campaign)"
FDR = 0.05
"""False-discovery rate across the campaigns of one table (Benjamini-Hochberg)."""


@dataclass(frozen=True)
class Cell:
    value: float | None
    n: int | None = None
    numerator: float | None = None
    denominator: float | None = None
    small: bool = False
    signif: int = 0


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
    sourcing: str = ""
    """The catalogue's marketing-sourced rule, in words (what ``marketing_roi`` counts)."""
    model: str = ""
    """The attribution model of the attributed columns (the workspace's)."""
    marketing_channels: tuple[str, ...] = ()
    rule: str = ""

    def why_roi(self, row: CampaignRow) -> str:
        """Why a campaign's ROI is what it is, when it looks wrong (-100% with revenue)."""
        roi, revenue = row.cells["marketing_roi"].value, row.cells["revenue"].value
        if roi is None or roi > -1 + 1e-9 or not revenue:
            return ""
        channel = row.channel or "no channel"
        outside = row.channel and row.channel not in self.marketing_channels
        return (
            f"ROI counts marketing-sourced revenue only (rule {self.rule}); "
            + (
                f"{channel} is not a marketing channel, so none of this campaign's revenue counts"
                if outside
                else "none of this campaign's won deals is marketing-sourced under that rule"
            )
            + f". Attributed ROI credits every campaign a deal's journey touched ({self.model} "
            "model)."
        )


def _cell(spec: MetricSpec, row: dict[str, Any] | None) -> Cell:
    if row is None:
        return Cell(None)
    rate = spec.kind in {"ratio", "cohort_rate"} and spec.unit == "percent"
    small = rate and row["value"] is not None and (row["denominator"] or 0) < MIN_N
    return Cell(row["value"], row["n"], row["numerator"], row["denominator"], small)


def campaign_table(ws: Workspace, filters: ViewFilters, as_of: dt.date) -> CampaignTable:
    ids = [m for m, _ in COLUMNS]
    reach = set.intersection(*(set(ws.metrics.dimensions(m)) for m in ids))
    where = {d: v for d, v in filters.where_dict().items() if d in reach}
    ignored = tuple(d for d in filters.where_dims if d not in reach)
    start, end = filters.range(as_of, ws.settings.fiscal_year_start_month)
    found = over_range(ws, ids, filters, start, end, by="campaign", where=where)
    specs = {m: ws.metrics.get(m) for m in ids}
    info = _campaigns(ws)
    model = ws.settings.attribution.model
    sourcing = ws.metrics.catalogue.sourcing
    rows = []
    for campaign in groups(found):
        name, channel, kind = info.get(campaign, (NO_CAMPAIGN, "", ""))
        cells = {m: _cell(specs[m], found.get((m, campaign))) for m in ids}
        rows.append(CampaignRow(campaign or None, name, channel, kind, cells))
    total_cells = {m: _cell(specs[m], found.get((m, None))) for m in ids}
    rows = _mark_differences(rows, total_cells)
    return CampaignTable(
        rows=tuple(sorted(rows, key=lambda r: (r.campaign is None, r.campaign or ""))),
        total=CampaignRow(None, "All campaigns", "", "", total_cells),
        units={m: specs[m].unit for m in ids},
        owners={m: specs[m].owners for m in ids},
        labels=dict(COLUMNS)
        | {
            "attributed_revenue": f"Attributed revenue ({model})",
            "attributed_roi": f"Attributed ROI ({model})",
        },
        start=start,
        end=end,
        ignored=ignored,
        sourcing=sourcing.describe(),
        model=model,
        marketing_channels=sourcing.marketing_channels,
        rule=sourcing.rule,
    )


def _mark_differences(rows: list[CampaignRow], totals: dict[str, Cell]) -> list[CampaignRow]:
    for metric in TESTED:
        total = totals[metric]
        if not total.denominator:
            continue
        parts = {}
        for r in rows:
            c = r.cells[metric]
            if r.campaign is not None and c.numerator is not None and c.denominator:
                parts[r.campaign] = (c.numerator, c.denominator)
        found = differ_from_rest(parts, (total.numerator or 0.0, total.denominator), alpha=FDR)
        for r in rows:
            direction = found.get(r.campaign or "", 0)
            if direction:
                r.cells[metric] = replace(r.cells[metric], signif=direction)
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
