"""The Attribution page in a real browser: every model drawn and tabled, the same as the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

from revteam.attribution import MODELS
from revteam.web import WebOptions, create_app

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def viewer_tab(company_ws: Path, members) -> Iterator[Any]:
    app = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=60))
    with serve(app) as url, chromium() as browser:
        tab = new_tab(browser, url)
        sign_in(tab, "/attribution?conversion=won", members["viewer"].email, r".*/attribution")
        yield tab


def test_the_page_draws_every_model_and_matches_the_api(viewer_tab) -> None:
    tab = viewer_tab
    tab.locator("[data-chart=attribution-models] svg").first.wait_for(timeout=30_000)
    heads = tab.locator("table[data-table=attribution] thead th[data-model]")
    assert [heads.nth(i).get_attribute("data-model") for i in range(heads.count())] == list(MODELS)
    api = tab.request.get("/api/v1/attribution?compare_models=true&conversion=won").json()
    markov = next(r for r in api["results"] if r["model"] == "markov")
    top = markov["rows"][0]
    cell = tab.locator(
        f'table[data-table=attribution] tr[data-segment="{top["channel"]}"] td[data-model=markov]'
    )
    assert float(cell.get_attribute("data-credit")) == pytest.approx(top["credit"])
    # switch to campaigns: the budget table appears
    tab.select_option("select[name=by]", "campaign")
    with tab.expect_navigation():
        tab.click("[data-attribution-form] button[type=submit]")
    assert tab.locator("[data-budget]").count() == 1
    assert tab.locator("[data-sourcing] tr[data-rule]").count() == 4
    tab.screenshot(path=str(ARTIFACTS / "attribution.png"), full_page=True)
    assert tab.problems == []
