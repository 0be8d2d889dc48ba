"""The Forecast page and `/api/v1/forecast`: one report, its KPIs equal the metric layer's."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from tests.web.conftest import TestClient

from revteam.goals import GoalSpec
from revteam.metrics import periods as P
from revteam.web.pages.render import Page


def kpi(app: Any, metric: str, day: dt.date, **where: list[str]) -> float:
    rows = app.state.runtime.read(
        ("test-forecast-kpi", metric, day, tuple(sorted((k, tuple(v)) for k, v in where.items()))),
        lambda ws: ws.metrics.query(
            metric, grain="day", start=day, end=day, where=where or None
        ).to_pylist(),
    ).value
    return float(next(r["value"] for r in rows if r["is_total"]) or 0.0)


def test_the_api_report_adds_up_and_equals_the_kpis(app: Any, api: TestClient) -> None:
    r = api.get("/api/v1/forecast", params={"grain": "month", "periods": 3, "deals": 5})
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert [p["period"] for p in body["periods"]] == [
        P.label(P.shift(dt.date.fromisoformat(body["periods"][0]["start"]), "month", k), "month")
        for k in range(3)
    ]
    day = dt.date.fromisoformat(body["as_of"][:10])
    assert body["open_pipeline"] == pytest.approx(kpi(app, "open_pipeline", day))
    assert body["weighted_pipeline"] == pytest.approx(kpi(app, "weighted_pipeline", day))
    w = body["waterfall"]
    assert w["closing"] == pytest.approx(w["opening"] + w["created"] - w["won"] - w["lost"])
    assert w["closing"] == pytest.approx(body["open_pipeline"])
    for p in body["periods"]:
        assert p["expected_low"] <= p["expected_from_pipeline"] <= p["expected_high"]
        assert p["expected_total"] == pytest.approx(p["won_to_date"] + p["expected_from_pipeline"])
    assert len(body["deals"]) == 5
    assert all(0 < d["probability"] < 1 for d in body["deals"])
    assert [s["stage"] for s in body["stages"]] == [
        "qualification",
        "discovery",
        "proposal",
        "negotiation",
    ]
    assert body["model"]["deals"] >= 30
    # a segment keeps the deals open_pipeline counts for it
    seg = api.get("/api/v1/forecast", params={"channel": "paid_search", "deals": 0}).json()
    assert seg["open_pipeline"] == pytest.approx(
        kpi(app, "open_pipeline", day, channel=["paid_search"])
    )
    assert 0 < seg["open_pipeline"] < body["open_pipeline"]


@pytest.mark.parametrize(
    "params",
    [
        {"grain": "week"},
        {"periods": 9},
        {"periods": 0},
        {"deals": 501},
        {"as_of": "1900-01-01"},
        {"network": "linkedin"},
        {"channel": "not_a_channel"},
    ],
)
def test_the_api_refuses_what_is_out_of_bounds(api: TestClient, params: dict[str, Any]) -> None:
    r = api.get("/api/v1/forecast", params=params)
    assert 400 <= r.status_code < 500, (params, r.status_code, r.text[:300])


def test_signed_out_gets_nothing(anon: TestClient) -> None:
    assert anon.get("/api/v1/forecast").status_code == 401


def test_the_page_shows_the_apis_numbers(
    app: Any, api: TestClient, browser_of: dict[str, TestClient]
) -> None:
    html = browser_of["viewer"].get("/forecast", params={"grain": "quarter"}).text
    body = api.get(
        "/api/v1/forecast", params={"grain": "quarter", "periods": 2, "deals": 25}
    ).json()
    shown = dict(
        re.findall(
            r'data-period="([^"]+)">\s*<th scope="row">[^<]+</th>\s*<td class="num" '
            r'data-value="[^"]*">[^<]*</td>\s*<td class="num" data-value="([^"]+)"',
            html,
        )
    )
    assert shown == {p["period"]: str(p["expected_from_pipeline"]) for p in body["periods"]}, shown
    assert 'data-chart="forecast-periods"' in html and 'data-chart="forecast-waterfall"' in html
    assert html.count('data-deal="') == len(body["deals"]) == 25
    for stage in ("qualification", "negotiation"):
        assert f'data-stage="{stage}"' in html
    assert 'href="/forecast"' in html  # in the navigation


def test_a_revenue_goal_gets_its_coverage(app: Any, browser_of: dict[str, TestClient]) -> None:
    runtime = app.state.runtime
    quarter = P.label(P.floor(Page(runtime).as_of().date(), "quarter"), "quarter")
    goal = runtime.goals.set(GoalSpec("revenue", quarter, 5_000_000))
    try:
        html = browser_of["viewer"].get("/forecast", params={"grain": "quarter"}).text
        assert 'data-table="forecast-coverage"' in html
        assert f'<tr data-period="{quarter}"><th scope="row">{quarter}</th>' in html
    finally:
        runtime.goals.delete(goal.id)
    again = browser_of["viewer"].get("/forecast", params={"grain": "quarter"}).text
    assert 'data-table="forecast-coverage"' not in again
