"""Empirical-Bayes shrinkage: the beta-binomial fit is right, and luck does not win rankings."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from revteam.exceptions import InsufficientDataError, StatsOptionError
from revteam.stats import (
    beta_binomial_loglik,
    fit_beta_prior,
    marginal_likelihood_prior,
    meta_of,
    moments_prior,
    posterior,
    rank_rates,
)


def simulated(alpha=12.0, beta=28.0, segments=400, seed=11):
    rng = np.random.default_rng(seed)
    n = rng.integers(20, 400, size=segments)
    return rng.binomial(n, rng.beta(alpha, beta, size=segments)), n


def test_loglik_matches_scipy_betabinom():
    k, n = simulated(segments=30)
    expected = sps.betabinom.logpmf(k, n, 3.5, 7.0).sum()
    assert beta_binomial_loglik(3.5, 7.0, k, n) == pytest.approx(expected)


def test_marginal_likelihood_prior_is_a_maximum():
    k, n = simulated(segments=60)
    fit = marginal_likelihood_prior(k, n)
    best = beta_binomial_loglik(fit.alpha, fit.beta, k, n)
    for da, db in [(1.05, 1), (0.95, 1), (1, 1.05), (1, 0.95), (1.05, 1.05), (0.95, 0.95)]:
        assert beta_binomial_loglik(fit.alpha * da, fit.beta * db, k, n) <= best + 1e-9


@pytest.mark.parametrize("method", ["marginal_likelihood", "moments"])
def test_priors_recover_the_simulated_beta(method):
    k, n = simulated()
    fit = fit_beta_prior(k, n, method=method)
    assert fit.mean == pytest.approx(12 / 40, abs=0.01)
    assert fit.strength == pytest.approx(40, rel=0.35)
    assert fit.method == method


def test_no_extra_variation_means_full_pooling():
    n, k = np.full(50, 200), np.full(50, 60)
    for fit in (moments_prior(k, n), marginal_likelihood_prior(k, n)):
        assert fit.strength > 1e5 and fit.mean == pytest.approx(0.3)


def test_posterior_is_the_conjugate_beta():
    prior = fit_beta_prior(*simulated(segments=50))
    mean, low, high = posterior([2], [2], prior, 0.9)
    a, b = prior.alpha + 2, prior.beta
    assert mean[0] == pytest.approx(a / (a + b))
    assert (low[0], high[0]) == pytest.approx(sps.beta.interval(0.9, a, b))


def test_lucky_small_segments_do_not_top_the_ranking():
    k, n = simulated(segments=40, seed=5)
    labels = [f"c{i}" for i in range(40)] + ["lucky", "proven"]
    k = np.append(k, [2, 560])
    n = np.append(n, [2, 1000])
    table = rank_rates(labels, k, n)
    rows = {r["segment"]: r for r in table.to_pylist()}
    assert rows["lucky"]["raw_rank"] == 1 and rows["lucky"]["rank"] > 3
    assert rows["proven"]["rank"] == 1
    assert rows["lucky"]["small_sample"] and not rows["proven"]["small_sample"]
    assert rows["lucky"]["ci_high"] - rows["lucky"]["ci_low"] > 0.1
    assert table["rank"].to_pylist() == list(range(1, 43))
    assert meta_of(table)["prior"]["method"] == "marginal_likelihood"


def test_lower_is_better_reverses_the_order():
    table = rank_rates(["a", "b", "c"], [10, 50, 90], [100, 100, 100], higher_is_better=False)
    assert table["segment"].to_pylist() == ["a", "b", "c"]


def test_empty_segments_are_dropped_and_two_are_needed():
    table = rank_rates(["a", "empty", "b"], [1, 0, 5], [10, 0, 10])
    assert set(table["segment"].to_pylist()) == {"a", "b"}
    with pytest.raises(InsufficientDataError):
        rank_rates(["a", "empty"], [1, 0], [10, 0])
    with pytest.raises(StatsOptionError, match="prior"):
        fit_beta_prior([1, 2], [3, 4], method="guess")  # type: ignore[arg-type]
