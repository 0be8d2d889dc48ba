"""The generic engine: any ibis backend (Snowflake, BigQuery, …) runs the same catalogue.

No Snowflake or BigQuery exists here, so the generic path is run through an ibis backend that
does: PostgreSQL, opened by ibis itself (the engine is told to take it as a generic backend, so
revteam's own Postgres engine stays out of it): every KPI by quarter equals the DuckDB
workspace's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.engines.test_same_numbers import _rows, _same

import revteam
from revteam.exceptions import ConfigError
from revteam.storage.engine import engine_kind
from revteam.storage.ibis_engine import IbisWarehouse
from revteam.workspace import Workspace

pytestmark = pytest.mark.engines


def _equal_catalogue(want: Workspace, got: Workspace) -> int:
    ids = [spec.id for spec in want.metrics.list()]
    a, b = _rows(want, ids, []), _rows(got, ids, [])
    assert a.keys() == b.keys()
    compared = 0
    for key, row in a.items():
        for column in ("value", "numerator", "denominator", "n"):
            compared += row.get(column) is not None
            assert _same(row.get(column), b[key].get(column)), (key, column)
    return compared


def test_the_catalogue_through_the_ibis_postgres_backend(
    pg_ws: Workspace, duck_ws: Workspace, tmp_path: Path
) -> None:
    url = pg_ws.warehouse.url  # type: ignore[attr-defined]
    schema = pg_ws.warehouse.schema  # type: ignore[attr-defined]
    generic = url.replace("postgresql://", "postgres://", 1)
    generic += f"{'&' if '?' in generic else '?'}schema={schema}"
    engine = IbisWarehouse(generic)
    with revteam.open(pg_ws.root, read_only=True) as ws:
        ws.warehouse.close()
        ws.warehouse = engine  # the catalogue, statistics and the rest read through it
        assert ws.warehouse.dialect == "postgres"
        assert ws.warehouse.data_version == pg_ws.warehouse.data_version > 0
        assert _equal_catalogue(duck_ws, ws) > 1000


def test_snowflake_and_bigquery_urls_name_the_generic_engine() -> None:
    assert engine_kind("snowflake://me@acme-xy123/analytics/revteam?warehouse=WH") == "ibis"
    assert engine_kind("bigquery://my-project/revteam") == "ibis"
    assert engine_kind("ibis+trino://me@host:8080/hive/revteam") == "ibis"
    with pytest.raises(ConfigError, match="ibis\\+<backend>"):
        engine_kind("oracle://me@host/db")
    with pytest.raises(ConfigError, match="its own engine for duckdb"):
        engine_kind("ibis+duckdb:///tmp/x.duckdb")


def test_a_missing_backend_driver_names_the_extra(tmp_path: Path) -> None:
    pytest.importorskip("ibis")
    try:
        import snowflake.connector  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match=r"ibis-framework\[snowflake\]"):
            revteam.init(tmp_path / "ws", warehouse="snowflake://me@acme/db/schema?warehouse=W")
    else:  # pragma: no cover - the driver is not part of the test set-up
        pytest.skip("the Snowflake driver is installed here")
