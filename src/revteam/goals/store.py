"""Goals in the application database, with the history of every change.

Each change runs in one write transaction (SQLite: ``BEGIN IMMEDIATE``), so two people changing
the same goal at once are serialised: both changes land, in turn, each recorded with the goal
before and after it. A caller that read version *n* can pass ``expected_version=n`` to be told
(:class:`GoalConflictError`) when someone else changed it in between instead.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from revteam.app import CLI, Actor
from revteam.app.models import GoalChange, GoalRow, utcnow
from revteam.app.users import record
from revteam.exceptions import GoalConflictError, GoalError, UnknownGoalError
from revteam.goals.model import Direction, Goal
from revteam.metrics import periods as P
from revteam.storage import AppDatabase

MAX_IMPORT = 2000
"""Goals one import may set: a file is read and checked whole, in one write transaction."""


@dataclass(frozen=True)
class GoalHistoryEntry:
    goal_id: int
    version: int
    action: str
    at: dt.datetime
    actor: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def _plain(goal: Goal) -> dict[str, Any]:
    """The goal's fields people set, for the history (and its JSON)."""
    return {
        "metric": goal.metric,
        "period": goal.period,
        "segment": dict(goal.segment),
        "target": goal.target,
        "stretch": goal.stretch,
        "direction": goal.direction,
        "owners": list(goal.owners),
        "note": goal.note,
    }


