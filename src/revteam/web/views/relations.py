"""Record-level reads of the canonical tables: dimension joins, filters, and dimension values.

The funnel and the drill-down read records, not aggregates, so they cannot ask the metric layer;
they reuse its declarations instead: the relations (with virtual columns such as
``is_first_win``), each table's path to each dimension, and each spec's filters. Like the metric
layer, expressions are built on the model's declared (unbound) tables, compiled to SQL once and
run through the warehouse. User values only ever enter as ibis literals (quoted by the
compiler) or bound parameters; identifiers only come from the declarations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from revteam.exceptions import UnsupportedDimensionError
from revteam.metrics.dimensions import VALUES, Hop, reach
from revteam.metrics.sources import RELATIONS, Context, TableProvider, offline_tables
from revteam.metrics.spec import Filter
from revteam.workspace import Workspace

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

Where = Sequence[tuple[str, Sequence[str]]]
_TABLES: list[TableProvider] = []


def tables() -> TableProvider:
    """The canonical tables as unbound ibis tables (no round trip to read their schemas)."""
    if not _TABLES:
        _TABLES.append(offline_tables())
    return _TABLES[0]


def run(ws: Workspace, expr: ir.Table) -> pa.Table:
    """Compile ``expr`` for DuckDB and run it on the workspace's warehouse."""
    import ibis

    table: pa.Table = ws.warehouse.arrow(ibis.to_sql(expr, dialect="duckdb"))
    return table


def context(ws: Workspace) -> Context:
    """The same constants the metric layer uses (as-of time, margin, sourcing rule)."""
    ctx: Context = ws.metrics.context()
    return ctx


def check_dims(relation: str, dims: Iterable[str], metric: str) -> None:
    paths = reach(RELATIONS[relation].reach_table)
    for d in dims:
        if d not in paths:
            raise UnsupportedDimensionError(metric, d, paths)


def attach(t: ir.Table, relation: str, dims: Iterable[str]) -> tuple[ir.Table, dict[str, str]]:
    """Left-join what ``dims`` need onto ``t``; returns it and each dimension's column name.

    Joins land on table keys, so every record stays exactly once (many-to-one hops only).
    """
    paths = reach(RELATIONS[relation].reach_table)
    columns: dict[str, str] = {}
    joined: dict[tuple[tuple[Hop, ...], str], str] = {}
    for n, dim in enumerate(dict.fromkeys(dims)):
        path = paths[dim]
        fk = path.hops[0].column if path.hops else path.column
        for i, hop in enumerate(path.hops):
            nxt = path.hops[i + 1].column if i + 1 < len(path.hops) else path.column
            key = (path.hops[: i + 1], nxt)
            if key not in joined:
                alias = f"_d{n}_{i}"
                target = tables()(hop.table)
                lookup = target.select(**{f"{alias}_k": target[hop.key], f"{alias}_v": target[nxt]})
                t = t.left_join(lookup, t[fk] == lookup[f"{alias}_k"]).drop(f"{alias}_k")
                joined[key] = f"{alias}_v"
            fk = joined[key]
        columns[dim] = fk
    return t, columns


def where(t: ir.Table, columns: dict[str, str], filters: Where) -> ir.Table:
    """Keep records whose dimension value is one of the chosen ones."""
    for dim, values in filters:
        t = t.filter(t[columns[dim]].isin(list(values)))
    return t


def spec_filter(f: Filter, t: ir.Table) -> ir.BooleanValue:
    """A catalogue filter as an ibis condition (the same meaning the compiler gives it)."""
    col = t[f.column]
    if f.op == "null":
        return col.isnull() if f.value else col.notnull()
    if f.op in {"in", "not_in"}:
        hit = col.isin(list(f.value))  # type: ignore[arg-type]
        return hit if f.op == "in" else ~hit
    ops = {
        "eq": "__eq__",
        "ne": "__ne__",
        "lt": "__lt__",
        "le": "__le__",
        "gt": "__gt__",
        "ge": "__ge__",
    }
    result: ir.BooleanValue = getattr(col, ops[f.op])(f.value)
    return result


def day_literal(relation: str, column: str, day: dt.date) -> ir.Value:
    """``day`` typed like the column: a date, or midnight for timestamps."""
    import ibis

    if RELATIONS[relation].column_type(column) == "date":
        return ibis.literal(day, type="date")
    return ibis.literal(dt.datetime.combine(day, dt.time()), type="timestamp")


def in_range(
    t: ir.Table, relation: str, column: str, start: dt.date | None, end: dt.date | None
) -> list[ir.BooleanValue]:
    """``column`` within [start, end] (whole days; ``end`` inclusive)."""
    col = t[column]
    conds: list[ir.BooleanValue] = [col.notnull()]
    if start is not None:
        conds.append(col >= day_literal(relation, column, start))
    if end is not None:
        conds.append(col < day_literal(relation, column, end + dt.timedelta(days=1)))
    return conds


MAX_VALUES = 5000
SOURCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "campaign": (("campaigns", "campaign_id", "name"),),
    "owner": (("users", "user_id", "name"),),
    "source_detail": (("people", "source_detail", "source_detail"),),
    "industry": (("accounts", "industry", "industry"),),
    "country": (("accounts", "country", "country"), ("people", "country", "country")),
    "keyword_group": (("seo_rankings", "keyword_group", "keyword_group"),),
    "disqualification_reason": (("people", "disqualification_reason", "disqualification_reason"),),
}
"""Where the values of open dimensions live: (table, value column, label column)."""


def dimension_values(ws: Workspace, dimension: str, search: str = "") -> list[tuple[str, str]]:
    """``(value, label)`` pairs in value order, those containing ``search`` only."""
    needle = search.strip().lower()
    if dimension in VALUES:
        return [(v, v.replace("_", " ")) for v in VALUES[dimension] if needle in v.lower()]
    parts = [
        f'SELECT CAST("{col}" AS VARCHAR) AS value, CAST(max("{label}") AS VARCHAR) AS label '
        f'FROM "{table}" WHERE "{col}" IS NOT NULL GROUP BY 1'
        for table, col, label in SOURCES.get(dimension, ())
    ]
    if not parts:
        return []
    sql = (
        f"SELECT value, max(label) AS label FROM ({' UNION ALL '.join(parts)}) "
        "WHERE contains(lower(value), ?) OR contains(lower(coalesce(label, '')), ?) "
        f"GROUP BY value ORDER BY value LIMIT {MAX_VALUES}"
    )
    rows = ws.warehouse.arrow(sql, [needle, needle]).to_pylist()
    return [(r["value"], r["label"] or r["value"]) for r in rows]
