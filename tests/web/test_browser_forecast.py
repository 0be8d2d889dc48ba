"""The Forecast page in a real browser: both charts draw, the tables fill, no script errors."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.live import ARTIFACTS
from tests.web.test_browser_goals import editor_tab, served

pytestmark = pytest.mark.browser
__all__ = ["editor_tab", "served"]  # the signed-in tab and its server, shared fixtures


def test_the_forecast_page_draws_its_charts(served: Any, editor_tab: Any) -> None:
    tab = editor_tab
    tab.problems.clear()
    tab.goto("/forecast?grain=quarter")
    for chart in ("forecast-periods", "forecast-waterfall"):
        tab.locator(f'[data-chart="{chart}"] svg').first.wait_for(timeout=15_000)
    periods = tab.locator('[data-table="forecast-periods"] tbody tr')
    assert periods.count() == 2
    assert tab.locator('[data-table="forecast-stages"] tbody tr').count() == 4
    assert tab.locator('[data-table="forecast-deals"] tbody tr').count() > 0
    assert "Brier score" in tab.locator("[data-model]").inner_text()
    # switching to months (the filters' default grain, so no parameter) shows three months
    tab.click('nav[aria-label="Periods"] >> text=month')
    tab.wait_for_url(lambda url: "/forecast" in url and "grain=quarter" not in url)
    tab.locator('[data-chart="forecast-periods"] svg').first.wait_for(timeout=15_000)
    assert periods.count() == 3
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "forecast.png"), full_page=True)
    assert tab.problems == []
