"""The plan page (``/goals/plan``): the API's reverse funnel, and its goals set in one step.

Runs on the session's workspace and app: every test deletes the goals it set. The plan is for
a quarter two years after the data, so its derived goals meet no other test's.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from tests.web.conftest import TestClient, csrf_of

from revteam.goals.plan import STEPS, plan_revenue
from revteam.metrics import periods as P
from revteam.web.format import display
from revteam.web.pages.render import Page

TARGET = 4_000_000


@pytest.fixture(scope="module")
def period(app: Any) -> str:
    as_of = Page(app.state.runtime).as_of().date()
    return P.label(dt.date(as_of.year + 2, 1, 1), "quarter")


@pytest.fixture(autouse=True)
def _delete_new_goals(app: Any) -> Iterator[None]:
    book = app.state.runtime.goals
    before = {g.id for g in book.list()}
    yield
    for goal in book.list():
        if goal.id not in before:
            book.delete(goal.id)


def steps_of(page: str) -> dict[str, dict[str, str]]:
    """metric → {period, value, low, high, goal} as the page's rows hold them."""
    out = {}
    for metric, period, row in re.findall(
        r'<tr data-step="(\w+)" data-period="([^"]+)">(.*?)</tr>', page, re.S
    ):
        fields = dict(re.findall(r'data-field="(\w+)" data-value="([^"]*)"', row))
        out[metric] = fields | {"period": period}
    return out


def message(page: str) -> str:
    found = re.search(r"data-message>(.*?)</div>", page, re.S)
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


