"""``/api/v1/scoring/thresholds``: propose an MQL threshold, both teams sign it off."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import PASSWORD, TestClient, csrf_of, sign_in

import revteam
from revteam.app import CLI, open_app
from revteam.web import WebOptions, create_app

PEOPLE = {
    "sales": ("editor", "sales"),
    "marketing": ("editor", "marketing"),
    "viewer": ("viewer", "sales"),
}


@pytest.fixture(scope="module")
def site(company_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("thresholds") / "ws"
    shutil.copytree(company_ws, root, ignore=shutil.ignore_patterns("*.lock", "revteam.db*"))
    with revteam.open(root):
        pass
    tokens = {}
    with open_app(root) as state:
        for name, (role, team) in PEOPLE.items():
            user, _ = state.users.add(f"{name}@example.com", role=role, team=team,
                                      password=PASSWORD)  # fmt: skip
            tokens[name] = state.tokens.create(user.id, "t", actor=CLI)[1]
    app = create_app(root, options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(app):
        clients: dict[str, Any] = {
            name: TestClient(app, headers={"Authorization": f"Bearer {token}"})
            for name, token in tokens.items()
        }
        for name in PEOPLE:  # and each signed in, for the forms
            browser = TestClient(app)
            assert sign_in(browser, f"{name}@example.com").status_code == 303
            clients[f"{name}-browser"] = browser
        yield clients


def test_propose_then_both_teams_approve(site: dict[str, Any]) -> None:
    sales, marketing, viewer = site["sales"], site["marketing"], site["viewer"]
    assert viewer.post("/api/v1/scoring/thresholds", json={"threshold": 0.2}).status_code == 403
    assert sales.post("/api/v1/scoring/thresholds", json={"threshold": 2}).status_code == 422
    made = sales.post("/api/v1/scoring/thresholds", json={"threshold": 0.2, "note": "capacity"})
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    assert made.headers["Location"] == f"/api/v1/scoring/thresholds/{pid}"
    first = sales.post(f"/api/v1/scoring/thresholds/{pid}/votes", json={"vote": "approve"})
    assert first.json()["status"] == "open" and first.json()["missing"] == ["marketing"]
    assert viewer.get("/api/v1/scoring/thresholds").json()["agreed"] is None
    second = marketing.post(f"/api/v1/scoring/thresholds/{pid}/votes", json={"vote": "approve"})
    assert second.json()["status"] == "agreed"
    listed = viewer.get("/api/v1/scoring/thresholds").json()
    assert listed["agreed"]["threshold"] == 0.2 and listed["proposals"][0]["id"] == pid
    assert viewer.get("/api/v1/scoring/threshold").json()["agreed"]["id"] == pid
    again = marketing.post(f"/api/v1/scoring/thresholds/{pid}/votes", json={"vote": "approve"})
    assert again.status_code == 400 and "already agreed" in again.text


def test_the_page_shows_the_threshold_in_force(site: dict[str, Any]) -> None:
    viewer = site["viewer"]
    listed = viewer.get("/api/v1/scoring/thresholds").json()
    html = viewer.get("/lead-scoring").text
    if listed["agreed"] is None:
        assert 'data-agreed=""' in html
    else:
        assert f'data-agreed="{listed["agreed"]["threshold"]}"' in html


def post_form(client: TestClient, path: str, data: dict[str, str]) -> Any:
    token = csrf_of(client.get("/lead-scoring/threshold").text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_both_teams_sign_off_on_the_page(site: dict[str, Any]) -> None:
    sales, marketing = site["sales-browser"], site["marketing-browser"]
    viewer = site["viewer-browser"]
    page = sales.get("/lead-scoring/threshold").text
    assert "data-propose-form" in page and 'data-recommended="' in page
    assert "data-propose-form" not in viewer.get("/lead-scoring/threshold").text
    refused = viewer.post("/lead-scoring/threshold", data={"threshold": "0.3", "csrf_token": "x"})
    assert refused.status_code in (403, 400)
    made = post_form(sales, "/lead-scoring/threshold", {"threshold": "0.314", "note": "room"})
    assert made.status_code == 303, made.text[:500]
    page = sales.get("/lead-scoring/threshold").text
    pid = re.search(r'data-pending="(\d+)"', page).group(1)
    assert "data-vote-form" in page  # sales has not voted yet
    voted = post_form(sales, f"/lead-scoring/threshold/{pid}/vote", {"vote": "approve"})
    assert voted.status_code == 303
    page = marketing.get("/lead-scoring/threshold").text
    assert "data-missing>marketing<" in page and "data-vote-form" in page
    # the scoring page, cached until now, shows the change at once
    before = marketing.get("/lead-scoring").text
    assert 'data-agreed="0.314"' not in before
    rejected = post_form(marketing, f"/lead-scoring/threshold/{pid}/vote", {"vote": "reject"})
    assert rejected.status_code == 400 and "needs a reason" in rejected.text
    done = post_form(marketing, f"/lead-scoring/threshold/{pid}/vote", {"vote": "approve"})
    assert done.status_code == 303
    assert 'data-agreed="0.314"' in marketing.get("/lead-scoring/threshold").text
    assert 'data-agreed="0.314"' in marketing.get("/lead-scoring").text
