"""Anomaly scores: the LR statistic is the G-test; steps are found where they start, noise not."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from scipy import stats as sps

from revteam.exceptions import StatsOptionError
from revteam.stats import find_anomalies, rate_scores, robust_scores
from revteam.stats.anomalies import NULL_MEDIAN_CHI2, _scale, binomial_lr

MONTHS = [dt.date(2024 + (m // 12), m % 12 + 1, 1) for m in range(24)]


def test_lr_statistic_is_the_g_test():
    k1, n1, k0, n0 = 30, 100, 60, 120
    table = [[k1, n1 - k1], [k0, n0 - k0]]
    g, _, _, _ = sps.chi2_contingency(table, correction=False, lambda_="log-likelihood")
    assert binomial_lr(k1, n1, k0, n0) == pytest.approx(-np.sqrt(g))
    assert binomial_lr(0, 10, 0, 10) == 0


def test_rate_scores_use_the_periods_before():
    k = np.array([10, 20, 30, 40, 12])
    n = np.array([100, 100, 100, 100, 40])
    before, after, z = rate_scores(k, n, window=3, min_history=3)
    assert np.isnan(before[:3]).all()
    assert before[3] == pytest.approx(60 / 300) and after[3] == pytest.approx(0.4)
    assert before[4] == pytest.approx(90 / 300) and after[4] == pytest.approx(0.3)
    assert z[3] > 0 and z[4] == pytest.approx(0, abs=1e-9)


def series(rng, segments, *, step_at=None, step_segment=None, factor=1.0, n=(30, 300), p=0.45):
    rows = []
    for s in range(segments):
        size = rng.integers(*n)
        for i, month in enumerate(MONTHS):
            rate = p * (factor if s == step_segment and step_at is not None and i >= step_at else 1)
            denom = int(rng.poisson(size))
            num = int(rng.binomial(denom, rate))
            rows.append(
                {
                    "segment": f"s{s:02d}",
                    "period": month,
                    "numerator": num,
                    "denominator": denom,
                    "value": num / denom if denom else None,
                }
            )
    return pa.Table.from_pylist(rows)


def test_a_lasting_drop_in_one_small_segment_is_found_where_it_starts():
    rng = np.random.default_rng(21)
    data = series(rng, 30, step_at=16, step_segment=7, factor=1 / 3, n=(25, 35))
    found = find_anomalies(data, grain="month")
    flagged = found.filter(found["flagged"]).to_pylist()
    assert [(r["segment"], r["period"], r["kind"], r["direction"]) for r in flagged] == [
        ("s07", MONTHS[16], "shift", "down")
    ]
    hit = flagged[0]
    assert hit["expected"] == pytest.approx(0.45, abs=0.08)
    assert hit["level"] == pytest.approx(0.15, abs=0.06)


def test_pure_noise_is_not_flagged():
    rng = np.random.default_rng(22)
    flagged = 0
    for _ in range(10):
        found = find_anomalies(series(rng, 30), grain="month")
        flagged += sum(found["flagged"].to_pylist())
    assert flagged <= 1  # 10 runs x 30 segments x ~20 months x 2 tests


def test_a_single_spike_is_a_spike():
    rng = np.random.default_rng(23)
    data = series(rng, 5, n=(400, 500)).to_pylist()
    hit = next(r for r in data if r["segment"] == "s02" and r["period"] == MONTHS[12])
    hit["numerator"] = int(hit["denominator"] * 0.75)
    found = find_anomalies(pa.Table.from_pylist(data), grain="month")
    flagged = found.filter(found["flagged"]).to_pylist()
    assert [(r["segment"], r["period"], r["kind"], r["direction"]) for r in flagged] == [
        ("s02", MONTHS[12], "spike", "up")
    ]


def test_robust_scores_find_a_jump_in_a_trending_series():
    rng = np.random.default_rng(24)
    y = 1000 + 20 * np.arange(24) + rng.normal(0, 15, 24)
    y[18] += 300
    expected, z = robust_scores(y, window=6)
    assert np.isnan(expected[:3]).all()
    assert np.nanargmax(np.abs(z)) == 18 and z[18] > 5
    assert np.nanmax(np.abs(np.delete(z, 18))) < 4


def test_robust_scores_use_stl_with_two_seasons():
    rng = np.random.default_rng(25)
    t = np.arange(60)
    y = 500 + 100 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 10, 60)
    y[40] -= 150
    expected, z = robust_scores(y, season=12)
    assert np.isfinite(expected).all()
    assert np.argmax(np.abs(z)) == 40 and z[40] < -4


def test_robust_method_in_find_anomalies():
    values = [100.0 + i for i in range(20)]
    values[15] = 400.0
    data = pa.table({"segment": ["total"] * 20, "period": MONTHS[:20], "value": values})
    found = find_anomalies(data, method="robust", grain="month")
    flagged = found.filter(found["flagged"]).to_pylist()
    assert [(r["period"], r["kind"], r["direction"]) for r in flagged] == [
        (MONTHS[15], "spike", "up")
    ]


def test_unknown_method_is_refused():
    data = pa.table({"segment": ["total"] * 3, "period": MONTHS[:3], "value": [1.0, 2.0, 3.0]})
    with pytest.raises(StatsOptionError, match=r"method 'poisson'.*binomial, robust"):
        find_anomalies(data, method="poisson")


def test_robust_scale_is_the_normal_consistent_mad():
    """Hand formula: the MAD divided by the standard normal's 75 % quantile."""
    y = np.array([10.0, 12.0, 9.0, 11.0, 30.0, 10.0, 13.0, 8.0, 11.0, 12.0])
    expected, z = robust_scores(y, window=3, min_history=3)
    resid = (y - expected)[np.isfinite(expected)]
    mad = np.median(np.abs(resid - np.median(resid))) / sps.norm.ppf(0.75)
    np.testing.assert_allclose(z[np.isfinite(z)], resid / mad)
    np.testing.assert_allclose(NULL_MEDIAN_CHI2, sps.chi2.ppf(0.5, 1))


def test_scale_falls_back_to_the_mean_deviation_when_the_mad_is_zero():
    resid = np.array([0.0, 0.0, 0.0, 0.0, 4.0, np.nan])
    assert _scale(resid) == pytest.approx(np.sqrt(np.pi / 2) * 4.0 / 5)
