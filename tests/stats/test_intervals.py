"""Intervals match scipy/statsmodels on the same inputs, and Wilson covers at its nominal rate."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps
from statsmodels.stats.proportion import proportion_confint

from revteam.exceptions import StatsOptionError
from revteam.stats import (
    add_intervals,
    bootstrap_interval,
    jeffreys_interval,
    t_interval,
    wilson_interval,
)

K = np.array([0, 1, 3, 17, 50, 99, 100, 2, 5])
N = np.array([10, 10, 3, 40, 100, 100, 100, 2000, 7])


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_wilson_matches_statsmodels(level):
    low, high = wilson_interval(K, N, level)
    ref_low, ref_high = proportion_confint(K, N, alpha=1 - level, method="wilson")
    np.testing.assert_allclose(low, ref_low, atol=1e-12)
    np.testing.assert_allclose(high, ref_high, atol=1e-12)


def test_jeffreys_matches_statsmodels_inside_and_brown_cai_dasgupta_at_the_edges():
    low, high = jeffreys_interval(K, N, 0.95)
    ref_low, ref_high = proportion_confint(K, N, alpha=0.05, method="jeffreys")
    inside = (K > 0) & (K < N)
    np.testing.assert_allclose(low[inside], ref_low[inside], atol=1e-10)
    np.testing.assert_allclose(high[inside], ref_high[inside], atol=1e-10)
    assert np.all(low[K == 0] == 0) and np.all(high[K == N] == 1)


def test_empty_denominator_gives_no_interval():
    low, high = wilson_interval([0, 1], [0, 4])
    assert np.isnan(low[0]) and np.isnan(high[0]) and 0 < low[1] < high[1] < 1


def test_wilson_covers_the_true_rate_at_its_nominal_level():
    rng = np.random.default_rng(20240601)
    p, n, reps = 0.3, 200, 20_000
    k = rng.binomial(n, p, size=reps)
    low, high = wilson_interval(k, np.full(reps, n), 0.95)
    coverage = np.mean((low <= p) & (p <= high))
    assert 0.93 <= coverage <= 0.97


def test_t_interval_matches_scipy():
    x = np.random.default_rng(1).lognormal(3, 0.7, size=40)
    expected = sps.t.interval(0.9, len(x) - 1, loc=x.mean(), scale=sps.sem(x))
    np.testing.assert_allclose(t_interval(x, 0.9), expected, rtol=1e-12)
    assert np.isnan(t_interval([1.0], 0.9)[0])


def test_bootstrap_median_agrees_with_scipy_percentile_bootstrap():
    x = np.random.default_rng(2).lognormal(3, 0.8, size=150)
    ours = bootstrap_interval(x, 0.95, n_resamples=4000, rng=np.random.default_rng(3))
    ref = sps.bootstrap(
        (x,),
        np.median,
        confidence_level=0.95,
        method="percentile",
        n_resamples=4000,
        random_state=np.random.default_rng(4),
    ).confidence_interval
    spread = ref.high - ref.low
    assert abs(ours[0] - ref.low) < 0.15 * spread and abs(ours[1] - ref.high) < 0.15 * spread
    assert ours[0] < np.median(x) < ours[1]


def result_table() -> pa.Table:
    """A metric result by channel: rates, a money ratio, a count, a median, a mean."""
    import datetime as dt

    p = dt.date(2026, 3, 1)
    rows = [
        # metric, unit, channel, is_total, value, numerator, denominator, n
        ("sqr", "percent", "email", False, 0.4, 4.0, 10.0, 10),
        ("sqr", "percent", "web", False, 0.5, 50.0, 100.0, 100),
        ("sqr", "percent", None, True, 54 / 110, 54.0, 110.0, 110),
        ("win_by_amount", "percent", None, True, 0.25, 2500.5, 10002.0, 3),
        ("leads", "count", None, True, 120.0, None, None, 120),
        ("cycle", "days", "email", False, None, None, None, 4),
        ("cycle", "days", None, True, None, None, None, 9),
        ("deal", "money", None, True, None, None, None, 9),
    ]
    names = ["metric", "unit", "channel", "is_total", "value", "numerator", "denominator", "n"]
    table = pa.Table.from_pylist([dict(zip(names, r, strict=True)) for r in rows])
    return table.add_column(0, "period", pa.array([p] * len(rows)))


def records() -> pa.Table:
    import datetime as dt

    p = dt.date(2026, 3, 1)
    cycle = [("email", v) for v in (10.0, 20.0, 30.0, 40.0)] + [("web", v) for v in range(5)]
    rows = [
        {"metric": "cycle", "statistic": "median", "period": p, "channel": c, "value": float(v)}
        for c, v in cycle
    ]
    rows += [
        {"metric": "deal", "statistic": "mean", "period": p, "channel": "web", "value": v}
        for v in (1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0)
    ]
    return pa.Table.from_pylist(rows)


def test_add_intervals_puts_each_method_where_it_belongs():
    out = add_intervals(result_table(), values=records(), min_n=30).to_pylist()
    methods = [r["ci_method"] for r in out]
    assert methods == ["wilson", "wilson", "wilson", None, None, "bootstrap", "bootstrap", "t"]
    ref_low, ref_high = proportion_confint(4, 10, method="wilson")
    assert (out[0]["ci_low"], out[0]["ci_high"]) == pytest.approx((ref_low, ref_high))
    assert [r["small_sample"] for r in out] == [True, False, False, None, None, True, True, True]
    # The total median interval uses every record of the period (9), the email one only its 4.
    assert out[5]["ci_low"] >= 10 and out[6]["ci_low"] < 10
    expected = sps.t.interval(0.95, 8, loc=5.0, scale=sps.sem(np.arange(1.0, 10.0)))
    assert (out[7]["ci_low"], out[7]["ci_high"]) == pytest.approx(expected)


def test_add_intervals_is_deterministic_and_replaces_old_columns():
    once = add_intervals(result_table(), values=records())
    twice = add_intervals(once, values=records())
    assert once.equals(twice)
    assert once.column_names[-4:] == ["ci_low", "ci_high", "ci_method", "small_sample"]


@pytest.mark.parametrize("level", [0.3, 1.0, "high"])
def test_bad_level_is_refused(level):
    with pytest.raises(StatsOptionError, match="level"):
        add_intervals(result_table(), level=level)
