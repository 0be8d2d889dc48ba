"""The ``opportunities`` and ``opportunity_stages`` tables from the sampled deals."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revteam.generate import params
from revteam.generate._private import (
    DAY,
    MISSING,
    Column,
    build,
    dates,
    id_width,
    ids,
    labels,
    money,
    timestamps,
)
from revteam.generate.campaigns import Campaigns
from revteam.generate.deals import LOST, WON, Deals
from revteam.generate.funnel import People
from revteam.generate.org import Accounts, Team
from revteam.generate.timeline import Span
from revteam.model import enums

LOST_REASONS = (*params.LOST_REASONS, *params.CHURN_REASONS)
FORECAST_OF_STAGE = np.array(
    [
        enums.FORECAST_CATEGORIES.index(params.STAGE_FORECAST_CATEGORY[s])
        for s in enums.OPPORTUNITY_STAGES
    ]
)
"""Index of each stage's forecast category (by stage index)."""
_TYPE_LABELS = ("New business", "Upsell", "Renewal")


def opportunity_ids(deals: Deals, rows: Column) -> pa.Array:
    """Opportunity ids of deal rows, null where the row is -1."""
    return ids("O", rows, id_width(len(deals.created), 6))


def opportunities_table(
    deals: Deals, people: People, accounts: Accounts, campaigns: Campaigns, team: Team, span: Span
) -> pa.Table:
    h = deals.history
    n = len(deals.created)
    closed = h.closed != MISSING
    name = pc.binary_join_element_wise(
        pc.take(accounts.name, pa.array(deals.account)),
        labels(_TYPE_LABELS, deals.type),
        " - ",
    )
    return build(
        "opportunities",
        {
            "opportunity_id": opportunity_ids(deals, np.arange(n, dtype=np.int64)),
            "account_id": accounts.ids(deals.account),
            "person_id": people.ids(deals.person),
            "name": name,
            "type": labels(enums.OPPORTUNITY_TYPES, deals.type),
            "channel": labels(enums.CHANNELS, np.maximum(deals.channel, 0), deals.channel >= 0),
            "campaign_id": campaigns.ids(deals.campaign),
            "owner_id": labels(team.user_ids, deals.owner),
            "created_at": timestamps(deals.created, span.epoch),
            "expected_close_date": dates(deals.expected_close // DAY, span.epoch_day),
            "closed_at": timestamps(h.closed, span.epoch),
            "stage": labels(enums.OPPORTUNITY_STAGES, h.stage),
            "is_closed": pa.array(closed),
            "is_won": pa.array(h.stage == WON),
            "amount": money(h.amount),
            "probability": pa.array(h.probability, pa.float64()),
            "lost_reason": labels(LOST_REASONS, deals.lost_reason, h.stage == LOST),
            "forecast_category": labels(enums.FORECAST_CATEGORIES, FORECAST_OF_STAGE[h.stage]),
        },
    )


def opportunity_stages_table(deals: Deals, span: Span) -> pa.Table:
    h = deals.history
    probability = np.array([params.STAGE_PROBABILITY[s] for s in enums.OPPORTUNITY_STAGES])
    return build(
        "opportunity_stages",
        {
            "opportunity_id": opportunity_ids(deals, h.rows),
            "entered_at": timestamps(h.entered, span.epoch),
            "stage": labels(enums.OPPORTUNITY_STAGES, h.row_stage),
            "amount": money(h.row_amount),
            "probability": pa.array(probability[h.row_stage], pa.float64()),
        },
    )
