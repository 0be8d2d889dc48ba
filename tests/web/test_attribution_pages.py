"""The Attribution page and API: every model side by side, the same numbers as ws.attribution."""

from __future__ import annotations

import re
from typing import Any

import pytest
from tests.web.conftest import TestClient

from revteam.attribution import MODELS


def computed(app: Any, model: str, **options: Any) -> Any:
    """``ws.attribution.run`` through the server's own workspace."""
    return app.state.runtime.read(
        ("test-attribution", model, tuple(sorted(options.items()))),
        lambda ws: ws.attribution.run(model, **options),
    ).value


def test_the_api_answers_every_model_as_the_python_api(api: TestClient, app: Any) -> None:
    r = api.get("/api/v1/attribution", params={"compare_models": "true", "conversion": "won"})
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["model"] for x in results] == list(MODELS)
    for res in results:
        want = computed(app, res["model"], conversion="won", by="channel")
        got = {row["channel"]: row["credit"] for row in res["rows"]}
        assert got == pytest.approx({row["channel"]: row["credit"] for row in want.rows})
        assert sum(got.values()) == pytest.approx(res["conversions"])
        assert all(row["model"] == res["model"] for row in res["rows"])


def test_one_model_by_campaign_with_intervals(api: TestClient) -> None:
    params = {"model": "markov", "conversion": "opportunity", "by": "campaign", "intervals": "true"}
    (res,) = api.get("/api/v1/attribution", params=params).json()["results"]
    assert res["model"] == "markov" and res["level"] == 0.9
    for row in res["rows"]:
        assert {"campaign", "campaign_name", "channel", "credit_low", "credit_high"} <= set(row)
        assert row["credit_low"] <= row["credit"] + 1e-9 <= row["credit_high"] + 2e-9


def test_the_default_model_is_the_workspaces(api: TestClient, app: Any) -> None:
    (res,) = api.get("/api/v1/attribution").json()["results"]
    assert res["model"] == app.state.runtime.settings.attribution.model


def test_the_audit_pages_and_adds_up(api: TestClient) -> None:
    r = api.get(
        "/api/v1/attribution/audit",
        params={"conversion": "won", "model": ["linear", "markov"], "limit": 200},
    )
    assert r.status_code == 200
    rows = r.json()["rows"]
    assert len(rows) == 200 and {"linear", "markov", "conversion_id", "channel"} <= set(rows[0])
    cut = rows[-1]["conversion_id"]  # it may go on on the next page
    whole = {row["conversion_id"] for row in rows} - {cut}
    assert whole
    for cid in whole:
        mine = [x for x in rows if x["conversion_id"] == cid]
        assert sum(x["linear"] for x in mine) == pytest.approx(1.0)
        assert sum(x["markov"] for x in mine) == pytest.approx(1.0)
    too_many = api.get("/api/v1/attribution/audit", params={"limit": 5000})
    assert too_many.status_code == 422


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"model": "magic"}, 422, "first_touch"),
        ({"conversion": "churn"}, 422, "opportunity"),
        ({"order": 4}, 422, "less than or equal to 3"),
        ({"start": "2025-02-01", "end": "2025-01-01"}, 400, "after end"),
        ({"start": "1800-01-01"}, 400, "start"),
    ],
)
def test_refusals_name_the_fix(api: TestClient, params: dict[str, Any], status: int, words: str):
    r = api.get("/api/v1/attribution", params=params)
    assert r.status_code == status and words in r.text, r.text


def test_the_page_compares_the_models(browser_of: dict[str, TestClient], app: Any) -> None:
    page = browser_of["viewer"].get("/attribution?conversion=won")
    assert page.status_code == 200
    heads = re.findall(r'<th class="num[^"]*" data-model="(\w+)"', page.text)
    assert heads == list(MODELS)
    active = app.state.runtime.settings.attribution.model
    assert f'data-model="{active}" title="The workspace' in page.text
    want = computed(app, "markov", conversion="won", by="channel")
    top = want.rows[0]
    cell = re.search(
        rf'<tr data-segment="{top["channel"]}">.*?data-model="markov" data-credit="([^"]+)"',
        page.text,
        re.S,
    )
    assert cell and float(cell.group(1)) == pytest.approx(top["credit"])
    assert 'data-chart="attribution-models"' in page.text


def test_the_campaigns_page_explains_a_negative_roi(
    browser_of: dict[str, TestClient], app: Any
) -> None:
    page = browser_of["viewer"].get("/campaigns?period=all").text
    model = app.state.runtime.settings.attribution.model
    assert f"Attributed ROI ({model})" in page and "data-roi-explained" in page
    rule = app.state.runtime.definitions.catalogue.sourcing.rule
    assert f"rule {rule}" in page or rule.replace("_", " ") in page or rule in page
    rows = re.findall(r'<tr data-campaign="(\w*)">(.*?)</tr>', page, re.S)
    explained = [(c, body) for c, body in rows if "data-why-roi" in body]
    assert explained, "no campaign with revenue and a -100% ROI to explain"
    for campaign, body in explained:
        # cells in column order: ... revenue (6th), ... ROI (10th)
        values = re.findall(r'<td class="num[^"]*"\s+data-value="([^"]*)"', body)
        assert float(values[9]) == pytest.approx(-1.0) and float(values[5]) > 0, campaign
        assert "marketing-sourced revenue only" in body


def test_sourcing_and_budget_on_the_page_and_api(
    api: TestClient, browser_of: dict[str, TestClient]
) -> None:
    rows = api.get("/api/v1/attribution/sourcing").json()["rows"]
    assert [r["view"] for r in rows] == ["sourced", "sourced", "sourced", "influenced"]
    assert sum(r["active"] for r in rows) == 1
    budget = api.get("/api/v1/attribution/budget", params={"grain": "quarter"}).json()["rows"]
    assert budget and {"budget", "spend", "attributed_revenue", "roi", "model"} <= set(budget[0])
    page = browser_of["viewer"].get("/attribution?by=campaign&conversion=won").text
    assert page.count("data-rule=") == 4 and "data-budget" in page
