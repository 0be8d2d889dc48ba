"""``ws.metrics``: the workspace's KPI catalogue and queries over its warehouse.

Results are cached by request, catalogue fingerprint, settings and the warehouse's data version
(bumped by every ingest), so a dashboard asking the same question twice runs no SQL the second
time and a new load is never hidden by the cache.
"""

from __future__ import annotations

import builtins
import copy
import datetime as dt
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol, TypeVar, Unpack

from revteam.exceptions import MetricQueryError
from revteam.metrics import periods, request
from revteam.metrics.assemble import Assembler, to_arrow
from revteam.metrics.catalogue import Catalogue, shipped_catalogue
from revteam.metrics.compiler import statements, to_sql
from revteam.metrics.definitions import AgreedSource, Definitions
from revteam.metrics.dimensions import BREAKDOWNS, DIMENSIONS, VALUES, values_expr
from revteam.metrics.placement import Placement, compile_placement
from revteam.metrics.plan import Plan, Planner, Query
from revteam.metrics.records import Records, order_by, plan_records
from revteam.metrics.request import (
    DateLike,
    QueryOptions,
    RangeOptions,
    reads_credits,
    reads_relation,
)
from revteam.metrics.result import MetricResult
from revteam.metrics.sources import (
    CLV_VALUES,
    CREDITS,
    RELATIONS,
    Context,
    TableProvider,
    build_relation,
    clv_table,
    credit_table,
    offline_tables,
)
from revteam.metrics.spec import MetricSpec
from revteam.settings import ATTRIBUTION_MODELS, DEFAULT_WINDOWS

if TYPE_CHECKING:
    from pathlib import Path

    import ibis.expr.types as ir
    import pyarrow as pa

    from revteam.settings import Settings
    from revteam.storage.engine import QueryEngine

CACHE_SIZE = 128
_SUPPLIED_NAME = re.compile(rf"({CREDITS}|{CLV_VALUES})__([a-z_]+?)__(\d{{8}}T\d{{12}})")
_CREDITS_KEPT = 16
"""Credit tables kept registered (one per model and cut-off)."""
CreditProvider = Callable[["MetricsComponent", str, dt.datetime], "pa.Table"]
"""``provider(metrics, model, as_of)``: one model's credit rows (``attribution_credits``)."""
RESULTS_BYTES = 64 << 20
"""Bytes of result tables kept besides the count: a few large answers must not pin gigabytes."""
AS_OF_COLUMNS: dict[str, tuple[str, ...]] = {
    "people": (
        "created_at",
        "mql_at",
        "sql_at",
        "opportunity_at",
        "customer_at",
        "disqualified_at",
    ),
    "opportunities": ("created_at", "closed_at"),
    "touchpoints": ("occurred_at",),
    "sales_activities": ("occurred_at",),
    "email_events": ("occurred_at",),
    "orders": ("ordered_at",),
}
"""Event timestamps whose latest value is the default as-of time (see ``docs/metrics.md``)."""


class Annotator(Protocol):
    """Attaches confidence intervals to a result (``revteam.stats`` provides one)."""

    def __call__(self, result: MetricResult, /, *, level: float) -> pa.Table: ...


