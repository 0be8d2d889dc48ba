"""What is known about a lead at the moment it is scored, and nothing after.

A lead is scored at a moment ``s`` (its creation plus an age, or now). Its features:

- **fit**: who the lead is: persona, channel, campaign, account segment, industry, region and
  the account's size (log employees, log annual revenue). These are the CRM's current values;
  the canonical model keeps no history of them, so a re-segmented account shows its new segment
  for old leads too (docs/scoring.md says so);
- **engagement**: per touch type and per e-mail event type, how many the lead had at or before
  ``s`` and the same count decayed by age (half-life ``[scoring] half_life_days``), the days
  since their last touch, and the lead's age at ``s``.

Every engagement row is compared with the lead's own ``s``: a touch one microsecond after it is
not counted (a test moves touches across the moment to prove it). Sales activities and stage
dates are not features: they are what the score is meant to predict or to steer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from revteam.model import enums

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
US_PER_DAY = 86_400 * 1_000_000

CATEGORICAL = ("persona", "channel", "campaign", "segment", "industry", "region")
"""Fit features that are labels (one-hot encoded by the model)."""
SIZE = ("log_employees", "log_annual_revenue")
TOUCHES = tuple(enums.TOUCHPOINT_TYPES)
EMAILS = ("open", "click")
"""E-mail events that are the lead's doing (sends and deliveries are Marketing's)."""
NUMERIC = (
    *SIZE,
    *(f"touch_{t}" for t in TOUCHES),
    *(f"touch_{t}_decayed" for t in TOUCHES),
    *(f"email_{t}" for t in EMAILS),
    *(f"email_{t}_decayed" for t in EMAILS),
    "days_since_last_touch",
    "age_days",
)
ENGAGEMENT_BLOCK = 1_000_000
"""Output rows whose engagement is counted at once (bounds the event × moment pairs)."""
NO_TOUCH_DAYS = 365.0
"""``days_since_last_touch`` of a lead never touched by the moment (a cap, not a gap)."""


@dataclass(frozen=True)
class Leads:
    """The people who can be scored, with their fit attributes, read once per as-of time."""

    person_id: pa.Array
    created_us: I64
    """Creation, microseconds since the epoch (UTC)."""
    fit: dict[str, pa.Array]
    """CATEGORICAL and SIZE columns, aligned with ``person_id``."""
    touches: _Events
    emails: _Events


@dataclass(frozen=True)
class _Events:
    """Engagement rows of the leads: which lead (row of ``Leads``), what kind, when (µs).

    Sorted by lead.
    """

    lead: I64
    kind: I64
    at_us: I64
    kinds: tuple[str, ...]


def read_leads(metrics: MetricsComponent, as_of: dt.datetime) -> Leads:
    """Every person with their fit attributes and engagement, as the metric layer reads them."""
    people = metrics.relation(
        "people",
        ["person_id", "persona", "account_id", "channel", "first_campaign_id", "created_at"],
        as_of=as_of,
    )
    people = people.filter(pc.is_valid(people.column("created_at"))).sort_by("person_id")
    accounts = metrics.relation(
        "accounts",
        ["account_id", "segment", "industry", "region", "employees", "annual_revenue"],
        as_of=as_of,
    )
    at = pc.index_in(people.column("account_id"), value_set=accounts.column("account_id"))

    def of_account(name: str) -> pa.Array:
        out: pa.Array = accounts.column(name).combine_chunks().take(at)
        return out

    fit: dict[str, pa.Array] = {
        "persona": people.column("persona").combine_chunks(),
        "channel": people.column("channel").combine_chunks(),
        "campaign": people.column("first_campaign_id").combine_chunks(),
        "segment": of_account("segment"),
        "industry": of_account("industry"),
        "region": of_account("region"),
        "log_employees": pc.ln(pc.add(pc.cast(of_account("employees"), pa.float64()), 1.0)),
        "log_annual_revenue": pc.ln(
            pc.add(pc.cast(of_account("annual_revenue"), pa.float64()), 1.0)
        ),
    }
    ids = people.column("person_id").combine_chunks()
    touches = metrics.relation("touchpoints", ["person_id", "type", "occurred_at"], as_of=as_of)
    emails = metrics.relation("email_events", ["person_id", "type", "occurred_at"], as_of=as_of)
    return Leads(
        person_id=ids,
        created_us=_micros(people.column("created_at")),
        fit=fit,
        touches=_events(touches, ids, TOUCHES),
        emails=_events(emails, ids, EMAILS),
    )


def features(leads: Leads, rows: I64, at_us: I64, *, half_life_days: float) -> pa.Table:
    """The features of leads ``rows`` (of ``leads``), each scored at its own ``at_us``.

    One output row per input row (a lead may appear at several moments). Engagement counts
    rows at or before the moment only.
    """
    n = len(rows)
    columns: dict[str, pa.Array | F64] = {
        name: leads.fit[name].take(pa.array(rows)) for name in (*CATEGORICAL, *SIZE)
    }
    last = np.full(n, -np.inf)
    for prefix, events in (("touch", leads.touches), ("email", leads.emails)):
        counts, decayed, latest = _engagement(events, rows, at_us, half_life_days)
        for j, kind in enumerate(events.kinds):
            columns[f"{prefix}_{kind}"] = counts[:, j]
            columns[f"{prefix}_{kind}_decayed"] = decayed[:, j]
        if prefix == "touch":
            last = latest
    since = (at_us - last) / US_PER_DAY
    columns["days_since_last_touch"] = np.where(
        np.isfinite(since), np.minimum(since, NO_TOUCH_DAYS), NO_TOUCH_DAYS
    )
    columns["age_days"] = (at_us - leads.created_us[rows]) / US_PER_DAY
    return pa.table({k: columns[k] for k in (*CATEGORICAL, *NUMERIC)})


def _engagement(
    events: _Events, rows: I64, at_us: I64, half_life_days: float
) -> tuple[F64, F64, F64]:
    """Per output row: counts and decayed counts per kind at or before its moment.

    And the time of the latest such event (−inf without one). Output rows are taken a block at
    a time in lead order (a lead's rows may span two blocks; each gets all of its events, as
    events are sorted by lead), so the event × moment pairs in memory stay bounded however
    many leads there are.
    """
    n, k = len(rows), len(events.kinds)
    counts = np.zeros((n, k))
    decayed = np.zeros((n, k))
    latest = np.full(n, -np.inf)
    # the output rows of each lead: a lead scored at several moments has several
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    for start in range(0, n, ENGAGEMENT_BLOCK):
        block = slice(start, start + ENGAGEMENT_BLOCK)
        mine, block_rows = order[block], sorted_rows[block]
        lo = np.searchsorted(events.lead, block_rows[0], side="left")
        hi = np.searchsorted(events.lead, block_rows[-1], side="right")
        lead, kind, at = events.lead[lo:hi], events.kind[lo:hi], events.at_us[lo:hi]
        first = np.searchsorted(block_rows, lead, side="left")
        repeats = np.searchsorted(block_rows, lead, side="right") - first
        event = np.repeat(np.arange(len(lead)), repeats)
        offset = np.arange(len(event)) - np.repeat(np.cumsum(repeats) - repeats, repeats)
        out_row = np.repeat(first, repeats) + offset  # within the block
        age = at_us[mine[out_row]] - at[event]
        seen = age >= 0  # at or before the moment: never after it
        out_row, event, age = out_row[seen], event[seen], age[seen]
        m = len(block_rows)
        cell = out_row * k + kind[event]
        weight = np.exp2(-(age / US_PER_DAY) / half_life_days)
        counts[mine] = np.bincount(cell, minlength=m * k).reshape(m, k)
        decayed[mine] = np.bincount(cell, weights=weight, minlength=m * k).reshape(m, k)
        last = np.full(m, -np.inf)
        np.maximum.at(last, out_row, at[event].astype(np.float64))
        latest[mine] = last
    return counts, decayed, latest


def _events(table: pa.Table, ids: pa.Array, kinds: tuple[str, ...]) -> _Events:
    lead = pc.index_in(table.column("person_id"), value_set=ids)
    kind = pc.index_in(table.column("type"), value_set=pa.array(kinds))
    keep = pc.and_(
        pc.and_(pc.is_valid(lead), pc.is_valid(kind)), pc.is_valid(table.column("occurred_at"))
    )
    leads = np.asarray(lead.filter(keep).to_numpy(zero_copy_only=False), dtype=np.int64)
    by_lead = np.argsort(leads, kind="stable")  # features take a block of leads at a time
    return _Events(
        lead=leads[by_lead],
        kind=np.asarray(kind.filter(keep).to_numpy(zero_copy_only=False), dtype=np.int64)[by_lead],
        at_us=_micros(table.column("occurred_at").filter(keep))[by_lead],
        kinds=kinds,
    )


def _micros(column: pa.ChunkedArray | pa.Array) -> I64:
    values = pc.cast(pc.cast(column, pa.timestamp("us")), pa.int64())
    out: I64 = np.asarray(values.to_numpy(zero_copy_only=False), dtype=np.int64)
    return out
