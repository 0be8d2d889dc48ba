"""Intervals of predicted CLV per group, by a parametric bootstrap over the fitted models.

The models' parameters are drawn from their estimates' asymptotic normal distributions and
each group's mean future value recomputed under every draw. Evaluating every customer under
hundreds of draws is what makes a bootstrap slow, so each draw is evaluated on a fixed random
subset of each group (cheaply: e.g. over quarters instead of months), and its ratio to the
estimate evaluated the same way scales the group's exact mean. A group's future value is the
sum of its models' parts (renewals and purchases at will, drawn independently); its value to
date is data, not estimated. The interval covers how well the data pins the models down, not
how many customers a group happens to have (the metric layer's ``--ci`` is that one).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

BUDGET = 5_000
"""Customers each draw is evaluated on, over all groups (each group at least MIN_PER_GROUP)."""
MIN_PER_GROUP = 25
PER_GROUP = 1_000


@dataclass(frozen=True)
class Part:
    """One model's share of each customer's future value, and how to redo it under a draw."""

    value: F64
    """Per customer, under the estimate (exact)."""
    estimate: F64
    """The parameters estimated (one vector)."""
    draws: F64
    """Parameter draws, one per row."""
    evaluate: Callable[[F64, I64], F64]
    """Parameters, customers (rows of ``value``) → their values, evaluated cheaply."""


@dataclass(frozen=True)
class GroupInterval:
    group: Hashable
    customers: int
    value_to_date: float
    future_value: float
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.value_to_date + self.future_value


def group_intervals(
    labels: Sequence[Hashable],
    to_date: F64,
    parts: Sequence[Part],
    *,
    level: float,
    seed: int = 0,
) -> tuple[list[GroupInterval], GroupInterval]:
    """Per group (in order of first appearance) and for everyone: the mean value's interval."""
    names = list(dict.fromkeys(labels))
    index = {name: i for i, name in enumerate(names)}
    code = np.fromiter((index[x] for x in labels), dtype=np.int64, count=len(labels))
    k = len(names)
    sizes = np.bincount(code, minlength=k)
    rng = np.random.default_rng(seed)
    per_group = min(PER_GROUP, max(MIN_PER_GROUP, BUDGET // max(k, 1)))
    chosen: list[I64] = []
    for g in range(k):
        members = np.flatnonzero(code == g)
        chosen.append(
            members
            if len(members) <= per_group
            else np.sort(rng.choice(members, per_group, replace=False))
        )
    subset = np.concatenate(chosen) if chosen else np.zeros(0, dtype=np.int64)
    owner = code[subset]
    draws = min((len(p.draws) for p in parts), default=0)
    to_date_mean = np.bincount(code, weights=to_date, minlength=k) / np.maximum(sizes, 1)
    future_mean = np.zeros(k)
    future_draws = np.zeros((draws, k))
    for part in parts:
        mean = np.bincount(code, weights=part.value, minlength=k) / np.maximum(sizes, 1)
        base = np.bincount(owner, weights=part.evaluate(part.estimate, subset), minlength=k)
        future_mean += mean
        for d in range(draws):
            drawn = np.bincount(owner, weights=part.evaluate(part.draws[d], subset), minlength=k)
            ratio = np.divide(drawn, base, out=np.ones(k), where=base > 0)
            future_draws[d] += mean * ratio
    tail = (1 - level) / 2
    rows: list[GroupInterval] = []
    for g, name in enumerate(names):
        low, high = _quantiles(to_date_mean[g] + future_draws[:, g], tail)
        rows.append(
            GroupInterval(
                name, int(sizes[g]), float(to_date_mean[g]), float(future_mean[g]), low, high
            )
        )
    n = max(int(sizes.sum()), 1)
    everyone = (future_draws @ sizes + float(to_date.sum())) / n
    low, high = _quantiles(everyone, tail)
    total = GroupInterval(
        None,
        int(sizes.sum()),
        float(to_date.sum()) / n,
        float(sum(p.value.sum() for p in parts)) / n,
        low,
        high,
    )
    return rows, total


def _quantiles(values: F64, tail: float) -> tuple[float, float]:
    if not len(values):
        return float("nan"), float("nan")
    low, high = np.quantile(values, [tail, 1 - tail])
    return float(low), float(high)
