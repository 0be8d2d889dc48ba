"""``/insights/{metric}``: how sure a KPI's moves are: anomalies, drivers, a shrunk ranking.

Every number is the API's: each section reads a request function of
:mod:`revteam.web.routes.stats` (same cache key, same computation) and links to the
``/api/v1/stats`` call it shows. A statistic that does not apply to the metric (ranking a
count, the drivers of a snapshot) or finds too little data says why instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from revteam.exceptions import StatsError, UnsupportedDimensionError
from revteam.metrics import periods as P
from revteam.metrics.format import delta
from revteam.metrics.request import where_text
from revteam.web.deps import FiltersDep, PrincipalDep, RuntimeDep
from revteam.web.filters import ViewFilters
from revteam.web.pages.render import Page, render_view
from revteam.web.routes.stats import (
    StatsAnswer,
    StatsRequest,
    anomalies_request,
    drivers_request,
    rank_request,
)
from revteam.web.views.detail import default_by
from revteam.web.views.insights import anomaly_chart, drivers_chart, ranking_chart, trend_rows

router = APIRouter(include_in_schema=False)
TOP_DRIVERS = 8
"""Parts of a change drawn and listed; the rest are summed as smaller parts."""
TOP_RANKED = 20
"""Segments of the ranking shown; its JSON has them all."""
NAV = {"marketing": "marketing", "sales": "sales", "shared": "overview"}
"""The dashboard each owner's metrics live on."""
DASHBOARDS = {
    "marketing": "/marketing?metric={metric}#focus",
    "sales": "/sales?metric={metric}#focus",
    "shared": "/",
}


@dataclass(frozen=True)
class Section:
    """One statistic on the page: the API's answer, or why there is none, and the API call."""

    api: str
    answer: StatsAnswer | None = None
    reason: str = ""


def section(page: Page, make: Callable[[], StatsRequest], api: str) -> Section:
    """The answer of ``make()``'s request, or the reason a statistic says nothing here."""
    try:
        return Section(api, page.read(*make()))
    except (StatsError, UnsupportedDimensionError) as exc:
        return Section(api, reason=str(exc))


def api_url(statistic: str, metric: str, filters: ViewFilters, **params: object) -> str:
    """The ``/api/v1/stats`` call a section shows: its options and the view's filters."""
    pairs = [("metric", metric)]
    for key, value in params.items():
        if value is not None:
            pairs.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    pairs += [(d, v) for d, values in filters.where for v in where_text(values)]
    return f"/api/v1/stats/{statistic}?{urlencode(pairs)}"


def scored_from(
    first: dt.date, grain: P.Grain, fy_start: int, window: int, years: tuple[int, int]
) -> dt.date:
    """``window`` periods before the range: its first period is scored against a baseline too.

    Never before the plausible years, which the metric layer refuses.
    """
    start = P.shift(P.floor(first, grain, fy_start), grain, -window)
    return max(start, dt.date(years[0], 1, 1))


@router.get("/insights/{metric}", response_class=HTMLResponse)
def insights(
    request: Request,
    principal: PrincipalDep,
    runtime: RuntimeDep,
    filters: FiltersDep,
    metric: Annotated[str, Path(max_length=64)],
) -> HTMLResponse:
    catalogue = runtime.definitions.catalogue
    spec = catalogue[metric]  # an unknown metric is a 404 before any data is read
    dims = catalogue.dimensions(metric)
    by = filters.by if filters.by in dims else default_by(dims)
    shown = filters.with_(by=by)
    settings = runtime.settings

    def build(page: Page) -> dict[str, Any]:
        from revteam.stats.anomalies import WINDOWS
        from revteam.stats.drivers import LEVERS

        fy = settings.fiscal_year_start_month
        first, last = shown.range(page.as_of().date(), fy)
        grain, where = shown.grain, shown.where
        start = (
            None
            if first is None
            else scored_from(first, grain, fy, WINDOWS[grain], settings.plausible_years)
        )
        trend = section(
            page,
            lambda: anomalies_request(
                runtime, metric, grain=grain, start=start, end=last, where=where, all_periods=True
            ),
            api_url(
                "anomalies", metric, shown, grain=grain, start=start, end=last, all_periods=True
            ),
        )
        split = () if metric in LEVERS or by is None else (by,)
        drivers = section(
            page,
            lambda: drivers_request(runtime, metric, by=split, grain=grain, where=where),
            api_url("drivers", metric, shown, by=split[0] if split else None, grain=grain),
        )
        ranking = api_url("rank", metric, shown, by=by, start=first, end=last)
        if by is None:
            ranked = Section(ranking, reason=f"{spec.label} has no dimension to rank by.")
        else:
            dim = by
            ranked = section(
                page,
                lambda: rank_request(
                    runtime, metric, by=(dim,), start=first, end=last, where=where
                ),
                ranking,
            )
        currency = settings.currency
        since = None if first is None else first.isoformat()
        rows = trend_rows(trend.answer.rows, since) if trend.answer else []
        context: dict[str, Any] = {
            "spec": spec,
            "by": by,
            "dims": dims,
            "trend": trend,
            "trend_chart": anomaly_chart(
                rows, unit=spec.unit, owners=spec.owners, currency=currency
            ),
            "flagged": [r for r in rows if r.get("flagged")],
            "drivers": drivers,
            "drivers_chart": None,
            "ranked": ranked,
            "ranking_chart": None,
            "top_drivers": TOP_DRIVERS,
            "top_ranked": TOP_RANKED,
            "delta": delta,
            "dashboard": DASHBOARDS[spec.owners].format(metric=metric),
            "as_of": page.as_of(),
        }
        if drivers.answer is not None:
            context["drivers_chart"] = drivers_chart(
                drivers.answer.rows,
                drivers.answer.meta,
                unit=spec.unit,
                currency=currency,
                top=TOP_DRIVERS,
            )
        if ranked.answer is not None:
            context["ranking_chart"] = ranking_chart(
                ranked.answer.rows[:TOP_RANKED],
                ranked.answer.meta,
                unit=spec.unit,
                owners=spec.owners,
                currency=currency,
            )
        return context

    return render_view(
        request,
        "insights.html",
        principal,
        build=build,
        title=f"{spec.label} · insights",
        nav=NAV[spec.owners],
        filters=shown,
    )
