"""The SLA page: both sides, each with its owners; numbers equal the KPIs elsewhere."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tests.web.conftest import TestClient

from revteam.goals import GoalSpec
from revteam.metrics import periods as P
from revteam.web.pages.render import Page


def test_both_sides_and_the_reps_equal_the_metric_layer(
    app: Any, browser_of: dict[str, TestClient]
) -> None:
    viewer = browser_of["viewer"]
    r = viewer.get("/sla", params={"period": "12m"})
    assert r.status_code == 200, r.text[:500]
    html = r.text
    assert "Marketing&#39;s side" in html or "Marketing's side" in html
    for metric in ("mqls", "mqls_worked_1h_rate", "mqls_worked_24h_rate", "mqls_not_worked"):
        assert f'data-metric="{metric}"' in html
    # The rep table: each cell is the metric layer's value over the same range by owner.
    m = re.search(r"By rep · (\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)", html)
    assert m is not None
    start, end = m.groups()
    first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    rows = app.state.runtime.read(
        ("test-sla", start, end),
        lambda ws: ws.metrics.query(
            "mqls_worked_24h_rate", by="owner", grain="all", start=first, end=last
        ).to_pylist(),
    ).value
    expected = {r["owner"]: r["value"] for r in rows if not r["is_total"] and r["owner"]}
    shown = dict(
        re.findall(
            r'data-owner="([^"]+)".*?data-metric="mqls_worked_24h_rate" data-value="([^"]*)"',
            html,
            flags=re.S,
        )
    )
    assert expected and set(shown) >= set(expected)
    for owner, value in expected.items():
        assert float(shown[owner]) == value


def test_a_goal_on_the_sla_shows_on_its_side(app: Any, browser_of: dict[str, TestClient]) -> None:
    runtime = app.state.runtime
    quarter = P.label(P.floor(Page(runtime).as_of().date(), "quarter"), "quarter")
    goal = runtime.goals.set(GoalSpec("mqls_worked_24h_rate", quarter, "95%"))
    try:
        html = browser_of["viewer"].get("/sla").text
        assert f'data-goal="{goal.id}"' in html
    finally:
        runtime.goals.delete(goal.id)
