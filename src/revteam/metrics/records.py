"""The records behind a number: the rows a metric's value is computed from, by construction.

A metric's value comes from *atoms* (one filtered aggregate each, see :mod:`.plan`); the
compiler reduces the rows of an atom's group (:func:`~revteam.metrics.compiler.rows`) under the
atom's condition. The records of a part are those same rows under the same condition, selected
instead of reduced, so they cannot drift from the published number: the count of a count's
records is its value, the sum of a sum's ``value`` column is its value, a ratio's numerator is
the count (or sum of ``value``) of its numerator records, a cohort's members are its
denominator records and the converted ones its numerator records.

Which rows a part holds:

- counts, sums, medians and snapshots have one set of records (every ``part`` gives it);
- ratios, cohort rates and means have a numerator and a denominator; ``part="all"`` gives the
  rows of either, flagged ``in_numerator`` and ``in_denominator`` (only where both parts read
  the same relation and time column);
- a ratio of two metrics drills into the metric of the part asked for, and a derived metric
  into the one metric its numerator or denominator names (``previous(m)`` gives m's records of
  the period before, labelled with the period they are compared in).
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, get_args

from revteam.exceptions import MetricQueryError
from revteam.metrics import derived, periods, request
from revteam.metrics.catalogue import Catalogue
from revteam.metrics.columns import PERIOD
from revteam.metrics.compiler import Rows, condition, earliest, measure_of, rows
from revteam.metrics.plan import Atom, Planner, Query, Recipe
from revteam.metrics.sources import RELATIONS, Context, TableProvider
from revteam.metrics.spec import MetricSpec

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

Part = Literal["numerator", "denominator", "all", "auto"]
PARTS: tuple[str, ...] = get_args(Part)
"""``auto``: ``all`` where both parts are the same records, else the denominator's."""
FLAGS = ("in_numerator", "in_denominator")
VALUE = "value"
MAX_SNAPSHOT_PERIODS = 400
"""Periods the records of an open-records snapshot may span (a record once per period)."""
REACHED = "reached_at"
"""Cohort rates: when the record first reached one of the target stages (null: not yet)."""


@dataclass(frozen=True)
class Records:
    """The records of one request, as an ibis expression over the warehouse's tables."""

    metric: str
    """The metric asked for."""
    source: str
    """The metric whose records these are (a ratio's or derived metric's part, or itself)."""
    part: Part
    relation: str
    description: str
    """A sentence that says which records these are."""
    expr: ir.Table
    order: tuple[str, ...]
    """Columns that order the records newest first (``-`` marks descending)."""


def plan_records(
    catalogue: Catalogue,
    query: Query,
    ctx: Context,
    tables: TableProvider,
    metric: str,
    part: str = "all",
    *,
    columns: tuple[str, ...] | None = None,
    execute: Callable[[ir.Table], pa.Table] | None = None,
) -> Records:
    """The records behind ``metric`` (one part, or both) for ``query``'s range and filters.

    ``execute`` runs one small look-up where a snapshot of open records has no ``start``: its
    periods then start at the first period with data, as the query's do.
    """
    if part not in PARTS:
        raise MetricQueryError("part", part, f"one of {', '.join(PARTS)}")
    if part == "auto":
        part = _auto(catalogue, query, ctx, metric)
    source, chosen, shift, text = _target(catalogue, metric, part)  # type: ignore[arg-type]
    if source != metric and chosen == "all" and not _one_set(catalogue, query, ctx, source):
        # A part that is itself a ratio of different records: its denominator's records.
        source, chosen, _, inner = _target(catalogue, source, "denominator")
        text = f"{text}; {inner}"
    spec = catalogue[source]
    asked = query
    if shift is not None:
        query = _shift_back(query, shift, ctx)
    plan = Planner(
        catalogue.specs, replace(query, metrics=(source,), totals=False), ctx.gross_margin
    ).plan()
    recipe = plan.recipes[source]
    atoms = _atoms(spec, recipe, chosen, query)
    relation, time = atoms[0][1].relation, atoms[0][1].time
    keep = _columns(relation, columns)
    group = plan.group_of(atoms[0][1])
    dims = tuple(query.by)
    needed = (*keep, *spec.reached)
    source_rows = rows(group, query, ctx, tables, columns=needed, dims=dims)
    if atoms[0][1].mode == "open" and query.start is None and not query.whole:
        query = replace(query, start=_first_period(source_rows, atoms[0][1], query, execute))
    t = _select(source_rows, atoms, recipe, query, ctx, keep, dims)
    if shift is not None:
        t = t.mutate(**{PERIOD: _forward(t[PERIOD], asked, shift)})
    key = [c for c in RELATIONS[relation].key if c in t.columns]
    order = (f"-{PERIOD}", f"-{time}", *(k for k in key if k != time))
    order = tuple(c for c in order if c.lstrip("-") in t.columns)
    return Records(metric, source, chosen, relation, text, t, order)


