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
