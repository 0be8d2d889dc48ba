"""Alert state in the application database: rules, conditions, delivery attempts, the lease.

- **Rules** are added and deleted (editors and admins), each change in the audit log in the
  same transaction.
- **Conditions** are what a rule found, keyed per rule (a metric's period, a goal, an anomaly's
  segment and direction). :meth:`AlertStore.reconcile` writes one evaluation in one
  transaction: a new key becomes a condition with one pending delivery per channel, a key seen
  again only moves ``last_seen``, and an active key not found any more is cleared. So a
  condition alerts once until it clears, however often it is evaluated.
- **Recipients** of a condition itself (a definition change's signers) get a delivery each
  after the rule's channels, numbered on from them and kept in the condition's ``recipients``.
  A ``definition_change`` key (a metric's version) is the same for every rule of the kind, so
  an e-mail address another such rule already queued it for is skipped, the rule's own
  channels too: each address hears of a version once however many rules watch it.
- **Deliveries** are attempts, one row each: ``pending`` until made, then ``sent`` or
  ``failed``; a failure with attempts left queues the next attempt after a doubling wait.
- **The lease** is one row that one process at a time holds while it evaluates and delivers
  (``SELECT … FOR UPDATE`` on PostgreSQL, SQLite's write lock), so several web workers and a
  ``revteam alerts run`` never alert the same condition twice.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from revteam.alerts.rules import SIGNED_OFF, Channel, Kind, Rule, is_email
from revteam.app import CLI, Actor
from revteam.app.models import (
    AlertConditionRow,
    AlertDeliveryRow,
    AlertLeaseRow,
    AlertRuleRow,
    utcnow,
)
from revteam.app.users import record
from revteam.exceptions import AlertError, PermissionDeniedError, UnknownAlertRuleError
from revteam.storage import AppDatabase

LEASE = "runner"
MAX_LISTED = 500
"""Rows one listing returns at most (status pages show the recent ones)."""
MAX_ERROR = 1000
MAX_KEY = 500
"""A condition's key is compared as stored (the column's length)."""


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes
    mime: str


@dataclass(frozen=True)
class Finding:
    """One condition an evaluation found: its key, what the messages say, an attachment."""

    key: str
    title: str
    detail: dict[str, Any] = field(default_factory=dict)
    attachment: Attachment | None = None
    event: bool = False
    """Something that happened once (a pack sent) rather than a state that can clear: it is
    cleared as soon as it is recorded, and its key is never alerted again."""
    later: Callable[[], Attachment] | None = None
    """Makes the attachment once the warehouse is let go of (rendering a PDF takes seconds,
    and the web server's readers should not wait for it)."""
    recipients: tuple[str, ...] = ()
    """E-mail addresses told besides the rule's channels (a definition change's signers)."""

    def ready(self) -> Finding:
        """The finding with its attachment made."""
        if self.later is None:
            return self
        return replace(self, attachment=self.later(), later=None)


@dataclass(frozen=True)
class Condition:
    id: int
    rule_id: int
    rule: str
    key: str
    title: str
    detail: dict[str, Any]
    first_seen: dt.datetime
    last_seen: dt.datetime
    cleared_at: dt.datetime | None
    attachment_name: str | None = None

    def channels(self, rule: Rule) -> tuple[Channel, ...]:
        """Where it goes, by delivery number: the rule's channels, then its own recipients."""
        return (*rule.channels, *(Channel.email(a) for a in self.detail.get("recipients", ())))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "rule": self.rule,
            "key": self.key,
            "title": self.title,
            "link": self.detail.get("link"),
            "first_seen": _iso(self.first_seen),
            "last_seen": _iso(self.last_seen),
            "cleared_at": _iso(self.cleared_at),
        }


