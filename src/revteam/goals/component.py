"""``ws.goals``: the workspace's goals, and how each is pacing against the KPIs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING

from revteam.goals.book import GoalBook
from revteam.goals.model import Goal
from revteam.goals.pacing import Pacer, Pacing
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
    ) -> None:
        super().__init__(db, metrics.definitions, fy_start=settings.fiscal_year_start_month)
        self.pacer = Pacer(metrics, stats, settings.goals)

    def pacing(
        self, goals: Sequence[Goal] | None = None, *, as_of: dt.date | None = None
    ) -> list[Pacing]:
        """Each goal's actual, projection, interval, chance and status (default: all goals)."""
        return self.pacer.pace(self.list() if goals is None else goals, as_of=as_of)
