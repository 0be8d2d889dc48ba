"""Intervals of predicted CLV per group (revteam.clv.bootstrap), against hand calculations and
against the bootstrap without subsets."""

from __future__ import annotations

import numpy as np
import pytest

from revteam.clv import bootstrap as B
from revteam.clv.bootstrap import Part, group_intervals


def linear_part(x: np.ndarray, draws: np.ndarray) -> Part:
    """Each customer's future value is θ·x: a draw scales every customer alike."""
    return Part(
        value=2.0 * x,
        estimate=np.array([2.0]),
        draws=draws,
        evaluate=lambda params, rows: params[0] * x[rows],
    )


def test_a_part_that_scales_every_customer_gives_the_draws_quantiles_by_hand() -> None:
    rng = np.random.default_rng(1)
    x = rng.gamma(2.0, 50.0, 3_000)
    labels = rng.choice(["a", "b", "c"], 3_000).tolist()
    to_date = rng.gamma(1.0, 100.0, 3_000)
    theta = rng.normal(2.0, 0.1, (400, 1))
    groups, everyone = group_intervals(labels, to_date, [linear_part(x, theta)], level=0.8)
    q = np.quantile(theta[:, 0], [0.1, 0.9])
    for g in groups:
        mine = np.array(labels) == g.group
        assert g.customers == mine.sum()
        assert g.value_to_date == pytest.approx(to_date[mine].mean())
        assert g.future_value == pytest.approx(2.0 * x[mine].mean())
        # θ·mean(x) at the draws' quantiles, plus what is already paid
        assert (g.low, g.high) == pytest.approx(tuple(to_date[mine].mean() + q * x[mine].mean()))
    assert (everyone.low, everyone.high) == pytest.approx(tuple(to_date.mean() + q * x.mean()))
    assert everyone.value == pytest.approx(to_date.mean() + 2.0 * x.mean())


def test_two_parts_drawn_independently_add_draw_by_draw() -> None:
    rng = np.random.default_rng(2)
    x, y = rng.gamma(2.0, 50.0, 500), rng.gamma(3.0, 20.0, 500)
    one, two = rng.normal(2.0, 0.1, (300, 1)), rng.normal(2.0, 0.3, (300, 1))
    parts = [linear_part(x, one), linear_part(y, two)]
    (group,), _ = group_intervals(["all"] * 500, np.zeros(500), parts, level=0.9)
    sums = one[:, 0] * x.mean() + two[:, 0] * y.mean()
    assert (group.low, group.high) == pytest.approx(tuple(np.quantile(sums, [0.05, 0.95])))


def test_subsets_give_the_full_bootstrap_s_interval(monkeypatch) -> None:
    """A part where a draw changes customers differently (a rate over time, discounted): the
    interval from each group's subset is within a few percent of evaluating everyone."""
    rng = np.random.default_rng(3)
    n = 20_000
    rate, tenure = rng.gamma(1.5, 0.5, n), rng.uniform(0.5, 3.0, n)
    labels = rng.choice(["big", "small", "tiny"], n, p=[0.7, 0.28, 0.02]).tolist()

    def evaluate(params: np.ndarray, rows: np.ndarray) -> np.ndarray:
        growth, churn = params
        return rate[rows] * tenure[rows] ** growth / (1 + churn * tenure[rows])

    draws = np.column_stack([rng.normal(0.8, 0.15, 200), rng.gamma(20, 0.01, 200)])
    estimate = np.array([0.8, 0.2])
    part = Part(evaluate(estimate, np.arange(n)), estimate, draws, evaluate)
    sampled, _ = group_intervals(labels, np.zeros(n), [part], level=0.9)
    monkeypatch.setattr(B, "BUDGET", 10**9)
    monkeypatch.setattr(B, "PER_GROUP", 10**9)
    full, _ = group_intervals(labels, np.zeros(n), [part], level=0.9)
    for s, f in zip(sampled, full, strict=True):
        assert s.future_value == f.future_value  # the estimate is always exact
        assert s.low == pytest.approx(f.low, rel=0.03) and s.high == pytest.approx(f.high, rel=0.03)
        assert s.low < s.future_value < s.high


def test_many_groups_share_the_budget() -> None:
    x = np.ones(10_000)
    labels = [i % 400 for i in range(10_000)]
    seen: list[int] = []

    def evaluate(params: np.ndarray, rows: np.ndarray) -> np.ndarray:
        seen.append(len(rows))
        return params[0] * x[rows]

    part = Part(x, np.array([1.0]), np.ones((3, 1)), evaluate)
    groups, _ = group_intervals(labels, np.zeros(10_000), [part], level=0.9)
    assert len(groups) == 400
    # at least MIN_PER_GROUP customers of each group, so at most 400 × 25 a draw
    assert max(seen) == 400 * B.MIN_PER_GROUP