@dataclass(frozen=True)
class Delivery:
    id: int
    rule_id: int
    rule: str
    condition_id: int
    title: str
    channel: str
    attempt: int
    status: str
    error: str | None
    at: dt.datetime
    next_attempt_at: dt.datetime | None
    final: bool = False
    """A failed attempt with no retry queued after it: the delivery was given up."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "rule_id": self.rule_id,
            "rule": self.rule,
            "condition_id": self.condition_id,
            "title": self.title,
            "channel": self.channel,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "at": _iso(self.at),
            "next_attempt_at": _iso(self.next_attempt_at),
            "gave_up": self.final,
        }


@dataclass(frozen=True)
class Job:
    """A pending attempt with what it needs: the rule, its channel, the condition."""

    delivery_id: int
    attempt: int
    rule: Rule
    channel: Channel
    condition: Condition
    attachment: Attachment | None


@dataclass(frozen=True)
class Reconciled:
    new: tuple[Condition, ...]
    kept: int
    cleared: int


@dataclass(frozen=True)
class LeaseState:
    held: bool
    """True when the caller holds it now."""
    holder: str
    expires_at: dt.datetime | None


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds")


def _rule(row: AlertRuleRow) -> Rule:
    channels = tuple(
        Channel(c["type"], c["target"], c.get("format", "email"))
        for c in json.loads(row.channels or "[]")
    )
    return Rule(
        name=row.name,
        kind=cast(Kind, row.kind),
        params=json.loads(row.params or "{}"),
        channels=channels,
        schedule=row.schedule,
        enabled=bool(row.enabled),
        owner=row.owner,
        id=row.id,
        created_at=row.created_at,
        created_by=row.created_by,
        checked_at=row.checked_at,
        checked_inputs=row.checked_inputs,
        last_due=row.last_due,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
    )


def _condition(row: AlertConditionRow, rule: str) -> Condition:
    return Condition(
        id=row.id,
        rule_id=row.rule_id,
        rule=rule,
        key=row.key,
        title=row.title,
        detail=json.loads(row.detail or "{}"),
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        cleared_at=row.cleared_at,
        attachment_name=row.attachment_name,
    )


def _fresh(addresses: tuple[str, ...], taken: set[str]) -> list[str]:
    """The e-mail addresses not ``taken``, cleaned, each once."""
    out: list[str] = []
    for address in addresses:
        a = address.strip().lower()
        if is_email(a) and a not in taken and a not in out:
            out.append(a)
    return out


def _need(role: str, action: str) -> None:
    if role not in ("admin", "editor"):
        raise PermissionDeniedError(action, "editor", role)


class AlertStore:
    """Rules, conditions, deliveries and the lease over one application database."""

    def __init__(self, db: AppDatabase) -> None:
        self._db = db

    # -- rules -------------------------------------------------------------------------------
    def list(self, *, enabled: bool | None = None) -> builtins.list[Rule]:
        stmt = select(AlertRuleRow).order_by(AlertRuleRow.id)
        if enabled is not None:
            stmt = stmt.where(AlertRuleRow.enabled.is_(enabled))
        with self._db.session() as s:
            return [_rule(r) for r in s.scalars(stmt)]

    def get(self, rule_id: int) -> Rule:
        with self._db.session() as s:
            row = s.get(AlertRuleRow, rule_id)
            if row is None:
                raise UnknownAlertRuleError(rule_id)
            return _rule(row)

    def add(
        self,
        rule: Rule,
        *,
        actor: Actor = CLI,
        role: str = "admin",
        now: dt.datetime | None = None,
    ) -> Rule:
        """Save a checked rule (editors and admins); names are unique.

        ``now`` is its creation time (the runner's clock): a schedule's first occurrence is
        the first one after it.
        """
        _need(role, "Adding an alert rule")
        with self._db.session(write=True) as s:
            if s.scalar(select(AlertRuleRow.id).where(AlertRuleRow.name == rule.name)):
                raise AlertError(
                    f"There is already a rule named {rule.name!r}.",
                    "Choose another name, or delete that rule first.",
                )
            row = AlertRuleRow(
                name=rule.name,
                kind=rule.kind,
                params=json.dumps(dict(rule.params), sort_keys=True),
                channels=json.dumps([c.as_dict(reveal=True) for c in rule.channels]),
                schedule=rule.schedule,
                enabled=rule.enabled,
                owner=rule.owner,
                created_at=(now or utcnow()).replace(microsecond=0),
                created_by=actor.name,
            )
            s.add(row)
            s.flush()
            saved = _rule(row)
            record(s, actor, "alert_rule.add", str(saved.id), after=saved.as_dict())
            return saved

    def delete(self, rule_id: int, *, actor: Actor = CLI, role: str = "admin") -> Rule:
        """Delete a rule with its conditions and deliveries (editors and admins)."""
        _need(role, "Deleting an alert rule")
        with self._db.session(write=True) as s:
            row = s.get(AlertRuleRow, rule_id)
            if row is None:
                raise UnknownAlertRuleError(rule_id)
            gone = _rule(row)
            # Children first: SQLite enforces the cascade only with foreign keys on.
            s.execute(delete(AlertDeliveryRow).where(AlertDeliveryRow.rule_id == rule_id))
            s.execute(delete(AlertConditionRow).where(AlertConditionRow.rule_id == rule_id))
            s.delete(row)
            record(s, actor, "alert_rule.delete", str(rule_id), before=gone.as_dict())
            return gone

    # -- evaluations -------------------------------------------------------------------------
    def reconcile(
        self,
        rule: Rule,
        findings: builtins.list[Finding],
        now: dt.datetime,
        *,
        inputs: str | None = None,
        due: dt.datetime | None = None,
    ) -> Reconciled:
        """Record one evaluation of ``rule``: new conditions, ones seen again, ones cleared.

        A new condition queues one pending delivery per channel (due ``now``).
        """
        with self._db.session(write=True) as s:
            row = s.get(AlertRuleRow, rule.id)
            if row is None:  # deleted meanwhile: nothing to record
                return Reconciled((), 0, 0)
            active = {
                c.key: c
                for c in s.scalars(
                    select(AlertConditionRow).where(
                        AlertConditionRow.rule_id == rule.id, AlertConditionRow.cleared_at.is_(None)
                    )
                )
            }
            seen: set[str] = set()
            new: list[Condition] = []
            kept = 0
            for f in findings:
                key = f.key[:MAX_KEY]
                if key in seen:
                    continue
                seen.add(key)
                if key in active:
                    active[key].last_seen = now
                    kept += 1
                    continue
                if f.event and s.scalar(
                    select(AlertConditionRow.id).where(
                        AlertConditionRow.rule_id == rule.id, AlertConditionRow.key == key
                    )
                ):
                    continue
                new.append(self._open(s, rule, f, now))
            cleared = 0
            for key, cond in active.items():
                if key not in seen:
                    cond.cleared_at = now
                    cleared += 1
            row.checked_at = now
            row.checked_inputs = inputs
            if due is not None:
                row.last_due = due
            row.last_error, row.last_error_at = None, None
            return Reconciled(tuple(new), kept, cleared)

    def _open(self, s: Session, rule: Rule, f: Finding, now: dt.datetime) -> Condition:
        key = f.key[:MAX_KEY]
        detail = dict(f.detail)
        told: set[str] = set()
        if rule.kind in SIGNED_OFF:  # a key every rule of the kind shares: told once per address
            told = self._told(s, rule.kind, key)
        if f.recipients:
            mine = {c.target for c in rule.channels if c.type == "email"}
            detail["recipients"] = _fresh(f.recipients, told | mine)
        cond = AlertConditionRow(
            rule_id=rule.id,
            key=key,
            title=f.title[:500],
            detail=json.dumps(detail, default=str, sort_keys=True),
            attachment_name=f.attachment.name if f.attachment else None,
            attachment=f.attachment.content if f.attachment else None,
            first_seen=now,
            last_seen=now,
            cleared_at=now if f.event else None,
        )
        s.add(cond)
        s.flush()
        found = _condition(cond, rule.name)
        for no, channel in enumerate(found.channels(rule)):
            if channel.type == "email" and channel.target in told:
                continue
            s.add(
                AlertDeliveryRow(
                    rule_id=rule.id,
                    condition_id=cond.id,
                    channel_no=no,
                    channel=channel.label()[:400],
                    attempt=1,
                    status="pending",
                    at=now,
                    next_attempt_at=now,
                )
            )
        return found

    @staticmethod
    def _told(s: Session, kind: str, key: str) -> set[str]:
        """Channels (e-mail addresses) that rules of ``kind`` already queued ``key`` for."""
        return set(
            s.scalars(
                select(AlertDeliveryRow.channel)
                .join(AlertConditionRow, AlertConditionRow.id == AlertDeliveryRow.condition_id)
                .join(AlertRuleRow, AlertRuleRow.id == AlertDeliveryRow.rule_id)
                .where(
                    AlertRuleRow.kind == kind,
                    AlertConditionRow.key == key,
                    AlertDeliveryRow.attempt == 1,
                )
            )
        )

    def failed(
        self,
        rule_id: int,
        now: dt.datetime,
        error: str,
        *,
        inputs: str | None = None,
        due: dt.datetime | None = None,
    ) -> None:
        """Record that evaluating a rule failed; ``inputs``/``due`` mark it done all the same.

        Its conditions stay as they were: a failure to look is not a condition clearing.
        """
        values: dict[str, Any] = {"last_error": error[:MAX_ERROR], "last_error_at": now}
        if inputs is not None:
            values |= {"checked_at": now, "checked_inputs": inputs}
        if due is not None:
            values["last_due"] = due
        with self._db.session(write=True) as s:
            s.execute(update(AlertRuleRow).where(AlertRuleRow.id == rule_id).values(**values))

    def active(self, rule_id: int | None = None) -> builtins.list[Condition]:
        """Conditions not cleared, newest first."""
        return self.conditions(rule_id=rule_id, active=True)

    def conditions(
        self, *, rule_id: int | None = None, active: bool = False, limit: int = MAX_LISTED
    ) -> builtins.list[Condition]:
        stmt = select(AlertConditionRow, AlertRuleRow.name).join(
            AlertRuleRow, AlertRuleRow.id == AlertConditionRow.rule_id
        )
        if rule_id is not None:
            stmt = stmt.where(AlertConditionRow.rule_id == rule_id)
        if active:
            stmt = stmt.where(AlertConditionRow.cleared_at.is_(None))
        stmt = stmt.order_by(AlertConditionRow.id.desc()).limit(max(0, min(limit, MAX_LISTED)))
        with self._db.session() as s:
            return [_condition(c, name) for c, name in s.execute(stmt)]

    # -- deliveries --------------------------------------------------------------------------
    def due(self, now: dt.datetime, *, limit: int = 100) -> builtins.list[Job]:
        """Pending attempts due by ``now``, oldest first."""
        stmt = (
            select(AlertDeliveryRow, AlertConditionRow, AlertRuleRow)
            .join(AlertConditionRow, AlertConditionRow.id == AlertDeliveryRow.condition_id)
            .join(AlertRuleRow, AlertRuleRow.id == AlertDeliveryRow.rule_id)
            .where(AlertDeliveryRow.status == "pending", AlertDeliveryRow.next_attempt_at <= now)
            .order_by(AlertDeliveryRow.next_attempt_at, AlertDeliveryRow.id)
            .limit(limit)
        )
        jobs = []
        with self._db.session() as s:
            for d, c, r in s.execute(stmt):
                rule = _rule(r)
                condition = _condition(c, rule.name)
                channels = condition.channels(rule)
                if not 0 <= d.channel_no < len(channels):
                    continue
                attachment = None
                if c.attachment is not None and c.attachment_name:
                    mime = "application/pdf" if c.attachment_name.endswith(".pdf") else "text/html"
                    attachment = Attachment(c.attachment_name, bytes(c.attachment), mime)
                jobs.append(
                    Job(d.id, d.attempt, rule, channels[d.channel_no], condition, attachment)
                )
        return jobs

    def attempted(
        self,
        delivery_id: int,
        now: dt.datetime,
        error: str | None,
        *,
        max_attempts: int,
        retry_minutes: float,
    ) -> dt.datetime | None:
        """Record an attempt's outcome; a failure with attempts left queues the next one.

        Returns when the next attempt is due (``None``: sent, or given up). The waits double:
        ``retry_minutes``, twice that, four times … after attempts 1, 2, 3 ….
        """
        with self._db.session(write=True) as s:
            row = s.get(AlertDeliveryRow, delivery_id)
            if row is None or row.status != "pending":
                return None
            row.status = "sent" if error is None else "failed"
            row.error = None if error is None else error[:MAX_ERROR]
            row.at, row.next_attempt_at = now, None
            if error is None or row.attempt >= max_attempts:
                return None
            wait = dt.timedelta(minutes=retry_minutes * 2 ** (row.attempt - 1))
            s.add(
                AlertDeliveryRow(
                    rule_id=row.rule_id,
                    condition_id=row.condition_id,
                    channel_no=row.channel_no,
                    channel=row.channel,
                    attempt=row.attempt + 1,
                    status="pending",
                    at=now,
                    next_attempt_at=now + wait,
                )
            )
            return now + wait

    def deliveries(
        self, *, rule_id: int | None = None, failed: bool = False, limit: int = 100
    ) -> builtins.list[Delivery]:
        """Delivery attempts, newest first (``failed``: failed attempts only)."""
        stmt = (
            select(AlertDeliveryRow, AlertConditionRow.title, AlertRuleRow.name)
            .join(AlertConditionRow, AlertConditionRow.id == AlertDeliveryRow.condition_id)
            .join(AlertRuleRow, AlertRuleRow.id == AlertDeliveryRow.rule_id)
        )
        if rule_id is not None:
            stmt = stmt.where(AlertDeliveryRow.rule_id == rule_id)
        if failed:
            stmt = stmt.where(AlertDeliveryRow.status == "failed")
        stmt = stmt.order_by(AlertDeliveryRow.id.desc()).limit(max(0, min(limit, MAX_LISTED)))
        with self._db.session() as s:
            rows = list(s.execute(stmt))
            later = {
                (c, n, a)
                for c, n, a in s.execute(
                    select(
                        AlertDeliveryRow.condition_id,
                        AlertDeliveryRow.channel_no,
                        AlertDeliveryRow.attempt,
                    ).where(AlertDeliveryRow.condition_id.in_({d.condition_id for d, _, _ in rows}))
                )
            }
        return [
            Delivery(
                id=d.id,
                rule_id=d.rule_id,
                rule=name,
                condition_id=d.condition_id,
                title=title,
                channel=d.channel,
                attempt=d.attempt,
                status=d.status,
                error=d.error,
                at=d.at,
                next_attempt_at=d.next_attempt_at,
                final=d.status == "failed"
                and (d.condition_id, d.channel_no, d.attempt + 1) not in later,
            )
            for d, title, name in rows
        ]

    # -- the lease ---------------------------------------------------------------------------
    def acquire(self, holder: str, now: dt.datetime, seconds: float) -> LeaseState:
        """Take (or renew) the lease unless another holder's has not expired."""
        with self._db.session(write=True) as s:
            row = s.scalar(
                select(AlertLeaseRow).where(AlertLeaseRow.name == LEASE).with_for_update()
            )
            if row is None:  # the migration seeds it; a hand-cleared table gets it back
                row = AlertLeaseRow(name=LEASE, holder="")
                s.add(row)
            taken = bool(row.holder) and row.holder != holder
            if taken and row.expires_at is not None and row.expires_at > now:
                return LeaseState(False, row.holder, row.expires_at)
            if row.holder != holder:
                row.acquired_at = now
            row.holder, row.expires_at = holder, now + dt.timedelta(seconds=seconds)
            return LeaseState(True, holder, row.expires_at)

    def release(self, holder: str, now: dt.datetime) -> None:
        with self._db.session(write=True) as s:
            s.execute(
                update(AlertLeaseRow)
                .where(AlertLeaseRow.name == LEASE, AlertLeaseRow.holder == holder)
                .values(holder="", expires_at=now)
            )

    def lease(self) -> LeaseState:
        with self._db.session() as s:
            row = s.get(AlertLeaseRow, LEASE)
            if row is None:
                return LeaseState(False, "", None)
            return LeaseState(False, row.holder, row.expires_at)
