"""``ws.proposals``: propose a metric's definition, preview its impact, sign it off together."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.app import CLI, Actor
from revteam.exceptions import RevteamError
from revteam.goals.incentives import load_incentives
from revteam.metrics.pages import pages_showing
from revteam.proposals.impact import Impact, dependents, impact, scorecard_impact
from revteam.proposals.store import SCORECARD, Proposal, ProposalStore
from revteam.storage import AppDatabase

if TYPE_CHECKING:
    from revteam.goals import GoalBook
    from revteam.metrics import MetricResult, MetricsComponent
    from revteam.metrics.request import QueryOptions


class ProposalsComponent(ProposalStore):
    """The proposal store plus what needs the warehouse: impact previews, past definitions."""

    def __init__(
        self, *, db: AppDatabase, metrics: MetricsComponent, goals: GoalBook, folder: Path
    ) -> None:
        super().__init__(db, metrics.definitions, folder)
        self.metrics, self.goals = metrics, goals

    def impact(self, proposal: int | str, *, months: int = 12) -> Impact:
        """The numbers before and after a proposal (its id, or a definition's YAML)."""
        text = self.get(proposal).text if isinstance(proposal, int) else proposal
        draft, proposed = self.preview(text)
        metric = draft.subject
        if metric == SCORECARD:
            return scorecard_impact(self.metrics, proposed, used_by=self.used_by(metric))
        return impact(self.metrics, proposed, metric, months=months, used_by=self.used_by(metric))

    def used_by(self, metric: str) -> dict[str, list[str]]:
        """Goals, incentive plans, pages and metrics that show or are computed from ``metric``."""
        catalogue = self.metrics.catalogue
        if metric == SCORECARD:
            return {"goals": [], "pages": ["Overview", "Review pack (scorecard)"], "metrics": []}
        return {
            "goals": [g.describe() for g in self.goals.list(metric)],
            "incentives": self._incentives(metric),
            "pages": pages_showing(catalogue, metric),
            "metrics": dependents(catalogue, metric),
        }

    def _incentives(self, metric: str) -> list[str]:
        """Incentive plans with a measure on ``metric`` (an unreadable file names none)."""
        try:
            plans = load_incentives(self._folder.parent, self.metrics.catalogue)
        except RevteamError:
            return []
        return [p.name for p in plans if any(m.metric == metric for m in p.measures)]

    def query_as_defined_on(
        self, day: dt.date, metrics: str | list[str], **options: QueryOptions
    ) -> MetricResult:
        """``ws.metrics.query`` with the definitions as they stood on ``day``."""
        return self.metrics.using(self.catalogue_on(day)).query(metrics, **options)  # type: ignore[arg-type]

    def propose_as(self, text: str, reason: str, actor: Actor = CLI) -> Proposal:
        return self.propose(text, reason=reason, actor=actor)
