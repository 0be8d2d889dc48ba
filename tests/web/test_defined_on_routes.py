"""``defined_on`` on every API route whose numbers come from a KPI definition, and nowhere else.

A workspace of its own in which both teams agreed (today) a change to each definition these
routes read: asked as defined on 2020-01-01 they answer with the shipped definitions, asked
without (or as defined today) with the agreed ones. A route that does not take ``defined_on``
refuses it rather than ignoring it, and a day outside ``plausible_years`` is refused everywhere.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.web.conftest import PASSWORD, TestClient

import revteam
from revteam.app import CLI, open_app
from revteam.proposals.impact import definition_text
from revteam.web import WebOptions, create_app

THEN = "2020-01-01"
TODAY = dt.date.today().isoformat()
BIG = 20_000
"""Agreed today: an opportunity counts as won (and as pipeline) only above this amount."""


def changed(entry: dict[str, Any], metric: str) -> dict[str, Any]:
    """The agreed change to ``metric``'s shipped definition."""
    if metric == "clv_to_cac_predicted":
        entry["formula"]["denominator"] = "cost_per_lead"
    elif metric in ("opportunities_won", "pipeline_created"):
        filters = entry.get("filters") or []
        entry["filters"] = [*filters, {"column": "amount", "op": "gt", "value": BIG}]
    else:  # the cohort rates the lead score and its threshold read
        entry["window_days"] = 14
    return entry


CHANGED = (
    "clv_to_cac_predicted",
    "opportunities_won",
    "pipeline_created",
    "lead_to_sql_rate",
    "lead_conversion_rate",
    "disqualification_rate",
)


