"""What was planted in a generated company, and what each KPI should therefore find.

The expected rates are computed analytically from the same parameter grid the samplers draw
from: a cell is (channel, campaign class, persona, segment, AE) with lead weight
``p(channel) p(class | channel) p(persona) p(segment | channel) p(AE)`` and conversion
probabilities ``clip(base * factors)``; the rate of step *j* over a group of cells is
``Σ W_j p_j / Σ W_j`` where ``W_j`` is the weight of the cells' population at step *j* (leads
weighted by the chance of reaching that step). Windowed cohort rates multiply by the lag's
probability of falling inside the window.

Keys of the truth dictionary (all JSON-ready):

``config``, ``start``, ``as_of``, ``currency``, ``company``
    The configuration, first day, as-of moment (ISO) and currency of the data.
``row_counts``
    Rows per table.
``rates``
    ``definitions`` (what each rate key means), then ``overall``, ``by_channel``,
    ``by_segment``, ``by_persona`` and ``by_campaign`` (campaign id → rates), each a mapping of
    rate key → expected value, for leads *not* affected by the planted change. Rate keys:
    ``lead_to_mql``, ``mql_to_sql``, ``sql_to_opportunity``, ``win_rate`` (eventual
    probabilities), ``lead_to_mql_90d``, ``mql_to_sql_60d``, ``sql_to_opportunity_90d``,
    ``disqualification_60d`` (KPIS.md cohort windows), ``lead_to_sql``, ``lead_to_customer``.
    ``win_rate`` is won ÷ closed for the opportunities that people's funnels create.
``mix``
    Shares of leads by channel, persona and region; segment mix of leads by channel; account
    segment shares; campaign shares of the two planted campaigns within their channels.
``lags``
    Per funnel step (``mql``, ``sql``, ``opportunity``, ``disqualified``): ``shift_days``,
    ``mu``, ``sigma`` (log-normal on days after the shift) and ``median_days``.
``close_lags``
    Days from opportunity creation to close, by segment and outcome (``won``/``lost``).
``speed_to_lead``
    ``sigma`` and ``cap_hours`` of the hours from MQL to first sales activity; per-SDR medians
    are under ``reps``.
``reps``
    user id → role, region, and ``speed_to_lead_median_hours`` (SDRs) or
    ``win_rate_multiplier`` and expected ``win_rate`` (AEs).
``deal_size``
    Log-normal ``mu``, ``sigma``, ``median``, ``mean`` of a new deal's annual contract value,
    by segment.
``forecast_categories``
    Deal stage → the CRM forecast category every deal in that stage carries
    (``opportunities.forecast_category``).
``customers``
    ``annual_churn`` by segment, renewal notice and uplift, upsell rate, win probability and
    size; ``repeat_purchases``: BG/NBD (weeks) and Gamma-Gamma parameters of add-on orders.
``disqualification``
    Probability that an MQL who never reaches SQL is disqualified, and the reason shares.
``lead_volume``
    Growth per year, weekday factors, yearly amplitude and peak day, holiday dip, hour weights.
``best_campaign``
    The campaign with the highest true lead→SQL and sales qualification rate: id, name,
    channel, factors and expected rates.
``attribution``
    The channel effects planted in journeys (:mod:`revteam.generate.nurture`): ``conversion``
    (``mql``), ``model`` (the formula) and its ``offset``, ``effects`` (channel → log-odds
    coefficient), ``ordering`` (the channels by planted contribution, largest first) and per
    channel under ``channels``: ``touch_type``, ``reach`` (share of leads with that nurture touch),
    ``reach_if_mql`` and ``reach_if_not_mql`` (of the leads who do and do not become MQLs),
    ``coefficient``, ``odds_ratio``, ``contribution`` (share of MQLs lost if the channel's
    nurture touches were removed: what a Markov removal effect aims at), and
    ``lead_to_mql_reached`` / ``lead_to_mql_not_reached`` (eventual lead→MQL rates of the leads
    it reached and did not, among leads of *other* channels, whose first touch cannot be taken
    for a nurture touch).
``planted_change``
    ``None`` when ``planted_changes`` is false; else the campaign (id, name, channel), the
    metric (``sales_qualification_rate``, 60-day window), ``from`` (first day of the change
    month, MQLs from then on are affected), ``month_index`` (0-based), and the expected
    ``before`` and ``after`` 60-day rates (``eventual_before``/``eventual_after`` too).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pyarrow as pa

from revteam.generate import nurture, params
from revteam.generate._private import Float
from revteam.generate.campaigns import Campaigns
from revteam.generate.config import GeneratorConfig
from revteam.generate.funnel import change_month
from revteam.generate.org import Team
from revteam.generate.timeline import Span
from revteam.model import enums

RATE_DEFINITIONS = {
    "lead_to_mql": "P(lead ever becomes MQL)",
    "mql_to_sql": "P(MQL ever becomes SQL)",
    "sql_to_opportunity": "P(SQL ever becomes an opportunity)",
    "win_rate": "P(opportunity is won | closed)",
    "lead_to_mql_90d": "share of leads that become MQL within 90 days (mql_rate)",
    "mql_to_sql_60d": "share of MQLs that become SQL within 60 days (sales_qualification_rate)",
    "sql_to_opportunity_90d": "share of SQLs that become opportunities within 90 days",
    "disqualification_60d": "share of MQLs disqualified within 60 days (disqualification_rate)",
    "lead_to_sql": "P(lead ever becomes SQL)",
    "lead_to_customer": "P(lead ever wins a deal)",
}


class Grid:
    """Lead weights and conversion probabilities over (channel, class, persona, segment, AE)."""

    def __init__(self, team: Team) -> None:
        base = np.array([v[1:] for v in params.CHANNELS.values()])
        share = np.array([v[0] for v in params.CHANNELS.values()])
        persona = np.array([v[0] for v in params.PERSONAS.values()])
        persona_f = np.array([v[1] for v in params.PERSONAS.values()])
        segment_f = np.array(list(params.SEGMENT_FACTORS.values()))
        mix = np.array(
            [
                params.LEAD_SEGMENT_MIX.get(c, params.DEFAULT_LEAD_SEGMENT_MIX)
                for c in enums.CHANNELS
            ]
        )
        best = enums.CHANNELS.index(params.BEST_CAMPAIGN.channel)
        klass = np.zeros((len(share), 2))
        klass[:, 0] = 1.0
        klass[best] = (1.0 - params.BEST_CAMPAIGN.share, params.BEST_CAMPAIGN.share)
        class_f = np.ones((len(share), 2, 4))
        class_f[best, 1] = params.BEST_CAMPAIGN.factors
        per_region = np.bincount(team.ae_region, minlength=len(enums.REGIONS))
        ae = np.asarray(params.REGION_SHARE)[team.ae_region] / per_region[team.ae_region]
        # axes: channel, class, persona, segment, AE, step
        self.weight: Float = (
            share[:, None, None, None, None]
            * klass[:, :, None, None, None]
            * persona[None, None, :, None, None]
            * mix[:, None, None, :, None]
            * ae[None, None, None, None, :]
        )
        raw = (
            base[:, None, None, None, None, :]
            * class_f[:, :, None, None, None, :]
            * persona_f[None, None, :, None, None, :]
            * segment_f[None, None, None, :, None, :]
            * np.ones((1, 1, 1, 1, len(ae), 1))
        )
        raw[..., 3] *= team.ae_skill[None, None, None, None, :]
        self.p: Float = np.clip(raw, 0.0, 1.0)

    def rates(self, axis: int | None = None, index: int | None = None) -> dict[str, float]:
        """Expected rates over all cells, or over the cells with ``index`` on ``axis``."""
        w, p = self.weight, self.p
        if axis is not None:
            assert index is not None
            w, p = np.take(w, [index], axis=axis), np.take(p, [index], axis=axis)
        return cell_rates(w, p)


def cell_rates(w: Float, p: Float) -> dict[str, float]:
    """Rates of a group of cells from their lead weights ``w`` and step probabilities ``p``."""
    population = [w, w * p[..., 0], w * p[..., 0] * p[..., 1], w * p[..., :3].prod(axis=-1)]
    eventual = [float((population[j] * p[..., j]).sum() / population[j].sum()) for j in range(4)]
    lags, windows = params.LAGS, params.WINDOWS
    dq = float((population[1] * (1 - p[..., 1])).sum() / population[1].sum())
    return {
        "lead_to_mql": eventual[0],
        "mql_to_sql": eventual[1],
        "sql_to_opportunity": eventual[2],
        "win_rate": eventual[3],
        "lead_to_mql_90d": eventual[0] * lags["mql"].cdf(windows["mql"]),
        "mql_to_sql_60d": eventual[1] * lags["sql"].cdf(windows["sql"]),
        "sql_to_opportunity_90d": eventual[2] * lags["opportunity"].cdf(windows["opportunity"]),
        "disqualification_60d": dq
        * params.DISQUALIFY_PROBABILITY
        * lags["disqualified"].cdf(windows["disqualified"]),
        "lead_to_sql": eventual[0] * eventual[1],
        "lead_to_customer": eventual[0] * eventual[1] * eventual[2] * eventual[3],
    }


def expected_rates(team: Team, campaigns: Campaigns, ids: list[str]) -> dict[str, Any]:
    grid = Grid(team)
    by_campaign = {}
    best_rates = _class_rates(grid, params.BEST_CAMPAIGN.channel, 1)
    for row, campaign_id in enumerate(ids):
        channel = enums.CHANNELS[campaigns.channel[row]]
        by_campaign[campaign_id] = (
            best_rates if row == campaigns.best else _class_rates(grid, channel, 0)
        )
    return {
        "definitions": RATE_DEFINITIONS,
        "overall": grid.rates(),
        "by_channel": {c: grid.rates(0, i) for i, c in enumerate(enums.CHANNELS)},
        "by_persona": {p: grid.rates(2, i) for i, p in enumerate(enums.PERSONAS)},
        "by_segment": {s: grid.rates(3, i) for i, s in enumerate(enums.SEGMENTS)},
        "by_campaign": by_campaign,
        "by_ae": {ae: grid.rates(4, i)["win_rate"] for i, ae in enumerate(_ae_ids(team))},
    }


def _class_rates(grid: Grid, channel: str, klass: int) -> dict[str, float]:
    c = enums.CHANNELS.index(channel)
    return cell_rates(
        grid.weight[c : c + 1, klass : klass + 1], grid.p[c : c + 1, klass : klass + 1]
    )


def _ae_ids(team: Team) -> list[str]:
    return [team.user_ids[u] for u in team.ae_user]


def make_truth(
    config: GeneratorConfig,
    span: Span,
    team: Team,
    campaigns: Campaigns,
    tables: dict[str, pa.Table],
) -> dict[str, Any]:
    ids = tables["campaigns"].column("campaign_id").to_pylist()
    rates = expected_rates(team, campaigns, ids)
    return {
        "config": config.to_dict(),
        "start": config.start.isoformat(),
        "as_of": dt.datetime.combine(config.end, dt.time()).isoformat(),
        "currency": config.currency,
        "company": {"name": params.COMPANY_NAME, "domain": params.COMPANY_DOMAIN},
        "row_counts": {name: t.num_rows for name, t in tables.items()},
        "rates": rates,
        "mix": _mix(),
        "lags": {step: lag.as_dict() for step, lag in params.LAGS.items()},
        "close_lags": {
            s: {o: lag.as_dict() for o, lag in g.items()} for s, g in params.CLOSE_LAGS.items()
        },
        "speed_to_lead": {
            "sigma": params.SPEED_TO_LEAD_SIGMA,
            "cap_hours": params.SPEED_TO_LEAD_CAP_HOURS,
        },
        "reps": _reps(team, rates["by_ae"]),
        "deal_size": {
            s: {
                "mu": mu,
                "sigma": sd,
                "median": float(np.exp(mu)),
                "mean": float(np.exp(mu + sd**2 / 2)),
            }
            for s, (mu, sd) in params.DEAL_SIZE.items()
        },
        "forecast_categories": dict(params.STAGE_FORECAST_CATEGORY),
        "customers": _customers(),
        "disqualification": {
            "probability": params.DISQUALIFY_PROBABILITY,
            "reasons": dict(params.DISQUALIFICATION_REASONS),
        },
        "lead_volume": {
            "growth_per_year": params.GROWTH_PER_YEAR,
            "weekday_factors": list(params.WEEKDAY_FACTORS),
            "yearly_amplitude": params.YEARLY_AMPLITUDE,
            "yearly_peak_day": params.YEARLY_PEAK_DAY,
            "holiday_dip": params.HOLIDAY_DIP,
            "hour_weights": list(params.HOUR_WEIGHTS),
        },
        "best_campaign": {
            "campaign_id": ids[campaigns.best],
            "name": campaigns.names[campaigns.best],
            "channel": params.BEST_CAMPAIGN.channel,
            "share_of_channel": params.BEST_CAMPAIGN.share,
            "factors": dict(zip(params.CONVERSIONS, params.BEST_CAMPAIGN.factors, strict=True)),
            "rates": rates["by_campaign"][ids[campaigns.best]],
        },
        "attribution": _attribution(Grid(team)),
        "planted_change": _planted(config, span, campaigns, ids, rates)
        if config.planted_changes
        else None,
    }


def _attribution(grid: Grid) -> dict[str, Any]:
    p, weight = grid.p[..., 0].ravel(), grid.weight.ravel()
    contribution = nurture.removal_effects(p, weight)
    reach = nurture.reach(p, weight)
    channels: dict[str, dict[str, Any]] = {}
    for i, (name, planted) in enumerate(params.NURTURE.items()):
        others = np.ones(grid.weight.shape)
        others[enums.CHANNELS.index(name)] = 0.0  # leads of the channel itself are left out
        reached, missed = nurture.reached_rates(p, weight * others.ravel())
        channels[name] = {
            "touch_type": planted.touch_type,
            "reach": float(reach[i]),
            "reach_if_mql": float(nurture.REACH_IF_MQL[i]),
            "reach_if_not_mql": planted.reach,
            "coefficient": planted.coefficient,
            "odds_ratio": float(np.exp(planted.coefficient)),
            "contribution": float(contribution[i]),
            "lead_to_mql_reached": float(reached[i]),
            "lead_to_mql_not_reached": float(missed[i]),
        }
    return {
        "conversion": "mql",
        "model": "logit P(MQL | x) = logit p - offset + sum_c coefficient_c * x_c, x_c = 1 for "
        "a lead with a nurture touch of channel c between creation and the MQL-tipping touch",
        "offset": nurture.offset(),
        "effects": {name: planted.coefficient for name, planted in params.NURTURE.items()},
        "ordering": sorted(channels, key=lambda c: -channels[c]["contribution"]),
        "channels": channels,
    }


def _planted(
    config: GeneratorConfig, span: Span, campaigns: Campaigns, ids: list[str], rates: dict[str, Any]
) -> dict[str, Any]:
    month = change_month(span)
    before = rates["by_campaign"][ids[campaigns.planted]]
    factor = params.PLANTED_CAMPAIGN.change_factor
    start = span.start + dt.timedelta(days=span.month_start(month))
    return {
        "campaign_id": ids[campaigns.planted],
        "name": campaigns.names[campaigns.planted],
        "channel": params.PLANTED_CAMPAIGN.channel,
        "metric": "sales_qualification_rate",
        "window_days": params.WINDOWS["sql"],
        "from": start.isoformat(),
        "month_index": month,
        "factor": factor,
        "before": before["mql_to_sql_60d"],
        "after": before["mql_to_sql_60d"] * factor,
        "eventual_before": before["mql_to_sql"],
        "eventual_after": before["mql_to_sql"] * factor,
        "share_of_channel": params.PLANTED_CAMPAIGN.share,
    }


def _mix() -> dict[str, Any]:
    return {
        "channel": {c: v[0] for c, v in params.CHANNELS.items()},
        "persona": {p: v[0] for p, v in params.PERSONAS.items()},
        "region": dict(zip(enums.REGIONS, params.REGION_SHARE, strict=True)),
        "account_segment": dict(zip(enums.SEGMENTS, params.ACCOUNT_SEGMENT_SHARE, strict=True)),
        "lead_segment_by_channel": {
            c: dict(
                zip(
                    enums.SEGMENTS,
                    params.LEAD_SEGMENT_MIX.get(c, params.DEFAULT_LEAD_SEGMENT_MIX),
                    strict=True,
                )
            )
            for c in enums.CHANNELS
        },
    }


def _reps(team: Team, ae_win_rates: dict[str, float]) -> dict[str, dict[str, Any]]:
    reps: dict[str, dict[str, Any]] = {}
    for i, u in enumerate(team.sdr_user):
        reps[team.user_ids[u]] = {
            "role": "SDR",
            "region": enums.REGIONS[team.sdr_region[i]],
            "speed_to_lead_median_hours": float(team.sdr_speed_hours[i]),
        }
    for i, u in enumerate(team.ae_user):
        uid = team.user_ids[u]
        reps[uid] = {
            "role": "AE",
            "region": enums.REGIONS[team.ae_region[i]],
            "win_rate_multiplier": float(team.ae_skill[i]),
            "win_rate": ae_win_rates[uid],
        }
    return reps


def _customers() -> dict[str, Any]:
    return {
        "annual_churn": dict(params.ANNUAL_CHURN),
        "renewal_notice_days": params.RENEWAL_NOTICE_DAYS,
        "renewal_uplift": params.RENEWAL_UPLIFT,
        "upsell_rate_per_year": params.UPSELL_RATE_PER_YEAR,
        "upsell_win_probability": params.UPSELL_WIN_PROBABILITY,
        "upsell_size_of_first_contract": {
            "mu": params.UPSELL_SIZE[0],
            "sigma": params.UPSELL_SIZE[1],
        },
        "repeat_purchases": {
            "time_unit": "week",
            "bg_nbd": dict(params.BG_NBD),
            "gamma_gamma": dict(params.GAMMA_GAMMA),
        },
    }
