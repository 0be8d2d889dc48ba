"""Defining a KPI together in a real browser: propose, preview, approve twice (Sales, Marketing).

A workspace of its own (the approval changes its catalogue), served by uvicorn and driven with
Debian's chromium through Playwright as ``test_browser.py`` does; screenshots go to
``$REVTEAM_TEST_ARTIFACTS/web``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

import revteam
from revteam.app import open_app
from revteam.metrics.format import display
from revteam.web import WebOptions, create_app

pytestmark = pytest.mark.browser
SQR = "sales_qualification_rate"


@pytest.fixture(scope="module")
def served(company_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    root = tmp_path_factory.mktemp("browser-definitions") / "ws"
    shutil.copytree(company_ws, root, ignore=shutil.ignore_patterns("*.lock", "revteam.db*"))
    with revteam.open(root):
        pass
    with open_app(root) as state:
        for team in ("sales", "marketing"):
            state.users.add(f"{team}@example.com", role="editor", team=team, password=PASSWORD)
    app = create_app(root, options=WebOptions(warm=False, idle_seconds=60))
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def browser(served) -> Iterator[Any]:
    with chromium() as launched:
        yield launched


def signed_in(browser: Any, base_url: str, email: str) -> Any:
    tab = new_tab(browser, base_url)
    sign_in(tab, "/definitions", email, r".*/definitions$")
    return tab


def test_propose_preview_and_approve_twice(served, browser) -> None:
    base_url, app = served
    sales = signed_in(browser, base_url, "sales@example.com")
    marketing = signed_in(browser, base_url, "marketing@example.com")
    march = {"metrics": SQR, "start": "2026-03-01", "end": "2026-03-31"}
    before = sales.request.get("/api/v1/query", params=march).json()["rows"][0]["value"]

    # Sales starts from the agreed definition, shortens the window and previews
    sales.select_option("[data-proposal-metric]", SQR)
    with sales.expect_navigation():
        sales.click("#propose button[type=submit]")
    box = sales.locator("[data-definition]")
    text = box.input_value()
    assert "window_days: 60" in text
    box.fill(text.replace("window_days: 60", "window_days: 30"))
    sales.fill("[data-reason]", "Sales works every MQL within a month")
    with sales.expect_navigation():
        sales.click("[data-preview]")
    diff = sales.locator("[data-diff]").inner_text()
    assert "-window_days: 60" in diff and "+window_days: 30" in diff
    row = sales.locator('[data-table="periods"] tr[data-period="2026-03"]')
    assert row.locator("[data-before]").inner_text() == display(before, "percent")
    preview_after = row.locator("[data-after]").inner_text()
    sales.screenshot(path=str(ARTIFACTS / "definition-preview.png"), full_page=True)
    with sales.expect_navigation():
        sales.click("[data-propose]")
    assert "waits for its owners' sign-off" in sales.locator("[data-message]").inner_text()
    proposal_url = sales.url.split("?")[0]

    # one approval (Sales) is not enough
    with sales.expect_navigation():
        sales.click("[data-approve]")
    assert sales.locator('[data-status="open"]').count() == 1
    now = sales.request.get("/api/v1/query", params=march).json()["rows"][0]["value"]
    assert now == before

    # Marketing sees the same preview and signs: the definition changes
    marketing.goto(proposal_url)
    assert (
        marketing.locator(
            '[data-table="periods"] tr[data-period="2026-03"] [data-after]'
        ).inner_text()
        == preview_after
    )
    with marketing.expect_navigation():
        marketing.click("[data-approve]")
    assert marketing.locator('[data-status="approved"]').count() == 1
    after = marketing.request.get("/api/v1/query", params=march).json()["rows"][0]["value"]
    assert display(after, "percent") == preview_after and after != before
    marketing.goto(f"/catalogue/{SQR}")
    history = marketing.locator('#history [data-table="versions"] tr[data-version="1"]')
    assert "sales@example.com" in history.inner_text()
    assert "marketing@example.com" in history.inner_text()
    marketing.screenshot(path=str(ARTIFACTS / "definition-history.png"), full_page=True)
    assert sales.problems == [] and marketing.problems == []
    assert app.state.runtime.proposals.versions(SQR)[0].version == 1
