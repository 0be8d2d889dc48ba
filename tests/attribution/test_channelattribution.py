"""revteam's attribution models against ChannelAttribution 2.2.5 on the same paths.

ChannelAttribution is GPL-licensed: it is a dev dependency for this test and
``benchmarks/bench_attribution.py`` only, never imported by revteam. Its conventions, read from
its source (``functions.cpp``: ``heuristic_models_cpp``, ``markov_model_cpp``,
``W_markov_model_1``, ``transition_matrix_cpp``):

- Heuristics: first touch credits a path's first touch, last touch its last, and linear touch
  gives every touch ``1/n``, a repeated channel once per touch ("A > B > A": A 2/3, B 1/3).
  These are revteam's ``first_touch``, ``last_touch`` and ``linear``; value is credited alike.
  Non-converting paths (nulls) are ignored by both.
- Markov: the same chain (states merged where a path repeats a channel, so no self-loops, as in
  ``markov_model``; its separate ``transition_matrix`` function keeps them unless
  ``flg_equal=False``), checked transition by transition below. ChannelAttribution estimates
  the removal effects by simulation: a channel's effect is the share of simulated conversions
  that visited it, which is revteam's exact ``1 - P(-c)/P``; credit is conversions in
  proportion to the effects. Value: each simulated conversion draws a value per conversion from
  the paths ending in its last state, and value is shared by the value-weighted effects, which
  is revteam's ``details["value_by_removal"]`` (``channel_value`` is the per-touch audit's).
- Sampling noise: ``markov_model`` returns one of its ``nfold`` (10) sub-runs (the one nearest
  their median), each of ``nsim_start / nfold`` simulated paths; sub-run ``r`` uses the seed
  ``seed + r``. So its answer varies with ``seed``: the test runs it with ``RUNS`` seeds far
  apart and asks revteam's exact values to lie within ``SIGMAS`` of its standard deviations of
  their mean (four, as eight runs estimate a deviation only roughly; revteam's lie within 1.5).
  With 1e6 simulations a deviation is at most 1.7% of its figure (``NOISE_MAX`` keeps the check
  that sharp): the audit's ``channel_value`` in place of ``value_by_removal`` would be 98
  deviations off on the tiny paths.
- ``max_step``: by default a simulated path is cut after as many steps as the longest observed
  path and counted as not converting (6.7% of the simulated paths on the shared data), a bias
  of its own (not noise: paths through the chain can be longer than any observed one). revteam
  solves the chain exactly, with no cut; the test sets ``max_step`` far above any path's length
  so that only the sampling noise is left.
- ChannelAttribution takes conversions as whole numbers (C++ ``unsigned long``): the shared
  data has integer counts.
"""

from __future__ import annotations

import contextlib
import io
from types import ModuleType

import numpy as np
import pandas as pd
import pytest

from revteam.attribution.models import attribute, transition_matrix
from revteam.attribution.paths import Journeys

HEURISTICS = {"first_touch": "first_touch", "last_touch": "last_touch", "linear": "linear_touch"}
HEURISTIC_TOL = 1e-6
RUNS = 8
SIGMAS = 4.0
NOISE_MAX = 0.03  # of each value, for one run
SIMULATIONS = 1_000_000  # per markov_model call, over its 10 sub-runs
MAX_STEP = 1_000  # no simulated path is cut (the shared paths have at most 12 touches)


def channelattribution() -> ModuleType:
    # it prints a "Pro" banner and its version on import; under CI=true a skip fails the run
    with contextlib.redirect_stdout(io.StringIO()):
        return pytest.importorskip("ChannelAttribution")


