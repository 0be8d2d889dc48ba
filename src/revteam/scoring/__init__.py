"""Lead scoring: fit and engagement features, a calibrated predictive score. See docs/scoring.md."""

from __future__ import annotations

from revteam.scoring.component import ScoreFit, ScoringComponent
from revteam.scoring.model import Quality, Scorer, quality

__all__ = ["Quality", "ScoreFit", "Scorer", "ScoringComponent", "quality"]
