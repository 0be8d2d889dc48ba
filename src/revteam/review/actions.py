"""Action items: what the joint review decided, who owns it, by when, and whether it is done.

Editors and admins create and change items; an item's owner (or an admin) closes it; everyone
reads. Every change runs in one write transaction with its audit-log entry, so the log and the
items cannot disagree; a caller that read version *n* may pass ``expected_version=n`` to be told
(:class:`ActionItemConflictError`) that someone changed the item in between.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from revteam.app import CLI, TEAMS, Actor
from revteam.app.models import ActionItemRow, User, utcnow
from revteam.app.users import record
from revteam.exceptions import (
    ActionItemConflictError,
    PermissionDeniedError,
    ReviewError,
    UnknownActionItemError,
)
from revteam.storage import AppDatabase

Status = Literal["open", "closed"]
MAX_TITLE = 300
MAX_NOTE = 4000
MAX_SEGMENT = 3
MAX_LISTED = 1000
"""Items one listing returns at most (a review shows the open ones and the recently closed)."""


@dataclass(frozen=True)
class ActionItem:
    id: int
    title: str
    owner: str
    """The owner's e-mail."""
    team: str
    due: dt.date | None
    metric: str | None
    segment: tuple[tuple[str, str], ...]
    status: Status
    note: str
    version: int
    created_at: dt.datetime
    created_by: str
    closed_at: dt.datetime | None = None
    closed_by: str | None = None

    @property
    def segment_dict(self) -> dict[str, str]:
        return dict(self.segment)

    def overdue(self, day: dt.date) -> bool:
        return self.status == "open" and self.due is not None and self.due < day

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "owner": self.owner,
            "team": self.team,
            "due": None if self.due is None else self.due.isoformat(),
            "metric": self.metric,
            "segment": self.segment_dict,
            "status": self.status,
            "note": self.note,
            "version": self.version,
            "created_at": self.created_at.isoformat(timespec="seconds"),
            "created_by": self.created_by,
            "closed_at": None
            if self.closed_at is None
            else self.closed_at.isoformat(timespec="seconds"),
            "closed_by": self.closed_by,
        }


@dataclass(frozen=True)
class ActionSpec:
    """An action item as a person writes it."""

    title: str
    owner: str
    due: dt.date | None = None
    metric: str | None = None
    segment: Mapping[str, str] = field(default_factory=dict)
    team: str | None = None
    """Default: the owner's team."""
    note: str = ""


def _item(row: ActionItemRow) -> ActionItem:
    segment = json.loads(row.segment or "{}")
    return ActionItem(
        id=row.id,
        title=row.title,
        owner=row.owner,
        team=row.team,
        due=row.due,
        metric=row.metric,
        segment=tuple(sorted((str(k), str(v)) for k, v in segment.items())),
        status="closed" if row.status == "closed" else "open",
        note=row.note,
        version=row.version,
        created_at=row.created_at,
        created_by=row.created_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )


