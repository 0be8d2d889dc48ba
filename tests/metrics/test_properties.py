"""Invariants of every result, whatever the metric, dimension and grain (hypothesis)."""

from __future__ import annotations

from collections import defaultdict

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from revteam.metrics import GRAINS, shipped_catalogue
from revteam.workspace import Workspace

CATALOGUE = shipped_catalogue()
ADDITIVE = [
    s.id
    for s in CATALOGUE
    if s.kind in {"count", "sum"} or (s.kind == "snapshot" and s.aggregate in {"count", "sum"})
]
ABOVE_ONE = {"net_revenue_retention"}
"""Percentages that may pass 100%: expansion revenue outgrows what was up for renewal."""
RATES = [
    s.id
    for s in CATALOGUE
    if s.kind in {"ratio", "cohort_rate"} and s.unit == "percent" and s.id not in ABOVE_ONE
]
QUOTIENTS = [s.id for s in CATALOGUE if s.kind in {"ratio", "cohort_rate", "mean"}]
# A day grain over two years is fine but slow; the property does not depend on the grain.
COARSE = [g for g in GRAINS if g != "day"]
SETTINGS = settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def request(draw: st.DrawFn, metrics: list[str]) -> tuple[str, str, str]:
    metric = draw(st.sampled_from(metrics))
    dims = (*CATALOGUE.dimensions(metric), *CATALOGUE[metric].breakdowns)
    # grouped by attribution model there is no total: it would count each conversion per model
    dims = tuple(d for d in dims if d != "attribution_model")
    return metric, draw(st.sampled_from(dims)), draw(st.sampled_from(COARSE))


def by_period(ws: Workspace, metric: str, dim: str, grain: str) -> dict:
    groups: dict = defaultdict(list)
    totals = {}
    for row in ws.metrics.query(metric, by=dim, grain=grain).to_pylist():
        if row["is_total"]:
            totals[row["period"]] = row
        else:
            groups[row["period"]].append(row)
    assert totals, "no total rows"
    return {p: (totals[p], groups.get(p, [])) for p in totals}


@SETTINGS
@given(req=request(ADDITIVE))
def test_counts_and_sums_by_any_dimension_add_up_to_the_total(
    loaded: Workspace, req: tuple[str, str, str]
) -> None:
    metric, dim, grain = req
    for total, groups in by_period(loaded, metric, dim, grain).values():
        assert sum(g["value"] or 0 for g in groups) == pytest.approx(total["value"], abs=1e-6)
        assert sum(g["n"] or 0 for g in groups) == total["n"]


@SETTINGS
@given(req=request(RATES))
def test_rates_stay_between_zero_and_one(loaded: Workspace, req: tuple[str, str, str]) -> None:
    metric, dim, grain = req
    for total, groups in by_period(loaded, metric, dim, grain).values():
        for row in (total, *groups):
            assert row["value"] is None or 0.0 <= row["value"] <= 1.0, row


@SETTINGS
@given(req=request(QUOTIENTS))
def test_a_totals_ratio_is_the_sum_of_numerators_over_the_sum_of_denominators(
    loaded: Workspace, req: tuple[str, str, str]
) -> None:
    metric, dim, grain = req
    breakdown = dim in CATALOGUE[metric].breakdowns
    for total, groups in by_period(loaded, metric, dim, grain).values():
        num = sum(g["numerator"] or 0 for g in groups)
        assert num == pytest.approx(total["numerator"] or 0, rel=1e-9, abs=1e-6)
        if breakdown:
            # a breakdown splits the numerator only: every group shares the denominator
            assert all(g["denominator"] == total["denominator"] for g in groups)
            continue
        den = sum(g["denominator"] or 0 for g in groups)
        assert den == pytest.approx(total["denominator"] or 0, rel=1e-9, abs=1e-6)
        if den:
            assert total["value"] == pytest.approx(num / den, rel=1e-9)


def test_disqualification_reasons_add_up_to_the_rate(loaded: Workspace) -> None:
    rows = loaded.metrics.query(
        "disqualification_rate", by="disqualification_reason", grain="quarter"
    ).to_pylist()
    totals = {r["period"]: r["value"] for r in rows if r["is_total"]}
    sums: dict = defaultdict(float)
    reasons = set()
    for r in rows:
        if not r["is_total"]:
            sums[r["period"]] += r["value"] or 0.0
            reasons.add(r["disqualification_reason"])
    assert {"no_budget", "bad_fit", "competitor"} <= reasons
    for period, value in totals.items():
        assert sums[period] == pytest.approx(value or 0.0)
