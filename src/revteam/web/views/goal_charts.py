"""The Goals page's charts: Vega-Lite specs of a goal's pacing, drawn by the bundled vega-embed.

Written as plain dictionaries rather than through altair: a page holds up to 200 of them, built
per request, and a dictionary costs microseconds. Colours follow
:mod:`revteam.web.views.charts`: the metric's owners for the goal's own marks, slate for the
target.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from revteam.goals import Pacing
from revteam.metrics.format import display
from revteam.web.views.charts import CONFIG, axis_format

CHART_POINTS = 120
"""Days a cumulative line is drawn through at most (a year's is thinned, ends kept)."""
TARGET_COLOR = "#64748b"
ONE: dict[str, Any] = {"values": [{}]}
"""The data of a layer drawn from constants alone (the target's rule)."""


def chart(
    p: Pacing, unit: str, *, currency: str, color: str, level: float
) -> dict[str, Any] | None:
    """Counts and sums: the cumulative lines; other metrics: the value against the target."""
    if p.line:
        return flow_chart(p, unit, currency=currency, color=color, level=level)
    if p.actual is None and p.projected is None:
        return None
    return level_chart(p, unit, currency=currency, color=color, level=level)


def _spec(layers: list[dict[str, Any]], height: int) -> dict[str, Any]:
    from altair import SCHEMA_URL  # the Vega-Lite version the bundled vega-embed draws

    return {
        "$schema": SCHEMA_URL,
        "width": "container",
        "height": height,
        "config": CONFIG,
        "layer": layers,
    }


def _thinned(p: Pacing) -> list[int]:
    """Indexes of the line's days to draw: every k-th day, the first, the last and as-of."""
    n = len(p.line)
    step = max(1, math.ceil(n / CHART_POINTS))
    keep = set(range(0, n, step)) | {n - 1}
    keep |= {i for i, point in enumerate(p.line) if point.day == p.as_of}
    return sorted(keep)


def flow_chart(p: Pacing, unit: str, *, currency: str, color: str, level: float) -> dict[str, Any]:
    """The cumulative target and actual lines, and the projected interval at the period's end.

    The target line runs over the period's days, the actual to the as-of day; the interval is
    a rule from low to high with a point at the projection.
    """

    def text(value: float | None) -> str:
        return display(value, unit, currency=currency)

    rows = []
    for i in _thinned(p):
        point = p.line[i]
        rows.append(
            {
                "day": point.day.isoformat(),
                "label": f"{point.day:%b} {point.day.day}",
                "target": round(point.target, 6),
                "target_text": text(point.target),
                "actual": point.actual,
                "actual_text": text(point.actual),
            }
        )
    x = {
        "field": "day",
        "type": "temporal",
        "title": None,
        "scale": {"type": "utc", "padding": 8},
        "axis": {"format": "%b %-d", "labelOverlap": True, "tickCount": 6},
    }
    y_axis = {"format": axis_format(unit, currency), "tickCount": 5}
    day = {"field": "label", "type": "nominal", "title": "Day"}
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": rows},
            "mark": {"type": "line", "color": TARGET_COLOR, "strokeDash": [5, 4]},
            "encoding": {
                "x": x,
                "y": {"field": "target", "type": "quantitative", "title": None, "axis": y_axis},
                "tooltip": [day, {"field": "target_text", "title": "Target line"}],
            },
        },
        {
            "data": {"values": [r for r in rows if r["actual"] is not None]},
            "mark": {"type": "line", "color": color, "strokeWidth": 2.5},
            "encoding": {
                "x": x,
                "y": {"field": "actual", "type": "quantitative"},
                "tooltip": [day, {"field": "actual_text", "title": "Actual"}],
            },
        },
    ]
    if p.projected is not None:
        layers += _interval_layers(p, x, text, color, level, p.line[-1].day.isoformat())
    return _spec(layers, 190)


def _interval_layers(
    p: Pacing,
    x: dict[str, Any],
    text: Callable[[float | None], str],
    color: str,
    level: float,
    at: str,
) -> list[dict[str, Any]]:
    end = {
        x["field"]: at,
        "projected": p.projected,
        "low": p.projected_low if p.projected_low is not None else p.projected,
        "high": p.projected_high if p.projected_high is not None else p.projected,
        "projected_text": text(p.projected),
        "interval_text": f"{text(p.projected_low)}\N{EN DASH}{text(p.projected_high)}",
    }
    tooltip = [
        {"field": "projected_text", "title": "Projected"},
        {"field": "interval_text", "title": f"{level:.0%} interval"},
    ]
    return [
        {
            "data": {"values": [end]},
            "mark": {"type": "rule", "color": color, "strokeWidth": 3, "opacity": 0.55},
            "encoding": {
                "x": x,
                "y": {"field": "low", "type": "quantitative", "title": None},
                "y2": {"field": "high"},
                "tooltip": tooltip,
            },
        },
        {
            "data": {"values": [end]},
            "mark": {"type": "point", "filled": True, "size": 70, "color": color},
            "encoding": {
                "x": x,
                "y": {"field": "projected", "type": "quantitative", "title": None},
                "tooltip": tooltip,
            },
        },
    ]


def level_chart(p: Pacing, unit: str, *, currency: str, color: str, level: float) -> dict[str, Any]:
    """The target (and stretch) as horizontal rules, the value to date, the projection.

    The projection carries its interval as a rule from low to high.
    """

    def text(value: float | None) -> str:
        return display(value, unit, currency=currency)

    x = {
        "field": "what",
        "type": "nominal",
        "title": None,
        "sort": None,
        "axis": {"labelAngle": 0},
        "scale": {"padding": 0.6},
    }
    y = {
        "type": "quantitative",
        "title": None,
        "scale": {"zero": False},
        "axis": {"format": axis_format(unit, currency), "tickCount": 5},
    }
    now = "Last days" if p.state == "upcoming" else "To date"
    later = "Period end" if p.state != "finished" else "Final"
    rows = [{"what": now, "value": p.actual, "value_text": text(p.actual)}]
    if p.actual is None or p.state == "upcoming":
        rows = []  # before the period, the recent value is the projection itself
    layers: list[dict[str, Any]] = [
        {
            "data": ONE,
            "mark": {"type": "rule", "color": TARGET_COLOR, "strokeDash": [5, 4]},
            "encoding": {"y": {**y, "datum": p.goal.target}},
        },
        {
            "data": ONE,
            "mark": {
                "type": "text",
                "align": "left",
                "baseline": "bottom",
                "dy": -2,
                "x": 2,
                "color": TARGET_COLOR,
                "fontSize": 10,
            },
            "encoding": {
                "y": {**y, "datum": p.goal.target},
                "text": {"value": f"target {text(p.goal.target)}"},
            },
        },
    ]
    if p.goal.stretch is not None:
        layers.append(
            {
                "data": ONE,
                "mark": {"type": "rule", "color": TARGET_COLOR, "strokeDash": [1, 3]},
                "encoding": {"y": {**y, "datum": p.goal.stretch}},
            }
        )
    if rows:
        layers.append(
            {
                "data": {"values": rows},
                "mark": {"type": "point", "filled": True, "size": 70, "color": TARGET_COLOR},
                "encoding": {
                    "x": x,
                    "y": {**y, "field": "value"},
                    "tooltip": [{"field": "value_text", "title": now}],
                },
            }
        )
    if p.projected is not None:
        layers += _interval_layers(p, {**x, "field": "what"}, text, color, level, later)
    return _spec(layers, 170)
