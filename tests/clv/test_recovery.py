"""Fitted back: data simulated here from known parameters, by each model's own story.

The simulators are written from the papers' descriptions, not from revteam's code: BG/NBD
customers buy at a Gamma-distributed Poisson rate and drop out after each purchase with a
Beta-distributed probability; Gamma-Gamma spends are Gamma around a Gamma-distributed scale;
sBG customers churn at each renewal with a Beta-distributed probability. Each true parameter
must lie within its estimate ± 3 standard errors, and the predictions must match what the
simulated customers do next.
"""

from __future__ import annotations

import numpy as np
import pytest

from revteam.clv import Lifetimes, RepeatData, fit_bg_nbd, fit_gamma_gamma, fit_sbg
from revteam.clv.models import (
    ALIKE,
    bg_nbd_expected,
    bg_nbd_p_alive,
    bg_nbd_unconditional,
    gamma_gamma_mean,
    sbg_survival,
)
from revteam.exceptions import ClvError

TRUE_BG = {"r": 0.6, "alpha": 8.0, "a": 0.7, "b": 3.0}
TRUE_GG = {"p": 5.0, "q": 4.0, "gamma": 300.0}


def simulate(n: int, seed: int, horizon: float = 0.0) -> tuple[RepeatData, np.ndarray, dict]:
    """BG/NBD and Gamma-Gamma customers observed for T in [26, 78] weeks; and what each does
    in the ``horizon`` weeks after T (purchases), and whether they are still alive at T."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(TRUE_BG["r"], 1 / TRUE_BG["alpha"], n)
    p = rng.beta(TRUE_BG["a"], TRUE_BG["b"], n)
    nu = rng.gamma(TRUE_GG["q"], 1 / TRUE_GG["gamma"], n)
    T = rng.uniform(26, 78, n)
    x, t_x, later = np.zeros(n), np.zeros(n), np.zeros(n)
    alive_at_T = np.zeros(n, dtype=bool)
    spend = np.zeros(n)
    for i in range(n):
        t, alive = 0.0, True  # dropout follows repeat purchases only (MBG/NBD differs here)
        while alive:
            t += rng.exponential(1 / lam[i])
            if t > T[i] + horizon:
                break
            if t <= T[i]:
                x[i] += 1
                t_x[i] = t
                spend[i] += rng.gamma(TRUE_GG["p"], 1 / nu[i])
            else:
                later[i] += 1
            alive = rng.random() >= p[i]
        alive_at_T[i] = alive or t > T[i]
    zbar = np.where(x > 0, spend / np.maximum(x, 1), np.nan)
    return RepeatData.of(x, t_x, T, zbar), later, {"alive": alive_at_T}


@pytest.fixture(scope="module")
def simulated():
    return simulate(20_000, seed=7, horizon=39.0)


def within(fit, truth: dict[str, float], k: float = 3.0) -> None:
    for name, value in truth.items():
        est, se = fit.params[name], fit.se[name]
        assert abs(est - value) <= k * se, f"{name}: {est:.4f} ± {se:.4f} vs {value}"


def test_bg_nbd_recovers_its_parameters(simulated) -> None:
    data, _, _ = simulated
    fit = fit_bg_nbd(data)
    assert fit.converged
    within(fit, TRUE_BG)


def test_gamma_gamma_recovers_its_parameters(simulated) -> None:
    data, _, _ = simulated
    fit = fit_gamma_gamma(data)
    assert fit.converged
    within(fit, TRUE_GG)
    # the conditional mean spend tracks each repeat customer's own average, shrunk
    mean = gamma_gamma_mean(list(fit.params.values()), data)
    repeat = data.x > 0
    assert np.corrcoef(mean[repeat], data.zbar[repeat])[0, 1] > 0.9


def test_predictions_match_what_customers_do_next(simulated) -> None:
    """Holdout: expected purchases in the next 39 weeks against the simulated ones, by
    calibration frequency (the papers' conditional-expectations check) and in total."""
    data, later, truth = simulated
    params = list(fit_bg_nbd(data).params.values())
    expected = bg_nbd_expected(params, data, 39.0)
    assert expected.sum() == pytest.approx(later.sum(), rel=0.05)
    for x in (0, 1, 2, 3):
        group = data.x == x
        assert expected[group].mean() == pytest.approx(later[group].mean(), rel=0.15, abs=0.02)
    # P(alive) is calibrated: among customers it puts at 70-90%, 70-90% are alive
    alive = bg_nbd_p_alive(params, data)
    band = (alive > 0.7) & (alive < 0.9)
    assert band.sum() > 500
    assert truth["alive"][band].mean() == pytest.approx(alive[band].mean(), abs=0.05)
    # and a customer just acquired is expected to buy as the unconditional curve says
    new = RepeatData.of([0], [0.0], [0.0])
    assert bg_nbd_expected(params, new, 39.0)[0] == pytest.approx(
        bg_nbd_unconditional(params, 39.0), rel=1e-9
    )


def test_sbg_recovers_its_parameters() -> None:
    rng = np.random.default_rng(3)
    alpha, beta, n, periods = 1.2, 3.5, 5_000, 8
    theta = rng.beta(alpha, beta, n)
    churn = rng.geometric(theta)  # the renewal at which each customer leaves (1 = the first)
    alive = churn > periods
    lifetimes = Lifetimes(
        period=np.where(alive, periods, churn).astype(float), alive=alive, weight=np.ones(n)
    )
    fit = fit_sbg(lifetimes)
    within(fit, {"alpha": alpha, "beta": beta})
    observed = [(churn > t).mean() for t in range(periods + 1)]
    assert np.allclose(sbg_survival([fit.params["alpha"], fit.params["beta"]], range(9)), observed,
                       atol=0.02)  # fmt: skip


def _homogeneous(churn: float, n: int, rounds: int, seed: int) -> Lifetimes:
    """Every customer churns with the same ``churn``; each observed for 0..rounds renewals."""
    rng = np.random.default_rng(seed)
    leaves = rng.geometric(churn, n)
    seen = rng.integers(0, rounds + 1, n)
    alive = leaves > seen
    return Lifetimes(
        period=np.where(alive, seen, leaves).astype(float), alive=alive, weight=np.ones(n)
    )


def test_sbg_with_only_first_renewals_gives_the_churn_and_says_why_no_more() -> None:
    data = _homogeneous(0.2, 4_000, 1, seed=5)
    fit = fit_sbg(data)
    churned = float((~data.alive).sum())
    decided = churned + float((data.alive & (data.period == 1)).sum())
    m = churned / decided  # by hand: the share of first renewals lost
    assert fit.derived["churn"] == pytest.approx(m, rel=1e-12)
    assert fit.derived_se["churn"] == pytest.approx(np.sqrt(m * (1 - m) / decided), rel=1e-9)
    assert fit.log_likelihood == pytest.approx(churned * np.log(m) + (decided - churned)
                                               * np.log(1 - m), rel=1e-12)  # fmt: skip
    assert any("Only first renewals" in w for w in fit.warnings)
    # projected at one churn for all: survival is (1 − m)^t
    assert sbg_survival(fit.vector(), 3.0) == pytest.approx((1 - m) ** 3, rel=1e-4)
    every = Lifetimes(period=np.ones(5), alive=np.zeros(5, dtype=bool), weight=np.ones(5))
    with pytest.raises(ClvError, match="All 5 customers"):
        fit_sbg(every)


@pytest.mark.parametrize("rounds", [2, 6])
def test_sbg_on_churn_alike_for_all_gives_the_churn_with_a_finite_error(rounds: int) -> None:
    """The likelihood rises to α + β → ∞ and is flat there: the mean churn is still known."""
    estimates, errors, on_ridge = [], [], 0
    for seed in range(20):
        fit = fit_sbg(_homogeneous(0.25, 3_000, rounds, seed=seed))
        assert fit.converged
        # a sample may look a little heterogeneous (a finite α + β is then its best fit)
        if sum(fit.params.values()) >= ALIKE:
            on_ridge += 1
            assert any("hardly varies" in w for w in fit.warnings), fit.warnings
            assert not any("stopped" in w or "flat" in w for w in fit.warnings), fit.warnings
        estimates.append(fit.derived["churn"])
        errors.append(fit.derived_se["churn"])
        assert np.isfinite(np.asarray(fit.cov)).all()
    assert on_ridge >= 5
    # unbiased within its error, and the error is the estimates' spread across samples
    assert abs(np.mean(estimates) - 0.25) < 3 * np.mean(errors) / np.sqrt(20)
    assert np.std(estimates, ddof=1) == pytest.approx(np.mean(errors), rel=0.4)


def test_derived_values_are_the_delta_method_of_the_parameters(simulated) -> None:
    fit = fit_bg_nbd(simulated[0])
    p, cov = fit.params, np.asarray(fit.cov)
    assert fit.derived["purchase_rate"] == pytest.approx(p["r"] / p["alpha"])
    g = np.array([1 / p["alpha"], -p["r"] / p["alpha"] ** 2, 0, 0])
    assert fit.derived_se["purchase_rate"] == pytest.approx(np.sqrt(g @ cov @ g))
    assert fit.derived["dropout"] == pytest.approx(p["a"] / (p["a"] + p["b"]))
    assert fit.as_dict()["derived"]["dropout"]["se"] == fit.derived_se["dropout"] > 0


@pytest.mark.parametrize("model", ["bg_nbd", "gamma_gamma", "sbg"])
def test_analytic_gradients_are_the_derivatives(simulated, model: str) -> None:
    """Each objective's gradient against central differences of its value, and its value
    against the per-customer log-likelihood summed."""
    from revteam.clv import models as M

    data, _, _ = simulated
    if model == "bg_nbd":
        objective = M._BgNbdObjective(data)
        theta = np.array([0.7, 9.0, 0.6, 2.5])
        assert objective(theta)[0] == pytest.approx(
            -M.bg_nbd_log_likelihood(theta, data).sum(), rel=1e-12
        )
    elif model == "gamma_gamma":
        objective = M._GammaGammaObjective(M._repeaters(data))
        theta = np.array([4.0, 3.5, 250.0])
        assert objective(theta)[0] == pytest.approx(
            -M.gamma_gamma_log_likelihood(theta, data).sum(), rel=1e-12
        )
    else:
        lifetimes = Lifetimes.from_survivors([1000, 631, 468, 382, 326])

        def objective(t):
            ll, g = M._sbg(t, lifetimes, gradient=True)
            return -float(lifetimes.weight @ ll), -(g @ lifetimes.weight)

        theta = np.array([0.8, 1.5])
    _, grad = objective(theta)
    for j in range(len(theta)):
        h = 1e-6 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        numeric = (objective(up)[0] - objective(down)[0]) / (2 * h)
        assert grad[j] == pytest.approx(numeric, rel=1e-5, abs=1e-4)


@pytest.mark.parametrize("model", ["bg_nbd", "gamma_gamma"])
def test_the_fast_path_for_many_customers_finds_the_same_fit(simulated, monkeypatch, model):
    """Above ``SUBSAMPLE`` customers the starts are tried on a subsample and Newton polishes
    the best on everyone: the same estimate and standard errors as L-BFGS-B from every start."""
    from revteam.clv import models as M

    data, _, _ = simulated
    fit = M.fit_bg_nbd if model == "bg_nbd" else M.fit_gamma_gamma
    monkeypatch.setattr(M, "SUBSAMPLE", 4_000)
    newton = fit(data)
    assert newton.converged and newton.optimiser == "Newton"
    monkeypatch.setattr(M, "SUBSAMPLE", 10**9)
    everywhere = fit(data)
    assert everywhere.optimiser == "L-BFGS-B"
    assert newton.log_likelihood == pytest.approx(everywhere.log_likelihood, rel=1e-10, abs=1e-6)
    for name, value in everywhere.params.items():
        assert newton.params[name] == pytest.approx(value, rel=1e-5), name
        assert newton.se[name] == pytest.approx(everywhere.se[name], rel=1e-3), name
