"""Compile planned groups into ibis expressions: one aggregation (one SQL statement) per group.

User-supplied values (dates, filter values) only ever enter as ibis literals, which every
backend binds or quotes itself; identifiers come from the declared model and catalogue.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revteam.metrics import periods
from revteam.metrics.columns import PERIOD
from revteam.metrics.dimensions import BREAKDOWNS, Hop, Path, reach
from revteam.metrics.plan import Atom, Group, Plan, Query
from revteam.metrics.sources import RELATIONS, Context, TableProvider, build_relation
from revteam.metrics.spec import Filter, Measure

if TYPE_CHECKING:
    import ibis.expr.types as ir


@dataclass(frozen=True)
class Rows:
    """The records a group reads: its relation with the dimensions joined on, and filters.

    ``table`` holds the relation's rows in the request's range and dimension filters, with
    ``period`` (for snapshots of open records: no range and no period, see :func:`rows`);
    ``dims`` maps each dimension of the request (grouping and filters) to its column. The
    reduction (:func:`compile_group`) and the records behind a number
    (:mod:`revteam.metrics.records`) both start here, so they cannot disagree.
    """

    table: ir.Table
    dims: Mapping[str, str]
    where: tuple[ir.BooleanValue, ...] = ()
    """Dimension filters not yet applied (open snapshots apply them to both moves)."""


def rows(
    group: Group,
    query: Query,
    ctx: Context,
    tables: TableProvider,
    *,
    columns: Iterable[str] = (),
    dims: Iterable[str] = (),
) -> Rows:
    """The rows behind ``group`` for ``query``, with ``columns`` and ``dims`` also available."""
    where_dims = [d for d, _ in query.where]
    wanted = list(dict.fromkeys((*group.dims, *dims, *where_dims)))
    paths = reach(RELATIONS[group.relation].reach_table)
    first_hops = {(p.hops[0].column if p.hops else p.column) for d in wanted for p in [paths[d]]}
    t = build_relation(group.relation, group.columns | first_hops | set(columns), ctx, tables)
    t, dim_cols = _attach(t, group.relation, wanted, tables)
    # A breakdown splits only the numerator: filtering by it narrows the numerator's groups,
    # never the denominator it shares (which is not grouped by the breakdown).
    where = tuple(
        _where(t[dim_cols[d]], values)
        for d, values in query.where
        if d not in BREAKDOWNS or d in group.dims
    )
    if group.mode == "open":
        return Rows(t, dim_cols, where)
    end = query.end_exclusive
    if end is None and query.whole:
        end = ctx.as_of.date() + dt.timedelta(days=1)  # a whole range ends at the as-of day
    t = t.filter(*_range(t, group.relation, group.time, group.start, end), *where)
    t = t.mutate(**{PERIOD: period_of(t[group.time], query)})
    return Rows(t, dim_cols)


def period_of(value: ir.Value, query: Query) -> ir.DateValue:
    """The start of the request's period that holds each value (one period for ``all``)."""
    import ibis

    if query.whole:
        return ibis.literal(query.first_period, type="date")
    assert query.grain != "all"
    return periods.truncate(value, query.grain, query.fy_start)


def compile_group(group: Group, query: Query, ctx: Context, tables: TableProvider) -> ir.Table:
    """The ibis expression of one group: ``period``, the group's dimensions, one column per atom.

    With ``group.totals``, rows flagged ``_total`` hold the aggregates over all dimension values.
    """
    import ibis

    source = rows(group, query, ctx, tables)
    if group.mode == "open":
        return _open(group, query, ctx, source.table, source.dims, list(source.where))
    t = source.table
    grouped = _grouped(group, ctx, t, [t[source.dims[d]].name(d) for d in group.dims])
    if not group.totals:
        return grouped
    # One statement for groups and totals: the engine shares the scan (a CTE), as GROUPING
    # SETS would; ibis has no grouping sets.
    total = _grouped(group, ctx, t, []).mutate(**{d: ibis.null("string") for d in group.dims})
    cols = [PERIOD, *group.dims, *group.atoms.values()]
    return ibis.union(
        grouped.select(*cols).mutate(_total=False),
        total.select(*cols).mutate(_total=True),
        distinct=False,
    )


