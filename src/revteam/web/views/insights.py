"""The Insights page's charts: Vega-Lite specs as plain dictionaries (see goal_charts).

Each chart draws the rows of one ``/api/v1/stats`` answer as they are: the trend of the scored
periods with the anomalies marked, the drivers of the latest change as a waterfall from the
value before to the value after, and the shrunk ranking with its intervals beside the raw
rates. Colours follow :mod:`revteam.web.views.charts`: the metric's owners for its own marks,
slate for baselines, red for what moved beyond noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from revteam.metrics.format import delta, display
from revteam.web.views.charts import CONFIG, OWNER_COLORS, axis_format

Row = Mapping[str, object]
BASELINE_COLOR = "#64748b"
FLAG_COLOR = "#dc2626"
RAW_COLOR = "#94a3b8"
EFFECT_COLORS = {
    "rate": "#2563eb",
    "mix": "#ea580c",
    "change": "#0d9488",
    "lever": "#7c3aed",
    "other": "#94a3b8",
}
SMALL = "◔"
"""Marks a segment of fewer than 30 records (the mark the Campaigns page uses)."""


def _spec(layers: list[dict[str, Any]], height: int) -> dict[str, Any]:
    from altair import SCHEMA_URL  # the Vega-Lite version the bundled vega-embed draws

    return {
        "$schema": SCHEMA_URL,
        "width": "container",
        "height": height,
        "config": CONFIG,
        "layer": layers,
    }


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def trend_rows(rows: Sequence[Row], since: str | None) -> list[Row]:
    """The total's scored periods from ``since`` (an ISO day) on, oldest first."""
    shown = [r for r in rows if since is None or str(r["period"]) >= since]
    return sorted(shown, key=lambda r: str(r["period"]))


def anomaly_chart(
    rows: Sequence[Row], *, unit: str, owners: str, currency: str
) -> dict[str, Any] | None:
    """The value per period, its expected value dashed, and red triangles where it broke out."""
    points = []
    for r in rows:
        value, expected = _number(r.get("value")), _number(r.get("expected"))
        if value is None:
            continue
        flagged = bool(r.get("flagged"))
        note = f"{r.get('kind')} {r.get('direction')}" if flagged else "within noise"
        points.append(
            {
                "period": r["period"],
                "label": r["period_label"],
                "value": value,
                "expected": expected,
                "flagged": flagged,
                "shape": "triangle-down" if r.get("direction") == "down" else "triangle-up",
                "value_text": display(value, unit, currency=currency),
                "expected_text": display(expected, unit, currency=currency),
                "note": note,
            }
        )
    if not points:
        return None
    x = {
        "field": "period",
        "type": "temporal",
        "title": None,
        "axis": {"format": "%b %Y", "labelOverlap": True},
    }
    y_axis = {"format": axis_format(unit, currency), "tickCount": 5}
    y = {
        "field": "value",
        "type": "quantitative",
        "title": None,
        "axis": y_axis,
        "scale": {"zero": False},
    }
    tooltip = [
        {"field": "label", "title": "Period"},
        {"field": "value_text", "title": "Value"},
        {"field": "expected_text", "title": "Expected"},
        {"field": "note", "title": "Test"},
    ]
    color = OWNER_COLORS.get(owners, "#334155")
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": points},
            "mark": {"type": "line", "color": BASELINE_COLOR, "strokeDash": [4, 3]},
            "encoding": {"x": x, "y": {**y, "field": "expected"}},
        },
        {
            "data": {"values": points},
            "mark": {"type": "line", "color": color, "strokeWidth": 2.5},
            "encoding": {"x": x, "y": y},
        },
        {
            "data": {"values": points},
            "mark": {"type": "point", "filled": True, "size": 36, "color": color},
            "encoding": {"x": x, "y": y, "tooltip": tooltip},
        },
        {
            "data": {"values": [p for p in points if p["flagged"]]},
            "mark": {"type": "point", "filled": True, "size": 150, "color": FLAG_COLOR},
            "encoding": {
                "x": x,
                "y": y,
                "shape": {"field": "shape", "type": "nominal", "scale": None},
                "tooltip": tooltip,
            },
        },
    ]
    return _spec(layers, 260)


