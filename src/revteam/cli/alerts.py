"""Alert commands: ``alerts add|list|delete|run|status``.

``add``, ``list``, ``delete`` and ``status`` need only the application database and the metric
definitions, so rules can be managed while a load runs; ``run`` reads the warehouse read-only
(exit 8 during a load). Mail server settings come from the environment only
(``REVTEAM_SMTP_*``; see docs/review.md).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

import typer
from rich.markup import escape

from revteam.alerts import AlertBook, AlertStatus, Channel, Delivery, Rule, RuleSpec, RunReport
from revteam.alerts.rules import MANY_METRICS
from revteam.cli._common import OutputFormat, console, emit, open_ws, state
from revteam.exceptions import AlertError
from revteam.settings import find_workspace, load_settings

alerts_app = typer.Typer(
    name="alerts",
    help="Alerts and subscriptions: rules that watch the KPIs and tell people once.",
    no_args_is_help=True,
)
RULE_COLUMNS = ("id", "name", "kind", "rule", "schedule", "channels", "owner", "enabled", "error")
KindOption = Literal[
    "threshold",
    "off_pace",
    "anomaly",
    "sla_breach",
    "stale_data",
    "review_pack",
    "definition_change",
    "score_degraded",
]


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app)


@contextmanager
def _book() -> Iterator[AlertBook]:
    """Rules without the warehouse: application database, definitions and goals."""
    from revteam.app import open_app
    from revteam.goals import GoalBook
    from revteam.metrics import Definitions

    root = find_workspace(state.workspace)
    settings = load_settings(root)
    with open_app(root) as app:
        definitions = Definitions(root / "metrics", settings)
        goals = GoalBook(app.db, definitions, fy_start=settings.fiscal_year_start_month)
        yield AlertBook(app.db, definitions, goals=goals, settings=settings)


def _row(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": rule.name,
        "kind": rule.kind,
        "rule": rule.describe(),
        "schedule": rule.schedule or "",
        "channels": [c.label() for c in rule.channels],
        "owner": rule.owner,
        "enabled": rule.enabled,
        "error": rule.last_error or "",
    }


@alerts_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="What the rule watches, in a few words (unique).")],
    kind: Annotated[
        KindOption,
        typer.Option(
            help="threshold, off_pace, anomaly, sla_breach, stale_data, review_pack, "
            "definition_change or score_degraded.",
            show_default=False,
        ),
    ],
    email: Annotated[
        list[str] | None,
        typer.Option(
            "--email",
            help="Send to this address (repeatable; definition_change also e-mails who proposed "
            "and who signed off).",
        ),
    ] = None,
    webhook: Annotated[
        list[str] | None,
        typer.Option("--webhook", help="POST a JSON body to this URL (repeatable)."),
    ] = None,
    slack: Annotated[
        list[str] | None,
        typer.Option("--slack", help="POST a Slack message to this incoming-webhook URL."),
    ] = None,
    metric: Annotated[
        list[str] | None,
        typer.Option(
            "--metric",
            help="The metric (threshold, anomaly, off_pace); sla_breach: SLA metrics to watch "
            "(repeatable; default all three); definition_change: metrics to watch (repeatable; "
            "default any).",
        ),
    ] = None,
    op: Annotated[str | None, typer.Option(help="threshold: <, <=, > or >=.")] = None,
    value: Annotated[
        str | None, typer.Option(help="threshold: in the metric's unit (0.4 or 40% for a rate).")
    ] = None,
    segment: Annotated[
        list[str] | None,
        typer.Option("--segment", help="threshold, off_pace: DIMENSION=VALUE (repeatable)."),
    ] = None,
    grain: Annotated[
        str | None,
        typer.Option(
            help="threshold: day … year; anomaly, review_pack: week, month or quarter "
            "(default month)."
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="anomaly: look in each value of this dimension.")
    ] = None,
    fdr: Annotated[
        float | None,
        typer.Option(help="anomaly: false-discovery rate (default 0.01).", min=0, max=0.5),
    ] = None,
    goal: Annotated[int | None, typer.Option(help="off_pace: the goal's id.", min=1)] = None,
    period: Annotated[
        str | None, typer.Option(help="off_pace: the goal's period with --metric (2026-Q4).")
    ] = None,
    at_risk: Annotated[
        bool,
        typer.Option("--at-risk", help="off_pace, sla_breach: alert at risk, not only off track."),
    ] = False,
    hours: Annotated[
        float | None, typer.Option(help="stale_data: hours without a load or new records.")
    ] = None,
    table: Annotated[
        list[str] | None,
        typer.Option("--table", help="stale_data: watch these tables' records (repeatable)."),
    ] = None,
    attach: Annotated[
        Literal["pdf", "html"] | None, typer.Option(help="review_pack: pdf (default) or html.")
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option(
            help="'daily 07:30', 'weekly MON 08:00' or 'monthly 1 08:00' (workspace time "
            "zone); required for review_pack."
        ),
    ] = None,
    owner: Annotated[
        str | None, typer.Option(help="A team or a user's e-mail (default: cli).")
    ] = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Add an alert rule (see docs/review.md, "Alerts and subscriptions").

    A condition it finds is alerted once, to every channel, until it clears.
    """
    from revteam.cli.goals import parse_segment

    metrics = [m for m in (metric or []) if m.strip()]
    many = kind in MANY_METRICS
    if not many and len(metrics) > 1:
        raise AlertError(f"A {kind} rule watches one metric.", "Give --metric once.")
    channels = [Channel.email(a) for a in email or []]
    channels += [Channel.webhook(u, "json") for u in webhook or []]
    channels += [Channel.webhook(u, "slack") for u in slack or []]
    try:
        where = parse_segment(segment or [])
    except ValueError as exc:
        raise AlertError(str(exc)) from None
    spec = RuleSpec(
        name=name,
        kind=kind,
        channels=channels,
        metric=None if many or not metrics else metrics[0],
        metrics=metrics if many else (),
        op=op,
        value=value,
        segment=where,
        grain=grain,
        dimension=by,
        fdr=fdr,
        goal=goal,
        period=period,
        at_risk=at_risk,
        hours=hours,
        tables=table or [],
        attach=attach,
        schedule=schedule,
        enabled=not disabled,
        owner=owner,
    )
    with _book() as book:
        rule = book.add(spec)
    _rules([rule], fmt, f"Alert rule {rule.id} added")


