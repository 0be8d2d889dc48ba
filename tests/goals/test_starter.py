"""Starter goals (what the demo ships): last year's values, and the planted drop off track."""

from __future__ import annotations

import datetime as dt

from revteam.generate import Company
from revteam.goals.model import check
from revteam.goals.starter import STARTER_METRICS, starter_goals
from revteam.metrics import periods as P
from revteam.workspace import Workspace


def test_starter_goals_are_last_years_values_and_show_the_planted_drop(
    goals_ws: Workspace, goals_company: Company
) -> None:
    planted = goals_company.truth["planted_change"]
    segment = {"channel": planted["channel"]}
    specs = starter_goals(goals_ws.metrics, growth=0.5, segments={planted["metric"]: segment})
    as_of = goals_ws.metrics.as_of().date()
    quarter = P.label(P.floor(as_of, "quarter"), "quarter")
    assert [s.metric for s in specs] == [*STARTER_METRICS, planted["metric"]]
    assert {s.period for s in specs} == {quarter}
    # A count's target is its value a year earlier, grown by half, to two significant figures.
    year_ago = P.year_ago(P.floor(as_of, "quarter"), "quarter")
    leads = goals_ws.metrics.query(
        "leads", grain="all", start=year_ago, end=P.end(year_ago, "quarter") - dt.timedelta(days=1)
    ).to_pylist()[0]["value"]
    target = next(s.target for s in specs if s.metric == "leads")
    assert abs(float(target) - 1.5 * leads) <= 0.05 * 1.5 * leads
    goals = [check(s, goals_ws.metrics.definitions) for s in specs]
    paced = {(p.goal.metric, p.goal.segment): p for p in goals_ws.goals.pacer.pace(goals)}
    dropped = paced[(planted["metric"], tuple(segment.items()))]
    # The channel's SQR a year ago was before the drop; this quarter's cohort cannot reach it.
    before = goals_ws.metrics.query(
        planted["metric"],
        grain="all",
        start=year_ago,
        end=P.end(year_ago, "quarter") - dt.timedelta(days=1),
        where={k: [v] for k, v in segment.items()},
    ).to_pylist()[0]["value"]
    assert dropped.goal.target == round(before, 2)
    assert year_ago < dt.date.fromisoformat(planted["from"])  # held to its rate before the drop
    assert dropped.status == "off_track" and (dropped.probability or 0) < 0.05
    assert any(p.status == "on_track" for p in paced.values())