def _auto(catalogue: Catalogue, query: Query, ctx: Context, metric: str) -> Part:
    """The part ``auto`` stands for.

    ``all`` where both parts are the same records, else the denominator's; for a derived
    metric, the first of its parts that is one metric.
    """
    spec = catalogue[metric]
    if spec.kind != "derived":
        return "all" if _one_set(catalogue, query, ctx, metric) else "denominator"
    assert spec.formula is not None
    for part, expression in (
        ("numerator", spec.formula.numerator),
        ("denominator", spec.formula.denominator),
    ):
        if expression is not None and _one_metric(expression) is not None:
            return part  # type: ignore[return-value]
    return "numerator"  # refused with the metrics it is computed from


def _one_metric(expression: str) -> tuple[str, str | None] | None:
    """``(metric, shift)`` when a formula part is one metric, possibly shifted."""
    node = derived.parse(expression)
    shift: str | None = None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args:
        shift, node = node.func.id, node.args[0]
    if isinstance(node, ast.Name) and node.id not in derived.CONSTANTS:
        return node.id, shift
    return None


def _target(catalogue: Catalogue, metric: str, part: Part) -> tuple[str, Part, str | None, str]:
    """The metric whose records stand behind ``part`` of ``metric``, and a sentence saying so."""
    spec = catalogue[metric]
    if spec.kind == "derived":
        return _derived_target(catalogue, spec, part)
    if spec.kind == "ratio" and part != "all":
        ref = spec.numerator if part == "numerator" else spec.denominator
        if ref is not None and ref.metric:
            inner, _, _, text = _target(catalogue, ref.metric, "all")
            return inner, "all", None, f"{spec.label}: its {part}, {text}"
    return metric, part, None, f"{spec.label} ({spec.description.rstrip('.')})"


def _derived_target(
    catalogue: Catalogue, spec: MetricSpec, part: Part
) -> tuple[str, Part, str | None, str]:
    formula = spec.formula
    assert formula is not None
    refs = ", ".join(spec.references())
    expression = formula.numerator if part == "numerator" else formula.denominator
    if part == "all" or expression is None:
        raise MetricQueryError(
            "part",
            part,
            f"'numerator' or 'denominator': {spec.id} is derived from {refs}, so ask for the "
            "records of one of its parts or of one of those metrics",
        )
    found = _one_metric(expression)
    if found is None:
        raise MetricQueryError(
            "part",
            part,
            f"a part that is one metric: {spec.id}'s {part} is {expression!r}, computed from "
            f"{', '.join(derived.names_in(expression))}; ask for the records of one of those",
        )
    name, shift = found
    inner, _, _, text = _target(catalogue, name, "all")
    when = {"previous": " of the period before", "year_ago": " of a year before"}
    return inner, "all", shift, f"{spec.label}: its {part}, {text}{when.get(shift or '', '')}"


def _atoms(spec: MetricSpec, recipe: Recipe, part: Part, query: Query) -> list[tuple[str, Atom]]:
    """(role, atom) pairs whose rows make up ``part``; one role for one-part metrics."""
    if recipe.numerator is None:
        # One set of records: the rows counted in n (all rows, or those with a measure).
        atom, value = recipe.n or recipe.value, recipe.value
        assert atom is not None and value is not None
        return [(VALUE, replace(atom, measure=value.measure))]
    assert recipe.denominator is not None
    if part == "numerator":
        return [("numerator", recipe.numerator)]
    if part == "denominator":
        return [("denominator", recipe.denominator)]
    num, den = recipe.numerator, recipe.denominator
    split = [d for d, _ in query.where if d in spec.breakdowns]
    if split:
        raise MetricQueryError(
            "part",
            part,
            f"'numerator' or 'denominator': the filter on {split[0]} narrows only the numerator",
        )
    if num.group_key[:4] != den.group_key[:4]:
        raise MetricQueryError(
            "part",
            part,
            f"'numerator' or 'denominator': {spec.id}'s numerator ({num.relation} by {num.time}) "
            f"and denominator ({den.relation} by {den.time}) are different records",
        )
    return [("numerator", num), ("denominator", den)]


