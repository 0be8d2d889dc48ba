"""The Goals page: cards with the API's numbers and a chart, forms with CSRF and roles, history.

Runs on the session's workspace and app: every test deletes the goals it set, and uses metrics
no other test sets goals for.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.web.conftest import TestClient, csrf_of

from revteam.goals import GoalSpec
from revteam.metrics import periods as P
from revteam.web.format import MISSING, display
from revteam.web.pages.render import Page
from revteam.web.views.goals import PAGE_SIZE, ordered

NUMBERS = (
    "target",
    "stretch",
    "actual",
    "expected_to_date",
    "projected",
    "projected_low",
    "projected_high",
    "probability",
    "stretch_probability",
)
"""The numbers a card shows, by their names in ``/api/v1/goals``."""
CHANCES = {"probability", "stretch_probability"}


@dataclass(frozen=True)
class Periods:
    as_of: dt.date
    running: str
    """A period that contains the as-of day and has days left after it."""
    grain: P.Grain
    start: dt.date
    upcoming: str


@pytest.fixture(scope="module")
def periods(app: Any) -> Periods:
    as_of = Page(app.state.runtime).as_of().date()
    for grain in ("month", "quarter", "year"):
        start = P.floor(as_of, grain)
        if as_of < P.end(start, grain) - dt.timedelta(days=1):
            upcoming = P.label(P.shift(start, grain, 2), grain)
            return Periods(as_of, P.label(start, grain), grain, start, upcoming)
    raise AssertionError(f"no running period around {as_of}")


@pytest.fixture(autouse=True)
def _delete_new_goals(app: Any) -> Iterator[None]:
    book = app.state.runtime.goals
    before = {g.id for g in book.list()}
    yield
    for goal in book.list():
        if goal.id not in before:
            book.delete(goal.id)


def card_of(page: str, goal_id: int) -> str:
    """The card of ``goal_id`` on a page."""
    start = page.index(f'id="goal-{goal_id}"')
    return page[start : page.index("</article>", start)]


def numbers(card: str) -> dict[str, tuple[str, str]]:
    """name → (raw value, text shown) of every number on a card."""
    found = re.findall(r'data-field="(\w+)" data-value="([^"]*)" title="[^"]*">([^<]*)<', card)
    return {name: (raw, html.unescape(text)) for name, raw, text in found}


def chart_of(page: str, goal_id: int) -> dict[str, Any]:
    assert f'data-chart="goal-chart-{goal_id}"' in page
    found = re.search(
        rf'<script type="application/json" id="goal-chart-{goal_id}">(.*?)</script>', page, re.S
    )
    assert found is not None
    spec: dict[str, Any] = json.loads(found.group(1))
    return spec


def posted(client: TestClient, url: str, **fields: Any) -> Any:
    """A form post with the CSRF token of the page the form is on."""
    token = csrf_of(client.get("/goals").text)
    return client.post(url, data={"csrf_token": token, **fields}, follow_redirects=False)


def message(page: str) -> str:
    found = re.search(r"data-message>(.*?)</div>", page, re.S)
    assert found is not None, page[:500]
    return html.unescape(found.group(1))


def test_cards_show_the_apis_numbers_and_status(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    book = app.state.runtime.goals
    flow = book.set(GoalSpec("mqls", periods.running, 300, stretch=400))
    rate = book.set(GoalSpec("win_rate", periods.running, "30%", stretch="35%"))
    money = book.set(GoalSpec("revenue", periods.running, 2_500_000))
    viewer = browser_of["viewer"]
    page = viewer.get("/goals")
    assert page.status_code == 200, page.text[:500]
    assert 'class="active nav-goals" aria-current="page">Goals</a>' in page.text
    for goal, unit in ((flow, "count"), (rate, "percent"), (money, "money")):
        [item] = viewer.get("/api/v1/goals", params={"metric": goal.metric}).json()["items"]
        card = card_of(page.text, goal.id)
        assert f'data-status="{item["status"]}"' in card
        badge = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
        assert f">{badge[item['status']]}</span>" in card
        assert html.escape(item["method"]) in card
        shown = numbers(card)
        for name in NUMBERS:
            if item[name] is None:
                assert shown.get(name, ("", ""))[0] == "", (goal.metric, name)
                continue
            raw, text = shown[name]
            assert float(raw) == item[name], (goal.metric, name)
            shown_unit = "percent" if name in CHANCES else unit
            written = display(item[name], shown_unit, short=shown_unit == "money")
            assert text == written, (goal.metric, name)
        assert f'data-version="{item["version"]}"' in card
        assert "Changed by <strong>cli</strong>" in card
    # Grouped by period: both goals are in their period's section.
    section = page.text.split(f'data-period="{periods.running}"', 1)[1].split("</section>")[0]
    assert f'id="goal-{flow.id}"' in section and f'id="goal-{rate.id}"' in section
    # Pacing went through the cache, under the key the Overview's target slots use.
    runtime = app.state.runtime
    paced = ordered(runtime.goals.list(), periods.as_of)[:PAGE_SIZE]
    key = ("goal-pacing", tuple((g.id, g.version) for g in paced), periods.as_of)
    assert runtime.cache.latest(key) is not None


def test_every_card_embeds_its_chart(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    book = app.state.runtime.goals
    flow = book.set(GoalSpec("opportunities_created", periods.running, 200))
    rate = book.set(GoalSpec("win_rate", periods.running, 0.3, stretch=0.35))
    viewer = browser_of["viewer"]
    page = viewer.get("/goals").text
    assert '<script src="/vendor/vega-embed-' in page  # drawn by the bundled library, no CDN
    item = viewer.get(f"/api/v1/goals/{flow.id}").json()["pacing"]

    spec = chart_of(page, flow.id)
    target, actual, interval, point = spec["layer"]
    days = [r["day"] for r in target["data"]["values"]]
    assert days[0] == periods.start.isoformat()
    assert days[-1] == (P.end(periods.start, periods.grain) - dt.timedelta(days=1)).isoformat()
    assert target["data"]["values"][-1]["target"] == pytest.approx(200)
    seen = actual["data"]["values"]
    assert seen[-1]["day"] == periods.as_of.isoformat()
    assert seen[-1]["actual"] == pytest.approx(item["actual"])
    assert interval["mark"]["type"] == "rule" and point["mark"]["type"] == "point"
    [end] = interval["data"]["values"]
    assert (end["low"], end["high"], end["projected"]) == pytest.approx(
        (item["projected_low"], item["projected_high"], item["projected"])
    )
    assert end["day"] == days[-1]

    spec = chart_of(page, rate.id)
    rules = [layer for layer in spec["layer"] if layer["mark"]["type"] == "rule"]
    assert [r["encoding"]["y"].get("datum") for r in rules[:2]] == [0.3, 0.35]
    assert spec["width"] == "container" and spec["$schema"].startswith("https://vega")


def test_an_editor_sets_changes_and_deletes_a_goal_through_the_forms(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    editor = browser_of["editor"]
    page = editor.get("/goals").text
    assert 'action="/goals"' in page and 'name="segment_dimension"' in page
    created = posted(
        editor,
        "/goals",
        metric="new_customers",
        period=periods.running,
        target="40",
        stretch="",
        owners="sales, marketing",
        segment_dimension=["channel", "", ""],
        segment_value=["email", "", ""],
        note="first try",
    )
    assert created.status_code == 303, created.text[:800]
    url = created.headers["location"].split("?")[0]
    goal_id = int(url.rsplit("/", 1)[1])
    goal = app.state.runtime.goals.get(goal_id)
    assert (goal.target, goal.owners, goal.segment) == (
        40,
        ("sales", "marketing"),
        (("channel", "email"),),
    )
    assert goal.updated_by == "editor@example.com"

    shown = editor.get(created.headers["location"])
    assert shown.status_code == 200 and message(shown.text) == "Saved."
    assert 'name="expected_version" value="1"' in shown.text
    assert 'value="40"' in shown.text and ">first try</textarea>" in shown.text
    assert '<option value="channel" selected>' in shown.text

    changed = posted(
        editor,
        url,
        metric="new_customers",
        period=periods.running,
        target="45",
        owners="sales, marketing",
        segment_dimension=["channel"],
        segment_value=["email"],
        note="first try",
        expected_version="1",
    )
    assert changed.status_code == 303 and changed.headers["location"] == f"{url}?saved=true"
    assert (
        app.state.runtime.goals.get(goal_id).target,
        app.state.runtime.goals.get(goal_id).version,
    ) == (45, 2)
    # Saving the form unchanged changes nothing: no new version.
    again = editor.get(url).text
    assert 'name="expected_version" value="2"' in again
    typed = re.findall(r'<input type="text" name="(\w+)" value="([^"]*)"', again)
    fields: dict[str, Any] = {"metric": "new_customers", "note": "first try"}
    for name, value in typed:
        fields.setdefault(name, []).append(html.unescape(value))
    fields["segment_dimension"] = ["channel", "", ""]
    assert fields["segment_value"] == ["email", "", ""]
    same = posted(editor, url, **fields, expected_version="2")
    assert same.status_code == 303 and app.state.runtime.goals.get(goal_id).version == 2

    # A form read at version 1 is refused (409), saying who changed it; the values stay.
    stale = posted(
        editor,
        url,
        metric="new_customers",
        period=periods.running,
        target="50",
        owners="sales, marketing",
        segment_dimension=["channel"],
        segment_value=["email"],
        expected_version="1",
    )
    assert stale.status_code == 409
    text = message(stale.text)
    assert "changed since it was read" in text and "editor@example.com" in text
    assert 'value="50"' in stale.text and 'name="expected_version" value="2"' in stale.text
    assert app.state.runtime.goals.get(goal_id).target == 45

    old = posted(editor, f"{url}/delete", expected_version="1")
    assert old.status_code == 409 and "changed since it was read" in message(old.text)
    gone = posted(editor, f"{url}/delete", expected_version="2")
    assert gone.status_code == 303 and gone.headers["location"] == f"/goals?deleted={goal_id}"
    after = editor.get(gone.headers["location"]).text
    assert f"Deleted goal {goal_id}, new_customers for {periods.running}" in message(after)
    assert f'id="goal-{goal_id}"' not in after
    history = editor.get(url)  # the history of a deleted goal stays
    assert history.status_code == 200 and "data-deleted" in history.text
    assert re.findall(r'data-action="(\w+)"', history.text) == [
        "deleted",
        "changed",
        "created",
    ]
    assert editor.get("/goals/999999").status_code == 404


def test_writes_do_not_wait_for_the_warehouse(
    app: Any, browser_of: dict[str, TestClient], periods: Periods, monkeypatch: pytest.MonkeyPatch
) -> None:
    editor = browser_of["editor"]
    token = csrf_of(editor.get("/goals").text)

    def busy(*args: object, **kwargs: object) -> None:
        raise AssertionError("a goal form opened the warehouse")

    monkeypatch.setattr(app.state.runtime.gate, "workspace", busy)
    form = {"csrf_token": token, "metric": "opportunities_created", "period": periods.upcoming}
    r = editor.post("/goals", data=form | {"target": "20"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:500]
    goal_id = int(r.headers["location"].split("?")[0].rsplit("/", 1)[1])
    r = editor.post(
        f"/goals/{goal_id}",
        data=form | {"target": "25", "expected_version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    r = editor.post(
        f"/goals/{goal_id}/delete",
        data={"csrf_token": token, "expected_version": "2"},
        follow_redirects=False,
    )
    assert r.status_code == 303


def test_viewers_see_no_forms_and_cannot_post(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    goal = app.state.runtime.goals.set(GoalSpec("mqls", periods.running, 300))
    viewer = browser_of["viewer"]
    for url in ("/goals", f"/goals/{goal.id}"):
        page = viewer.get(url).text
        forms = re.findall(r'<form method="post" action="([^"]+)"', page)
        assert forms == ["/logout"], (url, forms)  # signing out is the only form
        assert "expected_version" not in page and "Set a goal" not in page
    token = csrf_of(viewer.get("/goals").text)
    form = {"csrf_token": token, "metric": "mqls", "period": periods.running, "target": "1"}
    attempts = [
        viewer.post("/goals", data=form),
        viewer.post(f"/goals/{goal.id}", data=form | {"expected_version": "1"}),
        viewer.post(
            f"/goals/{goal.id}/delete", data={"csrf_token": token, "expected_version": "1"}
        ),
    ]
    for r in attempts:
        assert r.status_code == 403, (r.request.url, r.text[:300])
        assert "needs the editor role" in html.unescape(r.text)
    still = app.state.runtime.goals.get(goal.id)
    assert (still.target, still.version) == (300, 1)


def test_forms_without_a_valid_csrf_token_are_refused(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    editor = browser_of["editor"]
    goal = app.state.runtime.goals.set(GoalSpec("mqls", periods.running, 300))
    form = {"metric": "mqls", "period": periods.upcoming, "target": "10"}
    for token in (None, "", "forged-token", csrf_of(browser_of["admin"].get("/goals").text)):
        data = form if token is None else form | {"csrf_token": token}
        for url, extra in (
            ("/goals", {}),
            (f"/goals/{goal.id}", {"expected_version": "1"}),
            (f"/goals/{goal.id}/delete", {"expected_version": "1"}),
        ):
            r = editor.post(url, data=data | extra, follow_redirects=False)
            assert r.status_code == 403, (url, token, r.status_code)
            assert "CSRF" in r.text
    assert [g.id for g in app.state.runtime.goals.list(metric="mqls")] == [goal.id]
    assert app.state.runtime.goals.get(goal.id).version == 1


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"metric": "mql_rate", "target": "45"}, ["out of range", "0.45", "'45%'"]),
        ({"metric": "mqls", "target": "lots"}, ["'lots'", "not a number", "plain number"]),
        ({"metric": "mqls", "target": ""}, ["target of mqls is missing", "count"]),
        ({"metric": "mqls", "target": "10", "period": "next year"}, ["month, a quarter or a year"]),
        (
            {"metric": "mqls", "target": "10", "segment_dimension": ["channel"]},
            ["channel has no value", "Give every chosen dimension a value"],
        ),
        (
            {"metric": "sqls", "target": "10", "owners": "sales"},
            ["shared KPI", "no owner from marketing"],
        ),
    ],
)
def test_a_refused_goal_shows_the_message_naming_the_fix(
    app: Any,
    browser_of: dict[str, TestClient],
    periods: Periods,
    fields: dict[str, Any],
    words: list[str],
) -> None:
    editor = browser_of["editor"]
    r = posted(editor, "/goals", **({"period": periods.upcoming} | fields))
    assert r.status_code == 400, r.text[:300]
    text = message(r.text)
    for word in words:
        assert word in text, text
    assert "<details" in r.text and 'id="set-goal" open' in r.text  # the form stays open
    if fields.get("target"):
        assert f'name="target" value="{fields["target"]}"' in r.text  # as typed
    assert app.state.runtime.goals.list(metric=fields["metric"]) == []


def test_the_history_shows_both_peoples_changes(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    editor, admin = browser_of["editor"], browser_of["admin"]
    form = {"metric": "opportunities_created", "period": periods.running, "owners": "sales"}
    created = posted(editor, "/goals", **form, target="150", note="plan A")
    url = created.headers["location"].split("?")[0]
    changed = posted(
        admin, url, **form, target="180", stretch="200", note="plan B", expected_version="1"
    )
    assert changed.status_code == 303
    page = browser_of["viewer"].get(url).text
    rows = re.findall(r'<tr data-version="(\d+)" data-action="(\w+)" data-actor="([^"]+)">', page)
    assert rows == [("2", "changed", "admin@example.com"), ("1", "created", "editor@example.com")]
    change = page.split('<tr data-version="2"', 1)[1].split("</tr>", 1)[0]
    diffs = dict(
        re.findall(r'data-field="(\w+)"><span class="k">\w+</span>\s*(.*?)\s*</li>', change, re.S)
    )
    assert set(diffs) == {"target", "stretch", "note"}  # only what changed
    assert diffs["target"] == "<del>150</del> → <ins>180</ins>"
    assert diffs["stretch"] == f"<del>{MISSING}</del> → <ins>200</ins>"
    assert diffs["note"] == "<del>plan A</del> → <ins>plan B</ins>"
    assert "editor@example.com" in page and "admin@example.com" in page


def test_a_stored_note_is_escaped(
    app: Any, browser_of: dict[str, TestClient], periods: Periods
) -> None:
    note = "<script>alert(1)</script>"
    goal = app.state.runtime.goals.set(
        GoalSpec("mqls", periods.running, 300, segment={"channel": "email"}, note=note)
    )
    for url in ("/goals", f"/goals/{goal.id}"):
        for role in ("viewer", "editor"):
            page = browser_of[role].get(url).text
            assert "<script>alert(1)" not in page, (url, role)
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, (url, role)


def test_filters_and_pages(app: Any, browser_of: dict[str, TestClient], periods: Periods) -> None:
    book = app.state.runtime.goals
    mine = [
        book.set(GoalSpec("mqls", periods.running, 1)),  # reached already: on track
        book.set(GoalSpec("mqls", periods.upcoming, 10_000_000)),  # beyond reach: off track
    ]
    viewer = browser_of["viewer"]

    def shown(**params: Any) -> list[int]:
        r = viewer.get("/goals", params=params)
        assert r.status_code == 200, r.text[:300]
        return [
            int(i) for i in re.findall(r'<article class="goal-card[^"]*" id="goal-(\d+)"', r.text)
        ]

    ids = [g.id for g in mine]
    assert shown(metric="mqls") == ids  # the running period first
    assert shown(metric="mqls", period=periods.upcoming) == ids[1:]
    assert shown(metric="mqls", status="on_track") == ids[:1]
    assert shown(metric="mqls", status="off_track") == ids[1:]
    assert shown(metric="mqls", limit=1) == ids[:1]
    assert shown(metric="mqls", limit=1, offset=1) == ids[1:]
    page = viewer.get("/goals", params={"metric": "mqls", "limit": 1}).text
    assert "Goals 1\N{EN DASH}1 of 2" in page and 'rel="next"' in page
    assert shown(metric="no_such_metric") == []
    for bad in ({"limit": 201}, {"status": "great"}, {"offset": -1}):
        assert viewer.get("/goals", params=bad).status_code == 422, bad
