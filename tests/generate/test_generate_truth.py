"""The planted parameters are recoverable: KPIs computed here in SQL match ``truth``.

Empirical rates use only mature cohorts (entered at least the window before the as-of) and are
compared with the generator's analytic expectation within 4 standard errors.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from revteam.generate import params
from revteam.model import enums

WINDOWED = {
    # truth key: (cohort column, reached column, window days)
    "lead_to_mql_90d": ("created_at", "mql_at", 90),
    "mql_to_sql_60d": ("mql_at", "sql_at", 60),
    "sql_to_opportunity_90d": ("sql_at", "opportunity_at", 90),
    "disqualification_60d": ("mql_at", "disqualified_at", 60),
}


def close_enough(p_hat: float, p: float, n: int, sigmas: float = 4.0) -> bool:
    return abs(p_hat - p) <= sigmas * math.sqrt(max(p * (1 - p), 1e-9) / n) + 1e-9


def unaffected(truth) -> str:
    """MQLs whose qualification the planted change did not touch (truth excludes them)."""
    change = truth["planted_change"]
    if change is None:
        return "TRUE"
    return (
        f"(first_campaign_id IS DISTINCT FROM '{change['campaign_id']}' "
        f"OR mql_at < TIMESTAMP '{change['from']}')"
    )


def cohort_rates(db, truth, key: str, by: str) -> list[tuple[str, int, float]]:
    start, reached, window = WINDOWED[key]
    return db.rows(
        f"""SELECT {by}, count(*), avg(CASE WHEN {reached} <= {start} + INTERVAL {window} DAY
                                        THEN 1 ELSE 0 END)
            FROM (SELECT people.*, accounts.segment FROM people JOIN accounts USING (account_id))
            WHERE {start} <= TIMESTAMP '{truth["as_of"]}' - INTERVAL {window} DAY
              AND {unaffected(truth) if start == "mql_at" else "TRUE"}
            GROUP BY 1"""
    )


@pytest.mark.parametrize("key", list(WINDOWED))
@pytest.mark.parametrize("by", ["channel", "segment", "persona"])
def test_cohort_rates_recover_the_planted_rates(company, db, key, by):
    expected = company.truth["rates"][f"by_{by}"]
    found = cohort_rates(db, company.truth, key, by)
    assert {g for g, _, _ in found} == set(expected)
    misses = [
        (g, n, round(p_hat, 4), round(expected[g][key], 4))
        for g, n, p_hat in found
        if not close_enough(p_hat, expected[g][key], n)
    ]
    assert not misses


def test_win_rates_recover_the_planted_rates(company, db):
    """Won / closed for people-sourced deals old enough to have closed."""
    expected = company.truth["rates"]["by_channel"]
    found = db.rows(
        f"""SELECT channel, count(*), avg(is_won::INT) FROM opportunities
            WHERE channel IS NOT NULL AND is_closed
              AND created_at <= TIMESTAMP '{company.truth["as_of"]}' - INTERVAL 365 DAY
            GROUP BY 1"""
    )
    assert len(found) == len(enums.CHANNELS)
    for channel, n, p_hat in found:
        assert close_enough(p_hat, expected[channel]["win_rate"], n), channel


def test_truth_rates_match_an_independent_calculation(company):
    """Recompute one channel's rates from the parameter grid, the naive way, cell by cell."""
    channel = "organic_search"  # no campaign effects: persona and segment cells suffice
    _, *base = params.CHANNELS[channel]
    mix = params.LEAD_SEGMENT_MIX.get(channel, params.DEFAULT_LEAD_SEGMENT_MIX)
    leads = mqls = sqls = 0.0
    for p_share, p_factors in params.PERSONAS.values():
        for s_share, s_factors in zip(mix, params.SEGMENT_FACTORS.values(), strict=True):
            p = [min(1.0, b * f * g) for b, f, g in zip(base, p_factors, s_factors, strict=True)]
            leads += p_share * s_share
            mqls += p_share * s_share * p[0]
            sqls += p_share * s_share * p[0] * p[1]
    truth = company.truth["rates"]["by_channel"][channel]
    assert truth["lead_to_mql"] == pytest.approx(mqls / leads)
    assert truth["mql_to_sql"] == pytest.approx(sqls / mqls)
    lag = params.LAGS["sql"]
    z = (math.log(60 - lag.shift_days) - lag.mu) / lag.sigma
    assert truth["mql_to_sql_60d"] == pytest.approx(sqls / mqls * 0.5 * (1 + math.erf(z / 2**0.5)))


def sqr(db, campaign: str, after: str, as_of: str) -> list[tuple[bool, int, float]]:
    return db.rows(
        f"""SELECT mql_at >= TIMESTAMP '{after}', count(*),
                   avg(CASE WHEN sql_at <= mql_at + INTERVAL 60 DAY THEN 1 ELSE 0 END)
            FROM people
            WHERE first_campaign_id = '{campaign}'
              AND mql_at <= TIMESTAMP '{as_of}' - INTERVAL 60 DAY
            GROUP BY 1 ORDER BY 1"""
    )


def test_planted_change_is_visible(company, db):
    change = company.truth["planted_change"]
    assert change["channel"] == "paid_social"
    assert change["after"] < change["before"] / 2
    (_, n0, before), (_, n1, after) = sqr(
        db, change["campaign_id"], change["from"], company.truth["as_of"]
    )
    assert close_enough(before, change["before"], n0)
    assert close_enough(after, change["after"], n1)
    assert before - after > 4 * math.sqrt(before * (1 - before) / n0 + after * (1 - after) / n1)
    channel = db.scalar(
        f"SELECT channel FROM campaigns WHERE campaign_id = '{change['campaign_id']}'"
    )
    assert channel == "paid_social"


