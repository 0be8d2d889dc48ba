"""Pacing: where a goal stands, where its period will end, and how likely the target is.

Every number comes from the metric layer (values by day, a range's value with its interval)
or from the statistics package (Kaplan-Meier cohort projections); this module only combines
them. The method, in words (``docs/goals.md`` has the formulas):

- **Counts and sums** (leads, MQLs, revenue, pipeline created …): the value to date, plus the
  rest of the period at the recent run rate. The run rate is the mean of the last
  ``history_days`` days after removing the weekday rhythm of the last 52 weeks; the rest of the
  period is shaped by the same weeks last year (how the period's remaining days compared with
  the weeks before, a year ago), which carries end-of-quarter pushes, holidays and growth.
  The interval adds day-to-day noise, the run rate's and the shape's sampling error (normal).
- **Cohort rates** (MQL rate, SQR …): the period's cohort projected to the end of its window by
  Kaplan-Meier on the older cohorts (``ws.stats.cohorts``), with its interval.
- **Other rates and averages**: the value over the period to date (or, before the period
  starts, over the last ``history_days`` days), with its sampling interval.

The status comes from the chance of reaching the target under that projection: ``on_track`` at
or above ``goals.on_track``, ``off_track`` below ``goals.off_track``, ``at_risk`` between.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from revteam.exceptions import MetricError, MetricQueryError, StatsError
from revteam.goals.forecast import Forecaster, is_won_amount, simulate
from revteam.goals.model import Goal
from revteam.metrics import periods as P
from revteam.settings import GoalSettings

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.stats import StatsComponent

Status = Literal["on_track", "at_risk", "off_track"]
State = Literal["upcoming", "running", "finished"]
YEAR = dt.timedelta(days=364)
"""52 weeks: a year back on the same weekday."""
WEEKDAY_DAYS = 364
BLOCK_DAYS = 28
"""Days compared with each other when measuring day-to-day noise."""
SIMULATIONS = 4000
"""Simulated rests of a period per count or sum goal."""
PREFETCH_DAYS = 1200
"""Days one query may read for all the goals of a segment (limits.max_periods is 1,500)."""
MIN_YEAR, MAX_YEAR = 2, 9998
"""Years whose periods, a year back and forward, the calendar arithmetic can reach."""
REFERENCE_COHORTS = 6
"""Cohorts before a goal's own that its Kaplan-Meier projection may lean on (as ws.stats)."""
PIPELINES_KEPT = 256
"""Revenue goals' simulated pipeline wins kept (keyed by goal, as-of and data version)."""
SEASON_VAR = 0.05
"""Spread of real seasonal changes (log ratio, about ±22%), against which a year-ago ratio's
noise is weighed."""
_NORMAL = NormalDist()


@dataclass(frozen=True)
class LinePoint:
    day: dt.date
    target: float
    """Cumulative target by the end of ``day`` (counts and sums), else the target itself."""
    actual: float | None
    """Cumulative actual by the end of ``day`` (counts and sums, days up to the as-of date)."""


@dataclass(frozen=True)
class Pacing:
    """One goal's standing at ``as_of``."""

    goal: Goal
    as_of: dt.date
    """The last day of data counted."""
    state: State
    actual: float | None
    """The value to date (the whole period once it is over)."""
    expected_to_date: float | None
    """Where the cumulative target line stands at ``as_of`` (counts and sums)."""
    projected: float | None
    projected_low: float | None
    projected_high: float | None
    probability: float | None
    """Chance of reaching the target (of beating it, for lower-is-better metrics)."""
    status: Status
    method: str
    """How the projection was made, in a few words."""
    line: tuple[LinePoint, ...] = ()
    stretch_probability: float | None = None

    @property
    def attainment(self) -> float | None:
        """Projected value as a share of the target (inverted for lower-is-better metrics)."""
        if self.projected is None or not self.goal.target:
            return None
        if self.goal.direction == "lower":
            return self.goal.target / self.projected if self.projected else None
        return self.projected / self.goal.target

    def as_dict(self) -> dict[str, Any]:
        g = self.goal
        return {
            "id": g.id,
            "metric": g.metric,
            "period": g.period,
            "segment": dict(g.segment),
            "target": g.target,
            "stretch": g.stretch,
            "direction": g.direction,
            "owners": list(g.owners),
            "as_of": self.as_of.isoformat(),
            "state": self.state,
            "actual": self.actual,
            "expected_to_date": self.expected_to_date,
            "projected": self.projected,
            "projected_low": self.projected_low,
            "projected_high": self.projected_high,
            "probability": self.probability,
            "stretch_probability": self.stretch_probability,
            "status": self.status,
            "method": self.method,
        }