def _grouped(group: Group, ctx: Context, t: ir.Table, dims: list[ir.Value]) -> ir.Table:
    keys = [t[PERIOD], *dims]
    if group.mode == "last":
        t = t.mutate(_last=t[group.time].max().over(group_by=keys))
        t = t.filter(t[group.time] == t._last)
        keys = [t[PERIOD], *(t[k.get_name()] for k in dims)]
    aggs = {name: _aggregate(atom, t, ctx) for atom, name in group.atoms.items()}
    return t.aggregate(aggs, by=keys)


def compile_plan(plan: Plan, ctx: Context, tables: TableProvider) -> dict[tuple[object, ...], Any]:
    return {key: compile_group(g, plan.query, ctx, tables) for key, g in plan.groups.items()}


def _range(
    t: ir.Table, relation: str, column: str, start: dt.date | None, end: dt.date | None
) -> list[ir.BooleanValue]:
    col = t[column]
    conds = [col.notnull()]
    if start is not None:
        conds.append(col >= _lit(relation, column, start))
    if end is not None:
        conds.append(col < _lit(relation, column, end))
    return conds


def _lit(relation: str, column: str, day: dt.date) -> ir.Value:
    import ibis

    if RELATIONS[relation].column_type(column) == "date":
        return ibis.literal(day, type="date")
    return ibis.literal(dt.datetime.combine(day, dt.time()), type="timestamp")


def _open(
    group: Group,
    query: Query,
    ctx: Context,
    t: ir.Table,
    dim_cols: Mapping[str, str],
    where: list[ir.BooleanValue],
) -> ir.Table:
    """Changes in the open amount per period: +opened, -closed (summed cumulatively later)."""
    import ibis

    assert group.open_until
    t = t.filter(*where) if where else t
    end = query.end_exclusive
    if end is None and query.whole:
        end = ctx.as_of.date() + dt.timedelta(days=1)  # a whole range ends at the as-of day

    def moves(column: str, sign: int) -> ir.Table:
        moved = t.filter(*_range(t, group.relation, column, None, end))
        cols: dict[str, Any] = {PERIOD: period_of(moved[column], query)}
        cols |= {d: moved[dim_cols[d]] for d in group.dims}
        for atom, name in group.atoms.items():
            cond = condition(atom, moved, ctx)
            one = ibis.literal(1) if atom.agg == "count" else measure_of(atom.measure, moved)
            amount = one if cond is None else ibis.ifelse(cond, one, 0)
            cols[name] = (amount * sign).cast("float64")
        return moved.select(**cols)

    both = ibis.union(moves(group.time, 1), moves(group.open_until, -1), distinct=False)
    return both.aggregate(
        {name: both[name].sum() for name in group.atoms.values()},
        by=[PERIOD, *group.dims],
    )


def _aggregate(atom: Atom, t: ir.Table, ctx: Context) -> ir.Scalar:
    cond = condition(atom, t, ctx)
    if atom.agg == "count":
        return t.count(where=cond)
    value = measure_of(atom.measure, t)
    if atom.agg == "sum":
        return value.sum(where=cond)
    if atom.agg == "count_measure":
        return value.count(where=cond)
    # ibis median() is the interpolated median (quantile_cont / percentile_cont(0.5)); on
    # doubles, so the mean of the two middle values of an even count is not rounded to cents.
    # The condition nulls the value rather than filtering the aggregate: Spark's percentile
    # refuses the filtered form ibis emits (a non-constant percentage); nulls are skipped alike.
    measured = value.cast("float64")
    if cond is not None:
        import ibis

        measured = ibis.ifelse(cond, measured, ibis.null("float64"))
    return measured.median()


def condition(atom: Atom, t: ir.Table, ctx: Context) -> ir.BooleanValue | None:
    import ibis

    conds = [_filter(f, t) for f in atom.filters]
    as_of = ibis.literal(ctx.as_of, type="timestamp")
    if atom.as_of_cut:
        conds.append(t[atom.time] <= as_of)
    if atom.reached:
        first = earliest([t[c] for c in atom.reached])
        conds.append(first.notnull() & (first <= as_of))
        if atom.window is not None:
            conds.append(first <= t[atom.time] + ibis.interval(days=atom.window))
    return functools.reduce(operator.and_, conds) if conds else None


