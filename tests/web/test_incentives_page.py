"""The Incentives page: the API's scores by plan and person, what-ifs, and admins' edits.

Runs on the session's workspace and app: every test removes the goals it set and leaves no
``incentives.yaml`` behind (other tests expect none).
"""

from __future__ import annotations

import html
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import TestClient, csrf_of

from revteam.goals import GoalSpec
from revteam.goals.incentives import INCENTIVES_FILE
from revteam.metrics import periods as P
from revteam.web.pages.incentives import MAX_BYTES
from revteam.web.pages.render import Page

PLAN_FIELDS = ("payout_to_date", "payout_projected", "shared_share", "shared_share_of_pay")
MEASURE_FIELDS = (
    "weight",
    "target",
    "attainment_to_date",
    "attainment_projected",
    "payout_to_date",
    "payout_projected",
)


@dataclass(frozen=True)
class Setup:
    path: Path
    quarter: str
    text: str
    goals: dict[str, int]


def plans_text(quarter: str, name: str = "Reps") -> str:
    return (
        f"plans:\n"
        f"- name: {name}\n"
        f"  people: [rep@example.com]\n"
        f"  variable_share: 0.4\n"
        f"  measures:\n"
        f"  - {{metric: sqls, period: {quarter}, weight: 0.5, threshold: 0.8, cap: 1.5,"
        f" accelerator: 2}}\n"
        f"  - {{metric: win_rate, period: {quarter}, weight: 0.3}}\n"
        f"  - {{metric: pipeline_created, period: {quarter}, weight: 0.2}}\n"
        f"- name: Revenue operations\n"
        f"  team: revops\n"
        f"  measures:\n"
        f"  - {{metric: sqls, period: {quarter}, weight: 1}}\n"
    )


@pytest.fixture
def setup(app: Any) -> Iterator[Setup]:
    """Goals for the running quarter (not for pipeline_created) and two plans over them."""
    runtime = app.state.runtime
    quarter = P.label(P.floor(Page(runtime).as_of().date(), "quarter"), "quarter")
    path = Path(runtime.root) / INCENTIVES_FILE
    assert not path.exists()
    made = {
        "sqls": runtime.goals.set(GoalSpec("sqls", quarter, 150)).id,
        "win_rate": runtime.goals.set(GoalSpec("win_rate", quarter, "25%")).id,
    }
    text = plans_text(quarter)
    path.write_text(text, encoding="utf-8")
    try:
        yield Setup(path, quarter, text, made)
    finally:
        path.unlink(missing_ok=True)
        for goal_id in made.values():
            runtime.goals.delete(goal_id)


def section(page: str, plan: str) -> str:
    start = page.index(f'data-plan="{html.escape(plan)}" aria-label=')
    return page[start : page.index("</section>", start)]


def fields(part: str) -> dict[str, str]:
    return dict(re.findall(r'data-field="(\w+)" data-value="([^"]*)"', part))


def rows(part: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'<tr {attribute}="([^"]+)"(.*?)</tr>', part, re.S))


def same(shown: str, value: float | None) -> bool:
    return shown == "" if value is None else float(shown) == value


def message(page: str, marker: str = "data-message") -> str:
    found = re.search(rf"{marker}>(.*?)</div>", page, re.S)
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


def test_plans_and_people_show_the_apis_numbers(
    setup: Setup, browser_of: dict[str, TestClient], api: TestClient
) -> None:
    r = browser_of["viewer"].get("/incentives")
    assert r.status_code == 200, r.text[:500]
    assert 'class="active nav-incentives" aria-current="page">Incentives</a>' in r.text
    expected = api.get("/api/v1/goals/incentives").json()
    assert [p["plan"] for p in expected] == ["Reps", "Revenue operations"]
    for plan in expected:
        part = section(r.text, plan["plan"])
        head = fields(part.split("<table", 1)[0])
        for name in PLAN_FIELDS:
            assert same(head[name], plan[name]), (plan["plan"], name)
        shown = rows(part, "data-metric")
        assert list(shown) == [m["metric"] for m in plan["measures"]]
        for m in plan["measures"]:
            row = fields(shown[m["metric"]])
            for name in MEASURE_FIELDS:
                assert same(row[name], m[name]), (m["metric"], name)
    reps = section(r.text, "Reps")
    sqls = fields(rows(reps, "data-metric")["sqls"])
    assert (sqls["threshold"], sqls["cap"], sqls["accelerator"]) == ("0.8", "1.5", "2.0")
    assert "no goal set for it" in rows(reps, "data-metric")["pipeline_created"]
    assert f'href="/goals/{setup.goals["sqls"]}"' in reps
    # By person: the named rep, and the revops team's users (the test members).
    people = re.findall(r'<tr data-person="([^"]+)" data-plan="([^"]+)">', r.text)
    assert people == [
        ("admin@example.com", "Revenue operations"),
        ("editor@example.com", "Revenue operations"),
        ("rep@example.com", "Reps"),
        ("viewer@example.com", "Revenue operations"),
    ]
    person = r.text.split('<tr data-person="rep@example.com"', 1)[1].split("</tr>", 1)[0]
    assert same(fields(person)["payout_projected"], expected[0]["payout_projected"])
    # Viewers read only: no editor, no form but the what-if and signing out.
    assert "<textarea" not in r.text
    assert re.findall(r'<form method="post" action="([^"]+)"', r.text) == ["/logout"]