def shared_paths(n_paths: int = 10_000, n_channels: int = 8, seed: int = 20261205) -> pd.DataFrame:
    """Distinct paths with conversions, nulls and value, as ChannelAttribution reads them.

    Paths of 1-12 touches over ``n_channels`` channels of unequal reach, drawn with repeats
    (so channels recur, also back to back); each path is seen 1-49 times and converts with odds
    raised by some channels and lowered by others; value is a gamma amount per conversion.
    """
    rng = np.random.default_rng(seed)
    names = np.array([f"ch{i}" for i in range(n_channels)])
    reach = rng.dirichlet(np.full(n_channels, 2.0))
    lift = rng.normal(0.0, 0.6, n_channels)
    rows: dict[str, tuple[int, int, float]] = {}
    while len(rows) < n_paths:
        touches = rng.choice(n_channels, min(int(rng.geometric(0.35)), 12), p=reach)
        path = " > ".join(names[touches])
        if path in rows:
            continue
        seen = int(rng.integers(1, 50))
        rate = 1 / (1 + np.exp(2.5 - 0.5 * lift[touches].sum() - 0.1 * len(touches)))
        won = int(rng.binomial(seen, rate))
        rows[path] = (won, seen - won, round(float(rng.gamma(2.0, 100.0, won).sum()), 2))
    conv, null, value = zip(*rows.values(), strict=True)
    return pd.DataFrame({"path": list(rows), "conv": conv, "null": null, "value": value})


def journeys_of(df: pd.DataFrame) -> Journeys:
    return Journeys.from_paths(
        df["path"].tolist(), df["conv"].tolist(), df["null"].tolist(), df["value"].tolist()
    )


def by_channel(journeys: Journeys, values: np.ndarray) -> pd.Series:
    return pd.Series(values, index=list(journeys.channels))


def aligned(ours: pd.Series, theirs: pd.Series) -> pd.Series:
    assert set(ours.index) == set(theirs.index)
    return theirs.reindex(ours.index)


@pytest.fixture(scope="module")
def ca() -> ModuleType:
    return channelattribution()


@pytest.fixture(scope="module")
def shared() -> pd.DataFrame:
    return shared_paths()


# -- heuristics: the same numbers ---------------------------------------------------------------
TINY = [
    # pychattr's README: linear A = 3/6 + 3/5 + 2/2 = 2.1, B = 0.9
    pd.DataFrame(
        {
            "path": ["A > B > A > B > B > A", "A > B > B > A > A", "A > A"],
            "conv": [1, 1, 1],
            "null": [0, 0, 0],
            "value": [1.0, 1.0, 1.0],
        }
    ),
    # blanks around names, no blank around a separator, a path that never converts
    pd.DataFrame(
        {
            "path": ["c1 > c2 > c3", " c1", "c2>c3 > c4", "c3 > c1 > c1 > c2"],
            "conv": [3, 0, 1, 2],
            "null": [1, 5, 2, 0],
            "value": [300.0, 0.0, 45.5, 120.25],
        }
    ),
]


@pytest.mark.parametrize("df", [*TINY, "shared"], ids=["pychattr", "tiny", "shared"])
def test_heuristics_match_channelattribution(ca, shared, df):
    df = shared if isinstance(df, str) else df
    journeys = journeys_of(df)
    theirs = ca.heuristic_models(df, "path", "conv", var_value="value", flg_pro=False)
    theirs = theirs.set_index("channel_name")
    for model, name in HEURISTICS.items():
        credit = attribute(journeys, model)
        for ours, column in (
            (credit.channel_credit, f"{name}_conversions"),
            (credit.channel_value, f"{name}_value"),
        ):
            mine = by_channel(journeys, ours)
            gap = (mine - aligned(mine, theirs[column])).abs().max()
            assert gap <= HEURISTIC_TOL, (model, column, gap)


