"""Pacing, checked the way a forecast is: freeze the data mid-period, project, compare.

The generated company plants growth, a weekly rhythm, seasons and holidays in its leads and
deals; a projection made on day 8, 15 or 23 of a month must hold the month's realised value
inside its 90% interval about 90% of the time (85 to 95% is asked), for counts, revenue and
cohort rates alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from revteam.generate import Company
from revteam.goals import Goal, GoalSpec, Pacer
from revteam.goals.model import check
from revteam.metrics import periods as P
from revteam.workspace import Workspace

SEGMENTS: list[dict[str, str]] = [
    {},
    {"channel": "paid_search"},
    {"channel": "organic_search"},
    {"channel": "events"},
]


def goal(ws: Workspace, metric: str, period: str, target: float, **more: object) -> Goal:
    spec = GoalSpec(metric, period, target, owners=["marketing", "sales"], **more)  # type: ignore[arg-type]
    return check(spec, ws.metrics.definitions)


def months(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day = P.shift(day, "month", 1)


@pytest.fixture(scope="module")
def pacer(goals_ws: Workspace) -> Pacer:
    return goals_ws.goals.pacer


def test_counts_and_revenue_intervals_cover_the_realised_values(
    goals_ws: Workspace, pacer: Pacer
) -> None:
    covered = total = 0
    for start in months(dt.date(2025, 12, 1), dt.date(2026, 9, 1)):
        label = P.label(start, "month")
        goals = [
            goal(goals_ws, m, label, 1, segment=s)
            for m in ("leads", "mqls", "revenue")
            for s in SEGMENTS
        ]
        last = P.end(start, "month") - dt.timedelta(days=1)
        realised = [p.actual for p in pacer.pace(goals, as_of=last)]
        for day in (8, 15, 23):
            for p, final in zip(
                pacer.pace(goals, as_of=start.replace(day=day)), realised, strict=True
            ):
                assert p.state == "running" and p.projected_low is not None
                assert p.projected_low <= p.projected <= p.projected_high  # type: ignore[operator]
                assert p.projected_low >= p.actual  # type: ignore[operator]  # counts only grow
                covered += p.projected_low <= final <= p.projected_high  # type: ignore[operator]
                total += 1
    assert total == 360
    assert 0.85 <= covered / total <= 0.95, f"{covered}/{total}"


def test_cohort_rate_intervals_cover_the_matured_rates(goals_ws: Workspace, pacer: Pacer) -> None:
    covered = total = 0
    for metric in ("sales_qualification_rate", "mql_rate"):
        window = goals_ws.metrics.get(metric).window_days or 0
        for start in months(dt.date(2025, 12, 1), dt.date(2026, 7, 1)):
            if P.end(start, "month") + dt.timedelta(days=window + 1) >= dt.date(2026, 10, 31):
                continue  # not matured by the end of the data: nothing to compare with
            goals = [
                goal(goals_ws, metric, P.label(start, "month"), 0.3, segment=s)
                for s in SEGMENTS[:3]
            ]
            realised = [p.actual for p in pacer.pace(goals)]
            assert all(p.state == "finished" for p in pacer.pace(goals))
            for days in (10, 20, 40, 60):
                paced = pacer.pace(goals, as_of=start + dt.timedelta(days=days))
                for p, final in zip(paced, realised, strict=True):
                    assert (
                        p.projected_low is not None
                        and 0 <= p.projected_low <= p.projected_high <= 1
                    )  # type: ignore[operator]
                    covered += p.projected_low <= final <= p.projected_high  # type: ignore[operator]
                    total += 1
    assert total >= 150
    assert 0.85 <= covered / total <= 0.95, f"{covered}/{total}"


def test_a_finished_months_actual_is_the_count_of_its_records(
    goals_ws: Workspace, goals_company: Company, pacer: Pacer
) -> None:
    people = goals_company.tables["people"].to_pylist()
    expected = sum(
        1 for p in people if p["created_at"] and p["created_at"].strftime("%Y-%m") == "2026-03"
    )
    paid = sum(
        1
        for p in people
        if p["created_at"]
        and p["created_at"].strftime("%Y-%m") == "2026-03"
        and p["channel"] == "paid_search"
    )
    whole, segment = pacer.pace(
        [
            goal(goals_ws, "leads", "2026-03", 1),
            goal(goals_ws, "leads", "2026-03", 1, segment=SEGMENTS[1]),
        ]
    )
    assert (whole.state, whole.actual, whole.projected) == ("finished", expected, expected)
    assert segment.actual == paid
    assert whole.projected_low == whole.projected_high == expected
    assert whole.probability == 1.0 and whole.status == "on_track"


def test_the_status_follows_the_chance_of_reaching_the_target(
    goals_ws: Workspace, pacer: Pacer
) -> None:
    as_of = dt.date(2026, 6, 15)
    (base,) = pacer.pace([goal(goals_ws, "leads", "2026-06", 1)], as_of=as_of)
    assert base.projected is not None and base.projected_low is not None
    assert base.projected_high is not None
    far_above, likely_met, midway = pacer.pace(
        [
            goal(goals_ws, "leads", "2026-06", base.projected_high * 1.3),
            goal(goals_ws, "leads", "2026-06", base.projected_low * 0.8),
            goal(goals_ws, "leads", "2026-06", round(base.projected)),
        ],
        as_of=as_of,
    )
    assert far_above.probability is not None and far_above.probability < 0.01
    assert far_above.status == "off_track" and likely_met.status == "on_track"
    assert midway.status == "at_risk" and 0.3 <= (midway.probability or 0) <= 0.7
    (lower,) = pacer.pace(
        [goal(goals_ws, "leads", "2026-06", base.projected_high * 1.3, direction="lower")],
        as_of=as_of,
    )
    assert lower.status == "on_track"  # fewer is better: far under the ceiling


def test_pacing_is_deterministic_and_draws_the_target_line(
    goals_ws: Workspace, pacer: Pacer
) -> None:
    g = goal(goals_ws, "revenue", "2026-Q2", 5_000_000, stretch=6_000_000)
    first = pacer.pace([g], as_of=dt.date(2026, 5, 10))[0]
    assert pacer.pace([g], as_of=dt.date(2026, 5, 10))[0] == first
    assert first.line[-1].target == pytest.approx(5_000_000)
    assert len(first.line) == 91 and first.line[0].day == dt.date(2026, 4, 1)
    today = next(p for p in first.line if p.day == dt.date(2026, 5, 10))
    assert today.actual == pytest.approx(first.actual)
    assert first.expected_to_date == pytest.approx(today.target)
    assert first.stretch_probability is not None
    assert first.stretch_probability <= (first.probability or 0)


def test_a_period_not_started_is_projected_whole(goals_ws: Workspace, pacer: Pacer) -> None:
    (p,) = pacer.pace([goal(goals_ws, "leads", "2026-09", 1)], as_of=dt.date(2026, 8, 20))
    assert p.state == "upcoming" and p.actual == 0
    assert p.projected_low is not None and p.projected_low > 0


def test_a_cohort_still_converting_is_not_finished(goals_ws: Workspace, pacer: Pacer) -> None:
    """The period is over, but its MQLs have had 10 of their 60 days: still a projection."""
    (p,) = pacer.pace(
        [goal(goals_ws, "sales_qualification_rate", "2026-05", 0.4)], as_of=dt.date(2026, 6, 10)
    )
    assert p.state == "running" and p.projected is not None
    assert p.actual is not None and p.projected > p.actual  # conversions still to come


def test_a_goal_whose_metric_left_the_catalogue_is_reported_alone(
    goals_ws: Workspace, pacer: Pacer
) -> None:
    from dataclasses import replace

    good = goal(goals_ws, "leads", "2026-06", 1)
    gone = replace(good, metric="retired_metric")
    paced = pacer.pace([gone, good], as_of=dt.date(2026, 6, 15))
    assert "no longer in the catalogue" in paced[0].method and paced[0].projected is None
    assert paced[1].projected is not None


def test_without_history_nothing_is_projected(goals_ws: Workspace, pacer: Pacer) -> None:
    """Before the data starts there is no run rate: no made-up certainty either way."""
    (p,) = pacer.pace([goal(goals_ws, "leads", "2024-11", 500)], as_of=dt.date(2024, 10, 20))
    assert p.projected is None and p.probability is None and p.status == "at_risk"
    assert "nothing in the year before" in p.method
