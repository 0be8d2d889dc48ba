"""Server-rendered pages (Jinja2): one module per area, all behind sign-in except ``/login``."""

from __future__ import annotations

from revteam.web.pages import (
    access,
    admin,
    alerts,
    analysis,
    attribution,
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
from revteam.web.pages.dashboards import warm as warm_views

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
    review.router,
    incentives.router,
    alerts.router,
    insights.router,
    definitions.router,
    timeline.router,
    admin.router,
)

__all__ = ["ROUTERS", "warm_views"]
