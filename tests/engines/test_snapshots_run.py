"""The golden SQL snapshots are executed, not only stored: DuckDB's and Postgres's agree.

Each metric's stored statements (``tests/metrics/snapshots``) run as written, the DuckDB ones
on DuckDB and the Postgres ones on PostgreSQL, over the same company: every statement gives
the same rows. The attributed and predicted-value snapshots read tables the metric layer
supplies at query time (credit, customer value), so they run through the engine comparison
instead (``test_same_numbers``).
"""

from __future__ import annotations

import decimal
import math
import re
from pathlib import Path
from typing import Any

import pytest

from revteam.workspace import Workspace

pytestmark = pytest.mark.engines

SNAPSHOTS = Path(__file__).parents[1] / "metrics" / "snapshots"
SUPPLIED = re.compile(r"_credits_|clv_values")
RENEWALS = {
    "churn_rate",
    "gross_revenue_retention",
    "logo_retention_rate",
    "net_revenue_retention",
    "renewals_due",
}
"""No renewal falls due in the snapshots' 2025: the company's first deals are won that year."""
NAMES = sorted(
    p.stem
    for p in (SNAPSHOTS / "postgres").glob("*.sql")
    if not SUPPLIED.search(p.read_text(encoding="utf-8"))
)


def statements(dialect: str, name: str) -> list[str]:
    text = (SNAPSHOTS / dialect / f"{name}.sql").read_text(encoding="utf-8")
    return [s for s in re.split(r";\n(?=\n-- |\Z)", text.strip()) if s.strip()]


def _key(row: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple("" if v is None else f"{float(v):.6f}" if _number(v) else str(v) for v in row)


def _number(v: Any) -> bool:
    return isinstance(v, int | float | decimal.Decimal) and not isinstance(v, bool)


def _same(a: Any, b: Any) -> bool:
    if _number(a) and _number(b):
        return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
    return bool(a == b)


def test_every_snapshot_is_checked() -> None:
    assert len(NAMES) >= 70  # every non-supplied metric and request variant


@pytest.mark.parametrize("name", NAMES)
def test_the_stored_sql_runs_alike(name: str, duck_ws: Workspace, pg_ws: Workspace) -> None:
    duck, pg = statements("duckdb", name), statements("postgres", name)
    assert len(duck) == len(pg) >= 1
    rows_seen = 0
    for one, other in zip(duck, pg, strict=True):
        want = duck_ws.warehouse.arrow(one)
        got = pg_ws.warehouse.arrow(other)
        assert want.column_names == got.column_names
        a = sorted((tuple(r.values()) for r in want.to_pylist()), key=_key)
        b = sorted((tuple(r.values()) for r in got.to_pylist()), key=_key)
        assert len(a) == len(b)
        for ra, rb in zip(a, b, strict=True):
            assert all(_same(x, y) for x, y in zip(ra, rb, strict=True)), (ra, rb)
        rows_seen += len(a)
    assert rows_seen > 0 or name in RENEWALS
