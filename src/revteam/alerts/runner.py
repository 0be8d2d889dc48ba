"""Running the alerts: evaluate the rules that need it, deliver what is due, under one lease.

One run (``revteam alerts run``, or a tick of the web server's scheduler):

1. takes the lease (:meth:`AlertStore.acquire`); another process holding it ends the run with
   :class:`~revteam.exceptions.AlertRunnerBusyError`, so one process evaluates at a time
   however many web workers there are;
2. evaluates each enabled rule that needs it: a scheduled rule when its occurrence is due, an
   unscheduled one when its inputs (data version, goals; for ``definition_change`` the agreed
   versions) changed since its last evaluation (``force``: every unscheduled rule),
   ``stale_data`` every time (the clock is its input).
   A rule that fails is recorded against the rule (``last_error``) and logged; the run goes on;
3. makes every pending delivery attempt that is due, recording each outcome; failures are
   retried by later runs after 1, 2, 4 … times ``alerts.retry_minutes``, at most
   ``alerts.max_attempts`` attempts;
4. releases the lease.

Nothing but the lease refusal is raised out of a run: the web server must never crash over
an alert. :class:`Scheduler` calls a run every minute in a daemon thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

from revteam.alerts.deliver import Transport, compose
from revteam.alerts.evaluate import Evaluator, Facts, Moment
from revteam.alerts.rules import Rule
from revteam.alerts.schedule import parse_schedule
from revteam.alerts.store import AlertStore, Finding
from revteam.app.models import utcnow
from revteam.exceptions import (
    AlertDeliveryError,
    AlertRunnerBusyError,
    RevteamError,
    ServerBusyError,
    WarehouseBusyError,
)
from revteam.settings import Settings

log = logging.getLogger("revteam.alerts")
Opener = Callable[[], AbstractContextManager[Facts]]
Clock = Callable[[], dt.datetime]
Outcome = Literal["checked", "unchanged", "not_due", "error"]
TRANSIENT = (WarehouseBusyError, ServerBusyError)
"""A load holds the warehouse, or the web server is busy: the rule is tried again next run."""


@dataclass(frozen=True)
class RuleRun:
    """What one run did with one rule."""

    rule_id: int
    name: str
    kind: str
    outcome: Outcome
    new: tuple[str, ...] = ()
    """Titles of the conditions found for the first time (alerted)."""
    active: int = 0
    cleared: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule_id": self.rule_id,
            "name": self.name,
            "kind": self.kind,
            "outcome": self.outcome,
            "new": list(self.new),
            "active": self.active,
            "cleared": self.cleared,
            "error": self.error,
        }


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt a run made."""

    rule: str
    title: str
    channel: str
    attempt: int
    error: str | None
    next_attempt_at: dt.datetime | None

    @property
    def status(self) -> str:
        return "sent" if self.error is None else "failed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "channel": self.channel,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "next_attempt_at": None
            if self.next_attempt_at is None
            else self.next_attempt_at.isoformat(timespec="seconds"),
        }


@dataclass(frozen=True)
class RunReport:
    at: dt.datetime
    dry_run: bool
    rules: tuple[RuleRun, ...]
    attempts: tuple[Attempt, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="seconds"),
            "dry_run": self.dry_run,
            "rules": [r.as_dict() for r in self.rules],
            "attempts": [a.as_dict() for a in self.attempts],
        }


def new_holder() -> str:
    """The name this process takes on the lease: host, process id and a nonce."""
    return f"{socket.gethostname()[:100]}:{os.getpid()}:{secrets.token_hex(3)}"


