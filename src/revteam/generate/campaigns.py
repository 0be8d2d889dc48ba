"""Campaigns: always-on programmes per channel, the two planted campaigns and time-boxed flights."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from revteam.generate import params
from revteam.generate._private import (
    Column,
    Float,
    Int,
    blocks,
    build,
    dates,
    id_width,
    ids,
    money,
    serial_ids,
)
from revteam.generate.timeline import Span
from revteam.model import enums

_TOPICS = (
    "Pipeline playbook",
    "Benchmark report",
    "Product launch",
    "Board-ready metrics",
    "Attribution 101",
    "RevOps summit",
    "Forecasting clinic",
    "Q4 push",
    "Spring promotion",
    "Customer stories",
)


@dataclass(frozen=True)
class Campaigns:
    """Campaign attributes as arrays; row i is campaign ``C…{i + 1}``."""

    channel: Int
    start_day: Int
    end_day: Int
    """Last active day (inclusive); at or after the span's end means still running."""
    weight: Float
    """Relative pull among the channel's campaigns that have no fixed share."""
    anchor: Float
    """Fixed share of the channel's leads (the planted campaigns), else 0."""
    parent: Int
    names: tuple[str, ...]
    cost_factor: Float
    """Each campaign's cost per lead relative to its channel's target."""
    best: int
    planted: int
    n_days: int
    share: Float = field(repr=False)
    """P(campaign | its channel, day): days * campaigns."""

    @property
    def n(self) -> int:
        return len(self.channel)

    @property
    def width(self) -> int:
        return id_width(self.n, 3)

    def ids(self, rows: Column) -> pa.Array:
        """Campaign ids of campaign rows, null where the row is -1."""
        return ids("C", rows, self.width)

    def factors(self) -> Float:
        """Multipliers on each conversion (campaigns * 4); 1 except the best campaign."""
        out = np.ones((self.n, len(params.CONVERSIONS)))
        out[self.best] = params.BEST_CAMPAIGN.factors
        return out

    def choose(self, rng: np.random.Generator, channel: Int, day: Int) -> Int:
        """A campaign for each (channel, day), drawn from ``share``; -1 for channels without."""
        out = np.full(len(channel), -1, dtype=np.int64)
        lookups = [self._lookup(c) for c in np.unique(self.channel)]
        for start, stop in blocks(len(channel)):  # the same draws, a block at a time
            u = rng.random(stop - start)
            channels, days, chosen = channel[start:stop], day[start:stop], out[start:stop]
            for c, columns, flat in lookups:
                rows = np.flatnonzero(channels == c)
                d = days[rows]
                pos = np.searchsorted(flat, d + u[rows], side="right") - d * len(columns)
                chosen[rows] = columns[np.minimum(pos, len(columns) - 1)]
        return out

    def _lookup(self, channel: int) -> tuple[int, Int, Float]:
        """The channel's campaigns, and all days' cumulative shares in one sorted array.

        Day d's shares are shifted into [d, d + 1], so one search finds a (day, draw)'s campaign.
        """
        columns = np.flatnonzero(self.channel == channel)
        cum = np.cumsum(self.share[:, columns], axis=1)
        cum[:, -1] = 1.0
        return channel, columns, (cum + np.arange(self.n_days)[:, None]).ravel()


