"""The columns of a metric result, named once for the metric layer and every face.

A result has :data:`RESULT_COLUMNS`, with one column per requested dimension after
``period_label`` (see :mod:`revteam.metrics.result`). Metric ids may not take these names.
"""

from __future__ import annotations

PERIOD = "period"
FIXED_COLUMNS: tuple[str, ...] = (
    "metric",
    "owners",
    "unit",
    "value",
    "numerator",
    "denominator",
    "n",
    "immature",
    "age_days",
    "window_days",
)
"""Columns after the dimensions, in order."""
RESULT_COLUMNS: tuple[str, ...] = (PERIOD, "period_label", "is_total", *FIXED_COLUMNS)
"""Every column of a result except the dimensions."""
NUMBERS: tuple[str, ...] = ("value", "numerator", "denominator", "n")
"""The numbers of a row (the rest describe it)."""
