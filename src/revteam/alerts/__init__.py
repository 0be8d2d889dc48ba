"""Alerts and subscriptions: rules in the application database, evaluated once, delivered once.

>>> ws.alerts.add(RuleSpec("SQR moves", "anomaly", [Channel.email("ops@x.com")],  # doctest: +SKIP
...     metric="sales_qualification_rate", dimension="campaign"))
>>> ws.alerts.run()                                                          # doctest: +SKIP

A condition (a breach, a goal off track, an anomaly, stale data, a pack due, a definition
agreed) alerts once until it clears; deliveries (SMTP, webhooks) are logged per attempt and
retried with back-off. See ``docs/review.md``, "Alerts and subscriptions".
"""

from __future__ import annotations

from revteam.alerts.component import AlertBook, AlertsComponent, AlertStatus
from revteam.alerts.deliver import Message, SmtpSettings, Transport, compose
from revteam.alerts.evaluate import Evaluator, Facts, Moment, public_url, records_link
from revteam.alerts.rules import KINDS, OPS, SLA_METRICS, Channel, Rule, RuleSpec, check
from revteam.alerts.runner import AlertRunner, Attempt, RuleRun, RunReport, Scheduler, new_holder
from revteam.alerts.schedule import Schedule, parse_schedule
from revteam.alerts.store import (
    AlertStore,
    Attachment,
    Condition,
    Delivery,
    Finding,
    LeaseState,
)

__all__ = [
    "KINDS",
    "OPS",
    "SLA_METRICS",
    "AlertBook",
    "AlertRunner",
    "AlertStatus",
    "AlertStore",
    "AlertsComponent",
    "Attachment",
    "Attempt",
    "Channel",
    "Condition",
    "Delivery",
    "Evaluator",
    "Facts",
    "Finding",
    "LeaseState",
    "Message",
    "Moment",
    "Rule",
    "RuleRun",
    "RuleSpec",
    "RunReport",
    "Schedule",
    "Scheduler",
    "SmtpSettings",
    "Transport",
    "check",
    "compose",
    "new_holder",
    "parse_schedule",
    "public_url",
    "records_link",
]
