"""Kaplan-Meier matches statsmodels, and immature cohorts get honest projections."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.duration.survfunc import SurvfuncRight

from revteam.stats import (
    cohort_curves,
    cohort_projection,
    follow_up,
    kaplan_meier,
    loglog_interval,
)


def test_kaplan_meier_and_greenwood_match_statsmodels():
    rng = np.random.default_rng(9)
    t = np.round(rng.exponential(30, 300), 1)
    e = rng.uniform(size=300) < 0.7
    km = kaplan_meier(t, e)
    ref = SurvfuncRight(t, e.astype(int))
    np.testing.assert_allclose(km.time, ref.surv_times)
    np.testing.assert_allclose(km.survival, ref.surv_prob)
    ok = np.isfinite(km.greenwood)  # the last at-risk member converting empties the curve
    se = km.survival[ok] * np.sqrt(km.greenwood[ok])
    np.testing.assert_allclose(se, ref.surv_prob_se[ok])
    np.testing.assert_allclose(km.at_risk, ref.n_risk)


def test_without_censoring_kaplan_meier_is_the_empirical_share():
    t = np.array([1.0, 2, 2, 5, 9, 9, 9, 12])
    km = kaplan_meier(t, np.ones(8, dtype=bool))
    surv, _ = km.at([0, 2, 4, 9, 12, 13])
    np.testing.assert_allclose(surv[:5], [1, 5 / 8, 5 / 8, 1 / 8, 0])
    assert np.isnan(surv[5])  # beyond the last observation the curve is unknown


def test_loglog_interval_formula():
    s, gw = np.array([0.6]), np.array([0.01])
    low, high = loglog_interval(s, gw, 0.95)
    z = sps.norm.ppf(0.975)
    theta_se = 0.1 / abs(np.log(0.6))
    assert low[0] == pytest.approx(0.6 ** np.exp(z * theta_se))
    assert high[0] == pytest.approx(0.6 ** np.exp(-z * theta_se))
    assert low[0] < 0.6 < high[0]


def test_follow_up_censors_at_as_of():
    entered = np.array(["2026-01-01T00", "2026-01-01T00", "2026-01-20T00"], dtype="datetime64[us]")
    reached = np.array(["2026-01-11T00", "2026-03-01T00", "NaT"], dtype="datetime64[us]")
    t, e, age = follow_up(entered, reached, dt.datetime(2026, 2, 1))
    np.testing.assert_allclose(t, [10, 31, 12])
    assert e.tolist() == [True, False, False]
    np.testing.assert_allclose(age, [31, 31, 12])


def simulate_cohorts(rng, months=14, per_month=400, p=0.45, window=60, as_of_day=420):
    """Members enter uniformly in each 30-day month; converters convert after a gamma lag."""
    cohort = np.repeat(np.arange(months), per_month)
    entry = cohort * 30 + rng.uniform(0, 30, cohort.size)
    lag = rng.gamma(2.0, 12.0, cohort.size)
    converts = rng.uniform(size=cohort.size) < p
    reach = np.where(converts, entry + lag, np.inf)
    t = np.minimum(reach, as_of_day) - entry
    e = reach <= as_of_day
    age = as_of_day - entry
    truth = p * sps.gamma.cdf(window, 2.0, scale=12.0)
    return cohort, t, e, age, truth


def test_projection_is_exact_when_mature_and_unbiased_when_not():
    rng = np.random.default_rng(12)
    cohort, t, e, age, truth = simulate_cohorts(rng)
    table = cohort_projection(cohort.tolist(), t, e, age, window=60).to_pylist()
    mature = [r for r in table if r["mature"]]
    young = [r for r in table if not r["mature"]]
    assert len(young) == 2 and len(mature) == 12
    for r in mature:
        assert r["method"] == "observed"
        assert r["projected_rate"] == pytest.approx(r["observed_rate"])
    # The youngest cohort's naive share is far too low; the projections are not.
    assert young[-1]["observed_rate"] < truth - 0.1
    for r in young:
        assert r["projected_rate"] == pytest.approx(truth, abs=0.06)  # sd ≈ 0.027
        assert r["ci_low"] < r["projected_rate"] < r["ci_high"]
    assert young[-1]["method"] == "kaplan_meier+reference"


@pytest.mark.slow
def test_projected_intervals_cover_the_true_rate():
    rng = np.random.default_rng(13)
    hits = total = 0
    for _ in range(150):
        cohort, t, e, age, truth = simulate_cohorts(rng, months=10, per_month=300, as_of_day=300)
        rows = cohort_projection(cohort.tolist(), t, e, age, window=60).to_pylist()
        for r in rows[-2:]:
            hits += r["ci_low"] <= truth <= r["ci_high"]
            total += 1
    assert 0.92 <= hits / total <= 0.99


def test_curves_rise_and_naive_shares_lag_for_young_cohorts():
    rng = np.random.default_rng(14)
    cohort, t, e, age, _ = simulate_cohorts(rng, months=4, as_of_day=120)
    curves = cohort_curves(cohort.tolist(), t, e, age, at=[0, 10, 30, 60]).to_pylist()
    assert len(curves) == 16
    first = [r for r in curves if r["cohort"] == 0]
    assert [r["km_rate"] for r in first] == sorted(r["km_rate"] for r in first)
    last = [r for r in curves if r["cohort"] == 3]
    assert last[-1]["km_rate"] is None  # nobody in the last cohort is 60 days old yet
    assert last[1]["observed_rate"] <= last[1]["km_rate"]
    assert all(r["followed"] <= r["n"] for r in curves)
