"""The Marketing↔Sales SLA's Sales side: MQLs worked within 1 and 24 hours, by rep.

The generator plants each SDR's own median speed to lead (log-normal around it, sigma 1), so
the share of an SDR's MQLs worked within N hours is Phi(ln(N / median) / sigma): the metric
layer's rates by owner, with their intervals, must recover it.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

from revteam.generate import Company
from revteam.workspace import Workspace

WINDOWS = {"mqls_worked_1h_rate": 1.0, "mqls_worked_24h_rate": 24.0}


def test_sla_rates_by_rep_recover_the_planted_speed(
    goals_ws: Workspace, goals_company: Company
) -> None:
    truth = goals_company.truth
    sigma = truth["speed_to_lead"]["sigma"]
    sdrs = {
        u: r["speed_to_lead_median_hours"] for u, r in truth["reps"].items() if r["role"] == "SDR"
    }
    result = goals_ws.metrics.query(
        list(WINDOWS),
        by="owner",
        grain="all",
        start=dt.date(2025, 1, 1),
        end=dt.date(2026, 9, 30),  # MQLs that have all had their day to be worked
        intervals=True,
    )
    checked = inside = 0
    for row in result.to_pylist():
        if row["is_total"] or row["owner"] not in sdrs:
            continue
        planted = NormalDist().cdf(math.log(WINDOWS[row["metric"]] / sdrs[row["owner"]]) / sigma)
        checked += 1
        inside += row["ci_low"] <= planted <= row["ci_high"]
    assert checked == 2 * len(sdrs) and len(sdrs) >= 4
    assert inside >= checked - max(1, checked // 10), f"{inside}/{checked}"


def test_not_worked_mqls_are_the_ones_without_a_sales_activity(
    goals_ws: Workspace, goals_company: Company
) -> None:
    people = goals_company.tables["people"].to_pylist()
    worked = {a["person_id"] for a in goals_company.tables["sales_activities"].to_pylist()}
    first = dt.datetime(2026, 10, 1)
    expected = {
        p["person_id"]
        for p in people
        if p["mql_at"] is not None and p["mql_at"] >= first and p["person_id"] not in worked
    }
    value = goals_ws.metrics.query(
        "mqls_not_worked", grain="all", start=first.date(), end=dt.date(2026, 10, 31)
    ).to_pylist()[0]["value"]
    records = goals_ws.metrics.records(
        "mqls_not_worked", start=first.date(), end=dt.date(2026, 10, 31)
    )
    assert value == len(expected) > 0
    assert set(records["person_id"].to_pylist()) == expected


def test_activities_after_the_as_of_time_are_not_known_yet(
    goals_ws: Workspace, goals_company: Company
) -> None:
    cut = dt.datetime(2026, 3, 31, 23, 59, 59)
    people = goals_company.tables["people"].to_pylist()
    mql_at = {p["person_id"]: p["mql_at"] for p in people if p["mql_at"] is not None}
    touched = {
        a["person_id"]
        for a in goals_company.tables["sales_activities"].to_pylist()
        if a["person_id"] in mql_at and mql_at[a["person_id"]] <= a["occurred_at"] <= cut
    }
    march = [
        p
        for p in people
        if p["mql_at"] is not None and dt.datetime(2026, 3, 1) <= p["mql_at"] <= cut
    ]
    expected = sum(1 for p in march if p["person_id"] not in touched)
    row = goals_ws.metrics.query(
        "mqls_not_worked",
        grain="all",
        start=dt.date(2026, 3, 1),
        end=dt.date(2026, 3, 31),
        as_of=cut,
    ).to_pylist()[0]
    assert row["value"] == expected > 0
