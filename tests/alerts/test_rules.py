"""Rules are checked strictly: each kind takes its own options, and a refusal names the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from revteam.alerts import AlertBook, Channel, RuleSpec
from revteam.app import Actor
from revteam.app.models import AuditEvent
from revteam.exceptions import (
    AlertError,
    MetricError,
    PermissionDeniedError,
    UnknownAlertRuleError,
)
from revteam.workspace import Workspace

MAIL = [Channel.email("ops@example.com")]


@pytest.fixture
def book(ws: Workspace) -> AlertBook:
    ws.goals  # noqa: B018 (opens the application database)
    assert ws._app is not None
    return AlertBook(ws._app.db, ws.metrics.definitions, goals=ws.goals, settings=ws.settings)


def test_each_kind_is_checked_into_its_options(book: AlertBook) -> None:
    rules = [
        RuleSpec("t", "threshold", MAIL, metric="sales_qualification_rate", op="<", value="40%"),
        RuleSpec("a", "anomaly", MAIL, metric="mqls", dimension="channel"),
        RuleSpec("s", "sla_breach", MAIL, at_risk=True),
        RuleSpec("d", "stale_data", MAIL, hours=36, tables=["people"]),
        RuleSpec("p", "review_pack", MAIL, schedule="weekly mon 08:00", attach="html"),
    ]
    saved = [book.add(r) for r in rules]
    assert [dict(r.params) for r in saved] == [
        {
            "metric": "sales_qualification_rate",
            "op": "<",
            "value": 0.4,
            "segment": {},
            "grain": "month",
        },
        {"metric": "mqls", "dimension": "channel", "fdr": 0.01, "grain": "month"},
        {
            "metrics": ["mqls_worked_1h_rate", "mqls_worked_24h_rate", "mqls_not_worked"],
            "at_risk": True,
        },
        {"hours": 36.0, "tables": ["people"]},
        {"grain": "month", "attach": "html"},
    ]
    assert saved[4].schedule == "weekly MON 08:00"
    assert [r.name for r in book.list()] == ["t", "a", "s", "d", "p"]
    assert saved[0].describe() == (
        "sales_qualification_rate below 0.4 per month (latest complete period)"
    )


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        (RuleSpec("x", "treshold", MAIL), "Did you mean threshold"),
        (RuleSpec("", "stale_data", MAIL, hours=1), "a name"),
        (RuleSpec("x", "stale_data", MAIL, hours=1, fdr=0.1), "takes no fdr"),
        (RuleSpec("x", "stale_data", MAIL), "needs --hours"),
        (RuleSpec("x", "stale_data", MAIL, hours=1, tables=["quarantine"]), "time column"),
        (RuleSpec("x", "threshold", MAIL, metric="leads", op="<", value="45%"), "percentage"),
        (
            RuleSpec("x", "threshold", MAIL, metric="mql_rate", op="<", value=45),
            "a rate is a share",
        ),
        (RuleSpec("x", "threshold", MAIL, metric="leads", op="=", value=1), "op is one of"),
        (RuleSpec("x", "threshold", MAIL, metric="lead", op="<", value=1), "Did you mean leads"),
        (RuleSpec("x", "anomaly", MAIL, metric="mqls", fdr=0.5), "FDR"),
        (RuleSpec("x", "anomaly", MAIL, metric="mqls", grain="day"), "grain is one of"),
        (RuleSpec("x", "off_pace", MAIL, goal=7), "no goal 7"),
        (RuleSpec("x", "off_pace", MAIL, metric="leads", period="2026-Q4"), "no goal for leads"),
        (RuleSpec("x", "off_pace", MAIL, goal=1, metric="leads"), "not both"),
        (RuleSpec("x", "sla_breach", MAIL, metrics=["leads"]), "not an SLA metric"),
        (RuleSpec("x", "review_pack", MAIL), "needs a schedule"),
        (RuleSpec("x", "review_pack", MAIL, schedule="every monday"), "not a schedule"),
        (RuleSpec("x", "stale_data", [], hours=1), "at least one channel"),
        (RuleSpec("x", "stale_data", [Channel.email("nobody")], hours=1), "not an e-mail"),
        (
            RuleSpec("x", "stale_data", [Channel.webhook("ftp://example.com/x")], hours=1),
            "not an http",
        ),
        (
            RuleSpec("x", "stale_data", [Channel.webhook("https://ex ample.com/")], hours=1),
            "without spaces",
        ),
        (RuleSpec("x", "stale_data", MAIL, hours=1, owner="the boss"), "neither a team"),
    ],
)
def test_refusals_name_the_fix(book: AlertBook, spec: RuleSpec, says: str) -> None:
    with pytest.raises(AlertError, match=says):
        book.add(spec)
    assert book.list() == []


def test_a_segment_the_metric_cannot_reach_is_the_metric_layers_refusal(book: AlertBook) -> None:
    spec = RuleSpec(
        "x", "threshold", MAIL, metric="leads", op=">", value=1, segment={"stage": "won"}
    )
    with pytest.raises(MetricError):
        book.add(spec)


def test_names_are_unique_roles_are_checked_and_changes_audited(
    book: AlertBook, ws: Workspace
) -> None:
    spec = RuleSpec("stale", "stale_data", MAIL, hours=1)
    with pytest.raises(PermissionDeniedError):
        book.add(spec, actor=Actor("viewer@example.com"), role="viewer")
    rule = book.add(spec, actor=Actor("ed@example.com"), role="editor")
    assert rule.owner == "ed@example.com" and rule.created_by == "ed@example.com"
    with pytest.raises(AlertError, match="already a rule named"):
        book.add(spec)
    with pytest.raises(PermissionDeniedError):
        book.delete(rule.id, role="viewer")
    book.delete(rule.id, role="editor")
    with pytest.raises(UnknownAlertRuleError):
        book.delete(rule.id)
    assert ws._app is not None
    with ws._app.db.session() as s:
        actions = [e.action for e in s.query(AuditEvent).order_by(AuditEvent.id)]
    assert actions[-2:] == ["alert_rule.add", "alert_rule.delete"]


def test_webhook_urls_are_shown_shortened() -> None:
    slack = Channel.webhook("https://hooks.slack.com/services/T0/B0/s3cr3tTOKEN42", "slack")
    assert slack.label() == "slack webhook https://hooks.slack.com/…EN42"
    assert "s3cr3t" not in str(slack.as_dict())
    assert slack.as_dict(reveal=True)["target"].endswith("s3cr3tTOKEN42")
    local = Channel.webhook("http://127.0.0.1:8123/x")
    assert local.label() == "json webhook http://127.0.0.1:8123/x"


def test_the_goal_of_an_off_pace_rule_must_exist(book: AlertBook, ws: Workspace) -> None:
    from revteam.goals import GoalSpec

    goal = ws.goals.set(GoalSpec("leads", "2026-Q4", 5000))
    by_id = book.add(RuleSpec("by id", "off_pace", MAIL, goal=goal.id))
    by_period = book.add(
        RuleSpec("by period", "off_pace", MAIL, metric="leads", period="2026-q4", at_risk=True)
    )
    assert dict(by_id.params) == {"goal": goal.id, "at_risk": False}
    assert by_period.params["period"] == "2026-Q4"
    assert by_period.describe() == "goal leads 2026-Q4 not on track"


def test_the_store_starts_with_the_lease_row(tmp_path: Path) -> None:
    from tests.alerts.conftest import fresh_db

    from revteam.alerts import AlertStore

    store = AlertStore(fresh_db(tmp_path / "a.db"))
    assert store.lease().holder == ""