def test_the_page_shows_the_apis_plan(
    browser_of: dict[str, TestClient], api: TestClient, period: str
) -> None:
    viewer = browser_of["viewer"]
    goals = viewer.get("/goals").text
    assert 'href="/goals/plan"' in goals  # linked from the Goals page
    blank = viewer.get("/goals/plan")
    assert blank.status_code == 200 and "data-empty" in blank.text
    r = viewer.get("/goals/plan", params={"period": period, "target": f"{TARGET:,}"})
    assert r.status_code == 200, r.text[:500]
    assert 'class="active nav-goals"' in r.text
    expected = api.get("/api/v1/goals/plan", params={"period": period, "target": TARGET}).json()
    shown = steps_of(r.text)
    assert list(shown) == list(STEPS)
    for metric, row in shown.items():
        step = expected[metric]
        assert row["period"] == step["period"], metric
        spread = step["low"] != step["high"]  # the revenue itself is as given
        for field in ("value", "low", "high") if spread else ("value",):
            assert float(row[field]) == step[field], (metric, field)
        assert spread or "low" not in row
        unit = "money" if metric == "revenue" else "count"
        assert f">{display(step['value'], unit)}<" in html.unescape(r.text), metric
        if metric != "revenue":
            assert float(row["goal"]) == -(-step["value"] // 1)  # rounded up
    # A viewer previews, but has no button to set the goals.
    assert "Set these goals" not in r.text and "data-apply-plan" not in r.text
    assert re.findall(r'<form method="post" action="([^"]+)"', r.text) == ["/logout"]


def test_an_editor_sets_exactly_the_plans_goals(
    app: Any, browser_of: dict[str, TestClient], period: str
) -> None:
    runtime = app.state.runtime
    editor = browser_of["editor"]
    page = editor.get("/goals/plan", params={"period": period, "target": str(TARGET)}).text
    assert "Set these goals" in page
    form = {"csrf_token": csrf_of(page), "period": period, "target": str(TARGET)}
    r = editor.post("/goals/plan", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text[:800]
    assert r.headers["location"].endswith("&applied=6")

    # The goals are the plan's, as Python makes it, checked as the CLI's --apply checks them.
    fy = runtime.settings.fiscal_year_start_month
    plan = runtime.read(
        ("test-plan", period),
        lambda ws: plan_revenue(ws.metrics, period, TARGET, fy_start=fy),
    ).value
    wanted = {runtime.goals.check(spec).scope: runtime.goals.check(spec) for spec in plan.goals()}
    stored = {g.scope: g for g in runtime.goals.list() if g.scope in wanted}
    assert set(stored) == set(wanted) and len(wanted) == len(STEPS) - 1
    for scope, goal in stored.items():
        want = wanted[scope]
        assert (goal.metric, goal.period, goal.target, goal.owners, goal.note) == (
            want.metric,
            want.period,
            want.target,
            want.owners,
            want.note,
        )
        assert goal.updated_by == "editor@example.com" and goal.version == 1

    shown = editor.get(r.headers["location"]).text
    assert message(shown) == "Set this plan's goals (6 created or changed)."
    for goal in stored.values():
        assert f'data-goal="{goal.id}"' in shown  # "goal now" links to each
    # Setting the same plan again changes nothing: no new versions.
    again = editor.post("/goals/plan", data=form, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith("&applied=0")
    assert all(runtime.goals.get(g.id).version == 1 for g in stored.values())


def test_an_overlapping_goal_stops_the_whole_plan(
    app: Any, browser_of: dict[str, TestClient], api: TestClient, period: str
) -> None:
    from revteam.goals import GoalSpec

    runtime = app.state.runtime
    steps = api.get("/api/v1/goals/plan", params={"period": period, "target": TARGET}).json()
    start, _ = P.parse_label(steps["leads"]["period"])
    month = runtime.goals.set(GoalSpec("leads", P.label(start, "month"), 10))
    editor = browser_of["editor"]
    before = {g.id for g in runtime.goals.list()}
    form = {"csrf_token": csrf_of(editor.get("/goals").text), "period": period, "target": TARGET}
    r = editor.post("/goals/plan", data=form, follow_redirects=False)
    assert r.status_code == 409, r.text[:500]
    text = message(r.text)
    assert f"overlaps goal {month.id}" in text and f"delete {month.id}" in text
    assert {g.id for g in runtime.goals.list()} == before  # all or none: none
    assert steps_of(r.text)["leads"]["value"] == str(steps["leads"]["value"])  # plan still shown


def test_viewers_cannot_set_a_plan(
    app: Any, browser_of: dict[str, TestClient], period: str
) -> None:
    viewer = browser_of["viewer"]
    before = {g.id for g in app.state.runtime.goals.list()}
    form = {"period": period, "target": str(TARGET)}
    r = viewer.post("/goals/plan", data=form | {"csrf_token": csrf_of(viewer.get("/goals").text)})
    assert r.status_code == 403 and "needs the editor role" in html.unescape(r.text)
    r = browser_of["editor"].post("/goals/plan", data=form, follow_redirects=False)
    assert r.status_code == 403 and "CSRF" in r.text
    assert {g.id for g in app.state.runtime.goals.list()} == before


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"target": "-5"}, ["'-5' is not a positive amount", "e.g. 5000000"]),
        ({"target": "lots"}, ["'lots' is not a positive amount"]),
        ({"target": "nan"}, ["not a positive amount"]),
        ({"target": "inf"}, ["not a positive amount"]),
        ({"target": "1e14"}, ["at most 10,000,000,000,000"]),
        ({"period": "next year"}, ["Invalid period 'next year'", "a quarter or a year"]),
        ({"period": "2027-W3"}, ["Invalid period", "2027-Q1"]),
        ({"period": "1960-Q1"}, ["plausible_years"]),
        ({"segment_dimension": "channel"}, ["both a dimension and a value"]),
        ({"segment_dimension": "planet", "segment_value": "mars"}, ["no dimension 'planet'"]),
    ],
)
def test_bad_input_is_refused_naming_the_fix(
    app: Any,
    browser_of: dict[str, TestClient],
    period: str,
    fields: dict[str, str],
    words: list[str],
) -> None:
    typed = {"period": period, "target": "5000000"} | fields
    for role in ("viewer", "editor"):
        r = browser_of[role].get("/goals/plan", params=typed)
        assert r.status_code == 422, (role, r.text[:300])
        for word in words:
            assert word in message(r.text), message(r.text)
        assert f'name="target" value="{html.escape(typed["target"])}"' in r.text  # as typed
        assert "data-step" not in r.text
    editor = browser_of["editor"]
    before = {g.id for g in app.state.runtime.goals.list()}
    token = csrf_of(editor.get("/goals").text)
    r = editor.post("/goals/plan", data=typed | {"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 422 and words[0] in message(r.text)
    assert {g.id for g in app.state.runtime.goals.list()} == before
    # Beyond the fields' bounds, the request itself is refused.
    assert browser_of["viewer"].get("/goals/plan", params={"target": "9" * 41}).status_code == 422


def test_a_segments_plan_sets_the_segments_goals(
    app: Any, browser_of: dict[str, TestClient], period: str
) -> None:
    runtime = app.state.runtime
    segment = {"segment": "smb"}
    typed = {"period": period, "target": "1000000", "segment_dimension": "segment"}
    editor = browser_of["editor"]
    page = editor.get("/goals/plan", params=typed | {"segment_value": "smb"})
    assert page.status_code == 200, message(page.text)
    assert "segment = smb" in page.text
    fy = runtime.settings.fiscal_year_start_month
    plan = runtime.read(
        ("test-plan", period, "smb"),
        lambda ws: plan_revenue(ws.metrics, period, 1_000_000, fy_start=fy, segment=segment),
    ).value
    shown = steps_of(page.text)
    assert {m: float(row["value"]) for m, row in shown.items()} == {
        s.metric: s.value for s in plan.steps
    }
    form = typed | {"segment_value": "smb", "csrf_token": csrf_of(page.text)}
    r = editor.post("/goals/plan", data=form, follow_redirects=False)
    assert r.status_code == 303, message(r.text)
    made = [g for g in runtime.goals.list() if g.segment == (("segment", "smb"),)]
    assert sorted((g.metric, g.period, g.target) for g in made) == sorted(
        (s.metric, s.period, float(s.target)) for s in plan.goals()
    )
