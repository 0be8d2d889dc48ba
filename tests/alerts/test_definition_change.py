"""``definition_change``: each definition both owners agree is told once, to both approvers.

Definitions change the only way they can, proposed and signed off through a proposals store
(its approved files in a folder of the test's own, its history in the test's application
database), with the proposals' clock the alerts' clock. Mail goes to the SMTP server of the
fixture.
"""

from __future__ import annotations

import datetime as dt
import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from tests.alerts.conftest import Clock, Inbox, alerts_over, fresh_db
from typer.testing import CliRunner

import revteam
from revteam.alerts import AlertBook, Channel, Message, RuleSpec
from revteam.app import CLI, Actor, AppState
from revteam.cli import app as cli
from revteam.exceptions import AlertError
from revteam.proposals import ProposalStore
from revteam.workspace import Workspace

pytestmark = pytest.mark.slow

SQR = "sales_qualification_rate"
PASSWORD = "correct horse battery staple 42"
PROPOSER, SALES, MARKETING = (
    "ops@example.com",
    "sales.lead@example.com",
    "marketing.lead@example.com",
)
OPS = Actor(PROPOSER)


def sqr(window: int) -> str:
    return f"""id: {SQR}
label: Sales qualification rate (SQR)
description: MQLs of the period that Sales qualified within {window} days.
owners: shared
kind: cohort_rate
unit: percent
table: people
time: mql_at
reached: [sql_at]
window_days: {window}
"""


def mqls(description: str) -> str:
    return f"""id: mqls
label: Marketing-qualified leads
description: {description}
owners: marketing
kind: count
unit: count
table: people
time: mql_at
"""


def agree(store: ProposalStore, text: str, reason: str, *teams: str, by: Actor = OPS) -> None:
    """Proposed (by ops), then approved by an editor of each of ``teams``."""
    proposal = store.propose(text, reason=reason, actor=by, role="editor")
    for voter in teams:
        proposal = store.vote(proposal.id, "approve", voter=voter)
    assert proposal.status == "approved"


def to(inbox: Inbox) -> list[tuple[str, str]]:
    """(recipient, subject) of every message, in order."""
    pairs = zip(inbox.recipients, inbox.messages, strict=True)
    return [(r[0], str(m["Subject"])) for r, m in pairs]


