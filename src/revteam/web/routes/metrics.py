"""``/metrics``: the KPI catalogue, one metric's definition and its compiled SQL."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from revteam.metrics import MetricSpec
from revteam.web.deps import PrincipalDep, RuntimeDep, WhereDep
from revteam.web.schemas import MetricList, MetricOut, MetricSql, Offset, next_offset
from revteam.workspace import Workspace

router = APIRouter(prefix="/metrics", tags=["metrics"])
MetricId = Annotated[str, Path(max_length=64, description="Metric id, e.g. lead_conversion_rate")]


def metric_out(ws: Workspace, spec: MetricSpec) -> MetricOut:
    return MetricOut(
        id=spec.id,
        label=spec.label,
        description=spec.description,
        owners=spec.owners,
        kind=spec.kind,
        unit=spec.unit,
        direction=spec.direction,
        window_days=spec.window_days,
        table=spec.table,
        time=spec.time,
        dimensions=list(ws.metrics.catalogue.dimensions(spec.id)),
        breakdowns=list(spec.breakdowns),
        references=list(spec.references()),
        source=spec.source,
    )


@router.get("", response_model=MetricList, summary="List metrics")
def list_metrics(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    owners: Literal["marketing", "sales", "shared"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    offset: Offset = 0,
) -> MetricList:
    items = runtime.read(
        ("api-metrics", owners),
        lambda ws: [metric_out(ws, s) for s in ws.metrics.list(owners=owners)],
    ).value
    return MetricList(
        items=items[offset : offset + limit],
        total=len(items),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(items), limit, offset),
    )


@router.get("/{metric_id}", response_model=MetricOut, summary="Show one metric")
def show_metric(runtime: RuntimeDep, principal: PrincipalDep, metric_id: MetricId) -> MetricOut:
    return runtime.read(
        ("api-metric", metric_id), lambda ws: metric_out(ws, ws.metrics.get(metric_id))
    ).value


@router.get("/{metric_id}/sql", response_model=MetricSql, summary="The SQL a query runs")
def metric_sql(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    metric_id: MetricId,
    where: WhereDep,
    by: Annotated[list[str] | None, Query(max_length=3)] = None,
    grain: Literal["day", "week", "month", "quarter", "year"] = "month",
    dialect: Literal["duckdb", "postgres", "snowflake", "bigquery", "trino", "spark"] = "duckdb",
) -> MetricSql:
    key = ("api-sql", metric_id, tuple(by or ()), grain, where, dialect)
    sql = runtime.read(
        key,
        lambda ws: ws.metrics.sql(
            metric_id,
            by=by or (),
            grain=grain,
            where={d: list(v) for d, v in where} or None,
            dialect=dialect,
        ),
    ).value
    return MetricSql(metric=metric_id, dialect=dialect, sql=sql)
