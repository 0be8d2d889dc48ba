"""The REST API: every route, pagination, and clear 4xx JSON for every bad request."""

from __future__ import annotations

import csv
import io

import pytest
from tests.web.conftest import TestClient

INJECTIONS = [
    "email' OR '1'='1",
    "x'); DROP TABLE people; --",
    '"; DELETE FROM opportunities; --',
    "paid_search\x00",
    "%' UNION SELECT password_hash FROM users --",
    "' || (SELECT 1) || '",
]


def assert_error(r, status: int, code: str | None = None, text: str = ""):
    assert r.status_code == status, (r.status_code, r.text[:300])
    body = r.json()
    assert set(body) >= {"error", "message", "status"}
    assert body["status"] == status
    if code:
        assert body["error"] == code
    assert text in body["message"]


def test_health_and_me(api: TestClient, members):
    assert api.get("/api/v1/health").json()["status"] == "ok"
    assert api.get("/api/v1/me").json()["email"] == members["viewer"].email


def test_list_and_show_metrics(api: TestClient):
    listed = api.get("/api/v1/metrics").json()
    ids = [m["id"] for m in listed["items"]]
    assert {"leads", "cac", "lead_conversion_rate", "marketing_roi"} <= set(ids)
    assert listed["total"] == len(ids) and listed["next_offset"] is None
    shared = api.get("/api/v1/metrics", params={"owners": "shared"}).json()["items"]
    assert shared and all(m["owners"] == "shared" for m in shared)
    page = api.get("/api/v1/metrics", params={"limit": 5, "offset": 5}).json()
    assert [m["id"] for m in page["items"]] == ids[5:10] and page["next_offset"] == 10
    cac = api.get("/api/v1/metrics/cac").json()
    assert cac["owners"] == "shared" and set(cac["references"]) == {"total_cost", "new_customers"}
    sql = api.get("/api/v1/metrics/leads/sql", params={"by": "channel"}).json()
    assert "SELECT" in sql["sql"] and sql["dialect"] == "duckdb"


def test_query_matches_the_python_api(api: TestClient, company_ws):
    params = {
        "metrics": ["leads", "win_rate"],
        "by": "channel",
        "grain": "quarter",
        "start": "2026-01-01",
        "end": "2026-06-30",
    }
    got = api.get("/api/v1/query", params=params).json()
    assert got["grain"] == "quarter" and got["data_version"] > 0
    rows = got["rows"]
    total = next(
        r for r in rows if r["metric"] == "leads" and r["is_total"] and r["period"] == "2026-01-01"
    )
    by_channel = [
        r
        for r in rows
        if r["metric"] == "leads" and not r["is_total"] and r["period"] == "2026-01-01"
    ]
    assert total["value"] == sum(r["value"] for r in by_channel)
    assert {r["dimensions"]["channel"] for r in by_channel} >= {"paid_search", "email"}
    posted = api.post("/api/v1/query", json={**params, "by": ["channel"]}).json()
    assert posted["rows"] == rows


def test_query_filters_and_pagination(api: TestClient):
    base = {"metrics": "leads", "grain": "month", "channel": ["email", "events"]}
    filtered = api.get("/api/v1/query", params=base).json()
    everything = api.get("/api/v1/query", params={"metrics": "leads"}).json()
    assert sum(r["value"] for r in filtered["rows"]) < sum(r["value"] for r in everything["rows"])
    first = api.get("/api/v1/query", params={**base, "limit": 3}).json()
    assert len(first["rows"]) == 3 and first["next_offset"] == 3
    second = api.get("/api/v1/query", params={**base, "limit": 3, "offset": 3}).json()
    assert first["rows"][0] != second["rows"][0] and second["total"] == first["total"]


@pytest.mark.parametrize(
    ("params", "status", "code", "text"),
    [
        ({"metrics": "not_a_metric"}, 404, "unknown_metric", "Unknown metric 'not_a_metric'"),
        ({"metrics": "lead"}, 404, "unknown_metric", "Did you mean"),
        (
            {"metrics": "website_sessions", "by": "campaign"},
            400,
            "unsupported_dimension",
            "supports: channel, source_detail",
        ),
        ({"metrics": "leads", "by": "colour"}, 400, "metric_query", "Invalid dimension"),
        ({"metrics": "leads", "grain": "fortnight"}, 422, "invalid_parameters", "grain"),
        ({"metrics": "leads", "start": "2025-13-01"}, 422, "invalid_parameters", "start"),
        ({"metrics": "leads", "start": "yesterday"}, 422, "invalid_parameters", "start"),
        (
            {"metrics": "leads", "start": "2026-05-01", "end": "2026-01-01"},
            400,
            "metric_query",
            "start on or before end",
        ),
        ({"metrics": "leads", "channel": "carrier_pigeon"}, 400, "metric_query", "channel"),
        ({"metrics": "leads", "limit": 0}, 422, "invalid_parameters", "limit"),
        ({"metrics": "leads", "limit": 10**6}, 422, "invalid_parameters", "limit"),
        ({}, 422, "invalid_parameters", "metrics"),
    ],
)
def test_bad_query_parameters_are_clear_4xx_json(api: TestClient, params, status, code, text):
    assert_error(api.get("/api/v1/query", params=params), status, code, text)


