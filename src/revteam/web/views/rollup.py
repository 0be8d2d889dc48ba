"""Numbers for whole ranges and groups: roll-ups from per-period parts, and group comparisons.

The metric layer answers per period. A table of campaigns needs one value per campaign for the
whole range, and a ratio must then be recomputed from summed parts, never averaged: CPL over six
months is six months' cost ÷ six months' leads. Cohort rates sum mature cohorts only (an
immature cohort would drag the rate down); medians cannot be combined and say so.

Until ``ws.stats`` offers comparisons, :func:`differences` runs a two-proportion z-test of each
group against all other groups, with the Benjamini-Hochberg procedure across groups so that a
table of forty campaigns does not light up two "significant" cells by luck alone.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from revteam.metrics import MetricSpec
from revteam.metrics.derived import CONSTANTS

PART_KINDS = frozenset({"ratio", "cohort_rate", "mean"})


@dataclass(frozen=True)
class Total:
    value: float | None
    numerator: float | None = None
    denominator: float | None = None
    n: int | None = None
    immature_left_out: int = 0
    """Periods left out because their cohorts were younger than the window."""
    combinable: bool = True


def _degree(node: ast.AST) -> int | None:
    """Polynomial degree of a formula in metric ids (``None``: not a polynomial)."""
    if isinstance(node, ast.Constant):
        return 0
    if isinstance(node, ast.Name):
        return 0 if node.id in CONSTANTS else 1
    if isinstance(node, ast.UnaryOp):
        return _degree(node.operand)
    if isinstance(node, ast.BinOp):
        left, right = _degree(node.left), _degree(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add | ast.Sub):
            return max(left, right)
        if isinstance(node.op, ast.Mult):
            return left + right
        if isinstance(node.op, ast.Div) and right == 0:
            return left
    return None


def linear(expression: str | None) -> bool:
    """Whether a formula part is a sum of metrics times constants (so it adds up over periods)."""
    if expression is None:
        return False
    try:
        degree = _degree(ast.parse(expression, mode="eval").body)
    except SyntaxError:
        return False
    return degree is not None and degree <= 1


def combinable(spec: MetricSpec) -> bool:
    if spec.kind in {"count", "sum", *PART_KINDS}:
        return True
    if spec.kind == "derived" and spec.formula and spec.formula.value is None:
        return linear(spec.formula.numerator) and linear(spec.formula.denominator)
    return False


def rollup(spec: MetricSpec, rows: Sequence[dict[str, Any]]) -> Total:
    """The metric over all ``rows`` (one group's periods)."""
    if not combinable(spec):
        if spec.kind == "snapshot" and rows:
            last = max(rows, key=lambda r: r["period"])
            return Total(last["value"], n=last.get("n"))
        return Total(None, combinable=False)
    mature = [r for r in rows if not r.get("immature")]
    left_out = len(rows) - len(mature)
    counts = [int(r["n"]) for r in mature if r.get("n") is not None]
    n = sum(counts) if counts else None
    if spec.kind in {"count", "sum"}:
        values = [r["value"] for r in mature if r["value"] is not None]
        return Total(float(sum(values)) if values else None, n=n, immature_left_out=left_out)
    num = sum(float(r["numerator"]) for r in mature if r.get("numerator") is not None)
    den = sum(float(r["denominator"]) for r in mature if r.get("denominator") is not None)
    value = num / den if den else None
    return Total(value, num, den, n, left_out)


FDR = 0.05
"""False-discovery rate across the groups of one table (Benjamini-Hochberg)."""


@dataclass(frozen=True)
class Difference:
    direction: int
    """+1 significantly higher than the rest, -1 lower, 0 not significant."""


def differences(
    parts: Mapping[str, tuple[float, float]], total: tuple[float, float]
) -> dict[str, Difference]:
    """Test each group's ``(numerator, denominator)`` against the rest of ``total``.

    The test is :func:`revteam.stats.compare_rates` (z-test, Fisher's exact test for small
    counts, Benjamini-Hochberg across groups); groups under :data:`revteam.stats.MIN_N`
    records are not tested, and neither is a group that is the whole total.
    """
    from revteam.stats import MIN_N, compare_rates

    keys = [key for key, (_, n) in parts.items() if n >= MIN_N and total[1] > n]
    if not keys:
        return {}
    x, n = ([parts[key][i] for key in keys] for i in (0, 1))
    result = compare_rates(
        keys,
        x,
        n,
        [total[0] - v for v in x],
        [total[1] - v for v in n],
        alpha=FDR,
    ).to_pylist()
    return {
        r["segment"]: Difference((1 if r["difference"] > 0 else -1) if r["significant"] else 0)
        for r in result
        if r["p_value"] is not None
    }
