"""Server-rendered pages (Jinja2): one module per area, all behind sign-in except ``/login``."""

from __future__ import annotations

from revteam.web.pages import (
    access,
    admin,
    alerts,
    analysis,
    attribution,
    clv,
    dashboards,
    definitions,
    forecast,
    goals,
    incentives,
    insights,
    plan,
    records,
    review,
    scoring,
    sla,
    timeline,
)
from revteam.web.runtime import Runtime

ROUTERS = (
    access.router,
    dashboards.router,
    analysis.router,
    records.router,
    plan.router,  # before goals: /goals/plan is not /goals/{goal_id}
    goals.router,
    sla.router,
    forecast.router,
    attribution.router,
    clv.router,
    scoring.router,
    review.router,
    incentives.router,
    alerts.router,
    insights.router,
    definitions.router,
    timeline.router,
    admin.router,
)


def warm_views(runtime: Runtime) -> None:
    """The views a visitor opens first, and those slow to compute.

    The Overview, the funnel, the attribution credit, the customer-value models (their fits
    and predictions take seconds at 1M) and the lead score (most of a minute at 1M).
    """
    dashboards.warm(runtime)
    attribution.warm(runtime)
    clv.warm(runtime)
    scoring.warm(runtime)


__all__ = ["ROUTERS", "warm_views"]
