"""Multi-touch attribution: journeys, rule-based and data-driven models, credit by channel.

See docs/attribution.md.
"""

from __future__ import annotations

from revteam.attribution.component import Attribution, AttributionComponent
from revteam.attribution.journeys import BYS, CONVERSIONS, METRIC_OF
from revteam.attribution.models import MODELS, Credit, attribute, bootstrap
from revteam.attribution.paths import Journeys

__all__ = [
    "BYS",
    "CONVERSIONS",
    "METRIC_OF",
    "MODELS",
    "Attribution",
    "AttributionComponent",
    "Credit",
    "Journeys",
    "attribute",
    "bootstrap",
]
