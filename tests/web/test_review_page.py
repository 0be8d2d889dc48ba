"""The review page, its downloads and `/api/v1/review` / `/api/v1/actions`: one pack, and
action items with their role rules."""

from __future__ import annotations

import io
import re
from typing import Any

import pypdfium2
from tests.web.conftest import TestClient, csrf_of

from revteam.metrics import periods as P
from revteam.web.pages.render import Page


def period_of(app: Any) -> str:
    runtime = app.state.runtime
    as_of = Page(runtime).as_of()
    start = P.latest_complete(as_of, "month", runtime.settings.fiscal_year_start_month, None)
    return P.label(start, "month")


def test_the_page_and_the_api_show_one_pack(
    app: Any, api: TestClient, browser_of: dict[str, TestClient]
) -> None:
    period = period_of(app)
    html = browser_of["viewer"].get("/review").text
    assert f'data-pack="{period}"' in html and f"Revenue review · {period}" in html
    body = api.get("/api/v1/review", params={"period": period}).json()
    assert body["period"] == period and body["sections"][0] == "scorecard"
    for s in body["scorecard"][:5]:
        assert f'data-metric="{s["metric"]}"' in html
    # the downloads are the same pack
    md = api.get("/api/v1/review", params={"period": period, "format": "markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith(f"# Revenue review · {period}")
    page_md = browser_of["viewer"].get(f"/review/pack.md?period={period}")
    assert page_md.text == md.text
    pdf = browser_of["viewer"].get(f"/review/pack.pdf?period={period}")
    assert pdf.headers["content-type"] == "application/pdf"
    doc = pypdfium2.PdfDocument(io.BytesIO(pdf.content))
    assert f"Revenue review · {period}" in doc[0].get_textpage().get_text_range()
    html_doc = browser_of["viewer"].get(f"/review/pack.html?period={period}").text
    assert html_doc.startswith("<!doctype html>") and "<script" not in html_doc


def test_bad_periods_are_refused(api: TestClient, browser_of: dict[str, TestClient]) -> None:
    for params, status in (
        ({"period": "2099-01"}, 400),
        ({"period": "2026"}, 400),
        ({"period": "soon"}, 400),
        ({"period": "2026-03", "grain": "day"}, 422),
        ({"period": "2026-03", "format": "docx"}, 422),
    ):
        r = api.get("/api/v1/review", params=params)
        assert r.status_code == status, (params, r.text[:200])
    assert browser_of["viewer"].get("/review/pack.exe?period=2026-03").status_code in (404, 422)


def test_action_items_follow_the_roles(
    app: Any, api: TestClient, browser_of: dict[str, TestClient], members: dict[str, Any]
) -> None:
    editor, viewer = browser_of["editor"], browser_of["viewer"]
    # viewers read, but cannot add
    page = viewer.get("/review").text
    assert 'data-form="action"' not in page
    r = viewer.post(
        "/review/actions",
        data={"csrf_token": csrf_of(page), "title": "x", "owner": members["viewer"].email},
    )
    assert r.status_code == 403
    # an editor adds one owned by the viewer
    page = editor.get("/review").text
    r = editor.post(
        "/review/actions",
        data={
            "csrf_token": csrf_of(page),
            "title": "Rework the retargeting audience",
            "owner": members["viewer"].email,
            "due": "2026-04-30",
            "metric": "sales_qualification_rate",
            "segment_dimension": "campaign",
            "segment_value": "C011",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:300]
    items = api.get("/api/v1/actions").json()
    item = next(i for i in items if i["title"] == "Rework the retargeting audience")
    assert item["segment"] == {"campaign": "C011"} and item["status"] == "open"
    # it is in the pack now (the pack's cache key holds the items' revision)
    body = api.get("/api/v1/review", params={"period": period_of(app)}).json()
    assert item["id"] in [i["id"] for i in body["actions_open"]]
    # the editor is not its owner: closing it is refused; its owner closes it
    page = editor.get("/review").text
    r = editor.post(
        f"/review/actions/{item['id']}/close",
        data={"csrf_token": csrf_of(page), "expected_version": "1"},
    )
    assert r.status_code == 403
    page = viewer.get("/review").text
    assert re.search(rf'action="/review/actions/{item["id"]}/close"', page)
    r = viewer.post(
        f"/review/actions/{item['id']}/close",
        data={"csrf_token": csrf_of(page), "expected_version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    closed = next(i for i in api.get("/api/v1/actions?status=all").json() if i["id"] == item["id"])
    assert closed["status"] == "closed" and closed["closed_by"] == members["viewer"].email
    audit = app.state.runtime.app.audit.list(limit=5)
    assert [e.action for e in audit[:2]] == ["action_item.close", "action_item.add"]


def test_the_api_adds_and_refuses(app: Any, api: TestClient, members: dict[str, Any]) -> None:
    viewer = api.post("/api/v1/actions", json={"title": "x", "owner": members["editor"].email})
    assert viewer.status_code == 403
    api = TestClient(app, headers=members["editor"].bearer)
    r = api.post(
        "/api/v1/actions",
        json={"title": "Publish the new MQL definition", "owner": members["editor"].email},
    )
    assert r.status_code == 201, r.text
    item = r.json()
    assert api.post("/api/v1/actions", json={"title": "", "owner": "a@b.c"}).status_code == 422
    r = api.post(
        "/api/v1/actions",
        json={"title": "x", "owner": members["editor"].email, "metric": "sqr"},
    )
    assert r.status_code == 400 and "Unknown metric" in r.json()["message"]
    r = api.post(f"/api/v1/actions/{item['id']}/close", json={"expected_version": 9})
    assert r.status_code == 409
    assert api.post("/api/v1/actions/99999/close", json={}).status_code == 404
    assert api.post(f"/api/v1/actions/{item['id']}/close", json={}).status_code == 200
