"""The Insights page: its numbers are the `/api/v1/stats` answers it links to, or it says why."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from tests.web.conftest import TestClient

PAGE = "/insights/pipeline_created?grain=week"
"""A sum with anomalous weeks in the test company's last 12 months (and nothing to rank)."""
RATE = "/insights/sales_qualification_rate?period=24m&by=segment"


def api_links(page: str) -> dict[str, str]:
    """Each section's "As JSON" link, by statistic."""
    found = re.findall(r'<a href="([^"]+)" data-api="(\w+)">', page)
    return {statistic: html.unescape(href) for href, statistic in found}


def spec(page: str, chart: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{chart}">(.*?)</script>', page, re.S)
    assert found, chart
    data: dict[str, Any] = json.loads(found.group(1))
    return data


def values(data: dict[str, Any], layer: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = data["layer"][layer]["data"]["values"]
    return rows


def test_the_anomalies_are_the_apis(browser_of: dict[str, TestClient], api: TestClient) -> None:
    page = browser_of["viewer"].get(PAGE)
    assert page.status_code == 200, page.text[:500]
    links = api_links(page.text)
    assert set(links) == {"anomalies", "drivers"}
    answer = api.get(links["anomalies"]).json()
    assert answer["meta"]["alpha"] == 0.01  # the statistics' false-discovery rate
    start = re.search(r"start=([\d-]+)", links["anomalies"])
    assert start
    # the chart draws the periods of the range (scored against the months before it)
    shown = values(spec(page.text, "insights-trend"), 1)
    since = min(p["period"] for p in shown)
    scored = sorted((r for r in answer["rows"] if r["period"] >= since), key=lambda r: r["period"])
    assert [(p["period"], p["value"]) for p in shown] == [(r["period"], r["value"]) for r in scored]
    assert since > start.group(1) and len(shown) >= 50
    flagged = [r for r in scored if r["flagged"]]
    assert flagged, "the test company has weeks of pipeline created beyond noise"
    marked = values(spec(page.text, "insights-trend"), 3)
    assert [m["period"] for m in marked] == [r["period"] for r in flagged]
    rows = re.findall(
        r'<tr data-period="([\d-]+)">.*?<td class="num" data-value="([^"]+)">', page.text, re.S
    )
    assert rows == [(r["period"], str(r["value"])) for r in flagged]


def test_the_drivers_and_the_ranking_are_the_apis(
    browser_of: dict[str, TestClient], api: TestClient
) -> None:
    page = browser_of["viewer"].get(RATE).text
    links = api_links(page)
    assert set(links) == {"anomalies", "drivers", "rank"}
    assert "by=segment" in links["drivers"] and "by=segment" in links["rank"]
    drivers = api.get(links["drivers"]).json()
    shown = re.findall(r'<tr data-part="([^"]+)">.*?data-value="([^"]+)"', page, re.S)
    assert shown == [
        (f"{r['segment']}|{r['effect']}", str(r["contribution"])) for r in drivers["rows"][:8]
    ]
    assert f'data-change="{drivers["meta"]["change"]}"' in page
    bars = values(spec(page, "insights-drivers"), 0)
    assert sum(b["to"] - b["from"] for b in bars) == pytest.approx(drivers["meta"]["change"])
    ranked = api.get(links["rank"]).json()
    segments = re.findall(
        r'<tr data-segment="([^"]+)".*?data-value="([^"]+)">.*?data-value="([^"]+)"', page, re.S
    )
    assert segments == [
        (r["segment"], str(r["raw_rate"]), str(r["shrunk_rate"])) for r in ranked["rows"]
    ]
    assert len(segments) == 3
    intervals = values(spec(page, "insights-rank"), 0)
    assert [(i["low"], i["high"]) for i in intervals] == [
        (r["ci_low"], r["ci_high"]) for r in ranked["rows"]
    ]


def test_small_samples_are_marked(browser_of: dict[str, TestClient], api: TestClient) -> None:
    page = browser_of["viewer"].get("/insights/win_rate?by=campaign").text
    ranked = api.get(api_links(page)["rank"]).json()
    small = [r["segment"] for r in ranked["rows"][:20] if r["small_sample"]]
    assert small
    for segment in small:
        assert f'<tr data-segment="{segment}" class="small-sample"' in page


@pytest.mark.parametrize(
    ("path", "section"),
    [
        ("/insights/leads", "rank"),
        ("/insights/open_pipeline", "drivers"),
        ("/insights/pipeline_velocity", "rank"),
    ],
)
def test_a_statistic_that_does_not_apply_is_explained(
    browser_of: dict[str, TestClient], api: TestClient, path: str, section: str
) -> None:
    r = browser_of["viewer"].get(path)
    assert r.status_code == 200, r.text[:500]
    why = re.search(rf'data-unsupported="{section}">([^<]+)<', r.text)
    assert why and "does not apply" in why.group(1)
    metric = path.rsplit("/", 1)[1]
    refused = api.get(f"/api/v1/stats/{section}", params={"metric": metric, "by": "channel"})
    assert refused.status_code == 400
    assert html.unescape(why.group(1)) == refused.json()["message"]
    assert 'data-chart="insights-trend"' in r.text  # the statistics that apply still show


def test_a_filter_the_metric_cannot_take_is_explained(
    browser_of: dict[str, TestClient],
) -> None:
    r = browser_of["viewer"].get("/insights/leads?network=linkedin")
    assert r.status_code == 200
    assert r.text.count("cannot be broken down or filtered by &#39;network&#39;") == 3


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_role_sees_it(browser_of: dict[str, TestClient], role: str) -> None:
    assert browser_of[role].get("/insights/win_rate").status_code == 200


def test_bad_requests(browser_of: dict[str, TestClient], anon: TestClient) -> None:
    viewer = browser_of["viewer"]
    assert viewer.get("/insights/lead").status_code == 404
    assert viewer.get("/insights/leads?period=forever").status_code == 400
    assert viewer.get("/insights/leads?start=1900-01-01").status_code == 400
    r = anon.get("/insights/leads", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_the_metrics_pages_link_to_it(browser_of: dict[str, TestClient]) -> None:
    viewer = browser_of["viewer"]
    team = viewer.get("/marketing", params={"metric": "mql_rate", "channel": "email"}).text
    assert 'href="/insights/mql_rate?channel=email"' in team
    assert 'href="/insights/leads"' in viewer.get("/catalogue/leads").text
