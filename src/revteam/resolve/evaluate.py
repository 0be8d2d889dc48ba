"""Pairwise precision and recall of a clustering against known true clusters.

Two records form a predicted pair when they share a unified id, a true pair when they share a
true cluster. Precision is the share of predicted pairs that are true, recall the share of true
pairs that were predicted; counting pairs within clusters needs no loop over pairs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class PairwiseScores:
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _pairs(sizes: Counter[object]) -> int:
    return sum(n * (n - 1) // 2 for n in sizes.values())


def pairwise_scores(predicted: Mapping[str, str], truth: Mapping[str, str]) -> PairwiseScores:
    """Score ``predicted`` (record → cluster) against ``truth`` (record → true cluster)."""
    common = predicted.keys() & truth.keys()
    return PairwiseScores(
        predicted_pairs=_pairs(Counter(predicted[r] for r in common)),
        true_pairs=_pairs(Counter(truth[r] for r in common)),
        correct_pairs=_pairs(Counter((predicted[r], truth[r]) for r in common)),
    )
