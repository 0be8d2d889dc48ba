"""``/stats``: the statistics of ``ws.stats`` on any KPI, with the options of the CLI's commands.

Each statistic has a request function (:func:`compare_request` …) that refuses what needs no
data (unknown metric 404, dimensions, filters, years, a range over ``limits.max_periods`` 400)
before the request may wait for the warehouse, and returns the cache key and the computation.
The Insights page reads the same functions, so it and the API show one cache entry's numbers.
An answer is the analysis' rows (dates as ISO text, non-finite numbers as null) and what it
computed (the table's ``revteam.stats`` metadata: periods compared, unit, method, prior).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import Field

from revteam.exceptions import MetricQueryError
from revteam.metrics.request import Where, check_year, to_as_of
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import PrincipalDep, RuntimeDep, WhereDep
from revteam.web.runtime import Cached, Runtime
from revteam.web.schemas import Grain, Offset, Page, next_offset
from revteam.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

router = APIRouter(prefix="/stats", tags=["statistics"])

Scalar = str | int | float | bool | None
Row = dict[str, Scalar]
Statistic = Literal["compare", "rank", "anomalies", "drivers", "cohorts"]
StatsRequest = tuple[Hashable, Callable[[Workspace], "StatsAnswer"]]
"""A request's cache key and its computation, for :meth:`Runtime.read`."""

COMPARE_ALPHA = 0.05
"""False-discovery rate of comparisons and drivers (``revteam compare``, ``revteam drivers``)."""
ANOMALY_ALPHA = 0.01
"""False-discovery rate of anomalies (``revteam.stats.anomalies.ALPHA``, kept here so that
importing the API does not import scipy)."""
MAX_WINDOW = 60
"""Periods an anomaly baseline or a drivers window may pool: five years of months."""
PERIOD = r"^\d{4}(-(\d{2}(-\d{2})?|W\d{2}|Q[1-4]))?$"
"""A day or a period's label: 2026-03-14, 2026-03, 2026-W10, 2026-Q1, 2026."""


@dataclass(frozen=True)
class StatsAnswer:
    """One statistic's rows and metadata as JSON values, cached for the page and the API."""

    rows: list[Row]
    meta: dict[str, Any]
    as_of: dt.datetime
    """The data's as-of time the statistic was computed at."""


class StatsOut(Page):
    statistic: Statistic
    metric: str
    as_of: dt.datetime = Field(description="The data's as-of time the statistic describes.")
    meta: dict[str, Any] = Field(
        description="What was computed: unit, periods compared, method, fitted prior … "
        "(revteam.stats.meta_of of the table)."
    )
    rows: list[Row] = Field(description="The analysis' rows (docs/statistics.md names them).")
    data_version: int
    stale: bool = Field(description="True while a load holds the warehouse: last numbers shown.")


# -- shared request functions: the Insights page reads these too -------------------------------
def compare_request(
    runtime: Runtime,
    metric: str,
    *,
    by: Sequence[str] = (),
    against: Literal["rest", "previous", "last_year"] = "rest",
    period: str | None = None,
    grain: str = "month",
    where: Where = (),
    as_of: dt.date | None = None,
    alpha: float = COMPARE_ALPHA,
    level: float = 0.95,
) -> StatsRequest:
    """``ws.stats.compare``: each segment of a period against the rest, or a period before."""
    dims = _checked(runtime, metric, by, grain=grain, where=where, as_of=as_of)
    _check_period(runtime, period, "period")

    def compute(ws: Workspace) -> StatsAnswer:
        cut = _cut(ws, as_of)
        table = ws.stats.compare(
            metric,
            by=dims,
            against=against,
            period=period,
            grain=grain,
            where=_where(where),
            as_of=cut,
            alpha=alpha,
            level=level,
        )
        return answer(table, cut)

    key = ("stats", "compare", metric, dims, against, period, grain, where, as_of, alpha, level)
    return key, compute


def rank_request(
    runtime: Runtime,
    metric: str,
    *,
    by: Sequence[str] = ("campaign",),
    start: dt.date | None = None,
    end: dt.date | None = None,
    where: Where = (),
    as_of: dt.date | None = None,
    level: float = 0.95,
    prior: Literal["marginal_likelihood", "moments"] = "marginal_likelihood",
) -> StatsRequest:
    """``ws.stats.rank``: segments by empirical-Bayes shrunk rate over ``start``..``end``."""
    dims = _checked(runtime, metric, by, start=start, end=end, where=where, as_of=as_of)

    def compute(ws: Workspace) -> StatsAnswer:
        cut = _cut(ws, as_of)
        table = ws.stats.rank(
            metric,
            by=dims,
            start=start,
            end=end,
            where=_where(where),
            as_of=cut,
            level=level,
            prior=prior,
        )
        return answer(table, cut)

    return ("stats", "rank", metric, dims, start, end, where, as_of, level, prior), compute


