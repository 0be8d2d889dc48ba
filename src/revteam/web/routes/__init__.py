"""The REST API under ``/api/v1``: one module per resource, one OpenAPI document."""

from __future__ import annotations

from revteam.web.routes import (
    alerts,
    attribution,
    clv,
    data,
    dimensions,
    forecast,
    goals,
    health,
    metrics,
    proposals,
    query,
    records,
    review,
    scoring,
    stats,
    timeline,
    tokens,
    users,
)

ROUTERS = (
    health.router,
    metrics.router,
    query.router,
    dimensions.router,
    records.router,
    goals.router,
    alerts.router,
    forecast.router,
    attribution.router,
    clv.router,
    scoring.router,
    review.router,
    proposals.router,
    stats.router,
    timeline.router,
    users.router,
    tokens.router,
    tokens.admin_router,
    data.router,
)

__all__ = ["ROUTERS"]
