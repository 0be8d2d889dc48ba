"""Metric specs: frozen, declarative descriptions of one KPI each, as written in the YAML catalogue.

A spec says *what* a number means (table, time column, filters, measure, parts, window), never
*how* to compute it on an engine; the compiler turns specs into ibis expressions. Structure is
checked here by pydantic; meaning (columns exist, references resolve, kinds have what they need)
is checked for a whole catalogue at once in :mod:`revteam.metrics.catalogue` so that every
problem is reported together.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Kind = Literal["count", "sum", "mean", "median", "ratio", "cohort_rate", "snapshot", "derived"]
Owners = Literal["marketing", "sales", "shared"]
Unit = Literal["count", "money", "percent", "days", "hours", "number"]
Direction = Literal["higher", "lower"]
Aggregate = Literal["count", "sum", "mean"]
FilterOp = Literal["eq", "ne", "in", "not_in", "lt", "le", "gt", "ge", "null"]
Scalar = str | int | float | bool

KINDS: tuple[str, ...] = get_args(Kind)
OWNERS: tuple[str, ...] = get_args(Owners)
UNITS: tuple[str, ...] = get_args(Unit)
FILTER_OPS: tuple[str, ...] = get_args(FilterOp)

_FROZEN = ConfigDict(frozen=True, extra="forbid")
OVERRIDE = "workspace (overrides shipped)"
"""``source`` of a workspace spec that replaces a shipped one (set by the catalogue loader)."""


class Filter(BaseModel):
    """One condition on a column; a spec's filters are all ANDed.

    In YAML a filter is ``column: value`` (equality), ``column: [a, b]`` (one of),
    ``column: null`` (is empty) or ``column: {op: value}`` with ``op`` one of
    eq, ne, in, not_in, lt, le, gt, ge, null (``null: false`` means "is not empty").
    """

    model_config = _FROZEN

    column: str
    op: FilterOp = "eq"
    value: Scalar | tuple[Scalar, ...] | None = None

    def describe(self) -> str:
        words = {"eq": "=", "ne": "≠", "lt": "<", "le": "≤", "gt": ">", "ge": "≥"}
        if self.op == "null":
            return f"{self.column} is {'empty' if self.value else 'set'}"
        if self.op in {"in", "not_in"}:
            values = ", ".join(str(v) for v in self.value or ())  # type: ignore[union-attr]
            return f"{self.column} {'in' if self.op == 'in' else 'not in'} ({values})"
        return f"{self.column} {words[self.op]} {_show(self.value)}"


def _show(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def parse_filters(raw: Any) -> Any:
    """Turn the YAML mapping form of filters into a sorted tuple of :class:`Filter` inputs."""
    if raw is None:
        return ()
    if not isinstance(raw, dict):
        return raw  # a list of Filter mappings, or garbage for pydantic to report
    out: list[dict[str, Any]] = []
    for column, cond in sorted(raw.items(), key=lambda kv: str(kv[0])):
        if cond is None:
            out.append({"column": column, "op": "null", "value": True})
        elif isinstance(cond, list | tuple):
            out.append({"column": column, "op": "in", "value": tuple(cond)})
        elif isinstance(cond, dict) and len(cond) == 1:
            ((op, value),) = cond.items()
            value = tuple(value) if isinstance(value, list) else value
            out.append({"column": column, "op": op, "value": value})
        else:
            out.append({"column": column, "op": "eq", "value": cond})
    return tuple(out)


class Measure(BaseModel):
    """What is summed, averaged or ranked: a column, a sum of columns, or a duration.

    YAML: ``measure: amount``, ``{sum_of: [likes, shares]}``, ``{days_between: [a, b]}`` or
    ``{hours_between: [a, b]}`` (from ``a`` to ``b``, fractional).
    """

    model_config = _FROZEN

    column: str | None = None
    sum_of: tuple[str, ...] = ()
    days_between: tuple[str, str] | None = None
    hours_between: tuple[str, str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"column": data} if isinstance(data, str) else data

    @model_validator(mode="after")
    def _exactly_one(self) -> Measure:
        given = [self.column, self.sum_of or None, self.days_between, self.hours_between]
        if sum(g is not None for g in given) != 1:
            raise ValueError(
                "a measure is exactly one of: a column name, sum_of, days_between, hours_between"
            )
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        if self.column:
            return (self.column,)
        return self.sum_of or self.days_between or self.hours_between or ()

    def describe(self) -> str:
        if self.column:
            return self.column
        if self.sum_of:
            return " + ".join(self.sum_of)
        a, b = self.days_between or self.hours_between or ("", "")
        return f"{'days' if self.days_between else 'hours'} from {a} to {b}"


class Part(BaseModel):
    """The numerator or denominator of a ratio: another (additive) metric, or an aggregate.

    An inline aggregate is computed on the ratio's own table and time column, with the ratio's
    filters and its own; ``numerator: leads`` is short for ``{metric: leads}``.
    """

    model_config = _FROZEN

    metric: str | None = None
    aggregate: Literal["count", "sum"] | None = None
    measure: Measure | None = None
    filters: tuple[Filter, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        return {"metric": data} if isinstance(data, str) else data

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, value: Any) -> Any:
        return parse_filters(value)


class Snapshot(BaseModel):
    """How a snapshot metric sees the state at the end of each period.

    ``open_until``: a record is open at the end of P when its time column is before the end and
    this column is empty or not before the end (e.g. ``closed_at`` for open pipeline).
    ``last_observation``: only rows on the last date of P that has data (e.g. keyword rankings).
    """

    model_config = _FROZEN

    open_until: str | None = None
    last_observation: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> Snapshot:
        if (self.open_until is None) == (not self.last_observation):
            raise ValueError(
                "a snapshot is either {open_until: column} or {last_observation: true}"
            )
        return self


class Formula(BaseModel):
    """A derived metric, computed after aggregation from other metrics' results.

    Expressions use metric ids, numbers, + - * / and parentheses, ``previous(m)`` (the same
    metric one period earlier), ``year_ago(m)`` and the workspace constant ``gross_margin``.
    ``value`` may also use ``numerator`` and ``denominator``; it defaults to their quotient.
    """

    model_config = _FROZEN

    numerator: str
    denominator: str | None = None
    value: str | None = None


class MetricSpec(BaseModel):
    """One KPI of the catalogue. Field meanings are documented in ``docs/metrics.md``."""

    model_config = _FROZEN

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    label: str = Field(min_length=1)
    description: str = Field(min_length=1)
    owners: Owners
    kind: Kind
    unit: Unit
    direction: Direction = "higher"
    table: str | None = None
    """Canonical table or derived relation the metric reads."""
    time: str | None = None
    """Column that places a record in a period (for cohorts: the entry into the first stage)."""
    filters: tuple[Filter, ...] = ()
    measure: Measure | None = None
    aggregate: Aggregate | None = None
    """Aggregate of a snapshot metric."""
    snapshot: Snapshot | None = None
    numerator: Part | None = None
    denominator: Part | None = None
    reached: tuple[str, ...] = ()
    """Cohort rates: stage timestamps; a member converts when the earliest is within the window."""
    window_days: int | None = Field(None, gt=0)
    cohort: bool = False
    """Show cohort age (and maturity, with a window) even though the kind is not cohort_rate."""
    scale: Literal["gross_margin"] | float | None = None
    """Multiply the numerator (and value) by this, e.g. CLV times gross margin."""
    formula: Formula | None = None
    dimensions: tuple[str, ...] | None = None
    """Dimensions offered; by default every dimension that the metric's tables reach."""
    breakdowns: tuple[str, ...] = ()
    """Dimensions that split only the numerator (the parts then add up to the total rate)."""
    source: str = "shipped"
    """Where the definition comes from: shipped, workspace, or workspace (overrides shipped)."""
    path: str | None = None

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, value: Any) -> Any:
        return parse_filters(value)

    @property
    def is_cohort(self) -> bool:
        return self.kind == "cohort_rate" or self.cohort

    @property
    def is_override(self) -> bool:
        return self.source == OVERRIDE

    def references(self) -> tuple[str, ...]:
        """Ids of the metrics this one is computed from."""
        from revteam.metrics.derived import names_in

        refs = [p.metric for p in (self.numerator, self.denominator) if p and p.metric]
        if self.formula:
            for expr in (self.formula.numerator, self.formula.denominator):
                refs += names_in(expr) if expr else []
        return tuple(dict.fromkeys(refs))


