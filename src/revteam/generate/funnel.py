"""People (leads and contacts) and the first time each reached each lifecycle stage.

Each person gets a channel, persona, account (hence segment and region), campaign and SDR; the
eventual probability of each conversion is ``clip(base[channel] * persona * segment * campaign)``
and the delays between stages are (shifted) log-normal. Stages after the as-of are dropped, so
recent cohorts are immature, as in a live CRM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revteam.generate import _words, params
from revteam.generate._private import (
    DAY,
    MISSING,
    Codes,
    Column,
    Float,
    Int,
    after,
    build,
    codes,
    cumulative,
    grouped,
    id_width,
    ids,
    labels,
    lag_seconds,
    pick,
    serial_ids,
    stream,
    timestamps,
    uniform_member,
)
from revteam.generate.campaigns import Campaigns
from revteam.generate.config import GeneratorConfig
from revteam.generate.org import COUNTRY_CODES, Accounts, Team
from revteam.generate.timeline import Span
from revteam.model import enums

SOURCE_LABELS: tuple[str, ...] = tuple(s for c in enums.CHANNELS for s, _ in params.SOURCES[c])
SOURCE_CHANNEL: Int = np.array(
    [i for i, c in enumerate(enums.CHANNELS) for _ in params.SOURCES[c]], dtype=np.int64
)
_SOURCE_OFFSET = np.cumsum([0] + [len(params.SOURCES[c]) for c in enums.CHANNELS])
DISQUALIFICATION_REASONS = tuple(params.DISQUALIFICATION_REASONS)


@dataclass(frozen=True)
class People:
    """Person attributes and stage times (seconds since start, ``MISSING`` if not reached)."""

    created: Int
    mql: Int
    sql: Int
    opportunity: Int
    disqualified: Int
    disqualification_reason: Codes
    channel: Codes
    source: Codes
    persona: Codes
    segment: Codes
    account: Codes
    campaign: Codes
    sdr: Codes
    first_name: Codes
    last_name: Codes
    title: Codes
    lower_company: np.ndarray
    """People who typed their company name in lower case, as real form fills do."""
    p_mql: Float
    """Planted chance of ever becoming an MQL, from channel, persona, segment and campaign."""
    p_sql: Float
    """Planted chance of an MQL ever becoming an SQL (with the planted campaign change)."""

    @property
    def n(self) -> int:
        return len(self.created)

    @property
    def width(self) -> int:
        return id_width(self.n, 7)

    def ids(self, rows: Column) -> pa.Array:
        """Person ids of person rows, null where the row is -1."""
        return ids("P", rows, self.width)


def change_start(span: Span) -> int:
    """Second at which the planted change starts: the first day of the change month."""
    return span.month_start(change_month(span)) * DAY


def change_month(span: Span) -> int:
    return max(1, round(span.months * params.PLANTED_CHANGE_AT))


def make_people(
    config: GeneratorConfig, span: Span, accounts: Accounts, campaigns: Campaigns, team: Team
) -> People:
    rng = stream(config.seed, "people")
    created = _created(rng, config.n_leads, span)
    n = len(created)
    channel = rng.choice(len(enums.CHANNELS), n, p=[v[0] for v in params.CHANNELS.values()])
    persona = rng.choice(len(enums.PERSONAS), n, p=[v[0] for v in params.PERSONAS.values()])
    mixes = [
        params.LEAD_SEGMENT_MIX.get(c, params.DEFAULT_LEAD_SEGMENT_MIX) for c in enums.CHANNELS
    ]
    segment = pick(rng, cumulative(mixes), channel)
    account = uniform_member(rng, *grouped(accounts.segment, len(enums.SEGMENTS)), segment)
    region = accounts.region[account]
    sdr = uniform_member(rng, *grouped(team.sdr_region, len(enums.REGIONS)), region)
    campaign = campaigns.choose(rng, channel, created // DAY)
    shares = [[w for _, w in params.SOURCES[c]] for c in enums.CHANNELS]
    source = _SOURCE_OFFSET[channel] + pick(rng, cumulative(shares), channel)
    title = pick(rng, cumulative([[1.0] * len(_words.TITLES[p]) for p in enums.PERSONAS]), persona)
    first_name = rng.integers(0, len(_words.FIRST_NAMES), n)
    last_name = rng.integers(0, len(_words.LAST_NAMES), n)

    stages = _stage_times(config, span, created, channel, persona, segment, campaign, campaigns)
    return People(
        created=created,
        channel=codes(channel, len(enums.CHANNELS)),
        source=codes(source, len(SOURCE_LABELS)),
        persona=codes(persona, len(enums.PERSONAS)),
        segment=codes(segment, len(enums.SEGMENTS)),
        account=codes(account, accounts.n),
        campaign=codes(campaign, campaigns.n),
        sdr=codes(sdr, len(team.sdr_user)),
        first_name=codes(first_name, len(_words.FIRST_NAMES)),
        last_name=codes(last_name, len(_words.LAST_NAMES)),
        title=codes(title, max(len(t) for t in _words.TITLES.values())),
        lower_company=rng.random(n) < 0.05,
        **stages,
    )


def _created(rng: np.random.Generator, n: int, span: Span) -> Int:
    """Creation times: days drawn from the lead intensity, then a business-hours time of day."""
    per_day = rng.multinomial(n, span.lead_weights)
    day = np.repeat(np.arange(span.n_days, dtype=np.int64), per_day)
    hours = np.asarray(params.HOUR_WEIGHTS, dtype=np.float64)
    hour = rng.choice(24, n, p=hours / hours.sum())
    day *= DAY
    day += hour * 3600
    day += rng.integers(0, 3600, n)
    day.sort()
    return day


def conversion_factors(
    channel: Int, persona: Int, segment: Int, campaign: Int, campaigns: Campaigns
) -> Float:
    """Unclipped ``base * persona * segment * campaign`` per person and conversion (n * 4)."""
    grid, cell = _factor_cells(channel, persona, segment, campaign, campaigns)
    factors: Float = grid[cell]
    return factors


def _factor_cells(
    channel: Int, persona: Int, segment: Int, campaign: Int, campaigns: Campaigns
) -> tuple[Float, Int]:
    """``conversion_factors`` of every (channel, persona, segment, campaign) and each person's cell.

    The products are the same (the same factors multiplied in the same order), made once per
    cell (tens of thousands) rather than once per person (millions).
    """
    base = np.array([v[1:] for v in params.CHANNELS.values()])
    persona_f = np.array([v[1] for v in params.PERSONAS.values()])
    segment_f = np.array(list(params.SEGMENT_FACTORS.values()))
    campaign_f = np.vstack([campaigns.factors(), np.ones((1, len(params.CONVERSIONS)))])
    grid = (
        base[:, None, None, None, :]
        * persona_f[None, :, None, None, :]
        * segment_f[None, None, :, None, :]
        * campaign_f[None, None, None, :, :]
    )
    shape = grid.shape[:4]
    row = campaign.astype(np.int64) % shape[3]  # -1 (no campaign) is the last, all-ones row
    cell = np.ravel_multi_index((channel, persona, segment, row), shape)
    return grid.reshape(-1, grid.shape[4]), cell


def _stage_times(
    config: GeneratorConfig,
    span: Span,
    created: Int,
    channel: Int,
    persona: Int,
    segment: Int,
    campaign: Int,
    campaigns: Campaigns,
) -> dict[str, Any]:
    rng = stream(config.seed, "people.funnel")
    n, as_of, lags = len(created), span.as_of, params.LAGS
    grid, cell = _factor_cells(channel, persona, segment, campaign, campaigns)
    p = [column[cell] for column in np.clip(grid, 0.0, 1.0).T]  # per person and conversion
    u = rng.random((n, 4))
    mql = after(created, lag_seconds(rng, lags["mql"], n), u[:, 0] < p[0], as_of)
    affected = (campaign == campaigns.planted) & (mql != MISSING) & (mql >= change_start(span))
    if not config.planted_changes:
        affected[:] = False
    p_sql = p[1] * np.where(affected, params.PLANTED_CAMPAIGN.change_factor, 1.0)
    # for the planted chances: a lead not yet an MQL counts as affected from the change on
    later = (campaign == campaigns.planted) & (mql == MISSING) & (created >= change_start(span))
    if not config.planted_changes:
        later[:] = False
    planted_sql = np.clip(
        np.where(later, p[1] * params.PLANTED_CAMPAIGN.change_factor, p_sql), 0.0, 1.0
    )
    qualifies = u[:, 1] < p_sql
    sql = after(mql, lag_seconds(rng, lags["sql"], n), qualifies, as_of)
    opportunity = after(sql, lag_seconds(rng, lags["opportunity"], n), u[:, 2] < p[2], as_of)
    dropped = ~qualifies & (u[:, 3] < params.DISQUALIFY_PROBABILITY)
    disqualified = after(mql, lag_seconds(rng, lags["disqualified"], n), dropped, as_of)
    reasons = list(params.DISQUALIFICATION_REASONS.values())
    reason = pick(rng, cumulative([reasons]), np.zeros(n, dtype=np.int64))
    reason[disqualified == MISSING] = -1
    reason = codes(reason, len(reasons))
    return {
        "mql": mql,
        "sql": sql,
        "opportunity": opportunity,
        "disqualified": disqualified,
        "disqualification_reason": reason,
        "p_mql": p[0],
        "p_sql": planted_sql,
    }


def people_table(
    people: People, customer: Int, accounts: Accounts, team: Team, campaigns: Campaigns, span: Span
) -> pa.Table:
    first = labels(_words.FIRST_NAMES, people.first_name)
    last = labels(_words.LAST_NAMES, people.last_name)
    title_offsets = np.cumsum([0] + [len(_words.TITLES[p]) for p in enums.PERSONAS])
    all_titles = [t for p in enums.PERSONAS for t in _words.TITLES[p]]
    return build(
        "people",
        {
            "person_id": serial_ids("P", people.n, people.width),
            "email": _emails(people, accounts),
            "first_name": first,
            "last_name": last,
            "title": labels(all_titles, title_offsets[people.persona] + people.title),
            "persona": labels(enums.PERSONAS, people.persona),
            "account_id": accounts.ids(people.account),
            "company_name": _company_names(people, accounts),
            "channel": labels(enums.CHANNELS, people.channel),
            "source_detail": labels(SOURCE_LABELS, people.source),
            "first_campaign_id": campaigns.ids(people.campaign),
            "owner_id": labels(team.user_ids, team.sdr_user[people.sdr]),
            "region": labels(enums.REGIONS, accounts.region[people.account]),
            "country": labels(COUNTRY_CODES, accounts.country[people.account]),
            "created_at": timestamps(people.created, span.epoch),
            "mql_at": timestamps(people.mql, span.epoch),
            "sql_at": timestamps(people.sql, span.epoch),
            "opportunity_at": timestamps(people.opportunity, span.epoch),
            "customer_at": timestamps(customer, span.epoch),
            "disqualified_at": timestamps(people.disqualified, span.epoch),
            "disqualification_reason": labels(
                DISQUALIFICATION_REASONS,
                np.maximum(people.disqualification_reason, 0),
                people.disqualification_reason >= 0,
            ),
        },
    )


def _emails(people: People, accounts: Accounts) -> pa.Array:
    """``first.last@domain`` in lower case.

    Made from the few thousand ``first.last@`` of every pair of names and the accounts' domains
    (already lower case), rather than by joining and lower-casing millions of strings.
    """
    pairs = [f"{first}.{last}@" for first in _words.FIRST_NAMES for last in _words.LAST_NAMES]
    pair = people.first_name.astype(np.int64) * len(_words.LAST_NAMES) + people.last_name
    local = pc.take(pc.utf8_lower(pa.array(pairs, pa.string())), pa.array(pair))
    domain = pc.take(accounts.domain, pa.array(people.account))
    return pc.binary_join_element_wise(local, domain, "")


def _company_names(people: People, accounts: Accounts) -> pa.Array:
    """The account's name as typed: in lower case for people with ``lower_company``."""
    names = pa.concat_arrays([accounts.name, pc.utf8_lower(accounts.name)])
    return pc.take(names, pa.array(people.account + accounts.n * people.lower_company))
