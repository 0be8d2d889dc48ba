"""``ws.stats``: honest statistics on the workspace's KPIs, over the metric layer's results.

Every method asks ``ws.metrics.query`` for the numbers (so definitions live in one place),
fetches per-record values only where a statistic needs them (medians, means, cohorts), and
hands plain arrays to the pure functions of :mod:`revteam.stats`. Every method returns a
pyarrow table; what was asked (metric, periods, method) is in its schema metadata.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Unpack

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from revteam.exceptions import StatsOptionError, UnsupportedStatisticError
from revteam.metrics import periods, request
from revteam.stats import _records as rec
from revteam.stats import _tables as tb
from revteam.stats._private import (
    Bool,
    Float,
    meta_of,
    parse_period,
    segment_label,
    with_meta,
)
from revteam.stats.anomalies import ALPHA, find_anomalies
from revteam.stats.cohorts import REFERENCE_COHORTS, cohort_curves, cohort_projection, follow_up
from revteam.stats.compare import compare_rates, compare_samples
from revteam.stats.drivers import LEVERS, additive, lmdi, mix_rate, ranked_effects
from revteam.stats.intervals import MIN_N, RateMethod
from revteam.stats.rank import PriorMethod, rank_rates

if TYPE_CHECKING:
    from revteam.metrics import MetricResult, MetricsComponent
    from revteam.metrics.request import DateLike, QueryOptions, WhereValue

Against = Literal["rest", "previous", "last_year"]
AGAINST: tuple[str, ...] = ("rest", "previous", "last_year")
Where = Mapping[str, "WhereValue"] | None


class StatsComponent:
    """Intervals, comparisons, rankings, cohorts, anomalies and drivers of the KPIs.

    Reads the numbers (and the records behind them) from ``metrics``; ``fiscal_year_start_month``
    decides quarters, years and their labels.
    """

    def __init__(self, metrics: MetricsComponent, *, fiscal_year_start_month: int = 1) -> None:
        self._metrics = metrics
        self._fy_start = fiscal_year_start_month

    def intervals(
        self,
        metrics: str | Iterable[str],
        /,
        *,
        level: float = 0.95,
        method: RateMethod = "wilson",
        **options: Unpack[QueryOptions],
    ) -> pa.Table:
        """The query's result with ``ci_low``, ``ci_high``, ``ci_method``, ``small_sample``."""
        result = self._metrics.query(metrics, **options)
        return rec.result_intervals(self._metrics, result, level=level, method=method)

    def annotate(
        self, result: MetricResult, /, *, level: float = 0.95, method: RateMethod = "wilson"
    ) -> pa.Table:
        """An existing result's table with its intervals (``ws.metrics.query(intervals=True)``)."""
        return rec.result_intervals(self._metrics, result, level=level, method=method)

    def compare(
        self,
        metric: str,
        /,
        *,
        by: str | Iterable[str] = (),
        against: Against = "rest",
        period: DateLike | None = None,
        grain: str = "month",
        where: Where = None,
        as_of: DateLike | None = None,
        alpha: float = 0.05,
        level: float = 0.95,
    ) -> pa.Table:
        """Test each segment of ``period`` against the rest, the previous period or last year.

        ``period`` defaults to the latest complete (for cohort metrics: mature) period. Rates
        use z or Fisher tests, means Welch, medians Mann-Whitney; p-values are adjusted with
        Benjamini-Hochberg over all segments.
        """
        if against not in AGAINST:
            raise StatsOptionError("against", against, f"one of {', '.join(AGAINST)}")
        dims = request.as_list(by)
        if against == "rest" and not dims:
            raise StatsOptionError("against", against, "'previous' or 'last_year' without by")
        spec, kind = self._spec(metric, "A comparison", ("rate", "mean", "median"))
        g, when, as_of_ = self._period(metric, period, grain, as_of)
        fy = self._fy
        base = when if against == "rest" else tb.baseline(against, when, g, fy)
        result = self._query(metric, dims, g, base, when, where, as_of_)
        if kind == "rate":
            table = tb.binomial(metric, spec.kind, result.to_arrow())
            labels, cells = tb.rate_pairs(table, dims, when, base, against)
            k, n, k0, n0 = (np.array([c[i] for c in cells], dtype=float) for i in range(4))
            table = compare_rates(labels, k, n, k0, n0, alpha=alpha, level=level)
        else:
            samples = rec.record_values(self._metrics, result, metric)
            labels, xs, ys = tb.sample_pairs(samples, dims, when, base, against)
            stat: Literal["mean", "median"] = "mean" if kind == "mean" else "median"
            table = compare_samples(labels, xs, ys, statistic=stat, alpha=alpha, level=level)
        meta = {"metric": metric, "unit": spec.unit, "against": against, "alpha": alpha}
        names = {
            "period": periods.label(when, g, fy),
            "baseline_period": periods.label(base, g, fy),
        }
        return with_meta(table, meta | names)

    def rank(
        self,
        metric: str,
        /,
        *,
        by: str | Iterable[str] = "campaign",
        start: DateLike | None = None,
        end: DateLike | None = None,
        where: Where = None,
        as_of: DateLike | None = None,
        level: float = 0.95,
        prior: PriorMethod = "marginal_likelihood",
        mature_only: bool = True,
        min_n: int = MIN_N,
    ) -> pa.Table:
        """Segments ranked by empirical-Bayes shrunk rate over ``start``..``end``.

        Cohorts still younger than their window are left out (``mature_only``), as their
        rates are not final.
        """
        spec, _ = self._spec(metric, "Shrinkage ranking", ("rate",))
        dims = request.as_list(by)
        result = self._query(
            metric, dims, "month", start, end, where, rec.as_of_of(self._metrics, as_of)
        )
        table = tb.binomial(metric, spec.kind, tb.rows_of(result.to_arrow(), totals=not dims))
        if mature_only and spec.kind == "cohort_rate":
            table = table.filter(pc.invert(table["immature"]))
        window = sorted(set(table["period"].to_pylist()))
        pooled = tb.pool(table, dims, window)
        keys = sorted(pooled, key=str)
        out = rank_rates(
            [segment_label(k) for k in keys],
            [pooled[k]["numerator"] for k in keys],
            [pooled[k]["denominator"] for k in keys],
            level=level,
            method=prior,
            higher_is_better=spec.direction == "higher",
            min_n=min_n,
        )
        meta = {"metric": metric, "unit": spec.unit, "by": list(dims)}
        return with_meta(out, meta_of(out) | meta)

    def cohorts(
        self,
        metric: str,
        /,
        *,
        level: float = 0.95,
        reference: int = REFERENCE_COHORTS,
        **options: Unpack[QueryOptions],
    ) -> pa.Table:
        """Each cohort's rate at the metric's window, projected by Kaplan-Meier when immature."""
        window = self._metrics.get(metric).window_days or 0

        def analyse(cohorts: Any, t: Float, e: Bool, age: Float) -> pa.Table:
            return cohort_projection(
                cohorts, t, e, age, window=window, level=level, reference=reference
            )

        return self._per_segment(metric, options, analyse)

    def cohort_curves(
        self,
        metric: str,
        /,
        *,
        level: float = 0.95,
        step: int = 1,
        max_age: int | None = None,
        **options: Unpack[QueryOptions],
    ) -> pa.Table:
        """Cumulative conversion by age (days) of each cohort, naive and Kaplan-Meier."""
        last = max_age or self._metrics.get(metric).window_days or 0
        ages = np.arange(0, last + 1, max(1, step), dtype=float)

        def analyse(cohorts: Any, t: Float, e: Bool, age: Float) -> pa.Table:
            return cohort_curves(cohorts, t, e, age, at=ages, level=level)

        return self._per_segment(metric, options, analyse)

    def anomalies(
        self,
        metric: str,
        /,
        *,
        alpha: float = ALPHA,
        window: int | None = None,
        all_periods: bool = False,
        **options: Unpack[QueryOptions],
    ) -> pa.Table:
        """Periods (per segment) that moved beyond noise, most significant first.

        Immature cohorts and the unfinished current period are never scored. With
        ``all_periods`` every scored period is returned, flagged or not.
        """
        spec = self._metrics.get(metric)
        dims = request.as_list(options.get("by", ()))
        as_of_ = rec.as_of_of(self._metrics, options.get("as_of"))
        g = periods.check_grain(options.get("grain", "month"))
        asked: QueryOptions = {**options, "by": dims, "grain": g, "as_of": as_of_}
        table = tb.rows_of(self._metrics.query(metric, **asked).to_arrow(), not dims)
        keep = [
            periods.complete(p, g, as_of_) and not imm
            for p, imm in zip(table["period"].to_pylist(), tb.immature(table), strict=True)
        ]
        table = table.filter(pa.array(keep, type=pa.bool_()))
        series = tb.series(table, dims, kind=spec.kind)
        found = find_anomalies(
            series,
            method="binomial" if tb.is_binomial(table) else "robust",
            grain=g,
            alpha=alpha,
            window=window,
        )
        if not all_periods:
            found = found.filter(found["flagged"])
        found = found.sort_by([("p_adjusted", "ascending"), ("segment", "ascending")])
        labels = [periods.label(p, g, self._fy) for p in found["period"].to_pylist()]
        found = found.add_column(2, "period_label", pa.array(labels, type=pa.string()))
        return with_meta(found, {"metric": metric, "unit": spec.unit, "grain": g, "alpha": alpha})

    def drivers(
        self,
        metric: str,
        /,
        *,
        by: str | Iterable[str] = (),
        period: DateLike | None = None,
        against: DateLike = "previous",
        window: int = 1,
        grain: str = "month",
        where: Where = None,
        as_of: DateLike | None = None,
        alpha: float = 0.05,
    ) -> pa.Table:
        """The change of ``metric`` from a baseline to ``period``, split into exact parts.

        Ratios: a rate and a mix effect per segment of ``by``, each tested. Pipeline velocity:
        its four levers. Counts and sums: each segment's own change. ``window`` pools that
        many periods from ``period`` on against as many before (``against="previous"``), a
        year earlier (``"last_year"``) or from a given date; immature cohorts are left out.
        The parts add up to the change in the metadata.
        """
        spec = self._metrics.get(metric)
        dims = request.as_list(by)
        g, when, as_of_ = self._period(metric, period, grain, as_of)
        fy = self._fy
        if metric in LEVERS:
            base = tb.baseline(against, when, g, fy)
            return self._levers(metric, dims, g, when, base, where, as_of_)
        kind = rec.kind_of(spec)
        ratio = (kind in ("rate", "mean") or spec.kind == "ratio") and not (
            set(dims) & set(spec.breakdowns)
        )
        if not (ratio or kind in ("additive", "rate")) or spec.snapshot is not None:
            raise UnsupportedStatisticError(
                "A driver decomposition", metric, spec.kind, "ratios, rates, means, counts, sums"
            )
        if not dims:
            raise StatsOptionError("by", by, "a dimension to split the change by")
        after_w, before_w = tb.windows(when, against, g, max(1, window), fy)
        span = sorted(after_w + before_w)
        table = self._query(metric, dims, g, span[0], span[-1], where, as_of_).to_arrow()
        table = table.filter(pc.invert(pa.array(tb.immature(table), type=pa.bool_())))
        seg = [tb.pool(tb.rows_of(table, totals=False), dims, w) for w in (before_w, after_w)]
        keys = sorted(set(seg[0]) | set(seg[1]), key=str)
        labels = [segment_label(k) for k in keys]

        def col(i: int, c: str) -> list[float]:
            return [seg[i].get(k, {}).get(c, 0.0) for k in keys]

        if ratio:
            test = kind == "rate" and tb.is_binomial(table)
            parts = (col(i, c) for i in (0, 1) for c in ("numerator", "denominator"))
            wide = mix_rate(labels, *parts, test=test)
        else:
            wide = additive(labels, col(0, "value"), col(1, "value"))
        totals = [
            tb.pool(tb.rows_of(table, totals=True), (), w).get((), {}) for w in (before_w, after_w)
        ]
        before, after = (tb.pooled_value(t, ratio) for t in totals)
        spans = (tb.span_label(before_w, g, fy), tb.span_label(after_w, g, fy))
        meta = tb.change_meta(metric, spec.unit, spans, (before, after))
        return with_meta(
            ranked_effects(wide, alpha=alpha),
            meta | {"method": "mix_rate" if ratio else "additive"},
        )

    # -- internals -----------------------------------------------------------------------------
    @property
    def _fy(self) -> int:
        """First month of the fiscal year: quarters, years and their labels follow it."""
        return self._fy_start

    def _levers(
        self,
        metric: str,
        dims: Sequence[str],
        g: periods.Grain,
        when: dt.date,
        base: dt.date,
        where: Where,
        as_of: dt.datetime,
    ) -> pa.Table:
        if dims:
            raise StatsOptionError("by", list(dims), f"no dimension for {metric}'s levers")
        names = [metric, *LEVERS[metric]]
        result = self._metrics.query(
            names, grain=g, start=min(base, when), end=max(base, when), where=where, as_of=as_of
        )
        values = {(r["metric"], r["period"]): r["value"] for r in result.totals().to_pylist()}
        before = {m: values.get((m, base)) or 0.0 for m in names}
        after = {m: values.get((m, when)) or 0.0 for m in names}
        unit = self._metrics.get(metric).unit
        labels = (periods.label(base, g, self._fy), periods.label(when, g, self._fy))
        meta = tb.change_meta(metric, unit, labels, (before[metric], after[metric]))
        return with_meta(lmdi(before, after, LEVERS[metric]), meta | {"method": "lmdi"})

    def _spec(self, metric: str, analysis: str, kinds: Sequence[str]) -> tuple[Any, str]:
        spec = self._metrics.get(metric)
        kind = rec.kind_of(spec)
        if kind not in kinds:
            names = {"rate": "rates of records", "mean": "means", "median": "medians"}
            raise UnsupportedStatisticError(
                analysis, metric, spec.kind, ", ".join(names[k] for k in kinds)
            )
        return spec, kind

    def _period(
        self, metric: str, period: DateLike | None, grain: str, as_of: DateLike | None
    ) -> tuple[periods.Grain, dt.date, dt.datetime]:
        g = periods.check_grain(grain)
        as_of_ = rec.as_of_of(self._metrics, as_of)
        fy = self._fy
        if period is None:
            window = self._metrics.get(metric).window_days
            return g, periods.latest_complete(as_of_, g, fy, window), as_of_
        return g, periods.floor(parse_period(period), g, fy), as_of_

    def _query(
        self,
        metric: str,
        dims: Sequence[str],
        grain: str,
        start: DateLike | None,
        end: DateLike | None,
        where: Where,
        as_of: dt.datetime,
    ) -> MetricResult:
        return self._metrics.query(
            metric, by=dims, grain=grain, start=start, end=end, where=where, as_of=as_of
        )

    def _per_segment(
        self,
        metric: str,
        options: QueryOptions,
        analyse: Callable[[Any, Float, Bool, Float], pa.Table],
    ) -> pa.Table:
        """``analyse(cohorts, durations, converted, ages)`` of each segment's cohort members."""
        dims = request.as_list(options.get("by", ()))
        split = [d for d in dims if d in self._metrics.get(metric).breakdowns]
        if split:
            raise StatsOptionError(
                "by",
                split[0],
                "a dimension of whole cohorts: a breakdown splits only the converted members",
            )
        as_of_ = rec.as_of_of(self._metrics, options.get("as_of"))
        asked: QueryOptions = {**options, "by": dims, "as_of": as_of_}
        result = self._metrics.query(metric, **asked)
        members = rec.cohort_records(self._metrics, result, metric)
        parts = []
        for label, idx in tb.segments(members, dims).items():
            part = members if idx.size == members.num_rows else members.take(pa.array(idx))
            t, e, age = follow_up(part["entered"], part["reached"], as_of_)
            table = analyse(part["period"].to_numpy(zero_copy_only=False), t, e, age)
            parts.append(table.add_column(0, "segment", pa.array([label] * table.num_rows)))
        window = self._metrics.get(metric).window_days
        return with_meta(
            tb.concat(parts), {"metric": metric, "unit": "percent", "window_days": window}
        )
