"""Cohort rates over a generated company recover the rates planted in it (within sampling error).

The generator's truth holds the expected value of each windowed cohort rate, overall and by
channel (see ``revteam.generate.truth``). Mature cohorts are pooled from their parts
(Σ numerators ÷ Σ denominators) and compared with a 4-standard-error tolerance.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from revteam.generate import Company
from revteam.workspace import Workspace

Z = 4.0
COHORTS = [
    ("mql_rate", "lead_to_mql_90d", {}),
    # MQL cohorts before the planted drop in one campaign's qualification rate
    ("sales_qualification_rate", "mql_to_sql_60d", {"end": "2026-02-28"}),
    ("disqualification_rate", "disqualification_60d", {"end": "2026-02-28"}),
    ("sql_to_opportunity_rate", "sql_to_opportunity_90d", {}),
    ("win_rate", "win_rate", {"where": {"opportunity_type": "new_business"}}),
]


def pooled(ws: Workspace, metric: str, by: str, **options: Any) -> dict[str, tuple[float, float]]:
    """Σ numerator and Σ denominator of the mature rows, per dimension value and in total."""
    out: dict[str, list[float]] = {}
    for row in ws.metrics.query(metric, by=by, **options).to_pylist():
        if row["immature"]:
            continue
        key = "total" if row["is_total"] else row[by]
        parts = out.setdefault(key, [0.0, 0.0])
        parts[0] += row["numerator"] or 0.0
        parts[1] += row["denominator"] or 0.0
    return {k: (n, d) for k, (n, d) in out.items() if d}


def z_score(observed: float, expected: float, n: float) -> float:
    return (observed - expected) / math.sqrt(expected * (1 - expected) / n)


@pytest.mark.parametrize(("metric", "key", "options"), COHORTS, ids=[c[0] for c in COHORTS])
def test_cohort_rate_recovers_planted_rate(
    loaded: Workspace, company: Company, metric: str, key: str, options: dict[str, Any]
) -> None:
    rates = company.truth["rates"]
    parts = pooled(loaded, metric, "channel", **options)
    assert parts["total"][1] > 1000
    for channel, (num, den) in parts.items():
        expected = rates["overall" if channel == "total" else "by_channel"]
        want = (expected if channel == "total" else expected[channel])[key]
        assert abs(z_score(num / den, want, den)) < Z, (channel, num / den, want, den)


def test_planted_drop_in_qualification_rate_is_found(loaded: Workspace, company: Company) -> None:
    planted = company.truth["planted_change"]
    campaign = planted["campaign_id"]
    where = {"campaign": campaign}
    before = pooled(loaded, "sales_qualification_rate", "campaign", where=where, end="2026-02-28")[
        campaign
    ]
    after = pooled(
        loaded, "sales_qualification_rate", "campaign", where=where, start=planted["from"]
    )[campaign]
    assert abs(z_score(before[0] / before[1], planted["before"], before[1])) < Z
    assert abs(z_score(after[0] / after[1], planted["after"], after[1])) < Z
    assert after[0] / after[1] < 0.6 * before[0] / before[1]


def test_immature_cohorts_are_flagged_not_mixed(loaded: Workspace, company: Company) -> None:
    rows = loaded.metrics.query("mql_rate", as_of=company.as_of).to_pylist()
    immature = [r for r in rows if r["immature"]]
    # The last three months (window 90 days) are flagged, with the age of their youngest leads.
    assert [r["period_label"] for r in immature] == ["2026-08", "2026-09", "2026-10"]
    assert [r["age_days"] for r in immature] == [61, 31, 0]
    assert all(r["window_days"] == 90 for r in rows)
    mature = [r["value"] for r in rows if not r["immature"] and r["denominator"]]
    assert min(mature) > max(r["value"] for r in immature[-1:])


def test_speed_to_lead_recovers_each_sdrs_planted_median(
    loaded: Workspace, company: Company
) -> None:
    reps = company.truth["reps"]
    result = loaded.metrics.query(
        "speed_to_lead_hours", by="owner", grain="year", start="2025-01-01", end="2025-12-31"
    )
    checked = 0
    for row in result.to_pylist():
        rep = reps.get(row["owner"])
        if row["is_total"] or not rep or rep["role"] != "SDR":
            continue
        # log-normal with sigma 1: the sample median's log has sd about 1.25 / sqrt(n)
        se = 1.25 * company.truth["speed_to_lead"]["sigma"] / math.sqrt(row["n"])
        assert abs(math.log(row["value"] / rep["speed_to_lead_median_hours"])) < Z * se
        checked += 1
    assert checked >= 8


def test_median_new_deal_size_recovers_planted_median(loaded: Workspace, company: Company) -> None:
    sizes = company.truth["deal_size"]
    result = loaded.metrics.query(
        "median_deal_size", by="segment", grain="year", where={"opportunity_type": "new_business"}
    )
    for row in result.to_pylist():
        if row["is_total"] or not row["n"]:
            continue
        planted = sizes[row["segment"]]
        se = 1.25 * planted["sigma"] / math.sqrt(row["n"])
        assert abs(math.log(row["value"] / planted["median"])) < Z * se, row