def anomalies_request(
    runtime: Runtime,
    metric: str,
    *,
    by: Sequence[str] = (),
    grain: str = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
    where: Where = (),
    as_of: dt.date | None = None,
    alpha: float = ANOMALY_ALPHA,
    window: int | None = None,
    all_periods: bool = False,
) -> StatsRequest:
    """``ws.stats.anomalies``: spikes and shifts beyond noise, most significant first."""
    dims = _checked(
        runtime, metric, by, grain=grain, start=start, end=end, where=where, as_of=as_of
    )

    def compute(ws: Workspace) -> StatsAnswer:
        cut = _cut(ws, as_of)
        table = ws.stats.anomalies(
            metric,
            by=dims,
            grain=grain,
            start=start,
            end=end,
            where=_where(where),
            as_of=cut,
            alpha=alpha,
            window=window,
            all_periods=all_periods,
        )
        return answer(table, cut)

    key = ("stats", "anomalies", metric, dims, grain, start, end, where, as_of, alpha, window)
    return (*key, all_periods), compute


def drivers_request(
    runtime: Runtime,
    metric: str,
    *,
    by: Sequence[str] = (),
    period: str | None = None,
    against: str = "previous",
    window: int = 1,
    grain: str = "month",
    where: Where = (),
    as_of: dt.date | None = None,
    alpha: float = COMPARE_ALPHA,
) -> StatsRequest:
    """``ws.stats.drivers``: a change split into parts that add up (mix and rate, levers)."""
    dims = _checked(runtime, metric, by, grain=grain, where=where, as_of=as_of)
    _check_period(runtime, period, "period")
    if against not in ("previous", "last_year"):
        _check_period(runtime, against, "against")

    def compute(ws: Workspace) -> StatsAnswer:
        cut = _cut(ws, as_of)
        table = ws.stats.drivers(
            metric,
            by=dims,
            period=period,
            against=against,
            window=window,
            grain=grain,
            where=_where(where),
            as_of=cut,
            alpha=alpha,
        )
        return answer(table, cut)

    key = ("stats", "drivers", metric, dims, period, against, window, grain, where, as_of, alpha)
    return key, compute


def cohorts_request(
    runtime: Runtime,
    metric: str,
    *,
    by: Sequence[str] = (),
    grain: str = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
    where: Where = (),
    as_of: dt.date | None = None,
    level: float = 0.95,
) -> StatsRequest:
    """``ws.stats.cohorts``: each cohort's rate at the window, projected while immature."""
    dims = _checked(
        runtime, metric, by, grain=grain, start=start, end=end, where=where, as_of=as_of
    )

    def compute(ws: Workspace) -> StatsAnswer:
        cut = _cut(ws, as_of)
        table = ws.stats.cohorts(
            metric,
            by=dims,
            grain=grain,
            start=start,
            end=end,
            where=_where(where),
            as_of=cut,
            level=level,
        )
        return answer(table, cut)

    return ("stats", "cohorts", metric, dims, grain, start, end, where, as_of, level), compute


def answer(table: pa.Table, as_of: dt.datetime) -> StatsAnswer:
    """A statistics table as JSON values: rows and its ``revteam.stats`` metadata."""
    from revteam.stats import meta_of

    rows = [{k: json_value(v) for k, v in r.items()} for r in table.to_pylist()]
    return StatsAnswer(rows, json_meta(meta_of(table)), as_of)


def json_value(value: object) -> Scalar:
    """A table cell as JSON: dates as ISO text, NaN and infinities as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.date):
        return value.isoformat()
    if value is None or isinstance(value, str | int):
        return value
    return str(value)


def json_meta(value: object) -> Any:
    """Metadata with every non-finite number (a NaN the JSON of the schema kept) as null."""
    if isinstance(value, Mapping):
        return {str(k): json_meta(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_meta(v) for v in value]
    return json_value(value)


def _checked(
    runtime: Runtime,
    metric: str,
    by: Sequence[str],
    *,
    grain: str = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
    where: Where = (),
    as_of: dt.date | None = None,
) -> tuple[str, ...]:
    """The dimensions, once the metric layer has accepted the request without data."""
    dims = tuple(by)
    runtime.definitions.check(
        metric,
        {
            "by": dims,
            "grain": grain,
            "start": start,
            "end": end,
            "where": {d: list(v) for d, v in where},
        },
    )
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    return dims


def _check_period(runtime: Runtime, text: str | None, option: str) -> None:
    """A period's year within ``plausible_years``: period arithmetic beyond them is refused."""
    if text is None:
        return
    first, last = runtime.settings.plausible_years
    year = int(text[:4]) if text[:4].isdigit() else None
    if year is None or not first <= year <= last:
        raise MetricQueryError(option, text, f"a period in the years {first} to {last}")