class Pacer:
    """Paces goals against one metrics component (and statistics, for cohort rates)."""

    def __init__(
        self,
        metrics: MetricsComponent,
        stats: StatsComponent,
        settings: GoalSettings | None = None,
        forecaster: Forecaster | None = None,
    ) -> None:
        self.metrics, self.stats = metrics, stats
        self.settings = settings or GoalSettings()
        self.forecaster = forecaster
        self._pipelines: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._lock = threading.Lock()
        self._fetched: dict[tuple[str, tuple[tuple[str, str], ...]], dict[dt.date, float]] = {}
        self._ranges: dict[tuple[tuple[str, str], ...], tuple[dt.date, dt.date]] = {}
        self._first: dt.date | None = None

    def pace(self, goals: Sequence[Goal], *, as_of: dt.date | None = None) -> list[Pacing]:
        """Every goal's pacing at ``as_of`` (default: the data's as-of day).

        The daily values of counts and sums come from one query per segment: the metric layer
        fuses the metrics that share a table into one statement. Each call keeps those values
        on its own copy of the pacer, so no call sees another's (the warehouse connection
        itself still serves one query at a time).
        """
        run = copy.copy(self)
        run._fetched, run._ranges = {}, {}
        return run._pace(goals, as_of)

    def _pace(self, goals: Sequence[Goal], as_of: dt.date | None) -> list[Pacing]:
        latest = self.metrics.as_of().date()
        day = as_of or latest
        if not MIN_YEAR <= day.year <= MAX_YEAR or day > latest:
            raise MetricQueryError(
                "as_of", day.isoformat(), f"a day on or before the data's last, {latest}"
            )
        self._first = self.metrics.earliest()
        catalogue = self.metrics.catalogue
        flows: dict[tuple[tuple[str, str], ...], list[Goal]] = {}
        for g in goals:
            if g.metric in catalogue and catalogue[g.metric].kind in {"count", "sum"}:
                flows.setdefault(g.segment, []).append(g)
        for segment, group in flows.items():
            first = min(self._span(g, day)[0] for g in group)
            last = max(self._span(g, day)[1] for g in group)
            if (last - first).days < PREFETCH_DAYS:  # else each goal reads its own span
                self._prefetch(sorted({g.metric for g in group}), segment, first, last)
        try:
            return [self._safely(g, day) for g in goals]
        finally:
            self._fetched.clear()
            self._ranges.clear()

    def _safely(self, goal: Goal, as_of: dt.date) -> Pacing:
        """One goal's pacing; a goal the KPIs refuse says why, and the others still pace."""
        try:
            return self.pace_one(goal, as_of)
        except (MetricError, StatsError) as exc:
            return self._judged(
                goal, as_of, _state(goal, as_of), None, None, None, None, f"not paced: {exc}"
            )

    def pace_one(self, goal: Goal, as_of: dt.date) -> Pacing:
        """One goal's pacing; a goal whose metric left the catalogue says so, alone."""
        if goal.metric not in self.metrics.catalogue:
            return self._judged(
                goal,
                as_of,
                _state(goal, as_of),
                None,
                None,
                None,
                None,
                f"not paced: {goal.metric} is no longer in the catalogue (change or delete "
                "the goal, or restore the metric's definition)",
            )
        spec = self.metrics.get(goal.metric)
        if spec.kind in {"count", "sum"}:
            return self._flow(goal, as_of)
        if spec.kind == "cohort_rate":
            return self._cohort(goal, as_of)
        return self._level(goal, as_of)

    # -- counts and sums ---------------------------------------------------------------------
    def _flow(self, goal: Goal, as_of: dt.date) -> Pacing:
        cfg = self.settings
        last = goal.end - dt.timedelta(days=1)
        daily = self._daily(goal, *self._span(goal, as_of))
        state: State = (
            "finished" if as_of >= last else "upcoming" if as_of < goal.start else "running"
        )
        actual = sum(v for d, v in daily.items() if goal.start <= d <= min(as_of, last))
        rest = [goal.start + dt.timedelta(days=i) for i in range((goal.end - goal.start).days)]
        rest = [d for d in rest if d > as_of]
        weekday = _weekday_factors(daily, as_of)
        line = self._line(goal, daily, as_of)
        expected = _line_at(line, as_of) if state == "running" else None
        if not rest:
            return self._judged(goal, as_of, state, actual, expected, actual, 0.0, "actual", line)
        trailing = [as_of - dt.timedelta(days=i) for i in range(cfg.history_days)]
        level, _ = _adjusted_mean(daily, trailing, weekday)
        noise = _noise(daily, as_of, weekday)
        if level <= 0 and not noise.relative.size:
            # Nothing happened in the year before: no run rate, no noise, no honest projection.
            method = "not projected: nothing in the year before to project from"
            return self._judged(goal, as_of, state, actual, expected, None, None, method, line)
        shape, shape_var = (1.0, 0.0)
        method = f"run rate of the last {cfg.history_days} days, weekday-adjusted"
        if cfg.target_line == "seasonal":
            found = _shape(daily, rest, trailing, weekday, noise.cv2)
            if found is not None:
                shape, shape_var = found
                method += ", shaped like last year"
        # How far the level may have moved by the middle of the remaining days, in 4-week steps.
        horizon = (len(trailing) / 2 + len(rest) / 2) / BLOCK_DAYS
        level_var = noise.cv2 / len(trailing) + shape_var + noise.drift * horizon
        factors = np.array([weekday[d.weekday()] for d in rest]) * shape * level
        rng = np.random.default_rng(_seed(goal, as_of))
        if noise.relative.size:
            days = rng.choice(noise.relative, size=(SIMULATIONS, len(rest)))
        else:  # no history: the run rate alone (zero when nothing happened)
            days = np.ones((SIMULATIONS, len(rest)))
        moved = rng.lognormal(-level_var / 2, math.sqrt(level_var), size=(SIMULATIONS, 1))
        run = (days * moved * factors).sum(axis=1)
        pipeline = self._pipeline(goal, as_of, rest[0], rest[-1])
        if pipeline is None:
            draws = actual + run
        else:
            closing, new_share, note = pipeline
            draws = actual + closing + new_share * run
            method += note
        return self._judged(
            goal, as_of, state, actual, expected, None, None, method, line, draws=draws
        )

    def _pipeline(
        self, goal: Goal, as_of: dt.date, first: dt.date, last: dt.date
    ) -> tuple[NDArray[np.float64], float, str] | None:
        """For won revenue: open deals' wins from ``first`` to ``last``, and new deals' share.

        The open deals' wins are simulated with calibrated probabilities; the share is of the
        run rate, for deals not created yet.

        ``None`` for other metrics, or when the history cannot calibrate win probabilities
        (the run rate alone then projects the rest, and the method says so).
        """
        if self.forecaster is None or not is_won_amount(self.metrics.get(goal.metric)):
            return None
        key = (goal.metric, goal.segment, as_of, first, last, self.metrics.data_version)
        found = self._pipelines.get(key)
        if found is None:
            found = self._pipeline_of(goal, as_of, first, last)
            with self._lock:  # one cache for every copy of the pacer: new data, new keys
                self._pipelines[key] = found
                while len(self._pipelines) > PIPELINES_KEPT:
                    self._pipelines.popitem(last=False)
        return found

    def _pipeline_of(
        self, goal: Goal, as_of: dt.date, first: dt.date, last: dt.date
    ) -> tuple[NDArray[np.float64], float, str] | None:
        assert self.forecaster is not None
        cut = dt.datetime.combine(as_of, dt.time.max)
        where = {d: [v] for d, v in goal.segment} or None
        try:
            deals = self.forecaster.open_deals(cut, where=where)
            share = self.forecaster.shares(deals, [first, last + dt.timedelta(days=1)])[:, 1]
            _, a, b = self.forecaster.model(cut).beta(deals.frame)
        except StatsError:
            return None
        amount = deals.frame["amount"].to_numpy(dtype=np.float64, na_value=0.0)
        closing = simulate(amount, share[:, None], _seed(goal, as_of), (a, b))[:, 0]
        new_share = self._new_deal_share(goal, as_of, first, last)
        note = (
            f"; open pipeline ({len(amount)} deals) with calibrated win probabilities, "
            f"plus {new_share:.0%} of that run rate for deals not created yet"
        )
        return closing, new_share, note

    def _new_deal_share(self, goal: Goal, as_of: dt.date, first: dt.date, last: dt.date) -> float:
        """Share of the revenue won from ``first`` to ``last`` from deals created after ``as_of``.

        Going by the last year's wins (their days from creation to close): a deal ``lag`` days
        long, closing on a uniform day of the window, was created after ``as_of`` with chance
        (window days after max(window start, lag)) / window days.
        """
        found = self.metrics.records(
            goal.metric,
            columns=["created_at", "closed_at"],
            grain="all",
            start=as_of - YEAR,
            end=as_of,
            where={d: [v] for d, v in goal.segment} or None,
            as_of=dt.datetime.combine(as_of, dt.time.max),
        )
        if not found.num_rows:
            return 1.0
        rows = found.to_pandas()
        lag = (rows["closed_at"] - rows["created_at"]).dt.total_seconds().to_numpy() / 86_400.0
        amount = rows["value"].to_numpy(dtype=np.float64, na_value=0.0)
        lo, hi = float((first - as_of).days - 1), float((last - as_of).days)
        share = np.clip((hi - np.maximum(lo, lag)) / max(hi - lo, 1.0), 0.0, 1.0)
        total = float(amount.sum())
        return float((amount * share).sum() / total) if total > 0 else 1.0

    def _span(self, goal: Goal, as_of: dt.date) -> tuple[dt.date, dt.date]:
        """The days whose values pace a count or sum goal.

        A year and a run-rate window before the period (its shape last year) and before
        ``as_of`` (the weekday rhythm), through ``as_of``.
        """
        history = dt.timedelta(days=self.settings.history_days)
        last = goal.end - dt.timedelta(days=1)
        if as_of >= last:  # finished: its own days, and last year's for the target line
            return goal.start - YEAR, last
        back = dt.timedelta(days=WEEKDAY_DAYS) + history
        return min(goal.start - YEAR - history, as_of - back), as_of

    def _prefetch(
        self,
        metrics: list[str],
        segment: tuple[tuple[str, str], ...],
        first: dt.date,
        last: dt.date,
    ) -> None:
        result = self.metrics.query(
            metrics,
            grain="day",
            start=first,
            end=last,
            where={d: [v] for d, v in segment} or None,
            as_of=dt.datetime.combine(last, dt.time.max),
        )
        for m in metrics:  # a metric without rows still counts zeros
            self._fetched[(m, segment)] = {}
        for r in result.to_pylist():
            if r["is_total"]:
                self._fetched[(r["metric"], segment)][r["period"]] = float(r["value"] or 0.0)
        self._ranges[segment] = (first, last)

    def _daily(self, goal: Goal, first: dt.date, last: dt.date) -> dict[dt.date, float]:
        """Every day's value from ``first`` to ``last`` (a quiet day is 0)."""
        span = self._ranges.get(goal.segment)
        known = (goal.metric, goal.segment) in self._fetched
        if not known or span is None or not span[0] <= first <= last <= span[1]:
            self._prefetch([goal.metric], goal.segment, first, last)
        found = self._fetched[(goal.metric, goal.segment)]
        # Before the data's first day nothing was recorded: those days are unknown, not zero.
        start = max(first, self._first) if self._first else last + dt.timedelta(days=1)
        days = (last - start).days + 1
        return {d: found.get(d, 0.0) for d in (start + dt.timedelta(days=i) for i in range(days))}

    def _line(
        self, goal: Goal, daily: dict[dt.date, float], as_of: dt.date
    ) -> tuple[LinePoint, ...]:
        days = [goal.start + dt.timedelta(days=i) for i in range((goal.end - goal.start).days)]
        weights = [1.0] * len(days)
        if self.settings.target_line == "seasonal":
            last_year = [daily.get(d - YEAR) for d in days]
            if all(v is not None for v in last_year) and sum(v or 0.0 for v in last_year) > 0:
                weights = [v or 0.0 for v in last_year]
        total = sum(weights)
        points, cum_w, cum_a = [], 0.0, 0.0
        for day, w in zip(days, weights, strict=True):
            cum_w += w
            seen = day <= as_of
            if seen:
                cum_a += daily.get(day, 0.0)
            points.append(LinePoint(day, goal.target * cum_w / total, cum_a if seen else None))
        return tuple(points)

    # -- rates -------------------------------------------------------------------------------
    def _cohort(self, goal: Goal, as_of: dt.date) -> Pacing:
        level = self.settings.level
        state = _state(goal, as_of)
        where = {d: [v] for d, v in goal.segment} or None
        if state == "upcoming":
            return self._level(goal, as_of)
        table = self.stats.cohorts(
            goal.metric,
            level=level,
            grain=goal.grain,
            # The preceding cohorts carry the curve beyond this cohort's own oldest member.
            start=P.shift(goal.start, goal.grain, -REFERENCE_COHORTS),
            end=goal.start,
            where=where,
            as_of=dt.datetime.combine(as_of, dt.time.max),
        )
        rows = [r for r in table.to_pylist() if r["cohort"] == goal.start]
        if not rows:
            return self._judged(goal, as_of, state, None, None, None, None, "no cohort yet")
        row = rows[0]
        observed = row["observed_rate"]
        if row["mature"]:
            return self._judged(goal, as_of, "finished", observed, None, observed, 0.0, "actual")
        state = "running"  # the period may be over, but its cohort is still converting
        if row["projected_rate"] is None:
            return self._judged(
                goal,
                as_of,
                state,
                observed,
                None,
                observed,
                None,
                "observed so far (too few older cohorts to project)",
            )
        z = _NORMAL.inv_cdf((1 + level) / 2)
        rate = float(row["projected_rate"])
        se2 = ((row["ci_high"] - row["ci_low"]) / (2 * z)) ** 2
        window = float(self.metrics.get(goal.metric).window_days or 0)
        sd = math.sqrt(_cohort_variance(goal, as_of, row, rate, se2, window, table.to_pylist(), z))
        return self._judged(
            goal,
            as_of,
            state,
            observed,
            None,
            rate,
            sd,
            "cohort projected to its window by Kaplan-Meier, with the members still to come",
            floor=0.0,
            ceiling=1.0,
        )

    def _level(self, goal: Goal, as_of: dt.date) -> Pacing:
        level = self.settings.level
        state = _state(goal, as_of)
        last = goal.end - dt.timedelta(days=1)
        if state == "upcoming":
            # The latest cohorts that have had their whole window, for a cohort rate.
            end = self.metrics.mature_end(goal.metric, as_of, grain="month", as_of=as_of)
            first = end - dt.timedelta(days=self.settings.history_days - 1)
            method = f"value over the {self.settings.history_days} days to {end}"
        else:
            first, end, method = goal.start, min(as_of, last), "value to date"
        result = self.metrics.query(
            goal.metric,
            grain="all",
            start=first,
            end=end,
            where={d: [v] for d, v in goal.segment} or None,
            intervals=True,
            level=level,
            as_of=dt.datetime.combine(as_of, dt.time.max),
        )
        rows = [r for r in result.to_pylist() if r["is_total"]]
        value = rows[0]["value"] if rows else None
        if value is None:
            return self._judged(goal, as_of, state, None, None, None, None, method)
        lo, hi = rows[0].get("ci_low"), rows[0].get("ci_high")
        z = _NORMAL.inv_cdf((1 + level) / 2)
        sd = (hi - lo) / (2 * z) if lo is not None and hi is not None else None
        actual = value if state != "upcoming" else None
        if state == "finished":
            return self._judged(goal, as_of, state, value, None, value, 0.0, "actual")
        return self._judged(goal, as_of, state, actual, None, value, sd, method, low=lo, high=hi)

    # -- judgement ---------------------------------------------------------------------------
    def _judged(
        self,
        goal: Goal,
        as_of: dt.date,
        state: State,
        actual: float | None,
        expected: float | None,
        projected: float | None,
        sd: float | None,
        method: str,
        line: tuple[LinePoint, ...] = (),
        *,
        floor: float | None = None,
        low: float | None = None,
        high: float | None = None,
        draws: NDArray[np.float64] | None = None,
        ceiling: float | None = None,
    ) -> Pacing:
        cfg = self.settings
        z = _NORMAL.inv_cdf((1 + cfg.level) / 2)
        if draws is not None:
            tail = (1 - cfg.level) / 2
            # The median: with a few large deals the mean can lie beyond the interval itself.
            projected = float(np.median(draws))
            low, high = (float(q) for q in np.quantile(draws, [tail, 1 - tail]))
            chance: float | None = _share(draws, goal.target, goal.direction)
            stretch = None if goal.stretch is None else _share(draws, goal.stretch, goal.direction)
        else:
            if projected is not None and sd is not None and low is None:
                low, high = projected - z * sd, projected + z * sd
            if low is not None and floor is not None:
                low = max(low, floor)
            if high is not None and ceiling is not None:
                high = min(high, ceiling)
            chance = _chance(projected, sd, goal.target, goal.direction)
            stretch = (
                None
                if goal.stretch is None
                else _chance(projected, sd, goal.stretch, goal.direction)
            )
        status: Status = (
            "at_risk"
            if chance is None
            else "on_track"
            if chance >= cfg.on_track
            else "off_track"
            if chance < cfg.off_track
            else "at_risk"
        )
        return Pacing(
            goal=goal,
            as_of=as_of,
            state=state,
            actual=_round(actual),
            expected_to_date=_round(expected),
            projected=_round(projected),
            projected_low=_round(low),
            projected_high=_round(high),
            probability=None if chance is None else round(chance, 4),
            status=status,
            method=method,
            line=line,
            stretch_probability=None if stretch is None else round(stretch, 4),
        )


