"""The published estimates, reproduced.

- BG/NBD on the CDNOW sample (Fader, Hardie & Lee 2005, "Counting your customers the easy way",
  Marketing Science 24(2)): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL = -9582.4, from the
  2,357 customers' 39-week calibration period, time in weeks.
- Gamma-Gamma on the same customers' repeat transactions (Fader & Hardie 2013, "The Gamma-Gamma
  model of monetary value"): p = 6.25, q = 3.74, γ = 15.44 over the 946 repeat customers.
- sBG on the paper's two cohorts (Fader & Hardie 2007, "How to project customer retention",
  Journal of Interactive Marketing 21(1)), fitted on years 0-7: regular α = 0.704, β = 1.182;
  high end α = 0.668, β = 3.806.

The CDNOW transactions are summarised here from the raw file (not read from the summary), and
the summary is checked against the one the papers fit.
"""

from __future__ import annotations

import csv
import datetime as dt

import numpy as np
import pyarrow as pa
import pytest
from tests.conftest import FIXTURES

from revteam.clv import Lifetimes, fit_bg_nbd, fit_gamma_gamma, fit_sbg, summarise
from revteam.clv.models import sbg_derl, sbg_survival

CDNOW = FIXTURES / "clv"
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]
"""Customers alive at years 0-7 of 1,000 (Fader & Hardie 2007, Table 1)."""


@pytest.fixture(scope="module")
def cdnow():
    ids, days, values = [], [], []
    for line in (CDNOW / "CDNOW_sample.txt").read_text().splitlines():
        _, sample_id, day, _, value = line.split()
        ids.append(sample_id)
        days.append(dt.datetime.strptime(day, "%Y%m%d"))
        values.append(float(value))
    return summarise(
        pa.array(ids),
        pa.array(days, pa.timestamp("us")),
        pa.array(values),
        start=dt.date(1997, 1, 1),
        end=dt.date(1997, 9, 30),
        unit="week",
    )


def test_the_cdnow_summary_is_the_papers(cdnow) -> None:
    with (CDNOW / "cdnow_customers_summary_with_transactions.csv").open() as f:
        want = {row["ID"]: row for row in csv.DictReader(f)}
    assert cdnow.n == len(want) == 2357
    got = {
        str(int(c)): (x, tx, T, z)
        for c, x, tx, T, z in zip(
            cdnow.customers.to_pylist(),
            cdnow.data.x,
            cdnow.data.t_x,
            cdnow.data.T,
            cdnow.data.zbar,
            strict=True,
        )
    }
    for cid, row in want.items():
        x, tx, T, z = got[cid]
        assert x == int(row["x"])
        assert round(tx, 2) == pytest.approx(float(row["t_x"]), abs=0.011)
        assert round(T, 2) == pytest.approx(float(row["T"]), abs=0.011)
        if x > 0:
            assert round(z, 2) == pytest.approx(float(row["zbar"]), abs=0.011)
    assert int((cdnow.data.x > 0).sum()) == 946


def test_bg_nbd_on_cdnow_is_the_published_fit(cdnow) -> None:
    fit = fit_bg_nbd(cdnow.data)
    assert fit.converged and not fit.warnings
    got = {k: round(v, 3) for k, v in fit.params.items()}
    assert got == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(fit.log_likelihood, 1) == -9582.4
    assert all(0 < se < v for v, se in zip(fit.params.values(), fit.se.values(), strict=True))


def test_gamma_gamma_on_cdnow_is_the_published_fit(cdnow) -> None:
    fit = fit_gamma_gamma(cdnow.data)
    assert fit.converged and fit.n == 946
    got = {k: round(v, 2) for k, v in fit.params.items()}
    assert got == {"p": 6.25, "q": 3.74, "gamma": 15.44}


@pytest.mark.parametrize(
    ("cohort", "alpha", "beta"), [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)]
)
def test_sbg_on_the_papers_cohorts(cohort, alpha, beta) -> None:
    fit = fit_sbg(Lifetimes.from_survivors(cohort))
    assert fit.converged
    assert (round(fit.params["alpha"], 3), round(fit.params["beta"], 3)) == (alpha, beta)
    # and the fitted curve runs through the observed one (within 2% of the cohort, as in the
    # paper's Figure 3)
    fitted = 1000 * sbg_survival([fit.params["alpha"], fit.params["beta"]], np.arange(8))
    assert np.abs(fitted - np.array(cohort)).max() < 20


def test_derl_is_the_discounted_sum_of_survival() -> None:
    """The closed form against the sum it stands for: Σ_{t>n} S(t)/S(n) / (1+d)^(t-n-1)."""
    params = [0.668, 3.806]
    t = np.arange(0, 5000)
    survival = sbg_survival(params, t)
    for renewals in (0, 1, 4, 7):
        for d in (0.05, 0.1, 0.2):
            ahead = t[renewals + 1 :]
            discount = np.exp(-(ahead - renewals - 1) * np.log1p(d))
            brute = (survival[ahead] / survival[renewals] * discount).sum()
            assert sbg_derl(params, d, renewals) == pytest.approx(brute, rel=1e-9)
