"""Turn what a caller typed into a validated :class:`~revteam.metrics.plan.Query`.

Every check that can fail on user input happens here, before anything is compiled, with an
error that names what is allowed: unknown metrics, dimensions a metric cannot reach, unknown
grains, unreadable dates, filter values outside a dimension's vocabulary. The size limits of
one answer (``[limits]``: periods and rows) are checked here too, for every face, and raise
:class:`~revteam.exceptions.LimitExceededError`, which says how to ask for less.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict

from revteam.exceptions import LimitExceededError, MetricQueryError, UnsupportedDimensionError
from revteam.metrics import periods
from revteam.metrics.catalogue import Catalogue
from revteam.metrics.dimensions import BREAKDOWNS, DIMENSIONS, VALUES
from revteam.metrics.plan import Query
from revteam.metrics.sources import CREDITS, Context, Sourcing

DateLike = dt.date | dt.datetime | str
WhereValue = str | None | Sequence[str | None]
Where = tuple[tuple[str, tuple[str | None, ...]], ...]
"""Dimension filters, checked: each dimension with its sorted values (``None``: no value)."""


class RangeOptions(TypedDict, total=False):
    """What a metric-layer question may be narrowed by, besides the metrics themselves."""

    by: str | Iterable[str]
    """Dimensions to group by (also the breakdowns a metric lists)."""
    grain: str
    """day, week, month, quarter, year, or all (one period over the range)."""
    start: DateLike | None
    """First day; widened to the start of its period."""
    end: DateLike | None
    """Last day, inclusive; widened to the end of its period."""
    where: Mapping[str, WhereValue] | None
    """Dimension → values to keep (see :func:`check_where`)."""


class QueryOptions(RangeOptions, total=False):
    """The options every question to the metric layer takes.

    ``query``, ``records``, ``count_records``, ``sql`` and the statistics built on them take
    these as keywords: one value object instead of the same parameters in every signature.
    """

    as_of: DateLike | None
    """Cut-off for cohorts and "to date" (default: the latest event in the warehouse)."""


NULL_VALUE = "(none)"
"""How text interfaces (the CLI, URLs) write "records without a value" (``None`` in Python)."""
MAX_VALUES = 50
"""Values per dimension filter; more is almost certainly not a person's request."""
MAX_VALUE_LENGTH = 200
"""Characters per filter value; no dimension value is longer."""
NARROW_PERIODS = "a coarser grain (week, month, quarter or year) or a shorter range (start/end)"
NARROW_ROWS = (
    "a shorter range (start/end), a coarser grain, fewer metrics or dimensions, or a filter"
)


def as_list(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def to_date(value: DateLike | None, option: str) -> dt.date | None:
    """The day of ``value``; the whole text is parsed, so ``2024-01-01T99:00`` is refused."""
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, dt.datetime):
        return value.date()
    text = str(value)
    try:
        if len(text) > 10:
            return dt.datetime.fromisoformat(text).date()
        return dt.date.fromisoformat(text)
    except ValueError:
        raise MetricQueryError(option, value, "a date such as 2025-01-31") from None