class AlertRunner:
    """Evaluates and delivers (see the module's docstring).

    Parameters
    ----------
    store
        The alert state.
    facts
        Opens what rules ask (a workspace); called once per rule evaluated, so the web server
        holds its warehouse gate one rule at a time.
    clock
        Now, as naive UTC (tests move it instead of sleeping).
    holder
        This runner's name on the lease (default: host, process id, nonce).
    transport
        Sends messages (default: SMTP and httpx).
    """

    def __init__(
        self,
        store: AlertStore,
        facts: Opener,
        settings: Settings,
        *,
        clock: Clock | None = None,
        holder: str | None = None,
        transport: Transport | None = None,
    ) -> None:
        self.store, self._facts, self.settings = store, facts, settings
        self._clock = clock or utcnow
        self.holder = holder or new_holder()
        self.transport = transport or Transport(timeout=settings.alerts.timeout_seconds)
        self.evaluator = Evaluator(settings)

    def now(self) -> dt.datetime:
        return self._clock().replace(microsecond=0)

    def run(self, *, dry_run: bool = False, force: bool = False) -> RunReport:
        """One run; ``dry_run`` evaluates and reports without writing or sending anything."""
        now = self.now()
        if dry_run:
            return RunReport(now, True, tuple(self._evaluate(now, dry_run=True, force=force)))
        lease = self.store.acquire(self.holder, now, self.settings.alerts.lease_seconds)
        if not lease.held:
            until = "?" if lease.expires_at is None else f"{lease.expires_at:%Y-%m-%d %H:%M:%S}"
            raise AlertRunnerBusyError(lease.holder, until)
        try:
            rules = tuple(self._evaluate(now, dry_run=False, force=force))
            attempts = tuple(self._deliver(now))
        finally:
            try:
                self.store.release(self.holder, now)
            except Exception:  # it expires by itself
                log.warning("Could not release the alerts lease", exc_info=True)
        return RunReport(now, False, rules, attempts)

    # -- evaluating --------------------------------------------------------------------------
    @staticmethod
    def inputs(facts: Facts, kind: str = "") -> str:
        """What an unscheduled rule's findings depend on besides the rule.

        The data and the goals; for a ``definition_change`` rule, the agreed versions (kept
        for ever, so their count moves with each one).
        """
        if kind == "definition_change":
            return f"definitions {len(facts.proposals.versions())}"
        return f"{facts.data_version}|{facts.goals.store.revision()}"

    def _evaluate(self, now: dt.datetime, *, dry_run: bool, force: bool) -> list[RuleRun]:
        try:
            rules = self.store.list(enabled=True)
        except Exception:
            log.exception("Could not read the alert rules")
            return []
        out: list[RuleRun] = []
        current: dict[bool, str] = {}  # inputs now, read once a run: data's, definitions' (True)
        for rule in rules:
            due = None
            if rule.schedule:
                try:
                    schedule = parse_schedule(rule.schedule)
                except RevteamError as exc:
                    out.append(self._failed(rule, now, str(exc), dry_run=dry_run))
                    continue
                created = rule.created_at or now
                due = schedule.due(
                    now, self.settings.timezone, last_due=rule.last_due, created_at=created
                )
                if due is None:
                    out.append(RuleRun(rule.id, rule.name, rule.kind, "not_due"))
                    continue
            elif rule.kind != "stale_data" and not force:
                family = rule.kind == "definition_change"
                if family not in current:
                    try:
                        with self._facts() as facts:
                            current[family] = self.inputs(facts, rule.kind)
                    except Exception as exc:
                        log.warning("Alerts: cannot read the data version: %s", exc)
                        out.append(RuleRun(rule.id, rule.name, rule.kind, "error", error=str(exc)))
                        continue
                if rule.checked_inputs == current[family]:
                    out.append(RuleRun(rule.id, rule.name, rule.kind, "unchanged"))
                    continue
            out.append(self._one(rule, now, due, dry_run=dry_run))
            if not dry_run and not self._renew():
                log.warning("Alerts: the lease was taken over; this run stops here")
                break
        return out

    def _renew(self) -> bool:
        seconds = self.settings.alerts.lease_seconds
        try:
            return self.store.acquire(self.holder, self.now(), seconds).held
        except Exception:
            log.warning("Could not renew the alerts lease", exc_info=True)
            return True  # the lease is still ours until it expires

    def _one(
        self, rule: Rule, now: dt.datetime, due: dt.datetime | None, *, dry_run: bool
    ) -> RuleRun:
        inputs: str | None = None
        try:
            with self._facts() as facts:
                inputs = self.inputs(facts, rule.kind)
                findings = self.evaluator.evaluate(
                    rule, facts, Moment.at(now, self.settings.timezone, due)
                )
            if not dry_run:  # attachments are made after the warehouse is let go of
                findings = [f.ready() for f in findings]
        except TRANSIENT as exc:
            log.info("Alert rule %r waits for the warehouse: %s", rule.name, exc)
            return RuleRun(rule.id, rule.name, rule.kind, "error", error=str(exc))
        except RevteamError as exc:
            log.warning("Alert rule %r failed: %s", rule.name, exc)
            return self._failed(rule, now, str(exc), inputs=inputs, due=due, dry_run=dry_run)
        except Exception as exc:
            log.exception("Alert rule %r failed", rule.name)
            text = f"{type(exc).__name__}: {exc}"
            return self._failed(rule, now, text, inputs=inputs, due=due, dry_run=dry_run)
        if dry_run:
            return self._preview(rule, findings)
        try:
            done = self.store.reconcile(rule, findings, now, inputs=inputs, due=due)
        except Exception as exc:
            log.exception("Could not record alert rule %r", rule.name)
            return RuleRun(rule.id, rule.name, rule.kind, "error", error=str(exc))
        for c in done.new:
            log.info("Alert %r: %s", rule.name, c.title)
        active = sum(1 for f in findings if not f.event)
        return RuleRun(
            rule.id,
            rule.name,
            rule.kind,
            "checked",
            new=tuple(c.title for c in done.new),
            active=active,
            cleared=done.cleared,
        )

    def _preview(self, rule: Rule, findings: list[Finding]) -> RuleRun:
        """What a real run would alert and clear now (nothing written)."""
        known = self.store.conditions(rule_id=rule.id)
        active = {c.key for c in known if c.cleared_at is None}
        ever = {c.key for c in known}
        new = [f for f in findings if f.key not in (ever if f.event else active)]
        keys = {f.key for f in findings}
        return RuleRun(
            rule.id,
            rule.name,
            rule.kind,
            "checked",
            new=tuple(f.title for f in new),
            active=sum(1 for f in findings if not f.event),
            cleared=len(active - keys),
        )

    def _failed(
        self,
        rule: Rule,
        now: dt.datetime,
        error: str,
        *,
        inputs: str | None = None,
        due: dt.datetime | None = None,
        dry_run: bool,
    ) -> RuleRun:
        if not dry_run:
            try:  # marked done for these inputs / this occurrence: it is not retried every run
                self.store.failed(rule.id, now, error, inputs=inputs, due=due)
            except Exception:
                log.exception("Could not record the failure of alert rule %r", rule.name)
        return RuleRun(rule.id, rule.name, rule.kind, "error", error=error)

    # -- delivering --------------------------------------------------------------------------
    def _deliver(self, now: dt.datetime) -> list[Attempt]:
        try:
            jobs = self.store.due(now)
        except Exception:
            log.exception("Could not read the deliveries due")
            return []
        out = []
        limits = self.settings.alerts
        for job in jobs:
            error: str | None = None
            try:
                attachment = job.attachment if job.channel.type == "email" else None
                self.transport.send(job.channel, compose(job.rule, job.condition, attachment))
            except AlertDeliveryError as exc:
                error = str(exc)
            except Exception as exc:
                log.exception("Delivering alert %r failed", job.rule.name)
                error = f"{type(exc).__name__}: {exc}"
            label = job.channel.label()
            if error is None:
                log.info("Alert %r sent to %s", job.rule.name, label)
            else:
                log.warning(
                    "Alert %r to %s failed (attempt %d): %s",
                    job.rule.name,
                    label,
                    job.attempt,
                    error,
                )
            try:
                retry = self.store.attempted(
                    job.delivery_id,
                    now,
                    error,
                    max_attempts=limits.max_attempts,
                    retry_minutes=limits.retry_minutes,
                )
            except Exception:
                log.exception("Could not record a delivery of alert %r", job.rule.name)
                retry = None
            out.append(
                Attempt(job.rule.name, job.condition.title, label, job.attempt, error, retry)
            )
        return out


class Scheduler:
    """Calls ``run`` every ``interval`` seconds in a daemon thread; logs, never raises.

    The web server starts one per process; the lease inside each run keeps them from
    evaluating at once.
    """

    def __init__(self, run: Callable[[], object], *, interval: float = 60.0) -> None:
        self._run, self.interval = run, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0
        """Runs attempted (for tests and monitoring)."""

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="revteam-alerts", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

    def tick(self) -> bool:
        """One run; ``False`` when it did not happen.

        Another process held the lease, or the run failed (logged).
        """
        self.runs += 1
        try:
            self._run()
        except AlertRunnerBusyError as exc:
            log.debug("Alerts: %s", exc)
            return False
        except Exception:
            log.exception("The alerts run failed; the next one is in %g s", self.interval)
            return False
        return True