def _where(where: Where) -> dict[str, list[str | None]] | None:
    return {d: list(v) for d, v in where} or None


def _cut(ws: Workspace, as_of: dt.date | None) -> dt.datetime:
    """The as-of time asked for (the end of that day), else the data's."""
    return to_as_of(as_of) or ws.metrics.as_of()


def respond(
    statistic: Statistic, metric: str, found: Cached[StatsAnswer], limit: int, offset: int
) -> StatsOut:
    """The answer's page of rows; the whole answer is cached, so paging costs no computing."""
    rows = found.value.rows
    return StatsOut(
        statistic=statistic,
        metric=metric,
        as_of=found.value.as_of,
        meta=found.value.meta,
        rows=rows[offset : offset + limit],
        total=len(rows),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(rows), limit, offset),
        data_version=found.data_version,
        stale=found.stale,
    )


# -- parameters --------------------------------------------------------------------------------
MetricParam = Annotated[
    str, Query(min_length=1, max_length=64, description="Metric id (GET /api/v1/metrics).")
]
By = Annotated[
    list[str] | None,
    Query(max_length=3, description="Dimensions to split by (repeatable, at most 3)."),
]
PeriodParam = Annotated[
    str | None,
    Query(
        max_length=10,
        pattern=PERIOD,
        description="2026-03, 2026-W10, 2026-Q1, 2026 or a day (default: the latest complete "
        "period; for cohort metrics the latest mature one).",
    ),
]
Start = Annotated[dt.date | None, Query(description="First day (widened to its period).")]
End = Annotated[dt.date | None, Query(description="Last day (widened to its period).")]
AsOf = Annotated[
    dt.date | None, Query(description="As if the data ended on this day (default: its as-of).")
]
Level = Annotated[float, Query(ge=0.5, lt=1, description="Confidence level of intervals.")]
Alpha = Annotated[float, Query(gt=0, lt=0.5, description="False-discovery rate.")]
Limit = Annotated[int, Query(ge=1, le=10_000, description="Rows per page.")]


# -- routes ------------------------------------------------------------------------------------
@router.get("/compare", response_model=StatsOut, summary="Is a segment or period really different?")
def compare(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    by: By = None,
    against: Annotated[
        Literal["rest", "previous", "last_year"],
        Query(description="The other segments of the period, the period before, a year ago."),
    ] = "rest",
    period: PeriodParam = None,
    grain: Grain = "month",
    as_of: AsOf = None,
    alpha: Alpha = COMPARE_ALPHA,
    level: Level = 0.95,
    limit: Limit = 1000,
    offset: Offset = 0,
    defined_on: DefinedOn = None,
) -> StatsOut:
    """Each segment of ``period`` tested against ``against``, as ``revteam compare``.

    Rates of records: z or Fisher's exact test; means: Welch; medians: Mann-Whitney; p-values
    adjusted with Benjamini-Hochberg. Rows: ``segment``, ``value``, ``baseline``,
    ``difference`` with ``diff_low``/``diff_high``, ``n``, ``baseline_n``, ``test``,
    ``p_value``, ``p_adjusted``, ``significant``, ``verdict``. Counts and sums are refused
    (400): use anomalies. ``against=rest`` needs ``by``.
    """
    request = compare_request(
        runtime,
        metric,
        by=by or (),
        against=against,
        period=period,
        grain=grain,
        where=where,
        as_of=as_of,
        alpha=alpha,
        level=level,
    )
    return respond(
        "compare",
        metric,
        runtime.read(*defined(request, defined_on, runtime.settings)),
        limit,
        offset,
    )


@router.get("/rank", response_model=StatsOut, summary="Segments ranked by shrunk rate")
def rank(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    by: By = None,
    start: Start = None,
    end: End = None,
    as_of: AsOf = None,
    level: Level = 0.95,
    prior: Annotated[
        Literal["marginal_likelihood", "moments"], Query(description="How the prior is fitted.")
    ] = "marginal_likelihood",
    limit: Limit = 1000,
    offset: Offset = 0,
    defined_on: DefinedOn = None,
) -> StatsOut:
    """Segments (default: by campaign) ranked by empirical-Bayes shrunk rate, as ``revteam rank``.

    Rows: ``rank``, ``segment``, ``numerator``, ``denominator``, ``raw_rate``, ``raw_rank``,
    ``shrunk_rate``, ``ci_low``, ``ci_high``, ``small_sample`` (fewer than 30 records); the
    fitted prior is in ``meta.prior``. Only rates of records are ranked (400 otherwise);
    immature cohorts are left out.
    """
    request = rank_request(
        runtime,
        metric,
        by=by or ("campaign",),
        start=start,
        end=end,
        where=where,
        as_of=as_of,
        level=level,
        prior=prior,
    )
    return respond(
        "rank", metric, runtime.read(*defined(request, defined_on, runtime.settings)), limit, offset
    )