def to_as_of(value: DateLike | None) -> dt.datetime | None:
    """A date means the end of that day; a datetime is taken as given (naive, workspace time)."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and len(value) > 10:
        try:
            return dt.datetime.fromisoformat(value).replace(tzinfo=None)
        except ValueError:
            raise MetricQueryError("as_of", value, "a date or ISO timestamp") from None
    day = to_date(value, "as_of")
    assert day is not None
    return dt.datetime.combine(day, dt.time.max)


def check_year(day: dt.date | None, option: str, years: tuple[int, int] | None) -> None:
    """Refuse a day outside the workspace's ``plausible_years``: no data lies there.

    Such a day is a typing slip (``0025`` for ``2025``) or a probe, and period arithmetic
    near year 1 would fail, so it is a clear 400, not a computation over 2,000 years.
    """
    if day is not None and years is not None and not years[0] <= day.year <= years[1]:
        raise MetricQueryError(
            option,
            day.isoformat(),
            f"a date in the years {years[0]} to {years[1]} (plausible_years)",
        )


def check_periods(
    query: Query, *, earliest: dt.date | None, as_of: dt.datetime, maximum: int
) -> None:
    """Refuse a query whose answer would span more than ``maximum`` periods.

    Without a ``start`` the periods begin at the data's ``earliest`` day; without an ``end``
    they run to the as-of time's period (as a snapshot's do), so the count never falls short.
    """
    if query.whole:
        return
    grain = query.calendar
    first = query.start or (periods.floor(earliest, grain, query.fy_start) if earliest else None)
    last = query.end or periods.floor(as_of.date(), grain, query.fy_start)
    if first is not None:
        check_span(first, last, grain, maximum=maximum)


def check_span(first: dt.date, last: dt.date, grain: periods.Grain, *, maximum: int) -> None:
    """Refuse ``first``..``last`` (period starts) when it holds more than ``maximum`` periods.

    Needs no data: with both ends known, a face can refuse an oversized request before it
    waits for the warehouse (``limits.max_periods``).
    """
    check_limit(
        "periods",
        periods.count(first, last, grain),
        maximum,
        setting="limits.max_periods",
        narrow=NARROW_PERIODS,
        about=f"{grain} periods from {first} to {last}",
    )


def check_limit(
    limit: str, requested: int, maximum: int, *, setting: str, narrow: str, about: str = ""
) -> None:
    """Raise :class:`LimitExceededError` when ``requested`` is over ``maximum``."""
    if requested > maximum:
        raise LimitExceededError(
            limit, requested, maximum, setting=setting, narrow=narrow, about=about
        )


def check_rows(
    requested: int, maximum: int, *, what: str = "rows", narrow: str = NARROW_ROWS
) -> None:
    """Refuse an answer of more than ``maximum`` rows (``limits.max_rows``)."""
    check_limit(what, requested, maximum, setting="limits.max_rows", narrow=narrow)


def build_query(
    catalogue: Catalogue,
    metrics: str | Iterable[str],
    options: RangeOptions | None = None,
    *,
    fy_start: int = 1,
    totals: bool = True,
    years: tuple[int, int] | None = None,
    max_periods: int | None = None,
) -> Query:
    """Validate a request against the catalogue; ``start``/``end`` widen to whole periods.

    With ``years`` (the workspace's ``plausible_years``), days outside them are refused; with
    ``max_periods``, a range given at both ends that spans more periods is. Neither needs
    data, so this is all a face can check before waiting for the warehouse.
    """
    opts: RangeOptions = options or {}
    by, grain = opts.get("by", ()), opts.get("grain", "month")
    start, end, where = opts.get("start"), opts.get("end"), opts.get("where")
    requested = as_list(metrics)
    for m in requested:
        # Checked before lookup: a non-string id would break UnknownMetricError's message.
        if not isinstance(m, str):
            raise MetricQueryError("metric", m, "a metric id (a string)")
    ids = tuple(dict.fromkeys(requested))
    if not ids:
        raise MetricQueryError("metrics", metrics, "at least one metric id")
    specs = [catalogue[m] for m in ids]
    g = periods.check_query_grain(grain)
    dims = tuple(dict.fromkeys(as_list(by)))
    filters = check_where(where or {})
    filters, model = _attribution_parameter(catalogue, ids, filters)
    for spec in specs:
        supported = catalogue.dimensions(spec.id)
        for d in (*dims, *(d for d, _ in filters)):
            if d not in DIMENSIONS and d not in BREAKDOWNS:  # grouping; filters checked above
                raise MetricQueryError(
                    "dimension", d, f"one of {', '.join((*DIMENSIONS, *BREAKDOWNS))}"
                )
            if d in spec.breakdowns and d not in dims:
                raise MetricQueryError(
                    "where",
                    d,
                    f"a filter on the breakdown {d!r} of {spec.id} together with by={d!r} "
                    "(a breakdown splits only the numerator)",
                )
            if d not in supported and d not in spec.breakdowns:
                raise UnsupportedDimensionError(spec.id, d, (*supported, *spec.breakdowns))
    first, last = to_date(start, "start"), to_date(end, "end")
    check_year(first, "start", years)
    check_year(last, "end", years)
    if first and last and first > last:
        raise MetricQueryError("range", f"{first} .. {last}", "start on or before end")
    if g != periods.ALL:
        cal = periods.check_grain(g)
        first = periods.floor(first, cal, fy_start) if first else None
        last = periods.floor(last, cal, fy_start) if last else None
        if first and last and max_periods is not None:
            check_span(first, last, cal, maximum=max_periods)
    return Query(
        metrics=ids,
        by=dims,
        grain=g,
        start=first,
        end=last,
        where=filters,
        fy_start=fy_start,
        # a total over models would count each conversion once per model
        totals=totals and "attribution_model" not in dims,
        attribution_model=model,
    )


def _attribution_parameter(
    catalogue: Catalogue, ids: tuple[str, ...], filters: Where
) -> tuple[Where, str | None]:
    """``attribution_model`` taken out of the filters: a parameter, not a filter.

    It chooses whose credit attributed KPIs read and keeps no records, so a ratio of costs
    to credit takes it too.
    """
    chosen = dict(filters).get("attribution_model")
    if chosen is None:
        return filters, None
    rest = tuple((d, v) for d, v in filters if d != "attribution_model")
    if len(chosen) != 1 or chosen[0] is None:
        raise MetricQueryError(
            "attribution_model",
            list(chosen),
            "one model (compare models with by=attribution_model or ws.attribution.compare)",
        )
    if not any(reads_credits(catalogue, m) for m in ids):
        raise MetricQueryError(
            "attribution_model",
            chosen[0],
            "a parameter of attributed KPIs only (attributed_leads, attributed_revenue, "
            "attributed_roi …): none of the metrics asked for reads attribution credit",
        )
    return rest, chosen[0]


def reads_credits(catalogue: Catalogue, metric: str) -> bool:
    """Whether ``metric`` (or a metric it is computed from) reads attribution credit."""
    return reads_relation(catalogue, metric, CREDITS)


def reads_relation(catalogue: Catalogue, metric: str, relation: str) -> bool:
    """Whether ``metric`` (or a metric it is computed from) reads ``relation``."""
    seen: set[str] = set()
    todo = [metric]
    while todo:
        m = todo.pop()
        if m in seen or m not in catalogue:
            continue
        seen.add(m)
        spec = catalogue[m]
        if spec.table == relation:
            return True
        todo.extend(spec.references())
    return False


def check_where(where: Mapping[str, WhereValue | Iterable[str | None]]) -> Where:
    """The one meaning of ``where``, for every face: dimension → the values to keep.

    A value is kept when the record's dimension equals it; ``None`` (written ``(none)`` in
    the CLI and in URLs) keeps records without a value. Values are stripped; blank ones mean
    "not given" and are dropped, as an empty form field is (a dimension left with no value is
    no filter). Unknown dimensions, values outside a closed vocabulary, more than
    :data:`MAX_VALUES` values and values over :data:`MAX_VALUE_LENGTH` characters are
    refused by name, never silently cut, so a caller never gets numbers for another filter.
    """
    out = []
    for dim, raw in sorted(where.items()):
        if dim not in DIMENSIONS and dim not in BREAKDOWNS:
            raise MetricQueryError(
                "dimension", dim, f"one of {', '.join((*DIMENSIONS, *BREAKDOWNS))}"
            )
        given: tuple[object, ...] = (
            tuple(raw) if isinstance(raw, list | tuple | set | frozenset) else (raw,)
        )
        if any(v is not None and not isinstance(v, str) for v in given):
            raise MetricQueryError(f"where[{dim!r}]", raw, "a string, None, or a list of them")
        values = [_value(v) for v in given if v is None or str(v).strip()]
        if len(values) > MAX_VALUES:
            raise MetricQueryError(dim, f"{len(values)} values", f"at most {MAX_VALUES}")
        long = next((v for v in values if v and len(v) > MAX_VALUE_LENGTH), None)
        if long is not None:
            raise MetricQueryError(
                dim, long[:40] + "…", f"values of at most {MAX_VALUE_LENGTH} characters"
            )
        allowed = VALUES.get(dim)
        bad = [v for v in values if allowed and v is not None and v not in allowed]
        if bad:
            raise MetricQueryError(
                f"where[{dim!r}]", bad[0], f"one of {', '.join(allowed or ())} or {NULL_VALUE}"
            )
        if values:
            out.append((dim, _canonical(values)))
    return tuple(out)


def _value(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return None if text == NULL_VALUE else text


def where_text(values: Iterable[str | None]) -> list[str]:
    """Filter values as text interfaces write them (``None`` as ``(none)``)."""
    return [NULL_VALUE if v is None else v for v in values]


def _canonical(values: Iterable[str | None]) -> tuple[str | None, ...]:
    """Unique and sorted (None last): equal filters give one cache key and stable SQL."""
    return tuple(sorted(set(values), key=lambda v: (v is None, v or "")))


def context(
    as_of: dt.datetime,
    *,
    gross_margin: float = 0.8,
    orders_loaded: bool = False,
    sourcing: Sourcing | None = None,
    clv_model: str = "bg_nbd",
) -> Context:
    return Context(as_of, gross_margin, orders_loaded, sourcing or Sourcing(), clv_model=clv_model)
