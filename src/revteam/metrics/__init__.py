"""The metric layer: the shared KPI catalogue, by any dimension and period, on any engine.

>>> ws = revteam.open("my-workspace")                                   # doctest: +SKIP
>>> ws.metrics.query(["leads", "mql_rate"], by="channel", grain="quarter")  # doctest: +SKIP

Specs (YAML) → plan (atoms fused by table, time column and grouping) → ibis expressions (one SQL
statement per group) → a tidy Arrow result. See ``docs/metrics.md`` for every metric.
"""

from __future__ import annotations

from revteam.metrics.catalogue import Catalogue, load_catalogue, shipped_catalogue
from revteam.metrics.component import MetricsComponent, compile_sql
from revteam.metrics.definitions import Definitions
from revteam.metrics.dimensions import BREAKDOWNS, DIMENSIONS
from revteam.metrics.periods import GRAINS, Grain
from revteam.metrics.result import MetricResult
from revteam.metrics.sources import Sourcing
from revteam.metrics.spec import MetricSpec

__all__ = [
    "BREAKDOWNS",
    "DIMENSIONS",
    "GRAINS",
    "Catalogue",
    "Definitions",
    "Grain",
    "MetricResult",
    "MetricSpec",
    "MetricsComponent",
    "Sourcing",
    "compile_sql",
    "load_catalogue",
    "shipped_catalogue",
]