class MetricsComponent:
    """The KPI catalogue of a workspace and queries over its warehouse.

    ``folder`` holds the workspace's own ``*.yaml`` metrics; ``intervals`` is how
    ``query(..., intervals=True)`` attaches confidence intervals. The metric layer does no
    statistics itself: the workspace wires ``ws.stats.annotate`` in, and ``agreed`` (the
    application database's agreed definitions, which ``metrics/approved/`` must hold).
    """

    def __init__(
        self,
        *,
        folder: Path,
        settings: Settings,
        warehouse: QueryEngine,
        intervals: Annotator | None = None,
        agreed: AgreedSource | None = None,
    ) -> None:
        self._folder, self._settings, self._warehouse = folder, settings, warehouse
        self._limits = settings.limits
        self._annotate = intervals
        self._definitions = Definitions(folder, settings, agreed=agreed)
        self._facts: _Facts | None = None
        self._results: OrderedDict[tuple[Any, ...], MetricResult] = OrderedDict()
        self._compiled: OrderedDict[tuple[Any, ...], Compiled] = OrderedDict()
        self._offline = offline_tables()
        self._fixed: Catalogue | None = None
        self._providers: dict[str, CreditProvider] = {}
        self._supplied: OrderedDict[str, tuple[Any, ...]] = OrderedDict()

    def supply_credits(self, provider: CreditProvider) -> None:
        """Where attributed KPIs' credit comes from (``revteam.attribution``).

        The workspace wires it: ``provider(metrics, model, as_of)`` gives one model's rows.
        """
        self._providers[CREDITS] = provider

    def supply_clv(self, provider: CreditProvider) -> None:
        """Where predicted customer value comes from (``revteam.clv``; ``clv_values``).

        ``provider(metrics, model, as_of)`` gives one row per customer.
        """
        self._providers[CLV_VALUES] = provider

    # -- catalogue -----------------------------------------------------------------------------
    @property
    def catalogue(self) -> Catalogue:
        """Shipped plus workspace metrics, with the workspace's conversion windows applied.

        Reloaded when a file in ``<workspace>/metrics`` changes. Each access lists and stats
        that folder, so a request reads it once and passes the catalogue down.
        """
        if self._fixed is not None:
            return self._fixed
        return self._definitions.catalogue

    def using(
        self, catalogue: Catalogue, *, intervals: Annotator | None = None
    ) -> MetricsComponent:
        """The same component over another catalogue (a proposal's, or as defined on a day).

        It shares the warehouse and the caches, whose keys hold the catalogue's fingerprint,
        so its numbers never mix with the current definitions'. ``intervals`` annotates its
        results (one over *this* catalogue would read the records of other definitions).
        """
        view = copy.copy(self)
        view._fixed = catalogue
        view._annotate = intervals
        return view

    @property
    def definitions(self) -> Definitions:
        """The catalogue and the request checks that need no data (for goals and faces)."""
        return self._definitions

    def list(self, *, owners: str | None = None, fitted: bool = True) -> list[MetricSpec]:
        """Every metric, in catalogue order (optionally only those of ``owners``).

        ``fitted=False`` leaves out those computed from a fitted model (:meth:`is_fitted`).
        """
        return [
            s
            for s in self.catalogue
            if (owners is None or s.owners == owners) and (fitted or not self.is_fitted(s.id))
        ]

    def is_fitted(self, metric: str, /) -> bool:
        """Whether ``metric`` (or one it is computed from) reads a fitted model's rows.

        Predicted CLV fits the customer-value models on first use (seconds on a large
        company), so "every KPI" means every KPI but these unless they are asked for by name.
        """
        cat = self.catalogue
        return any(reads_relation(cat, metric, name) for name, r in RELATIONS.items() if r.fitted)

    def get(self, metric: str, /) -> MetricSpec:
        return self.catalogue[metric]

    def dimensions(self, metric: str, /) -> tuple[str, ...]:
        """Dimensions ``metric`` can be grouped and filtered by (plus its breakdowns)."""
        cat = self.catalogue
        return (*cat.dimensions(metric), *cat[metric].breakdowns)

    # -- queries -------------------------------------------------------------------------------
    def query(
        self,
        metrics: str | Iterable[str],
        /,
        *,
        totals: bool = True,
        intervals: bool = False,
        level: float = 0.95,
        **options: Unpack[QueryOptions],
    ) -> MetricResult:
        """Compute ``metrics`` per period (and per value of each ``by`` dimension).

        ``start``/``end`` are widened to whole periods of ``grain``; ``where`` keeps records
        whose dimension has one of the given values; ``as_of`` (default: the latest event in
        the warehouse) decides cohort maturity and what counts as "to date". ``intervals`` adds
        ``ci_low``, ``ci_high``, ``ci_method`` and ``small_sample`` at confidence ``level``
        (computed by ``ws.stats``; see docs/statistics.md).
        """
        result = self._query(metrics, options, totals)
        if not intervals:
            return result
        if self._annotate is None:
            raise MetricQueryError(
                "intervals",
                intervals,
                "False for a MetricsComponent built without an interval annotator: use "
                "ws.metrics of revteam.open(), or StatsComponent.annotate(result)",
            )
        return replace(result, table=self._annotate(result, level=level))

    def _query(
        self, metrics: str | Iterable[str], options: QueryOptions, totals: bool
    ) -> MetricResult:
        # One catalogue and one data version for the whole request, so its parts agree.
        cat, version = self.catalogue, self._warehouse.data_version
        query, ctx = self._prepare(cat, version, metrics, options, totals)
        request_key = (query, ctx, cat.fingerprint)
        key = (*request_key, version)
        result = _cached(self._results, key)
        if result is None:
            compiled = _cached(self._compiled, request_key) or _store(
                self._compiled,
                request_key,
                compile_request(cat, query, ctx, self._tables, self._warehouse.dialect),
            )
            found = run(compiled, ctx, self._execute, max_rows=self._limits.max_rows)
            found = _name_the_model(found, cat, query, ctx)
            result = _store(self._results, key, replace(found, currency=self._settings.currency))
            _trim(self._results)
        return result

    def records(
        self,
        metric: str,
        /,
        *,
        part: str = "all",
        columns: Iterable[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        **options: Unpack[QueryOptions],
    ) -> pa.Table:
        """The records behind ``metric`` for the same options as :meth:`query`, newest first.

        Columns: ``period`` (the period each record counts in), the ``by`` and ``where``
        dimensions, the record's own columns (or just ``columns``), ``value`` where the part
        sums, averages or ranks a measure (scaled like the metric), and with ``part="all"``
        for metrics with a numerator and a denominator, ``in_numerator`` and
        ``in_denominator``. Recomputing the metric from them gives :meth:`query`'s numbers;
        see docs/metrics.md ("Records behind a number").
        """
        if (limit is not None and limit < 0) or offset < 0:
            raise MetricQueryError("limit/offset", (limit, offset), "numbers of rows, 0 or more")
        found = self._records(metric, part, options, columns)
        expr = found.expr.order_by(order_by(found))
        if limit is not None or offset:
            expr = expr.limit(limit, offset=offset)
        return self._run(expr)

    def count_records(
        self,
        metric: str,
        /,
        *,
        part: str = "all",
        **options: Unpack[QueryOptions],
    ) -> int:
        """How many rows :meth:`records` returns for the same options (without a limit)."""
        found = self._records(metric, part, options, None)
        return int(self._run(found.expr.aggregate(n=found.expr.count())).to_pylist()[0]["n"])

    def describe_records(self, metric: str, /, *, part: str = "all") -> Records:
        """Which metric's records stand behind ``part`` of ``metric``, and a sentence saying so."""
        return self._records(metric, part, {}, None)

    def _records(
        self, metric: str, part: str, options: QueryOptions, columns: Iterable[str] | None
    ) -> Records:
        cat, version = self.catalogue, self._warehouse.data_version
        query, ctx = self._prepare(cat, version, metric, options, False)
        cols = None if columns is None else tuple(columns)
        return plan_records(
            cat, query, ctx, self._tables, metric, part, columns=cols, execute=self._run
        )

    def mature_end(
        self, metric: str, end: dt.date, /, *, grain: str = "month", as_of: DateLike | None = None
    ) -> dt.date:
        """The last day a whole-range value of ``metric`` should sum to, for a range to ``end``.

        A cohort rate over a range that still holds young cohorts would be dragged down by
        members who have not had the window to convert, so cohort metrics with a window stop at
        the end of their newest mature period of ``grain`` (the period a headline shows); other
        metrics use ``end`` itself.
        """
        window = self.get(metric).window_days
        if not window:
            return end
        g = periods.check_grain(grain)
        cut = request.to_as_of(as_of) or self.as_of()
        newest = periods.latest_complete(cut, g, self._settings.fiscal_year_start_month, window)
        return min(end, periods.end(newest, g) - dt.timedelta(days=1))

    def dimension_values(
        self, dimension: str, /, search: str = ""
    ) -> builtins.list[tuple[str, str]]:
        """``(value, label)`` pairs a dimension takes, those containing ``search``, by value.

        Closed vocabularies (channel, segment …) come from the model; open ones (campaign,
        owner …) from the data, labelled with a name where the data has one.
        """
        if dimension not in DIMENSIONS and dimension not in BREAKDOWNS:
            raise MetricQueryError(
                "dimension", dimension, f"one of {', '.join((*DIMENSIONS, *BREAKDOWNS))}"
            )
        needle = search.strip().lower()
        if dimension in VALUES:
            return [(v, v.replace("_", " ")) for v in VALUES[dimension] if needle in v.lower()]
        most = self._limits.max_rows
        expr = values_expr(dimension, needle, self._tables, limit=most + 1)
        if expr is None:
            return []
        found = self._run(expr)
        request.check_rows(
            found.num_rows, most, what="values", narrow="a search that fewer values contain (q=)"
        )
        return [(r["value"], r["label"] or r["value"]) for r in found.to_pylist()]

    def _run(self, expr: ir.Table) -> pa.Table:
        import ibis

        table: pa.Table = self._execute(ibis.to_sql(expr, dialect=self._warehouse.dialect))
        return table

    def _execute(self, sql: str) -> pa.Table:
        """Run ``sql`` on the warehouse, with the supplied tables it reads registered first."""
        if CREDITS in sql or CLV_VALUES in sql:
            for kind, model, stamp in set(_SUPPLIED_NAME.findall(sql)):
                self._supply(kind, model, dt.datetime.strptime(stamp, "%Y%m%dT%H%M%S%f"))
        table: pa.Table = self._warehouse.arrow(sql)
        return table

    def _supply(self, kind: str, model: str, as_of: dt.datetime) -> None:
        """Register one model's rows (credit, or customer value) under their table name.

        Once per data version and definitions; the oldest of more than a few are dropped.
        """
        name = credit_table(model, as_of) if kind == CREDITS else clv_table(model, as_of)
        stamp = (self._warehouse.data_version, self.catalogue.fingerprint)
        if self._supplied.get(name) == stamp:
            self._supplied.move_to_end(name)
            return
        provider = self._providers.get(kind)
        if provider is None:
            what = "attributed" if kind == CREDITS else "predicted customer value"
            package = "revteam.attribution" if kind == CREDITS else "revteam.clv"
            raise MetricQueryError(
                "metric", what, f"a KPI of ws.metrics of revteam.open() (they need {package})"
            )
        self._warehouse.provide(name, provider(self, model, as_of))
        self._supplied[name] = stamp
        self._supplied.move_to_end(name)
        while len(self._supplied) > _CREDITS_KEPT:
            old, _ = self._supplied.popitem(last=False)
            self._warehouse.withdraw(old)

    def clear_cache(self, *, compiled: bool = True) -> None:
        """Forget cached results (and compiled SQL); results are also keyed by data version."""
        self._results.clear()
        if compiled:
            self._compiled.clear()

    def sql(
        self,
        metrics: str | Iterable[str],
        /,
        *,
        dialect: str = "duckdb",
        **options: Unpack[QueryOptions],
    ) -> str:
        """The SQL that :meth:`query` runs for the same options, one statement per group."""
        cat, version = self.catalogue, self._warehouse.data_version
        query, ctx = self._prepare(cat, version, metrics, options, True)
        return to_sql(plan_query(cat, query, ctx), ctx, self._tables, dialect=dialect)

    @property
    def data_version(self) -> int:
        """Changes whenever the warehouse's data does: a key for caches of derived models."""
        return self._warehouse.data_version

    def data_identity(self) -> tuple[object, ...] | None:
        """The warehouse file and data version, for caches that outlive this component."""
        return self._warehouse.identity()

    def as_of(self) -> dt.datetime:
        """The default as-of time: the latest event timestamp in the warehouse, else now."""
        return self._data_facts(self._warehouse.data_version).as_of

    def earliest(self) -> dt.date | None:
        """The day of the first event in the warehouse (``None`` when it is empty)."""
        return self._data_facts(self._warehouse.data_version).earliest

    def context(self, as_of: DateLike | None = None) -> Context:
        """The constants a query at ``as_of`` (default :meth:`as_of`) is computed with.

        For record-level readers that must agree with the metric layer; the warehouse facts
        behind it are cached per data version, like a query's.
        """
        return self._context(self.catalogue, self._warehouse.data_version, as_of)

    def relation(
        self, name: str, columns: Iterable[str], /, *, as_of: DateLike | None = None
    ) -> pa.Table:
        """Rows of a table or derived relation (``stage_visits`` …) exactly as metrics read it.

        For models that need rows rather than KPIs (the sales forecast): they see the same
        derived columns, cut at ``as_of``, as every metric over the relation.
        """
        if name not in RELATIONS:
            raise MetricQueryError("relation", name, f"one of {', '.join(sorted(RELATIONS))}")
        wanted = tuple(columns)
        unknown = [c for c in wanted if RELATIONS[name].column_type(c) is None]
        if unknown:
            raise MetricQueryError(
                "columns", unknown, f"columns of {name}: {', '.join(RELATIONS[name].all_columns)}"
            )
        ctx = self.context(as_of)
        return self._run(build_relation(name, wanted, ctx, self._tables).select(*wanted))

    # -- internals -----------------------------------------------------------------------------
    def _prepare(
        self,
        cat: Catalogue,
        version: int,
        metrics: str | Iterable[str],
        options: QueryOptions,
        totals: bool,
    ) -> tuple[Query, Context]:
        query = self._definitions.check(metrics, options, totals=totals, catalogue=cat)
        ctx = self._context(cat, version, options.get("as_of"))
        ctx = replace(ctx, attribution_models=self._attribution_models(query))
        request.check_year(ctx.as_of.date(), "as_of", self._settings.plausible_years)
        earliest = self._data_facts(version).earliest
        request.check_periods(
            query, earliest=earliest, as_of=ctx.as_of, maximum=self._limits.max_periods
        )
        return query, ctx

    def _attribution_models(self, query: Query) -> tuple[str, ...]:
        """The models an attributed KPI of ``query`` is credited by (the parameter)."""
        if query.attribution_model is not None:
            return (query.attribution_model,)
        if "attribution_model" in query.by:
            return ATTRIBUTION_MODELS
        return (self._settings.attribution.model,)

    def _context(self, cat: Catalogue, version: int, as_of: DateLike | None) -> Context:
        facts = self._data_facts(version)
        return request.context(
            request.to_as_of(as_of) or facts.as_of,
            gross_margin=self._settings.gross_margin,
            orders_loaded=facts.orders,
            sourcing=cat.sourcing,
            clv_model=self._settings.clv.model,
        )

    def _tables(self, name: str) -> ir.Table:
        # The model declares every warehouse table's schema, so no DESCRIBE round trip is
        # needed: unbound tables compile to the same SQL and run on the warehouse backend.
        return self._offline(name)

    def _data_facts(self, version: int) -> _Facts:
        if self._facts is None or self._facts.version != version:
            import ibis

            latest = [
                self._tables(table).aggregate(
                    latest=self._tables(table)[c].max(), earliest=self._tables(table)[c].min()
                )
                for table, columns in AS_OF_COLUMNS.items()
                for c in columns
            ]
            everything = ibis.union(*latest, distinct=False)
            orders = self._tables("orders")
            facts = everything.aggregate(
                latest=everything.latest.max(),
                earliest=everything.earliest.min(),
                orders=orders.count().as_scalar() > 0,
            )
            (row,) = self._warehouse.arrow(
                ibis.to_sql(facts, dialect=self._warehouse.dialect)
            ).to_pylist()
            as_of = row["latest"] or dt.datetime.now().replace(microsecond=0)
            first = row["earliest"].date() if row["earliest"] else None
            self._facts = _Facts(version, as_of, bool(row["orders"]), first)
        return self._facts


T = TypeVar("T")


class _Facts(NamedTuple):
    """What the warehouse says about its data, per data version."""

    version: int
    as_of: dt.datetime
    """The latest event: the default as-of time."""
    orders: bool
    earliest: dt.date | None
    """The first event's day: where the periods of a query without a start begin, at most."""


def _cached(cache: OrderedDict[tuple[Any, ...], T], key: tuple[Any, ...]) -> T | None:
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    return None


def _store(cache: OrderedDict[tuple[Any, ...], T], key: tuple[Any, ...], value: T) -> T:
    cache[key] = value
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


def _trim(results: OrderedDict[tuple[Any, ...], MetricResult]) -> None:
    """Drop the oldest results while their tables hold more than :data:`RESULTS_BYTES`."""
    held = sum(r.table.nbytes for r in results.values())
    while held > RESULTS_BYTES and len(results) > 1:
        _, dropped = results.popitem(last=False)
        held -= dropped.table.nbytes


def plan_query(catalogue: Catalogue, query: Query, ctx: Context) -> Plan:
    return Planner(catalogue.specs, query, ctx.gross_margin).plan()


@dataclass(frozen=True)
class Compiled:
    """A planned request and its SQL, one statement per fused group."""

    plan: Plan
    statements: Mapping[tuple[object, ...], str]
    placement: Placement = field(default_factory=Placement)
    """The statements counting records the request's KPIs cannot place (deals without an
    account); kept apart so that :meth:`MetricsComponent.sql` shows only the KPIs' own SQL."""


def compile_request(
    catalogue: Catalogue, query: Query, ctx: Context, tables: TableProvider, dialect: str
) -> Compiled:
    """Plan and compile for ``dialect``, the warehouse engine's."""
    plan = plan_query(catalogue, query, ctx)
    return Compiled(
        plan,
        statements(plan, ctx, tables, dialect=dialect),
        compile_placement(plan, ctx, tables, dialect=dialect),
    )


def _name_the_model(
    result: MetricResult, cat: Catalogue, query: Query, ctx: Context
) -> MetricResult:
    """Attributed KPIs carry their attribution model in each row (``attribution_model``)."""
    if "attribution_model" in query.by:
        return result
    attributed = [m for m in query.metrics if reads_credits(cat, m)]
    if not attributed:
        return result
    import pyarrow as pa
    import pyarrow.compute as pc

    (model,) = ctx.attribution_models
    table = result.table
    mine = pc.is_in(table.column("metric"), pa.array(attributed, pa.string()))
    column = pc.if_else(mine, pa.scalar(model, pa.string()), pa.scalar(None, pa.string()))
    return replace(result, table=table.append_column("attribution_model", column))


def run(
    compiled: Compiled,
    ctx: Context,
    execute: Callable[[str], pa.Table],
    *,
    max_rows: int | None = None,
) -> MetricResult:
    """Execute every statement and assemble the tidy result (of at most ``max_rows`` rows).

    The warehouse's rows are counted before they are assembled, so an answer too large to
    hold is refused before Python builds it.
    """
    plan = compiled.plan
    results = {key: execute(sql) for key, sql in compiled.statements.items()}
    if max_rows is not None:
        request.check_rows(sum(t.num_rows for t in results.values()), max_rows)
    table = to_arrow(Assembler(plan, results, ctx))
    if max_rows is not None:
        request.check_rows(table.num_rows, max_rows)
    specs = {m: r.spec for m, r in plan.recipes.items()}
    unplaced = compiled.placement.count(execute)
    return MetricResult(table, plan.query, specs, ctx.as_of, unplaced=unplaced)


def compile_sql(
    metrics: str | Iterable[str],
    /,
    *,
    catalogue: Catalogue | None = None,
    as_of: DateLike,
    dialect: str = "duckdb",
    fiscal_year_start_month: int = 1,
    gross_margin: float = 0.8,
    orders_loaded: bool = False,
    **options: Unpack[RangeOptions],
) -> str:
    """The SQL of a request without any database, for any dialect sqlglot knows.

    Everything a warehouse would tell :meth:`MetricsComponent.sql` (the as-of time, whether
    orders are loaded) must be given.
    """
    cat = catalogue or shipped_catalogue().with_windows(DEFAULT_WINDOWS)
    query = request.build_query(cat, metrics, options, fy_start=fiscal_year_start_month)
    cut = request.to_as_of(as_of)
    assert cut is not None
    ctx = request.context(
        cut, gross_margin=gross_margin, orders_loaded=orders_loaded, sourcing=cat.sourcing
    )
    return to_sql(plan_query(cat, query, ctx), ctx, offline_tables(), dialect=dialect)
