"""Drill-down: the records behind a number, paged, and exported as CSV.

A metric's records are the rows of its table in the date range, with the metric's own filters
and the view's dimension filters. For rates the records are the population (the denominator)
with a column that says whether each one is in the numerator; for cohort rates, the cohort with
``converted``. A ratio of two metrics drills into one part (``part=numerator|denominator``);
a derived metric names the metrics it is computed from. ``n`` of the metric result equals the
number of records for counts, sums, means and rates.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from revteam.exceptions import MetricQueryError
from revteam.metrics import MetricSpec
from revteam.metrics.sources import RELATIONS, build_relation
from revteam.web.views import relations as rel
from revteam.workspace import Workspace

if TYPE_CHECKING:
    import ibis.expr.types as ir
    import pyarrow as pa

Part = Literal["auto", "numerator", "denominator"]
MAX_EXPORT = 1_000_000
"""Rows a CSV export may hold; more is a job for the warehouse, not a browser download."""


@dataclass(frozen=True)
class RecordsRequest:
    metric: str
    start: dt.date | None = None
    end: dt.date | None = None
    """Last day, inclusive."""
    where: tuple[tuple[str, tuple[str, ...]], ...] = ()
    part: Part = "auto"


@dataclass(frozen=True)
class RecordsPage:
    metric: str
    source: str
    """The metric actually drilled into (a ratio's part, or the metric itself)."""
    relation: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    total: int
    limit: int
    offset: int


def target(ws: Workspace, metric: str, part: Part) -> tuple[MetricSpec, str]:
    """The spec whose records stand behind ``metric``, and a sentence saying which they are."""
    spec = ws.metrics.get(metric)
    if spec.kind == "derived":
        parts = ", ".join(spec.references())
        raise MetricQueryError(
            "metric",
            metric,
            f"a metric computed from records; {metric} is derived from "
            f"{parts}, so drill into one of those",
        )
    ref = spec.numerator if part == "numerator" else spec.denominator
    if spec.table is None and ref is not None and ref.metric:
        inner, text = target(ws, ref.metric, "auto")
        return inner, f"{spec.label}: its {part if part != 'auto' else 'denominator'}, {text}"
    if part != "auto" and spec.numerator is None:
        raise MetricQueryError("part", part, f"'auto': {metric} has no numerator/denominator")
    return spec, f"{spec.label} ({spec.description.rstrip('.')})"


def expression(ws: Workspace, req: RecordsRequest) -> tuple[ir.Table, MetricSpec, str]:
    """The records as an ibis table (newest first), the spec drilled into, and a description."""
    import ibis

    spec, text = target(ws, req.metric, req.part)
    assert spec.table is not None and spec.time is not None
    relation = RELATIONS[spec.table]
    rel.check_dims(spec.table, [d for d, _ in req.where], spec.id)
    ctx = rel.context(ws)
    filters = list(spec.filters)
    if spec.denominator is not None and not spec.denominator.metric:
        filters += spec.denominator.filters
    needed = set(relation.columns) | {f.column for f in filters}
    if spec.numerator is not None and not spec.numerator.metric:
        needed |= {f.column for f in spec.numerator.filters}
    needed |= set(spec.reached)
    t = build_relation(spec.table, needed, ctx, rel.tables())
    t, dims = rel.attach(t, spec.table, [d for d, _ in req.where])
    t = rel.where(t, dims, req.where)
    conds = [rel.spec_filter(f, t) for f in filters]
    t = t.filter(*conds) if conds else t
    t = _period(t, spec, req, ctx.as_of)
    extra: dict[str, Any] = {}
    if spec.reached:
        first = _earliest([t[c] for c in spec.reached])
        ok = first.notnull() & (first <= ibis.literal(ctx.as_of, type="timestamp"))
        if spec.window_days:
            ok = ok & (first <= t[spec.time] + ibis.interval(days=spec.window_days))
        extra["converted"] = ok.fill_null(False)
    elif spec.numerator is not None and not spec.numerator.metric and spec.numerator.filters:
        parts = [rel.spec_filter(f, t) for f in spec.numerator.filters]
        extra["in_numerator"] = functools.reduce(operator.and_, parts).fill_null(False)
    t = t.mutate(**extra) if extra else t
    key = [c for c in _key(spec.table) if c in t.columns]
    shown = list(dict.fromkeys([*key, *extra, spec.time]))
    shown += [c for c in relation.all_columns if c in t.columns and c not in shown]
    shown += [d for d in dims if d not in shown]
    t = t.mutate(**{d: t[col] for d, col in dims.items() if d not in relation.all_columns})
    out = t.select(*shown)
    keys = [c for c in _key(spec.table) if c in out.columns and c != spec.time]
    return out.order_by([ibis.desc(spec.time), *keys]), spec, text


def _earliest(cols: list[ir.Value]) -> ir.Value:
    """The earliest non-empty value, as the compiler defines "reached" for cohort rates."""
    import ibis

    first = cols[0]
    for col in cols[1:]:
        first = ibis.cases(
            (first.isnull(), col), (col.isnull(), first), (col < first, col), else_=first
        )
    return first


def _key(relation: str) -> tuple[str, ...]:
    from revteam.model import TABLES

    return TABLES[relation].key if relation in TABLES else ()


def _period(t: ir.Table, spec: MetricSpec, req: RecordsRequest, as_of: dt.datetime) -> ir.Table:
    import ibis

    assert spec.table is not None and spec.time is not None
    snap = spec.snapshot
    if snap is not None and snap.open_until:
        end = (req.end or as_of.date()) + dt.timedelta(days=1)
        cut = rel.day_literal(spec.table, snap.open_until, end)
        created = t[spec.time] < rel.day_literal(spec.table, spec.time, end)
        return t.filter(created, t[snap.open_until].isnull() | (t[snap.open_until] >= cut))
    t = t.filter(*rel.in_range(t, spec.table, spec.time, req.start, req.end))
    if spec.is_cohort:
        t = t.filter(t[spec.time] <= ibis.literal(as_of, type="timestamp"))
    if snap is not None and snap.last_observation:
        t = t.filter(t[spec.time] == t[spec.time].max().over())
    return t


def count(ws: Workspace, req: RecordsRequest) -> int:
    """How many records there are.

    Callers cache it per request, not per page, so paging through a large table counts once.
    """
    expr, _, _ = expression(ws, req)
    return int(rel.run(ws, expr.aggregate(n=expr.count())).to_pylist()[0]["n"])


def page(ws: Workspace, req: RecordsRequest, *, limit: int, offset: int, total: int) -> RecordsPage:
    """One page of records; ``total`` is :func:`count` of the same request."""
    expr, spec, text = expression(ws, req)
    rows = rel.run(ws, expr.limit(limit, offset=offset)).to_pylist()
    return RecordsPage(
        req.metric,
        spec.id,
        spec.table or "",
        text,
        tuple(expr.columns),
        tuple(rows),
        total,
        limit,
        offset,
    )


def export(ws: Workspace, req: RecordsRequest) -> pa.Table:
    """All records (up to :data:`MAX_EXPORT`) as one Arrow table, for CSV export."""
    expr, _, _ = expression(ws, req)
    return rel.run(ws, expr.limit(MAX_EXPORT))
