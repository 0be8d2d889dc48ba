"""``/attribution``: every model's credit side by side, for one conversion and segment kind.

The numbers are the API's (:func:`revteam.web.routes.attribution.attribution_request`, same
cache key), so the page and ``/api/v1/attribution`` cannot disagree. The workspace's model (the
one attributed KPIs use) is marked; with intervals each credit shows its bootstrap interval.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from revteam.attribution import MODELS, Attribution
from revteam.exceptions import MetricQueryError
from revteam.web.deps import PrincipalDep
from revteam.web.pages.render import Page, render_view
from revteam.web.routes.attribution import (
    AttributionRequest,
    ByName,
    ConversionName,
    attribution_request,
    budget_request,
    sourcing_request,
)
from revteam.web.runtime import Runtime

router = APIRouter(include_in_schema=False)
CONVERSION_WORDS = {
    "lead": "Leads",
    "mql": "MQLs",
    "sql": "SQLs",
    "opportunity": "Opportunities created",
    "won": "Deals won",
    "customer": "New customers",
}
MODEL_WORDS = {
    "first_touch": "First touch",
    "last_touch": "Last touch",
    "last_non_direct": "Last non-direct",
    "linear": "Linear",
    "time_decay": "Time decay",
    "u_shaped": "U-shaped",
    "w_shaped": "W-shaped",
    "markov": "Markov",
    "shapley": "Shapley",
}


def table_rows(results: list[Attribution]) -> list[dict[str, Any]]:
    """One row per segment: each model's credit, amount and interval, largest first."""
    label = results[0].by
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        for row in r.rows:
            seg = out.setdefault(
                row[label],
                {"segment": row[label], "name": row.get("campaign_name"), "models": {}},
            )
            seg["models"][r.model] = row
    return sorted(
        out.values(),
        key=lambda s: -sum(m["credit"] for m in s["models"].values()),
    )


def chart_spec(results: list[Attribution], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Each segment's share of credit under each model (grouped bars; top 12 segments)."""
    values = [
        {
            "segment": f"{s['name']} ({s['segment']})"[:48] if s["name"] else str(s["segment"]),
            "model": MODEL_WORDS[m],
            "share": row["share"],
        }
        for s in rows[:12]
        for m, row in s["models"].items()
    ]
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "data": {"values": values},
        "mark": {"type": "bar", "tooltip": True},
        "height": {"step": 9},
        "width": "container",
        "encoding": {
            "y": {"field": "segment", "type": "nominal", "sort": None, "title": None},
            "yOffset": {"field": "model", "sort": [MODEL_WORDS[m] for m in MODELS]},
            "x": {
                "field": "share",
                "type": "quantitative",
                "axis": {"format": "%"},
                "title": "Share of credit",
            },
            "color": {
                "field": "model",
                "type": "nominal",
                "sort": [MODEL_WORDS[m] for m in MODELS],
                "title": "Model",
            },
        },
    }


def warm(runtime: Runtime) -> None:
    """The workspace model's credit, which every attributed KPI (the Campaigns page) reads.

    Computed through an attributed query, so under the query's own as-of time; the credit is
    then kept per process (see ``AttributionComponent.credit_rows``), past idle reopens.
    """
    model = runtime.settings.attribution.model
    runtime.read(
        ("warm-attribution", model),
        lambda ws: ws.metrics.query(["attributed_revenue"], grain="all").table.num_rows,
    )


@router.get("/attribution", response_class=HTMLResponse)
def attribution_page(
    request: Request,
    principal: PrincipalDep,
    conversion: ConversionName = "opportunity",
    by: ByName = "channel",
    start_text: Annotated[str, Query(alias="start", max_length=10)] = "",
    end_text: Annotated[str, Query(alias="end", max_length=10)] = "",
    intervals: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    # the form sends empty dates when none is chosen: empty means the whole history
    start, end = _day(start_text, "start"), _day(end_text, "end")
    req = AttributionRequest(MODELS, conversion, by, start, end, None, None, None, intervals)

    def build(page: Page) -> dict[str, Any]:
        results: list[Attribution] = page.read(*attribution_request(page.runtime, req))
        rows = table_rows(results)
        first = results[0]
        sourcing = page.read(*sourcing_request(page.runtime, start, end, None))
        budget: list[dict[str, Any]] = []
        if by == "campaign":
            budget = page.read(*budget_request(page.runtime, None, "all", start, end, None))
            budget = sorted(budget, key=lambda r: -(r["spend"] or 0.0))[:25]
        return {
            "results": results,
            "rows": rows,
            "first": first,
            "models": MODELS,
            "model_words": MODEL_WORDS,
            "active": page.runtime.settings.attribution.model,
            "conversion": conversion,
            "conversions": CONVERSION_WORDS,
            "by": by,
            "start": start,
            "end": end,
            "intervals": intervals,
            "chart_spec": chart_spec(results, rows),
            "notes": sorted({n for r in results for n in r.notes}),
            "money": first.amount > 0,
            "sourcing": sourcing,
            "budget": budget,
        }

    return render_view(
        request,
        "attribution.html",
        principal,
        build=build,
        title="Attribution",
        nav="attribution",
    )


def _day(text: str, name: str) -> dt.date | None:
    if not text.strip():
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise MetricQueryError(name, text, "a day, YYYY-MM-DD") from None
