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
import math
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


MIN_SAMPLE = 30
"""Below this many records a rate is marked as a small sample and not tested."""
FDR = 0.05


@dataclass(frozen=True)
class Difference:
    direction: int
    """+1 significantly higher than the rest, -1 lower, 0 not significant."""


def _p_two_sided(x1: float, n1: float, x0: float, n0: float) -> float | None:
    if n1 <= 0 or n0 <= 0:
        return None
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return None
    z = (x1 / n1 - x0 / n0) / se
    return math.erfc(abs(z) / math.sqrt(2))


def differences(
    parts: Mapping[str, tuple[float, float]], total: tuple[float, float]
) -> dict[str, Difference]:
    """Test each group's ``(numerator, denominator)`` against the rest of ``total``."""
    tested: dict[str, tuple[float, int]] = {}
    for key, (x, n) in parts.items():
        if n < MIN_SAMPLE:
            continue
        p = _p_two_sided(x, n, total[0] - x, total[1] - n)
        if p is not None:
            rest = (total[0] - x) / (total[1] - n) if total[1] > n else 0.0
            tested[key] = (p, 1 if x / n > rest else -1)
    ranked = sorted(tested, key=lambda k: tested[k][0])
    m = len(ranked)
    cutoff = 0
    for i, key in enumerate(ranked, start=1):
        if tested[key][0] <= FDR * i / m:
            cutoff = i
    significant = set(ranked[:cutoff])
    return {key: Difference(tested[key][1] if key in significant else 0) for key in tested}
