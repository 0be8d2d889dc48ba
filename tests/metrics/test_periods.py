"""Periods: the warehouse's grouping (ibis → DuckDB) and Python's labels and spines agree."""

from __future__ import annotations

import datetime as dt

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revteam.metrics import periods

CON = ibis.duckdb.connect()


@settings(max_examples=60, deadline=None)
@given(
    moments=st.lists(
        st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2060, 12, 31)), min_size=1, max_size=20
    ),
    grain=st.sampled_from(periods.GRAINS),
    fy=st.integers(1, 12),
)
def test_sql_truncation_matches_python_floor(
    moments: list[dt.datetime], grain: str, fy: int
) -> None:
    t = ibis.memtable({"ts": moments}, schema={"ts": "timestamp"})
    expr = t.select(p=periods.truncate(t.ts, grain, fy))  # type: ignore[arg-type]
    got = CON.to_pyarrow(expr).column("p").to_pylist()
    assert got == [periods.floor(m.date(), grain, fy) for m in moments]  # type: ignore[arg-type]


@given(
    day=st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)),
    grain=st.sampled_from(periods.GRAINS),
    fy=st.integers(1, 12),
)
def test_a_period_contains_its_days(day: dt.date, grain: str, fy: int) -> None:
    start = periods.floor(day, grain, fy)  # type: ignore[arg-type]
    assert start <= day < periods.end(start, grain)  # type: ignore[arg-type]
    assert periods.floor(start, grain, fy) == start  # type: ignore[arg-type]
    assert periods.shift(periods.shift(start, grain, 3), grain, -3) == start  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("day", "grain", "fy", "label"),
    [
        (dt.date(2025, 3, 14), "day", 1, "2025-03-14"),
        (dt.date(2025, 3, 10), "week", 1, "2025-W11"),
        (dt.date(2024, 12, 30), "week", 1, "2025-W01"),
        (dt.date(2025, 3, 1), "month", 7, "2025-03"),
        (dt.date(2025, 1, 1), "quarter", 1, "2025-Q1"),
        (dt.date(2024, 7, 1), "quarter", 7, "FY2025-Q1"),
        (dt.date(2025, 4, 1), "quarter", 7, "FY2025-Q4"),
        (dt.date(2025, 2, 1), "year", 2, "FY2026"),
        (dt.date(2025, 1, 1), "year", 1, "2025"),
    ],
)
def test_labels(day: dt.date, grain: str, fy: int, label: str) -> None:
    assert periods.label(day, grain, fy) == label  # type: ignore[arg-type]


def test_year_ago_and_spine() -> None:
    assert periods.year_ago(dt.date(2025, 3, 1), "month") == dt.date(2024, 3, 1)
    assert periods.year_ago(dt.date(2025, 3, 10), "week") == dt.date(2024, 3, 11)
    assert periods.spine(dt.date(2025, 11, 1), dt.date(2026, 2, 1), "month") == [
        dt.date(2025, 11, 1),
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert periods.floor(dt.date(2025, 1, 15), "quarter", 2) == dt.date(2024, 11, 1)