def _cohort_variance(
    goal: Goal,
    as_of: dt.date,
    row: dict[str, Any],
    rate: float,
    se2: float,
    window: float,
    cohorts: list[dict[str, Any]],
    z: float,
) -> float:
    """Variance of the period's final cohort rate around its Kaplan-Meier projection.

    The projection's own sampling variance covers the members so far; the final rate also
    holds the members still to enter the cohort this period (at the pace they entered so far,
    each converting or not) and the cohort's own departure from the earlier cohorts' curve
    over the part of the window not yet seen (the spread of the earlier cohorts' rates beyond
    their sampling error).
    """
    n = float(row["n"])
    length = (goal.end - goal.start).days
    elapsed = min(length, (as_of - goal.start).days + 1)
    future = n * (length - elapsed) / elapsed if elapsed > 0 else 0.0
    earlier = [
        r
        for r in cohorts
        if r["cohort"] != goal.start
        and r["projected_rate"] is not None
        and r["ci_high"] is not None
    ]
    between = 0.0
    if len(earlier) >= 3:
        rates = np.array([r["projected_rate"] for r in earlier], dtype=np.float64)
        noise = np.mean([((r["ci_high"] - r["ci_low"]) / (2 * z)) ** 2 for r in earlier])
        between = max(0.0, float(rates.var(ddof=1) - noise))
    # Members entered, on average, half the elapsed days ago: the share of their window unseen.
    seen = (as_of - goal.start).days - elapsed / 2
    unseen = 1.0 - min(1.0, max(0.0, seen) / window) if window else 0.0
    now, later = n / (n + future), future / (n + future)
    return (
        now**2 * (se2 + between * unseen)
        + later**2 * (se2 + between)
        + future * rate * (1 - rate) / (n + future) ** 2
    )