def earliest(cols: list[ir.Value]) -> ir.Value:
    """The earliest non-empty value (LEAST ignores NULLs on some engines, not on others)."""
    import ibis

    first = cols[0]
    for col in cols[1:]:
        first = ibis.cases(
            (first.isnull(), col), (col.isnull(), first), (col < first, col), else_=first
        )
    return first


def measure_of(measure: Measure | None, t: ir.Table) -> ir.NumericValue:
    assert measure is not None
    if measure.column:
        return t[measure.column]
    if measure.sum_of:
        parts = [t[c].fill_null(0) for c in measure.sum_of]
        return functools.reduce(operator.add, parts)
    pair = measure.days_between or measure.hours_between
    assert pair is not None
    a, b = pair
    seconds = t[b].cast("timestamp").epoch_seconds() - t[a].cast("timestamp").epoch_seconds()
    # in doubles on every engine (Spark reads 86400.0 as a decimal and rounds the quotient)
    return seconds.cast("float64") / (86400.0 if measure.days_between else 3600.0)


def _filter(f: Filter, t: ir.Table) -> ir.BooleanValue:
    col = t[f.column]
    if f.op == "null":
        return col.isnull() if f.value else col.notnull()
    if f.op in {"in", "not_in"}:
        assert isinstance(f.value, tuple)
        values = list(f.value)
        hit = col.isin(values)
        return hit if f.op == "in" else ~hit
    ops = {
        "eq": operator.eq,
        "ne": operator.ne,
        "lt": operator.lt,
        "le": operator.le,
        "gt": operator.gt,
        "ge": operator.ge,
    }
    return ops[f.op](col, f.value)  # type: ignore[arg-type]


def _where(col: ir.Value, values: Iterable[str | None]) -> ir.BooleanValue:
    wanted = list(values)
    given = [v for v in wanted if v is not None]
    cond = col.isin(given) if given else None
    if None in wanted:
        cond = col.isnull() if cond is None else (cond | col.isnull())
    assert cond is not None
    return cond


def _attach(
    t: ir.Table, relation: str, dims: Iterable[str], tables: TableProvider
) -> tuple[ir.Table, dict[str, str]]:
    """Join what the dimensions need (once per path prefix); map each dimension to its column."""
    paths = reach(RELATIONS[relation].reach_table)
    wanted: list[Path] = [paths[d] for d in dict.fromkeys(dims)]
    prefixes: dict[tuple[Hop, ...], set[str]] = {}
    for p in wanted:
        for i in range(len(p.hops)):
            nxt = p.hops[i + 1].column if i + 1 < len(p.hops) else p.column
            prefixes.setdefault(p.hops[: i + 1], set()).add(nxt)
    alias: dict[tuple[tuple[Hop, ...], str], str] = {}
    for n, (prefix, cols) in enumerate(sorted(prefixes.items(), key=lambda kv: len(kv[0]))):
        hop = prefix[-1]
        fk = alias[(prefix[:-1], hop.column)] if len(prefix) > 1 else hop.column
        target = tables(hop.table)
        named = {f"_j{n}_{c}": target[c] for c in sorted(cols)}
        lookup = target.select(**{f"_j{n}_key": target[hop.key]}, **named)
        t = t.left_join(lookup, t[fk] == lookup[f"_j{n}_key"]).drop(f"_j{n}_key")
        alias.update({(prefix, c): f"_j{n}_{c}" for c in cols})
    return t, {p.dimension: alias[(p.hops, p.column)] if p.hops else p.column for p in wanted}


def statements(
    plan: Plan, ctx: Context, tables: TableProvider, *, dialect: str = "duckdb"
) -> dict[tuple[object, ...], str]:
    """The SQL of every group of a plan, in ``dialect``."""
    import ibis

    return {
        key: str(ibis.to_sql(expr, dialect=dialect))
        for key, expr in compile_plan(plan, ctx, tables).items()
    }


def to_sql(plan: Plan, ctx: Context, tables: TableProvider, *, dialect: str = "duckdb") -> str:
    """Every statement of a plan, each headed by a comment naming its group and atoms."""
    out = []
    for key, sql in statements(plan, ctx, tables, dialect=dialect).items():
        group = plan.groups[key]
        by = ", ".join(group.dims) or "period only"
        head = (
            f"-- {group.relation} by {group.time} ({group.mode}; {by}): "
            f"{', '.join(group.atoms.values())}"
        )
        out.append(f"{head}\n{sql};")
    return "\n\n".join(out)