def _one_set(catalogue: Catalogue, query: Query, ctx: Context, metric: str) -> bool:
    """Whether ``part="all"`` has one set of records (else the parts are asked one by one)."""
    spec = catalogue[metric]
    if spec.kind == "derived":
        return True  # refused with the derived metric's own message
    plan = Planner(
        catalogue.specs, replace(query, metrics=(metric,), totals=False), ctx.gross_margin
    ).plan()
    recipe = plan.recipes[metric]
    num, den = recipe.numerator, recipe.denominator
    return num is None or den is None or num.group_key[:4] == den.group_key[:4]


def _condition(atom: Atom, t: ir.Table, ctx: Context) -> ir.BooleanValue | None:
    """The atom's own condition, plus "has a value" where it aggregates one."""
    cond = condition(atom, t, ctx)
    if atom.agg in {"count_measure", "median"}:
        has = measure_of(atom.measure, t).notnull()
        cond = has if cond is None else cond & has
    return cond


def _select(
    source: Rows,
    atoms: list[tuple[str, Atom]],
    recipe: Recipe,
    query: Query,
    ctx: Context,
    keep: tuple[str, ...],
    dims: tuple[str, ...],
) -> ir.Table:
    import ibis

    first = atoms[0][1]
    t = source.table
    if first.mode == "open":
        t = _open_at_period_ends(source, first, query, ctx)
    elif first.mode == "last":
        keys = [t[PERIOD], *(t[source.dims[d]] for d in dims)]
        t = t.mutate(_last=t[first.time].max().over(group_by=keys))
        t = t.filter(t[first.time] == t._last)
    conds = {role: _condition(atom, t, ctx) for role, atom in atoms}
    present = [c for c in conds.values() if c is not None]
    if len(present) == len(conds) and present:
        t = t.filter(functools.reduce(operator.or_, present))
    cols: dict[str, ir.Value] = {PERIOD: t[PERIOD]}
    for d in dict.fromkeys((*dims, *(d for d, _ in query.where))):
        # A breakdown splits only the numerator: denominator records count in every one of
        # its groups, so they carry no breakdown value.
        shared = d in recipe.spec.breakdowns and all(d not in a.dims for _, a in atoms)
        cols[d] = ibis.null("string") if shared else t[source.dims[d]]
    cols |= {c: t[c] for c in keep if c not in cols}
    measures = {role: atom.measure for role, atom in atoms if atom.measure is not None}
    scaled = recipe.numerator.measure if recipe.numerator else None
    if len(set(measures.values())) == 1:
        (role, measure), *_ = measures.items()
        cols[VALUE] = _value(measure, t, recipe.scale if measure == scaled else 1.0)
    else:
        for role, measure in measures.items():
            cols[f"{role}_{VALUE}"] = _value(measure, t, recipe.scale if role == "numerator" else 1)
    reached = recipe.spec.reached
    if reached:
        cols[REACHED] = earliest([t[c].cast("timestamp") for c in reached])
    if len(atoms) > 1:
        for (role, _), flag in zip(atoms, FLAGS, strict=True):
            cond = conds[role]
            cols[flag] = ibis.literal(True) if cond is None else cond.fill_null(False)
    return t.select(**cols)


def _value(measure: object, t: ir.Table, scale: float) -> ir.Value:
    value = measure_of(measure, t).cast("float64")  # type: ignore[arg-type]
    return value * scale if scale != 1.0 else value


def _columns(relation: str, asked: tuple[str, ...] | None) -> tuple[str, ...]:
    """The record columns to show: the relation's, or those asked plus its key (stable pages)."""
    rel = RELATIONS[relation]
    if asked is None:
        return tuple(rel.columns)
    unknown = [c for c in asked if c not in rel.all_columns]
    if unknown:
        raise MetricQueryError("columns", unknown[0], f"columns of {relation}: {rel.all_columns}")
    return tuple(dict.fromkeys((*rel.key, *asked)))


