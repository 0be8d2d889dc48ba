"""The Alerts page: the rules, what fired and is still active, and recent deliveries.

Everyone reads it; editors and admins add and delete rules with forms that carry the session's
CSRF token (post, redirect, get). Failed deliveries are marked, with their error and when the
next attempt is due. Only the application database and the metric definitions are read, so the
page works while a load holds the warehouse; evaluating is the scheduler's, never the page's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from revteam.alerts import KINDS, OPS, Channel, RuleSpec
from revteam.alerts.rules import MANY_METRICS, SLA_METRICS
from revteam.alerts.schedule import DAYS
from revteam.exceptions import AlertError, RevteamError
from revteam.web.deps import EditorDep, Principal, PrincipalDep, RuntimeDep, check_form_csrf
from revteam.web.filters import FILTER_DIMENSIONS
from revteam.web.pages.goals import refusal
from revteam.web.pages.render import render
from revteam.web.routes.alerts import book_of
from revteam.web.runtime import Runtime
from revteam.web.schemas import MAX_ID, Id

router = APIRouter(include_in_schema=False)
SHOWN = 50
"""Delivery attempts the page lists."""
_SPLIT = re.compile(r"[\s,;]+")


async def check_editor_form(request: Request, principal: EditorDep) -> Principal:
    """Alert forms: editors and admins, with this session's CSRF token."""
    return await check_form_csrf(request, principal)


EditorForm = Annotated[Principal, Depends(check_editor_form)]


@dataclass(frozen=True)
class AlertForm:
    """The add-a-rule form as typed (checked when the rule is added)."""

    name: str = ""
    kind: str = "threshold"
    metric: str = ""
    op: str = ""
    value: str = ""
    segment_dimension: str = ""
    segment_value: str = ""
    grain: str = ""
    dimension: str = ""
    fdr: str = ""
    goal: str = ""
    period: str = ""
    at_risk: bool = False
    hours: str = ""
    tables: str = ""
    attach: str = ""
    schedule: str = ""
    emails: str = ""
    webhooks: str = ""
    webhook_format: str = "json"
    owner: str = ""

    def spec(self) -> RuleSpec:
        """The form as a :class:`RuleSpec`; numbers that are not numbers are refused here."""
        kind = self.kind
        channels = [Channel.email(a) for a in _words(self.emails)]
        fmt = self.webhook_format if self.webhook_format in ("json", "slack") else "json"
        channels += [Channel.webhook(u, fmt) for u in _words(self.webhooks)]
        segment = {}
        if self.segment_dimension.strip() or self.segment_value.strip():
            segment = {self.segment_dimension.strip(): self.segment_value.strip()}
        metric = self.metric.strip() or None
        many = kind in MANY_METRICS
        return RuleSpec(
            name=self.name,
            kind=kind,
            channels=channels,
            metric=None if many else metric,
            metrics=[metric] if many and metric else [],
            op=self.op or None,
            value=self.value.strip() or None,
            segment=segment,
            grain=self.grain or None,
            dimension=self.dimension.strip() or None,
            fdr=_number(self.fdr, "FDR", percent=True),
            goal=_whole(self.goal, "goal"),
            period=self.period.strip() or None,
            at_risk=self.at_risk,
            hours=_number(self.hours, "hours"),
            tables=_words(self.tables),
            attach=self.attach or None,
            schedule=self.schedule.strip() or None,
            owner=self.owner.strip() or None,
        )


def _words(text: str) -> list[str]:
    return [w for w in _SPLIT.split(text or "") if w]


def _number(text: str, what: str, *, percent: bool = False) -> float | None:
    raw = text.strip()
    if not raw:
        return None
    scale = 100 if percent and raw.endswith("%") else 1
    try:
        return float(raw.removesuffix("%") if scale != 1 else raw) / scale
    except ValueError:
        raise AlertError(
            f"The {what} {text!r} is not a number.", "Write it as 0.05 or 36."
        ) from None


def _whole(text: str, what: str) -> int | None:
    if not text.strip():
        return None
    if not text.strip().isdigit() or len(text.strip()) > 10:
        raise AlertError(f"The {what} {text!r} is not an id.", "See the Goals page for ids.")
    return int(text.strip())


