"""An anomaly rule on the planted company alerts its planted SQR drop once, and nothing else.

The planted company (tests/conftest.py) drops one paid-social campaign's sales qualification
rate from March 2026; its steady twin changes nothing. The rule runs as of the day after the
data ends, twice: one condition, one delivery. The alert state is in a database of the test's
own; the session's workspaces are only read.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from tests.alerts.conftest import Clock, alerts_over, fresh_db

from revteam.alerts import Channel, RuleSpec
from revteam.generate import Company
from revteam.workspace import Workspace

AFTER_THE_DATA = dt.datetime(2026, 11, 2, 8, 0)
pytestmark = pytest.mark.slow


def sqr_rule(url: str) -> RuleSpec:
    return RuleSpec(
        "SQR by campaign",
        "anomaly",
        [Channel.webhook(url, "json")],
        metric="sales_qualification_rate",
        dimension="campaign",
        fdr=0.05,
    )


def test_the_planted_drop_alerts_once(
    planted: Workspace, planted_company: Company, httpserver: HTTPServer, tmp_path: Path
) -> None:
    truth = planted_company.truth["planted_change"]
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    clock = Clock(AFTER_THE_DATA)
    alerts = alerts_over(planted, fresh_db(tmp_path / "alerts.db"), clock)
    rule = alerts.add(sqr_rule(httpserver.url_for("/hook")))
    first = alerts.run()
    clock.advance(hours=1)
    second = alerts.run()

    assert len(first.rules[0].new) == 1 and first.rules[0].error is None
    assert second.rules[0].outcome == "checked" and second.rules[0].new == ()
    assert [a.status for a in first.attempts] == ["sent"] and second.attempts == ()
    assert len(httpserver.log) == 1
    (active,) = alerts.store.active(rule.id)
    assert active.key == f"sales_qualification_rate|campaign|{truth['campaign_id']}|down"
    assert active.last_seen == AFTER_THE_DATA + dt.timedelta(hours=1)

    body = json.loads(httpserver.log[0][0].get_data())
    assert body["rule"]["name"] == "SQR by campaign" and body["rule"]["kind"] == "anomaly"
    assert body["metric"]["id"] == "sales_qualification_rate"
    assert body["metric"]["label"] and body["metric"]["description"]
    assert body["owners"] == "shared"
    assert body["segment"] == {"campaign": truth["campaign_id"]}
    assert body["period"] == "2026-03" and body["anomaly"]["kind"] == "shift"
    assert body["anomaly"]["direction"] == "down" and body["value"] < body["expected"]
    assert truth["campaign_id"] in body["title"] and "fell" in body["title"]
    link = urlsplit(body["link"])
    assert link.path == "/records"
    query = parse_qs(link.query)
    assert query["metric"] == ["sales_qualification_rate"]
    assert query["campaign"] == [truth["campaign_id"]]
    assert query["start"] == ["2026-03-01"] and query["end"] == ["2026-03-31"]


def test_the_steady_twin_never_alerts(
    steady: Workspace, httpserver: HTTPServer, tmp_path: Path
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    clock = Clock(AFTER_THE_DATA)
    alerts = alerts_over(steady, fresh_db(tmp_path / "alerts.db"), clock)
    alerts.add(sqr_rule(httpserver.url_for("/hook")))
    for _ in range(2):
        report = alerts.run()
        assert report.rules[0].outcome == "checked" and report.rules[0].new == ()
        clock.advance(days=1)
    assert alerts.store.active() == [] and httpserver.log == []


def test_a_dry_run_writes_and_sends_nothing_and_the_public_url_makes_links_absolute(
    planted: Workspace, httpserver: HTTPServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REVTEAM_PUBLIC_URL", "https://revteam.example.com/")
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    alerts = alerts_over(planted, fresh_db(tmp_path / "alerts.db"), Clock(AFTER_THE_DATA))
    alerts.add(sqr_rule(httpserver.url_for("/hook")))
    dry = alerts.run(dry_run=True)
    assert len(dry.rules[0].new) == 1 and dry.attempts == ()
    assert alerts.store.active() == [] and httpserver.log == []
    real = alerts.run()
    assert real.rules[0].new == dry.rules[0].new
    body = json.loads(httpserver.log[0][0].get_data())
    assert body["link"].startswith("https://revteam.example.com/records?metric=")
    assert "https://revteam.example.com/alerts" in body["text"]
