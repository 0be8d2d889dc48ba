"""Every KPIS.md metric equals an independent hand-written computation, total and by dimension."""

from __future__ import annotations

import datetime as dt
import re
from functools import cache
from typing import Any

import pytest
from tests.conftest import KPIS
from tests.metrics import reference
from tests.metrics.conftest import Ref

from revteam.generate import Company
from revteam.metrics import shipped_catalogue
from revteam.workspace import Workspace


def kpis_ids() -> list[str]:
    """Metric ids named in KPIS.md's tables (first column and "also `x`" mentions)."""
    text = KPIS.read_text(encoding="utf-8")
    ids = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            ids.add(line.split("`")[1])
            for also in re.findall(r"`(\w+)`", line.split("|")[4]):
                if also.startswith(("median_", "revenue_growth", "website_", "email_", "webinar_")):
                    ids.add(also)
    ids |= {"sales_cycle_days_mean", "social_likes", "social_shares", "social_comments"}
    return sorted(ids)


def test_every_kpis_metric_is_in_the_catalogue() -> None:
    missing = [m for m in kpis_ids() if m not in shipped_catalogue()]
    assert not missing
    assert len(kpis_ids()) >= 48


CASES: list[tuple[str, str | None]] = []
for _metric, (_, _dims) in reference.SQL.items():
    CASES += [(_metric, None), (_metric, next(iter(_dims)))]
for _metric, (_, _, _dims) in reference.COMPOSED.items():
    CASES += [(_metric, None), (_metric, next(iter(_dims)))]
# a second dimension where the path differs (a join instead of an own column)
CASES += [
    ("leads", "segment"),
    ("revenue", "channel"),
    ("mql_rate", "segment"),
    ("new_customers", "channel"),
    ("clv", "channel"),
    ("win_rate", "opportunity_type"),
]


TOTAL = object()
"""The dimension value of a grouped query's total rows in :meth:`Results.rows`."""


class Results:
    """One query per dimension with every metric tested on it (also exercises fusion)."""

    def __init__(self, ws: Workspace, as_of: dt.datetime) -> None:
        self.ws, self.as_of = ws, as_of

    @cache  # noqa: B019 - one instance per session
    def rows(self, dim: str | None) -> dict[tuple[str, dt.date, Any], float | None]:
        metrics = sorted(
            {m for m, d in CASES if d == dim} | (_DERIVED_PARTS if dim is None else set())
        )
        if dim is not None:
            metrics = [m for m in metrics if dim in self.ws.metrics.dimensions(m)]
        result = self.ws.metrics.query(metrics, by=(dim,) if dim else (), as_of=self.as_of)
        out = {}
        for r in result.to_pylist():
            # a grouped query's totals are keyed apart: a group's value may itself be None
            value = TOTAL if dim and r["is_total"] else (r[dim] if dim else None)
            out[(r["metric"], r["period"], value)] = r["value"]
        return out


_DERIVED_PARTS = {
    "revenue_growth_rate",
    "revenue_growth_yoy",
    "revenue",
    "opportunities_created",
    "win_rate",
    "avg_deal_size",
    "sales_cycle_days",
    "clv",
    "cac",
    "marketing_sourced_revenue",
    "marketing_cost",
}


@pytest.fixture(scope="module")
def results(loaded: Workspace, as_of: dt.datetime) -> Results:
    return Results(loaded, as_of)


def assert_same(
    actual: dict[tuple[dt.date, Any], float | None],
    expected: dict[tuple[dt.date, Any], float | None],
) -> None:
    assert expected, "the reference found nothing: the test would prove nothing"
    for key, want in sorted(expected.items(), key=str):
        got = actual.get(key)
        if want is None:
            assert got is None, key
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-6), key
    extra = {k: v for k, v in actual.items() if k not in expected and v not in (0, None)}
    assert not extra


