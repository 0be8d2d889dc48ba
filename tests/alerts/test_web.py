"""The Alerts page and /api/v1/alerts: viewers read, editors add and delete, failures show."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.alerts.conftest import Clock, EmptyWorkspace
from tests.web.conftest import (
    Member,
    TestClient,
    _cheap_hashing,  # noqa: F401 (argon2 at test strength, as in tests/web)
    add_members,
    csrf_of,
    sign_in,
)

import revteam
from revteam.alerts import AlertRunner, AlertStore
from revteam.web import WebOptions, create_app

URL = "https://hooks.example.com/services/T0/B0/s3cr3tTOKEN42"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, dict[str, Member]]]:
    """An empty workspace (alert pages need no data) whose server runs no scheduler."""
    root = tmp_path_factory.mktemp("alerts-web") / "ws"
    revteam.init(root, alerts={"scheduler": False}).close()
    members = add_members(root)
    app = create_app(root, options=WebOptions(warm=False))
    with TestClient(app):
        yield app, members


@pytest.fixture(scope="module")
def clients(site: tuple[Any, dict[str, Member]]) -> dict[str, TestClient]:
    app, members = site
    out = {}
    for role, m in members.items():
        client = TestClient(app)
        assert sign_in(client, m.email).status_code == 303
        out[role] = client
    return out


def api(site: tuple[Any, dict[str, Member]], role: str) -> TestClient:
    app, members = site
    return TestClient(app, headers=members[role].bearer)


RULE = {
    "name": "No data for a day",
    "kind": "stale_data",
    "hours": 24,
    "channels": [
        {"type": "email", "target": "ops@example.com"},
        {"type": "webhook", "target": URL, "format": "slack"},
    ],
}


def test_the_api_lets_viewers_read_and_editors_change(site: Any) -> None:
    app, _ = site
    assert app.state.alerts is None  # [alerts] scheduler = false
    viewer, editor = api(site, "viewer"), api(site, "editor")
    refused = viewer.post("/api/v1/alerts", json=RULE)
    assert refused.status_code == 403 and refused.json()["error"] == "permission_denied"
    made = editor.post("/api/v1/alerts", json=RULE)
    assert made.status_code == 201, made.text
    rule = made.json()
    assert rule["owner"] == "editor@example.com" and rule["params"]["hours"] == 24
    assert rule["channels"][1]["target"] == "slack webhook https://hooks.example.com/…EN42"
    listed = viewer.get("/api/v1/alerts").json()
    assert [r["name"] for r in listed["items"]] == [RULE["name"]] and listed["total"] == 1
    assert "s3cr3t" not in viewer.get("/api/v1/alerts").text
    status = viewer.get("/api/v1/alerts/status")
    assert status.status_code == 200 and status.json()["active"] == []
    assert viewer.delete(f"/api/v1/alerts/{rule['id']}").status_code == 403
    assert editor.post("/api/v1/alerts", json=RULE).status_code == 400  # the name is taken
    gone = editor.delete(f"/api/v1/alerts/{rule['id']}")
    assert gone.status_code == 200 and gone.json()["name"] == RULE["name"]
    assert editor.delete(f"/api/v1/alerts/{rule['id']}").status_code == 404


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"schedule": "every Monday"}, 400, "daily 07:30"),
        ({"kind": "review_pack", "hours": None}, 400, "needs a schedule"),
        ({"fdr": 0.1}, 400, "takes no fdr"),
        ({"metric": "leeds"}, 400, "takes no metric"),
        ({"name": "x" * 101}, 422, "name"),
        ({"hours": 10**9}, 422, "hours"),
        ({"channels": []}, 400, "at least one channel"),
        ({"channels": [{"type": "webhook", "target": "javascript:alert(1)"}]}, 400, "http"),
        ({"channels": [{"type": "sms", "target": "+1"}]}, 422, "type"),
        ({"surprise": 1}, 422, "surprise"),
    ],
)
def test_bounded_inputs_are_refused_with_the_fix(
    site: Any, change: dict[str, Any], status: int, says: str
) -> None:
    body = {**RULE, "name": "refused", **change}
    answer = api(site, "admin").post("/api/v1/alerts", json=body)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["message"]
    assert api(site, "admin").get("/api/v1/alerts").json()["total"] == 0


def test_the_page_lets_viewers_read_and_editors_add_and_delete(
    clients: dict[str, TestClient],
) -> None:
    viewer, editor = clients["viewer"], clients["editor"]
    page = viewer.get("/alerts")
    assert page.status_code == 200 and "No alert rules yet" in page.text
    assert 'action="/alerts"' not in page.text  # no form for viewers
    assert 'href="/alerts"' in page.text  # the nav link
    form = {
        "csrf_token": csrf_of(page.text),
        "name": "Stale",
        "kind": "stale_data",
        "hours": "36",
        "emails": "ops@example.com",
    }
    refused = viewer.post("/alerts", data=form, follow_redirects=False)
    assert refused.status_code == 403
    mine = editor.get("/alerts")
    assert 'action="/alerts"' in mine.text
    bad = editor.post("/alerts", data={**form, "csrf_token": csrf_of(mine.text), "hours": "soon"})
    assert bad.status_code == 400 and "not a number" in bad.text
    assert 'value="Stale"' in bad.text  # the form keeps what was typed
    added = editor.post(
        "/alerts", data={**form, "csrf_token": csrf_of(mine.text)}, follow_redirects=False
    )
    assert added.status_code == 303 and added.headers["location"].startswith("/alerts?added=")
    shown = editor.get(added.headers["location"])
    assert "Added alert rule" in shown.text
    assert "no load or no new records for 36 h" in shown.text
    rule_id = re.search(r'data-rule="(\d+)"', shown.text)
    assert rule_id
    assert (
        viewer.post(
            f"/alerts/{rule_id[1]}/delete",
            data={"csrf_token": csrf_of(viewer.get("/alerts").text)},
            follow_redirects=False,
        ).status_code
        == 403
    )
    no_csrf = editor.post(f"/alerts/{rule_id[1]}/delete", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403
    deleted = editor.post(
        f"/alerts/{rule_id[1]}/delete",
        data={"csrf_token": csrf_of(shown.text)},
        follow_redirects=False,
    )
    assert deleted.status_code == 303
    assert "No alert rules yet" in editor.get(deleted.headers["location"]).text


def test_a_failing_webhook_shows_on_the_page_and_in_the_status(
    site: Any, clients: dict[str, TestClient], httpserver: HTTPServer
) -> None:
    app, _ = site
    runtime = app.state.runtime
    httpserver.expect_request("/hooks/secret", method="POST").respond_with_data("no", status=500)
    clock = Clock(dt.datetime(2026, 11, 2, 8, 0))
    runner = AlertRunner(
        AlertStore(runtime.app.db),
        lambda: nullcontext(EmptyWorkspace(runtime.root)),
        runtime.settings,
        clock=clock,
    )
    made = api(site, "editor").post(
        "/api/v1/alerts",
        json={
            "name": "Hook",
            "kind": "stale_data",
            "hours": 1,
            "tables": ["people"],
            "channels": [{"type": "webhook", "target": httpserver.url_for("/hooks/secret")}],
        },
    )
    assert made.status_code == 201, made.text
    try:
        assert [a.status for a in runner.run().attempts] == ["failed", "failed"]
        clock.advance(minutes=1)
        assert [a.attempt for a in runner.run().attempts] == [2, 2]  # retried with back-off
        page = clients["viewer"].get("/alerts")
        assert page.status_code == 200
        rows = re.findall(
            r'<tr data-delivery="\d+" data-status="(\w+)"( class="delivery-failed")?', page.text
        )
        assert [r[0] for r in rows] == [
            "pending",
            "pending",
            "failed",
            "failed",
            "failed",
            "failed",
        ]
        assert all(r[1] for r in rows if r[0] == "failed")  # highlighted
        assert "answered HTTP 500" in page.text and "4 failed" in page.text
        assert "hooks/secret" not in page.text  # the URL is shortened
        assert 'href="/data">No new records in people for 1 hour (none at all)</a>' in page.text
        status = api(site, "viewer").get("/api/v1/alerts/status").json()
        assert len(status["failures"]) == 4
        assert all("answered HTTP 500" in f["error"] for f in status["failures"])
        assert {c["title"] for c in status["active"]} == {
            "No data loaded for 1 hour (never)",
            "No new records in people for 1 hour (none at all)",
        }
    finally:
        api(site, "admin").delete(f"/api/v1/alerts/{made.json()['id']}")


def test_the_server_runs_one_scheduler_per_process(tmp_path: Path) -> None:
    revteam.init(tmp_path / "ws").close()
    app = create_app(tmp_path / "ws", options=WebOptions(warm=False))
    scheduler = app.state.alerts
    assert scheduler is not None and scheduler._thread is None
    with TestClient(app):
        assert scheduler._thread is not None and scheduler._thread.is_alive()
        assert scheduler.tick() is True  # no rules: a run that finds nothing to do
    assert scheduler._thread is None
