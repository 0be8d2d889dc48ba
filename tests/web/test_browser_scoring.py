"""The Lead scoring page in a real browser: its charts draw, its numbers are the API's."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

from revteam.web import WebOptions, create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer_tab(company_ws: Path, members):
    app = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=60))
    with serve(app) as url, chromium() as browser:
        tab = new_tab(browser, url)
        sign_in(tab, "/lead-scoring", members["viewer"].email, r".*/lead-scoring")
        yield tab


def test_the_page_draws_its_charts_with_the_apis_numbers(viewer_tab) -> None:
    tab = viewer_tab
    for chart in ("ls-calibration", "ls-threshold"):
        tab.locator(f"[data-chart={chart}] svg").first.wait_for(timeout=30_000)
    body = tab.request.get("/api/v1/scoring/fit").json()
    shown = tab.locator("[data-auc]").get_attribute("data-auc")
    assert float(shown) == pytest.approx(body["auc"])
    assert tab.locator("table[data-table=threshold] tbody tr").count() >= 5
    assert tab.locator('nav a[href="/lead-scoring"]').count() == 1
    tab.screenshot(path=str(ARTIFACTS / "lead-scoring.png"), full_page=True)
    assert tab.problems == []
