"""The Goals page in a real browser: sign in as an editor, set a goal, see its chart and status.

Drives Debian's chromium through Playwright as ``test_browser.py`` does (``executable_path``;
nothing is downloaded); screenshots go to ``$REVTEAM_TEST_ARTIFACTS/web``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.live import ARTIFACTS, chromium, new_tab, serve, sign_in

from revteam.goals.incentives import INCENTIVES_FILE
from revteam.metrics import periods as P
from revteam.web import WebOptions, create_app
from revteam.web.format import display
from revteam.web.pages.render import Page

pytestmark = pytest.mark.browser
METRIC = "pipeline_created"
"""No other test sets goals for it."""


@pytest.fixture(scope="module")
def served(company_ws: Path, members) -> Iterator[tuple[str, Any]]:
    app = create_app(company_ws, options=WebOptions(warm=False, idle_seconds=60))
    with serve(app) as url:
        yield url, app


@pytest.fixture(scope="module")
def editor_tab(served, members):
    base_url, _ = served
    with chromium() as browser:
        tab = new_tab(browser, base_url)
        sign_in(tab, "/goals", members["editor"].email, r".*/goals$")
        yield tab


def drawn(tab, goal_id: int) -> Any:
    """The goal's card, once its chart is drawn (an SVG inside the chart's container)."""
    card = tab.locator(f"#goal-{goal_id}")
    card.locator("[data-chart] svg").first.wait_for(timeout=15_000)
    return card


def test_an_editor_sets_a_goal_sees_its_chart_and_status_and_deletes_it(served, editor_tab) -> None:
    _, app = served
    runtime = app.state.runtime
    as_of = Page(runtime).as_of().date()
    quarter = P.floor(as_of, "quarter")
    if as_of >= P.end(quarter, "quarter") - dt.timedelta(days=1):
        quarter = P.shift(quarter, "quarter", 1)
    period = P.label(quarter, "quarter")
    tab = editor_tab
    before = {g.id for g in runtime.goals.list()}
    try:
        tab.goto("/goals")
        tab.wait_for_load_state("networkidle")
        form = tab.locator("#set-goal form")
        if not form.is_visible():  # the form is open from the start only without goals
            tab.click("#set-goal summary")
        form.locator("select[name=metric]").select_option(METRIC)
        form.locator("input[name=period]").fill(period)
        form.locator("input[name=target]").fill("2500000")
        form.locator("textarea[name=note]").fill("set in the browser")
        with tab.expect_navigation():
            form.locator("button[type=submit]").click()
        tab.wait_for_load_state("networkidle")
        found = re.search(r"/goals/(\d+)\?saved=true$", tab.url)
        assert found, tab.url
        goal_id = int(found.group(1))
        assert tab.locator("[data-message]").inner_text() == "Saved."
        drawn(tab, goal_id)

        tab.goto("/goals")
        tab.wait_for_load_state("networkidle")
        card = drawn(tab, goal_id)
        badge = card.locator(".goal-badge")
        assert badge.is_visible()
        status = card.get_attribute("data-status")
        labels = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
        assert badge.inner_text() == labels[status]
        [item] = tab.request.get(f"/api/v1/goals?metric={METRIC}").json()["items"]
        assert (item["id"], item["status"]) == (goal_id, status)
        target = card.locator("[data-field=target]")
        assert target.inner_text() == display(2_500_000, "money", short=True)
        projected = card.locator("[data-field=projected]").inner_text()
        assert projected == display(item["projected"], "money", short=True)
        assert card.locator(".goal-note").inner_text() == "set in the browser"
        # The chart drew its lines and the projected interval, not an error text.
        assert card.locator("[data-chart] svg path").count() >= 3
        assert card.locator("[data-chart]").get_attribute("data-drawn") == "true"
        tab.screenshot(path=str(ARTIFACTS / "goals.png"), full_page=True)
        tab.goto(f"/goals/{goal_id}")
        tab.wait_for_load_state("networkidle")
        drawn(tab, goal_id)
        tab.screenshot(path=str(ARTIFACTS / "goal.png"), full_page=True)
        tab.once("dialog", lambda dialog: dialog.accept())  # "Delete the goal for …?"
        with tab.expect_navigation():
            tab.click("text=Delete this goal")
        assert tab.url.endswith(f"/goals?deleted={goal_id}")
        assert tab.locator("[data-message]").inner_text().startswith(f"Deleted goal {goal_id}")
        assert tab.locator(f"#goal-{goal_id}").count() == 0
        assert tab.problems == []  # no script errors, no CSP violations
    finally:
        for goal in runtime.goals.list():
            if goal.id not in before:
                runtime.goals.delete(goal.id)


def test_an_editor_plans_from_revenue_and_sets_the_goals(served, editor_tab) -> None:
    _, app = served
    runtime = app.state.runtime
    year = Page(runtime).as_of().date().year + 3  # no other test's goals that far ahead
    tab = editor_tab
    before = {g.id for g in runtime.goals.list()}
    incentives = Path(runtime.root) / INCENTIVES_FILE
    try:
        tab.goto("/goals")
        tab.wait_for_load_state("networkidle")
        with tab.expect_navigation():
            tab.click("[data-plan-link]")
        form = tab.locator("form.plan-form")
        form.locator("input[name=period]").fill(f"{year}-Q2")
        form.locator("input[name=target]").fill("3,000,000")
        with tab.expect_navigation():
            form.locator("button[type=submit]").click()
        tab.wait_for_load_state("networkidle")
        assert tab.locator("tr[data-step]").count() == 7
        leads = tab.locator("tr[data-step=leads] [data-field=value]").get_attribute("data-value")
        plan = tab.request.get(f"/api/v1/goals/plan?period={year}-Q2&target=3000000").json()
        assert float(leads) == plan["leads"]["value"]
        tab.screenshot(path=str(ARTIFACTS / "goal-plan.png"), full_page=True)
        with tab.expect_navigation():
            tab.click("text=Set these goals")
        tab.wait_for_load_state("networkidle")
        assert tab.locator("[data-message]").inner_text().startswith("Set this plan's goals (6")
        assert tab.locator("tr[data-step] [data-field=existing] a").count() == 6
        new = [g for g in runtime.goals.list() if g.id not in before]
        assert sorted(g.metric for g in new) == sorted(
            m for m in plan if m not in {"revenue", "opportunities"}
        )
        # An incentive plan over two of the new goals, scored on the Incentives page.
        measures = [
            f"{{metric: {g.metric}, period: {g.period}, weight: 0.5}}"
            for g in new
            if g.metric in ("leads", "sqls")
        ]
        incentives.write_text(
            "plans:\n- name: Pipeline\n  team: revops\n  variable_share: 0.3\n  measures:\n"
            + "".join(f"  - {m}\n" for m in measures),
            encoding="utf-8",
        )
        tab.goto("/incentives")
        tab.wait_for_load_state("networkidle")
        assert tab.locator("h1").inner_text() == "Incentives"
        assert tab.locator("section[data-plan=Pipeline] tr[data-metric]").count() == 2
        assert tab.locator("tr[data-person]").count() >= 3  # the revops test members
        assert tab.locator("textarea").count() == 0  # editors read only
        tab.screenshot(path=str(ARTIFACTS / "incentives-plan.png"), full_page=True)
        assert tab.problems == []  # no script errors, no CSP violations
    finally:
        incentives.unlink(missing_ok=True)
        for goal in runtime.goals.list():
            if goal.id not in before:
                runtime.goals.delete(goal.id)
