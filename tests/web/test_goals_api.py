"""``/api/v1/goals``: goals with pacing and history over REST, roles, conflicts, goals.yaml.

Runs on its own small workspace and app (400 leads, data through 2026-10-31), so the goals it
sets cannot disturb the session's other tests; every test starts without goals.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tests.web.conftest import Member, TestClient, add_members

import revteam
from revteam.generate import GeneratorConfig, generate_company
from revteam.web import WebOptions, create_app

URL = "/api/v1/goals"
FIXED = {
    "metric",
    "period",
    "segment",
    "target",
    "owners",
    "actual",
    "projected",
    "projected_low",
    "projected_high",
    "status",
}
"""The fields every goal's pacing has (the issue fixes them)."""
STATUSES = {"on_track", "at_risk", "off_track"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Member]]]:
    root = tmp_path_factory.mktemp("goals-api")
    generate_company(GeneratorConfig(n_leads=400, seed=3)).write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    members = add_members(root / "ws")
    application = create_app(root / "ws", options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(application):
        yield application, members


@pytest.fixture(scope="module")
def clients(served) -> dict[str, TestClient]:
    application, members = served
    return {role: TestClient(application, headers=m.bearer) for role, m in members.items()}


@pytest.fixture(autouse=True)
def _no_goals_left(clients) -> Iterator[None]:
    yield
    admin = clients["admin"]
    for item in admin.get(URL).json()["items"]:
        assert admin.delete(f"{URL}/{item['id']}").status_code == 200


def created(client: TestClient, **goal: Any) -> dict[str, Any]:
    r = client.post(URL, json=goal)
    assert r.status_code == 201, r.text
    return r.json()


def check_pacing(item: dict[str, Any]) -> None:
    assert set(item) >= FIXED, item
    assert item["status"] in STATUSES
    low, mid, high = item["projected_low"], item["projected"], item["projected_high"]
    if None not in (low, mid, high):
        assert low <= mid <= high, item
    if item["probability"] is not None:
        assert 0 <= item["probability"] <= 1


def test_set_list_show_delete(clients):
    editor, viewer = clients["editor"], clients["viewer"]
    goal = created(editor, metric="leads", period="2026-Q4", target=120, note="push")
    assert (goal["version"], goal["target"], goal["owners"]) == (1, 120.0, ["marketing"])
    assert (goal["start"], goal["end"]) == ("2026-10-01", "2026-12-31")
    rate = created(editor, metric="mql_rate", period="2026-Q3", target="45%")
    assert rate["target"] == 0.45

    listed = viewer.get(URL)
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert body["total"] == 2 and body["stale"] is False
    by_id = {item["id"]: item for item in body["items"]}
    assert set(by_id) == {goal["id"], rate["id"]}
    for item in by_id.values():
        check_pacing(item)
    leads = by_id[goal["id"]]
    assert (leads["as_of"], leads["state"]) == ("2026-10-31", "running")
    assert leads["actual"] is not None and leads["projected"] >= leads["actual"]
    assert leads["version"] == 1

    shown = viewer.get(f"{URL}/{goal['id']}")
    assert shown.status_code == 200, shown.text
    detail = shown.json()
    assert detail["goal"] == goal
    assert detail["pacing"] == leads
    [change] = detail["history"]
    assert (change["action"], change["actor"], change["before"]) == (
        "created",
        "editor@example.com",
        None,
    )
    assert change["after"]["target"] == 120 and change["after"]["note"] == "push"

    assert viewer.get(URL, params={"metric": "mql_rate"}).json()["total"] == 1
    gone = editor.delete(f"{URL}/{goal['id']}")
    assert gone.status_code == 200 and gone.json()["id"] == goal["id"]
    assert viewer.get(f"{URL}/{goal['id']}").status_code == 404
    assert [i["id"] for i in viewer.get(URL).json()["items"]] == [rate["id"]]


def test_two_people_change_one_goal_and_both_changes_are_kept(clients):
    editor, admin = clients["editor"], clients["admin"]
    goal = created(editor, metric="mqls", period="2026-11", target=50)
    url = f"{URL}/{goal['id']}"
    first = admin.get(url).json()["pacing"]

    body = {"metric": "mqls", "period": "2026-11", "target": 60, "expected_version": 1}
    changed = admin.put(url, json=body)
    assert changed.status_code == 200, changed.text
    assert (changed.json()["version"], changed.json()["updated_by"]) == (2, "admin@example.com")
    # The editor still holds version 1: their change is refused, not lost silently.
    stale = editor.put(url, json=body | {"target": 70})
    assert stale.status_code == 409
    assert stale.json()["error"] == "goal_conflict"
    assert "changed since it was read" in stale.json()["message"]
    assert "admin@example.com" in stale.json()["message"]
    # Setting the same scope again (POST) changes that goal: 200, not a second goal.
    again = editor.post(URL, json={"metric": "mqls", "period": "2026-11", "target": 65})
    assert again.status_code == 200 and again.json()["id"] == goal["id"]
    assert again.json()["version"] == 3

    detail = admin.get(url).json()
    history = [(h["version"], h["action"], h["actor"]) for h in detail["history"]]
    assert history == [
        (1, "created", "editor@example.com"),
        (2, "changed", "admin@example.com"),
        (3, "changed", "editor@example.com"),
    ]
    targets = [
        (h["before"] and h["before"]["target"], h["after"]["target"]) for h in detail["history"]
    ]
    assert targets == [(None, 50), (50, 60), (60, 65)]
    # The pacing follows the change at once (same data, new target).
    assert (first["target"], detail["pacing"]["target"]) == (50, 65)
    assert detail["pacing"]["probability"] <= first["probability"]

    assert admin.delete(url, params={"expected_version": 1}).status_code == 409
    assert admin.delete(url, params={"expected_version": 3}).status_code == 200


def test_viewers_cannot_change_goals(clients):
    viewer, editor = clients["viewer"], clients["editor"]
    goal = created(editor, metric="leads", period="2026-11", target=40)
    url = f"{URL}/{goal['id']}"
    body = {"metric": "leads", "period": "2026-11", "target": 1, "expected_version": 1}
    attempts = [
        viewer.post(URL, json={"metric": "leads", "period": "2026-12", "target": 1}),
        viewer.put(url, json=body),
        viewer.delete(url),
        viewer.post(f"{URL}/import", content="goals: []\n", headers={"content-type": "text/yaml"}),
        viewer.post(
            f"{URL}/import",
            params={"replace": "true"},
            content="goals: []\n",
            headers={"content-type": "text/yaml"},
        ),
    ]
    for r in attempts:
        assert r.status_code == 403, (r.request.method, r.request.url, r.text)
        assert r.json()["error"] == "permission_denied"
    [still] = viewer.get(URL).json()["items"]
    assert (still["id"], still["target"], still["version"]) == (goal["id"], 40, 1)


@pytest.mark.parametrize(
    ("goal", "words"),
    [
        (
            {"metric": "mql_rate", "period": "2026-Q4", "target": 45},
            ["out of range", "0.45", "45%"],
        ),
        ({"metric": "leads", "period": "2026-Q4", "target": "45%"}, ["percentage", "count"]),
        (
            {"metric": "leadz", "period": "2026-Q4", "target": 1},
            ["no metric 'leadz'", "metrics list"],
        ),
        ({"metric": "leads", "period": "2026-W03", "target": 1}, ["month, a quarter or a year"]),
        ({"metric": "leads", "period": "2026-Q4", "target": -1}, ["cannot be negative"]),
        ({"metric": "leads", "period": "2026-Q4", "target": 5, "stretch": 4}, ["not above"]),
        (
            {
                "metric": "lead_conversion_rate",
                "period": "2026-Q4",
                "target": 0.2,
                "owners": ["sales"],
            },
            ["shared KPI", "Marketing"],
        ),
        (
            {"metric": "leads", "period": "2026-Q4", "target": 1, "owners": ["nobody@example.com"]},
            ["not a user"],
        ),
        (
            {"metric": "leads", "period": "2026-Q4", "target": 1, "segment": {"planet": "mars"}},
            ["planet"],
        ),
    ],
)
def test_bad_goals_are_a_400_that_says_why(clients, goal, words):
    r = clients["editor"].post(URL, json=goal)
    assert r.status_code == 400, r.text
    for word in words:
        assert word in r.json()["message"]
    assert clients["editor"].get(URL).json()["total"] == 0


def test_a_deleted_goals_id_is_never_given_to_another(clients):
    editor = clients["editor"]
    first = created(editor, metric="leads", period="2026-Q4", target=120)
    assert editor.delete(f"{URL}/{first['id']}").status_code == 200
    second = created(editor, metric="mqls", period="2026-Q4", target=50)
    history = editor.get(f"{URL}/{second['id']}").json()["history"]
    assert second["id"] != first["id"]
    assert [h["action"] for h in history] == ["created"]


def test_a_target_is_a_number_or_text(clients):
    editor = clients["editor"]
    for target in (True, None, [1]):
        r = editor.post(URL, json={"metric": "leads", "period": "2026-Q4", "target": target})
        assert r.status_code == 422, (target, r.text)
    assert created(editor, metric="leads", period="2026-Q4", target="1,200")["target"] == 1200


def test_overlaps_stale_versions_and_unknown_ids(clients):
    editor = clients["editor"]
    goal = created(editor, metric="leads", period="2026-Q4", target=120)
    overlap = editor.post(URL, json={"metric": "leads", "period": "2026-10", "target": 40})
    assert overlap.status_code == 409
    assert f"overlaps goal {goal['id']}" in overlap.json()["message"]
    # The same months for one segment are another goal, not an overlap.
    created(editor, metric="leads", period="2026-10", target=5, segment={"channel": "email"})

    body = {"metric": "leads", "period": "2026-Q4", "target": 1, "expected_version": 1}
    for r in (
        editor.get(f"{URL}/999999"),
        editor.put(f"{URL}/999999", json=body),
        editor.delete(f"{URL}/999999"),
    ):
        assert r.status_code == 404, r.text
        assert "no goal 999999" in r.json()["message"]
    missing = editor.put(
        f"{URL}/{goal['id']}", json={k: v for k, v in body.items() if k != "expected_version"}
    )
    assert missing.status_code == 422  # a change names the version it was made from
    assert editor.get(URL, params={"as_of": "0001-01-01"}).status_code == 400


def test_pacing_as_of_another_day(clients):
    created(clients["editor"], metric="pipeline_created", period="2026-Q4", target=300_000)
    early = clients["viewer"].get(URL, params={"as_of": "2026-08-15"}).json()["items"][0]
    late = clients["viewer"].get(URL).json()["items"][0]
    assert (early["as_of"], early["state"]) == ("2026-08-15", "upcoming")
    assert (late["as_of"], late["state"]) == ("2026-10-31", "running")
    for item in (early, late):
        check_pacing(item)


def test_goals_yaml_round_trips_exactly(clients):
    editor, viewer = clients["editor"], clients["viewer"]
    created(editor, metric="leads", period="2026-Q4", target=120, stretch=150, note="push")
    created(editor, metric="leads", period="2026-Q4", target=30, segment={"channel": "email"})
    created(editor, metric="mql_rate", period="2026-11", target="42.5%", direction="higher")
    created(
        editor,
        metric="lead_conversion_rate",
        period="2027",
        target=0.1,
        owners=["sales", "marketing", "revops"],
    )
    exported = viewer.get(f"{URL}/export")
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/yaml")
    text = exported.text
    assert text.startswith("goals:\n") and "channel: email" in text and "0.425" in text

    def imported(yaml_text: str, **params: str) -> Any:
        headers = {"content-type": "text/yaml"}
        return editor.post(f"{URL}/import", content=yaml_text, headers=headers, params=params)

    same = imported(text)
    assert same.status_code == 200, same.text
    assert same.json() == {"goals": 4, "changed": 0}
    assert viewer.get(f"{URL}/export").content == exported.content
    assert all(len(g["history"]) == 1 for g in _details(viewer))

    changed = imported(text.replace("target: 120", "target: 125"))
    assert changed.json() == {"goals": 4, "changed": 1}
    # All or none: one bad goal and nothing changes, with every problem named.
    bad = text.replace("target: 125", "target: 130").replace("target: 0.1", "target: 10")
    refused = imported(bad.replace("target: 30", "target: '30%'"))
    assert refused.status_code == 400
    message = refused.json()["message"]
    assert "2 problem(s); nothing was changed" in message
    # Goals are numbered in the file's order: period, metric, then segment.
    assert "goal 1 (leads 2026-Q4): The target '30%' is a percentage" in message
    assert "goal 4 (lead_conversion_rate 2027): The target '10'" in message
    assert "target: 125" in viewer.get(f"{URL}/export").text

    kept = (
        "goals:\n- metric: leads\n  period: 2026-Q4\n  target: 125\n  stretch: 150\n  note: push\n"
    )
    replaced = imported(kept, replace="true")
    assert replaced.json() == {"goals": 1, "changed": 3}
    assert viewer.get(f"{URL}/export").text == kept
    assert imported("goals: [}").status_code == 400


def _details(client: TestClient) -> list[dict[str, Any]]:
    items = client.get(URL).json()["items"]
    return [client.get(f"{URL}/{i['id']}").json() for i in items]


def test_goals_are_in_the_openapi_document(clients):
    paths = clients["viewer"].get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths[URL])
    assert {"get", "put", "delete"} <= set(paths[f"{URL}/{{goal_id}}"])
    assert "post" in paths[f"{URL}/import"] and "get" in paths[f"{URL}/export"]