class FunnelStage(BaseModel):
    """One stage of the lead funnel: how many entered it, and the conversion into it.

    ``count`` is a count metric of entries into the stage; ``conversion`` (every stage but the
    first) the cohort rate from the previous stage's entries into this one.
    """

    model_config = _FROZEN

    stage: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    label: str = Field(min_length=1)
    owners: Owners
    """The team that moves people into the stage."""
    count: str
    conversion: str | None = None


class Funnel(BaseModel):
    """The lead funnel: its stages in order and the end-to-end conversion (all metric ids)."""

    model_config = _FROZEN

    stages: tuple[FunnelStage, ...] = Field(min_length=2)
    overall: str | None = None
    source: str = "shipped"

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric the funnel shows, stage by stage, then the overall conversion."""
        ids = [m for s in self.stages for m in (s.count, s.conversion) if m]
        return tuple(dict.fromkeys([*ids, *([self.overall] if self.overall else [])]))


class ScorecardItem(BaseModel):
    """One metric on the shared scorecard and the team that answers for it there."""

    model_config = _FROZEN

    metric: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    owner: Owners | None = None
    """Who answers for the number in the joint review; the metric's ``owners`` when not given."""


class ScorecardSection(BaseModel):
    """A titled group of scorecard metrics, shown in this order."""

    model_config = _FROZEN

    title: str = Field(min_length=1, max_length=80)
    metrics: tuple[ScorecardItem, ...] = Field(min_length=1, max_length=40)

    @field_validator("metrics", mode="before")
    @classmethod
    def _plain_ids(cls, value: Any) -> Any:
        """A bare metric id stands for ``{metric: id}``."""
        if isinstance(value, list | tuple):
            return [{"metric": v} if isinstance(v, str) else v for v in value]
        return value


class Scorecard(BaseModel):
    """The shared scorecard both teams agreed: which KPIs the Overview and the review show.

    It lives in the catalogue (``scorecard:`` in a catalogue file) and changes like a shared
    definition: by a proposal both teams sign (``revteam.proposals``).
    """

    model_config = _FROZEN

    sections: tuple[ScorecardSection, ...] = Field(min_length=1, max_length=12)
    source: str = "shipped"

    @property
    def metrics(self) -> tuple[str, ...]:
        """Every metric on the scorecard, in order."""
        return tuple(i.metric for s in self.sections for i in s.metrics)

    def owner_of(self, metric: str, default: str) -> str:
        """The team answering for ``metric`` on the scorecard (``default``: its owners)."""
        for section in self.sections:
            for item in section.metrics:
                if item.metric == metric:
                    return item.owner or default
        return default
