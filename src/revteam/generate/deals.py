"""Opportunities and their stage history: new business from people, then renewals and upsells.

A person who reached ``opportunity_at`` gets a new-business deal on their account, owned by the
account's AE, whose skill multiplies the win probability. The first won deal makes the account a
customer: it renews every year until it churns (planted annual churn by segment) and buys upsells.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from revteam.generate import params
from revteam.generate._private import (
    DAY,
    MISSING,
    Bool,
    Float,
    Int,
    lag_seconds,
    repeat_index,
    repeat_rows,
    stream,
)
from revteam.generate.campaigns import Campaigns
from revteam.generate.config import GeneratorConfig
from revteam.generate.funnel import People, conversion_factors
from revteam.generate.org import Accounts, Team
from revteam.generate.timeline import Span
from revteam.model import enums

NEW_BUSINESS, UPSELL, RENEWAL = (enums.OPPORTUNITY_TYPES.index(t) for t in enums.OPPORTUNITY_TYPES)
WON, LOST = (
    enums.OPPORTUNITY_STAGES.index("closed_won"),
    enums.OPPORTUNITY_STAGES.index("closed_lost"),
)
YEAR = 365 * DAY
_PROBABILITY = np.array([params.STAGE_PROBABILITY[s] for s in enums.OPPORTUNITY_STAGES])


@dataclass(frozen=True)
class History:
    """Stage history of a batch of deals and each deal's state at the as-of."""

    closed: Int
    stage: Int
    amount: Float
    probability: Float
    rows: Int
    """Deal (row in the batch) of each history row."""
    entered: Int
    row_stage: Int
    row_amount: Float


@dataclass(frozen=True)
class Deals:
    """Every opportunity (sorted by creation), its history, and what it made of people/accounts."""

    account: Int
    person: Int
    type: Int
    channel: Int
    campaign: Int
    owner: Int
    """User row of the owner."""
    created: Int
    expected_close: Int
    """Seconds since start of the forecast close."""
    won: Bool
    lost_reason: Int
    history: History
    customer: Int
    """``customer_at`` of every person (``MISSING`` unless their deal was won)."""
    account_start: Int
    """When each account first became a customer (``MISSING`` if it never did)."""
    account_end: Int
    """End of the contract term each customer did not renew (``MISSING`` if still a customer)."""
    account_value: Float
    account_buyer: Int


def stage_history(
    rng: np.random.Generator,
    created: Int,
    lag: Int,
    won: Bool,
    amount: Float,
    as_of: int,
    lost_at: Int | None = None,
) -> History:
    """Walk deals through the open stages to closed won/lost; cut everything at the as-of.

    Each stage row is entered at least one second after the previous, so ``(deal, entered_at)``
    is unique, and the close comes last.
    """
    n = len(created)
    if lost_at is None:
        lost_at = rng.choice(4, n, p=params.LOST_AT_STAGE)
    close_col = np.where(won, 4, lost_at + 1)
    frac = np.column_stack(
        [
            np.zeros(n),
            rng.uniform(0.1, 0.25, n),
            rng.uniform(0.3, 0.55, n),
            rng.uniform(0.6, 0.85, n),
        ]
    )
    cols = np.arange(5)
    entered = np.empty((n, 5), dtype=np.int64)
    entered[:, :4] = created[:, None] + np.floor(frac * lag[:, None]).astype(np.int64) + cols[:4]
    entered[:, 4] = 0
    closed_at = created + lag + close_col
    entered[np.arange(n), close_col] = closed_at
    stage = np.broadcast_to(cols, (n, 5)).copy()
    stage[np.arange(n), close_col] = np.where(won, WON, LOST)
    drift = np.column_stack(
        [rng.lognormal(0.0, 0.25, n), rng.lognormal(0.0, 0.12, n), np.ones((n, 3))]
    )
    row_amount = np.round(amount[:, None] * drift, 2)
    row_amount[np.arange(n), close_col] = amount
    valid = (cols <= close_col[:, None]) & (entered < as_of)
    last = valid.sum(axis=1) - 1  # every deal exists at the as-of, so its first row is valid
    pick = (np.arange(n), last)
    deal, col = np.nonzero(valid)
    return History(
        closed=np.where(closed_at < as_of, closed_at, MISSING),
        stage=stage[pick],
        amount=row_amount[pick],
        probability=_PROBABILITY[stage[pick]],
        rows=deal.astype(np.int64),
        entered=entered[deal, col],
        row_stage=stage[deal, col],
        row_amount=row_amount[deal, col],
    )