def _open_at_period_ends(source: Rows, atom: Atom, query: Query, ctx: Context) -> ir.Table:
    """Open snapshots: each record once per period at whose end it was open."""
    import ibis

    assert atom.open_until is not None
    t = source.table.filter(*source.where) if source.where else source.table
    # The periods as a literal array unnested onto each record: no table to register, so the
    # expression still compiles to one self-contained SQL statement.
    ends = [{PERIOD: p, "_end": e} for p, e in _period_ends(query, ctx)]
    spine = ibis.literal(ends, type=f"array<struct<{PERIOD}: date, _end: date>>")
    t = t.mutate(_spine=spine).unnest("_spine").unpack("_spine")
    kind = RELATIONS[atom.relation].column_type
    end_of = {c: _typed(t._end, kind(c)) for c in (atom.time, atom.open_until)}
    return t.filter(
        t[atom.time].notnull(),
        t[atom.time] < end_of[atom.time],
        t[atom.open_until].isnull() | (t[atom.open_until] >= end_of[atom.open_until]),
    )


def _first_period(
    source: Rows, atom: Atom, query: Query, execute: Callable[[ir.Table], pa.Table] | None
) -> dt.date | None:
    """The first period in which a record opened or closed (where the query's periods start)."""
    if execute is None:
        return None
    assert atom.open_until is not None
    t = source.table.filter(*source.where) if source.where else source.table
    found = execute(t.aggregate(a=t[atom.time].min(), b=t[atom.open_until].min())).to_pylist()
    days = [v for v in found[0].values() if v is not None] if found else []
    if not days:
        return None
    first = min(d.date() if isinstance(d, dt.datetime) else d for d in days)
    return periods.floor(first, query.calendar, query.fy_start)


def _typed(day: ir.Value, column_type: str | None) -> ir.Value:
    return day if column_type == "date" else day.cast("timestamp")


def _period_ends(query: Query, ctx: Context) -> list[tuple[dt.date, dt.date]]:
    """(period start, first day after it) of every period of an open snapshot's records.

    Without a start, the period that holds the as-of time (the state now); without an end, up
    to that period too.
    """
    today = ctx.as_of.date()
    if query.whole:
        first = query.first_period
        assert first is not None
        return [(first, query.end_exclusive or today + dt.timedelta(days=1))]
    grain = query.calendar
    now = periods.floor(today, grain, query.fy_start)
    last = query.end or now
    first = query.start or min(now, last)
    starts = periods.spine(first, last, grain)
    # Each open record appears once per period: bound the rows before they are made.
    request.check_limit(
        "periods",
        len(starts),
        MAX_SNAPSHOT_PERIODS,
        setting="the bound for the records of a snapshot, which repeat in every period",
        narrow=request.NARROW_PERIODS,
        about=f"{grain} periods from {first} to {last}",
    )
    return [(p, periods.end(p, grain)) for p in starts]


def _shift_back(query: Query, shift: str, ctx: Context) -> Query:
    if query.whole:
        raise MetricQueryError(
            "grain", query.grain, "a calendar grain: a whole range has no period before it"
        )

    def back(day: dt.date | None) -> dt.date | None:
        return query.shifted(day, shift) if day else None

    # Without an end the query's periods run to the as-of time's; so do the shifted ones.
    end = query.end or periods.floor(ctx.as_of.date(), query.calendar, query.fy_start)
    return replace(query, start=back(query.start), end=back(end))


def _forward(period: ir.Value, query: Query, shift: str) -> ir.Value:
    """Label a shifted period with the period it is compared in."""
    import ibis

    grain = query.grain
    if grain == "day":
        step = ibis.interval(days=365 if shift == "year_ago" else 1)
    elif grain == "week":
        step = ibis.interval(weeks=52 if shift == "year_ago" else 1)
    else:
        months = {"month": 1, "quarter": 3, "year": 12}[grain]
        step = ibis.interval(months=12 if shift == "year_ago" else months)
    return (period.cast("timestamp") + step).date()


def order_by(records: Records) -> list[ir.Value]:
    import ibis

    t = records.expr
    return [ibis.desc(t[c[1:]]) if c.startswith("-") else t[c] for c in records.order]


__all__ = ["PARTS", "Part", "Records", "order_by", "plan_records"]
