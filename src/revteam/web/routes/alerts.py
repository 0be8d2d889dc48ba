"""``/alerts``: alert rules (everyone reads; editors and admins add and delete) and their status.

Only the application database and the metric definitions are needed, so rules are managed
while a load holds the warehouse. Webhook URLs often carry a secret: the API shows them
shortened, as the Alerts page and the CLI do. Evaluating and delivering is the server's
scheduler's (or ``revteam alerts run``'s), never a request's.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from revteam.alerts import AlertBook, Channel, Condition, Delivery, Rule, RuleSpec
from revteam.alerts.rules import (
    MAX_CHANNELS,
    MAX_HOURS,
    MAX_METRICS,
    MAX_NAME,
    MAX_TABLES,
    MAX_TARGET,
)
from revteam.metrics.request import MAX_VALUE_LENGTH
from revteam.web.deps import EditorDep, PrincipalDep, RuntimeDep
from revteam.web.runtime import Runtime
from revteam.web.schemas import MAX_ID, Id, Offset, Page, next_offset

router = APIRouter(prefix="/alerts", tags=["alerts"])
Kind = Literal[
    "threshold",
    "off_pace",
    "anomaly",
    "sla_breach",
    "stale_data",
    "review_pack",
    "definition_change",
    "score_degraded",
]
Number = StrictInt | StrictFloat | Annotated[str, Field(max_length=40)]
"""A number, or text such as ``"40%"``; never ``true`` read as 1."""
MAX_LISTED = 200


# -- schemas -----------------------------------------------------------------------------------
class ChannelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["email", "webhook"]
    target: str = Field(
        min_length=1, max_length=MAX_TARGET, description="An e-mail address, or an http(s) URL."
    )
    format: Literal["json", "slack"] | None = Field(
        None, description="Webhooks: json (a generic body, default) or slack."
    )

    def channel(self) -> Channel:
        if self.type == "email":
            return Channel.email(self.target)
        return Channel.webhook(self.target, self.format or "json")


class AlertIn(BaseModel):
    """A rule as a person writes it: the fields of ``RuleSpec`` (see docs/review.md)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME, description="Unique.")
    kind: Kind
    channels: list[ChannelIn] = Field(
        max_length=MAX_CHANNELS,
        description="At least one, except for definition_change (its signers are e-mailed).",
    )
    metric: str | None = Field(
        None, max_length=64, description="threshold, anomaly, off_pace (with period)."
    )
    metrics: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list,
        max_length=MAX_METRICS,
        description="sla_breach: the SLA metrics to watch; definition_change: the metrics "
        "watched (empty: any).",
    )
    op: Literal["<", "<=", ">", ">="] | None = Field(None, description="threshold.")
    value: Number | None = Field(
        None, description="threshold: in the metric's unit; a rate is 0.4 or '40%'."
    )
    segment: dict[
        Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=MAX_VALUE_LENGTH)]
    ] = Field(default_factory=dict, max_length=3, description="threshold, off_pace.")
    grain: Literal["day", "week", "month", "quarter", "year"] | None = Field(
        None, description="threshold (any), anomaly and review_pack (week, month, quarter)."
    )
    dimension: str | None = Field(None, max_length=64, description="anomaly: by this dimension.")
    fdr: float | None = Field(None, gt=0, lt=0.5, description="anomaly (default 0.01).")
    goal: int | None = Field(None, ge=1, le=MAX_ID, description="off_pace: the goal's id.")
    period: str | None = Field(None, max_length=20, description="off_pace: with metric.")
    at_risk: bool = Field(False, description="off_pace, sla_breach: at risk alerts too.")
    hours: float | None = Field(None, gt=0, le=MAX_HOURS, description="stale_data.")
    tables: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=MAX_TABLES, description="stale_data."
    )
    attach: Literal["pdf", "html"] | None = Field(None, description="review_pack (pdf).")
    schedule: str | None = Field(
        None,
        max_length=40,
        description="daily HH:MM, weekly DAY HH:MM or monthly D HH:MM (workspace time zone); "
        "required for review_pack.",
    )
    enabled: bool = True
    owner: str | None = Field(
        None, max_length=320, description="A team or a user's e-mail (default: you)."
    )

    def spec(self) -> RuleSpec:
        return RuleSpec(
            name=self.name,
            kind=self.kind,
            channels=[c.channel() for c in self.channels],
            metric=self.metric,
            metrics=self.metrics,
            op=self.op,
            value=self.value,
            segment=self.segment,
            grain=self.grain,
            dimension=self.dimension,
            fdr=self.fdr,
            goal=self.goal,
            period=self.period,
            at_risk=self.at_risk,
            hours=self.hours,
            tables=self.tables,
            attach=self.attach,
            schedule=self.schedule,
            enabled=self.enabled,
            owner=self.owner,
        )


