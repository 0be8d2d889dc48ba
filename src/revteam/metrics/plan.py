"""Planning: a request and the catalogue become *atoms* (single aggregates) fused into groups.

Every metric is reduced to a recipe over atoms: one filtered aggregate each (a count, a sum, a
median …) on one relation, time column and grouping. Atoms that share relation, time column,
mode and grouping form a :class:`Group`, which the compiler turns into one aggregation, so the
whole catalogue by month and channel costs one scan per (table, time column). Identical atoms
needed by several metrics are computed once (``leads`` for both ``leads`` and
``cost_per_lead``), which is also what makes the parts of a ratio agree with the metrics shown
beside it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from revteam.metrics import derived, periods
from revteam.metrics.periods import Grain, QueryGrain
from revteam.metrics.spec import Filter, Measure, MetricSpec, Part

Mode = Literal["period", "open", "last"]
AtomAgg = Literal["count", "sum", "count_measure", "median"]


@dataclass(frozen=True)
class Query:
    """A validated request: metric ids, grouping, grain, whole-period range and filters."""

    metrics: tuple[str, ...]
    by: tuple[str, ...] = ()
    grain: QueryGrain = "month"
    start: dt.date | None = None
    """First period start (inclusive), already aligned to the grain (``all``: the first day)."""
    end: dt.date | None = None
    """Last period start (inclusive), already aligned to the grain (``all``: the last day)."""
    where: tuple[tuple[str, tuple[str | None, ...]], ...] = ()
    fy_start: int = 1
    totals: bool = True
    attribution_model: str | None = None
    """The model attributed KPIs are credited by (``where={"attribution_model": …}``, a
    parameter rather than a filter); ``None``: the workspace's."""

    @property
    def whole(self) -> bool:
        """One period over the whole range (``grain="all"``)."""
        return self.grain == periods.ALL

    @property
    def calendar(self) -> Grain:
        """The grain of a request whose periods follow each other (not ``all``)."""
        return periods.check_grain(self.grain)

    @property
    def end_exclusive(self) -> dt.date | None:
        if self.end is None:
            return None
        if self.grain == periods.ALL:
            return self.end + dt.timedelta(days=1)
        return periods.end(self.end, self.calendar)

    def period_end(self, start: dt.date) -> dt.date | None:
        """The first day after the period starting on ``start`` (``None``: open-ended)."""
        if self.grain == periods.ALL:
            return self.end_exclusive
        return periods.end(start, self.calendar)

    def shifted(self, start: dt.date, shift: str) -> dt.date | None:
        """The period ``previous`` or ``year_ago`` of ``start`` (none for a whole range)."""
        if self.grain == periods.ALL:
            return None
        if shift == "year_ago":
            return periods.year_ago(start, self.calendar)
        return periods.shift(start, self.calendar, -1)

    def forward(self, start: dt.date, shift: str) -> dt.date | None:
        """The period whose ``shift`` (``previous``/``year_ago``) is ``start``, if shown."""
        if self.grain == periods.ALL:
            return None
        grain = self.calendar
        later = (
            periods.year_ago_of(start, grain)
            if shift == "year_ago"
            else periods.shift(start, grain, 1)
        )
        if self.end is not None and later > self.end:
            return None
        return later

    def label(self, start: dt.date) -> str:
        if self.grain != periods.ALL:
            return periods.label(start, self.calendar, self.fy_start)
        if self.start is None and self.end is None:
            return "all"
        first = self.start.isoformat() if self.start else "…"
        last = self.end.isoformat() if self.end else "…"
        return f"{first} to {last}"

    def spine(self, first: dt.date, last: dt.date) -> list[dt.date]:
        """Every period start from ``first`` to ``last`` (one for a whole range)."""
        if self.grain == periods.ALL:
            return [first]
        return periods.spine(first, last, self.calendar)

    @property
    def first_period(self) -> dt.date | None:
        """The first period's start; a whole range without a start still has one period."""
        return self.start or (periods.EVERYTHING if self.grain == periods.ALL else None)


