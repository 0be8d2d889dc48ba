"""The dashboards in a real browser: sign in, every page, a filter, a drill-down, a CSV export.

Drives Debian's chromium through Playwright (:mod:`tests.web.live`); screenshots go to
``$REVTEAM_TEST_ARTIFACTS/web`` so that a person can look at every page after a run.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.conftest import PASSWORD
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

from revteam.web import WebOptions, create_app
from revteam.web.format import display

pytestmark = pytest.mark.browser
PAGES = [
    ("overview", "/"),
    ("funnel", "/funnel?by=channel"),
    ("marketing", "/marketing"),
    ("sales", "/sales?metric=win_rate&by=segment"),
    ("campaigns", "/campaigns"),
    ("catalogue", "/catalogue"),
    ("metric", "/catalogue/lead_conversion_rate"),
    ("sla", "/sla"),
    ("goals", "/goals"),
    ("goal-plan", "/goals/plan?period=2027-Q1&target=5000000"),
    ("incentives", "/incentives"),
    ("data", "/data"),
    ("users", "/admin/users"),
    ("account", "/account"),
]


@pytest.fixture(scope="module")
def server(company_ws: Path, members) -> Iterator[str]:
    with serve(create_app(company_ws, options=WebOptions(warm=True, idle_seconds=60))) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server: str):
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def page(browser, server: str, members):
    """An admin's tab, signed in: each test stands alone, whichever worker runs it."""
    tab = new_tab(browser, server, accept_downloads=True)
    sign_in(tab, "/", members["admin"].email, r".*/$")
    return tab


def open_page(page, path: str) -> None:
    page.goto(path)
    page.wait_for_load_state("networkidle")
    charts = page.locator("[data-chart]")
    for i in range(charts.count()):
        charts.nth(i).locator("svg").first.wait_for(timeout=15_000)


def test_sign_in_then_every_page(browser, server, members):
    page = new_tab(browser, server)
    page.goto("/")
    assert "/login" in page.url
    page.screenshot(path=str(ARTIFACTS / "login.png"))
    page.fill("input[name=email]", members["admin"].email)
    page.fill("input[name=password]", "wrong password!")
    page.click("button[type=submit]")
    assert "Wrong e-mail or password." in page.content()
    page.problems.clear()  # the browser logs the 401 answer to the wrong password
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/$"))
    for name, path in PAGES:
        open_page(page, path)
        assert page.locator("h1").first.is_visible(), name
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert page.problems == []  # no script errors, no CSP violations


def test_numbers_on_the_overview_are_the_apis(page):
    open_page(page, "/")
    tiles = page.locator(".tile .tile-value a.num")
    assert tiles.count() >= 10
    for i in range(tiles.count()):
        tile = tiles.nth(i)
        metric = tile.locator("xpath=ancestor::article").get_attribute("data-metric")
        start = re.search(r"start=([\d-]+)", tile.get_attribute("href")).group(1)
        answer = page.request.get(f"/api/v1/query?metrics={metric}&start={start}&end={start}")
        row = next(r for r in answer.json()["rows"] if r["is_total"] and r["period"] == start)
        assert tile.inner_text() == display(
            row["value"], tile.get_attribute("data-unit"), short=True
        ), metric


def test_change_a_filter_and_the_url_follows(page):
    open_page(page, "/marketing")
    with page.expect_navigation():
        page.select_option("form.filters select[name=channel]", "email")
    page.wait_for_load_state("networkidle")
    assert "channel=email" in page.url and "period=" not in page.url  # defaults left out
    assert page.locator(".filter-chip").inner_text().startswith("channel")
    with page.expect_navigation():
        page.select_option("form.filters select[name=grain]", "quarter")
    assert "grain=quarter" in page.url and "channel=email" in page.url
    open_page(page, page.url)  # the URL alone reproduces the view
    page.screenshot(path=str(ARTIFACTS / "marketing-filtered.png"), full_page=True)


def test_drill_down_and_export_csv(page, tmp_path: Path):
    open_page(page, "/")
    first = page.locator(".tile .tile-value a.num").first
    metric = first.locator("xpath=ancestor::article").get_attribute("data-metric")
    first.click()
    page.wait_for_load_state("networkidle")
    assert "/records?" in page.url and f"metric={metric}" in page.url
    total = int(page.locator(".records-total").get_attribute("data-total"))
    query = page.url.split("?", 1)[1]
    assert page.request.get(f"/api/v1/records?{query}").json()["total"] == total
    page.screenshot(path=str(ARTIFACTS / "records.png"), full_page=True)
    with page.expect_download() as download:
        page.click("text=Export CSV")
    saved = tmp_path / "export.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as f:
        assert len(list(csv.DictReader(f))) == total
    # From a campaign row too.
    open_page(page, "/campaigns?sort=leads")
    link = page.locator("tr[data-campaign^='C'] td a").first
    link.click()
    page.wait_for_load_state("networkidle")
    assert (
        "campaign=C" in page.url
        and int(page.locator(".records-total").get_attribute("data-total")) > 0
    )
    assert page.problems == []