def make_deals(
    config: GeneratorConfig,
    span: Span,
    people: People,
    accounts: Accounts,
    campaigns: Campaigns,
    team: Team,
) -> Deals:
    rng = stream(config.seed, "deals")
    nb = _new_business(rng, span, people, accounts, campaigns, team)
    n_people, n_acc = people.n, accounts.n
    won_closed = nb.won & (nb.history.closed != MISSING)
    customer = np.full(n_people, MISSING, dtype=np.int64)
    customer[nb.person[won_closed]] = nb.history.closed[won_closed]
    # the first won deal per account makes it a customer; deals from its people while it is one
    # are upsells
    order = np.lexsort((nb.history.closed, nb.account))
    order = order[won_closed[order]]
    first = order[np.unique(nb.account[order], return_index=True)[1]]
    start = np.full(n_acc, MISSING, dtype=np.int64)
    start[nb.account[first]] = nb.history.closed[first]
    value = np.zeros(n_acc)
    value[nb.account[first]] = nb.history.amount[first]
    buyer = np.full(n_acc, -1, dtype=np.int64)
    buyer[nb.account[first]] = nb.person[first]
    renewals, end = _renewals(rng, span, accounts, team, start, value, buyer)
    existing = (nb.created > start[nb.account]) & (nb.created < end[nb.account])
    nb = replace(nb, type=np.where(existing, UPSELL, NEW_BUSINESS))
    upsells = _upsells(rng, span, accounts, team, start, end, value, buyer)
    return _combine(
        [nb, renewals, upsells], customer=customer, start=start, end=end, value=value, buyer=buyer
    )


@dataclass(frozen=True)
class _Batch:
    """Deals of one kind, before they are merged and ordered."""

    account: Int
    person: Int
    type: Int
    channel: Int
    campaign: Int
    owner: Int
    created: Int
    expected_close: Int
    won: Bool
    lost_reason: Int
    history: History


_FIELDS: tuple[str, ...] = ("account", "person", "type", "channel", "campaign", "owner")
_FIELDS += ("created", "expected_close", "won", "lost_reason")


def _new_business(
    rng: np.random.Generator,
    span: Span,
    people: People,
    accounts: Accounts,
    campaigns: Campaigns,
    team: Team,
) -> _Batch:
    rows = np.flatnonzero(people.opportunity != MISSING)
    n = len(rows)
    account, segment = people.account[rows], people.segment[rows]
    ae = accounts.owner_ae[account]
    factors = conversion_factors(
        people.channel[rows], people.persona[rows], segment, people.campaign[rows], campaigns
    )
    won = rng.random(n) < np.clip(factors[:, 3] * team.ae_skill[ae], 0.0, 1.0)
    mu_sigma = np.array(
        [[(g[o].mu, g[o].sigma) for o in ("lost", "won")] for g in params.CLOSE_LAGS.values()]
    )
    ms = mu_sigma[segment, won.astype(np.int64)]
    lag = lag_seconds(rng, (ms[:, 0], ms[:, 1]), n)
    deal_size = np.array(list(params.DEAL_SIZE.values()))
    amount = np.round(np.exp(rng.normal(deal_size[segment, 0], deal_size[segment, 1])), 2)
    created = people.opportunity[rows]
    won_median = np.array([g["won"].median_days for g in params.CLOSE_LAGS.values()])
    return _Batch(
        account=account,
        person=rows,
        type=np.zeros(n, dtype=np.int64),
        channel=people.channel[rows],
        campaign=people.campaign[rows],
        owner=team.ae_user[ae],
        created=created,
        expected_close=created + (won_median[segment] * DAY).astype(np.int64),
        won=won,
        lost_reason=rng.integers(0, len(params.LOST_REASONS), n),
        history=stage_history(rng, created, lag, won, amount, span.as_of),
    )


