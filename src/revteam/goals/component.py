"""``ws.goals``: the workspace's goals, and how each is pacing against the KPIs."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.goals.book import GoalBook
from revteam.goals.forecast import Forecaster, PeriodForecast
from revteam.goals.incentives import PlanResult, load_incentives, score, with_people
from revteam.goals.model import Goal
from revteam.goals.pacing import Pacer, Pacing
from revteam.goals.report import ForecastReport, build_report
from revteam.settings import Settings
from revteam.storage import AppDatabase

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent
    from revteam.stats import StatsComponent


class GoalsComponent(GoalBook):
    """Goals (set, change, delete, ``goals.yaml``) plus their pacing over the warehouse."""

    def __init__(
        self,
        *,
        db: AppDatabase,
        metrics: MetricsComponent,
        stats: StatsComponent,
        settings: Settings,
        root: Path,
    ) -> None:
        super().__init__(db, metrics.definitions, fy_start=settings.fiscal_year_start_month)
        self.pacer = pacer_for(metrics, stats, settings)
        self.forecaster = forecaster_for(metrics, settings)
        self._root = root

    def pacing(
        self, goals: Sequence[Goal] | None = None, *, as_of: dt.date | None = None
    ) -> list[Pacing]:
        """Each goal's actual, projection, interval, chance and status (default: all goals)."""
        return self.pacer.pace(self.list() if goals is None else goals, as_of=as_of)

    def forecast(
        self,
        *,
        as_of: dt.date | None = None,
        grain: str = "quarter",
        periods: int = 2,
        where: Mapping[str, Sequence[str | None]] | None = None,
    ) -> list[PeriodForecast]:
        """Won revenue expected per period from the deals open at ``as_of``.

        From the period holding ``as_of`` on; the method is :mod:`revteam.goals.forecast`'s.
        """
        cut = None if as_of is None else dt.datetime.combine(as_of, dt.time.max)
        return self.forecaster.forecast(cut, grain=grain, periods=periods, where=where)

    def forecast_report(
        self,
        *,
        as_of: dt.date | None = None,
        grain: str = "quarter",
        periods: int = 2,
        where: Mapping[str, Sequence[str | None]] | None = None,
        deals: int = 20,
    ) -> ForecastReport:
        """The forecast with its pipeline health: what the Forecast page shows."""
        cut = None if as_of is None else dt.datetime.combine(as_of, dt.time.max)
        return build_report(
            self.forecaster,
            self.pacer.metrics,
            self.list("revenue"),
            as_of=cut,
            grain=grain,
            periods=periods,
            where=where,
            deals=deals,
        )

    def incentives(
        self, *, as_of: dt.date | None = None, what_if: Mapping[str, float] | None = None
    ) -> list[PlanResult]:
        """The plans of ``incentives.yaml`` scored on the goals' pacing.

        ``what_if`` maps a metric to a period-end value assumed instead of its projection.
        """
        return score_plans(self, self.pacer, self._root, as_of=as_of, what_if=what_if)


_FORECASTERS: weakref.WeakKeyDictionary[MetricsComponent, Forecaster] = weakref.WeakKeyDictionary()
_GUARD = threading.Lock()


def forecaster_for(metrics: MetricsComponent, settings: Settings) -> Forecaster:
    """The one forecaster of a metrics component: its fitted models outlive a request."""
    with _GUARD:
        found = _FORECASTERS.get(metrics)
        if found is None or found.settings != settings.goals:
            found = Forecaster(metrics, settings.goals, settings.fiscal_year_start_month)
            _FORECASTERS[metrics] = found
        return found


def pacer_for(metrics: MetricsComponent, stats: StatsComponent, settings: Settings) -> Pacer:
    """A pacer over ``metrics`` whose revenue goals see the open pipeline (every face's)."""
    return Pacer(metrics, stats, settings.goals, forecaster_for(metrics, settings))


def score_plans(
    book: GoalBook,
    pacer: Pacer,
    root: Path,
    *,
    as_of: dt.date | None = None,
    what_if: Mapping[str, float] | None = None,
) -> list[PlanResult]:
    """``incentives.yaml`` of ``root`` scored on ``book``'s goals as ``pacer`` paces them."""
    catalogue = book.definitions.catalogue
    plans = with_people(load_incentives(root, catalogue, book.fy_start), book.teams())
    wanted = {(m.metric, m.period, m.segment) for p in plans for m in p.measures}
    goals = [g for g in book.list() if (g.metric, g.period, g.segment) in wanted]
    return score(plans, goals, pacer.pace(goals, as_of=as_of), catalogue, what_if=what_if)
