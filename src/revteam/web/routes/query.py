"""``/query``: compute metrics by period and dimension, with the Python API's options.

Results are cached by request and data version; pagination slices the cached result.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from revteam.metrics.columns import RESULT_COLUMNS
from revteam.metrics.request import check_year
from revteam.web.deps import PrincipalDep, RuntimeDep, WhereDep
from revteam.web.runtime import Cached, Runtime
from revteam.web.schemas import Grain, Offset, QueryIn, QueryOut, QueryRow, next_offset

router = APIRouter(prefix="/query", tags=["query"])
JSON = "application/json"
CORE = frozenset(RESULT_COLUMNS)


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def _rows(table_rows: list[dict[str, Any]], by: tuple[str, ...]) -> list[QueryRow]:
    out = []
    for r in table_rows:
        extra = {k: _clean(v) for k, v in r.items() if k not in CORE and k not in by}
        out.append(
            QueryRow(
                dimensions={d: r.get(d) for d in by},
                extra=extra,
                **{k: _clean(r.get(k)) for k in CORE},
            )
        )
    return out


def run_query(runtime: Runtime, body: QueryIn) -> QueryOut:
    where = tuple(sorted((d, tuple(v)) for d, v in body.where.items()))
    key = (
        "api-query",
        tuple(body.metrics),
        tuple(body.by),
        body.grain,
        body.start,
        body.end,
        where,
        body.as_of,
        body.totals,
        body.defined_on,  # the agreed definitions themselves are in the runtime's version
    )

    def compute(ws: Any) -> tuple[list[QueryRow], dt.datetime]:
        metrics = ws.metrics
        if body.defined_on is not None:
            metrics = metrics.using(ws.proposals.catalogue_on(body.defined_on))
        result = metrics.query(
            body.metrics,
            by=body.by,
            grain=body.grain,
            start=body.start,
            end=body.end,
            where={d: list(v) for d, v in where} or None,
            as_of=body.as_of,
            totals=body.totals,
        )
        return _rows(result.to_pylist(), tuple(result.query.by)), result.as_of

    found: Cached[tuple[list[QueryRow], dt.datetime]] = runtime.read(key, compute)
    rows, as_of = found.value
    page = rows[body.offset : body.offset + body.limit]
    return QueryOut(
        metrics=body.metrics,
        by=body.by,
        grain=body.grain,
        as_of=as_of,
        data_version=found.data_version,
        stale=found.stale,
        rows=page,
        total=len(rows),
        limit=body.limit,
        offset=body.offset,
        next_offset=next_offset(len(rows), body.limit, body.offset),
    )


def respond(runtime: Runtime, body: QueryIn) -> Response:
    """The answer as JSON bytes, cached with the result: a warm query costs no serialisation.

    What can be refused without data (unknown metric, a span over ``limits.max_periods``) is
    refused first, so a busy warehouse never turns a 400 into a 503.
    """
    check_year(body.defined_on, "defined_on", runtime.settings.plausible_years)
    runtime.definitions.check(
        body.metrics,
        {
            "by": body.by,
            "grain": body.grain,
            "start": body.start,
            "end": body.end,
            "where": {d: list(v) for d, v in body.where.items()},
        },
        totals=body.totals,
    )
    found = runtime.read(
        ("api-query-json", body.model_dump_json()),
        lambda ws: run_query(runtime, body).model_dump_json().encode(),
    )
    if found.stale:
        # Say so in the body (the cached bytes were fresh when made), from those bytes alone:
        # the result they were made from may have left the cache since.
        answer = QueryOut.model_validate_json(found.value).model_copy(update={"stale": True})
        return Response(answer.model_dump_json(), media_type=JSON)
    return Response(found.value, media_type=JSON)


@router.get("", response_model=QueryOut, summary="Query metrics (GET, shareable)")
def query_get(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    metrics: Annotated[
        list[str],
        Query(min_length=1, max_length=60, description="Metric ids (repeat the parameter)."),
    ],
    by: Annotated[list[str] | None, Query(max_length=3, description="Dimensions.")] = None,
    grain: Grain = "month",
    start: dt.date | None = None,
    end: dt.date | None = None,
    as_of: dt.date | None = None,
    defined_on: Annotated[
        dt.date | None,
        Query(description="Compute with the definitions agreed by the end of this day."),
    ] = None,
    totals: bool = True,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Offset = 0,
) -> Response:
    body = QueryIn(
        defined_on=defined_on,
        metrics=metrics,
        by=by or [],
        grain=grain,
        start=start,
        end=end,
        where={d: list(v) for d, v in where},
        as_of=as_of,
        totals=totals,
        limit=limit,
        offset=offset,
    )
    return respond(runtime, body)


@router.post("", response_model=QueryOut, summary="Query metrics (JSON body)")
def query_post(runtime: RuntimeDep, principal: PrincipalDep, body: QueryIn) -> Response:
    return respond(runtime, body)
