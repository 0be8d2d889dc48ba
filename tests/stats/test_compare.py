"""Tests of differences match scipy/statsmodels; verdicts follow the BH-adjusted p-values."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sps
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from revteam.exceptions import StatsOptionError
from revteam.stats import (
    benjamini_hochberg,
    compare_rates,
    compare_samples,
    differ_from_rest,
    fisher_exact_test,
    mann_whitney_test,
    newcombe_interval,
    two_proportion_ztest,
    welch_test,
)

CASES = [(30, 100, 45, 120), (5, 40, 20, 41), (300, 1000, 280, 1000), (0, 50, 7, 60)]


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), CASES)
def test_ztest_matches_statsmodels(k1, n1, k2, n2):
    z, p = two_proportion_ztest(k1, n1, k2, n2)
    ref_z, ref_p = proportions_ztest([k1, k2], [n1, n2])
    assert z == pytest.approx(ref_z) and p == pytest.approx(ref_p)


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), CASES)
def test_fisher_matches_scipy(k1, n1, k2, n2):
    ref = sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
    assert fisher_exact_test(k1, n1, k2, n2) == pytest.approx((ref.statistic, ref.pvalue))


@pytest.mark.parametrize(("k1", "n1", "k2", "n2"), CASES)
def test_newcombe_matches_statsmodels(k1, n1, k2, n2):
    low, high = newcombe_interval(k1, n1, k2, n2, 0.95)
    ref = confint_proportions_2indep(k1, n1, k2, n2, method="newcomb", compare="diff")
    assert (float(low), float(high)) == pytest.approx(ref, abs=1e-10)


def test_welch_matches_scipy():
    rng = np.random.default_rng(5)
    x, y = rng.lognormal(3.5, 0.5, 60), rng.lognormal(3.3, 0.9, 35)
    t, p, low, high = welch_test(x, y, 0.95)
    ref = sps.ttest_ind(x, y, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert (t, p) == pytest.approx((ref.statistic, ref.pvalue))
    assert (low, high) == pytest.approx((ci.low, ci.high))


def test_mann_whitney_matches_scipy():
    rng = np.random.default_rng(6)
    x, y = rng.exponential(30, 25), rng.exponential(45, 30)
    ref = sps.mannwhitneyu(x, y, alternative="two-sided")
    assert mann_whitney_test(x, y) == pytest.approx((ref.statistic, ref.pvalue))


def test_benjamini_hochberg_matches_statsmodels():
    p = np.random.default_rng(7).uniform(0, 0.2, 40) ** 2
    np.testing.assert_allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])


def test_benjamini_hochberg_ignores_missing_tests():
    p = np.array([0.01, np.nan, 0.04, 0.03])
    out = benjamini_hochberg(p)
    assert np.isnan(out[1])
    np.testing.assert_allclose(out[[0, 2, 3]], multipletests(p[[0, 2, 3]], method="fdr_bh")[1])


@given(st.lists(st.floats(0, 1), min_size=1, max_size=60))
def test_adjusted_p_values_are_at_least_raw_and_keep_the_order(raw):
    p = np.array(raw)
    adj = benjamini_hochberg(p)
    assert np.all(adj >= p - 1e-12) and np.all(adj <= 1)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-12)


def test_small_counts_use_fisher_and_large_ones_z():
    out = compare_rates(["tiny", "big"], [2, 300], [3, 1000], [40, 280], [100, 1000]).to_pylist()
    assert [r["test"] for r in out] == ["fisher", "z"]
    assert out[0]["p_value"] == pytest.approx(sps.fisher_exact([[2, 1], [40, 60]]).pvalue)


def test_significant_only_after_adjustment():
    # Twenty segments, one with raw p ≈ 0.03: significant alone, not among twenty tests.
    k = [130] + [100] * 19
    table = compare_rates([f"s{i}" for i in range(20)], k, [500] * 20, [100] * 20, [500] * 20)
    first = table.to_pylist()[0]
    assert first["p_value"] < 0.05 and first["p_adjusted"] > 0.05
    assert first["verdict"] == "no significant change" and not first["significant"]
    alone = compare_rates(["s0"], [130], [500], [100], [500]).to_pylist()[0]
    assert alone["significant"] and alone["verdict"] == "significant change (up)"


def test_compare_samples_tests_durations():
    rng = np.random.default_rng(8)
    fast, slow = rng.exponential(20, 80), rng.exponential(40, 80)
    means = compare_samples(["a"], [slow], [fast], statistic="mean").to_pylist()[0]
    medians = compare_samples(["a"], [slow], [fast], statistic="median").to_pylist()[0]
    assert means["test"] == "welch" and medians["test"] == "mann_whitney"
    assert means["p_value"] == pytest.approx(sps.ttest_ind(slow, fast, equal_var=False).pvalue)
    assert medians["value"] == pytest.approx(np.median(slow))
    assert medians["diff_low"] < medians["difference"] < medians["diff_high"]
    empty = compare_samples(["b"], [np.array([])], [fast]).to_pylist()[0]
    assert empty["verdict"] == "not tested"


def test_bad_alpha_is_refused():
    with pytest.raises(StatsOptionError, match="alpha"):
        compare_rates(["a"], [1], [2], [1], [2], alpha=0.7)


def test_welch_without_spread_is_not_tested():
    assert all(np.isnan(welch_test([3.0, 3.0, 3.0], [3.0, 3.0])))


def test_median_difference_interval_agrees_with_scipy_bootstrap():
    """Each sample resampled on its own, as scipy does for unpaired samples."""
    rng = np.random.default_rng(9)
    x, y = rng.lognormal(3.4, 0.7, 120), rng.lognormal(3.0, 0.9, 90)
    row = compare_samples(["a"], [x], [y], statistic="median").to_pylist()[0]

    def diff(a, b, axis):
        return np.median(a, axis=axis) - np.median(b, axis=axis)

    ref = sps.bootstrap(
        (x, y),
        diff,
        confidence_level=0.95,
        method="percentile",
        n_resamples=4000,
        random_state=np.random.default_rng(10),
    ).confidence_interval
    spread = ref.high - ref.low
    assert row["difference"] == pytest.approx(np.median(x) - np.median(y))
    assert abs(row["diff_low"] - ref.low) < 0.15 * spread
    assert abs(row["diff_high"] - ref.high) < 0.15 * spread


def test_unknown_statistic_is_refused():
    x = np.arange(10.0)
    with pytest.raises(StatsOptionError, match=r"statistic 'mode'.*mean, median"):
        compare_samples(["a"], [x], [x], statistic="mode")


def test_bad_level_of_medians_is_refused():
    x = np.arange(10.0)
    with pytest.raises(StatsOptionError, match="level"):
        compare_samples(["a"], [x], [x], statistic="median", level=1.5)


@pytest.mark.parametrize(
    ("k", "n", "k0", "n0", "option"),
    [
        (12, 10, 5, 10, "counts"),
        (-1, 10, 5, 10, "counts"),
        (3, -10, 5, 10, "counts"),
        (3, 10, 11, 10, "baseline counts"),
    ],
)
def test_rates_outside_zero_to_n_are_refused(k, n, k0, n0, option):
    with pytest.raises(StatsOptionError, match=rf"Invalid {option} .*\(s1\)"):
        compare_rates(["s0", "s1"], [1, k], [5, n], [1, k0], [5, n0])


def test_segments_without_records_are_still_not_tested():
    out = compare_rates(["a", "b"], [0, 3], [0, 10], [2, 4], [10, 10]).to_pylist()
    assert out[0]["verdict"] == "not tested" and out[1]["test"] == "fisher"


def test_differ_from_rest_controls_false_discoveries():
    parts = {f"c{i}": (10.0, 100.0) for i in range(20)}
    parts["best"] = (40.0, 100.0)
    parts["tiny"] = (3.0, 5.0)
    total = (sum(x for x, _ in parts.values()), sum(n for _, n in parts.values()))
    found = differ_from_rest(parts, total)
    assert found["best"] == 1
    assert all(found[f"c{i}"] == 0 for i in range(20))
    assert "tiny" not in found  # too small to test
    assert differ_from_rest({"all": (5.0, 50.0)}, (5.0, 50.0)) == {}  # the whole total
