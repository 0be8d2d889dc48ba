"""``ws.review``: the joint review's pack and its action items."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.proposals import ProposalStore
from revteam.review.actions import ActionStore
from revteam.review.definitions import History
from revteam.review.pack import Pack, PackBuilder
from revteam.review.render import render
from revteam.settings import Settings
from revteam.storage import AppDatabase

if TYPE_CHECKING:
    from revteam.goals import GoalsComponent
    from revteam.ingest.status import WorkspaceStatus
    from revteam.metrics import MetricsComponent
    from revteam.stats import StatsComponent


class ReviewComponent:
    """Builds review packs (``pack``, ``render``) and keeps the action items (``actions``)."""

    def __init__(
        self,
        *,
        db: AppDatabase,
        metrics: MetricsComponent,
        stats: StatsComponent,
        goals: GoalsComponent,
        status: Callable[[], WorkspaceStatus],
        settings: Settings,
        clock: Callable[[], dt.datetime] | None = None,
        proposals: History | None = None,
    ) -> None:
        ids = frozenset(s.id for s in metrics.list())
        self.actions = ActionStore(db, metrics=ids)
        self.proposals = proposals or _history(db, metrics)
        self.builder = PackBuilder(
            metrics=metrics,
            stats=stats,
            goals=goals,
            actions=self.actions,
            status=status,
            settings=settings.review,
            currency=settings.currency,
            fy_start=settings.fiscal_year_start_month,
            clock=clock,
            proposals=self.proposals,
        )

    def pack(self, period: str, *, grain: str | None = None) -> Pack:
        """The review pack of ``period`` (see :mod:`revteam.review.pack`)."""
        return self.builder.build(period, grain=grain)

    def render(self, pack: Pack, fmt: str = "html") -> bytes:
        """``pack`` as ``html``, ``markdown`` or ``pdf`` bytes."""
        return render(pack, fmt)


def _history(db: AppDatabase, metrics: MetricsComponent) -> History:
    """The agreed definitions' history over ``db``, for reading only.

    ``ws.proposals`` is the same store with the workspace's ``metrics/`` folder, where an
    approval writes its definition; the pack only reads versions and votes, so this one is given
    no folder it could write to.
    """
    return ProposalStore(db, metrics.definitions, Path(os.devnull))
