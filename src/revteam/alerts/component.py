"""``ws.alerts``: the rules (add, list, delete, status) and running them.

:class:`AlertBook` needs only the application database and the metric definitions, so the web
app and the CLI manage rules while a load holds the warehouse; :class:`AlertsComponent` adds
:meth:`~AlertsComponent.run`, which asks the workspace's components.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revteam.alerts.deliver import Transport
from revteam.alerts.evaluate import Facts
from revteam.alerts.rules import Rule, RuleSpec, check
from revteam.alerts.runner import AlertRunner, RunReport
from revteam.alerts.store import AlertStore, Condition, Delivery, LeaseState
from revteam.app import CLI, Actor
from revteam.app.models import utcnow
from revteam.settings import Settings
from revteam.storage import AppDatabase

if TYPE_CHECKING:
    from revteam.goals import GoalBook
    from revteam.metrics import Definitions


@dataclass(frozen=True)
class AlertStatus:
    """What ``revteam alerts status`` and the Alerts page show."""

    rules: tuple[Rule, ...]
    active: tuple[Condition, ...]
    deliveries: tuple[Delivery, ...]
    """The most recent attempts (pending ones too), newest first."""
    failures: tuple[Delivery, ...]
    lease: LeaseState

    def as_dict(self) -> dict[str, Any]:
        return {
            "rules": [r.as_dict() for r in self.rules],
            "active": [c.as_dict() for c in self.active],
            "deliveries": [d.as_dict() for d in self.deliveries],
            "failures": [d.as_dict() for d in self.failures],
            "running": {
                "holder": self.lease.holder or None,
                "until": None
                if not self.lease.holder or self.lease.expires_at is None
                else self.lease.expires_at.isoformat(timespec="seconds"),
            },
        }


class AlertBook:
    """Alert rules over one application database, checked against the metric definitions."""

    def __init__(
        self,
        db: AppDatabase,
        definitions: Definitions,
        *,
        goals: GoalBook | None = None,
        settings: Settings,
        clock: Callable[[], dt.datetime] | None = None,
    ) -> None:
        self.store = AlertStore(db)
        self.definitions, self.goals, self.settings = definitions, goals, settings
        self._clock = clock or utcnow

    def check(self, spec: RuleSpec, *, actor: Actor = CLI) -> Rule:
        """``spec`` validated (kind, options, schedule, channels, owner), not saved."""
        return check(
            spec,
            self.definitions,
            goals=self.goals,
            fy_start=self.settings.fiscal_year_start_month,
            actor=actor.name,
        )

    def add(self, spec: RuleSpec, *, actor: Actor = CLI, role: str = "admin") -> Rule:
        """Check and save a rule (editors and admins; the command line acts as an admin)."""
        rule = self.check(spec, actor=actor)
        return self.store.add(rule, actor=actor, role=role, now=self._clock())

    def list(self) -> list[Rule]:
        return self.store.list()

    def get(self, rule_id: int) -> Rule:
        return self.store.get(rule_id)

    def delete(self, rule_id: int, *, actor: Actor = CLI, role: str = "admin") -> Rule:
        """Delete a rule, its conditions and its delivery log (editors and admins)."""
        return self.store.delete(rule_id, actor=actor, role=role)

    def status(self, *, limit: int = 50) -> AlertStatus:
        """Rules, active conditions, the latest ``limit`` delivery attempts and failures."""
        return AlertStatus(
            rules=tuple(self.store.list()),
            active=tuple(self.store.active()),
            deliveries=tuple(self.store.deliveries(limit=limit)),
            failures=tuple(self.store.deliveries(failed=True, limit=limit)),
            lease=self.store.lease(),
        )


class AlertsComponent(AlertBook):
    """Rules plus running them against the workspace (``ws.alerts``)."""

    def __init__(
        self,
        *,
        db: AppDatabase,
        facts: Facts,
        definitions: Definitions,
        goals: GoalBook | None = None,
        settings: Settings,
        clock: Callable[[], dt.datetime] | None = None,
        holder: str | None = None,
        transport: Transport | None = None,
    ) -> None:
        super().__init__(db, definitions, goals=goals, settings=settings, clock=clock)
        self.runner = AlertRunner(
            self.store,
            lambda: nullcontext(facts),
            settings,
            clock=clock,
            holder=holder,
            transport=transport,
        )

    def run(self, *, dry_run: bool = False, force: bool = True) -> RunReport:
        """Evaluate every enabled rule once (scheduled ones when due) and deliver what is due.

        ``force`` (default) evaluates unscheduled rules even when their inputs did not change
        (the scheduler does not); ``dry_run`` reports what would be alerted, writing nothing.
        Raises :class:`~revteam.exceptions.AlertRunnerBusyError` while another process runs.
        """
        return self.runner.run(dry_run=dry_run, force=force)
