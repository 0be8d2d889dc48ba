"""``/forecast``: the sales forecast and pipeline health, for every signed-in role.

The report is the API's (:func:`revteam.web.routes.forecast.report_request`, same cache key),
so the page and ``/api/v1/forecast`` cannot disagree; the pipeline numbers in it are the
metric layer's KPIs and link to their records.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from revteam.goals.report import ForecastReport
from revteam.web.deps import FiltersDep, PrincipalDep
from revteam.web.pages.render import Page, render_view
from revteam.web.routes.forecast import report_request
from revteam.web.views.forecast import periods_chart, waterfall_chart

router = APIRouter(include_in_schema=False)
PERIODS = {"month": 3, "quarter": 2, "year": 1}
"""Periods shown per grain, from the one holding the as-of day."""
DEALS = 25


@router.get("/forecast", response_class=HTMLResponse)
def forecast(request: Request, principal: PrincipalDep, filters: FiltersDep) -> HTMLResponse:
    grain = filters.grain if filters.grain in PERIODS else "quarter"
    shown = filters.with_(grain=grain, by=None)

    def build(page: Page) -> dict[str, Any]:
        currency = page.runtime.settings.currency
        report: ForecastReport = page.read(
            *report_request(
                page.runtime,
                grain=grain,
                periods=PERIODS[grain],
                where=shown.where,
                deals=DEALS,
            )
        )
        return {
            "report": report,
            "data": report.as_dict(),
            "periods_chart": periods_chart(report, currency),
            "waterfall_chart": waterfall_chart(report, currency),
            "grain": grain,
            "grains": tuple(PERIODS),
            "level": page.runtime.settings.goals.level,
        }

    return render_view(
        request,
        "forecast.html",
        principal,
        build=build,
        title="Sales forecast",
        nav="forecast",
        filters=shown,
    )
