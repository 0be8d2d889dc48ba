"""`/api/v1/stats/*`: each statistic equals `ws.stats` called directly; every request is bounded."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from typing import Any

import pyarrow as pa
import pytest
from tests.web.conftest import TestClient

from revteam.stats import meta_of
from revteam.workspace import Workspace

STATISTICS = ("compare", "rank", "anomalies", "drivers", "cohorts")


def plain(value: object) -> object:
    """A cell as the API writes it: dates as ISO text, NaN and infinities as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def direct(app: Any, name: str, call: Callable[[Workspace], pa.Table]) -> tuple[list[Any], Any]:
    """``call(ws)``'s rows and metadata, computed through the app's own warehouse handle."""

    def compute(ws: Workspace) -> tuple[list[Any], Any]:
        table = call(ws)
        rows = [{k: plain(v) for k, v in r.items()} for r in table.to_pylist()]
        return rows, meta_of(table)

    return app.state.runtime.read(("test-stats-api", name), compute).value


def get(api: TestClient, statistic: str, **params: Any) -> dict[str, Any]:
    r = api.get(f"/api/v1/stats/{statistic}", params=params)
    assert r.status_code == 200, r.text[:500]
    body: dict[str, Any] = r.json()
    assert body["statistic"] == statistic and body["stale"] is False
    assert body["total"] == len(body["rows"]) or body["next_offset"] is not None
    return body


def test_compare_equals_ws_stats(app: Any, api: TestClient) -> None:
    body = get(api, "compare", metric="sales_qualification_rate", by="channel")
    rows, meta = direct(
        app, "compare", lambda ws: ws.stats.compare("sales_qualification_rate", by="channel")
    )
    assert body["rows"] == rows and body["meta"] == meta
    assert len(rows) > 5 and {"segment", "p_adjusted", "verdict"} <= set(rows[0])
    previous = get(
        api, "compare", metric="win_rate", against="previous", period="2026-06", channel="email"
    )
    rows, meta = direct(
        app,
        "compare-previous",
        lambda ws: ws.stats.compare(
            "win_rate", against="previous", period="2026-06", where={"channel": ["email"]}
        ),
    )
    assert previous["rows"] == rows and previous["meta"]["baseline_period"] == "2026-05"


def test_rank_equals_ws_stats_and_pages(app: Any, api: TestClient) -> None:
    body = get(api, "rank", metric="sales_qualification_rate", by="channel", limit=5)
    rows, meta = direct(
        app, "rank", lambda ws: ws.stats.rank("sales_qualification_rate", by="channel")
    )
    assert body["rows"] == rows[:5] and body["meta"] == meta
    assert body["total"] == len(rows) and body["next_offset"] == 5
    rest = get(api, "rank", metric="sales_qualification_rate", by="channel", limit=5, offset=5)
    assert rest["rows"] == rows[5:10]
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert any(r["small_sample"] for r in get(api, "rank", metric="win_rate")["rows"])
    by_campaign = get(api, "rank", metric="sales_qualification_rate", limit=1)  # as the CLI
    assert by_campaign["meta"]["by"] == ["campaign"]


def test_anomalies_equal_ws_stats(app: Any, api: TestClient) -> None:
    body = get(api, "anomalies", metric="pipeline_created")
    rows, meta = direct(app, "anomalies", lambda ws: ws.stats.anomalies("pipeline_created"))
    assert body["rows"] == rows and body["meta"] == meta
    assert rows and all(r["flagged"] for r in rows)
    every = get(
        api, "anomalies", metric="leads", grain="week", all_periods="true", channel="paid_search"
    )
    rows, _ = direct(
        app,
        "anomalies-all",
        lambda ws: ws.stats.anomalies(
            "leads", grain="week", all_periods=True, where={"channel": "paid_search"}
        ),
    )
    assert every["rows"] == rows and len(rows) > 40
    assert isinstance(rows[0]["period"], str)  # ISO dates


def test_drivers_equal_ws_stats_and_add_up(app: Any, api: TestClient) -> None:
    body = get(api, "drivers", metric="sales_qualification_rate", by="channel", window=3)
    rows, meta = direct(
        app,
        "drivers",
        lambda ws: ws.stats.drivers("sales_qualification_rate", by="channel", window=3),
    )
    assert body["rows"] == rows and body["meta"] == meta
    assert {r["effect"] for r in rows} == {"rate", "mix"}
    assert sum(r["contribution"] for r in rows) == pytest.approx(meta["change"])
    levers = get(api, "drivers", metric="pipeline_velocity")
    assert {r["lever"] for r in levers["rows"]} == {
        "opportunities_created",
        "win_rate",
        "avg_deal_size",
        "sales_cycle_days",
    }


def test_cohorts_equal_ws_stats(app: Any, api: TestClient) -> None:
    body = get(api, "cohorts", metric="sales_qualification_rate", start="2026-04-01")
    rows, meta = direct(
        app,
        "cohorts",
        lambda ws: ws.stats.cohorts("sales_qualification_rate", start="2026-04-01"),
    )
    assert body["rows"] == rows and body["meta"] == meta
    assert [r["cohort"] for r in rows][:2] == ["2026-04-01", "2026-05-01"]
    assert not rows[-1]["mature"] and rows[-1]["projected_rate"] is not None


