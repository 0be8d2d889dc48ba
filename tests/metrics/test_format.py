"""One formatter for numbers in their units, used by the CLI, the web pages and reports."""

from __future__ import annotations

import math

import pytest

import revteam.web.format as web_format
from revteam.metrics import format as fmt


@pytest.mark.parametrize(
    ("value", "unit", "kwargs", "text"),
    [
        (0.125, "percent", {}, "12.5%"),
        (1_234_567, "count", {}, "1,234,567"),
        (1_234_567, "count", {"short": True}, "1.23M"),
        (1_240_113, "money", {}, "$1,240,113"),
        (1_240_113, "money", {"short": True}, "$1.24M"),
        (-42.5, "money", {"currency": "EUR"}, "-€42"),
        (5, "money", {"currency": "CHF"}, "CHF 5"),
        (37.26, "days", {}, "37.3 days"),
        (3.24, "hours", {}, "3.2 h"),
        (1.5, "number", {}, "1.50"),
        (None, "percent", {}, fmt.MISSING),
        (math.nan, "money", {}, fmt.MISSING),
    ],
)
def test_display(value, unit, kwargs, text):
    assert fmt.display(value, unit, **kwargs) == text


def test_the_web_writes_numbers_with_the_same_functions():
    for name in ("MISSING", "change", "compact", "display", "money", "number"):
        assert getattr(web_format, name) is getattr(fmt, name)
