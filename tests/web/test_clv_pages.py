"""The Customer value page and ``/api/v1/clv``: the same numbers as ``ws.clv`` and the KPIs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from scipy.special import betaln

import revteam
from revteam.web.pages.clv import PROJECTED


def test_the_fit_api_is_the_workspace_fit(api, company_ws: Path) -> None:
    body = api.get("/api/v1/clv/fit", params={"model": "gamma_gamma"}).json()
    with revteam.open(company_ws, read_only=True) as ws:
        want = ws.clv.fit("gamma_gamma")
    assert body["params"] == pytest.approx(want.fit.params)
    assert body["se"] == pytest.approx(want.fit.se)
    assert body["customers"] == want.customers and body["stale"] is False


def test_predictions_by_segment_and_by_customer(api, company_ws: Path) -> None:
    segments = api.get("/api/v1/clv").json()
    assert segments["by"] == "segment" and segments["rows"][-1]["segment"] == "(all)"
    everyone = segments["rows"][-1]
    page = api.get("/api/v1/clv", params={"by": "customer", "limit": 5}).json()["rows"]
    assert len(page) == 5
    values = [r["predicted_value"] for r in page]
    assert values == sorted(values, reverse=True)
    rest = api.get("/api/v1/clv", params={"by": "customer", "limit": 5, "offset": 5}).json()
    assert rest["rows"][0]["predicted_value"] <= values[-1]
    with revteam.open(company_ws, read_only=True) as ws:
        table = ws.clv.predict()
    assert everyone["customers"] == table.num_rows
    assert everyone["predicted_value_total"] == pytest.approx(
        float(table.column("predicted_value").to_numpy().sum())
    )


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"model": "pareto"}, 422),
        ({"model": "sbg", "segment": "nonprofit"}, 400),
        ({"model": "bg_nbd", "start": "1800-01-01"}, 400),
        ({"model": "bg_nbd", "time_unit": "fortnight"}, 422),
    ],
)
def test_bad_requests_say_what_is_wrong(api, params, status) -> None:
    answer = api.get("/api/v1/clv/fit", params=params)
    assert answer.status_code == status, answer.text
    if status == 400:
        assert answer.json()["message"]


def test_a_page_of_customers_is_bounded(api) -> None:
    assert api.get("/api/v1/clv", params={"by": "customer", "limit": 5000}).status_code == 422


def test_the_page_shows_the_kpis_and_the_fits(browser_of, company_ws: Path) -> None:
    html = browser_of["viewer"].get("/customer-value").text
    with revteam.open(company_ws, read_only=True) as ws:
        kpi = ws.metrics.query(["net_revenue_retention"], grain="all").to_pylist()
        nrr = next(r["value"] for r in kpi if r["is_total"])
        fit = ws.clv.fit("bg_nbd")
    cell = re.search(
        r'data-segment="\(all\)".*?data-metric="net_revenue_retention" data-value="([^"]+)"',
        html,
        re.S,
    )
    assert cell and float(cell.group(1)) == pytest.approx(nrr)
    for model in ("bg_nbd", "gamma_gamma", "sbg"):
        assert f'data-model="{model}"' in html
    assert f"{fit.fit.params['r']:.4g}" in html
    churn = re.search(r'data-derived="churn".*?<td class="num">([^<]+)</td>', html, re.S)
    with revteam.open(company_ws, read_only=True) as ws:
        renewals = ws.clv.fit("sbg").fit
    assert churn and churn.group(1) == f"{renewals.derived['churn']:.4g}"
    assert 'href="/customer-value"' in html  # in the navigation


def test_the_triangle_on_the_page_is_the_apis(api, browser_of) -> None:
    rows = api.get("/api/v1/clv/retention").json()["rows"]
    html = browser_of["viewer"].get("/customer-value").text
    decided = [r for r in rows if r["retained"] and r["retained"][0] is not None]
    assert decided, "the generated company has renewals decided"
    first = decided[0]
    cell = re.search(
        rf'data-cohort="{first["cohort"]}".*?data-renewal="1" data-value="([^"]+)"', html, re.S
    )
    assert cell and float(cell.group(1)) == pytest.approx(first["retained"][0])
    assert api.get("/api/v1/clv/retention", params={"grain": "week"}).status_code == 422
    # the chart: each cohort's curve is the table's, and the dashed curve the sBG fit's S(k)
    spec = json.loads(
        re.search(
            r'<script type="application/json" id="clv-triangle">(.*?)</script>', html, re.S
        ).group(1)
    )
    points = spec["data"]["values"]
    mine = {p["renewal"]: p["retained"] for p in points if p["series"] == first["cohort"]}
    assert mine[1] == pytest.approx(first["retained"][0])
    fit = api.get("/api/v1/clv/fit", params={"model": "sbg"}).json()["params"]
    fitted = {p["renewal"]: p["retained"] for p in points if p["series"] == "Fitted (sBG)"}
    assert fitted[0] == 1.0 and mine[0] == 1.0
    assert len(fitted) == max(len(r["retained"]) for r in rows) + 1 + PROJECTED
    for k, value in fitted.items():  # S(k) = B(α, β + k) / B(α, β), by hand
        assert value == pytest.approx(
            math.exp(betaln(fit["alpha"], fit["beta"] + k) - betaln(fit["alpha"], fit["beta"]))
        )


def test_the_holdout_check_on_the_page_is_the_apis(api, browser_of) -> None:
    body = api.get("/api/v1/clv/holdout", params={"weeks": 26}).json()
    assert body["weeks"] == 26 and body["total"]["customers"] > 0
    # the web company's BG/NBD has no standard errors: no interval, and the page still shows
    low = body["total"]["predicted_low"]
    assert low is None or low < body["total"]["predicted"]
    html = browser_of["viewer"].get("/customer-value").text
    cell = re.search(r'data-total-predicted="([^"]+)"', html)
    assert cell and float(cell.group(1)) == pytest.approx(body["total"]["predicted"])
    assert api.get("/api/v1/clv/holdout", params={"weeks": 0}).status_code == 422


def test_a_fit_without_standard_errors_is_valid_json(api) -> None:
    """The web company is too small to pin BG/NBD's dropout down: its standard errors are
    undefined, sent as null (JSON has no NaN) with the warning that says why."""
    answer = api.get("/api/v1/clv/fit", params={"model": "bg_nbd"})
    assert answer.status_code == 200, answer.text
    assert "NaN" not in answer.text and "Infinity" not in answer.text
    body = answer.json()
    if any(v is None for v in body["se"].values()):
        assert any("standard errors are undefined" in w for w in body["warnings"])


def test_predicted_clv_by_channel_on_the_page_is_the_apis_and_the_kpis(
    api, browser_of, company_ws: Path
) -> None:
    answer = api.get("/api/v1/clv/value", params={"by": "channel"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    rows = body["rows"]
    assert rows[-1]["group"] == "(all)" and body["level"] == 0.9
    with revteam.open(company_ws, read_only=True) as ws:
        kpi = ws.metrics.query(["clv_predicted"], by=["channel"], grain="all").to_pylist()
    html = browser_of["viewer"].get("/customer-value").text
    for r in rows:
        name = r["group"] if r["group"] is not None else "(none)"
        cell = re.search(rf'data-channel="{re.escape(name)}".*?data-value="([^"]+)"', html, re.S)
        assert cell and float(cell.group(1)) == pytest.approx(r["clv_predicted"])
        if body["intervals_note"] is None:
            assert r["low"] <= r["clv_predicted"] <= r["high"]
        else:  # a model without standard errors (the small web company): why, on the page
            assert r["low"] is None and "standard errors" in body["intervals_note"]
            assert "data-value-note" in html
    total = next(x["value"] for x in kpi if x["is_total"])
    assert rows[-1]["clv_predicted"] == pytest.approx(total)
    for x in kpi:  # every channel's KPI is on the API's rows
        if not x["is_total"]:
            mine = next(r for r in rows if r["group"] == x["channel"])
            assert mine["clv_predicted"] == pytest.approx(x["value"])
    bad = api.get("/api/v1/clv/value", params={"by": "nope"})
    assert bad.status_code in (400, 422) and "channel" in bad.text
    assert api.get("/api/v1/clv/value", params={"level": 1.5}).status_code == 422