@pytest.mark.parametrize(
    ("statistic", "metric", "why"),
    [
        ("compare", "leads", "A comparison does not apply to metric 'leads' (count)"),
        ("rank", "pipeline_created", "Shrinkage ranking does not apply"),
        ("drivers", "open_pipeline", "A driver decomposition does not apply"),
        ("cohorts", "win_rate", "Cohort curves does not apply"),
    ],
)
def test_a_statistic_of_the_wrong_kind_says_why(
    api: TestClient, statistic: str, metric: str, why: str
) -> None:
    r = api.get(f"/api/v1/stats/{statistic}", params={"metric": metric, "by": "channel"})
    assert r.status_code == 400, r.text[:300]
    assert r.json()["error"] == "unsupported_statistic"
    assert why in r.json()["message"] and "it works on" in r.json()["message"]


@pytest.mark.parametrize("statistic", STATISTICS)
def test_an_unknown_metric_is_a_404(api: TestClient, statistic: str) -> None:
    r = api.get(f"/api/v1/stats/{statistic}", params={"metric": "lead"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_metric"
    assert "Did you mean leads" in r.json()["message"]


BOUNDS = [
    ("compare", {"metric": "win_rate"}, 400),  # against=rest needs by
    ("compare", {"metric": "win_rate", "by": ["a", "b", "c", "d"]}, 422),
    ("compare", {"metric": "win_rate", "by": "no_such_dimension"}, 400),
    ("compare", {"metric": "win_rate", "by": "channel", "alpha": 0.5}, 422),
    ("compare", {"metric": "win_rate", "by": "channel", "level": 1}, 422),
    ("compare", {"metric": "win_rate", "by": "channel", "period": "March"}, 422),
    ("compare", {"metric": "win_rate", "by": "channel", "period": "2026-13"}, 400),
    ("compare", {"metric": "win_rate", "by": "channel", "period": "2026-W00"}, 400),
    ("compare", {"metric": "win_rate", "by": "channel", "period": "0001-01"}, 400),
    ("compare", {"metric": "win_rate", "by": "channel", "against": "sideways"}, 422),
    ("compare", {"metric": "x" * 65, "by": "channel"}, 422),
    ("compare", {"metric": "", "by": "channel"}, 422),
    ("rank", {"metric": "win_rate", "prior": "flat"}, 422),
    ("rank", {"metric": "win_rate", "start": "2026-06-01", "end": "2026-01-01"}, 400),
    ("rank", {"metric": "win_rate", "start": "1900-01-01"}, 400),
    ("rank", {"metric": "win_rate", "limit": 0}, 422),
    ("rank", {"metric": "win_rate", "limit": 10_001}, 422),
    ("rank", {"metric": "win_rate", "offset": -1}, 422),
    ("anomalies", {"metric": "leads", "window": 2}, 422),
    ("anomalies", {"metric": "leads", "window": 61}, 422),
    ("anomalies", {"metric": "leads", "grain": "all"}, 422),
    ("anomalies", {"metric": "leads", "channel": "not_a_channel"}, 400),
    ("anomalies", {"metric": "leads", "network": "linkedin"}, 400),
    (
        "anomalies",
        {"metric": "leads", "grain": "day", "start": "2000-01-01", "end": "2099-12-31"},
        400,
    ),
    ("drivers", {"metric": "leads", "by": "channel", "window": 0}, 422),
    ("drivers", {"metric": "leads", "by": "channel", "window": 61}, 422),
    ("drivers", {"metric": "leads", "by": "channel", "against": "1969-12"}, 400),
    ("drivers", {"metric": "leads", "by": "channel", "against": "2026-W99"}, 400),
    ("drivers", {"metric": "leads", "by": "channel", "against": "yesterday"}, 422),
    ("drivers", {"metric": "leads", "by": "channel", "grain": "day", "against": "1970-01-01"}, 400),
    ("drivers", {"metric": "leads"}, 400),  # a change is split by a dimension
    ("cohorts", {"metric": "disqualification_rate", "by": "disqualification_reason"}, 400),
    ("cohorts", {"metric": "sales_qualification_rate", "as_of": "1800-01-01"}, 400),
    ("cohorts", {"metric": "sales_qualification_rate", "as_of": "someday"}, 422),
]


@pytest.mark.parametrize(("statistic", "params", "status"), BOUNDS)
def test_out_of_bounds_requests_are_refused_with_the_fix(
    api: TestClient, statistic: str, params: dict[str, Any], status: int
) -> None:
    r = api.get(f"/api/v1/stats/{statistic}", params=params)
    assert r.status_code == status, (params, r.status_code, r.text[:300])
    body = r.json()
    assert body["status"] == status and body["message"]


def test_a_range_over_the_period_limit_names_it(api: TestClient) -> None:
    r = api.get(
        "/api/v1/stats/anomalies",
        params={"metric": "leads", "grain": "day", "start": "2000-01-01", "end": "2099-12-31"},
    )
    assert r.json()["error"] == "limit_exceeded" and "max_periods" in r.json()["message"]


@pytest.mark.parametrize("statistic", STATISTICS)
def test_signed_out_gets_nothing(anon: TestClient, statistic: str) -> None:
    r = anon.get(f"/api/v1/stats/{statistic}", params={"metric": "win_rate"})
    assert r.status_code == 401


def test_the_anomaly_default_is_the_statistics_one() -> None:
    from revteam.stats.anomalies import ALPHA
    from revteam.web.routes.stats import ANOMALY_ALPHA

    assert ANOMALY_ALPHA == ALPHA  # kept apart only so that the API imports no scipy


def test_the_endpoints_are_in_the_one_openapi_document(api: TestClient) -> None:
    paths = api.get("/api/v1/openapi.json").json()["paths"]
    for statistic in STATISTICS:
        operation = paths[f"/api/v1/stats/{statistic}"]["get"]
        names = {p["name"] for p in operation["parameters"]}
        assert {"metric", "as_of", "channel", "limit", "offset"} <= names, statistic