def make_campaigns(rng: np.random.Generator, n_campaigns: int, span: Span) -> Campaigns:
    channels = list(params.CAMPAIGN_CHANNELS)
    D = span.n_days
    rows: list[tuple[int, int, int, float, float, int, str]] = []
    for c in channels:  # always-on programmes, started before the span
        label = c.replace("_", " ").capitalize()
        rows.append(
            (_ch(c), -int(rng.integers(30, 365)), 10**6, 1.0, 0.0, -1, f"{label} - always on")
        )
    program = {c: i for i, c in enumerate(channels)}
    planted, best = params.PLANTED_CAMPAIGN.channel, params.BEST_CAMPAIGN.channel
    rows.append(
        (
            _ch(planted),
            -200,
            10**6,
            0.0,
            params.PLANTED_CAMPAIGN.share,
            program[planted],
            "Paid social - retargeting",
        )
    )
    rows.append(
        (
            _ch(best),
            -120,
            10**6,
            0.0,
            params.BEST_CAMPAIGN.share,
            program[best],
            "Webinar - customer stories series",
        )
    )
    flights = []
    for c, count in _allocate(n_campaigns - len(rows)).items():
        low, high = params.FLIGHT_DAYS[c]
        for _ in range(count):
            length = min(int(rng.integers(low, high + 1)), D)
            start = int(rng.integers(0, D - length + 1))
            tiny = rng.random() < 0.3
            big = c in ("events", "webinar")
            weight = 0.05 if tiny else float(rng.uniform(5, 20) if big else rng.uniform(0.3, 1.2))
            flights.append((start, _ch(c), length, weight, c))
    flights.sort(key=lambda f: (f[0], f[1]))
    for k, (start, ch, length, weight, c) in enumerate(flights):
        when = span.start + dt.timedelta(days=start)
        name = f"{c.replace('_', ' ').capitalize()} - {_TOPICS[k % len(_TOPICS)]} {when:%b %Y}"
        rows.append((ch, start, start + length - 1, weight, 0.0, program[c], name))
    channel = np.array([r[0] for r in rows], dtype=np.int64)
    start_day = np.array([r[1] for r in rows], dtype=np.int64)
    end_day = np.array([r[2] for r in rows], dtype=np.int64)
    pull = np.array([r[3] for r in rows], dtype=np.float64)
    anchor = np.array([r[4] for r in rows], dtype=np.float64)
    return Campaigns(
        channel=channel,
        start_day=start_day,
        end_day=end_day,
        weight=pull,
        anchor=anchor,
        parent=np.array([r[5] for r in rows], dtype=np.int64),
        names=tuple(r[6] for r in rows),
        cost_factor=rng.lognormal(0.0, 0.25, len(rows)),
        best=len(channels) + 1,
        planted=len(channels),
        n_days=D,
        share=_share_matrix(channel, start_day, end_day, pull, anchor, D),
    )


def _ch(channel: str) -> int:
    return enums.CHANNELS.index(channel)


def _allocate(n: int) -> dict[str, int]:
    """Split ``n`` flights over channels by ``FLIGHT_WEIGHTS`` (largest remainder, stable)."""
    weights = params.FLIGHT_WEIGHTS
    total = sum(weights.values())
    exact = {c: n * w / total for c, w in weights.items()}
    out = {c: int(v) for c, v in exact.items()}
    by_remainder = sorted(weights, key=lambda c: (-(exact[c] - out[c]), list(weights).index(c)))
    for c in by_remainder[: n - sum(out.values())]:
        out[c] += 1
    return out


def _share_matrix(
    channel: Int, start: Int, end: Int, weight: Float, anchor: Float, n_days: int
) -> Float:
    day = np.arange(n_days)[:, None]
    active = (day >= start) & (day <= end)
    pull = weight * active
    share = np.zeros((n_days, len(channel)))
    for c in np.unique(channel):
        cols = channel == c
        free = 1.0 - anchor[cols].sum()
        share[:, cols] = anchor[cols] + free * pull[:, cols] / pull[:, cols].sum(
            axis=1, keepdims=True
        )
    return share


def campaigns_table(campaigns: Campaigns, span: Span, n_leads: int) -> pa.Table:
    running = campaigns.end_day >= span.n_days
    channel_names = [enums.CHANNELS[c] for c in campaigns.channel]
    return build(
        "campaigns",
        {
            "campaign_id": serial_ids("C", campaigns.n, campaigns.width),
            "name": pa.array(campaigns.names, pa.string()),
            "channel": pa.array(channel_names, pa.string()),
            "type": pa.array([params.CAMPAIGN_CHANNELS[c][0] for c in channel_names], pa.string()),
            "parent_id": campaigns.ids(campaigns.parent),
            "start_date": dates(campaigns.start_day, span.epoch_day),
            "end_date": dates(np.minimum(campaigns.end_day, span.n_days), span.epoch_day, ~running),
            "budget": money(np.round(planned_spend(campaigns, span, n_leads).sum(axis=0), -2)),
        },
    )


def planned_spend(campaigns: Campaigns, span: Span, n_leads: int) -> Float:
    """Expected spend per day and campaign (days * campaigns): expected leads * cost per lead."""
    channel_names = [enums.CHANNELS[c] for c in campaigns.channel]
    share = np.array([params.CHANNELS[c][0] for c in channel_names])
    cpl = np.array([params.CAMPAIGN_CHANNELS[c][2] for c in channel_names]) * campaigns.cost_factor
    leads = n_leads * span.lead_weights[:, None] * share * campaigns.share
    spend: Float = leads * cpl
    return spend