def test_a_what_if_rescores_as_the_api_does(
    setup: Setup, browser_of: dict[str, TestClient], api: TestClient
) -> None:
    viewer = browser_of["viewer"]
    what_if = ["sqls=300", "win_rate=50%"]
    r = viewer.get("/incentives", params={"what_if": what_if})
    assert r.status_code == 200
    assert 'value="sqls=300"' in r.text and 'value="win_rate=50%"' in r.text  # kept in the form
    expected = api.get("/api/v1/goals/incentives", params={"what_if": what_if}).json()
    part = section(r.text, "Reps")
    assert same(
        fields(part.split("<table", 1)[0])["payout_projected"], expected[0]["payout_projected"]
    )
    sqls = fields(rows(part, "data-metric")["sqls"])
    assert float(sqls["attainment_projected"]) == 2.0  # 300 of 150
    assert float(sqls["payout_projected"]) == 1.5  # the measure's cap
    assert float(fields(rows(part, "data-metric")["win_rate"])["attainment_projected"]) == 2.0

    bad = viewer.get("/incentives", params={"what_if": "sqls"})
    assert bad.status_code == 422 and "METRIC=VALUE" in message(bad.text)
    unused = viewer.get("/incentives", params={"what_if": "leads=5"})
    assert unused.status_code == 200 and "No measure uses leads" in message(unused.text)
    many = viewer.get("/incentives", params={"what_if": ["sqls=1"] * 21})
    assert many.status_code == 422


