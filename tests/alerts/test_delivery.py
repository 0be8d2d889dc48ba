"""Deliveries: every attempt logged, failures retried with back-off, shown by `alerts status`.

The workspace here is empty, so a stale-data rule finds "never loaded" at once; the clock is
moved between runs instead of waiting for the back-off.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from tests.alerts.conftest import Clock, Inbox
from typer.testing import CliRunner

import revteam
from revteam.alerts import AlertsComponent, Channel, RuleSpec
from revteam.cli import app as cli
from revteam.workspace import Workspace

T0 = dt.datetime(2026, 11, 2, 8, 0)


def cli_run(ws: Workspace, *args: str) -> Any:
    return CliRunner().invoke(cli, ["-w", str(ws.root), *args])


def own_alerts(ws: Workspace, clock: Clock) -> AlertsComponent:
    """``ws.alerts`` on the workspace's own application database, with ``clock``."""
    goals = ws.goals
    assert ws._app is not None
    return AlertsComponent(
        db=ws._app.db,
        facts=ws,
        definitions=ws.metrics.definitions,
        goals=goals,
        settings=ws.settings,
        clock=clock,
    )


def test_a_failing_webhook_is_retried_with_back_off_then_given_up(
    ws: Workspace, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/hooks/secret-token", method="POST").respond_with_data(
        "boom", status=500
    )
    url = httpserver.url_for("/hooks/secret-token")
    added = cli_run(
        ws, "alerts", "add", "no data", "--kind", "stale_data", "--hours", "1", "--webhook", url
    )
    assert added.exit_code == 0, added.output
    clock = Clock(T0)
    alerts = own_alerts(ws, clock)
    made = []
    # attempts at 0, 1, 3, 7 and 15 minutes (waits of 1, 2, 4, 8); none in between
    for minutes in (0, 0.5, 1, 2, 3, 6, 7, 14, 15, 60, 600):
        clock.now = T0 + dt.timedelta(minutes=minutes)
        made += [(minutes, a.attempt, a.status) for a in alerts.run().attempts]
    # two conditions (no load ever, no records at all), each retried on its own
    expected = [(m, n, "failed") for n, m in enumerate((0, 1, 3, 7, 15), start=1)]
    assert made == [e for e in expected for _ in range(2)]
    assert len(httpserver.log) == 10
    # still active, and not alerted again while they last
    assert sorted(c.key for c in alerts.store.active()) == ["load", "records"]
    assert len(alerts.store.conditions()) == 2

    status = cli_run(ws, "alerts", "status", "--format", "json")
    assert status.exit_code == 0, status.output
    found = json.loads(status.stdout)
    assert len(found["failures"]) == 10  # five attempts on each of the two conditions
    newest = found["failures"][0]
    assert newest["attempt"] == 5 and newest["gave_up"] is True
    assert "answered HTTP 500" in newest["error"] and "secret-token" not in newest["error"]
    assert "secret-token" not in status.stdout
    assert not any(d["status"] == "pending" for d in found["deliveries"])
    table = cli_run(ws, "alerts", "status")
    assert table.exit_code == 0 and "Failed attempts" in table.stdout
    words = table.stdout.split()  # however the table wraps at the terminal's width
    assert {"gave", "up", "answered", "HTTP", "500."} <= set(words)


def test_a_retry_succeeds_once_the_endpoint_recovers(ws: Workspace, httpserver: HTTPServer) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("no", status=503)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    clock = Clock(T0)
    alerts = own_alerts(ws, clock)
    alerts.add(
        RuleSpec(
            "no data",
            "stale_data",
            [Channel.webhook(httpserver.url_for("/hook"), "slack")],
            hours=1,
            tables=["people"],
        )
    )
    first = alerts.run()
    assert [a.status for a in first.attempts] == ["failed", "sent"]  # two conditions
    clock.now = T0 + dt.timedelta(minutes=1)
    second = alerts.run()
    assert [(a.attempt, a.status) for a in second.attempts] == [(2, "sent")]
    body = json.loads(httpserver.log[-1][0].get_data())
    assert set(body) == {"text", "blocks"}
    assert body["blocks"][0]["text"]["type"] == "mrkdwn"
    assert "Rule no data" in body["blocks"][-1]["elements"][0]["text"]


