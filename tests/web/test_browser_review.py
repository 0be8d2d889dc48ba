"""The review page in a real browser: the pack's charts draw, an action item is added and closed."""

from __future__ import annotations

from typing import Any

import pytest
from tests.web.live import ARTIFACTS
from tests.web.test_browser_goals import editor_tab, served

pytestmark = pytest.mark.browser
__all__ = ["editor_tab", "served"]  # the signed-in tab and its server, shared fixtures


def test_an_editor_records_and_closes_an_action_item(
    served: Any, editor_tab: Any, members: Any
) -> None:
    tab = editor_tab
    tab.problems.clear()
    tab.goto("/review")
    pack = tab.locator("[data-pack]")
    pack.wait_for()
    assert "Shared scorecard" in pack.inner_text()
    assert tab.locator("[data-pack] svg").count() >= 1  # inline SVG, drawn on the server
    form = tab.locator('form[data-form="action"]')
    form.locator("input[name=title]").fill("Call every MQL not worked within 24 hours")
    form.locator("select[name=owner]").select_option(members["editor"].email)
    form.locator("input[name=due]").fill("2026-12-31")
    form.locator("select[name=metric]").select_option("mqls_worked_24h_rate")
    form.locator("button[type=submit]").click()
    tab.wait_for_url("**/review?*saved=*")
    row = tab.locator("#action-items tr[data-action]", has_text="Call every MQL not worked")
    assert row.get_attribute("data-status") == "open"
    row.locator("button", has_text="Close").click()
    tab.wait_for_url("**/review?*saved=Closed*")
    row = tab.locator("#action-items tr[data-action]", has_text="Call every MQL not worked")
    assert row.get_attribute("data-status") == "closed"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(ARTIFACTS / "review.png"), full_page=True)
    assert tab.problems == []