def test_an_admin_edit_round_trips_shows_at_once_and_is_audited(
    app: Any, setup: Setup, browser_of: dict[str, TestClient], api: TestClient
) -> None:
    admin = browser_of["admin"]
    page = admin.get("/incentives").text
    assert f">{html.escape(setup.text)}</textarea>" in page
    assert api.get("/api/v1/goals/incentives").json()[0]["plan"] == "Reps"  # cached now
    new = plans_text(setup.quarter, name="Sales development")
    form = {
        "csrf_token": csrf_of(page),
        "expected": re.search(r'name="expected" value="(\w+)"', page).group(1),
        "text": new.replace("\n", "\r\n"),  # as a browser sends a textarea
    }
    r = admin.post("/incentives", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/incentives?saved=true"
    assert setup.path.read_text(encoding="utf-8") == new
    assert stat.S_IMODE(setup.path.stat().st_mode) == 0o600
    assert [p.name for p in setup.path.parent.iterdir() if p.name.endswith(".tmp")] == []
    shown = admin.get(r.headers["location"]).text
    assert message(shown) == f"Saved {INCENTIVES_FILE}."
    assert 'data-plan="Sales development"' in shown and 'data-plan="Reps"' not in shown
    assert api.get("/api/v1/goals/incentives").json()[0]["plan"] == "Sales development"
    [entry] = app.state.runtime.app.audit.list(limit=1)
    assert (entry.actor, entry.action, entry.target) == (
        "admin@example.com",
        "incentives.save",
        INCENTIVES_FILE,
    )
    assert entry.detail["plans"] == 2 and entry.detail["bytes"] == len(new.encode())


def test_a_goal_change_rescores_at_once(
    app: Any, setup: Setup, browser_of: dict[str, TestClient]
) -> None:
    viewer = browser_of["viewer"]

    def target() -> str:
        part = section(viewer.get("/incentives").text, "Revenue operations")
        return fields(rows(part, "data-metric")["sqls"])["target"]

    assert float(target()) == 150
    app.state.runtime.goals.set(GoalSpec("sqls", setup.quarter, 300))
    assert float(target()) == 300


ONE = "plans:\n- {{name: A, team: sales, measures: [{{{}}}]}}\n"
"""A plan of one measure."""


@pytest.mark.parametrize(
    ("text", "status", "words"),
    [
        ("plans: [", 422, "is not valid YAML"),
        (
            ONE.format("metric: sqls, period: 2026-Q1, weight: 0.5"),
            422,
            "add up to 0.5",
        ),
        (
            ONE.format("metric: sqlz, period: 2026-Q1, weight: 1"),
            422,
            "no metric 'sqlz'",
        ),
        ("budget: 1", 422, "one key, plans"),
        ("# " + "x" * MAX_BYTES, 413, "at most 256 KB"),
    ],
)
def test_a_bad_file_is_refused_and_nothing_is_written(
    app: Any,
    setup: Setup,
    browser_of: dict[str, TestClient],
    text: str,
    status: int,
    words: str,
) -> None:
    admin = browser_of["admin"]
    audited = app.state.runtime.app.audit.count()
    page = admin.get("/incentives").text
    r = admin.post("/incentives", data={"csrf_token": csrf_of(page), "text": text})
    assert r.status_code == status, r.text[:300]
    assert words in message(r.text, "data-edit-message")
    if status == 422:
        assert "Nothing was saved" in message(r.text, "data-edit-message")
        assert f">{html.escape(text)}</textarea>" in r.text  # kept as typed
    assert 'id="edit-incentives" open' in r.text
    assert setup.path.read_text(encoding="utf-8") == setup.text
    assert app.state.runtime.app.audit.count() == audited


def test_a_form_read_before_another_save_is_refused(
    setup: Setup, browser_of: dict[str, TestClient]
) -> None:
    admin = browser_of["admin"]
    page = admin.get("/incentives").text
    expected = re.search(r'name="expected" value="(\w+)"', page).group(1)
    theirs = plans_text(setup.quarter, name="Theirs")
    setup.path.write_text(theirs, encoding="utf-8")  # another admin saved meanwhile
    mine = plans_text(setup.quarter, name="Mine")
    form = {"csrf_token": csrf_of(page), "expected": expected, "text": mine}
    r = admin.post("/incentives", data=form)
    assert r.status_code == 409
    assert "saved by someone else" in message(r.text, "data-edit-message")
    assert setup.path.read_text(encoding="utf-8") == theirs
    assert f">{html.escape(mine)}</textarea>" in r.text
    now = re.search(r'name="expected" value="(\w+)"', r.text).group(1)
    again = admin.post("/incentives", data=form | {"expected": now}, follow_redirects=False)
    assert again.status_code == 303 and setup.path.read_text(encoding="utf-8") == mine


def test_only_admins_write(setup: Setup, browser_of: dict[str, TestClient]) -> None:
    for role in ("editor", "viewer"):
        client = browser_of[role]
        page = client.get("/incentives").text
        assert "<textarea" not in page and "Edit incentives.yaml" not in page
        r = client.post("/incentives", data={"csrf_token": csrf_of(page), "text": "plans: []"})
        assert r.status_code == 403 and "needs the admin role" in html.unescape(r.text), role
    r = browser_of["admin"].post("/incentives", data={"text": "plans: []"})
    assert r.status_code == 403 and "CSRF" in r.text
    assert setup.path.read_text(encoding="utf-8") == setup.text


def test_without_a_file_the_page_says_how_to_start(
    app: Any, browser_of: dict[str, TestClient]
) -> None:
    path = Path(app.state.runtime.root) / INCENTIVES_FILE
    assert not path.exists()
    viewer = browser_of["viewer"].get("/incentives").text
    assert "data-empty" in viewer and "an admin writes them" in viewer
    admin = browser_of["admin"].get("/incentives").text
    assert 'id="edit-incentives" open' in admin and "></textarea>" in admin
    # A file broken by hand: the page says so and admins get it to mend.
    path.write_text("plans: [", encoding="utf-8")
    try:
        broken = browser_of["admin"].get("/incentives")
        assert broken.status_code == 200
        assert "is not valid YAML" in html.unescape(broken.text)
        assert ">plans: [</textarea>" in broken.text
    finally:
        path.unlink()
