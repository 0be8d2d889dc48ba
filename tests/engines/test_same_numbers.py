"""The whole catalogue gives the same numbers on DuckDB, PostgreSQL and Spark.

One generated company, loaded unchanged into each engine; every KPI of the catalogue for the
total and by a dimension: counts exactly, money and rates to 1e-9 relative. The metric layer
compiles the same ibis expressions for each engine's dialect; nothing else differs.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from revteam.workspace import Workspace

pytestmark = pytest.mark.engines

KEYS = ("metric", "period", "is_total")


def _dimension(ws: Workspace, metric: str) -> str:
    """The metric's main dimension: channel where it has one, else the first it offers."""
    offered = ws.metrics.dimensions(metric)
    return "channel" if "channel" in offered else offered[0]


def _rows(ws: Workspace, metrics: list[str], by: list[str]) -> dict[tuple[Any, ...], Any]:
    table = ws.metrics.query(metrics, grain="quarter", by=by)
    return {tuple(r.get(k) for k in (*KEYS, *by)): r for r in table.to_pylist()}


def _requests(ws: Workspace) -> list[tuple[list[str], list[str]]]:
    """Every KPI for the total, and by its main dimension: KPIs of one dimension asked together
    (the metric layer fuses them, as a dashboard's request would be)."""
    ids = [spec.id for spec in ws.metrics.list()]
    by_dimension: dict[str, list[str]] = {}
    for metric in ids:
        by_dimension.setdefault(_dimension(ws, metric), []).append(metric)
    return [(ids, []), *((metrics, [dim]) for dim, metrics in sorted(by_dimension.items()))]


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    if isinstance(a, int) and isinstance(b, int):
        return a == b
    if isinstance(a, float | int) or hasattr(a, "as_tuple"):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def _compare(duck: Workspace, other: Workspace) -> list[str]:
    problems: list[str] = []
    compared = 0
    for metrics, by in _requests(duck):
        want, got = _rows(duck, metrics, by), _rows(other, metrics, by)
        if want.keys() != got.keys():
            problems.append(f"by {by}: rows {sorted(want.keys() ^ got.keys(), key=str)[:3]}")
            continue
        for key, row in want.items():
            for column in ("value", "numerator", "denominator", "n"):
                compared += row.get(column) is not None
                if column in row and not _same(row[column], got[key][column]):
                    problems.append(f"{key}: {column} {row[column]} vs {got[key][column]}")
    assert compared > 5000, compared  # every KPI, by quarter, total and by a dimension
    assert {k[0] for k in want} <= set(metrics)
    return problems


def test_every_kpi_is_the_same_on_postgres(duck_ws: Workspace, pg_ws: Workspace) -> None:
    assert pg_ws.warehouse.dialect == "postgres"
    assert _compare(duck_ws, pg_ws) == []


@pytest.mark.spark
def test_every_kpi_is_the_same_on_spark(duck_ws: Workspace, spark_ws: Workspace) -> None:
    assert spark_ws.warehouse.dialect == "pyspark"
    assert _compare(duck_ws, spark_ws) == []