def test_bad_bodies_and_paths(api: TestClient):
    assert_error(api.post("/api/v1/query", json={"metrics": []}), 422, "invalid_parameters")
    assert_error(api.post("/api/v1/query", json={"metrics": ["leads"], "nope": 1}), 422)
    assert_error(
        api.post(
            "/api/v1/query", content=b"{not json", headers={"content-type": "application/json"}
        ),
        422,
    )
    assert_error(api.get("/api/v1/metrics/not_a_metric"), 404, "unknown_metric")
    assert_error(api.get("/api/v1/dimensions/colour/values"), 400, "metric_query")
    assert_error(api.get("/api/v1/nothing-here"), 404)
    assert_error(api.delete("/api/v1/metrics"), 405)


@pytest.mark.parametrize("value", INJECTIONS)
def test_sql_injection_in_filter_values_is_only_ever_a_value(api: TestClient, value):
    for dim in ("campaign", "country", "source_detail"):
        r = api.get("/api/v1/query", params={"metrics": ["leads", "mqls"], dim: value})
        assert r.status_code == 200, r.text
        assert all(row["value"] in (0, None) for row in r.json()["rows"])
    r = api.get("/api/v1/records", params={"metric": "leads", "campaign": value})
    assert r.status_code == 200 and r.json()["total"] == 0
    r = api.get("/api/v1/dimensions/campaign/values", params={"q": value})
    assert r.status_code == 200 and r.json()["total"] == 0
    closed = api.get("/api/v1/query", params={"metrics": "leads", "channel": value})
    assert closed.status_code == 400  # a closed vocabulary refuses it by name
    # ... and the data is all still there.
    assert api.get("/api/v1/query", params={"metrics": "leads"}).json()["rows"]


def test_dimensions_and_their_values(api: TestClient):
    dims = {d["name"]: d for d in api.get("/api/v1/dimensions").json()}
    assert dims["channel"]["closed"] and not dims["campaign"]["closed"]
    assert dims["disqualification_reason"]["kind"] == "breakdown"
    channels = api.get("/api/v1/dimensions/channel/values").json()
    assert "paid_search" in [v["value"] for v in channels["items"]]
    campaigns = api.get("/api/v1/dimensions/campaign/values", params={"limit": 5}).json()
    assert campaigns["total"] > 5 and len(campaigns["items"]) == 5
    assert campaigns["items"][0]["label"] != campaigns["items"][0]["value"]  # the name
    found = api.get("/api/v1/dimensions/campaign/values", params={"q": "always on"}).json()
    assert found["total"] >= 5 and all("always on" in v["label"].lower() for v in found["items"])


@pytest.mark.parametrize(
    "metric",
    [
        "leads",
        "revenue",
        "win_rate",
        "lead_conversion_rate",
        "cost_per_lead",
        "open_pipeline",
        "email_open_rate",
    ],
)
def test_records_add_up_to_the_number(api: TestClient, metric):
    q = api.get(
        "/api/v1/query",
        params={"metrics": metric, "start": "2026-03-01", "end": "2026-03-31", "channel": "email"},
    ).json()
    [row] = [r for r in q["rows"] if r["is_total"]]
    records = api.get(
        "/api/v1/records",
        params={"metric": metric, "start": "2026-03-01", "end": "2026-03-31", "channel": "email"},
    ).json()
    assert records["total"] == row["n"], (metric, records["description"])
    assert len(records["rows"]) == min(100, records["total"])
    if row["denominator"] is not None and metric != "cost_per_lead":
        flag = "converted" if "converted" in records["columns"] else "in_numerator"
        everything = api.get(
            "/api/v1/records",
            params={
                "metric": metric,
                "start": "2026-03-01",
                "end": "2026-03-31",
                "channel": "email",
                "limit": 1000,
            },
        ).json()["rows"]
        assert sum(bool(r[flag]) for r in everything) == row["numerator"]