@router.get("/anomalies", response_model=StatsOut, summary="Periods that moved beyond noise")
def anomalies(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    by: By = None,
    grain: Grain = "month",
    start: Start = None,
    end: End = None,
    as_of: AsOf = None,
    alpha: Alpha = ANOMALY_ALPHA,
    window: Annotated[
        int | None,
        Query(ge=3, le=MAX_WINDOW, description="Baseline periods (default: 6 months, 13 weeks…)."),
    ] = None,
    all_periods: Annotated[
        bool, Query(description="Every scored period, flagged or not (revteam anomalies --all).")
    ] = False,
    limit: Limit = 1000,
    offset: Offset = 0,
    defined_on: DefinedOn = None,
) -> StatsOut:
    """Spikes and lasting shifts of every complete period and segment, as ``revteam anomalies``.

    Rows, most significant first: ``segment``, ``period``, ``period_label``, ``value``,
    ``kind`` (spike or shift), ``direction``, ``expected``, ``level``, ``change``,
    ``relative_change``, ``z``, ``p_value``, ``p_adjusted``, ``flagged``. Immature cohorts and
    the running period are never scored.
    """
    request = anomalies_request(
        runtime,
        metric,
        by=by or (),
        grain=grain,
        start=start,
        end=end,
        where=where,
        as_of=as_of,
        alpha=alpha,
        window=window,
        all_periods=all_periods,
    )
    return respond(
        "anomalies",
        metric,
        runtime.read(*defined(request, defined_on, runtime.settings)),
        limit,
        offset,
    )


@router.get("/drivers", response_model=StatsOut, summary="Why a KPI moved")
def drivers(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    by: By = None,
    period: PeriodParam = None,
    against: Annotated[
        str,
        Query(
            max_length=10,
            pattern=rf"^(previous|last_year)$|{PERIOD}",
            description="previous, last_year, or the baseline's period or day.",
        ),
    ] = "previous",
    window: Annotated[
        int, Query(ge=1, le=MAX_WINDOW, description="Periods pooled on each side.")
    ] = 1,
    grain: Grain = "month",
    as_of: AsOf = None,
    alpha: Alpha = COMPARE_ALPHA,
    limit: Limit = 1000,
    offset: Offset = 0,
    defined_on: DefinedOn = None,
) -> StatsOut:
    """The change from a baseline to ``period`` split into exact parts, as ``revteam drivers``.

    Ratios: a ``rate`` and a ``mix`` effect per segment of ``by`` (tested for rates of
    records); counts and sums: each segment's ``change``; pipeline velocity (no ``by``): its
    four levers. Rows are sorted by size: ``segment`` (or ``lever``), ``effect``,
    ``contribution``, ``share_before``/``share_after``, ``value_before``/``value_after``,
    ``p_adjusted``, ``significant``; the values before and after and the change they add up to
    are in ``meta``. Snapshots are refused (400).
    """
    request = drivers_request(
        runtime,
        metric,
        by=by or (),
        period=period,
        against=against,
        window=window,
        grain=grain,
        where=where,
        as_of=as_of,
        alpha=alpha,
    )
    return respond(
        "drivers",
        metric,
        runtime.read(*defined(request, defined_on, runtime.settings)),
        limit,
        offset,
    )


@router.get("/cohorts", response_model=StatsOut, summary="Cohort rates, young ones projected")
def cohorts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    by: By = None,
    grain: Grain = "month",
    start: Start = None,
    end: End = None,
    as_of: AsOf = None,
    level: Level = 0.95,
    limit: Limit = 1000,
    offset: Offset = 0,
    defined_on: DefinedOn = None,
) -> StatsOut:
    """Each cohort's rate at the metric's window, as ``revteam cohorts``.

    Mature cohorts as observed; young ones projected by Kaplan-Meier with the preceding
    cohorts' curve. Rows: ``segment``, ``cohort``, ``n``, ``age_days``, ``mature``,
    ``converted``, ``observed_rate``, ``projected_rate``, ``ci_low``, ``ci_high``, ``method``.
    Only cohort rates (400 otherwise), split by dimensions of whole cohorts.
    """
    request = cohorts_request(
        runtime,
        metric,
        by=by or (),
        grain=grain,
        start=start,
        end=end,
        where=where,
        as_of=as_of,
        level=level,
    )
    return respond(
        "cohorts",
        metric,
        runtime.read(*defined(request, defined_on, runtime.settings)),
        limit,
        offset,
    )
