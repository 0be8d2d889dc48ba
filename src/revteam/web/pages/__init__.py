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
    review.router,
    incentives.router,
    alerts.router,
    insights.router,
    definitions.router,
    timeline.router,
    admin.router,
)


def warm_views(runtime: Runtime) -> None:
    """The views a visitor opens first: the Overview, the funnel, the attribution credit."""
    dashboards.warm(runtime)
    attribution.warm(runtime)


__all__ = ["ROUTERS", "warm_views"]