def test_records_of_ratio_parts_derived_metrics_and_paging(api: TestClient):
    cpl = api.get(
        "/api/v1/records",
        params={
            "metric": "cost_per_lead",
            "part": "numerator",
            "start": "2026-03-01",
            "end": "2026-03-31",
        },
    ).json()
    assert cpl["source"] == "marketing_cost" and cpl["relation"] == "costs"
    roi = api.get("/api/v1/records", params={"metric": "marketing_roi"}).json()
    assert roi["source"] == "marketing_cost"  # a derived metric drills into its one-metric part
    assert_error(
        api.get("/api/v1/records", params={"metric": "pipeline_velocity", "part": "numerator"}),
        400,
        "metric_query",
        "computed from",
    )
    assert_error(
        api.get("/api/v1/records", params={"metric": "leads", "network": "linkedin"}),
        400,
        "unsupported_dimension",
    )
    assert_error(
        api.get(
            "/api/v1/records",
            params={"metric": "leads", "start": "2026-02-01", "end": "2026-01-01"},
        ),
        400,
    )
    one = api.get("/api/v1/records", params={"metric": "leads", "limit": 2}).json()
    two = api.get("/api/v1/records", params={"metric": "leads", "limit": 2, "offset": 2}).json()
    assert one["next_offset"] == 2 and one["rows"] != two["rows"]


def test_records_export_as_csv(api: TestClient):
    r = api.get(
        "/api/v1/records/export",
        params={"metric": "revenue", "start": "2026-01-01", "end": "2026-06-30"},
    )
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    count = api.get(
        "/api/v1/records", params={"metric": "revenue", "start": "2026-01-01", "end": "2026-06-30"}
    ).json()["total"]
    assert len(rows) == count and "opportunity_id" in rows[0]


def test_users_api_for_admins(admin_api: TestClient):
    created = admin_api.post(
        "/api/v1/users", json={"email": "new@example.com", "role": "editor", "team": "marketing"}
    )
    assert created.status_code == 201
    body = created.json()
    assert body["password"] and body["user"]["role"] == "editor"
    uid = body["user"]["id"]
    assert admin_api.get(f"/api/v1/users/{uid}").json()["email"] == "new@example.com"
    patched = admin_api.patch(f"/api/v1/users/{uid}", json={"team": "sales", "active": False})
    assert patched.json()["team"] == "sales" and not patched.json()["is_active"]
    reset = admin_api.post(f"/api/v1/users/{uid}/reset-password").json()
    assert reset["password"] and reset["password"] != body["password"]
    listed = admin_api.get("/api/v1/users", params={"limit": 2}).json()
    assert listed["total"] >= 4 and len(listed["items"]) == 2
    assert_error(
        admin_api.post("/api/v1/users", json={"email": "new@example.com"}), 409, "user_exists"
    )
    assert_error(
        admin_api.post("/api/v1/users", json={"email": "x@example.com", "role": "owner"}), 422
    )
    assert_error(admin_api.post("/api/v1/users", json={"email": "nope"}), 400, "user")
    assert_error(
        admin_api.post("/api/v1/users", json={"email": "y@example.com", "password": "short"}),
        400,
        "password_policy",
    )
    assert_error(admin_api.get("/api/v1/users/99999"), 404, "unknown_user")
    audit = admin_api.get("/api/v1/audit", params={"limit": 5}).json()
    assert audit["items"][0]["action"] in {"user.reset_password", "user.update"}


def test_tokens_api(app, members):
    client = TestClient(app, headers=members["editor"].bearer)
    created = client.post("/api/v1/tokens", json={"name": "ci", "days": 30})
    assert created.status_code == 201
    secret, tid = created.json()["secret"], created.json()["token"]["id"]
    assert secret.startswith("rvt_")
    listed = client.get("/api/v1/tokens").json()
    assert any(t["id"] == tid and t["active"] for t in listed)
    assert all("secret" not in t and "token_hash" not in t for t in listed)
    fresh = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert fresh.get("/api/v1/me").json()["email"] == members["editor"].email
    assert client.delete(f"/api/v1/tokens/{tid}").json()["active"] is False
    assert fresh.get("/api/v1/me").status_code == 401
    assert_error(client.delete("/api/v1/tokens/99999"), 404)


def test_data_api_for_admins(admin_api: TestClient):
    status = admin_api.get("/api/v1/data/status").json()
    people = next(t for t in status["tables"] if t["name"] == "people")
    assert people["rows"] == 5_000 and status["data_version"] > 0
    runs = admin_api.get("/api/v1/data/runs", params={"limit": 3}).json()
    assert runs["total"] >= 13 and len(runs["rows"]) == 3
    q = admin_api.get("/api/v1/data/quarantine").json()
    assert q["total"] == len(q["rows"]) or q["next_offset"] is not None


