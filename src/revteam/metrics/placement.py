"""Records a KPI could not place: deals without the account that account-based KPIs need.

A deal may have no company (CRMs allow it, and refusing it would lose its revenue). It counts
in every deal and revenue KPI. A KPI that needs the deal's account cannot place it: one that
counts accounts or sums an account's revenue (new customers, CLV, CAC) leaves it out, and a
breakdown or filter by the account's segment, industry, region or country puts it under
``(none)``. The result says how many deals each such KPI could not place
(:attr:`MetricResult.unplaced <revteam.metrics.result.MetricResult.unplaced>`), counted here
from the same rows the KPI reads (:func:`revteam.metrics.compiler.compile_group`, with the
request's range and filters), so the count and the number cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from revteam.metrics.compiler import statements
from revteam.metrics.dimensions import reach
from revteam.metrics.plan import Atom, Group, Plan, Recipe
from revteam.metrics.request import NULL_VALUE
from revteam.metrics.sources import RELATIONS, Context, TableProvider
from revteam.metrics.spec import Filter

if TYPE_CHECKING:
    import pyarrow as pa

PLACED_BY: dict[str, tuple[str, str]] = {"opportunities": ("account_id", "deal")}
"""Tables whose records may lack an account: the column that places them, and their noun."""

STANDS_IN: dict[str, Filter] = {"is_first_win": Filter(column="is_won", value=True)}
"""What an account-based condition asks of a record without an account: a deal that could
have been its account's first win is a won deal. Other account-based conditions are dropped."""


@dataclass(frozen=True)
class Unplaced:
    """Records behind a metric that it could not place for want of an account."""

    metric: str
    records: int
    noun: str
    left_out: bool
    """The metric leaves them out (it needs their account); else it counts them under
    ``(none)`` of :attr:`by`."""
    by: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """One sentence for people (``revteam kpis`` prints it under the numbers)."""
        n = f"{self.metric}: {self.records} {self.noun}(s) without an account"
        if self.left_out:
            return f"{n} not counted (the metric needs the account)"
        return f"{n} counted under {NULL_VALUE} by {', '.join(self.by)}"


@dataclass(frozen=True)
class _Check:
    metric: str
    atom: Atom
    noun: str
    left_out: bool
    by: tuple[str, ...]


@dataclass(frozen=True)
class Placement:
    """The statements that count unplaced records, one per fused group, and what they mean."""

    checks: tuple[_Check, ...] = ()
    groups: Mapping[tuple[object, ...], Group] = field(default_factory=dict)
    statements: Mapping[tuple[object, ...], str] = field(default_factory=dict)

    def count(self, execute: Callable[[str], pa.Table]) -> tuple[Unplaced, ...]:
        """Run the statements: one :class:`Unplaced` per metric with such records."""
        found: dict[Atom, int] = {}
        for key, sql in self.statements.items():
            data = execute(sql).to_pydict()
            for atom, name in self.groups[key].atoms.items():
                found[atom] = round(sum(v or 0 for v in data[name]))
        best: dict[str, _Check] = {}
        for c in self.checks:  # a metric's widest population (a ratio's denominator)
            if c.metric not in best or found[c.atom] > found[best[c.metric].atom]:
                best[c.metric] = c
        return tuple(
            Unplaced(c.metric, found[c.atom], c.noun, c.left_out, c.by)
            for c in best.values()
            if found[c.atom]
        )


def compile_placement(
    plan: Plan, ctx: Context, tables: TableProvider, *, dialect: str = "duckdb"
) -> Placement:
    """Count atoms for every requested metric that needs an account, fused and compiled."""
    checks = [
        check
        for metric in plan.query.metrics
        for recipe in _recipes(plan, metric)
        for atom in _atoms(recipe)
        if (check := _check(plan, metric, atom)) is not None
    ]
    if not checks:
        return Placement()
    groups: dict[tuple[object, ...], Group] = {}
    for c in checks:
        a = c.atom
        group = groups.setdefault(
            a.group_key, Group(a.relation, a.time, a.mode, a.open_until, (), start=plan.query.start)
        )
        group.atoms.setdefault(a, f"unplaced_{len(group.atoms)}")
    fused = Plan(plan.query, {}, groups, {})
    return Placement(tuple(checks), groups, statements(fused, ctx, tables, dialect=dialect))


def _recipes(plan: Plan, metric: str) -> list[Recipe]:
    """The metric's recipe and those of every metric it is derived from."""
    recipe = plan.recipes[metric]
    out = [recipe]
    for ref in recipe.spec.references():
        out += _recipes(plan, ref)
    return out


def _atoms(recipe: Recipe) -> list[Atom]:
    return [a for a in (recipe.denominator, recipe.value, recipe.numerator) if a is not None]


def _check(plan: Plan, metric: str, atom: Atom) -> _Check | None:
    """How to count ``atom``'s records without an account, if ``metric`` needs one there."""
    relation = RELATIONS[atom.relation]
    if relation.reach_table not in PLACED_BY:
        return None
    column, noun = PLACED_BY[relation.reach_table]
    based = {v.name for v in relation.virtual.values() if column in v.needs}
    left_out = bool(based & atom.columns)
    paths = reach(relation.reach_table)
    dims = dict.fromkeys((*atom.dims, *(d for d, _ in plan.query.where)))
    by = tuple(d for d in dims if (p := paths.get(d)) and p.hops and p.hops[0].column == column)
    if not left_out and not by:
        return None
    filters = [STANDS_IN.get(f.column) if f.column in based else f for f in atom.filters]
    kept = tuple(f for f in filters if f is not None)
    count = replace(
        atom,
        agg="count",
        measure=None,
        reached=(),
        window=None,
        dims=(),
        filters=(*kept, Filter(column=column, op="null", value=True)),
    )
    return _Check(metric, count, noun, left_out, by)