def test_goals_need_a_sign_in(served):
    application, _ = served
    anon = TestClient(application)
    assert anon.get(URL).status_code == 401
    assert (
        anon.post(URL, json={"metric": "leads", "period": "2026-Q4", "target": 1}).status_code
        == 401
    )


def test_writes_do_not_wait_for_the_warehouse(served, clients, monkeypatch):
    """Set, change and delete while the warehouse cannot be opened: only pacing needs it."""
    application, _ = served
    runtime = application.state.runtime

    def busy(*args: object, **kwargs: object) -> None:
        raise AssertionError("a goal write opened the warehouse")

    monkeypatch.setattr(runtime.gate, "workspace", busy)
    editor = clients["editor"]
    goal = created(editor, metric="leads", period="2026-12", target=30)
    body = {"metric": "leads", "period": "2026-12", "target": 35, "expected_version": 1}
    assert editor.put(f"{URL}/{goal['id']}", json=body).status_code == 200
    assert editor.get(f"{URL}/export").status_code == 200
    assert editor.delete(f"{URL}/{goal['id']}").status_code == 200


def test_posting_an_existing_goal_again_is_a_200_not_a_creation(clients):
    editor = clients["editor"]
    goal = created(editor, metric="sqls", period="2026-Q4", target=40)
    again = editor.post(URL, json={"metric": "sqls", "period": "2026-Q4", "target": 40})
    assert again.status_code == 200 and again.json()["version"] == goal["version"] == 1
    changed = editor.post(URL, json={"metric": "sqls", "period": "2026-Q4", "target": 45})
    assert changed.status_code == 200 and changed.json()["version"] == 2
