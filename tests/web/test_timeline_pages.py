"""Account and person pages, their CSV export and the timeline and search API, for every role."""

from __future__ import annotations

import csv
import io
import re
from typing import Any
from urllib.parse import unquote

import pytest
from tests.web.conftest import TestClient

from revteam.timeline import KINDS


def sql(app: Any, query: str) -> list[tuple[Any, ...]]:
    return app.state.runtime.read(
        ("test-timeline-sql", query), lambda ws: ws.warehouse.con.execute(query).fetchall()
    ).value


@pytest.fixture(scope="module")
def account(app: Any) -> str:
    """The account with the most deals (more than one page of events)."""
    return sql(
        app,
        "SELECT account_id FROM opportunities WHERE account_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )[0][0]


def rows_of(html: str) -> list[str]:
    table = html.split('data-table="timeline"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr data-kind="(\w+)" data-key="([^"]+)"', table)


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_role_reads_the_pages_and_the_api(
    role: str, browser_of: dict[str, TestClient], app: Any, account: str, members: Any
) -> None:
    client = browser_of[role]
    for path in ("/accounts", "/accounts?q=a", f"/accounts/{account}"):
        r = client.get(path)
        assert r.status_code == 200, (path, r.text[:300])
    api = TestClient(app, headers=members[role].bearer)
    r = api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 5})
    assert r.status_code == 200 and len(r.json()["events"]) == 5
    assert api.get("/api/v1/search", params={"q": "a"}).status_code == 200


def test_the_account_page_shows_its_header_kpis_identity_and_a_page_of_events(
    browser_of: dict[str, TestClient], api: TestClient, account: str, app: Any
) -> None:
    client = browser_of["viewer"]
    html = client.get(f"/accounts/{account}").text
    body = api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 50}).json()
    assert body["total"] > 50  # more than a page
    name = sql(app, f"SELECT name FROM accounts WHERE account_id = '{account}'")[0][0]
    assert f"<h1>{name}</h1>" in html
    assert [f"{e['source_table']}:{e['source_key']}" for e in body["events"]] == [
        key for _, key in rows_of(html)
    ]
    for kpi in body["header"]["kpis"]:
        assert f'data-kpi="{kpi["metric"]}"' in html and kpi["display"] in html
    deals = body["header"]["deals"]
    assert f"{deals['won']} · {deals['open']} · {deals['lost']}" in html
    assert 'data-identity="not-run"' in html and "has not run" in html
    assert f'href="/accounts/{account}/timeline.csv"' in html
    assert 'class="active nav-accounts"' in html  # "Accounts" in the nav, current
    second = client.get(f"/accounts/{account}?page=2").text
    later = api.get(
        f"/api/v1/accounts/{account}/timeline", params={"limit": 50, "offset": 50}
    ).json()
    assert [k for _, k in rows_of(second)] == [
        f"{e['source_table']}:{e['source_key']}" for e in later["events"]
    ]
    assert 'rel="prev"' in second


def test_kinds_and_as_of_filter_the_page_and_the_api(
    browser_of: dict[str, TestClient], api: TestClient, account: str
) -> None:
    client = browser_of["viewer"]
    html = client.get(f"/accounts/{account}?kinds=opportunity&kinds=deal_stage").text
    assert {k for k, _ in rows_of(html)} == {"opportunity", "deal_stage"}
    assert 'value="opportunity" checked' in html and 'value="touch" checked' not in html
    body = api.get(
        f"/api/v1/accounts/{account}/timeline", params={"kinds": "opportunity,deal_stage"}
    ).json()
    assert body["kinds"] == ["opportunity", "deal_stage"]
    assert body["total"] == body["counts"]["opportunity"] + body["counts"]["deal_stage"]
    everything = api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 500}).json()
    day = everything["events"][len(everything["events"]) // 2]["at"][:10]
    cut = api.get(
        f"/api/v1/accounts/{account}/timeline", params={"as_of": day, "limit": 500}
    ).json()
    assert all(e["at"][:10] <= day for e in cut["events"])
    assert 0 < cut["total"] < everything["total"]
    page = client.get(f"/accounts/{account}?as_of={day}").text
    assert f'value="{day}"' in page
    bad = api.get(f"/api/v1/accounts/{account}/timeline", params={"kinds": "nope"})
    assert bad.status_code == 400 and "Unknown event kind" in bad.json()["message"]
    assert api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 501}).status_code == 422
    assert set(everything["counts"]) == set(KINDS)