@alerts_app.command("list")
def list_rules(fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table) -> None:
    """Every alert rule: what it watches, when, whom it tells, and its last error."""
    with _book() as book:
        rules = book.list()
    _rules(rules, fmt, "Alert rules")


@alerts_app.command("delete")
def delete(
    rule_id: Annotated[int, typer.Argument(min=1, help="The rule's id (`revteam alerts list`).")],
) -> None:
    """Delete an alert rule with its conditions and delivery log (the audit log keeps it)."""
    with _book() as book:
        rule = book.delete(rule_id)
    console.print(f"Deleted alert rule {rule.id} ({escape(rule.name)}).", highlight=False)


@alerts_app.command("run")
def run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be alerted; write and send nothing.")
    ] = False,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Evaluate every enabled rule once (scheduled ones when due) and deliver what is due.

    Failed deliveries are retried by later runs with back-off. One process runs at a time:
    while the web server's scheduler runs, this exits 1 saying so.
    """
    with open_ws(read_only=True) as ws:
        report = ws.alerts.run(dry_run=dry_run)
    _report(report, fmt)


@alerts_app.command("status")
def status(
    limit: Annotated[
        int, typer.Option(min=1, max=500, help="Delivery attempts and failures shown.")
    ] = 20,
    fmt: Annotated[OutputFormat, typer.Option("--format")] = OutputFormat.table,
) -> None:
    """Active conditions, recent deliveries and failures, and rules whose last check failed."""
    with _book() as book:
        found = book.status(limit=limit)
    _status(found, fmt)


# -- output ------------------------------------------------------------------------------------
def _json(data: object) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")


def _rules(rules: list[Rule], fmt: OutputFormat, title: str) -> None:
    if fmt is OutputFormat.json:
        _json([r.as_dict() for r in rules])
        return
    if not rules and fmt is OutputFormat.table:
        console.print("No alert rules. Add one with `revteam alerts add`.")
        return
    emit([_row(r) for r in rules], fmt, title=title, columns=RULE_COLUMNS)


def _report(report: RunReport, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        _json(report.as_dict())
        return
    rows = [
        {
            "rule": r.name,
            "kind": r.kind,
            "outcome": r.outcome,
            "new": list(r.new),
            "active": r.active,
            "cleared": r.cleared,
            "error": r.error or "",
        }
        for r in report.rules
    ]
    what = "Dry run (nothing written or sent)" if report.dry_run else "Alerts run"
    if rows:
        emit(rows, fmt, title=f"{what} at {report.at:%Y-%m-%d %H:%M} UTC")
    elif fmt is OutputFormat.table:
        console.print("No enabled alert rules.")
    attempts = [a.as_dict() for a in report.attempts]
    if attempts:
        columns = ("rule", "title", "channel", "attempt", "status", "error", "next_attempt_at")
        emit(attempts, fmt, title="Deliveries", columns=columns)


def _status(found: AlertStatus, fmt: OutputFormat) -> None:
    if fmt is OutputFormat.json:
        _json(found.as_dict())
        return
    if found.lease.holder:
        console.print(f"Running now: {escape(found.lease.holder)}.", highlight=False)
    active = [{"rule": c.rule, "condition": c.title, "since": c.first_seen} for c in found.active]
    deliveries = [_delivery(d) for d in found.deliveries]
    failures = [_delivery(d) for d in found.failures]
    broken = [_row(r) for r in found.rules if r.last_error]
    if fmt is OutputFormat.csv:
        emit(deliveries, fmt)
        return
    if active:
        emit(active, fmt, title="Active conditions")
    else:
        console.print("No active conditions.")
    if deliveries:
        columns = ("at", "rule", "channel", "attempt", "status")
        emit(deliveries, fmt, title="Recent deliveries (newest first)", columns=columns)
    else:
        console.print("No deliveries yet.")
    if failures:
        emit(failures, fmt, title="Failed attempts (newest first)")
    if broken:
        emit(broken, fmt, title="Rules whose last check failed", columns=("id", "name", "error"))


def _delivery(d: Delivery) -> dict[str, Any]:
    """An attempt as a row (the condition's title is in ``--format json``)."""
    due = f"due {d.next_attempt_at:%Y-%m-%d %H:%M}" if d.next_attempt_at else ""
    return {
        "at": d.at,
        "rule": d.rule,
        "channel": d.channel,
        "attempt": d.attempt,
        "status": "gave up" if d.final else due or d.status,
        "error": d.error or "",
    }
