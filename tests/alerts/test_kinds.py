"""Each kind of rule on a small generated company (data to 2026-10-31), with a moved clock.

Thresholds alert once per breached period and clear when the next period is fine; off-pace and
SLA rules read the goals' pacing; stale-data rules the load log and the newest records; a
scheduled review pack is e-mailed with the pack attached when due, and only then.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pytest_httpserver import HTTPServer
from tests.alerts.conftest import Clock, Inbox, alerts_over, fresh_db

from revteam.alerts import Channel, RuleSpec
from revteam.goals import GoalSpec
from revteam.workspace import Workspace

pytestmark = pytest.mark.slow


def hook(httpserver: HTTPServer) -> list[Channel]:
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    return [Channel.webhook(httpserver.url_for("/hook"))]


def bodies(httpserver: HTTPServer) -> list[dict[str, object]]:
    return [json.loads(request.get_data()) for request, _ in httpserver.log]


def test_a_threshold_alerts_each_breached_period_once_and_clears(
    small: Workspace, httpserver: HTTPServer, tmp_path: Path
) -> None:
    clock = Clock(dt.datetime(2026, 9, 3, 9, 0))  # leads: Aug 104, Sep 107, Oct 137
    alerts = alerts_over(small, fresh_db(tmp_path / "a.db"), clock)
    rule = alerts.add(
        RuleSpec("few leads", "threshold", hook(httpserver), metric="leads", op="<", value=110)
    )
    seen = []
    for day in (
        dt.datetime(2026, 9, 3, 9),
        dt.datetime(2026, 10, 5, 9),
        dt.datetime(2026, 11, 2, 9),
    ):
        clock.now = day
        for _ in range(2):  # the same condition twice: alerted once
            report = alerts.run()
            assert report.rules[0].error is None
        seen.append([c.key for c in alerts.store.active(rule.id)])
    assert seen == [["leads||2026-08"], ["leads||2026-09"], []]
    sent = bodies(httpserver)
    assert [b["period"] for b in sent] == ["2026-08", "2026-09"]
    assert sent[0]["value"] == 104 and sent[0]["threshold"] == {"op": "<", "value": 110.0}
    assert sent[0]["title"] == "Leads generated: 104 in 2026-08, below 110"
    cleared = alerts.store.conditions(rule_id=rule.id)
    assert all(c.cleared_at is not None for c in cleared) and len(cleared) == 2


def test_a_threshold_email_has_the_definition_interval_and_records(
    small: Workspace, smtp: Inbox, tmp_path: Path
) -> None:
    clock = Clock(dt.datetime(2026, 11, 2, 8, 0))
    alerts = alerts_over(small, fresh_db(tmp_path / "a.db"), clock)
    alerts.add(
        RuleSpec(
            "SQR high",
            "threshold",
            [Channel.email("VP.Sales@Example.com")],
            metric="sales_qualification_rate",
            op=">",
            value="50%",
            owner="sales",
        )
    )
    report = alerts.run()
    assert [a.status for a in report.attempts] == ["sent"]
    (mail,) = smtp.messages
    assert smtp.recipients == [["vp.sales@example.com"]]
    assert mail["From"] == "revteam@example.com"
    assert mail["Subject"].startswith("[revteam] SQR high: ")
    assert "2026-08" in mail["Subject"]  # the newest cohort that had its 60 days
    text = mail.get_content()
    spec = small.metrics.get("sales_qualification_rate")
    assert spec.description.split()[0] in text and "Owners: shared" in text
    assert "Value: 57.1% (interval " in text
    link = next(line for line in text.splitlines() if line.startswith("Records behind it: "))
    query = parse_qs(urlsplit(link.removeprefix("Records behind it: ")).query)
    assert query == {
        "metric": ["sales_qualification_rate"],
        "start": ["2026-08-01"],
        "end": ["2026-08-31"],
    }
    assert "owned by sales" in text


def test_an_off_pace_goal_alerts_and_an_on_pace_one_does_not(
    small: Workspace, httpserver: HTTPServer, tmp_path: Path
) -> None:
    clock = Clock(dt.datetime(2026, 11, 2, 8, 0))
    alerts = alerts_over(small, fresh_db(tmp_path / "a.db"), clock)
    assert alerts.goals is not None
    hard = alerts.goals.set(GoalSpec("leads", "2026-Q4", 1000))  # ~120 a month so far
    alerts.goals.set(GoalSpec("mqls", "2026-Q4", 1))
    channels = hook(httpserver)
    alerts.add(RuleSpec("leads pace", "off_pace", channels, goal=hard.id))
    alerts.add(RuleSpec("mqls pace", "off_pace", channels, metric="mqls", period="2026-Q4"))
    report = alerts.run()
    assert [len(r.new) for r in report.rules] == [1, 0]
    (body,) = bodies(httpserver)
    assert body["goal"]["id"] == hard.id and body["goal"]["status"] == "off_track"
    assert body["goal"]["target"] == 1000 and body["projected"] < 1000
    assert body["interval"]["low"] <= body["projected"] <= body["interval"]["high"]
    assert body["owners"] == ["marketing"] and body["period"] == "2026-Q4"
    assert body["title"].startswith("Leads generated for 2026-Q4: off track, projected ")
    assert body["title"].endswith(" against a goal of 1,000 (chance 0%)")
    alerts.run()
    assert len(httpserver.log) == 1


def test_sla_breaches_need_a_goal_and_alert_against_it(
    small: Workspace, httpserver: HTTPServer, tmp_path: Path
) -> None:
    clock = Clock(dt.datetime(2026, 11, 2, 8, 0))
    alerts = alerts_over(small, fresh_db(tmp_path / "a.db"), clock)
    assert alerts.goals is not None
    rule = alerts.add(RuleSpec("SLA", "sla_breach", hook(httpserver)))
    report = alerts.run()
    assert report.rules[0].outcome == "error" and "No goal of the SLA metrics" in str(
        report.rules[0].error
    )
    assert "revteam goals set" in str(alerts.get(rule.id).last_error)
    alerts.goals.set(GoalSpec("mqls_worked_24h_rate", "2026-Q4", "99%"))
    report = alerts.run()
    assert report.rules[0].error is None and len(report.rules[0].new) == 1
    assert alerts.get(rule.id).last_error is None
    (body,) = bodies(httpserver)
    assert body["metric"]["id"] == "mqls_worked_24h_rate"
    assert body["goal"]["status"] == "off_track"


def test_stale_data_watches_loads_and_new_records(
    small: Workspace, httpserver: HTTPServer, tmp_path: Path
) -> None:
    loaded = max(r["finished_at"] for r in small.status().last_runs if r["status"] == "ok")
    clock = Clock(dt.datetime(2026, 11, 1, 6, 0))  # newest: 2026-10-31 (a day counts to 23:59)
    alerts = alerts_over(small, fresh_db(tmp_path / "a.db"), clock)
    channels = hook(httpserver)
    rule = alerts.add(RuleSpec("stale", "stale_data", channels, hours=24))
    people = alerts.add(RuleSpec("people", "stale_data", channels, hours=24, tables=["people"]))
    keys = []
    for now in (clock.now, dt.datetime(2026, 11, 5), loaded + dt.timedelta(hours=30)):
        clock.now = now
        alerts.run()
        keys.append(sorted(c.key for c in alerts.store.active(rule.id)))
    assert keys == [[], ["records"], ["load", "records"]]
    assert sorted(c.key for c in alerts.store.active(people.id)) == ["load", "records:people"]
    titles = sorted(str(b["title"]) for b in bodies(httpserver))
    assert len(titles) == 4  # each rule's conditions once, however often they were seen
    assert titles[0] == titles[1] and titles[0].startswith("No data loaded for 24 hours (last ")
    assert titles[2] == "No new records for 24 hours (newest 2026-10-31 23:59)"
    assert titles[3] == "No new records in people for 24 hours (newest 2026-10-31 07:11)"


def test_a_scheduled_review_pack_is_mailed_with_the_pack_when_due(
    small: Workspace, smtp: Inbox, tmp_path: Path
) -> None:
    clock = Clock(dt.datetime(2026, 11, 1, 12, 0))  # a Sunday
    alerts = alerts_over(small, fresh_db(tmp_path / "a.db"), clock)
    rule = alerts.add(
        RuleSpec(
            "Monday pack",
            "review_pack",
            [Channel.email("team@example.com")],
            schedule="weekly MON 08:00",
        )
    )
    outcomes = []
    for now in (
        dt.datetime(2026, 11, 1, 13, 0),  # Sunday: not due
        dt.datetime(2026, 11, 2, 8, 0),  # Monday 08:00: due
        dt.datetime(2026, 11, 2, 8, 30),  # done for this Monday
        dt.datetime(2026, 11, 9, 8, 5),  # the next Monday
    ):
        clock.now = now
        outcomes.append(alerts.run().rules[0].outcome)
    assert outcomes == ["not_due", "checked", "not_due", "checked"]
    assert len(smtp.messages) == 2
    mail = smtp.messages[0]
    assert mail["Subject"].startswith("[revteam] Monday pack: Review pack 2026-10")
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_filename() == "revteam-review-2026-10.pdf"
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_content().startswith(b"%PDF")
    assert (
        "The review pack of 2026-10 is attached (PDF)." in mail.get_body(("plain",)).get_content()
    )
    assert alerts.store.active(rule.id) == []  # a pack sent is an event, not a state
    assert alerts.get(rule.id).last_due == dt.datetime(2026, 11, 9, 8, 0)
