"""The Marketing↔Sales SLA on one page: Marketing's MQL volume, Sales' follow-up, by rep.

Every number is the metric layer's: the tiles are the scorecard's (with their goals), the rep
table the SLA metrics over the page's range by ``owner`` (``grain="all"``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from revteam.metrics.pages import SLA_MARKETING, SLA_SALES
from revteam.stats import MIN_N
from revteam.web.filters import ViewFilters
from revteam.web.views.ranges import groups, over_range
from revteam.workspace import Workspace

MARKETING_SIDE = SLA_MARKETING
"""What Marketing commits to: the volume of MQLs."""
SALES_SIDE = SLA_SALES
"""What Sales commits to: working those MQLs fast."""
REP_COLUMNS = ("mqls", *SALES_SIDE)


@dataclass(frozen=True)
class RepRow:
    owner: str
    values: dict[str, float | None]
    n: int
    small: bool
    """Fewer than ``MIN_N`` MQLs: the rates are shown but not to be compared."""


@dataclass(frozen=True)
class RepTable:
    rows: tuple[RepRow, ...]
    start: dt.date | None
    end: dt.date


def reps(ws: Workspace, filters: ViewFilters, as_of: dt.date) -> RepTable:
    """The SLA metrics per rep (``owner``) over the page's range, most MQLs first."""
    start, end = filters.range(as_of, ws.settings.fiscal_year_start_month)
    found = over_range(
        ws, REP_COLUMNS, filters, start, end, by="owner", where=filters.where_dict() or None
    )
    rows = []
    for owner in groups(found):
        values = {m: (found.get((m, owner)) or {}).get("value") for m in REP_COLUMNS}
        n = int((found.get(("mqls", owner)) or {}).get("value") or 0)
        rows.append(RepRow(owner or "(no owner)", values, n, n < MIN_N))
    rows.sort(key=lambda r: (-r.n, r.owner))
    return RepTable(tuple(rows), start, end)
