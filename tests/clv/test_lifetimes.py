"""Agreement with lifetimes (MIT; a test dependency only) on the same inputs, where it converges.

The CDNOW summary, and customers simulated here: the same parameters, log-likelihood and
per-customer predictions (expected purchases, P(alive), expected spend).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from tests.clv.test_recovery import simulate
from tests.conftest import FIXTURES

from revteam.clv import RepeatData, fit_bg_nbd, fit_gamma_gamma
from revteam.clv.models import (
    bg_nbd_discounted,
    bg_nbd_expected,
    bg_nbd_log_likelihood,
    bg_nbd_p_alive,
    gamma_gamma_mean,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from lifetimes import BetaGeoFitter, GammaGammaFitter


def cdnow() -> RepeatData:
    d = pd.read_csv(FIXTURES / "clv" / "cdnow_customers_summary_with_transactions.csv")
    return RepeatData.of(d["x"], d["t_x"], d["T"], d["zbar"].where(d["x"] > 0))


@pytest.mark.parametrize("source", ["cdnow", "simulated"])
def test_bg_nbd_and_gamma_gamma_agree_with_lifetimes(source: str) -> None:
    data = cdnow() if source == "cdnow" else simulate(3_000, seed=11)[0]
    ours = fit_bg_nbd(data)
    theirs = BetaGeoFitter().fit(data.x, data.t_x, data.T)
    for name in ("r", "alpha", "a", "b"):
        assert ours.params[name] == pytest.approx(theirs.params_[name], rel=2e-3), name
    # (lifetimes reports its objective on rescaled times: compare likelihoods on ours) ours
    # is the maximum: at lifetimes' estimate the likelihood is no higher
    mine = np.array(list(ours.params.values()))
    params = [theirs.params_[k] for k in ("r", "alpha", "a", "b")]
    at_theirs = float(bg_nbd_log_likelihood(params, data).sum())
    assert ours.log_likelihood == pytest.approx(at_theirs, abs=1e-3)
    assert ours.log_likelihood >= at_theirs - 1e-9
    t = 39.0
    assert np.allclose(
        bg_nbd_expected(params, data, t),
        theirs.conditional_expected_number_of_purchases_up_to_time(t, data.x, data.t_x, data.T),
        rtol=1e-7,
    )
    assert np.allclose(
        bg_nbd_p_alive(params, data),
        theirs.conditional_probability_alive(data.x, data.t_x, data.T),
        rtol=1e-7,
    )
    assert np.allclose(bg_nbd_expected(mine, data, t), bg_nbd_expected(params, data, t), rtol=5e-3)

    repeat = data.x > 0
    spend = fit_gamma_gamma(data)
    gg = GammaGammaFitter().fit(data.x[repeat], data.zbar[repeat])
    for ours_name, their_name in (("p", "p"), ("q", "q"), ("gamma", "v")):
        assert spend.params[ours_name] == pytest.approx(gg.params_[their_name], rel=2e-3)
    theirs_params = [gg.params_[k] for k in ("p", "q", "v")]
    expected = gg.conditional_expected_average_profit(
        pd.Series(data.x), pd.Series(np.nan_to_num(data.zbar))
    )
    assert np.allclose(gamma_gamma_mean(theirs_params, data), expected, rtol=1e-9)


def test_discounted_value_is_lifetimes_clv() -> None:
    """Monthly steps discounted per month, × the expected spend: lifetimes' customer_lifetime
    value with the same months (it counts 4.345 weeks a month)."""
    data = cdnow()
    bgf = BetaGeoFitter().fit(data.x, data.t_x, data.T)
    repeat = data.x > 0
    ggf = GammaGammaFitter().fit(data.x[repeat], data.zbar[repeat])
    x, tx, T = (pd.Series(v) for v in (data.x, data.t_x, data.T))
    z = pd.Series(np.nan_to_num(data.zbar))
    theirs = ggf.customer_lifetime_value(bgf, x, tx, T, z, time=12, discount_rate=0.01, freq="W")
    params = [bgf.params_[k] for k in ("r", "alpha", "a", "b")]
    spend = gamma_gamma_mean([ggf.params_[k] for k in ("p", "q", "v")], data)
    ours = bg_nbd_discounted(params, data, horizon=12 * 4.345, step=4.345, discount=0.01) * spend
    assert np.allclose(ours, theirs.to_numpy(), rtol=1e-9)
    # without discounting, the steps add up to the purchases of the whole horizon
    flat = bg_nbd_discounted(params, data, horizon=52.0, step=4.0, discount=0.0)
    assert np.allclose(flat, bg_nbd_expected(params, data, 52.0), rtol=1e-12)