@pytest.fixture(scope="module")
def site(company_ws: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("defined-on") / "ws"
    shutil.copytree(company_ws, root, ignore=shutil.ignore_patterns("*.lock", "revteam.db*"))
    with open_app(root) as state:
        for team in ("sales", "marketing"):
            state.users.add(f"{team}@example.com", role="editor", team=team, password=PASSWORD)
        viewer, _ = state.users.add("viewer@example.com", role="viewer", password=PASSWORD)
        token = state.tokens.create(viewer.id, "t", actor=CLI)[1]
    with revteam.open(root) as ws:
        for metric in CHANGED:
            entry = yaml.safe_load(definition_text(ws.metrics.catalogue, metric))
            text = yaml.safe_dump(changed(entry, metric), sort_keys=False)
            p = ws.proposals.propose(text, reason="agreed today")
            for team in p.needs:
                ws.proposals.vote(p.id, "approve", voter=f"{team}@example.com")
            assert ws.proposals.get(p.id).status == "approved"
        small = ws.duckdb("the test").arrow(
            "SELECT account_id FROM opportunities WHERE is_won GROUP BY 1 "
            f"HAVING count(*) FILTER (WHERE amount > {BIG}) > 0 "
            f"AND count(*) FILTER (WHERE amount <= {BIG}) > 0 ORDER BY 1 LIMIT 1"
        )
    options = WebOptions(warm=False, idle_seconds=30, fit_wait_seconds=600)
    app = create_app(root, options=options)
    with TestClient(app, headers={"Authorization": f"Bearer {token}"}) as client:
        yield {"api": client, "account": small.column("account_id")[0].as_py()}


def asked(client: TestClient, path: str, **params: Any) -> Callable[[str | None], Any]:
    """``path``'s JSON answer as defined on a day (``None``: without ``defined_on``)."""

    def get(day: str | None) -> Any:
        r = client.get(path, params={**params, **({"defined_on": day} if day else {})})
        assert r.status_code == 200, (path, day, r.text[:500])
        return r.json()

    return get


def test_clv_value_takes_defined_on(site: dict[str, Any]) -> None:
    get = asked(site["api"], "/api/v1/clv/value")

    def everyone(day: str | None) -> dict[str, Any]:
        return next(r for r in get(day)["rows"] if r["group"] == "(all)")

    now, then = everyone(None), everyone(THEN)
    assert now["clv_predicted"] == pytest.approx(then["clv_predicted"])
    # CLV ÷ cost per lead (agreed today) is far above CLV ÷ CAC (shipped)
    assert now["clv_to_cac_predicted"] > 20 * then["clv_to_cac_predicted"] > 0


def test_the_account_timeline_kpis_take_defined_on(site: dict[str, Any]) -> None:
    get = asked(site["api"], f"/api/v1/accounts/{site['account']}/timeline", limit=1)

    def won(day: str | None) -> tuple[float, int]:
        header = get(day)["header"]
        (kpi,) = [k for k in header["kpis"] if k["metric"] == "opportunities_won"]
        return kpi["value"], header["deals"]["won"]

    now, then = won(None), won(THEN)
    assert then[0] > now[0] > 0 and then[1] > now[1]  # its smaller wins counted only then
    assert won(TODAY) == now
    events = asked(site["api"], f"/api/v1/accounts/{site['account']}/timeline")(None)["events"]
    person = next(e["person_id"] for e in events if e.get("person_id"))
    people = asked(site["api"], f"/api/v1/people/{person}/timeline", limit=5)
    assert people(THEN)["events"] == people(None)["events"]  # no KPI on a person's timeline


def test_attribution_sourcing_and_audit_take_defined_on(site: dict[str, Any]) -> None:
    sourcing = asked(site["api"], "/api/v1/attribution/sourcing")
    now, then = sourcing(None)["rows"], sourcing(THEN)["rows"]
    assert now[0]["total_pipeline"] < then[0]["total_pipeline"]  # the small deals left it
    audit = asked(site["api"], "/api/v1/attribution/audit", model="linear", limit=1000)
    converted = [{r["conversion_id"] for r in audit(d)["rows"]} for d in (None, THEN)]
    assert converted[0] != converted[1]


def test_the_lead_score_and_its_threshold_take_defined_on(site: dict[str, Any]) -> None:
    fit = asked(site["api"], "/api/v1/scoring/fit")
    now, then = fit(None), fit(THEN)
    assert now["target"] == then["target"] == "lead_to_sql_rate"
    # its outcome: reaching SQL within 14 days (agreed today), or 90 (shipped)
    assert now["examples"] != then["examples"]
    curve = asked(site["api"], "/api/v1/scoring/threshold")
    assert curve(None)["curve"] != curve(THEN)["curve"]
    feedback = asked(site["api"], "/api/v1/scoring/feedback")
    assert feedback(None)["rows"] != feedback(THEN)["rows"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/query?metrics=sqls&defined_on=1900-01-01",
        "/api/v1/clv/value?defined_on=1900-01-01",
        "/api/v1/accounts/A1/timeline?defined_on=2200-01-01",
    ],
)
def test_a_day_outside_the_plausible_years_is_refused(site: dict[str, Any], path: str) -> None:
    r = site["api"].get(path)
    assert r.status_code == 400, r.text
    assert "expected a date in the years 1970 to 2100" in r.json()["message"]


def test_the_query_body_is_bounded_too(site: dict[str, Any]) -> None:
    r = site["api"].post("/api/v1/query", json={"metrics": ["sqls"], "defined_on": "1900-01-01"})
    assert r.status_code == 400, r.text
    assert "Invalid defined_on '1900-01-01'; expected a date in the years 1970 to 2100" in r.text


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/clv/fit"),
        ("get", "/api/v1/clv/retention"),
        ("get", "/api/v1/data/status"),
        ("post", "/api/v1/query"),
    ],
)
def test_a_route_without_defined_on_refuses_it(
    site: dict[str, Any], method: str, path: str
) -> None:
    body = {"json": {"metrics": ["sqls"]}} if method == "post" else {}
    r = site["api"].request(method, path, params={"defined_on": THEN}, **body)
    assert r.status_code == 400, r.text
    detail = r.json()["message"]
    assert f"no defined_on on {method.upper()} {path}" in detail
    assert "does not depend on how a KPI is defined" in detail