@pytest.mark.parametrize(("metric", "dim"), CASES, ids=[f"{m}-{d or 'total'}" for m, d in CASES])
def test_metric_matches_reference(
    results: Results, ref: Ref, as_of: dt.datetime, metric: str, dim: str | None
) -> None:
    expected = reference.run(ref, metric, dim, as_of)
    rows = results.rows(dim)
    actual = {(p, d): v for (m, p, d), v in rows.items() if m == metric and d is not TOTAL}
    assert_same(actual, expected)
    if dim is not None:
        # the grouped query's totals (not sums of groups for medians, snapshots and cohorts)
        # equal the reference computed without the dimension
        totals = {(p, None): v for (m, p, d), v in rows.items() if m == metric and d is TOTAL}
        assert_same(totals, reference.run(ref, metric, None, as_of))


def _growth(rev: dict[tuple[dt.date, Any], float | None], months: int) -> dict:
    out = {}
    for (p, d), v in rev.items():
        prev_p = dt.date(p.year + (p.month - 1 - months) // 12, (p.month - 1 - months) % 12 + 1, 1)
        prev = rev.get((prev_p, d)) or 0.0
        out[(p, d)] = (v or 0.0) / prev - 1 if prev else None
    return out


def test_growth_rates_match_reference(results: Results, ref: Ref, as_of: dt.datetime) -> None:
    rev = reference.run(ref, "revenue", None, as_of)
    rows = results.rows(None)
    for metric, months in (("revenue_growth_rate", 1), ("revenue_growth_yoy", 12)):
        result = {(p, None): v for (m, p, _), v in rows.items() if m == metric}
        assert_same(result, _growth(rev, months))


def _combine(ref: Ref, as_of: dt.datetime, dim: str | None, parts: list[str], fn) -> dict:
    values = {p: reference.run(ref, p, dim, as_of) for p in parts}
    keys = set().union(*(v.keys() for v in values.values()))
    out = {}
    for key in keys:
        vals = [values[p].get(key) for p in parts]
        out[key] = fn(*vals)
    return out


def _div(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else a / b


DERIVED_CASES = {
    "pipeline_velocity": (
        ["opportunities_created", "win_rate", "avg_deal_size", "sales_cycle_days"],
        lambda n, w, s, c: None if None in (w, s) else _div((n or 0) * w * s, c),
        "segment",
    ),
    "clv_to_cac": (["clv", "cac"], _div, "channel"),
    "marketing_roi": (
        ["marketing_sourced_revenue", "marketing_cost"],
        lambda r, c: _div((r or 0) * 0.8 - (c or 0), c),
        "channel",
    ),
}


@pytest.mark.parametrize("metric", sorted(DERIVED_CASES))
@pytest.mark.parametrize("grouped", [False, True])
def test_derived_metric_matches_its_reference_parts(
    loaded: Workspace, ref: Ref, as_of: dt.datetime, metric: str, grouped: bool
) -> None:
    parts, fn, dim = DERIVED_CASES[metric]
    by = dim if grouped else None
    expected = _combine(ref, as_of, by, parts, fn)
    result = loaded.metrics.query(metric, by=(by,) if by else (), as_of=as_of)
    actual = {
        (r["period"], r[by] if by else None): r["value"]
        for r in result.to_pylist()
        if not (by and r["is_total"])
    }
    assert_same(
        actual,
        {k: v for k, v in expected.items() if v is not None}
        | {k: None for k, v in expected.items() if v is None and k in actual},
    )
    if by:
        totals = {(r["period"], None): r["value"] for r in result.to_pylist() if r["is_total"]}
        whole = _combine(ref, as_of, None, parts, fn)
        assert_same(
            totals,
            {k: v for k, v in whole.items() if v is not None}
            | {k: None for k, v in whole.items() if v is None and k in totals},
        )


def test_default_as_of_is_the_latest_event(loaded: Workspace, company: Company) -> None:
    latest = max(
        max(v for v in company.tables[t].column(c).to_pylist() if v is not None)
        for t, cols in {
            "people": ("created_at", "mql_at", "customer_at"),
            "opportunities": ("created_at", "closed_at"),
            "touchpoints": ("occurred_at",),
            "email_events": ("occurred_at",),
            "sales_activities": ("occurred_at",),
            "orders": ("ordered_at",),
        }.items()
        for c in cols
    )
    assert loaded.metrics.as_of() == latest
    assert latest < company.as_of