def test_the_person_page_and_api(browser_of: dict[str, TestClient], api: TestClient, app: Any):
    person = sql(
        app, "SELECT person_id FROM opportunities WHERE is_won ORDER BY person_id LIMIT 1"
    )[0][0]
    body = api.get(f"/api/v1/people/{person}/timeline", params={"limit": 500}).json()
    assert body["subject"] == "person" and body["person_ids"] == [person]
    assert "account" not in body["counts"]
    assert {e["kind"] for e in body["events"]} >= {"stage", "opportunity"}
    html = browser_of["viewer"].get(f"/people/{person}").text
    assert body["header"]["name"] in html
    assert f'href="/accounts/{body["header"]["account_id"]}"' in html
    assert len(rows_of(html)) == min(50, body["total"])
    r = browser_of["viewer"].get(f"/people/{person}/timeline.csv")
    assert r.status_code == 200 and len(list(csv.reader(io.StringIO(r.text)))) == body["total"] + 1


def test_unknown_ids_answer_404_with_a_clear_message(
    browser_of: dict[str, TestClient], api: TestClient
) -> None:
    for path in ("/accounts/NOPE", "/people/NOPE", "/accounts/NOPE/timeline.csv"):
        r = browser_of["viewer"].get(path)
        assert r.status_code == 404, path
        assert "There is no" in r.text and "NOPE" in r.text
    for path in ("/api/v1/accounts/NOPE/timeline", "/api/v1/people/NOPE/timeline"):
        r = api.get(path)
        assert r.status_code == 404
        assert r.json()["error"] == "unknown_entity" and "'NOPE'" in r.json()["message"]


def test_the_csv_export_holds_every_event(
    browser_of: dict[str, TestClient], api: TestClient, account: str
) -> None:
    r = browser_of["viewer"].get(f"/accounts/{account}/timeline.csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"revteam-account-{account}-timeline.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    total = api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 1}).json()["total"]
    assert len(rows) == total
    assert {"at", "kind", "description", "owner", "source_table", "source_key"} <= set(rows[0])
    only = browser_of["viewer"].get(f"/accounts/{account}/timeline.csv?kinds=order")
    assert {row["kind"] for row in csv.DictReader(io.StringIO(only.text))} <= {"order"}


def test_search_page_and_api(browser_of: dict[str, TestClient], api: TestClient, app: Any):
    name, account = sql(app, "SELECT name, account_id FROM accounts ORDER BY account_id LIMIT 1")[0]
    word = name.split()[0].upper()
    body = api.get("/api/v1/search", params={"q": word}).json()
    hit = next(h for h in body["hits"] if h["id"] == account)
    assert hit["url"] == f"/accounts/{account}" and hit["timeline"].endswith("/timeline")
    html = browser_of["viewer"].get("/accounts", params={"q": word}).text
    assert f'href="/accounts/{account}"' in html
    assert 'data-table="search-accounts"' in html
    assert api.get("/api/v1/search").status_code == 422
    assert api.get("/api/v1/search", params={"q": " "}).status_code == 400


def test_the_records_drill_down_links_to_the_timelines(browser_of: dict[str, TestClient]):
    client = browser_of["viewer"]
    html = client.get("/records?metric=opportunities_created").text
    accounts = re.findall(r'href="(/accounts/[^"]+)" data-timeline', html)
    people = re.findall(r'href="(/people/[^"]+)" data-timeline', html)
    assert accounts and people
    for link in (accounts[0], people[0]):
        r = client.get(unquote(link))
        assert r.status_code == 200 and 'data-table="timeline"' in r.text


def test_the_account_page_says_who_owned_what(
    browser_of: dict[str, TestClient], api: TestClient, account: str
) -> None:
    html = browser_of["viewer"].get(f"/accounts/{account}").text
    owners = api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 1}).json()
    listed = owners["header"]["owners"]
    assert listed and re.findall(r'<tr data-owner="([^"]+)"', html) == [
        o["owner"]["id"] for o in listed
    ]
    for o in listed:
        assert o["owner"]["name"] in html and o["first_at"][:10] in html
    events = api.get(f"/api/v1/accounts/{account}/timeline", params={"limit": 500}).json()
    for e in events["events"]:  # every event names its owner, and whose owner that is
        assert (e["owner_of"] is None) == (e["owner_id"] is None)
        if e["owner_id"]:
            assert e["owner"]


