"""``/api/v1/scoring``: the workspace's score, paged and bounded, through the API."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import revteam


def test_the_fit_and_leads_are_the_workspaces(api, company_ws: Path) -> None:
    fit = api.get("/api/v1/scoring/fit")
    assert fit.status_code == 200, fit.text
    body = fit.json()
    with revteam.open(company_ws, read_only=True) as ws:
        want = ws.scoring.fit()
        leads = ws.scoring.score()
    assert body["auc"] == pytest.approx(want.as_dict()["auc"])
    assert body["examples"] == want.examples and body["target"] == "lead_to_sql_rate"
    page = api.get("/api/v1/scoring/leads", params={"limit": 5, "offset": 2}).json()
    assert page["total"] == leads.num_rows
    assert [r["person_id"] for r in page["rows"]] == leads.column("person_id").to_pylist()[2:7]
    assert page["rows"][0]["score"] == pytest.approx(leads.column("score")[2].as_py())
    who = page["rows"][0]["person_id"]
    why = api.get(f"/api/v1/scoring/leads/{who}").json()
    assert why["person_id"] == who and why["contributions"]
    assert why["score"] == pytest.approx(page["rows"][0]["score"])


def test_the_threshold_curve(api) -> None:
    body = api.get("/api/v1/scoring/threshold").json()
    assert body["curve"] and body["recommended"]["threshold"] in {
        r["threshold"] for r in body["curve"]
    }
    held = api.get("/api/v1/scoring/threshold", params={"objective": "sqr", "sqr_target": 0.3})
    assert held.status_code == 200
    assert api.get("/api/v1/scoring/threshold", params={"objective": "sqr"}).status_code == 400


def test_requests_beyond_the_bounds_are_refused(api) -> None:
    assert api.get("/api/v1/scoring/leads", params={"limit": 5000}).status_code == 422
    assert api.get("/api/v1/scoring/threshold", params={"level": 1.0}).status_code == 422
    nobody = api.get("/api/v1/scoring/leads/nobody")
    assert nobody.status_code == 400 and "No person 'nobody'" in nobody.text
    later = (dt.date.today() + dt.timedelta(days=3650)).isoformat()
    future = api.get("/api/v1/scoring/fit", params={"as_of": later})
    assert future.status_code == 400 and "after the data ends" in future.text


def test_the_page_shows_the_apis_numbers(api, browser_of) -> None:
    fit = api.get("/api/v1/scoring/fit").json()
    curve = api.get("/api/v1/scoring/threshold").json()
    feedback = api.get("/api/v1/scoring/feedback").json()
    html = browser_of["viewer"].get("/lead-scoring").text
    auc = re.search(r'data-auc="([^"]+)"', html)
    assert auc and float(auc.group(1)) == pytest.approx(fit["auc"])
    best = re.search(r'data-recommended="([^"]+)"', html)
    assert best and float(best.group(1)) == pytest.approx(curve["recommended"]["threshold"])
    for r in curve["curve"][::5]:
        cell = re.search(
            rf'data-threshold="{re.escape(str(r["threshold"]))}".*?data-sqr="([^"]+)"', html, re.S
        )
        assert cell and float(cell.group(1)) == pytest.approx(r["sales_qualification_rate"])
    first = feedback["rows"][0]
    assert f'data-channel="{first["channel"]}" data-reason="{first["reason"]}"' in html
    for chart in ("ls-calibration", "ls-threshold"):
        assert f'id="{chart}"' in html
    assert 'href="/lead-scoring"' in html  # in the navigation