def _state(goal: Goal, as_of: dt.date) -> State:
    if as_of < goal.start:
        return "upcoming"
    return "finished" if as_of >= goal.end - dt.timedelta(days=1) else "running"


def _chance(
    projected: float | None, sd: float | None, target: float, direction: str
) -> float | None:
    """P(final ≥ target) (≤ for lower-is-better), the final value normal around ``projected``."""
    if projected is None or sd is None:
        return None
    if sd <= 0:
        met = projected >= target if direction == "higher" else projected <= target
        return 1.0 if met else 0.0
    below = _NORMAL.cdf((target - projected) / sd)
    return 1.0 - below if direction == "higher" else below


def _weekday_factors(daily: dict[dt.date, float], as_of: dt.date) -> list[float]:
    """Each weekday's mean over the 52 weeks to ``as_of`` relative to the mean of all days."""
    days = [as_of - dt.timedelta(days=i) for i in range(WEEKDAY_DAYS)]
    seen = [(d, daily[d]) for d in days if d in daily]
    overall = sum(v for _, v in seen) / len(seen) if seen else 0.0
    if overall <= 0 or len(seen) < 28:
        return [1.0] * 7
    sums, counts = [0.0] * 7, [0] * 7
    for d, v in seen:
        sums[d.weekday()] += v
        counts[d.weekday()] += 1
    return [(sums[w] / counts[w]) / overall if counts[w] else 1.0 for w in range(7)]


