"""``/customer-value``: retention at renewal, the customer-value fits and predicted value.

The fits and predictions are the API's (:mod:`revteam.web.routes.clv`, same cache keys) and
the retention numbers the catalogue's KPIs, so the page, ``/api/v1/clv`` and ``/api/v1/query``
cannot disagree. A model that cannot be fitted on the data says why in its place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from revteam.clv.models import sbg_survival
from revteam.exceptions import ClvError
from revteam.metrics.pages import RETENTION
from revteam.web.deps import PrincipalDep
from revteam.web.pages.render import Page, render_view
from revteam.web.routes.clv import (
    ClvRequest,
    fit_request,
    holdout_request,
    segments_request,
    triangle_request,
    value_request,
)
from revteam.web.runtime import Runtime

router = APIRouter(include_in_schema=False)
MODEL_WORDS = {
    "bg_nbd": "Repeat purchases (BG/NBD)",
    "gamma_gamma": "Spend per purchase (Gamma-Gamma)",
    "sbg": "Renewals (shifted-beta-geometric)",
}
DERIVED_WORDS = {
    "churn": "mean churn at a renewal, α/(α+β)",
    "purchase_rate": "mean purchase rate, r/α",
    "dropout": "drop-out chance after a purchase, a/(a+b)",
    "mean_spend": "mean spend per purchase, pγ/(q−1)",
}


def warm(runtime: Runtime) -> None:
    """The page's fits, predictions with intervals, triangle and holdout (seconds at 1M)."""
    _sections(Page(runtime))


@router.get("/customer-value", response_class=HTMLResponse)
def customer_value(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return render_view(
        request,
        "customer_value.html",
        principal,
        build=_sections,
        title="Customer value",
        nav="customer-value",
    )


def _sections(page: Page) -> dict[str, Any]:
    req = ClvRequest()
    fits: dict[str, dict[str, Any]] = {}
    for model in MODEL_WORDS:
        try:
            fits[model] = page.read(*fit_request(page.runtime, model, req))
        except ClvError as exc:
            fits[model] = {"error": str(exc)}
    try:
        found = page.read(*segments_request(page.runtime, req, intervals=True))
        segments, intervals_note = found["rows"], found["intervals_note"]
        segments_error = None
    except ClvError as exc:
        segments, segments_error, intervals_note = [], str(exc), None
    try:
        found = page.read(*value_request(page.runtime, "channel", req, 0.9))
        by_channel, value_note, value_error = found["rows"], found["intervals_note"], None
    except ClvError as exc:
        by_channel, value_note, value_error = [], None, str(exc)
    retention = page.read(
        ("clv-retention",),
        lambda ws: ws.metrics.query(list(RETENTION), grain="all", by=["segment"]).to_pylist(),
    )
    table: dict[str, dict[str, Any]] = {}
    for r in retention:
        name = "(all)" if r["is_total"] else (r["segment"] or "(none)")
        table.setdefault(name, {})[r["metric"]] = r["value"]
    cfg = page.runtime.settings.clv
    triangle = page.read(*triangle_request(page.runtime, "quarter", None))
    try:
        holdout = page.read(*holdout_request(page.runtime, 26, None))
        holdout_error = None
    except ClvError as exc:
        holdout, holdout_error = None, str(exc)
    depth = max((len(r["retained"]) for r in triangle), default=0)
    return {
        "holdout_spec": holdout_spec(holdout) if holdout else None,
        "triangle_spec": triangle_spec(triangle, fits["sbg"].get("params")),
        "holdout": holdout,
        "by_channel": by_channel,
        "value_error": value_error,
        "value_note": value_note,
        "clv_model": page.runtime.settings.clv.model,
        "holdout_error": holdout_error,
        "triangle": triangle,
        "depth": depth,
        "fits": fits,
        "model_words": MODEL_WORDS,
        "derived_words": DERIVED_WORDS,
        "segments": segments,
        "segments_error": segments_error,
        "intervals_note": intervals_note,
        "retention": table,
        "retention_metrics": RETENTION,
        "horizon": cfg.horizon_months,
        "discount": cfg.discount_rate,
        "margin": page.runtime.settings.gross_margin,
    }


PROJECTED = 2
"""Renewals past the data the fitted retention curve is drawn to."""


def triangle_spec(
    triangle: list[dict[str, Any]], sbg: dict[str, float] | None
) -> dict[str, Any] | None:
    """Each cohort's share still a customer after renewal k, and the sBG fit's S(k) dashed.

    The cohorts' curves should fan around the fitted one; a cohort far off it is a cohort
    the pooled model does not describe (a segment mix, a price change).
    """
    values = [
        {"renewal": k + 1, "series": r["cohort"], "retained": v, "customers": r["observed"][k]}
        for r in triangle
        for k, v in enumerate(r["retained"])
        if v is not None
    ]
    if not values:
        return None
    depth = max(v["renewal"] for v in values)
    cohorts = [r["cohort"] for r in triangle if any(v is not None for v in r["retained"])]
    # every cohort starts whole, so its first renewal is drawn as a line
    values += [
        {"renewal": 0, "series": r["cohort"], "retained": 1.0, "customers": r["customers"]}
        for r in triangle
        if r["cohort"] in cohorts
    ]
    fitted = "Fitted (sBG)"
    # the fit drawn two renewals past the data: where it projects retention to go
    reach = depth + PROJECTED
    if sbg is not None:
        curve = sbg_survival([sbg["alpha"], sbg["beta"]], np.arange(0, reach + 1))
        values += [
            {"renewal": k, "series": fitted, "retained": float(v), "customers": None}
            for k, v in enumerate(curve)
        ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "width": "container",
        "height": 240,
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {
                "field": "renewal",
                "type": "quantitative",
                "title": "Renewal",
                "axis": {"values": list(range(reach + 1)), "format": "d"},
            },
            "y": {
                "field": "retained",
                "type": "quantitative",
                "title": "Share of the cohort still a customer",
                "axis": {"format": "%"},
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "title": "Acquired in",
                "sort": [*cohorts, fitted],
                "legend": {"orient": "right"},
            },
            "strokeDash": {
                "condition": {"test": f"datum.series === '{fitted}'", "value": [6, 4]},
                "value": [1, 0],
            },
        },
    }


def holdout_spec(holdout: dict[str, Any]) -> dict[str, Any] | None:
    """Predicted against actual repeat purchases in the holdout, by calibration frequency.

    Fader, Hardie & Lee's conditional-expectations plot.
    """
    values = [
        {"frequency": r["repeat_purchases"], "series": series, "purchases": r[key]}
        for r in holdout["rows"]
        if r["customers"]
        for series, key in (("Predicted", "predicted"), ("Actual", "actual"))
    ]
    if not values:
        return None
    order = [r["repeat_purchases"] for r in holdout["rows"]]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "width": "container",
        "height": 220,
        "mark": {"type": "line", "point": True, "tooltip": True},
        "encoding": {
            "x": {
                "field": "frequency",
                "type": "ordinal",
                "sort": order,
                "title": f"Repeat purchases before {holdout['calibration_end']}",
                "axis": {"labelAngle": 0},
            },
            "y": {
                "field": "purchases",
                "type": "quantitative",
                "title": "Repeat purchases after, per customer",
            },
            "color": {
                "field": "series",
                "type": "nominal",
                "title": None,
                "legend": {"orient": "top"},
            },
            "strokeDash": {"field": "series", "type": "nominal", "legend": None},
        },
    }
