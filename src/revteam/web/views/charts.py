"""Charts: Vega-Lite specs built with altair (drawn by the bundled vega-embed), and sparklines.

One palette everywhere: Sales blue, Marketing orange, shared teal (the CSS uses the same
values). Breakdowns by a dimension use other colours, so that their values never borrow a
team's colour. Immature cohorts and the running period are drawn hollow (charts) or dashed.

Sparklines are inline SVG drawn on the server: a scorecard has a dozen of them, and inline SVG
costs no script, no layout shift and a few hundred bytes each, and prints crisply.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup, escape

from revteam.web.views.scorecard import Point

OWNER_COLORS = {"sales": "#2563eb", "marketing": "#ea580c", "shared": "#0d9488"}
FONT = "Inter, ui-sans-serif, system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
SERIES_COLORS = (
    "#db2777",
    "#65a30d",
    "#ca8a04",
    "#7c3aed",
    "#64748b",
    "#dc2626",
    "#0e7490",
    "#a16207",
)
"""Breakdown values: distinct from the three team colours."""
MAX_SERIES = 6
"""More lines than this are unreadable; the largest values are kept."""

CONFIG: dict[str, Any] = {
    "font": FONT,
    "view": {"stroke": None},
    "axis": {
        "labelColor": "#475569",
        "titleColor": "#475569",
        "gridColor": "#e2e8f0",
        "domainColor": "#cbd5e1",
        "tickColor": "#cbd5e1",
        "labelFontSize": 11,
        "titleFontSize": 11,
        "titleFontWeight": 500,
    },
    "legend": {
        "labelColor": "#334155",
        "titleColor": "#475569",
        "orient": "bottom",
        "labelFontSize": 11,
        "titleFontSize": 11,
    },
}


def axis_format(unit: str, currency: str) -> str:
    if unit == "percent":
        return ".0%"
    if unit == "money":
        return "$,.3~s" if currency == "USD" else ",.3~s"
    if unit in {"count", "number"}:
        return ",.3~s"
    return ",.1f"


def tooltip_format(unit: str, currency: str) -> str:
    if unit == "percent":
        return ".1%"
    if unit == "money":
        return "$,.0f" if currency == "USD" else ",.0f"
    return ",.1f" if unit in {"days", "hours", "number"} else ",.0f"


def _finish(chart: Any, height: int) -> dict[str, Any]:
    spec: dict[str, Any] = chart.properties(width="container", height=height).to_dict(
        validate=False
    )
    spec["config"] = CONFIG
    return spec


def trend(
    rows: Sequence[dict[str, Any]],
    *,
    unit: str,
    owners: str,
    currency: str = "USD",
    y_title: str = "",
    height: int = 260,
) -> dict[str, Any]:
    """Values over time; ``rows`` have period (ISO date), label, value, series, hollow."""
    import altair as alt

    series = {r["series"] for r in rows}
    many = len(series) > 1
    data = alt.Data(values=list(rows))  # type: ignore[no-untyped-call]
    fmt, tip = axis_format(unit, currency), tooltip_format(unit, currency)
    accent = OWNER_COLORS.get(owners, "#334155")
    names = list(dict.fromkeys(r["series"] for r in rows))
    others = [n for n in names if n != "Total"]
    color = (
        alt.Color(
            "series:N",
            title=None,
            sort=["Total", *others],
            scale=alt.Scale(
                domain=["Total", *others], range=[accent, *SERIES_COLORS[: len(others)]]
            ),
        )
        if many
        else alt.value(accent)
    )
    base = alt.Chart(data).encode(
        x=alt.X("period:T", title=None, axis=alt.Axis(format="%b %Y", labelOverlap=True)),
        y=alt.Y("value:Q", title=y_title or None, axis=alt.Axis(format=fmt)),
        color=color,
        tooltip=[
            alt.Tooltip("label:N", title="Period"),
            *([alt.Tooltip("series:N", title="Group")] if many else []),
            alt.Tooltip("value:Q", title=y_title or "Value", format=tip),
            alt.Tooltip("note:N", title="Note"),
        ],
    )
    line = base.mark_line(interpolate="linear").encode(
        strokeWidth=alt.condition("datum.series == 'Total'", alt.value(3), alt.value(1.5))
    )
    solid = base.mark_point(filled=True, size=36).transform_filter("!datum.hollow")
    hollow = base.mark_point(filled=False, size=46, strokeWidth=1.6).transform_filter(
        "datum.hollow"
    )
    return _finish(alt.layer(line, solid, hollow), height)


def bars(
    rows: Sequence[dict[str, Any]],
    *,
    unit: str,
    owners: str,
    currency: str = "USD",
) -> dict[str, Any]:
    """One horizontal bar per dimension value; ``rows`` have name, value, text."""
    import altair as alt

    data = alt.Data(values=list(rows))  # type: ignore[no-untyped-call]
    height = max(120, 26 * len(rows))
    base = alt.Chart(data).encode(
        y=alt.Y("name:N", title=None, sort="-x", axis=alt.Axis(labelLimit=180)),
        x=alt.X("value:Q", title=None, axis=alt.Axis(format=axis_format(unit, currency))),
        tooltip=[alt.Tooltip("name:N", title="Group"), alt.Tooltip("text:N", title="Value")],
    )
    bar = base.mark_bar(
        color=OWNER_COLORS.get(owners, "#334155"), cornerRadiusEnd=3, height={"band": 0.72}
    )
    text = base.mark_text(align="left", dx=4, color="#334155", fontSize=11).encode(text="text:N")
    return _finish(alt.layer(bar, text), height)


def funnel(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Stage counts as bars; ``rows`` have stage, count, text (count and conversion)."""
    import altair as alt

    data = alt.Data(values=list(rows))  # type: ignore[no-untyped-call]
    order = [r["stage"] for r in rows]
    base = alt.Chart(data).encode(
        y=alt.Y("stage:N", sort=order, title=None, axis=alt.Axis(labelFontSize=12)),
        x=alt.X("count:Q", title=None, axis=alt.Axis(format=",.3~s")),
        tooltip=[alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("text:N", title="Reached")],
    )
    bar = base.mark_bar(cornerRadiusEnd=4, height={"band": 0.7}).encode(
        color=alt.Color(
            "owner:N",
            scale=alt.Scale(
                domain=["Marketing", "Shared", "Sales"],
                range=[OWNER_COLORS["marketing"], OWNER_COLORS["shared"], OWNER_COLORS["sales"]],
            ),
            legend=alt.Legend(title="Stage owned by"),
        )
    )
    text = base.mark_text(align="left", dx=5, color="#1e293b", fontSize=12).encode(text="text:N")
    return _finish(alt.layer(bar, text), 44 * len(rows) + 30)