def _adjusted_mean(
    daily: dict[dt.date, float], days: Sequence[dt.date], weekday: Sequence[float]
) -> tuple[float, float]:
    """Mean and variance of the weekday-adjusted daily values of ``days``."""
    z = [daily.get(d, 0.0) / weekday[d.weekday()] for d in days if weekday[d.weekday()] > 0]
    if not z:
        return 0.0, 0.0
    mean = sum(z) / len(z)
    var = sum((x - mean) ** 2 for x in z) / (len(z) - 1) if len(z) > 1 else 0.0
    return mean, var


@dataclass(frozen=True)
class Noise:
    """How a count or sum moves from day to day and from month to month, from its last year."""

    relative: NDArray[np.float64]
    """Each day's weekday-adjusted value over its four weeks' mean: what a day can bring,
    relative to the level (many zeros and a few large values for deals)."""
    cv2: float
    """The squared coefficient of variation of those days."""
    drift: float
    """Variance of the level's log change from one four weeks to the next, beyond noise."""


def _noise(daily: dict[dt.date, float], as_of: dt.date, weekday: Sequence[float]) -> Noise:
    """:class:`Noise` from the four-week blocks of the year to ``as_of``.

    A year of days describes rare, large events (deals) far better than the run-rate window
    alone; comparing days only within their four weeks keeps growth and the seasons out of the
    day-to-day noise, and the change between blocks measures how far the level wanders.
    """
    relative: list[float] = []
    means: list[float] = []
    for block in range(WEEKDAY_DAYS // BLOCK_DAYS):
        days = [as_of - dt.timedelta(days=block * BLOCK_DAYS + i) for i in range(BLOCK_DAYS)]
        if any(d not in daily for d in days):
            break
        mean, _ = _adjusted_mean(daily, days, weekday)
        means.append(mean)
        if mean > 0:
            relative += [
                daily[d] / weekday[d.weekday()] / mean for d in days if weekday[d.weekday()]
            ]
    values = np.asarray(relative, dtype=np.float64)
    cv2 = float(values.var(ddof=1)) if values.size > 1 else 0.0
    # Changes between neighbouring blocks that both saw something (a quiet block breaks the
    # chain, it does not zero the drift).
    steps = [math.log(a / b) for a, b in itertools.pairwise(means) if a > 0 and b > 0]
    drift = 0.0
    if len(steps) > 1:
        drift = max(0.0, float(np.var(steps, ddof=1)) - 2 * cv2 / BLOCK_DAYS)
    return Noise(values, cv2, drift)


def _seed(goal: Goal, as_of: dt.date) -> int:
    """The same goal on the same data at the same day always gives the same figures."""
    text = f"{goal.scope}|{as_of.isoformat()}"  # not the target: it must not move the forecast
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _share(draws: NDArray[np.float64], target: float, direction: str) -> float:
    met = draws >= target if direction == "higher" else draws <= target
    return float(met.mean())


def _shape(
    daily: dict[dt.date, float],
    rest: Sequence[dt.date],
    trailing: Sequence[dt.date],
    weekday: Sequence[float],
    cv2: float,
) -> tuple[float, float] | None:
    """How the period's remaining days compared with the weeks before them, a year ago.

    The ratio of the two weekday-adjusted means, and its relative variance; ``None`` without a
    year of history (or with nothing in either stretch).
    """
    ago_rest = [d - YEAR for d in rest]
    ago_trailing = [d - YEAR for d in trailing]
    if any(d not in daily for d in (*ago_rest, *ago_trailing)):
        return None
    m_rest, _ = _adjusted_mean(daily, ago_rest, weekday)
    m_trail, _ = _adjusted_mean(daily, ago_trailing, weekday)
    if m_rest <= 0 or m_trail <= 0:
        return None
    # The ratio of two noisy means: its log is shrunk towards 0 (no seasonal change) by how
    # noisy it is, so a few large deals a year ago cannot scale this year's projection.
    noise = cv2 / len(ago_rest) + cv2 / len(ago_trailing)
    weight = SEASON_VAR / (SEASON_VAR + noise)
    return math.exp(weight * math.log(m_rest / m_trail)), weight * noise


def _line_at(line: Sequence[LinePoint], day: dt.date) -> float | None:
    for p in line:
        if p.day == day:
            return round(p.target, 6)
    return None


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 6)