def alert_form(
    name: Annotated[str, Form(max_length=100)] = "",
    kind: Annotated[str, Form(max_length=20)] = "threshold",
    metric: Annotated[str, Form(max_length=64)] = "",
    op: Annotated[str, Form(pattern="^(|<|<=|>|>=)$")] = "",
    value: Annotated[str, Form(max_length=40)] = "",
    segment_dimension: Annotated[str, Form(max_length=64)] = "",
    segment_value: Annotated[str, Form(max_length=200)] = "",
    grain: Annotated[str, Form(pattern="^(|day|week|month|quarter|year)$")] = "",
    dimension: Annotated[str, Form(max_length=64)] = "",
    fdr: Annotated[str, Form(max_length=12)] = "",
    goal: Annotated[str, Form(max_length=12)] = "",
    period: Annotated[str, Form(max_length=20)] = "",
    at_risk: Annotated[str, Form(max_length=5)] = "",
    hours: Annotated[str, Form(max_length=12)] = "",
    tables: Annotated[str, Form(max_length=500)] = "",
    attach: Annotated[str, Form(pattern="^(|pdf|html)$")] = "",
    schedule: Annotated[str, Form(max_length=40)] = "",
    emails: Annotated[str, Form(max_length=4000)] = "",
    webhooks: Annotated[str, Form(max_length=8000)] = "",
    webhook_format: Annotated[str, Form(pattern="^(|json|slack)$")] = "json",
    owner: Annotated[str, Form(max_length=320)] = "",
) -> AlertForm:
    """The form's fields, as typed."""
    return AlertForm(
        name=name,
        kind=kind,
        metric=metric,
        op=op,
        value=value,
        segment_dimension=segment_dimension,
        segment_value=segment_value,
        grain=grain,
        dimension=dimension,
        fdr=fdr,
        goal=goal,
        period=period,
        at_risk=bool(at_risk),
        hours=hours,
        tables=tables,
        attach=attach,
        schedule=schedule,
        emails=emails,
        webhooks=webhooks,
        webhook_format=webhook_format or "json",
        owner=owner,
    )


AlertFormDep = Annotated[AlertForm, Depends(alert_form)]


def _page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    *,
    form: AlertForm | None = None,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    book = book_of(runtime)
    found = book.status(limit=SHOWN)
    specs = runtime.definitions.catalogue.specs
    metrics: Sequence[tuple[str, str]] = sorted(
        ((s.id, s.label) for s in specs.values()), key=lambda m: m[1].lower()
    )
    context: dict[str, Any] = {
        "rules": found.rules,
        "active": found.active,
        "deliveries": found.deliveries,
        "failures": found.failures,
        "running": found.lease.holder,
        "can_edit": principal.can("editor"),
        "form": form or AlertForm(),
        "kinds": KINDS,
        "ops": OPS,
        "metric_choices": metrics,
        "dimensions": FILTER_DIMENSIONS,
        "sla_metrics": SLA_METRICS,
        "days": DAYS,
        "timezone": runtime.settings.timezone,
        "settings": runtime.settings.alerts,
        "message": message,
        "is_error": status >= 400,
    }
    return render(request, "alerts.html", principal, nav="alerts", status_code=status, **context)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    added: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    deleted: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> HTMLResponse:
    message = ""
    if added:
        message = f"Added alert rule {added}. It is evaluated within a minute."
    elif deleted:
        message = f"Deleted alert rule {deleted}."
    return _page(request, runtime, principal, message=message)


@router.post("/alerts", response_class=HTMLResponse)
def add_alert(
    request: Request, runtime: RuntimeDep, principal: EditorForm, form: AlertFormDep
) -> Response:
    """Add the rule, or show the page again with the reason and the form as typed."""
    try:
        rule = book_of(runtime).add(form.spec(), actor=principal.actor, role=principal.user.role)
    except RevteamError as exc:
        status = refusal(exc)
        return _page(request, runtime, principal, form=form, message=str(exc), status=status)
    return RedirectResponse(f"/alerts?added={rule.id}", status_code=303)


@router.post("/alerts/{rule_id}/delete", response_class=HTMLResponse)
def delete_alert(
    request: Request, runtime: RuntimeDep, principal: EditorForm, rule_id: Id
) -> Response:
    """Delete the rule with its conditions and delivery log."""
    book_of(runtime).delete(rule_id, actor=principal.actor, role=principal.user.role)
    return RedirectResponse(f"/alerts?deleted={rule_id}", status_code=303)
