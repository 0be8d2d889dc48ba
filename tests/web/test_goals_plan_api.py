"""The reverse funnel and the incentive plans through the REST API (read-only, cached)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.web.conftest import TestClient

from revteam.goals import GoalSpec
from revteam.goals.incentives import INCENTIVES_FILE
from revteam.metrics import periods as P
from revteam.web.pages.render import Page


def test_the_plan_is_keyed_by_metric_with_intervals(api: TestClient) -> None:
    r = api.get("/api/v1/goals/plan", params={"period": "2027-Q1", "target": 2_000_000})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert {"leads", "mqls", "sqls", "opportunities", "new_customers"} <= set(plan)
    for step in plan.values():
        assert step["low"] <= step["value"] <= step["high"]
    assert plan["leads"]["value"] > plan["mqls"]["value"] > plan["sqls"]["value"]
    assert (
        api.get("/api/v1/goals/plan", params={"period": "2027-W3", "target": 5}).status_code == 400
    )
    assert (
        api.get("/api/v1/goals/plan", params={"period": "2027-Q1", "target": -5}).status_code == 422
    )
    other = api.get(
        "/api/v1/goals/plan", params={"period": "2027-Q1", "target": 5, "metric": "leads"}
    )
    assert other.status_code == 422


def test_incentives_follow_the_file_and_the_goals(app: Any, api: TestClient) -> None:
    runtime = app.state.runtime
    assert api.get("/api/v1/goals/incentives").json() == []  # no incentives.yaml yet
    quarter = P.label(P.floor(Page(runtime).as_of().date(), "quarter"), "quarter")
    goal = runtime.goals.set(GoalSpec("sqls", quarter, 50))
    path = Path(runtime.root) / INCENTIVES_FILE
    path.write_text(
        f"plans:\n- name: Reps\n  team: sales\n  measures:\n"
        f"  - {{metric: sqls, period: {quarter}, weight: 1}}\n",
        encoding="utf-8",
    )
    try:
        (plan,) = api.get("/api/v1/goals/incentives").json()
        assert plan["plan"] == "Reps" and plan["shared_share"] == 1.0
        assert plan["measures"][0]["goal_id"] == goal.id
        (twice,) = api.get("/api/v1/goals/incentives", params={"what_if": "sqls=100"}).json()
        assert twice["measures"][0]["attainment_projected"] == 2.0
        assert twice["measures"][0]["payout_projected"] == 2.0  # the default cap
        bad = api.get("/api/v1/goals/incentives", params={"what_if": "sqls"})
        assert bad.status_code == 400 and "METRIC=VALUE" in bad.json()["message"]
    finally:
        path.unlink()
        runtime.goals.delete(goal.id)