def test_no_planted_change_leaves_the_rate_flat(company, flat_company, flat_db):
    assert flat_company.truth["planted_change"] is None
    change = company.truth["planted_change"]  # same campaign ids: same seed and campaigns
    (_, n0, before), (_, n1, after) = sqr(
        flat_db, change["campaign_id"], change["from"], flat_company.truth["as_of"]
    )
    assert close_enough(after, change["before"], n1)
    assert close_enough(before, change["before"], n0)


def test_best_campaign_is_truly_best_and_recovered(company, db):
    best = company.truth["best_campaign"]
    by_campaign = company.truth["rates"]["by_campaign"]
    for key in ("mql_to_sql_60d", "lead_to_sql"):
        ranked = sorted(by_campaign, key=lambda c: by_campaign[c][key], reverse=True)
        assert ranked[0] == best["campaign_id"]
        assert by_campaign[ranked[0]][key] > by_campaign[ranked[1]][key] + 0.02
    n, p_hat = db.rows(
        f"""SELECT count(*), avg(CASE WHEN sql_at <= mql_at + INTERVAL 60 DAY THEN 1 ELSE 0 END)
            FROM people WHERE first_campaign_id = '{best["campaign_id"]}'
              AND mql_at <= TIMESTAMP '{company.truth["as_of"]}' - INTERVAL 60 DAY"""
    )[0]
    assert close_enough(p_hat, best["rates"]["mql_to_sql_60d"], n)


def test_some_campaigns_are_tiny(db):
    """Tiny campaigns make raw rankings noisy, which the stats layer must cope with."""
    sizes = [
        n
        for (n,) in db.rows(
            """SELECT count(*) FROM people WHERE first_campaign_id IS NOT NULL
               GROUP BY first_campaign_id"""
        )
    ]
    assert min(sizes) < 30 < max(sizes)


def test_speed_to_lead_per_sdr(company, db):
    """Median hours from MQL to first sales activity match each SDR's planted median."""
    found = db.rows(
        f"""SELECT p.owner_id, count(*), median(epoch(first_at - p.mql_at) / 3600)
            FROM people p JOIN (SELECT person_id, min(occurred_at) first_at
                                FROM sales_activities GROUP BY 1) a USING (person_id)
            WHERE p.mql_at <= TIMESTAMP '{company.truth["as_of"]}' - INTERVAL 4 DAY
            GROUP BY 1"""
    )
    reps = company.truth["reps"]
    sigma = company.truth["speed_to_lead"]["sigma"]
    assert {r for r, _, _ in found} == {u for u, r in reps.items() if r["role"] == "SDR"}
    for rep, n, median in found:
        planted = reps[rep]["speed_to_lead_median_hours"]
        assert abs(math.log(median) - math.log(planted)) < 4 * 1.2533 * sigma / math.sqrt(n), rep


def test_first_sales_touch_never_precedes_mql(db):
    early = db.scalar(
        """SELECT count(*) FROM sales_activities a JOIN people p USING (person_id)
           WHERE p.mql_at IS NULL OR a.occurred_at < p.mql_at"""
    )
    assert early == 0


def test_deal_sizes_follow_the_planted_lognormal(company, db):
    found = db.rows(
        """SELECT segment, count(*), avg(ln(amount::DOUBLE)), stddev(ln(amount::DOUBLE))
           FROM opportunities o JOIN accounts USING (account_id)
           WHERE o.channel IS NOT NULL AND o.is_closed GROUP BY 1"""
    )
    for segment, n, mean_log, sd_log in found:
        planted = company.truth["deal_size"][segment]
        assert abs(mean_log - planted["mu"]) < 4 * planted["sigma"] / math.sqrt(n), segment
        assert sd_log == pytest.approx(planted["sigma"], rel=0.15), segment


def test_renewals_churn_at_the_planted_rate(company, db):
    found = db.rows(
        """SELECT segment, count(*), avg((NOT is_won)::INT) FROM opportunities JOIN accounts
           USING (account_id) WHERE type = 'renewal' AND is_closed GROUP BY 1"""
    )
    assert found
    for segment, n, churned in found:
        assert close_enough(churned, company.truth["customers"]["annual_churn"][segment], n)


def test_rep_skill_shows_in_win_rates(company, db):
    """AEs with the highest planted multipliers win more than those with the lowest."""
    reps = {u: r for u, r in company.truth["reps"].items() if r["role"] == "AE"}
    won = {
        owner: (n, rate)
        for owner, n, rate in db.rows(
            f"""SELECT owner_id, count(*), avg(is_won::INT) FROM opportunities
                WHERE channel IS NOT NULL AND is_closed
                  AND created_at <= TIMESTAMP '{company.truth["as_of"]}' - INTERVAL 365 DAY
                GROUP BY 1"""
        )
    }
    for ae, (n, rate) in won.items():
        assert close_enough(rate, company.truth["rates"]["by_ae"][ae], n), ae
    ranked = sorted(reps, key=lambda u: reps[u]["win_rate_multiplier"])
    low, high = ranked[: len(ranked) // 3], ranked[-len(ranked) // 3 :]

    def rate(group: list[str]) -> float:
        return np.average([won[u][1] for u in group], weights=[won[u][0] for u in group])

    assert rate(high) > rate(low)


def test_truth_is_json_and_counts_rows(company):
    truth = json.loads(json.dumps(company.truth))
    assert truth["row_counts"] == {n: t.num_rows for n, t in company.tables.items()}
    assert truth["as_of"] == company.as_of.isoformat()
    assert set(truth["rates"]["by_campaign"]) == set(
        company.tables["campaigns"].column("campaign_id").to_pylist()
    )
    assert set(truth["rates"]["definitions"]) == set(truth["rates"]["overall"])