class ChannelOut(BaseModel):
    type: Literal["email", "webhook"]
    target: str = Field(description="The address, or the webhook's URL shortened.")
    format: Literal["email", "json", "slack"]


class AlertOut(BaseModel):
    id: int
    name: str
    kind: Kind
    description: str = Field(description="The rule in words.")
    params: dict[str, Any] = Field(description="The kind's options, as checked.")
    channels: list[ChannelOut]
    schedule: str | None
    enabled: bool
    owner: str
    created_at: dt.datetime | None
    created_by: str
    checked_at: dt.datetime | None = Field(description="When it was last evaluated.")
    last_error: str | None = Field(description="Why its last evaluation failed, if it did.")
    last_error_at: dt.datetime | None


class AlertList(Page):
    items: list[AlertOut]


class ConditionOut(BaseModel):
    id: int
    rule_id: int
    rule: str
    key: str
    title: str
    link: str | None = Field(description="The records behind it (or the page that shows it).")
    first_seen: dt.datetime
    last_seen: dt.datetime
    cleared_at: dt.datetime | None


class DeliveryOut(BaseModel):
    id: int
    rule_id: int
    rule: str
    condition_id: int
    title: str
    channel: str
    attempt: int
    status: Literal["pending", "sent", "failed"]
    error: str | None
    at: dt.datetime = Field(description="When it was made (pending: queued).")
    next_attempt_at: dt.datetime | None = Field(description="Pending: when it is due.")
    gave_up: bool = Field(description="A failed attempt after which no retry is queued.")


class RunningOut(BaseModel):
    holder: str | None = Field(description="The process evaluating now (host:pid:nonce).")
    until: dt.datetime | None


class AlertStatusOut(BaseModel):
    active: list[ConditionOut] = Field(description="Conditions not cleared, newest first.")
    deliveries: list[DeliveryOut] = Field(description="Recent attempts, newest first.")
    failures: list[DeliveryOut] = Field(description="Recent failed attempts, newest first.")
    errors: list[AlertOut] = Field(description="Rules whose last evaluation failed.")
    running: RunningOut


# -- helpers -----------------------------------------------------------------------------------
def book_of(runtime: Runtime) -> AlertBook:
    """Rules over the application database and the definitions: no warehouse needed."""
    return AlertBook(
        runtime.app.db, runtime.definitions, goals=runtime.goals, settings=runtime.settings
    )


def alert_out(rule: Rule) -> AlertOut:
    return AlertOut.model_validate(rule.as_dict())


def condition_out(c: Condition) -> ConditionOut:
    return ConditionOut.model_validate(c.as_dict())


def delivery_out(d: Delivery) -> DeliveryOut:
    return DeliveryOut.model_validate(d.as_dict())


# -- routes ------------------------------------------------------------------------------------
@router.get("", response_model=AlertList, summary="Alert rules")
def list_alerts(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 100,
    offset: Offset = 0,
) -> AlertList:
    rules = book_of(runtime).list()
    return AlertList(
        items=[alert_out(r) for r in rules[offset : offset + limit]],
        total=len(rules),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(rules), limit, offset),
    )


@router.get("/status", response_model=AlertStatusOut, summary="Active conditions and deliveries")
def alerts_status(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LISTED, description="Attempts and failures listed.")
    ] = 50,
) -> AlertStatusOut:
    """What fired and is still active, recent delivery attempts, failures, and broken rules."""
    found = book_of(runtime).status(limit=limit)
    running = found.as_dict()["running"]
    return AlertStatusOut(
        active=[condition_out(c) for c in found.active],
        deliveries=[delivery_out(d) for d in found.deliveries],
        failures=[delivery_out(d) for d in found.failures],
        errors=[alert_out(r) for r in found.rules if r.last_error],
        running=RunningOut.model_validate(running),
    )


@router.post("", response_model=AlertOut, status_code=201, summary="Add an alert rule (editor)")
def add_alert(runtime: RuntimeDep, principal: EditorDep, body: AlertIn) -> AlertOut:
    """Checked as the CLI checks it; a refused rule is a 400 naming the fix."""
    rule = book_of(runtime).add(body.spec(), actor=principal.actor, role=principal.user.role)
    return alert_out(rule)


@router.delete("/{rule_id}", response_model=AlertOut, summary="Delete an alert rule (editor)")
def delete_alert(runtime: RuntimeDep, principal: EditorDep, rule_id: Id) -> AlertOut:
    """The rule as it was; its conditions and delivery log go with it (the audit log keeps it)."""
    gone = book_of(runtime).delete(rule_id, actor=principal.actor, role=principal.user.role)
    return alert_out(gone)