def _renewals(
    rng: np.random.Generator,
    span: Span,
    accounts: Accounts,
    team: Team,
    start: Int,
    value: Float,
    buyer: Int,
) -> tuple[_Batch, Int]:
    """Yearly renewals, created ``RENEWAL_NOTICE_DAYS`` before each anniversary, until churn."""
    customers = np.flatnonzero(start != MISSING)
    churn = np.array(list(params.ANNUAL_CHURN.values()))[accounts.segment[customers]]
    churn_year = rng.geometric(churn)
    end = np.full(accounts.n, MISSING, dtype=np.int64)
    end[customers] = start[customers] + churn_year * YEAR
    notice = params.RENEWAL_NOTICE_DAYS * DAY
    years = np.minimum(churn_year, (span.as_of - start[customers] + notice - 1) // YEAR)
    owner_row, position = repeat_index(years)
    acc_of, k = customers[owner_row], position + 1
    anniversary = start[acc_of] + k * YEAR
    won = k < np.repeat(churn_year, years)
    n = len(acc_of)
    uplift = np.power(1.0 + params.RENEWAL_UPLIFT, k.astype(np.float64))
    amount = np.round(value[acc_of] * uplift, 2)
    created = anniversary - notice
    history = stage_history(
        rng, created, np.full(n, notice - 4), won, amount, span.as_of, np.full(n, 3)
    )
    batch = _Batch(
        account=acc_of,
        person=buyer[acc_of],
        type=np.full(n, RENEWAL, dtype=np.int64),
        channel=np.full(n, -1, dtype=np.int64),
        campaign=np.full(n, -1, dtype=np.int64),
        owner=team.csm_user[acc_of % len(team.csm_user)],
        created=created,
        expected_close=anniversary,
        won=won,
        lost_reason=len(params.LOST_REASONS) + rng.integers(0, len(params.CHURN_REASONS), n),
        history=history,
    )
    return batch, end


def _upsells(
    rng: np.random.Generator,
    span: Span,
    accounts: Accounts,
    team: Team,
    start: Int,
    end: Int,
    value: Float,
    buyer: Int,
) -> _Batch:
    """Upsells at a Poisson rate while the account is a customer."""
    customers = np.flatnonzero(start != MISSING)
    stop = np.minimum(end[customers], span.as_of)
    years = (stop - start[customers]) / YEAR
    count = rng.poisson(params.UPSELL_RATE_PER_YEAR * years)
    row = repeat_rows(count)
    acc_of = customers[row]
    n = len(acc_of)
    created = start[acc_of] + (rng.random(n) * (stop[row] - start[acc_of])).astype(np.int64)
    created = np.maximum(created, start[acc_of] + 1)
    won = rng.random(n) < params.UPSELL_WIN_PROBABILITY
    lag = lag_seconds(rng, params.UPSELL_CLOSE_LAG, n)
    mu, sigma = params.UPSELL_SIZE
    amount = np.round(value[acc_of] * rng.lognormal(mu, sigma, n), 2)
    return _Batch(
        account=acc_of,
        person=buyer[acc_of],
        type=np.full(n, UPSELL, dtype=np.int64),
        channel=np.full(n, -1, dtype=np.int64),
        campaign=np.full(n, -1, dtype=np.int64),
        owner=team.ae_user[accounts.owner_ae[acc_of]],
        created=created,
        expected_close=created + int(params.UPSELL_CLOSE_LAG.median_days * DAY),
        won=won,
        lost_reason=rng.integers(0, len(params.LOST_REASONS), n),
        history=stage_history(rng, created, lag, won, amount, span.as_of),
    )


def _combine(
    batches: list[_Batch], *, customer: Int, start: Int, end: Int, value: Float, buyer: Int
) -> Deals:
    """One set of deals ordered by creation time (so ids ascend with time)."""
    created = np.concatenate([b.created for b in batches])
    order = np.argsort(created, kind="stable")
    new_row = np.empty_like(order)
    new_row[order] = np.arange(len(order))
    offsets = np.cumsum([0] + [len(b.created) for b in batches])
    h = [b.history for b in batches]
    rows = new_row[np.concatenate([x.rows + o for x, o in zip(h, offsets, strict=False)])]
    entered = np.concatenate([x.entered for x in h])
    by_deal = np.lexsort((entered, rows))

    def deal_level(name: str) -> np.ndarray:
        return np.concatenate([getattr(x, name) for x in h])[order]

    def row_level(name: str) -> np.ndarray:
        return np.concatenate([getattr(x, name) for x in h])[by_deal]

    history = History(
        closed=deal_level("closed"),
        stage=deal_level("stage"),
        amount=deal_level("amount"),
        probability=deal_level("probability"),
        rows=rows[by_deal],
        entered=entered[by_deal],
        row_stage=row_level("row_stage"),
        row_amount=row_level("row_amount"),
    )
    merged = {f: np.concatenate([getattr(b, f) for b in batches])[order] for f in _FIELDS}
    return Deals(
        **merged,
        history=history,
        customer=customer,
        account_start=start,
        account_end=end,
        account_value=value,
        account_buyer=buyer,
    )