def test_openapi_document_covers_every_api_route(api: TestClient, anon: TestClient):
    assert anon.get("/api/v1/openapi.json").status_code == 401
    doc = api.get("/api/v1/openapi.json").json()
    paths = set(doc["paths"])
    assert {
        "/api/v1/query",
        "/api/v1/metrics/{metric_id}",
        "/api/v1/records",
        "/api/v1/dimensions/{name}/values",
        "/api/v1/users",
        "/api/v1/tokens",
    } <= paths
    assert not any(p.startswith(("/login", "/marketing")) for p in paths)
    params = {p["name"] for p in doc["paths"]["/api/v1/query"]["get"]["parameters"]}
    assert {"metrics", "by", "grain", "start", "end", "channel", "campaign"} <= params
    assert "bearer" in doc["components"]["securitySchemes"]


def test_post_query_checks_filters_like_get(api: TestClient):
    many = [f"c{i}" for i in range(51)]
    for where, text in [
        ({"campaign": many}, "at most 50"),
        ({"campaign": ["x" * 201]}, "at most 200 characters"),
        ({"colour": ["red"]}, "Invalid dimension"),
    ]:
        r = api.post("/api/v1/query", json={"metrics": ["leads"], "where": where})
        assert_error(r, 422, "invalid_parameters", text)
    assert_error(
        api.get("/api/v1/query", params={"metrics": "leads", "campaign": "x" * 201}),
        400,
        "metric_query",
        "at most 200 characters",
    )
    assert (
        api.get("/api/v1/query", params={"metrics": "leads", "campaign": many}).status_code == 422
    )
    # Exactly at the limits is fine, and both verbs answer the same.
    edge = {"campaign": [*many[:49], "y" * 200]}
    posted = api.post("/api/v1/query", json={"metrics": ["leads"], "where": edge})
    got = api.get("/api/v1/query", params={"metrics": "leads", **edge})
    assert posted.status_code == got.status_code == 200
    assert posted.json()["rows"] == got.json()["rows"]


def test_filter_values_are_stripped_everywhere(api: TestClient):
    base = {"metrics": "leads", "start": "2026-01-01", "end": "2026-06-30"}
    plain = api.get("/api/v1/query", params={**base, "channel": "email"}).json()
    spaced = api.get("/api/v1/query", params={**base, "channel": "  email "}).json()
    posted = api.post(
        "/api/v1/query",
        json={**base, "metrics": ["leads"], "where": {"channel": ["  email", "email ", " "]}},
    ).json()
    values = [r["value"] for r in plain["rows"]]
    assert sum(values) > 0
    assert [r["value"] for r in spaced["rows"]] == values == [r["value"] for r in posted["rows"]]
    records = api.get("/api/v1/records", params={"metric": "leads", **base, "channel": " email"})
    assert records.json()["total"] == sum(values)


def test_paging_through_records_counts_them_once(api: TestClient, browser_of, monkeypatch):
    from revteam.web.views import records

    calls = []
    real = records.count

    def counting(ws, req):
        calls.append(req)
        return real(ws, req)

    monkeypatch.setattr(records, "count", counting)
    params = {"metric": "leads", "start": "2025-02-03", "end": "2025-09-17"}  # cold cache
    pages = [
        api.get("/api/v1/records", params={**params, "limit": 100, "offset": offset}).json()
        for offset in (0, 100, 200)
    ]
    assert len(calls) == 1
    assert pages[0]["total"] == pages[1]["total"] == pages[2]["total"] > 200
    assert {len(p["rows"]) for p in pages} == {100}
    viewer = browser_of["viewer"]
    for n in (1, 2, 3):
        r = viewer.get("/records", params={**params, "end": "2025-09-18", "page": n})
        assert r.status_code == 200 and f"Page {n} of" in r.text
    assert len(calls) == 2  # one more request (another end), still one count for its pages


def test_none_means_records_without_a_value_on_every_verb(api: TestClient):
    base = {"metrics": "leads", "start": "2026-01-01", "end": "2026-06-30"}
    got = api.get("/api/v1/query", params={**base, "campaign": "(none)"}).json()
    posted = api.post(
        "/api/v1/query", json={**base, "metrics": ["leads"], "where": {"campaign": [None]}}
    ).json()
    text = api.post(
        "/api/v1/query", json={**base, "metrics": ["leads"], "where": {"campaign": ["(none)"]}}
    ).json()
    everyone = api.get("/api/v1/query", params=base).json()
    values = [r["value"] for r in got["rows"]]
    assert values == [r["value"] for r in posted["rows"]] == [r["value"] for r in text["rows"]]
    assert 0 < sum(values) < sum(r["value"] for r in everyone["rows"])
    records = api.get("/api/v1/records", params={**base, "metric": "leads", "campaign": "(none)"})
    assert records.json()["total"] == sum(values)
    assert all(r["campaign"] is None for r in records.json()["rows"])
