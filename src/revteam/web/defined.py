"""``defined_on``: any number of the API as the definitions stood on a past day.

A request's cache key and computation (``Runtime.read``) become the same computation over
``ws.defined_on(day)`` — the metrics and statistics with the definitions both teams had agreed
by the end of that day (docs/definitions.md) — under a key of their own. A route that does not
take ``defined_on`` refuses it (:func:`refuse_stray_defined_on`) rather than answering with
today's definitions as if it had been heard.
"""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Hashable
from typing import Annotated, Any, TypeVar

from fastapi import Query, Request

from revteam.exceptions import MetricQueryError
from revteam.metrics.request import check_year
from revteam.settings import Settings
from revteam.workspace import Workspace

T = TypeVar("T")
PARAMETER = "defined_on"
DefinedOn = Annotated[
    dt.date | None,
    Query(description="Compute with the definitions both teams had agreed by the end of this day."),
]


def defined(
    request: tuple[Hashable, Callable[[Workspace], T]], day: dt.date | None, settings: Settings
) -> tuple[Hashable, Callable[[Workspace], T]]:
    """``request`` as defined on ``day`` (unchanged without one)."""
    if day is None:
        return request
    check_year(day, PARAMETER, settings.plausible_years)
    key, compute = request
    return ("defined-on", day.isoformat(), key), lambda ws: compute(ws.defined_on(day))


def refuse_stray_defined_on(request: Request) -> None:
    """A ``defined_on`` query parameter on a route without one is a 400, never ignored.

    Every API route whose answer depends on a KPI's definition takes the parameter; on any
    other (a model fit on the raw data, users, tokens …) it would silently change nothing.
    """
    if PARAMETER not in request.query_params:
        return
    endpoint = request.scope.get("endpoint")
    if endpoint is not None and _takes_defined_on(endpoint):
        return
    raise MetricQueryError(
        PARAMETER,
        request.query_params[PARAMETER],
        f"no {PARAMETER} on {request.method} {request.url.path}: its answer does not depend "
        "on how a KPI is defined (POST /api/v1/query takes it in the JSON body; "
        "docs/definitions.md lists the routes that take it)",
    )


@functools.cache
def _takes_defined_on(endpoint: Callable[..., Any]) -> bool:
    return PARAMETER in inspect.signature(endpoint).parameters