def test_each_agreed_version_is_mailed_once_to_its_signers(
    small: Workspace, smtp: Inbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(dt.datetime(2026, 11, 1, 10, 0))
    monkeypatch.setattr("revteam.proposals.store.utcnow", clock)
    db = fresh_db(tmp_path / "a.db")
    for email, team in ((PROPOSER, "revops"), (SALES, "sales"), (MARKETING, "marketing")):
        AppState(db).users.add(email, role="editor", team=team, password=PASSWORD)
    store = ProposalStore(db, small.metrics.definitions, tmp_path / "metrics")
    alerts = alerts_over(small, db, clock, proposals=store)
    # agreed before any rule watched: never alerted
    agree(store, mqls("People with mql_at in the period."), "Before the rules", MARKETING)

    clock.advance(days=1)
    every = alerts.add(RuleSpec("Definitions", "definition_change"))  # no channel: the signers
    assert every.channels == ()
    only_sqr = alerts.add(
        RuleSpec(
            "SQR definition",
            "definition_change",
            [Channel.email("revops@example.com"), Channel.email(SALES)],
            metrics=[SQR],
        )
    )
    assert only_sqr.describe() == f"definition changes agreed ({SQR}), to their signers too"
    assert [r.new for r in alerts.run().rules] == [(), ()]

    clock.advance(hours=1)
    agree(store, sqr(30), "Sales works MQLs within a month", SALES, MARKETING)
    first, again = alerts.run(), alerts.run()  # run twice: told once
    title = f"Sales qualification rate (SQR) ({SQR}): definition version 1 agreed"
    assert [r.new for r in first.rules] == [(title,), (title,)]
    assert [r.new for r in again.rules] == [(), ()] and again.attempts == ()
    assert {a.status for a in first.attempts} == {"sent"}
    assert sorted(to(smtp)) == sorted(
        [
            (PROPOSER, f"[revteam] Definitions: {title}"),
            (MARKETING, f"[revteam] Definitions: {title}"),
            (SALES, f"[revteam] Definitions: {title}"),
            # the SQR rule's own channels; its sales approver was told by the first rule
            ("revops@example.com", f"[revteam] SQR definition: {title}"),
        ]
    )
    mail: EmailMessage = smtp.messages[0]
    text = mail.get_content()
    assert (
        f"Version 1 of the definition of Sales qualification rate (SQR) ({SQR}) was agreed on "
        "2026-11-02 11:00 UTC, replacing the catalogue definition (proposal #2)."
    ) in text
    assert "Why: Sales works MQLs within a month" in text
    assert (
        f"Proposed by {PROPOSER}; signed off for marketing by {MARKETING} and for sales by {SALES}."
    ) in text
    assert "- window_days: 60 → 30" in text
    assert f"The definition: /catalogue/{SQR}" in text and "Owners: shared" in text
    assert all(c.cleared_at is not None for c in alerts.store.conditions())  # events

    # unscheduled rules look again only when a version is agreed
    assert [r.outcome for r in alerts.runner.run().rules] == ["unchanged", "unchanged"]
    clock.advance(days=1)
    agree(store, mqls("People who became MQLs in the period."), "Say which date", MARKETING)
    report = alerts.runner.run()
    assert [r.outcome for r in report.rules] == ["checked", "checked"]
    assert report.rules[0].new == ("Marketing-qualified leads (mqls): definition version 2 agreed",)
    assert report.rules[1].new == ()  # not SQR
    assert sorted(r for r, _ in to(smtp)[4:]) == [MARKETING, PROPOSER]
    assert len(smtp.messages) == 6


class Recorder:
    """A transport that keeps what it is asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[Channel, Message]] = []

    def send(self, channel: Channel, message: Message) -> None:
        self.sent.append((channel, message))


def test_the_webhook_body_carries_the_change(
    small: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(dt.datetime(2026, 11, 1, 10, 0))
    monkeypatch.setattr("revteam.proposals.store.utcnow", clock)
    monkeypatch.setenv("REVTEAM_PUBLIC_URL", "https://revteam.example.com/")
    db = fresh_db(tmp_path / "a.db")
    for email, team in ((SALES, "sales"), (MARKETING, "marketing")):
        AppState(db).users.add(email, role="editor", team=team, password=PASSWORD)
    store = ProposalStore(db, small.metrics.definitions, tmp_path / "metrics")
    sent = Recorder()
    alerts = alerts_over(small, db, clock, proposals=store, transport=sent)
    alerts.add(
        RuleSpec("defs", "definition_change", [Channel.webhook("https://hooks.example.com/x")])
    )
    clock.advance(minutes=5)
    agree(store, sqr(45), "Six weeks", SALES, MARKETING, by=CLI)
    report = alerts.run(dry_run=True)
    assert report.rules[0].new == (
        f"Sales qualification rate (SQR) ({SQR}): definition version 1 agreed",
    )
    assert alerts.store.conditions() == []  # a dry run records nothing
    alerts.run()
    assert [c.label() for c, _ in sent.sent] == [
        "json webhook https://hooks.example.com/x",
        MARKETING,
        SALES,
    ]
    message = sent.sent[0][1]
    body = message.body
    assert body["link"] == f"https://revteam.example.com/catalogue/{SQR}"
    assert body["definition"]["approved_by"] == {"marketing": MARKETING, "sales": SALES}
    assert body["definition"]["reason"] == "Six weeks"
    assert body["definition"]["changes"][-1] == {
        "field": "window_days",
        "before": "60",
        "after": "45",
    }
    # the proposer was the command line: only the approvers are e-mailed
    assert body["recipients"] == [MARKETING, SALES]
    assert message.slack["blocks"][-1]["elements"][0]["text"].startswith(
        f"<https://revteam.example.com/catalogue/{SQR}|The definition>"
    )
    assert message.text == sent.sent[1][1].text  # every channel says the same


def test_rules_are_checked(small: Workspace, tmp_path: Path) -> None:
    db = fresh_db(tmp_path / "a.db")
    book = AlertBook(db, small.metrics.definitions, settings=small.settings)
    rule = book.add(RuleSpec("d", "definition_change", metrics=["mqls", "mqls", SQR]))
    assert dict(rule.params) == {"metrics": ["mqls", SQR]} and rule.channels == ()
    assert book.add(RuleSpec("any", "definition_change")).describe() == (
        "definition changes agreed (any metric or the scorecard), to their signers too"
    )
    with pytest.raises(AlertError, match="Did you mean mqls"):
        book.add(RuleSpec("x", "definition_change", metrics=["mql"]))
    with pytest.raises(AlertError, match="takes no hours"):
        book.add(RuleSpec("x", "definition_change", hours=1))
    with pytest.raises(AlertError, match="at least one channel"):
        book.add(RuleSpec("x", "stale_data", hours=1))  # other kinds still need one


def test_the_cli_adds_a_definition_change_rule(tmp_path: Path) -> None:
    revteam.init(tmp_path / "ws").close()
    args = ["alerts", "add", "Definitions", "--kind", "definition_change", "--format", "json"]
    watch = ["--metric", "mqls", "--metric", SQR]
    ok = CliRunner().invoke(cli, ["-w", str(tmp_path / "ws"), *args, *watch])
    assert ok.exit_code == 0, ok.output
    (rule,) = json.loads(ok.stdout)
    assert rule["kind"] == "definition_change" and rule["params"] == {"metrics": ["mqls", SQR]}
    assert rule["channels"] == []
