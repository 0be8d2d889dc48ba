"""``/customer-value``: retention at renewal, the customer-value fits and predicted value.

The fits and predictions are the API's (:mod:`revteam.web.routes.clv`, same cache keys) and
the retention numbers the catalogue's KPIs, so the page, ``/api/v1/clv`` and ``/api/v1/query``
cannot disagree. A model that cannot be fitted on the data says why in its place.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from revteam.exceptions import ClvError
from revteam.web.deps import PrincipalDep
from revteam.web.pages.render import Page, render_view
from revteam.web.routes.clv import (
    ClvRequest,
    fit_request,
    holdout_request,
    segments_request,
    triangle_request,
)

router = APIRouter(include_in_schema=False)
RETENTION = (
    "renewals_due",
    "logo_retention_rate",
    "churn_rate",
    "gross_revenue_retention",
    "net_revenue_retention",
)
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


@router.get("/customer-value", response_class=HTMLResponse)
def customer_value(request: Request, principal: PrincipalDep) -> HTMLResponse:
    req = ClvRequest()

    def build(page: Page) -> dict[str, Any]:
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
            "holdout": holdout,
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

    return render_view(
        request,
        "customer_value.html",
        principal,
        build=build,
        title="Customer value",
        nav="customer-value",
    )


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
