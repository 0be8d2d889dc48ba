"""Costs: daily campaign spend, marketing overheads, and sales salaries and commissions.

Campaign spend follows each campaign's expected leads times its cost per lead, so cost per lead,
CAC and ROI come out at plausible levels; salaries grow with lead volume (the team is hired as
the company grows) and commissions are a share of last month's bookings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
from numpy.typing import NDArray

from revteam.generate import params
from revteam.generate._private import DAY, Float, build, dates, labels, money, stream
from revteam.generate.campaigns import Campaigns, planned_spend
from revteam.generate.deals import WON, Deals
from revteam.generate.timeline import Span
from revteam.model import enums

SALARY_PER_LEAD = 200.0
"""Sales salaries per month, per lead created that month."""
COMMISSION_RATE = 0.08
TOOLS_SHARE = 0.05
"""Marketing tools per day, as a share of that day's campaign spend."""
AGENCY_PER_LEAD = 10.0
"""Agency retainer over the whole span per lead, paid in equal monthly instalments."""


_TEAM = {t: i for i, t in enumerate(enums.COST_TEAMS)}
_CATEGORY = {c: i for i, c in enumerate(enums.COST_CATEGORIES)}
Part = tuple[NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any], NDArray[Any]]
"""Cost rows as (day, team code, category code, campaign row or -1, amount)."""


def costs_table(
    seed: int, span: Span, n_leads: int, campaigns: Campaigns, deals: Deals
) -> pa.Table:
    rng = stream(seed, "costs")
    planned = planned_spend(campaigns, span, n_leads)  # days * campaigns
    day, campaign = np.nonzero(planned > 0)
    amount = planned[day, campaign] * rng.gamma(10.0, 0.1, len(day))
    channel = [enums.CHANNELS[c] for c in campaigns.channel]
    team_of = np.array([_TEAM["sales" if c == "outbound" else "marketing"] for c in channel])
    category_of = np.array([_CATEGORY[params.CAMPAIGN_CHANNELS[c][1]] for c in channel])
    parts = [
        (day, team_of[campaign], category_of[campaign], campaign, amount),
        _overheads(rng, span, n_leads, planned.sum(axis=1)),
        _commissions(span, deals),
    ]
    day, team, category, campaign, amount = (
        np.concatenate([p[k] for p in parts]) for k in range(5)
    )
    order = np.lexsort((campaign, category, team, day))
    return build(
        "costs",
        {
            "date": dates(day[order], span.epoch_day),
            "team": labels(enums.COST_TEAMS, team[order]),
            "category": labels(enums.COST_CATEGORIES, category[order]),
            "campaign_id": campaigns.ids(campaign[order]),
            "amount": money(np.round(amount[order], 2)),
        },
    )


def _overheads(rng: np.random.Generator, span: Span, n_leads: int, daily_spend: Float) -> Part:
    """Marketing tools (daily), agency retainer and sales salaries (first day of each month)."""
    n_days, firsts = span.n_days, span.month_starts[:-1]
    month_leads = np.add.reduceat(span.lead_weights, firsts) * n_leads
    salaries = month_leads * SALARY_PER_LEAD * rng.normal(1.0, 0.02, len(firsts))
    agency = np.full(len(firsts), AGENCY_PER_LEAD * n_leads / span.months)
    m = len(firsts)
    return (
        np.concatenate([np.arange(n_days, dtype=np.int64), firsts, firsts]),
        np.repeat([_TEAM["marketing"], _TEAM["marketing"], _TEAM["sales"]], [n_days, m, m]),
        np.repeat([_CATEGORY["tools"], _CATEGORY["agency"], _CATEGORY["salaries"]], [n_days, m, m]),
        np.full(n_days + 2 * m, -1, dtype=np.int64),
        np.concatenate([daily_spend * TOOLS_SHARE, agency, salaries]),
    )


def _commissions(span: Span, deals: Deals) -> Part:
    """A share of each month's bookings, paid on the first day of the next month."""
    won = deals.history.stage == WON
    month = span.month_of_day[deals.history.closed[won] // DAY]
    bookings = np.bincount(month, weights=deals.history.amount[won], minlength=span.months)
    paid = span.month_starts[1:-1]  # the last month's commissions fall after the as-of
    amount = bookings[: len(paid)] * COMMISSION_RATE
    keep = np.flatnonzero(amount > 0)
    n = len(keep)
    return (
        paid[keep],
        np.full(n, _TEAM["sales"]),
        np.full(n, _CATEGORY["commissions"]),
        np.full(n, -1, dtype=np.int64),
        amount[keep],
    )
