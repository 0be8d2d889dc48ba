"""Defining KPIs together on the web: the form, its impact preview, two sign-offs, the history.

A workspace of its own (approving changes its catalogue, which the session's app must not
see), with an editor in Sales, one in Marketing, one in RevOps, and a viewer.
"""

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

SQR = "sales_qualification_rate"
PEOPLE = {
    "sales": ("editor", "sales"),
    "marketing": ("editor", "marketing"),
    "ops": ("editor", "revops"),
    "viewer": ("viewer", "sales"),
}


@pytest.fixture(scope="module")
def site(company_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("definitions") / "ws"
    shutil.copytree(company_ws, root, ignore=shutil.ignore_patterns("*.lock", "revteam.db*"))
    with revteam.open(root):
        pass
    tokens = {}
    with open_app(root) as state:
        for name, (role, team) in PEOPLE.items():
            user, _ = state.users.add(
                f"{name}@example.com", role=role, team=team, password=PASSWORD
            )
            tokens[name] = state.tokens.create(user.id, "t", actor=CLI)[1]
    app = create_app(root, options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(app):
        clients = {}
        for name in PEOPLE:
            client = TestClient(app)
            assert sign_in(client, f"{name}@example.com").status_code == 303
            clients[name] = client
        yield {"app": app, "clients": clients, "tokens": tokens, "root": root}


def window_yaml(client: TestClient, days: int) -> str:
    """The form's starting text (the agreed definition) with another window."""
    page = client.get(f"/definitions/new?metric={SQR}")
    assert page.status_code == 200
    text = re.search(r"<textarea[^>]*data-definition>(.*?)</textarea>", page.text, re.S)
    assert text, page.text[:500]
    yaml = text.group(1).replace("&#39;", "'").replace("&quot;", '"').replace("&amp;", "&")
    assert "window_days: 60" in yaml
    return yaml.replace("window_days: 60", f"window_days: {days}")


def post(client: TestClient, path: str, data: dict[str, str], *, csrf_from: str) -> Any:
    token = csrf_of(client.get(csrf_from).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def test_propose_preview_and_approve_twice(site: dict[str, Any]) -> None:
    c = site["clients"]
    api = {
        n: TestClient(site["app"], headers={"Authorization": f"Bearer {t}"})
        for n, t in site["tokens"].items()
    }
    params = {"metrics": SQR, "start": "2026-03-01", "end": "2026-03-31"}
    before = api["viewer"].get("/api/v1/query", params=params).json()["rows"][0]["value"]
    text = window_yaml(c["sales"], 30)
    # the preview: the metric layer's numbers with each definition, nothing proposed yet
    r = post(
        c["sales"],
        "/definitions/new",
        {"text": text, "reason": "a month", "action": "preview"},
        csrf_from="/definitions/new",
    )
    assert r.status_code == 200, r.text[:500]
    assert "+window_days: 30" in r.text.replace("&#43;", "+") and 'data-table="periods"' in r.text
    preview = api["sales"].post("/api/v1/proposals/preview", json={"text": text}).json()
    march = next(p for p in preview["periods"] if p["period"] == "2026-03")
    assert march["before"] == pytest.approx(before, abs=1e-12) and march["after"] < march["before"]
    assert api["viewer"].get("/api/v1/proposals").json()["proposals"] == []
    # a broken definition is refused with the catalogue's reason, the text kept
    broken = text.replace("kind: cohort_rate", "kind: magic")
    r = post(
        c["sales"],
        "/definitions/new",
        {"text": broken, "reason": "x", "action": "preview"},
        csrf_from="/definitions/new",
    )
    assert r.status_code == 400 and "does not work" in r.text and "kind: magic" in r.text
    # propose, then one approval per team
    r = post(
        c["sales"],
        "/definitions/new",
        {"text": text, "reason": "a month", "action": "propose"},
        csrf_from="/definitions/new",
    )
    assert r.status_code == 303, r.text[:500]
    where = r.headers["location"].split("?")[0]
    page = c["marketing"].get(where)
    assert "data-approve" in page.text and 'data-table="periods"' in page.text
    assert "data-approve" not in c["ops"].get(where).text  # RevOps does not sign a shared KPI
    assert "data-approve" not in c["viewer"].get(where).text
    r = post(c["sales"], f"{where}/vote", {"vote": "approve"}, csrf_from=where)
    assert r.status_code == 303
    assert api["viewer"].get("/api/v1/query", params=params).json()["rows"][0]["value"] == before
    r = post(c["ops"], f"{where}/vote", {"vote": "approve"}, csrf_from=where)
    assert r.status_code == 400 and "needs the sign-off of marketing and sales" in r.text
    r = post(c["marketing"], f"{where}/vote", {"vote": "approve"}, csrf_from=where)
    assert r.status_code == 303
    assert 'data-status="approved"' in c["viewer"].get(where).text
    after = api["viewer"].get("/api/v1/query", params=params).json()["rows"][0]["value"]
    assert after == pytest.approx(march["after"], abs=1e-12)  # the preview was the truth
    then = api["viewer"].get("/api/v1/query", params={**params, "defined_on": "2020-01-01"})
    assert then.json()["rows"][0]["value"] == pytest.approx(before, abs=1e-12)
    # statistics and records take the same `defined_on`: rates by channel as they stood
    q1 = {"start": "2026-01-01", "end": "2026-03-31"}
    old_by = (
        api["viewer"]
        .get(
            "/api/v1/query",
            params={
                "metrics": SQR,
                "by": "channel",
                "grain": "quarter",
                **q1,
                "defined_on": "2020-01-01",
            },
        )
        .json()["rows"]
    )
    old_rate = {r["dimensions"]["channel"]: r["value"] for r in old_by if not r["is_total"]}
    for day, rates in (("2020-01-01", old_rate), (None, None)):
        ranked = api["viewer"].get(
            "/api/v1/stats/rank",
            params={"metric": SQR, "by": "channel", **q1, **({"defined_on": day} if day else {})},
        )
        assert ranked.status_code == 200, ranked.text
        raw = {r["segment"]: r["raw_rate"] for r in ranked.json()["rows"]}
        if rates is not None:
            assert raw == pytest.approx(rates, abs=1e-12)
        else:
            assert raw != pytest.approx(old_rate, abs=1e-12)
    # and so does the review pack: its scorecard's SQR for March, as agreed then and now
    for day, value in (("2020-01-01", before), (None, after)):
        extra = {"defined_on": day} if day else {}
        pack = api["viewer"].get("/api/v1/review", params={"period": "2026-03", **extra})
        assert pack.status_code == 200, pack.text[:300]
        (score,) = [x for x in pack.json()["scorecard"] if x["metric"] == SQR]
        assert score["value"] == pytest.approx(value, abs=1e-12)
    far = api["viewer"].get(
        "/api/v1/stats/rank", params={"metric": SQR, "defined_on": "1800-01-01"}
    )
    assert far.status_code == 400 and "defined_on" in far.text
    # the catalogue page shows the version, who signed and why
    page = c["viewer"].get(f"/catalogue/{SQR}")
    assert 'data-version="1"' in page.text and "marketing@example.com" in page.text
    assert "Window</dt><dd>30 days" in page.text
    history = api["viewer"].get("/api/v1/definitions/history", params={"metric": SQR}).json()
    assert [v["version"] for v in history["versions"]] == [1]


def test_the_scorecard_is_chosen_together(site: dict[str, Any]) -> None:
    c = site["clients"]
    start = c["sales"].get("/definitions/new?scorecard=true")
    text = re.search(r"<textarea[^>]*data-definition>(.*?)</textarea>", start.text, re.S)
    assert text and "scorecard:" in text.group(1)
    proposed = (
        "scorecard:\n  sections:\n    - title: The hand-off\n"
        "      metrics: [sales_qualification_rate, {metric: mqls, owner: marketing}, sqls]\n"
        "    - title: Money\n      metrics: [marketing_sourced_revenue, cac]\n"
    )
    r = post(
        c["marketing"],
        "/definitions/new",
        {"text": proposed, "reason": "fewer, sharper", "action": "preview"},
        csrf_from="/definitions/new",
    )
    assert r.status_code == 200
    assert 'data-move="mqls" data-change="added"' in r.text
    assert 'data-move="clv" data-change="removed"' in r.text
    r = post(
        c["marketing"],
        "/definitions/new",
        {"text": proposed, "reason": "fewer, sharper", "action": "propose"},
        csrf_from="/definitions/new",
    )
    where = r.headers["location"].split("?")[0]
    overview = c["viewer"].get("/").text
    assert 'id="tile-clv"' in overview  # one approval does not change it
    post(c["marketing"], f"{where}/vote", {"vote": "approve"}, csrf_from=where)
    assert 'id="tile-clv"' in c["viewer"].get("/").text
    post(c["sales"], f"{where}/vote", {"vote": "approve"}, csrf_from=where)
    overview = c["viewer"].get("/").text
    tiles = re.findall(r'id="tile-(\w+)"', overview)
    assert tiles[:5] == [
        "sales_qualification_rate",
        "mqls",
        "sqls",
        "marketing_sourced_revenue",
        "cac",
    ]
    assert "The hand-off" in overview and "clv" not in tiles
    assert re.search(r'id="tile-mqls" class="tile owner-marketing', overview)


def test_rejection_needs_a_reason_and_unknown_metrics_are_named(site: dict[str, Any]) -> None:
    c = site["clients"]
    page = c["sales"].get("/definitions/new?metric=sales_qualification_rat")
    assert page.status_code == 404 and "sales_qualification_rate" in page.text
    bad = "scorecard:\n  sections:\n    - title: X\n      metrics: [sqlz]\n"
    r = post(
        c["sales"],
        "/definitions/new",
        {"text": bad, "reason": "x", "action": "preview"},
        csrf_from="/definitions/new",
    )
    assert r.status_code == 400 and "unknown metric" in r.text and "sqls" in r.text
    proposal = TestClient(
        site["app"], headers={"Authorization": f"Bearer {site['tokens']['sales']}"}
    ).post(
        "/api/v1/proposals",
        json={
            "text": (
                "id: leads\nlabel: Leads\nowners: marketing\nkind: count\nunit: count\n"
                "table: people\ntime: created_at\ndescription: every lead\n"
            ),
            "reason": "tidy",
        },
    )
    assert proposal.status_code == 201, proposal.text
    where = f"/definitions/{proposal.json()['id']}"
    assert proposal.json()["needs"] == ["marketing"]
    r = post(c["marketing"], f"{where}/vote", {"vote": "reject"}, csrf_from=where)
    assert r.status_code == 400 and "needs a reason" in r.text
    r = post(
        c["marketing"], f"{where}/vote", {"vote": "reject", "reason": "keep it"}, csrf_from=where
    )
    assert r.status_code == 303
    assert 'data-status="rejected"' in c["viewer"].get(where).text
    r = post(
        c["viewer"],
        "/definitions/new",
        {"text": bad, "reason": "x", "action": "preview"},
        csrf_from="/definitions",
    )
    assert r.status_code == 403


def test_withdraw_and_rebase_through_the_api_and_the_pages(site: dict[str, Any]) -> None:
    from revteam.metrics import shipped_catalogue
    from revteam.proposals.impact import definition_text

    c = site["clients"]
    api = {
        n: TestClient(site["app"], headers={"Authorization": f"Bearer {t}"})
        for n, t in site["tokens"].items()
    }
    shipped = definition_text(shipped_catalogue(), "sqls")

    def propose(label: str) -> int:
        text = shipped.replace("label: SQLs", f"label: {label}")
        made = api["sales"].post("/api/v1/proposals", json={"text": text, "reason": label})
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    # withdraw through the API: its proposer, nobody else (an admin may; none here)
    first = propose("SQLs (A)")
    for who in ("viewer", "marketing", "ops"):
        r = api[who].post(f"/api/v1/proposals/{first}/withdraw")
        assert r.status_code == 403, (who, r.text)
    r = api["sales"].post(f"/api/v1/proposals/{first}/withdraw")
    assert r.status_code == 200 and r.json()["status"] == "withdrawn"
    vote = api["marketing"].post(f"/api/v1/proposals/{first}/votes", json={"vote": "approve"})
    assert vote.status_code == 409 and "already withdrawn" in vote.text
    again = api["sales"].post(f"/api/v1/proposals/{first}/withdraw")
    assert again.status_code == 409
    # and through the pages
    second = propose("SQLs (B)")
    where = f"/definitions/{second}"
    assert "data-withdraw" not in c["marketing"].get(where).text
    for who in ("viewer", "marketing"):
        r = post(c[who], f"{where}/withdraw", {}, csrf_from=where)
        assert r.status_code == 403, (who, r.text[:300])
    assert 'data-status="open"' in c["viewer"].get(where).text
    r = post(c["sales"], f"{where}/withdraw", {}, csrf_from=where)
    assert r.status_code == 303 and r.headers["location"].endswith("?voted=withdraw")
    assert 'data-status="withdrawn"' in c["viewer"].get(where).text
    r = post(c["marketing"], f"{where}/vote", {"vote": "approve"}, csrf_from=where)
    assert r.status_code == 409
    # rebase through the API: made on the shipped definition, then another change is agreed
    late, agreed = propose("SQLs (late)"), propose("SQLs (agreed)")
    api["sales"].post(f"/api/v1/proposals/{late}/votes", json={"vote": "approve"})
    for who in ("sales", "marketing"):
        r = api[who].post(f"/api/v1/proposals/{agreed}/votes", json={"vote": "approve"})
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    r = api["marketing"].post(f"/api/v1/proposals/{late}/votes", json={"vote": "approve"})
    assert r.status_code == 409 and "rebase" in r.text
    assert api["viewer"].post(f"/api/v1/proposals/{late}/rebase").status_code == 403
    r = api["marketing"].post(f"/api/v1/proposals/{late}/rebase")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["base_version"] == 1 and body["missing"] == ["marketing", "sales"]
    assert [(v["voter"], v["counts"]) for v in body["votes"]] == [("sales@example.com", False)]
    page = c["viewer"].get(f"/definitions/{late}").text
    assert 'data-counts="false"' in page and "no longer counts" in page
    for who in ("marketing", "sales"):
        r = api[who].post(f"/api/v1/proposals/{late}/votes", json={"vote": "approve"})
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved"
    history = api["viewer"].get("/api/v1/definitions/history", params={"metric": "sqls"}).json()
    assert [v["version"] for v in history["versions"]] == [2, 1]
