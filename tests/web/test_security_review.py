"""The security review's passing checks, kept: nothing is open, CSRF guards every change, stored
text is escaped on every page.

Routes are enumerated from the app itself (and the OpenAPI document), never from a hand-kept
list, so a route added later is checked without anyone remembering to.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from tests.web.conftest import PASSWORD, TestClient, add_members, empty_app, sign_in

import revteam
from revteam.app import CLI, open_app
from revteam.generate import GeneratorConfig, generate_company

PUBLIC = {"/login", "/api/v1/health", "/vendor/vega-embed-{version}.js"}
SAMPLES = {"metric_id": "leads", "metric": "leads", "name": "channel"}
SAFE = {"GET", "HEAD", "OPTIONS"}


def app_routes(app) -> list[tuple[str, str]]:
    """(method, path template) of every route the app serves, walking its included routers."""
    out = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            out += [(method, context.path) for method in context.methods or ()]
    return sorted(out)


def concrete(path: str) -> str:
    """A path template with sample values: ids are 1, names are real ones."""
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: SAMPLES.get(m.group(1), "1"), path)


# --- Nothing is open without a sign-in ----------------------------------------------------------


def test_every_route_refuses_anonymous_callers(app, anon: TestClient):
    routes = [(m, p) for m, p in app_routes(app) if p not in PUBLIC]
    assert len(routes) > 40
    for method, template in routes:
        r = anon.request(method, concrete(template), follow_redirects=False)
        if template.startswith("/api/"):
            assert r.status_code == 401, (method, template, r.status_code)
            assert r.json()["error"] == "authentication"
        elif method in SAFE:
            assert r.status_code == 303, (method, template, r.status_code)
            assert r.headers["location"].startswith("/login?next=")
        else:
            assert r.status_code in {303, 401}, (method, template, r.status_code)
    public = [(m, p) for m, p in app_routes(app) if p in PUBLIC]
    assert {p for _, p in public} == PUBLIC  # the only open doors, and they exist


def test_every_operation_of_the_openapi_document_refuses_anonymous_callers(
    app, anon: TestClient, admin_api: TestClient
):
    document = admin_api.get("/api/v1/openapi.json").json()
    served = set(app_routes(app))
    operations = [
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method in ops
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    assert len(operations) > 20
    assert anon.get("/api/v1/openapi.json").status_code == 401
    for method, path in operations:
        assert (method, path) in served, (method, path)
        if path in PUBLIC:
            continue
        r = anon.request(method, concrete(path))
        assert r.status_code == 401, (method, path, r.status_code)
        assert r.headers["www-authenticate"].startswith("Bearer")


# --- Every state-changing route needs its CSRF token with a cookie session ----------------------


def test_every_state_changing_route_needs_a_csrf_token_with_a_cookie_session(tmp_path: Path):
    app, members = empty_app(tmp_path)
    changing = [(m, p) for m, p in app_routes(app) if m not in SAFE and p != "/login"]
    assert len(changing) >= 10
    with TestClient(app) as admin:
        assert sign_in(admin, members["admin"].email).status_code == 303
        with open_app(tmp_path / "ws") as state:
            before = (len(state.users.list()), state.audit.count())
        for method, template in changing:
            path = concrete(template)
            if template.startswith("/api/"):
                r = admin.request(method, path, json={"email": "new@example.com", "name": "x"})
                assert r.status_code == 403, (method, template, r.status_code)
                assert r.json()["error"] == "csrf"
            else:
                r = admin.request(method, path, data={"name": "x"}, follow_redirects=False)
                assert r.status_code == 403, (method, template, r.status_code)
                assert "CSRF" in r.text
        with open_app(tmp_path / "ws") as state:
            assert (len(state.users.list()), state.audit.count()) == before  # nothing happened
        assert admin.get("/api/v1/me").status_code == 200  # not even the sign-out
        login = TestClient(app)
        r = login.post(
            "/login",
            data={"email": members["admin"].email, "password": PASSWORD},
            follow_redirects=False,
        )
        assert r.status_code == 400 and "revteam_session" not in r.cookies


# --- Stored text is escaped on every page ---------------------------------------------------------

PAYLOADS = {
    "campaigns": ("name", "<script>alert('campaign')</script>"),
    "accounts": ("name", "'><img src=x onerror=alert('account')>"),
    "opportunities": ("name", "</script><svg onload=alert('opportunity')>"),
    "people": ("company_name", "<iframe src=javascript:alert('person')>"),
    "users": ("name", "<b onmouseover=alert('owner')>rep</b>"),
}
USER_NAME = "<script>alert('user')</script>"
TOKEN_NAME = "<img src=x onerror=alert('token')>"
RAW = re.compile(r"<(script|img|svg|iframe|b)[ >][^<]*alert\(", re.IGNORECASE)


def _with_payload(table: pa.Table, column: str, payload: str) -> pa.Table:
    index = table.schema.get_field_index(column)
    values = [None if v is None else f"{payload}{v}" for v in table[column].to_pylist()]
    return table.set_column(index, column, pa.array(values, pa.string()))


@pytest.fixture(scope="module")
def stored_xss(tmp_path_factory: pytest.TempPathFactory):
    """A workspace whose names, in the data and in the application database, are attacks."""
    root = tmp_path_factory.mktemp("xss")
    company = generate_company(GeneratorConfig(n_leads=400, seed=5))
    for table, (column, payload) in PAYLOADS.items():
        company.tables[table] = _with_payload(company.tables[table], column, payload)
    company.write(root / "data")
    refused = root / "data" / "more<svg onload=alert('file')>.csv"  # shown in the load history
    columns = company.tables["accounts"].column_names
    row = dict.fromkeys(columns, "") | {"account_id": "A-XSS", "employees": "many"}  # refused
    with refused.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, columns)
        writer.writeheader()
        writer.writerow(row | {"name": PAYLOADS["accounts"][1]})
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
        ws.ingest.load("accounts", refused)
    add_members(root / "ws")
    with open_app(root / "ws") as state:
        user, _ = state.users.add(
            "xss@example.com", name=USER_NAME, role="admin", team="revops", password=PASSWORD
        )
        state.tokens.create(user.id, TOKEN_NAME, actor=CLI)
    with revteam.open(root / "ws") as ws:  # a proposal whose reason is a payload
        leads = "id: leads\nlabel: Leads\nowners: marketing\nkind: count\nunit: count\n"
        ws.proposals.propose(
            leads + "table: people\ntime: created_at\ndescription: x\n", reason=USER_NAME
        )
    from revteam.web import WebOptions, create_app

    application = create_app(root / "ws", options=WebOptions(warm=False, idle_seconds=30))
    with TestClient(application) as client:
        assert sign_in(client, "xss@example.com").status_code == 303
        yield application, client


def _escaped(text: str) -> str:
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&#34;")
        .replace("'", "&#39;")
    )


def _pages(app) -> list[str]:
    extra = {
        "/records": [
            f"/records?metric={m}"
            for m in ("leads", "pipeline_created", "new_customers", "opportunities_won")
        ],
        "/catalogue/{metric}": ["/catalogue/leads"],
        "/insights/{metric}": ["/insights/leads", "/insights/sales_qualification_rate?by=campaign"],
        "/records.csv": [],  # data, not a page: text/csv, never rendered as HTML
        "/accounts": ["/accounts", "/accounts?q=a"],
        "/accounts/{account_id}": ["/accounts/A000001"],
        "/people/{person_id}": ["/people/P0000001"],
        "/accounts/{account_id}/timeline.csv": [],  # data, like /records.csv
        "/people/{person_id}/timeline.csv": [],
        "/definitions/{proposal_id}": ["/definitions/1"],
    }
    out = []
    for method, template in app_routes(app):
        if method == "GET" and not template.startswith(("/api/", "/vendor/")):
            out += extra.get(template, [template] if "{" not in template else [])
    return sorted(out)


def test_stored_text_is_escaped_on_every_page(stored_xss):
    app, client = stored_xss
    pages = _pages(app)
    assert {"/", "/campaigns", "/admin/users", "/account", "/records?metric=leads"} <= set(pages)
    shown: dict[str, set[str]] = {}
    for path in pages:
        r = client.get(path, follow_redirects=False)
        if path == "/login":
            assert r.status_code == 303  # signed in already
            continue
        assert r.status_code == 200, (path, r.text[:300])
        assert r.headers["content-type"].startswith("text/html"), path
        assert not RAW.search(r.text), (path, RAW.search(r.text))
        assert _escaped(USER_NAME) in r.text, path  # the header names the signed-in user
        payloads = [p for _, p in PAYLOADS.values()] + [USER_NAME, TOKEN_NAME]
        shown[path] = {p for p in payloads if _escaped(p) in r.text}
    expected = {
        "/campaigns": PAYLOADS["campaigns"][1],
        "/account": TOKEN_NAME,
        "/records?metric=leads": PAYLOADS["people"][1],
        "/records?metric=pipeline_created": PAYLOADS["opportunities"][1],
        "/data": PAYLOADS["accounts"][1],  # a quarantined row's record
        "/accounts?q=a": PAYLOADS["accounts"][1],
        "/accounts/A000001": PAYLOADS["accounts"][1],
        "/people/P0000001": PAYLOADS["people"][1],
        "/admin/users": USER_NAME,
        "/definitions/1": USER_NAME,
    }
    for path, payload in expected.items():
        assert payload in shown[path], (path, shown[path])
    assert _escaped("more<svg onload=alert('file')>.csv") in client.get("/data").text
