"""Semantic checks of a whole catalogue: every problem of every spec, found in one pass.

pydantic has already checked each spec's structure; here we check meaning against the
canonical model and the other specs: the kind has the fields it needs (and no others), tables
and columns exist with usable types, filter values are in the column's vocabulary, references
resolve without cycles, formulas parse, and listed dimensions are reachable.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from revteam.metrics import derived
from revteam.metrics.columns import RESULT_COLUMNS
from revteam.metrics.dimensions import BREAKDOWNS, DIMENSIONS, conformed, reach
from revteam.metrics.sources import RELATIONS, Relation
from revteam.metrics.spec import Filter, Funnel, Measure, MetricSpec, Part, Scorecard

Problem = tuple[str, str | None, str]
"""(metric id, field or None, message)."""

_OPTIONAL = (
    "table",
    "time",
    "filters",
    "measure",
    "aggregate",
    "snapshot",
    "numerator",
    "denominator",
    "reached",
    "window_days",
    "scale",
    "formula",
)
_ROW = ("table", "time", "filters")
ALLOWED: dict[str, tuple[str, ...]] = {
    "count": _ROW,
    "sum": (*_ROW, "measure"),
    "mean": (*_ROW, "measure", "scale"),
    "median": (*_ROW, "measure"),
    "ratio": (*_ROW, "numerator", "denominator"),
    "cohort_rate": (*_ROW, "reached", "window_days"),
    "snapshot": (*_ROW, "measure", "aggregate", "snapshot"),
    "derived": ("formula",),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "count": ("table", "time"),
    "sum": ("table", "time", "measure"),
    "mean": ("table", "time", "measure"),
    "median": ("table", "time", "measure"),
    "ratio": ("numerator", "denominator"),
    "cohort_rate": ("table", "time", "reached"),
    "snapshot": ("table", "time", "snapshot", "aggregate"),
    "derived": ("formula",),
}
RESERVED = frozenset(RESULT_COLUMNS)
_NUMERIC = {"integer", "float", "money"}
_TEMPORAL = {"date", "timestamp"}


def check_catalogue(specs: Mapping[str, MetricSpec]) -> list[Problem]:
    problems: list[Problem] = []
    for spec in specs.values():
        problems += [(spec.id, f, m) for f, m in _spec_problems(spec, specs)]
    problems += _cycles(specs)
    bad = {mid for mid, _, _ in problems}
    for spec in specs.values():
        # dimensions follow references: check them where the whole chain is sound
        if not (_depends_on(spec.id, specs) & bad):
            problems += [(spec.id, f, m) for f, m in _dimension_problems(spec, specs)]
    return problems


def _depends_on(metric: str, specs: Mapping[str, MetricSpec]) -> set[str]:
    seen: set[str] = set()
    todo = [metric]
    while todo:
        mid = todo.pop()
        if mid not in seen:
            seen.add(mid)
            todo += [r for r in specs[mid].references() if r in specs] if mid in specs else []
    return seen


def _spec_problems(spec: MetricSpec, specs: Mapping[str, MetricSpec]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if spec.id in RESERVED or spec.id in DIMENSIONS or spec.id in BREAKDOWNS:
        out.append(("id", f"{spec.id!r} is a result column or dimension name; choose another"))
    allowed = ALLOWED[spec.kind] + (("window_days",) if spec.cohort else ())
    takes = f"not used by kind {spec.kind!r}, which takes: {', '.join(allowed)}"
    out += [
        (name, takes)
        for name in _OPTIONAL
        if name not in allowed and getattr(spec, name) not in (None, ())
    ]
    inline = spec.kind == "ratio" and any(
        p is not None and p.metric is None for p in (spec.numerator, spec.denominator)
    )
    required = REQUIRED[spec.kind] + (("table", "time") if inline else ())
    out += [
        (name, f"kind {spec.kind!r} needs it")
        for name in required
        if getattr(spec, name) in (None, ())
    ]
    if spec.table is not None:
        rel = RELATIONS.get(spec.table)
        if rel is None:
            out.append(("table", f"unknown table {spec.table!r}; allowed: {', '.join(RELATIONS)}"))
        else:
            out += _column_problems(spec, rel, specs)
    if (
        spec.kind == "snapshot"
        and spec.aggregate
        and (spec.aggregate == "count") == bool(spec.measure)
    ):
        out.append(("measure", "a snapshot count takes no measure; a sum or mean needs one"))
    out += _formula_problems(spec, specs)
    return out


def _column_problems(
    spec: MetricSpec, rel: Relation, specs: Mapping[str, MetricSpec]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []

    def need(field: str, column: str, types: set[str], what: str) -> None:
        kind = rel.column_type(column)
        if kind is None:
            out.append(
                (
                    field,
                    f"{rel.name} has no column {column!r}; it has: {', '.join(rel.all_columns)}",
                )
            )
        elif kind not in types:
            out.append((field, f"{rel.name}.{column} is {kind}, not {what}"))

    if spec.time:
        need("time", spec.time, _TEMPORAL, "a date or timestamp")
    for f in spec.filters:
        out += _filter_problems("filters", f, rel)
    out += [("measure", m) for m in _measure_problems(spec.measure, rel)]
    for col in spec.reached:
        need("reached", col, _TEMPORAL, "a date or timestamp")
    if spec.snapshot and spec.snapshot.open_until:
        need("snapshot", spec.snapshot.open_until, _TEMPORAL, "a date or timestamp")
    for name in ("numerator", "denominator"):
        part: Part | None = getattr(spec, name)
        if part is not None:
            out += [(name, m) for m in _part_problems(part, rel, specs)]
    return out


def _filter_problems(field: str, f: Filter, rel: Relation) -> list[tuple[str, str]]:
    kind = rel.column_type(f.column)
    if kind is None:
        return [
            (field, f"{rel.name} has no column {f.column!r}; it has: {', '.join(rel.all_columns)}")
        ]
    many = f.op in {"in", "not_in"}
    if many != isinstance(f.value, tuple) or (f.op == "null" and not isinstance(f.value, bool)):
        shape = "a list" if many else ("true or false" if f.op == "null" else "one value")
        return [(field, f"{f.column}: {f.op} takes {shape}")]
    enum = rel.enum(f.column)
    values = f.value if isinstance(f.value, tuple) else (f.value,)
    if enum and f.op != "null":
        bad = [v for v in values if v not in enum]
        if bad:
            return [(field, f"{f.column}: {bad} not allowed; allowed: {', '.join(enum)}")]
    return []


def _measure_problems(measure: Measure | None, rel: Relation) -> list[str]:
    if measure is None:
        return []
    types = _TEMPORAL if (measure.days_between or measure.hours_between) else _NUMERIC
    out = []
    for col in measure.columns:
        kind = rel.column_type(col)
        if kind is None:
            out.append(f"{rel.name} has no column {col!r}; it has: {', '.join(rel.all_columns)}")
        elif kind not in types:
            out.append(f"{rel.name}.{col} is {kind}; expected {' or '.join(sorted(types))}")
    return out


def _part_problems(part: Part, rel: Relation, specs: Mapping[str, MetricSpec]) -> list[str]:
    if part.metric is not None:
        ref = specs.get(part.metric)
        if ref is None:
            return [f"unknown metric {part.metric!r}"]
        if ref.kind not in {"count", "sum"} or part.aggregate or part.measure or part.filters:
            return [
                f"a part naming a metric takes nothing else, and the metric must be a count "
                f"or sum (so the parts add up); {part.metric!r} is a {ref.kind}"
            ]
        return []
    if (part.aggregate == "sum") != (part.measure is not None):
        return ["an inline part is {aggregate: count} or {aggregate: sum, measure: …}"]
    out = [m for _, m in (p for f in part.filters for p in _filter_problems("filters", f, rel))]
    return out + _measure_problems(part.measure, rel)


def _formula_problems(spec: MetricSpec, specs: Mapping[str, MetricSpec]) -> list[tuple[str, str]]:
    if spec.formula is None:
        return []
    out: list[tuple[str, str]] = []
    f = spec.formula
    for name, expr in (
        ("numerator", f.numerator),
        ("denominator", f.denominator),
        ("value", f.value),
    ):
        if expr is None:
            continue
        try:
            derived.parse(expr)
        except derived.FormulaSyntaxError as exc:
            out.append((f"formula.{name}", str(exc)))
            continue
        names = derived.names_in(expr)
        if name == "value":
            out += [
                (
                    "formula.value",
                    f"{n!r}: a value formula uses numerator, denominator, numbers and gross_margin",
                )
                for n in names
            ]
            continue
        for n in names:
            if n not in specs or n == spec.id:
                out.append((f"formula.{name}", f"unknown metric {n!r}"))
            elif specs[n].breakdowns:
                out.append((f"formula.{name}", f"{n!r} has breakdowns; derive from others"))
    return out


def _cycles(specs: Mapping[str, MetricSpec]) -> list[Problem]:
    out: list[Problem] = []
    state: dict[str, int] = {}

    def visit(mid: str, trail: tuple[str, ...]) -> None:
        if state.get(mid) == 2 or mid not in specs:
            return
        if state.get(mid) == 1:
            out.append((mid, None, f"circular reference: {' → '.join((*trail, mid))}"))
            return
        state[mid] = 1
        for ref in specs[mid].references():
            visit(ref, (*trail, mid))
        state[mid] = 2

    for mid in specs:
        visit(mid, ())
    return out


def supported_dimensions(metric: str, specs: Mapping[str, MetricSpec]) -> tuple[str, ...]:
    """Conformed dimensions a metric can be grouped or filtered by (without its breakdowns)."""
    spec = specs[metric]
    sets: list[set[str]] = []
    inline = spec.kind != "ratio" or any(
        p is not None and p.metric is None for p in (spec.numerator, spec.denominator)
    )
    if spec.table and inline:
        sets.append(set(conformed(reach(RELATIONS[spec.table].reach_table))))
    sets += [set(supported_dimensions(ref, specs)) for ref in spec.references()]
    found = set.intersection(*sets) if sets else set()
    if spec.dimensions is not None:
        found &= set(spec.dimensions)
    return tuple(d for d in DIMENSIONS if d in found)


def _dimension_problems(spec: MetricSpec, specs: Mapping[str, MetricSpec]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    listed = set(spec.dimensions or ())
    reachable = set(
        supported_dimensions(
            spec.id, {**specs, spec.id: spec.model_copy(update={"dimensions": None})}
        )
    )
    where = f"reachable: {', '.join(sorted(reachable)) or 'none'}"
    out += [
        ("dimensions", f"{d!r} is not reachable from this metric's tables; {where}")
        for d in sorted(listed - reachable)
    ]
    if spec.breakdowns and spec.kind not in {"ratio", "cohort_rate"}:
        out.append(("breakdowns", "only ratios and cohort rates can break down a numerator"))
    paths = reach(RELATIONS[spec.table].reach_table) if spec.table in RELATIONS else {}
    allowed_here = ", ".join(d for d in BREAKDOWNS if d in paths)
    out += [
        ("breakdowns", f"{b!r} is not a breakdown of {spec.table}; allowed: {allowed_here}")
        for b in spec.breakdowns
        if b not in BREAKDOWNS or b not in paths
    ]
    return out


def check_funnel(funnel: Funnel, specs: Mapping[str, MetricSpec]) -> list[tuple[str, str]]:
    """(field, message) for every stage that is not a count and a conversion that agree.

    A stage's count must count entries into it, and its conversion must be the cohort rate
    from the previous stage's entries (same table and time column) into this stage's (its
    time column among the rate's target stages): so the funnel's numbers are the KPIs'.
    """
    out: list[tuple[str, str]] = []

    def known(field: str, metric: str, kind: str) -> MetricSpec | None:
        spec = specs.get(metric)
        if spec is None:
            out.append((field, f"unknown metric {metric!r}"))
        elif spec.kind != kind:
            role = field.rsplit(".", 1)[-1]
            out.append((field, f"{metric} is a {spec.kind}; a funnel {role} needs a {kind}"))
        else:
            return spec
        return None

    previous: MetricSpec | None = None
    for i, stage in enumerate(funnel.stages):
        where = f"stages.{i}"
        count = known(f"{where}.count", stage.count, "count")
        if (stage.conversion is None) != (i == 0):
            out.append((f"{where}.conversion", "every stage but the first needs a conversion"))
        elif stage.conversion is not None:
            rate = known(f"{where}.conversion", stage.conversion, "cohort_rate")
            if rate and previous and (rate.table, rate.time) != (previous.table, previous.time):
                out.append(
                    (
                        f"{where}.conversion",
                        f"{rate.id} counts from {rate.table}.{rate.time}, but the previous "
                        f"stage counts {previous.table}.{previous.time}",
                    )
                )
            if rate and count and (count.table != rate.table or count.time not in rate.reached):
                out.append(
                    (
                        f"{where}.conversion",
                        f"{rate.id} does not reach {count.table}.{count.time} ({stage.count})",
                    )
                )
        previous = count
    if funnel.overall is not None:
        known("overall", funnel.overall, "cohort_rate")
    return out


MAX_SCORECARD = 60
"""Metrics on one scorecard: more is a catalogue, not a scorecard (and a slow Overview)."""


def check_scorecard(scorecard: Scorecard, specs: Mapping[str, MetricSpec]) -> list[tuple[str, str]]:
    """(field, message) for every scorecard metric that is unknown or listed twice."""
    out: list[tuple[str, str]] = []
    seen: dict[str, str] = {}
    for i, section in enumerate(scorecard.sections):
        for j, item in enumerate(section.metrics):
            where = f"sections.{i}.metrics.{j}"
            if item.metric not in specs:
                near = difflib.get_close_matches(item.metric, list(specs), n=1)
                hint = f"; did you mean {near[0]}?" if near else ""
                out.append((where, f"unknown metric {item.metric!r}{hint}"))
            elif item.metric in seen:
                out.append(
                    (where, f"{item.metric} is already on the scorecard ({seen[item.metric]})")
                )
            seen.setdefault(item.metric, section.title)
    if len(scorecard.metrics) > MAX_SCORECARD:
        out.append(
            (
                "sections",
                f"{len(scorecard.metrics)} metrics; a scorecard has at most {MAX_SCORECARD}",
            )
        )
    return out