def _goal(row: GoalRow, fy_start: int) -> Goal:
    grain = cast(P.Grain, row.grain)
    return Goal(
        metric=row.metric,
        grain=grain,
        start=row.start,
        period=P.label(row.start, grain, fy_start),
        segment=tuple(sorted(json.loads(row.segment).items())),
        target=row.target,
        direction=cast(Direction, row.direction),
        owners=tuple(json.loads(row.owners)),
        stretch=row.stretch,
        note=row.note,
        id=row.id,
        version=row.version,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


class GoalStore:
    """Create, change, delete and list goals; every change is kept in ``goal_changes``."""

    def __init__(self, db: AppDatabase, *, fy_start: int = 1) -> None:
        self._db = db
        self._fy = fy_start

    def list(self, metric: str | None = None) -> list[Goal]:
        """Every goal (of ``metric``), by period, metric and segment."""
        stmt = select(GoalRow).order_by(GoalRow.start, GoalRow.metric, GoalRow.segment)
        if metric is not None:
            stmt = stmt.where(GoalRow.metric == metric)
        with self._db.session() as s:
            return [_goal(r, self._fy) for r in s.scalars(stmt)]

    def revision(self) -> int:
        """Grows with every change to any goal (the newest history entry's id)."""
        with self._db.session() as s:
            return int(s.scalar(select(func.max(GoalChange.id))) or 0)

    def get(self, goal_id: int) -> Goal:
        with self._db.session() as s:
            return _goal(self._row(s, goal_id), self._fy)

    def find(self, scope: str) -> Goal | None:
        with self._db.session() as s:
            row = s.scalar(select(GoalRow).where(GoalRow.scope == scope))
            return None if row is None else _goal(row, self._fy)

    def save(
        self,
        goal: Goal,
        *,
        actor: Actor = CLI,
        goal_id: int | None = None,
        expected_version: int | None = None,
    ) -> Goal:
        """Create ``goal``, or change the goal of the same scope (or ``goal_id``) into it."""
        with self._db.session(write=True) as s:
            saved = self._save(s, goal, actor, goal_id, expected_version)
            return _goal(saved, self._fy)

    def save_all(self, goals: Iterable[Goal], *, actor: Actor = CLI, replace: bool = False) -> int:
        """Save several goals in one transaction (all or none); returns how many changed.

        With ``replace``, the goals not among them are deleted (and counted).
        """
        wanted = list(goals)
        if len(wanted) > MAX_IMPORT:
            raise GoalError(
                f"{len(wanted):,} goals at once is more than {MAX_IMPORT:,}.",
                "Split the file; goals are per metric, period and segment, not per record.",
            )
        changed = 0
        with self._db.session(write=True) as s:
            keep = {g.scope for g in wanted}
            rows = {r.scope: r for r in s.scalars(select(GoalRow)).all()}
            if replace:  # first, so that a quarter may replace its months
                for scope, row in list(rows.items()):
                    if scope not in keep:
                        self._delete(s, row, actor)
                        del rows[scope]
                        changed += 1
            # Every stored goal, read once: each new one is checked against them in memory.
            known: dict[tuple[str, tuple[tuple[str, str], ...]], builtins.list[Goal]] = {}
            for stored in rows.values():
                old = _goal(stored, self._fy)
                known.setdefault((old.metric, old.segment), []).append(old)
            for goal in wanted:
                same = rows.get(goal.scope)
                if same is not None and _plain(_goal(same, self._fy)) == _plain(goal):
                    continue
                saved = self._save(s, goal, actor, None, None, known=known)
                others = known.setdefault((goal.metric, goal.segment), [])
                others[:] = [g for g in others if g.id != saved.id] + [_goal(saved, self._fy)]
                changed += 1
        return changed

    def delete(
        self, goal_id: int, *, actor: Actor = CLI, expected_version: int | None = None
    ) -> Goal:
        with self._db.session(write=True) as s:
            row = self._row(s, goal_id)
            _check_version(row, expected_version)
            gone = _goal(row, self._fy)
            self._delete(s, row, actor)
            return gone

    def history(self, goal_id: int | None = None) -> builtins.list[GoalHistoryEntry]:
        """Changes, oldest first (of one goal, also after it was deleted)."""
        stmt = select(GoalChange).order_by(GoalChange.id)
        if goal_id is not None:
            stmt = stmt.where(GoalChange.goal_id == goal_id)
        with self._db.session() as s:
            return [
                GoalHistoryEntry(
                    c.goal_id,
                    c.version,
                    c.action,
                    c.at,
                    c.actor,
                    json.loads(c.before) if c.before else None,
                    json.loads(c.after) if c.after else None,
                )
                for c in s.scalars(stmt)
            ]

    # -- internals ---------------------------------------------------------------------------
    def _row(self, s: Session, goal_id: int) -> GoalRow:
        row = s.get(GoalRow, goal_id)
        if row is None:
            raise UnknownGoalError(goal_id)
        return row

    def _save(
        self,
        s: Session,
        goal: Goal,
        actor: Actor,
        goal_id: int | None,
        expected_version: int | None,
        *,
        known: dict[tuple[str, tuple[tuple[str, str], ...]], builtins.list[Goal]] | None = None,
    ) -> GoalRow:
        if goal_id is not None:
            row: GoalRow | None = self._row(s, goal_id)
        else:
            row = s.scalar(select(GoalRow).where(GoalRow.scope == goal.scope))
        if row is not None:
            _check_version(row, expected_version)
        elif expected_version is not None:
            raise GoalConflictError(
                f"The goal for {goal.describe()} was deleted since it was read.",
                "Reload the goals and set it again.",
            )
        own = None if row is None else row.id
        if known is None:
            self._refuse_overlap(s, goal, own)
        else:
            for other in known.get((goal.metric, goal.segment), []):
                if other.id != own and goal.overlaps(other):
                    raise _overlap(goal, other)
        now, before = utcnow(), None if row is None else _plain(_goal(row, self._fy))
        if before == _plain(goal) and row is not None and row.scope == goal.scope:
            return row  # nothing changes: no new version, no history entry
        if row is None:
            row = GoalRow(created_at=now, created_by=actor.name, version=0)
            s.add(row)
        row.scope, row.metric, row.grain, row.start = (
            goal.scope,
            goal.metric,
            goal.grain,
            goal.start,
        )
        row.segment = json.dumps(dict(goal.segment), sort_keys=True)
        row.target, row.stretch, row.direction = goal.target, goal.stretch, goal.direction
        row.owners, row.note = json.dumps(list(goal.owners)), goal.note
        row.version += 1
        row.updated_at, row.updated_by = now, actor.name
        s.flush()
        after = _plain(goal)
        action = "created" if before is None else "changed"
        s.add(
            GoalChange(
                goal_id=row.id,
                version=row.version,
                action=action,
                at=now,
                actor=actor.name,
                before=None if before is None else json.dumps(before, sort_keys=True),
                after=json.dumps(after, sort_keys=True),
            )
        )
        record(s, actor, f"goal.{action}", goal.describe(), goal_id=row.id, value=goal.target)
        return row

    def _delete(self, s: Session, row: GoalRow, actor: Actor) -> None:
        goal = _goal(row, self._fy)
        s.add(
            GoalChange(
                goal_id=row.id,
                version=row.version + 1,
                action="deleted",
                at=utcnow(),
                actor=actor.name,
                before=json.dumps(_plain(goal), sort_keys=True),
                after=None,
            )
        )
        record(s, actor, "goal.deleted", goal.describe(), goal_id=row.id)
        s.delete(row)

    def _refuse_overlap(self, s: Session, goal: Goal, own_id: int | None) -> None:
        for row in s.scalars(select(GoalRow).where(GoalRow.metric == goal.metric)):
            other = _goal(row, self._fy)
            if row.id != own_id and goal.overlaps(other):
                raise _overlap(goal, other)


def _overlap(goal: Goal, other: Goal) -> GoalConflictError:
    return GoalConflictError(
        f"{goal.describe()} overlaps goal {other.id}, {other.describe()}: one metric and "
        "segment has one goal for any day.",
        f"Change goal {other.id} instead (`revteam goals set ... --id {other.id}`), or delete "
        f"it first (`revteam goals delete {other.id}`).",
    )


def _check_version(row: GoalRow, expected: int | None) -> None:
    if expected is not None and row.version != expected:
        raise GoalConflictError(
            f"Goal {row.id} changed since it was read (version {row.version}, not {expected}): "
            f"last by {row.updated_by} at {row.updated_at:%Y-%m-%d %H:%M} UTC.",
            "Reload it, then make the change again.",
        )