class ActionStore:
    """Action items in the application database (``action_items``), changes in the audit log."""

    def __init__(self, db: AppDatabase, *, metrics: frozenset[str] | None = None) -> None:
        self._db = db
        self._metrics = metrics
        """Metric ids an item may be about (``None``: not checked here)."""

    # -- reading -----------------------------------------------------------------------------
    def get(self, item_id: int) -> ActionItem:
        with self._db.session() as s:
            row = s.get(ActionItemRow, item_id)
            if row is None:
                raise UnknownActionItemError(item_id)
            return _item(row)

    def list(
        self,
        *,
        status: Status | None = None,
        closed_since: dt.datetime | None = None,
        owner: str | None = None,
        limit: int = MAX_LISTED,
    ) -> list[ActionItem]:
        """Items, open first (by due date), then closed (newest first).

        ``closed_since`` keeps every open item and the ones closed at or after that time: what
        a review pack shows.
        """
        stmt = select(ActionItemRow)
        if status is not None:
            stmt = stmt.where(ActionItemRow.status == status)
        if owner is not None:
            stmt = stmt.where(ActionItemRow.owner == owner.strip().lower())
        if closed_since is not None:
            stmt = stmt.where(
                (ActionItemRow.status == "open") | (ActionItemRow.closed_at >= closed_since)
            )
        with self._db.session() as s:
            rows = [_item(r) for r in s.scalars(stmt.order_by(ActionItemRow.id))]
        rows.sort(
            key=lambda i: (
                i.status != "open",
                i.due or dt.date.max if i.status == "open" else dt.date.min,
                -(i.closed_at.timestamp() if i.closed_at else 0.0),
                i.id,
            )
        )
        return rows[: max(0, min(limit, MAX_LISTED))]

    def revision(self) -> tuple[int, int, int]:
        """Changes whenever any item does (count, newest id, sum of versions): a cache key."""
        stmt = select(
            func.count(ActionItemRow.id),
            func.coalesce(func.max(ActionItemRow.id), 0),
            func.coalesce(func.sum(ActionItemRow.version), 0),
        )
        with self._db.session() as s:
            row = s.execute(stmt).one()
        return int(row[0]), int(row[1]), int(row[2])

    # -- changing ----------------------------------------------------------------------------
    def add(self, spec: ActionSpec, *, actor: Actor = CLI, role: str = "admin") -> ActionItem:
        """Create an item (editors and admins); the owner must be an active user."""
        _need(role, "editor", "Creating an action item")
        with self._db.session(write=True) as s:
            owner, team = self._owner(s, spec.owner, spec.team)
            row = ActionItemRow(
                title=_title(spec.title),
                owner=owner,
                team=team,
                due=spec.due,
                metric=self._metric(spec.metric),
                segment=_segment(spec.segment),
                status="open",
                note=_note(spec.note),
                version=1,
                created_at=utcnow(),
                created_by=actor.name,
            )
            s.add(row)
            s.flush()
            item = _item(row)
            record(s, actor, "action_item.add", str(item.id), after=item.as_dict())
            return item

    def update(
        self,
        item_id: int,
        spec: ActionSpec,
        *,
        actor: Actor = CLI,
        role: str = "admin",
        expected_version: int | None = None,
    ) -> ActionItem:
        """Change an open item's fields (editors and admins)."""
        _need(role, "editor", "Changing an action item")
        with self._db.session(write=True) as s:
            row = self._row(s, item_id, expected_version)
            if row.status != "open":
                raise ActionItemConflictError(
                    f"Action item {item_id} is closed.",
                    "Reopen it first (`revteam actions reopen`).",
                )
            before = _item(row).as_dict()
            row.owner, row.team = self._owner(s, spec.owner, spec.team)
            row.title, row.due = _title(spec.title), spec.due
            row.metric, row.segment = self._metric(spec.metric), _segment(spec.segment)
            row.note = _note(spec.note)
            row.version += 1
            s.flush()
            item = _item(row)
            record(
                s, actor, "action_item.update", str(item_id), before=before, after=item.as_dict()
            )
            return item

    def close(
        self,
        item_id: int,
        *,
        actor: Actor = CLI,
        role: str = "admin",
        note: str | None = None,
        expected_version: int | None = None,
    ) -> ActionItem:
        """Close an item: its owner, or an admin (the command line acts as an admin)."""
        return self._set_status(item_id, "closed", actor, role, note, expected_version)

    def reopen(
        self,
        item_id: int,
        *,
        actor: Actor = CLI,
        role: str = "admin",
        expected_version: int | None = None,
    ) -> ActionItem:
        """Reopen a closed item: its owner, or an admin."""
        return self._set_status(item_id, "open", actor, role, None, expected_version)

    # -- internals ---------------------------------------------------------------------------
    def _set_status(
        self,
        item_id: int,
        status: Status,
        actor: Actor,
        role: str,
        note: str | None,
        expected_version: int | None,
    ) -> ActionItem:
        verb = "Closing" if status == "closed" else "Reopening"
        with self._db.session(write=True) as s:
            row = self._row(s, item_id, expected_version)
            is_owner = actor.name.strip().lower() == row.owner
            if role != "admin" and not is_owner:
                raise PermissionDeniedError(
                    f"{verb} action item {item_id} (owned by {row.owner})", "admin", role
                )
            if row.status == status:
                raise ActionItemConflictError(f"Action item {item_id} is already {status}.")
            before = _item(row).as_dict()
            row.status = status
            row.closed_at = utcnow() if status == "closed" else None
            row.closed_by = actor.name if status == "closed" else None
            if note is not None:
                row.note = _note(note)
            row.version += 1
            s.flush()
            item = _item(row)
            action = "action_item.close" if status == "closed" else "action_item.reopen"
            record(s, actor, action, str(item_id), before=before, after=item.as_dict())
            return item

    def _row(self, s: Session, item_id: int, expected_version: int | None) -> ActionItemRow:
        row = s.get(ActionItemRow, item_id)
        if row is None:
            raise UnknownActionItemError(item_id)
        if expected_version is not None and row.version != expected_version:
            raise ActionItemConflictError(
                f"Action item {item_id} changed since you read it (version {expected_version}, "
                f"now {row.version}).",
                "Read it again and repeat your change.",
            )
        return row

    def _owner(self, s: Session, email: str, team: str | None) -> tuple[str, str]:
        wanted = (email or "").strip().lower()
        user = s.scalar(select(User).where(User.email == wanted))
        if user is None or not user.is_active:
            raise ReviewError(
                f"The owner {email!r} is not an active user.",
                "Give the e-mail of a user who can sign in (`revteam users list`).",
            )
        chosen = team or user.team
        if chosen not in TEAMS:
            raise ReviewError(f"Unknown team {chosen!r}.", f"Use one of {', '.join(TEAMS)}.")
        return wanted, chosen

    def _metric(self, metric: str | None) -> str | None:
        if metric is None or not metric.strip():
            return None
        found = metric.strip()
        if self._metrics is not None and found not in self._metrics:
            raise ReviewError(
                f"Unknown metric {found!r}.", "Use a metric id (`revteam metrics list`)."
            )
        return found


def _need(role: str, needed: str, action: str) -> None:
    if role not in ("admin", needed):
        raise PermissionDeniedError(action, needed, role)


def _title(text: str) -> str:
    title = " ".join((text or "").split())
    if not title:
        raise ReviewError("An action item needs a title.", "Say what is to be done, in a line.")
    if len(title) > MAX_TITLE:
        raise ReviewError(
            f"The title has {len(title)} characters; at most {MAX_TITLE}.",
            "Shorten it and put the rest in the note.",
        )
    return title


def _note(text: str) -> str:
    note = (text or "").strip()
    if len(note) > MAX_NOTE:
        raise ReviewError(f"The note has {len(note)} characters; at most {MAX_NOTE}.")
    return note


def _segment(segment: Mapping[str, str]) -> str:
    if len(segment) > MAX_SEGMENT:
        raise ReviewError(
            f"An action item is about at most {MAX_SEGMENT} dimension values "
            f"({len(segment)} given)."
        )
    clean = {str(k).strip(): str(v).strip() for k, v in segment.items()}
    if any(not k or not v or len(k) > 64 or len(v) > 200 for k, v in clean.items()):
        raise ReviewError(
            "A segment is dimension=value pairs, neither empty (dimension up to 64 characters, "
            "value up to 200).",
            "For example channel=paid_social.",
        )
    return json.dumps(clean, sort_keys=True)