def keep_largest(rows: Sequence[dict[str, Any]], limit: int = MAX_SERIES) -> list[dict[str, Any]]:
    """Rows of the ``limit`` series with the largest absolute total (the total series stays)."""
    totals: dict[str, float] = {}
    for r in rows:
        totals[r["series"]] = totals.get(r["series"], 0.0) + abs(r["value"] or 0.0)
    keep = {"Total"} | set(sorted(totals, key=lambda s: -totals[s])[:limit])
    return [r for r in rows if r["series"] in keep]


WIDTH, HEIGHT, PAD = 160, 40, 3


def sparkline(points: Sequence[Point], color: str, *, label: str = "") -> Markup:
    values = [p.value for p in points]
    known = [v for v in values if v is not None]
    if len(known) < 2:
        return Markup('<svg class="spark" viewBox="0 0 160 40" aria-hidden="true"></svg>')
    lo, hi = min(known), max(known)
    span = (hi - lo) or 1.0
    step = (WIDTH - 2 * PAD) / max(1, len(points) - 1)

    def xy(i: int, v: float) -> str:
        y = HEIGHT - PAD - (v - lo) / span * (HEIGHT - 2 * PAD)
        return f"{PAD + i * step:.1f},{y:.1f}"

    solid: list[str] = []
    dashed: list[str] = []
    for i, p in enumerate(points):
        if p.value is None:
            continue
        (dashed if p.immature or p.partial else solid).append(xy(i, p.value))
    if solid and dashed:
        dashed.insert(0, solid[-1])
    parts = [
        f'<svg class="spark" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" '
        f'role="img" aria-label="{escape(label)}">'
    ]
    if solid:
        parts.append(f'<polyline points="{" ".join(solid)}" stroke="{color}" />')
    if dashed:
        parts.append(
            f'<polyline points="{" ".join(dashed)}" stroke="{color}" stroke-dasharray="3 3" '
            'opacity="0.6" />'
        )
    if solid:
        x, y = solid[-1].split(",")
        parts.append(f'<circle cx="{x}" cy="{y}" r="2.6" fill="{color}" />')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (numbers, our colours, an escaped label)
