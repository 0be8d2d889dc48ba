"""``/records``: the records behind a number (paged), and their CSV export."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from revteam.exceptions import MetricQueryError
from revteam.metrics.request import Where
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import PrincipalDep, RuntimeDep, WhereDep
from revteam.web.filters import ViewFilters
from revteam.web.pages.records import export_response
from revteam.web.schemas import Grain, RecordsOut, next_offset
from revteam.web.views import records

router = APIRouter(prefix="/records", tags=["records"])
MetricParam = Annotated[str, Query(min_length=1, max_length=64, description="Metric id.")]
PartParam = Annotated[
    Literal["auto", "numerator", "denominator"],
    Query(description="For a ratio of two metrics: which part's records."),
]
Start = Annotated[
    dt.date | None,
    Query(description="First day (default: 12 months back), widened to its period's start."),
]
End = Annotated[
    dt.date | None,
    Query(description="Last day, inclusive (default: as-of), widened to its period's end."),
]
GrainParam = Annotated[
    Grain, Query(description="Periods the records count in, as for /query (default month).")
]


def _filters(start: dt.date | None, end: dt.date | None, where: Where, grain: Grain) -> ViewFilters:
    if start and end and start > end:
        raise MetricQueryError("range", f"{start} .. {end}", "start on or before end")
    period = "custom" if start or end else "12m"
    return ViewFilters(period=period, grain=grain, start=start, end=end, where=where)


@router.get("", response_model=RecordsOut, summary="Records behind a number")
def list_records(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    start: Start = None,
    end: End = None,
    part: PartParam = "auto",
    grain: GrainParam = "month",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    defined_on: DefinedOn = None,
) -> RecordsOut:
    filters = _filters(start, end, where, grain)
    as_of = runtime.read(("as_of",), lambda ws: ws.metrics.as_of()).value.date()
    first, last = filters.range(as_of, runtime.settings.fiscal_year_start_month)
    req = records.RecordsRequest(metric, first, last, where, part, grain)
    settings = runtime.settings
    counting = (("records-total", req), lambda ws: records.count(ws, req))
    total = runtime.read(*defined(counting, defined_on, settings)).value
    paging = (
        ("records", req, offset, limit),
        lambda ws: records.page(ws, req, limit=limit, offset=offset, total=total),
    )
    found = runtime.read(*defined(paging, defined_on, settings)).value
    return RecordsOut(
        metric=metric,
        source=found.source,
        relation=found.relation,
        description=found.description,
        columns=list(found.columns),
        rows=list(found.rows),
        total=found.total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(found.total, limit, offset),
    )


@router.get(
    "/export",
    summary="Records behind a number, as CSV",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "CSV file"}},
)
def export_records(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metric: MetricParam,
    start: Start = None,
    end: End = None,
    part: PartParam = "auto",
    grain: GrainParam = "month",
) -> StreamingResponse:
    return export_response(runtime, metric, _filters(start, end, where, grain), part)