# -- Markov: the same chain, exactly ------------------------------------------------------------
def ca_transitions(ca: ModuleType, df: pd.DataFrame, order: int) -> dict[tuple[str, str], float]:
    """ChannelAttribution's transition probabilities, its states named as revteam names them.

    It numbers channels from 1 and names a state by its channels' numbers ("3 1" at order 2);
    ``flg_equal=False`` drops the self-loops that ``markov_model`` drops too.
    """
    found = ca.transition_matrix(
        df, "path", "conv", "null", order=order, flg_equal=False, flg_pro=False
    )
    channels = found["channels"]
    names = dict(zip(channels["id_channel"].astype(str), channels["channel_name"], strict=True))

    def label(state: str) -> str:
        return state if state.startswith("(") else ",".join(names[i] for i in state.split())

    rows = found["transition_matrix"].itertuples(index=False)
    return {(label(a), label(b)): p for a, b, p in rows}


@pytest.mark.parametrize("order", [1, 2, 3])
def test_markov_chain_matches_channelattribution(ca, shared, order):
    for df in (shared, TINY[1]):
        theirs = ca_transitions(ca, df, order)
        ours = {(a, b): p for a, b, p in transition_matrix(journeys_of(df), order=order)}
        assert set(ours) == set(theirs)
        assert max(abs(ours[k] - theirs[k]) for k in ours) <= 1e-12


# -- Markov: revteam's exact credit within ChannelAttribution's sampling noise ------------------
def simulated(ca: ModuleType, df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """ChannelAttribution's order-1 results over ``RUNS`` seeds: a column per run."""
    runs: dict[str, list[pd.Series]] = {"conversions": [], "value": [], "removal": []}
    for run in range(RUNS):
        found = ca.markov_model(
            df,
            "path",
            "conv",
            var_value="value",
            var_null="null",
            nsim_start=SIMULATIONS,
            max_step=MAX_STEP,
            out_more=True,
            seed=1000 * run,  # sub-runs use seed .. seed + 9: keep the streams apart
            verbose=False,
            flg_pro=False,
        )
        result = found["result"].set_index("channel_name")
        runs["conversions"].append(result["total_conversions"])
        runs["value"].append(result["total_conversion_value"])
        effects = found["removal_effects"].set_index("channel_name")
        runs["removal"].append(effects["removal_effects_conversion"])
    return {name: pd.concat(series, axis=1) for name, series in runs.items()}


def assert_within_noise(ours: pd.Series, runs: pd.DataFrame, what: str) -> None:
    runs = runs.reindex(ours.index)
    assert not runs.isna().any().any(), what
    mean, spread = runs.mean(axis=1), runs.std(axis=1, ddof=1)
    gap = (ours - mean).abs()
    # a channel every simulated conversion visits has no spread (removal effect 1 each time)
    allowed = np.maximum(SIGMAS * spread, 1e-9 * max(ours.abs().max(), 1.0))
    assert (gap <= allowed).all(), pd.DataFrame({"ours": ours, "mean": mean, "sd": spread})
    # and the noise is small enough for that to mean something (1.7% at most here)
    assert (spread <= NOISE_MAX * mean.abs()).all(), (what, (spread / mean).max())


CLASSIC = pd.DataFrame(
    # c1 > c2 > c3 converts; c1 and c2 > c3 do not: removal effects 1/2, 1, 1 (test_models.py)
    {"path": ["c1 > c2 > c3", "c1", "c2 > c3"], "conv": [1, 0, 0], "null": [0, 1, 1]}
).assign(value=[50.0, 0.0, 0.0])


@pytest.mark.slow
@pytest.mark.parametrize("df", ["shared", CLASSIC, TINY[1]], ids=["shared", "classic", "tiny"])
def test_markov_within_channelattribution_sampling_noise(ca, shared, df):
    df = shared if isinstance(df, str) else df
    journeys = journeys_of(df)
    credit = attribute(journeys, "markov")
    runs = simulated(ca, df)
    assert_within_noise(by_channel(journeys, credit.channel_credit), runs["conversions"], "conv")
    value = by_channel(journeys, credit.details["value_by_removal"])
    assert_within_noise(value, runs["value"], "value")
    effects = by_channel(journeys, credit.details["removal_effects"])
    assert_within_noise(effects, runs["removal"], "removal effects")
