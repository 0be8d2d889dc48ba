"""Derived metrics: small arithmetic formulas over other metrics, evaluated after aggregation.

A formula is parsed with Python's own parser and only a tiny subset is accepted: metric ids,
numbers, ``+ - * /``, parentheses, ``previous(metric)``, ``year_ago(metric)`` and the constant
``gross_margin`` (``numerator`` and ``denominator`` too, in a formula's ``value``). Nothing is
ever passed to ``eval``: the tree is walked here. Evaluating on the already-aggregated parts of
each (period, dimension values) row is what keeps a derived number and its parts in agreement
(pipeline velocity is computed from the very counts and rates shown beside it).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from functools import lru_cache

CONSTANTS = frozenset({"gross_margin"})
PARTS = frozenset({"numerator", "denominator"})
SHIFTS = frozenset({"previous", "year_ago"})

Lookup = Callable[[str, str | None], float | None]
"""Value of a metric (or constant) for the current row; the second argument is a shift name."""


class FormulaSyntaxError(ValueError):
    """A formula uses something outside the accepted subset (reported by the catalogue)."""

    def __init__(self, expression: str, problem: str) -> None:
        self.expression, self.problem = expression, problem
        super().__init__(f"cannot use formula {expression!r}: {problem}")


@lru_cache(maxsize=512)
def parse(expression: str) -> ast.expr:
    """Parse and check a formula; raise :class:`FormulaSyntaxError` if it is not allowed."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as exc:
        raise FormulaSyntaxError(expression, f"not an expression ({exc.msg})") from None
    _check(tree, expression)
    return tree


def _check(node: ast.AST, text: str) -> None:
    arithmetic = ast.Add | ast.Sub | ast.Mult | ast.Div
    if isinstance(node, ast.BinOp) and isinstance(node.op, arithmetic):
        _check(node.left, text)
        _check(node.right, text)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, text)
    elif isinstance(node, ast.Name) or (
        isinstance(node, ast.Constant) and type(node.value) in {int, float}
    ):
        return
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id not in SHIFTS or len(node.args) != 1 or node.keywords:
            raise FormulaSyntaxError(
                text, f"only {', '.join(sorted(SHIFTS))} with one metric id can be called"
            )
        if not isinstance(node.args[0], ast.Name):
            raise FormulaSyntaxError(text, f"{node.func.id}() takes a metric id")
    else:
        raise FormulaSyntaxError(
            text,
            "use metric ids, numbers, + - * /, parentheses, previous(), year_ago() and "
            "gross_margin",
        )


def names_in(expression: str) -> list[str]:
    """Metric ids a formula reads (constants and parts excluded); [] if it does not parse."""
    try:
        tree = parse(expression)
    except FormulaSyntaxError:
        return []
    found = [
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id not in CONSTANTS | PARTS | SHIFTS
    ]
    return list(dict.fromkeys(found))


def shifts_in(expression: str) -> set[tuple[str, str]]:
    """``(shift, metric)`` pairs such as ``("previous", "revenue")`` used by a formula."""
    return {
        (n.func.id, n.args[0].id)
        for n in ast.walk(parse(expression))
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Name)
        and isinstance(n.args[0], ast.Name)
    }


def evaluate(expression: str, lookup: Lookup) -> float | None:
    """The formula's value for one row; ``None`` when a part is missing or a divisor is 0."""
    return _eval(parse(expression), lookup)


def _eval(node: ast.expr, lookup: Lookup) -> float | None:
    if isinstance(node, ast.Constant):
        assert isinstance(node.value, int | float)
        return float(node.value)
    if isinstance(node, ast.Name):
        return lookup(node.id, None)
    if isinstance(node, ast.Call):
        return lookup(node.args[0].id, node.func.id)  # type: ignore[attr-defined]
    if isinstance(node, ast.UnaryOp):
        inner = _eval(node.operand, lookup)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    assert isinstance(node, ast.BinOp)
    left, right = _eval(node.left, lookup), _eval(node.right, lookup)
    if left is None or right is None:
        return None
    if isinstance(node.op, ast.Add):
        return left + right
    if isinstance(node.op, ast.Sub):
        return left - right
    if isinstance(node.op, ast.Mult):
        return left * right
    return left / right if right else None
