"""The Insights page in a real browser: the trend, the waterfall and the ranking draw, no errors."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.live import ARTIFACTS
from tests.web.test_browser_goals import editor_tab, served

pytestmark = pytest.mark.browser
__all__ = ["editor_tab", "served"]  # the signed-in tab and its server, shared fixtures
CHARTS = ("insights-trend", "insights-drivers", "insights-rank")


def test_the_insights_page_draws_its_charts(served: Any, editor_tab: Any) -> None:
    tab = editor_tab
    tab.problems.clear()
    tab.goto("/insights/sales_qualification_rate?period=24m")
    for chart in CHARTS:
        tab.locator(f'[data-chart="{chart}"] svg').first.wait_for(timeout=15_000)
    assert tab.locator("[data-chart]").count() == len(CHARTS)
    assert tab.locator('[data-table="drivers"] tbody tr').count() > 0
    assert tab.locator('[data-table="rank"] tbody tr').count() > 0
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "insights.png"), full_page=True)
    # another dimension: the drivers and the ranking follow it, the charts draw again
    tab.click('[aria-label="Drivers and ranking by"] >> text=segment')
    tab.wait_for_url(lambda url: "by=segment" in url)
    for chart in CHARTS:
        tab.locator(f'[data-chart="{chart}"] svg').first.wait_for(timeout=15_000)
    assert tab.locator('[data-table="rank"] tbody tr').count() == 3  # smb, mid market, enterprise
    assert tab.problems == []


def test_a_statistic_that_does_not_apply_is_explained(served: Any, editor_tab: Any) -> None:
    tab = editor_tab
    tab.problems.clear()
    tab.goto("/insights/leads")
    for chart in ("insights-trend", "insights-drivers"):
        tab.locator(f'[data-chart="{chart}"] svg').first.wait_for(timeout=15_000)
    assert "does not apply" in tab.locator('[data-unsupported="rank"]').inner_text()
    tab.screenshot(path=str(ARTIFACTS / "insights-count.png"), full_page=True)
    assert tab.problems == []
