"""The Forecast page's charts: Vega-Lite specs as plain dictionaries (see goal_charts).

Per period, a bar of what is won to date and what the open pipeline is expected to add, the
band of that expectation and a tick at the CRM's own weighted view; the current period's
pipeline waterfall as floating bars from the opening to the closing pipeline.
"""

from __future__ import annotations

from typing import Any

from revteam.goals.report import ForecastReport
from revteam.metrics.format import display
from revteam.web.views.charts import CONFIG, OWNER_COLORS, axis_format
from revteam.web.views.goal_charts import TARGET_COLOR

WON_COLOR = OWNER_COLORS["sales"]
EXPECTED_COLOR = "#93c5fd"
LOST_COLOR = "#dc2626"


def _spec(layers: list[dict[str, Any]], height: int) -> dict[str, Any]:
    from altair import SCHEMA_URL

    return {
        "$schema": SCHEMA_URL,
        "width": "container",
        "height": height,
        "config": CONFIG,
        "layer": layers,
    }


def periods_chart(report: ForecastReport, currency: str) -> dict[str, Any] | None:
    """Won to date plus expected from the pipeline per period, with the band and the CRM."""
    if not report.periods:
        return None

    def text(value: float) -> str:
        return display(value, "money", currency=currency)

    bars, marks = [], []
    for p in report.periods:
        bars.append(
            {
                "period": p.label,
                "part": "Won to date",
                "from": 0.0,
                "to": p.won_to_date,
                "text": text(p.won_to_date),
            }
        )
        bars.append(
            {
                "period": p.label,
                "part": "Expected from open pipeline",
                "from": p.won_to_date,
                "to": p.won_to_date + p.expected,
                "text": text(p.expected),
            }
        )
        marks.append(
            {
                "period": p.label,
                "low": p.won_to_date + p.low,
                "high": p.won_to_date + p.high,
                "crm": p.won_to_date + p.crm_weighted,
                "band": f"{text(p.won_to_date + p.low)} to {text(p.won_to_date + p.high)}",
                "crm_text": text(p.won_to_date + p.crm_weighted),
            }
        )
    x = {"field": "period", "type": "nominal", "title": None, "axis": {"labelAngle": 0}}
    y_axis = {"format": axis_format("money", currency), "tickCount": 5}
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": bars},
            "mark": {"type": "bar", "width": {"band": 0.5}},
            "encoding": {
                "x": x,
                "y": {"field": "from", "type": "quantitative", "title": None, "axis": y_axis},
                "y2": {"field": "to"},
                "color": {
                    "field": "part",
                    "type": "nominal",
                    "title": None,
                    "scale": {
                        "domain": ["Won to date", "Expected from open pipeline"],
                        "range": [WON_COLOR, EXPECTED_COLOR],
                    },
                    "legend": {"orient": "bottom"},
                },
                "tooltip": [
                    {"field": "period", "title": "Period"},
                    {"field": "part", "title": "Part"},
                    {"field": "text", "title": "Amount"},
                ],
            },
        },
        {
            "data": {"values": marks},
            "mark": {"type": "rule", "color": "#1e293b", "strokeWidth": 2},
            "encoding": {
                "x": x,
                "y": {"field": "low", "type": "quantitative"},
                "y2": {"field": "high"},
                "tooltip": [{"field": "band", "title": "90% band"}],
            },
        },
        {
            "data": {"values": marks},
            "mark": {"type": "tick", "color": TARGET_COLOR, "thickness": 3, "size": 44},
            "encoding": {
                "x": x,
                "y": {"field": "crm", "type": "quantitative"},
                "tooltip": [{"field": "crm_text", "title": "Won + CRM weighted"}],
            },
        },
    ]
    return _spec(layers, 240)


def waterfall_chart(report: ForecastReport, currency: str) -> dict[str, Any]:
    """Opening pipeline, + created, - won, - lost, closing: floating bars that add up."""
    w = report.waterfall

    def text(value: float) -> str:
        return display(value, "money", currency=currency)

    steps = [
        ("Opening", 0.0, w.opening, "total"),
        ("Created", w.opening, w.opening + w.created, "up"),
        ("Won", w.opening + w.created - w.won, w.opening + w.created, "won"),
        ("Lost", w.opening + w.created - w.won - w.lost, w.opening + w.created - w.won, "lost"),
        ("Closing", 0.0, w.closing, "total"),
    ]
    rows = [
        {"step": name, "order": i, "from": lo, "to": hi, "kind": kind, "text": text(hi - lo)}
        for i, (name, lo, hi, kind) in enumerate(steps)
    ]
    return _spec(
        [
            {
                "data": {"values": rows},
                "mark": {"type": "bar", "width": {"band": 0.6}},
                "encoding": {
                    "x": {
                        "field": "step",
                        "type": "nominal",
                        "title": None,
                        "sort": {"field": "order"},
                        "axis": {"labelAngle": 0},
                    },
                    "y": {
                        "field": "from",
                        "type": "quantitative",
                        "title": None,
                        "axis": {"format": axis_format("money", currency), "tickCount": 5},
                    },
                    "y2": {"field": "to"},
                    "color": {
                        "field": "kind",
                        "type": "nominal",
                        "legend": None,
                        "scale": {
                            "domain": ["total", "up", "won", "lost"],
                            "range": [TARGET_COLOR, EXPECTED_COLOR, WON_COLOR, LOST_COLOR],
                        },
                    },
                    "tooltip": [
                        {"field": "step", "title": "Step"},
                        {"field": "text", "title": "Amount"},
                    ],
                },
            }
        ],
        220,
    )
