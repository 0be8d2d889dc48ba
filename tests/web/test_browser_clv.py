"""The Customer value page in a real browser: every section drawn, the numbers the API's, and
no console error or failed request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

from revteam.web import WebOptions, create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer_tab(company_ws: Path, members) -> Iterator[Any]:
    app = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=60))
    with serve(app) as url, chromium() as browser:
        tab = new_tab(browser, url)
        sign_in(tab, "/customer-value", members["viewer"].email, r".*/customer-value")
        yield tab


def test_the_page_shows_every_section_with_the_apis_numbers(viewer_tab) -> None:
    tab = viewer_tab
    tab.locator("[data-chart=clv-holdout] svg").first.wait_for(timeout=30_000)
    # the triangle drawn: a curve per cohort and the fitted one, dashed
    tab.locator("[data-chart=clv-triangle] svg").first.wait_for(timeout=30_000)
    dashed = tab.locator("[data-chart=clv-triangle] path[stroke-dasharray='6,4']")
    assert dashed.count() >= 1
    for table in ("triangle", "holdout", "retention", "clv-segments"):
        assert tab.locator(f"table[data-table={table}]").count() == 1, table
    for model in ("bg_nbd", "gamma_gamma", "sbg"):
        assert tab.locator(f'.fit[data-model="{model}"] tr[data-param]').count() >= 2, model
    body = tab.request.get("/api/v1/clv?intervals=true").json()
    everyone = next(r for r in body["rows"] if r["segment"] == "(all)")
    cell = tab.locator('table[data-table=clv-segments] tr[data-segment="(all)"] td[data-value]')
    assert float(cell.get_attribute("data-value")) == pytest.approx(everyone["predicted_value"])
    # an interval under the value, or (a company too small to pin BG/NBD down) why there is none
    interval = 'table[data-table=clv-segments] tr[data-segment="(all)"] [data-interval]'
    if body["intervals_note"]:
        assert "standard errors" in tab.locator("[data-intervals-note]").inner_text()
        assert tab.locator(interval).count() == 0
    else:
        assert tab.locator(interval).count() == 1
    # the navigation leads here
    assert tab.locator('nav a[href="/customer-value"]').count() == 1
    tab.screenshot(path=str(ARTIFACTS / "customer-value.png"), full_page=True)
    assert tab.problems == []