@dataclass(frozen=True)
class Atom:
    """One filtered aggregate on one relation, time column and grouping."""

    relation: str
    time: str
    agg: AtomAgg
    measure: Measure | None = None
    filters: tuple[Filter, ...] = ()
    mode: Mode = "period"
    open_until: str | None = None
    reached: tuple[str, ...] = ()
    window: int | None = None
    as_of_cut: bool = False
    """Only records that entered by the as-of time (cohort populations)."""
    dims: tuple[str, ...] = ()

    def __hash__(self) -> int:
        # Atoms key every lookup while results are assembled: hash the fields once.
        cached: int | None = self.__dict__.get("_hash")
        if cached is None:
            cached = hash(tuple(getattr(self, f) for f in self.__dataclass_fields__))
            object.__setattr__(self, "_hash", cached)
        return cached

    @property
    def additive(self) -> bool:
        """A missing group counts as 0 (counts and sums), not as unknown (medians)."""
        return self.agg != "median"

    @property
    def summable(self) -> bool:
        """A total is the sum of the groups; else it needs its own aggregation over all rows."""
        return self.additive and self.mode != "last"

    @property
    def group_key(self) -> tuple[str, str, Mode, str | None, tuple[str, ...]]:
        return (self.relation, self.time, self.mode, self.open_until, self.dims)

    @property
    def columns(self) -> set[str]:
        cols = {self.time, *self.reached, *(f.column for f in self.filters)}
        cols |= set(self.measure.columns if self.measure else ())
        return cols | ({self.open_until} if self.open_until else set())


@dataclass
class Group:
    """Atoms computed by one aggregation (one SQL statement)."""

    relation: str
    time: str
    mode: Mode
    open_until: str | None
    dims: tuple[str, ...]
    atoms: dict[Atom, str] = field(default_factory=dict)
    """Each atom with its column name in the result."""
    start: dt.date | None = None
    totals: bool = False
    """Also aggregate over all dimension values (rows flagged ``_total``), for medians and
    last observations, whose totals cannot be summed from the groups."""

    @property
    def columns(self) -> set[str]:
        return set().union(*(a.columns for a in self.atoms))


@dataclass(frozen=True)
class Recipe:
    """How one metric's value, numerator, denominator and n come out of atoms."""

    spec: MetricSpec
    value: Atom | None = None
    numerator: Atom | None = None
    denominator: Atom | None = None
    n: Atom | None = None
    scale: float = 1.0


@dataclass
class Plan:
    query: Query
    recipes: dict[str, Recipe]
    """Every metric needed, requested ones first, then their dependencies."""
    groups: dict[tuple[object, ...], Group]
    lookback: dict[str, set[str]]
    """Metric id → shifts (previous / year_ago) that derived metrics read from it."""

    def group_of(self, atom: Atom) -> Group:
        return self.groups[atom.group_key]

    def name_of(self, atom: Atom) -> str:
        return self.group_of(atom).atoms[atom]


