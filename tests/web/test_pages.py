"""Server-rendered pages: every page renders, filters are URLs, numbers match the API."""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import re

import pytest
from tests.web.conftest import TestClient, csrf_of

from revteam.metrics import shipped_catalogue
from revteam.web.format import display

PAGES = [
    "/",
    "/funnel",
    "/marketing",
    "/sales",
    "/campaigns",
    "/catalogue",
    "/catalogue/lead_conversion_rate",
    "/records?metric=leads",
    "/account",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_for_every_role(browser_of, path):
    for role, client in browser_of.items():
        r = client.get(path)
        assert r.status_code == 200, (role, path, r.text[:300])
        assert "revteam" in r.text and r.headers["cache-control"] == "no-store"


def test_admin_pages(browser_of):
    admin = browser_of["admin"]
    data = admin.get("/data")
    assert data.status_code == 200 and "Data version" in data.text and "people" in data.text
    cache = admin.app.state.runtime.cache  # the page shows what the cache holds, in MB
    assert f"of {cache.max_bytes >> 20} MB (limits.cache_megabytes)" in data.text
    users = admin.get("/admin/users")
    assert "viewer@example.com" in users.text and "Audit log" in users.text


def test_overview_numbers_are_the_apis(browser_of, api: TestClient):
    page = browser_of["viewer"].get("/").text
    tiles = re.findall(
        r'data-metric="([a-z_]+)".*?data-value="([^"]+)" data-unit="([a-z]+)"'
        r"[^>]*>([^<]+)</a>",
        page,
        flags=re.S,
    )
    assert len(tiles) >= 10
    periods = dict(
        re.findall(r'data-metric="([a-z_]+)".*?start=(\d{4}-\d\d-\d\d)', page, flags=re.S)
    )
    for metric, raw, unit, shown in tiles:
        start = periods[metric]
        rows = api.get(
            "/api/v1/query", params={"metrics": metric, "start": start, "end": start}
        ).json()["rows"]
        value = next(r["value"] for r in rows if r["is_total"] and r["period"] == start)
        assert float(raw) == pytest.approx(value), metric
        assert shown == display(value, unit, short=True), metric


def test_filters_are_get_parameters(browser_of):
    viewer = browser_of["viewer"]
    page = viewer.get("/?period=6m&grain=quarter&channel=email").text
    assert 'value="6m" selected' in page and 'value="quarter" selected' in page
    assert "channel: <strong>email</strong>" in page
    assert "period=6m&amp;grain=quarter&amp;channel=email" in page  # nav keeps the view
    social = viewer.get("/?network=linkedin").text
    assert "Not available when filtering by network" in social
    custom = viewer.get("/marketing?start=2026-01-01&end=2026-03-31").text
    assert 'value="custom" selected' in custom and 'value="2026-01-01"' in custom


def test_team_pages_focus_and_break_down(browser_of):
    page = browser_of["viewer"].get("/sales?metric=win_rate&by=segment").text
    assert "<h2>Win rate" in page and 'class="seg active">segment' in page
    assert 'data-chart="trend-chart"' in page and 'id="bars-chart"' in page
    assert "records →" in page
    marketing = browser_of["viewer"].get("/marketing?metric=unknown_metric").text
    assert "<h2>Leads generated" in marketing  # falls back to the first metric


def test_funnel_page(browser_of):
    page = browser_of["viewer"].get("/funnel?by=segment&grain=quarter").text
    assert "By segment" in page and "Cohorts" in page and "immature" in page
    for stage in ("Leads", "MQLs", "SQLs", "Opportunities", "Customers"):
        assert stage in page


def test_campaigns_page_sorts_and_marks(browser_of):
    page = browser_of["viewer"].get("/campaigns?sort=leads&dir=desc").text
    rows = re.findall(
        r'<tr data-campaign="[^"]*">.*?<td class="num[^"]*"\s+data-value="([0-9.]*)"',
        page,
        flags=re.S,
    )
    values = [float(v) for v in rows if v]
    assert len(values) > 10 and values == sorted(values, reverse=True)
    assert rows[: len(values)] == [v for v in rows if v]  # empty values last
    assert "All campaigns" in page and "small sample" in page
    ignored = browser_of["viewer"].get("/campaigns?segment=smb").text
    assert "is not applied here" in ignored


def test_catalogue_lists_every_metric(browser_of, api: TestClient):
    page = browser_of["viewer"].get("/catalogue").text
    for m in api.get("/api/v1/metrics").json()["items"]:
        assert f'href="/catalogue/{m["id"]}"' in page
    metric = browser_of["viewer"].get("/catalogue/cac").text
    assert "Compiled SQL" in metric and "SELECT" in metric and "new_customers" in metric


def test_drill_down_pages_and_csv(browser_of, api: TestClient):
    viewer = browser_of["viewer"]
    page = viewer.get("/records?metric=leads&start=2026-03-01&end=2026-03-31&channel=email")
    total = int(re.search(r'data-total="(\d+)"', page.text).group(1))
    expected = api.get(
        "/api/v1/records",
        params={"metric": "leads", "start": "2026-03-01", "end": "2026-03-31", "channel": "email"},
    )
    assert total == expected.json()["total"] > 0
    assert "Export CSV" in page.text
    second = viewer.get("/records?metric=leads&page=2")
    assert second.status_code == 200 and "Page 2 of" in second.text
    exported = viewer.get("/records.csv?metric=leads&start=2026-03-01&end=2026-03-31&channel=email")
    assert exported.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == total
    parts = viewer.get("/records?metric=cac&part=numerator")
    assert parts.status_code == 200 and "total_cost" in parts.text


@pytest.mark.parametrize(
    ("path", "status", "text"),
    [
        ("/?grain=fortnight", 400, "Invalid grain"),
        ("/?start=someday", 400, "a date such as"),
        ("/?period=forever", 400, "Invalid period"),
        ("/funnel?by=colour", 400, "Invalid by"),
        ("/records?metric=nope", 404, "Unknown metric"),
        ("/records?metric=pipeline_velocity&part=numerator", 400, "computed from"),
        ("/catalogue/nope", 404, "Unknown metric"),
        ("/nowhere", 404, "Nothing at /nowhere"),
    ],
)
def test_bad_page_parameters_show_an_error_page(browser_of, path, status, text):
    r = browser_of["viewer"].get(path)
    assert r.status_code == status and text in r.text
    assert "<html" in r.text


def test_account_tokens_and_password_forms(app, members):
    from tests.web.conftest import sign_in

    client = TestClient(app)
    sign_in(client, members["editor"].email)
    page = client.get("/account").text
    created = client.post(
        "/account/tokens", data={"name": "laptop", "days": "7", "csrf_token": csrf_of(page)}
    )
    token = re.search(r"data-token>(rvt_[^<]+)<", created.text).group(1)
    assert (
        TestClient(app, headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me").status_code
        == 200
    )
    assert client.get("/account").text.count(token) == 0  # shown once only
    tid = re.search(r"/account/tokens/(\d+)/revoke", created.text).group(1)
    client.post(f"/account/tokens/{tid}/revoke", data={"csrf_token": csrf_of(created.text)})
    assert (
        TestClient(app, headers={"Authorization": f"Bearer {token}"}).get("/api/v1/me").status_code
        == 401
    )
    weak = client.post(
        "/account/password",
        data={
            "current": "correct horse battery staple",
            "new": "short",
            "csrf_token": csrf_of(page),
        },
    )
    assert weak.status_code == 400 and "Password refused" in weak.text


def test_user_admin_forms(browser_of):
    admin = browser_of["admin"]
    page = admin.get("/admin/users").text
    added = admin.post(
        "/admin/users",
        data={
            "email": "form@example.com",
            "role": "viewer",
            "team": "sales",
            "csrf_token": csrf_of(page),
        },
    )
    assert added.status_code == 200 and "data-secret>" in added.text
    uid = re.search(
        r'data-user="form@example.com".*?/admin/users/(\d+)"', added.text, flags=re.S
    ).group(1)
    changed = admin.post(
        f"/admin/users/{uid}",
        data={"role": "editor", "team": "marketing", "csrf_token": csrf_of(page)},
    )
    assert "Saved form@example.com" in changed.text
    reset = admin.post(f"/admin/users/{uid}/reset-password", data={"csrf_token": csrf_of(page)})
    assert "New password for form@example.com" in reset.text
    dup = admin.post(
        "/admin/users", data={"email": "form@example.com", "csrf_token": csrf_of(page)}
    )
    assert dup.status_code == 400 and "already exists" in dup.text


def test_assets_are_served_with_caching(anon: TestClient):
    css = anon.get("/static/app.css")
    assert css.status_code == 200 and "--marketing" in css.text
    js = anon.get("/vendor/vega-embed-1.js", headers={"accept-encoding": "gzip"})
    assert js.status_code == 200 and "immutable" in js.headers["cache-control"]
    assert "vegaEmbed" in js.text and js.headers.get("content-encoding") == "gzip"
    again = anon.get("/vendor/vega-embed-1.js", headers={"if-none-match": js.headers["etag"]})
    assert again.status_code == 304


def _complete_mature_month(rows: list[dict], as_of: dt.date) -> str:
    """Newest monthly total that has ended by the as-of date and is not immature (by hand)."""
    done = []
    for r in rows:
        first = dt.date.fromisoformat(r["period"])
        nxt = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
        if r["is_total"] and not r["immature"] and nxt <= as_of + dt.timedelta(days=1):
            done.append(r["period"])
    return max(done)


@pytest.mark.parametrize("period", ["3m", "6m", "12m"])
@pytest.mark.parametrize(("team", "metric"), [("marketing", "mql_rate"), ("sales", "win_rate")])
def test_tile_and_detail_headline_the_same_period(
    browser_of, api: TestClient, team, metric, period
):
    page = browser_of["viewer"].get(f"/{team}?metric={metric}&period={period}").text
    detail = re.search(r'id="focus" data-period="([^"]*)"', page).group(1)
    tile = re.search(rf'id="tile-{metric}".*?start=(\d{{4}}-\d\d-\d\d)', page, flags=re.S)
    assert tile and detail == tile.group(1), (metric, period, detail)
    # ... and it is the newest complete, mature month, whatever the range's start.
    everything = api.get("/api/v1/query", params={"metrics": metric, "start": "2000-01-01"}).json()
    as_of = dt.datetime.fromisoformat(everything["as_of"]).date()
    assert detail == _complete_mature_month(everything["rows"], as_of)


@pytest.mark.parametrize(
    ("team", "metric", "by"),
    [
        ("marketing", "mql_rate", "channel"),
        ("marketing", "leads", "region"),
        ("sales", "win_rate", "segment"),
    ],
)
def test_detail_split_is_the_apis(browser_of, api: TestClient, team, metric, by):
    page = browser_of["viewer"].get(f"/{team}?metric={metric}&by={by}").text
    period = re.search(r'id="focus" data-period="([^"]+)"', page).group(1)
    shown = {
        html.unescape(name): float(value)
        for name, value in re.findall(
            r'<tr data-group="([^"]*)">.*?data-value="([^"]+)"', page, flags=re.S
        )
    }
    rows = api.get(
        "/api/v1/query", params={"metrics": metric, "by": by, "start": period, "end": period}
    ).json()["rows"]
    expected = {
        r["dimensions"][by] or "(none)": r["value"]
        for r in rows
        if not r["is_total"] and r["period"] == period and r["value"] is not None
    }
    assert len(shown) >= 2 and shown.keys() == expected.keys()
    for name, value in shown.items():
        assert value == pytest.approx(expected[name]), name


FUNNEL = shipped_catalogue().funnel


def kpi_over_range(rows: list[dict], metric: str, group: str | None, by: str | None) -> float:
    """A funnel number from the API's per-period rows, independently of grain="all": counts
    add up; a conversion is its mature periods' numerators over their denominators."""
    mine = [
        r
        for r in rows
        if r["metric"] == metric
        and (
            r["is_total"]
            if group is None
            else not r["is_total"] and (r["dimensions"][by] or "(none)") == group
        )
    ]
    if shipped_catalogue()[metric].kind == "count":
        return sum(r["value"] or 0 for r in mine)
    mature = [r for r in mine if not r["immature"]]
    den = sum(r["denominator"] or 0 for r in mature)
    return sum(r["numerator"] or 0 for r in mature) / den if den else None


@pytest.mark.parametrize(
    "query",
    [
        "period=6m",
        "period=12m&channel=email",
        "period=ytd&grain=quarter",
        "period=all&by=segment",
        "period=24m&by=channel&segment=smb",
        "start=2026-01-15&end=2026-10-20&channel=email",
    ],
)
def test_every_funnel_number_is_the_kpi_of_the_same_name(browser_of, api: TestClient, query):
    page = browser_of["viewer"].get(f"/funnel?{query}").text
    link = re.search(r'href="/records\?(metric=leads[^"]*)"', page).group(1)
    dates = {k: v for k, v in (p.split("=") for p in link.split("&amp;")) if k in ("start", "end")}
    params = dict(
        p.split("=") for p in query.split("&") if not p.startswith(("period", "start", "end"))
    )
    by = params.pop("by", None)
    metrics = list(FUNNEL.metrics)
    asked = {"metrics": metrics, **dates, "limit": 10_000, **params}
    rows = api.get("/api/v1/query", params=asked).json()["rows"]
    stages = page.split('<table class="data stages">')[1].split("</table>")[0]
    shown = dict(re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', stages))
    assert set(shown) == set(metrics)
    custom = "start=" in query  # exact days: compare counts with the API's daily rows
    if custom:
        rows = api.get("/api/v1/query", params={**asked, "grain": "day"}).json()["rows"]
    for metric in metrics:
        if custom and shipped_catalogue()[metric].kind != "count":
            continue
        expected = kpi_over_range(rows, metric, None, None)
        if expected is None:
            assert shown[metric] == "", metric
        else:
            assert float(shown[metric]) == pytest.approx(expected), metric
    assert float(shown["leads"]) > 0
    # The drill-down behind each count is exactly its records (no widening to whole months).
    for metric in ("leads", "mqls"):
        link = re.search(rf'href="/records\?(metric={metric}&[^"]*)"', stages).group(1)
        linked = dict(p.split("=") for p in link.replace("&amp;", "&").split("&"))
        total = api.get("/api/v1/records", params={**linked, "limit": 1}).json()["total"]
        assert total == float(shown[metric]), (metric, link)
    if by:
        answer = api.get("/api/v1/query", params={**asked, "by": by}).json()
        assert answer["next_offset"] is None
        split = answer["rows"]
        table = page.split(f"<h2>By {by}")[1].split("</table>")[0]
        found = re.findall(r'<tr data-group="([^"]*)">(.*?)</tr>', table, flags=re.S)
        assert len(found) >= 2
        for group, cells in found:
            for metric, value in re.findall(r'data-metric="(\w+)" data-value="([^"]*)"', cells):
                expected = kpi_over_range(split, metric, group, by)
                assert (value == "" and not expected) or float(value) == pytest.approx(expected), (
                    group,
                    metric,
                )


def test_the_campaign_table_is_the_kpis_over_the_range(browser_of, api: TestClient):
    page = browser_of["viewer"].get("/campaigns?period=12m").text
    start, end = re.search(
        r"/records\?metric=leads&amp;start=([\d-]+)&amp;end=([\d-]+)", page
    ).groups()
    rows = api.get(
        "/api/v1/query",
        params={
            "metrics": ["leads", "sales_qualification_rate", "cost_per_lead"],
            "by": "campaign",
            "start": start,
            "end": end,
            "limit": 10_000,
        },
    ).json()
    assert rows["next_offset"] is None
    rows = rows["rows"]
    body = re.findall(r'<tr data-campaign="([^"]*)">(.*?)</tr>', page, flags=re.S)
    assert len(body) > 5
    checked = 0
    for campaign, cells in body[:15]:
        values = re.findall(r'data-value="([0-9.]*)"', cells)
        leads = kpi_over_range(rows, "leads", campaign or "(none)", "campaign")
        assert float(values[0] or 0) == pytest.approx(leads), campaign
        sqr = kpi_over_range(rows, "sales_qualification_rate", campaign or "(none)", "campaign")
        if sqr is not None and values[2]:
            assert float(values[2]) == pytest.approx(sqr), campaign
            checked += 1
    assert checked > 3


def test_too_long_page_filters_are_refused_not_cut(browser_of):
    r = browser_of["viewer"].get("/", params={"campaign": "x" * 201})
    assert r.status_code == 400 and "at most 200 characters" in r.text
    spaced = browser_of["viewer"].get("/?channel=%20%20email").text
    assert "channel: <strong>email</strong>" in spaced
