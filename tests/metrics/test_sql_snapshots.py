"""The compiled SQL of every catalogue metric, per dialect, against stored snapshots.

A change in the SQL shows up as a diff in review. Regenerate after an intended change with
``UPDATE_SNAPSHOTS=1 python -m pytest tests/metrics/test_sql_snapshots.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from revteam.metrics import compile_sql, shipped_catalogue

SNAPSHOTS = Path(__file__).parent / "snapshots"
DIALECTS = ("duckdb", "postgres", "snowflake")
# Not REVTEAM_*: the root conftest clears those so a developer's shell cannot leak into tests.
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
OPTIONS = {"as_of": "2026-06-30", "start": "2025-01-01", "end": "2025-12-31"}
METRICS = shipped_catalogue().ids
VARIANTS = {
    "cac_by_channel_where": {
        "metrics": ["cac"],
        "by": "channel",
        "where": {"channel": ["email", None]},
    },
    "mql_rate_by_segment_fiscal_quarter": {
        "metrics": ["mql_rate"],
        "by": "segment",
        "grain": "quarter",
        "fiscal_year_start_month": 2,
    },
    "disqualification_reasons": {
        "metrics": ["disqualification_rate"],
        "by": ["channel", "disqualification_reason"],
    },
    "open_pipeline_by_owner_weekly": {"metrics": ["open_pipeline"], "by": "owner", "grain": "week"},
    "sales_cycle_days_by_segment": {"metrics": ["sales_cycle_days"], "by": "segment"},
    "revenue_growth_yoy_by_segment": {"metrics": ["revenue_growth_yoy"], "by": "segment"},
}


def check(name: str, dialect: str, sql: str) -> None:
    path = SNAPSHOTS / dialect / f"{name}.sql"
    if UPDATE or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sql + "\n", encoding="utf-8")
        if not UPDATE:
            pytest.fail(f"new snapshot written: {path}; check it in")
    assert sql + "\n" == path.read_text(encoding="utf-8"), (
        f"{path} differs; rerun with UPDATE_SNAPSHOTS=1 if the change is intended"
    )


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("metric", METRICS)
def test_metric_sql(metric: str, dialect: str) -> None:
    check(metric, dialect, compile_sql(metric, dialect=dialect, **OPTIONS))


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_request_variant_sql(name: str, dialect: str) -> None:
    options = dict(VARIANTS[name])
    metrics = options.pop("metrics")
    check(f"_{name}", dialect, compile_sql(metrics, dialect=dialect, **OPTIONS, **options))


def test_no_orphan_snapshots() -> None:
    expected = {f"{m}.sql" for m in METRICS} | {f"_{v}.sql" for v in VARIANTS}
    for dialect in DIALECTS:
        found = {p.name for p in (SNAPSHOTS / dialect).glob("*.sql")}
        assert found <= expected, f"stale snapshots in {dialect}: {sorted(found - expected)}"


def test_compiled_sql_is_deterministic() -> None:
    first = compile_sql(METRICS, dialect="duckdb", **OPTIONS)
    assert first == compile_sql(METRICS, dialect="duckdb", **OPTIONS)


def test_user_values_are_literals_not_sql(tmp_path: Path) -> None:
    sql = compile_sql(
        "leads",
        by="campaign",
        where={"campaign": "x'); DROP TABLE people; --"},
        dialect="duckdb",
        **OPTIONS,
    )
    assert "'x''); DROP TABLE people; --'" in sql