class Planner:
    """Turns a :class:`Query` into a :class:`Plan` over an (effective) catalogue."""

    def __init__(self, specs: Mapping[str, MetricSpec], query: Query, gross_margin: float):
        self.specs, self.query, self.gross_margin = specs, query, gross_margin
        self.recipes: dict[str, Recipe] = {}
        self.groups: dict[tuple[object, ...], Group] = {}
        self.lookback: dict[str, set[str]] = {}

    def plan(self) -> Plan:
        for metric in self.query.metrics:
            self._add(metric)
        for metric, shifts in self.lookback.items():
            self._extend(self.recipes[metric], shifts)
        return Plan(self.query, self.recipes, self.groups, self.lookback)

    def _add(self, metric: str) -> None:
        if metric in self.recipes:
            return
        spec = self.specs[metric]
        for ref in spec.references():
            self._add(ref)
        if spec.formula:
            for expr in (spec.formula.numerator, spec.formula.denominator):
                for shift, ref in derived.shifts_in(expr) if expr else ():
                    self.lookback.setdefault(ref, set()).add(shift)
        self.recipes[metric] = self._recipe(spec)

    def _recipe(self, spec: MetricSpec) -> Recipe:
        if spec.kind == "derived":
            return Recipe(spec)
        full = self.query.by
        base = tuple(d for d in full if d not in spec.breakdowns)
        if spec.kind == "ratio":
            assert spec.numerator and spec.denominator
            num = self._part(spec, spec.numerator, full, "numerator")
            den = self._part(spec, spec.denominator, base, "denominator")
            return Recipe(spec, numerator=num, denominator=den, n=self._n_of(spec, base))
        rows = self._atom(spec, "count", dims=base)
        if spec.kind == "cohort_rate":
            cohort = self._use(replace(rows, as_of_cut=True), f"{spec.id}__cohort")
            reached = replace(cohort, reached=spec.reached, window=spec.window_days, dims=full)
            self._use(reached, f"{spec.id}__reached")
            return Recipe(spec, numerator=reached, denominator=cohort, n=cohort)
        agg = spec.aggregate if spec.kind == "snapshot" else spec.kind
        if agg == "count":
            value = self._use(rows, spec.id)
            return Recipe(spec, value=value, n=value)
        measured = replace(rows, measure=spec.measure)
        if agg == "sum":
            value = self._use(replace(measured, agg="sum"), spec.id)
            return Recipe(spec, value=value, n=self._use(rows, f"{spec.id}__n"))
        n = self._use(replace(measured, agg="count_measure"), f"{spec.id}__n")
        if agg == "median":
            return Recipe(spec, value=self._use(replace(measured, agg="median"), spec.id), n=n)
        scale = self.gross_margin if spec.scale == "gross_margin" else float(spec.scale or 1.0)
        total = self._use(replace(measured, agg="sum"), f"{spec.id}__sum")
        return Recipe(spec, numerator=total, denominator=n, n=n, scale=scale)

    def _atom(self, spec: MetricSpec, agg: AtomAgg, *, dims: tuple[str, ...]) -> Atom:
        assert spec.table and spec.time
        mode: Mode = "period"
        if spec.snapshot:
            mode = "open" if spec.snapshot.open_until else "last"
        return Atom(
            spec.table,
            spec.time,
            agg,
            filters=spec.filters,
            mode=mode,
            open_until=spec.snapshot.open_until if spec.snapshot else None,
            dims=dims,
        )

    def _part(self, spec: MetricSpec, part: Part, dims: tuple[str, ...], role: str) -> Atom:
        if part.metric:
            atom = self.recipes[part.metric].value
            assert atom is not None
            return self._use(replace(atom, dims=dims), part.metric)
        atom = self._atom(spec, part.aggregate or "count", dims=dims)
        atom = replace(atom, measure=part.measure, filters=_merge(spec.filters, part.filters))
        return self._use(atom, f"{spec.id}__{role}")

    def _n_of(self, spec: MetricSpec, dims: tuple[str, ...]) -> Atom:
        """Records behind a ratio's denominator (its row count, for intervals)."""
        part = spec.denominator
        assert part is not None
        if part.metric:
            n = self.recipes[part.metric].n
            assert n is not None
            return self._use(replace(n, dims=dims), f"{part.metric}__n")
        atom = self._atom(spec, "count", dims=dims)
        atom = replace(atom, filters=_merge(spec.filters, part.filters))
        return self._use(atom, f"{spec.id}__rows")

    def _use(self, atom: Atom, name: str) -> Atom:
        """Register ``atom`` in its group, which then also computes totals if it must."""
        self._register(atom, name)
        if atom.dims and not atom.summable and self.query.totals:
            self.groups[atom.group_key].totals = True
        return atom

    def _register(self, atom: Atom, name: str) -> None:
        group = self.groups.setdefault(
            atom.group_key,
            Group(
                atom.relation,
                atom.time,
                atom.mode,
                atom.open_until,
                atom.dims,
                start=self.query.start,
            ),
        )
        if atom not in group.atoms:
            taken = set(group.atoms.values())
            group.atoms[atom] = name if name not in taken else f"{name}_{len(taken)}"

    def _extend(self, recipe: Recipe, shifts: set[str]) -> None:
        """Start the groups of a shifted metric early enough to hold its earlier periods."""
        start = self.query.start
        if start is None or self.query.whole:
            return
        grain = self.query.calendar
        earliest = min(
            periods.year_ago(start, grain) if s == "year_ago" else periods.shift(start, grain, -1)
            for s in shifts
        )
        for atom in (recipe.value, recipe.numerator, recipe.denominator, recipe.n):
            group = self.groups.get(atom.group_key) if atom else None
            if group and (group.start or start) > earliest:
                group.start = earliest
        for ref in recipe.spec.references():
            self._extend(self.recipes[ref], shifts)


def _merge(a: tuple[Filter, ...], b: tuple[Filter, ...]) -> tuple[Filter, ...]:
    return tuple(dict.fromkeys((*a, *b)))