def test_email_without_a_mail_server_fails_with_the_fix(ws: Workspace) -> None:
    clock = Clock(T0)
    alerts = own_alerts(ws, clock)
    alerts.add(RuleSpec("mail", "stale_data", [Channel.email("ops@example.com")], hours=1))
    attempts = alerts.run().attempts
    assert attempts and all(a.status == "failed" for a in attempts)
    assert "REVTEAM_SMTP_HOST and REVTEAM_SMTP_FROM are not set" in str(attempts[0].error)
    assert "never read from revteam.toml" in str(attempts[0].error)


def test_email_through_the_local_server(ws: Workspace, smtp: Inbox) -> None:
    clock = Clock(T0)
    alerts = own_alerts(ws, clock)
    alerts.add(
        RuleSpec(
            "mail", "stale_data", [Channel.email("ops@example.com")], hours=1, tables=["people"]
        )
    )
    assert [a.status for a in alerts.run().attempts] == ["sent", "sent"]
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == [
        "[revteam] mail: No data loaded for 1 hour (never)",
        "[revteam] mail: No new records in people for 1 hour (none at all)",
    ]


def test_the_cli_adds_lists_runs_and_deletes(tmp_path: Path) -> None:
    revteam.init(tmp_path / "ws").close()  # `alerts run` opens the warehouse itself
    ws = revteam.open(tmp_path / "ws", read_only=True)
    ws.close()
    bad = cli_run(ws, "alerts", "add", "x", "--kind", "review_pack", "--email", "a@b.co")
    assert bad.exit_code == 2 and "needs a schedule" in bad.output
    bad = cli_run(
        ws,
        "alerts",
        "add",
        "x",
        "--kind",
        "review_pack",
        "--schedule",
        "Mondays",
        "--email",
        "a@b.co",
    )
    assert bad.exit_code == 2 and "daily 07:30" in bad.output
    ok = cli_run(
        ws,
        "alerts",
        "add",
        "pack",
        "--kind",
        "review_pack",
        "--schedule",
        "weekly MON 08:00",
        "--email",
        "a@b.co",
        "--format",
        "json",
    )
    assert ok.exit_code == 0, ok.output
    (rule,) = json.loads(ok.stdout)
    assert rule["schedule"] == "weekly MON 08:00" and rule["owner"] == "cli"
    listed = json.loads(cli_run(ws, "alerts", "list", "--format", "json").stdout)
    assert [r["name"] for r in listed] == ["pack"]
    dry = cli_run(ws, "alerts", "run", "--dry-run", "--format", "json")
    assert dry.exit_code == 0, dry.output
    assert json.loads(dry.stdout)["rules"][0]["outcome"] == "not_due"
    gone = cli_run(ws, "alerts", "delete", str(rule["id"]))
    assert gone.exit_code == 0 and "Deleted alert rule" in gone.output
    missing = cli_run(ws, "alerts", "delete", str(rule["id"]))
    assert missing.exit_code == 2 and "There is no alert rule" in missing.output


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REVTEAM_SMTP_HOST": "mail"}, "REVTEAM_SMTP_FROM is not set"),
        (
            {"REVTEAM_SMTP_HOST": "m", "REVTEAM_SMTP_FROM": "a@b.co", "REVTEAM_SMTP_PORT": "x"},
            "port",
        ),
        (
            {"REVTEAM_SMTP_HOST": "m", "REVTEAM_SMTP_FROM": "a@b.co", "REVTEAM_SMTP_STARTTLS": "y"},
            "neither true nor false",
        ),
        (
            {"REVTEAM_SMTP_HOST": "m", "REVTEAM_SMTP_FROM": "a@b.co", "REVTEAM_SMTP_USER": "u"},
            "PASSWORD",
        ),
    ],
)
def test_smtp_settings_come_from_the_environment_only(env: dict[str, str], says: str) -> None:
    from revteam.alerts import SmtpSettings
    from revteam.exceptions import AlertDeliveryError

    with pytest.raises(AlertDeliveryError, match=says):
        SmtpSettings.from_env(env)
    full = SmtpSettings.from_env({"REVTEAM_SMTP_HOST": "m", "REVTEAM_SMTP_FROM": "a@b.co"})
    assert (full.port, full.starttls, full.user) == (587, True, None)
