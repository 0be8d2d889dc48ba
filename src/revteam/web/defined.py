"""``defined_on``: any number of the API as the definitions stood on a past day.

A request's cache key and computation (``Runtime.read``) become the same computation over
``ws.defined_on(day)`` — the metrics and statistics with the definitions both teams had agreed
by the end of that day (docs/definitions.md) — under a key of their own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Annotated, TypeVar

from fastapi import Query

from revteam.metrics.request import check_year
from revteam.settings import Settings
from revteam.workspace import Workspace

T = TypeVar("T")
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
    check_year(day, "defined_on", settings.plausible_years)
    key, compute = request
    return ("defined-on", day.isoformat(), key), lambda ws: compute(ws.defined_on(day))