def test_the_pager_goes_to_the_oldest_and_newest_pages_keeping_the_filter(
    browser_of: dict[str, TestClient], api: TestClient, app: Any
) -> None:
    client = browser_of["viewer"]
    busiest = sql(
        app,
        "SELECT account_id FROM people WHERE account_id IS NOT NULL "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )[0][0]
    kinds = [k for k in KINDS if k != "account"]  # a filter, kept by every link
    total = api.get(
        f"/api/v1/accounts/{busiest}/timeline", params={"kinds": kinds, "limit": 1}
    ).json()["total"]
    pages = -(-total // 50)
    assert pages >= 3, total
    base = f"/accounts/{busiest}?" + "&".join(f"kinds={k}" for k in kinds)
    html = client.get(f"{base}&page=2").text
    rels = {
        rel: href.replace("&amp;", "&")
        for href, rel in re.findall(r'href="([^"]+)" rel="(\w+)"', html)
    }
    assert rels == {
        "first": f"{base}&page=1",
        "prev": f"{base}&page=1",
        "next": f"{base}&page=3",
        "last": f"{base}&page={pages}",
    }
    last = client.get(rels["last"]).text
    assert 'rel="next"' not in last and 'rel="last"' not in last
    tail = api.get(
        f"/api/v1/accounts/{busiest}/timeline",
        params={"kinds": kinds, "limit": 50, "offset": (pages - 1) * 50},
    ).json()
    assert [k for _, k in rows_of(last)] == [
        f"{e['source_table']}:{e['source_key']}" for e in tail["events"]
    ]
    beyond = client.get(f"{base}&page={pages + 5}").text
    assert "No events on this page" in beyond
    assert f'href="{base.replace("&", "&amp;")}&amp;page={pages}" rel="prev"' in beyond


def test_the_api_exports_csv_with_owner_and_reason(api: TestClient, app: Any) -> None:
    person = sql(
        app,
        "SELECT person_id FROM people WHERE disqualified_at IS NOT NULL "
        "AND disqualification_reason IS NOT NULL ORDER BY person_id LIMIT 1",
    )[0][0]
    body = api.get(f"/api/v1/people/{person}/timeline", params={"limit": 500}).json()
    r = api.get(f"/api/v1/people/{person}/timeline/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert f"revteam-person-{person}-timeline.csv" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["source_key"] for row in rows] == [e["source_key"] for e in body["events"]]
    out = next(row for row in rows if row["event"] == "disqualified")
    assert out["reason"] and out["reason"] in out["description"].replace(" ", "_")
    assert {row["owner_of"] for row in rows if row["owner_id"]} <= {
        "people", "sales_activities", "opportunities", "accounts",
    }  # fmt: skip
    assert api.get("/api/v1/accounts/NOPE/timeline/export").status_code == 404
    bad = api.get(f"/api/v1/people/{person}/timeline/export", params={"kinds": "nope"})
    assert bad.status_code == 400 and "Unknown event kind" in bad.json()["message"]


def test_an_export_over_max_rows_is_refused_and_the_page_says_so(
    browser_of: dict[str, TestClient],
    api: TestClient,
    app: Any,
    account: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    runtime = app.state.runtime
    total = api.get(
        f"/api/v1/accounts/{account}/timeline", params={"kinds": "activity", "limit": 1}
    ).json()["total"]
    small = runtime.settings.limits.model_copy(update={"max_rows": total - 1})
    monkeypatch.setattr(runtime, "settings", runtime.settings.model_copy(update={"limits": small}))
    r = api.get(f"/api/v1/accounts/{account}/timeline/export", params={"kinds": "activity"})
    assert r.status_code == 400
    body = r.json()
    assert body["error"] == "limit_exceeded" and body["maximum"] == total - 1
    assert body["requested"] == total and "kinds" in body["message"]
    page = browser_of["viewer"].get(f"/accounts/{account}/timeline.csv?kinds=activity")
    assert page.status_code == 400 and "limits.max_rows" in page.text
    html = browser_of["viewer"].get(f"/accounts/{account}?kinds=activity&kinds=order").text
    assert "data-export-refused" in html and "data-export>" not in html
    fine = api.get(f"/api/v1/accounts/{account}/timeline/export", params={"kinds": "order"})
    assert fine.status_code == 200
