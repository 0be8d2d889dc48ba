"""Lead scoring: fit and engagement features, a calibrated predictive score. See docs/scoring.md."""

from __future__ import annotations

from revteam.scoring.component import ScoringComponent
from revteam.scoring.fitting import FitInputs, ScoreFit, fit_score
from revteam.scoring.model import Quality, Scorer, quality

__all__ = [
    "FitInputs",
    "Quality",
    "ScoreFit",
    "Scorer",
    "ScoringComponent",
    "fit_score",
    "quality",
]
