"""The REST API under ``/api/v1``: one module per resource, one OpenAPI document."""

from __future__ import annotations

from revteam.web.routes import (
    data,
    dimensions,
    forecast,
    goals,
    health,
    metrics,
    query,
    records,
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
    forecast.router,
    users.router,
    tokens.router,
    tokens.admin_router,
    data.router,
)

__all__ = ["ROUTERS"]