def drivers_chart(
    rows: Sequence[Row], meta: Mapping[str, Any], *, unit: str, currency: str, top: int
) -> dict[str, Any] | None:
    """A horizontal waterfall: the value before, the ``top`` parts, the rest, the value after."""
    before, after = _number(meta.get("value_before")), _number(meta.get("value_after"))
    if before is None or after is None or not rows:
        return None
    steps: list[dict[str, Any]] = []

    def shown(value: float) -> str:
        return display(value, unit, currency=currency)

    def step(name: str, kind: str, start: float, end: float, text: str) -> None:
        steps.append(
            {"step": name, "order": len(steps), "kind": kind, "from": start, "to": end}
            | {"text": text, "right": max(start, end)}
        )

    step(f"Before · {meta.get('baseline_period')}", "total", before, before, shown(before))
    running = before
    for r in rows[:top]:
        amount = _number(r.get("contribution")) or 0.0
        effect = str(r.get("effect") or "lever")
        name = str(r.get("segment") or r.get("lever"))
        label = f"{name} · {effect}" if r.get("effect") else name
        step(label, effect, running, running + amount, delta(amount, unit, currency=currency))
        running += amount
    rest = rows[top:]
    if rest:
        amount = sum(_number(r.get("contribution")) or 0.0 for r in rest)
        text = delta(amount, unit, currency=currency)
        step(f"{len(rest)} smaller parts", "other", running, running + amount, text)
    step(f"After · {meta.get('period')}", "total", after, after, shown(after))
    y = {
        "field": "step",
        "type": "nominal",
        "title": None,
        "sort": {"field": "order"},
        "axis": {"labelLimit": 220},
    }
    x = {
        "field": "from",
        "type": "quantitative",
        "title": None,
        "axis": {"format": axis_format(unit, currency), "tickCount": 5},
        "scale": {"zero": False},
    }
    tooltip = [{"field": "step", "title": "Part"}, {"field": "text", "title": "Amount"}]
    parts = [s for s in steps if s["kind"] != "total"]
    kinds = [k for k in EFFECT_COLORS if any(s["kind"] == k for s in parts)]
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": parts},
            "mark": {"type": "bar", "height": {"band": 0.7}},
            "encoding": {
                "y": y,
                "x": x,
                "x2": {"field": "to"},
                "color": {
                    "field": "kind",
                    "type": "nominal",
                    "title": "Effect",
                    "scale": {"domain": kinds, "range": [EFFECT_COLORS[k] for k in kinds]},
                    "legend": {"orient": "bottom"},
                },
                "tooltip": tooltip,
            },
        },
        {
            "data": {"values": [s for s in steps if s["kind"] == "total"]},
            "mark": {"type": "tick", "color": "#1e293b", "thickness": 3},
            "encoding": {"y": y, "x": {**x, "field": "to"}, "tooltip": tooltip},
        },
        {
            "data": {"values": steps},
            "mark": {"type": "text", "align": "left", "dx": 5, "color": "#334155", "fontSize": 11},
            "encoding": {"y": y, "x": {**x, "field": "right"}, "text": {"field": "text"}},
        },
    ]
    return _spec(layers, 26 * len(steps) + 50)


def ranking_chart(
    rows: Sequence[Row],
    meta: Mapping[str, Any],
    *,
    unit: str,
    owners: str,
    currency: str,
) -> dict[str, Any] | None:
    """Each segment's shrunk rate with its interval, its raw rate beside, the prior's mean."""

    def shown(value: float | None) -> str:
        return display(value, unit, currency=currency)

    marks, ranges = [], []
    for r in rows:
        shrunk, raw = _number(r.get("shrunk_rate")), _number(r.get("raw_rate"))
        if shrunk is None:
            continue
        small = bool(r.get("small_sample"))
        name = f"{r['rank']}. {r['segment']}{' ' + SMALL if small else ''}"
        n = _number(r.get("denominator")) or 0.0
        common = {"segment": name, "rank": r["rank"], "n": f"{n:,.0f}"}
        low, high = _number(r.get("ci_low")), _number(r.get("ci_high"))
        interval = f"{shown(low)} to {shown(high)}"
        ranges.append(common | {"low": low, "high": high, "small": small, "interval": interval})
        marks.append(common | {"estimate": "Shrunk", "value": shrunk, "text": shown(shrunk)})
        if raw is not None:
            marks.append(common | {"estimate": "Raw", "value": raw, "text": shown(raw)})
    if not marks:
        return None
    y = {
        "field": "segment",
        "type": "nominal",
        "title": None,
        "sort": {"field": "rank"},
        "axis": {"labelLimit": 200},
    }
    x_axis = {"format": axis_format(unit, currency), "tickCount": 5}
    accent = OWNER_COLORS.get(owners, "#334155")
    layers: list[dict[str, Any]] = [
        {
            "data": {"values": ranges},
            "mark": {"type": "rule", "strokeWidth": 3, "color": accent},
            "encoding": {
                "y": y,
                "x": {"field": "low", "type": "quantitative", "title": None, "axis": x_axis},
                "x2": {"field": "high"},
                "opacity": {
                    "field": "small",
                    "type": "nominal",
                    "scale": {"domain": [False, True], "range": [0.55, 0.25]},
                    "legend": None,
                },
                "tooltip": [
                    {"field": "segment", "title": "Segment"},
                    {"field": "interval", "title": "Interval"},
                    {"field": "n", "title": "Records"},
                ],
            },
        },
        {
            "data": {"values": marks},
            "mark": {"type": "point", "size": 70, "strokeWidth": 2},
            "encoding": {
                "y": y,
                "x": {"field": "value", "type": "quantitative"},
                "color": {
                    "field": "estimate",
                    "type": "nominal",
                    "title": None,
                    "scale": {"domain": ["Shrunk", "Raw"], "range": [accent, RAW_COLOR]},
                    "legend": {"orient": "bottom"},
                },
                "shape": {
                    "field": "estimate",
                    "type": "nominal",
                    "scale": {"domain": ["Shrunk", "Raw"], "range": ["circle", "diamond"]},
                },
                "fill": {
                    "field": "estimate",
                    "type": "nominal",
                    "scale": {"domain": ["Shrunk", "Raw"], "range": [accent, "#ffffff"]},
                    "legend": None,
                },
                "tooltip": [
                    {"field": "segment", "title": "Segment"},
                    {"field": "estimate", "title": "Estimate"},
                    {"field": "text", "title": "Rate"},
                    {"field": "n", "title": "Records"},
                ],
            },
        },
    ]
    mean = _number((meta.get("prior") or {}).get("mean"))
    if mean is not None:
        layers.append(
            {
                "data": {"values": [{"mean": mean, "text": shown(mean)}]},
                "mark": {"type": "rule", "color": BASELINE_COLOR, "strokeDash": [4, 3]},
                "encoding": {
                    "x": {"field": "mean", "type": "quantitative"},
                    "tooltip": [{"field": "text", "title": "Prior mean"}],
                },
            }
        )
    return _spec(layers, 24 * len(ranges) + 60)
