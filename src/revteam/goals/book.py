"""The goals of a workspace: set, change, delete, list, and ``goals.yaml`` (goals as code).

Needs the application database and the metric definitions, not the warehouse, so the web app
edits goals without waiting for data. Pacing (:mod:`revteam.goals.pacing`) reads the KPIs.

``goals.yaml`` round-trips exactly: ``export`` writes every goal in one canonical form
(sorted by period, metric and segment; only fields that differ from their defaults), and
``import`` of that text changes nothing.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from revteam.app import CLI, Actor
from revteam.app.models import User
from revteam.exceptions import GoalError
from revteam.goals.model import Goal, GoalSpec, check, default_owners
from revteam.goals.store import GoalHistoryEntry, GoalStore
from revteam.metrics import Definitions
from revteam.settings import load_text_yaml
from revteam.storage import AppDatabase

GOALS_FILE = "goals.yaml"
_FIELDS = ("metric", "period", "segment", "target", "stretch", "direction", "owners", "note")


@dataclass(frozen=True)
class ImportReport:
    goals: int
    """Goals in the file."""
    changed: int
    """Goals created, changed or (with ``replace``) deleted."""


class GoalBook:
    """Goals over one application database, checked against the metric definitions."""

    def __init__(self, db: AppDatabase, definitions: Definitions, *, fy_start: int = 1) -> None:
        self._db = db
        self.definitions = definitions
        self.fy_start = fy_start
        self.store = GoalStore(db, fy_start=fy_start)

    # -- reading -----------------------------------------------------------------------------
    def list(self, metric: str | None = None) -> list[Goal]:
        return self.store.list(metric)

    def get(self, goal_id: int) -> Goal:
        return self.store.get(goal_id)

    def history(self, goal_id: int | None = None) -> builtins.list[GoalHistoryEntry]:
        return self.store.history(goal_id)

    # -- changing ----------------------------------------------------------------------------
    def check(self, spec: GoalSpec) -> Goal:
        """``spec`` validated (metric, period, segment, unit, owners), not saved."""
        return check(spec, self.definitions, fy_start=self.fy_start, teams=self._teams())

    def set(
        self,
        spec: GoalSpec,
        *,
        actor: Actor = CLI,
        goal_id: int | None = None,
        expected_version: int | None = None,
    ) -> Goal:
        """Create the goal, or change the one of the same metric, period and segment.

        With ``goal_id``, that goal changes, its metric, period or segment too.
        """
        goal = self.check(spec)
        return self.store.save(
            goal, actor=actor, goal_id=goal_id, expected_version=expected_version
        )

    def delete(
        self, goal_id: int, *, actor: Actor = CLI, expected_version: int | None = None
    ) -> Goal:
        return self.store.delete(goal_id, actor=actor, expected_version=expected_version)

    # -- goals as code -----------------------------------------------------------------------
    def export_yaml(self) -> str:
        """Every goal as ``goals.yaml`` text, in canonical form."""
        items = [self._entry(g) for g in self.list()]
        return yaml.safe_dump({"goals": items}, sort_keys=False, allow_unicode=True, width=100)

    def import_yaml(
        self, text: str, *, actor: Actor = CLI, replace: bool = False, source: str = GOALS_FILE
    ) -> ImportReport:
        """Set every goal of ``goals.yaml`` text, all or none; ``replace`` deletes the rest.

        Every goal is checked before anything is written; the errors of all of them are
        reported at once, each with its place in the file.
        """
        specs = parse_goals_yaml(text, source)
        goals, problems = [], []
        for i, spec in enumerate(specs, start=1):
            try:
                goals.append(self.check(spec))
            except GoalError as exc:
                problems.append(f"goal {i} ({spec.metric} {spec.period}): {exc}")
        problems += [
            f"{goal.describe()} overlaps {other.describe()} in the file"
            for i, goal in enumerate(goals)
            for other in goals[:i]
            if goal.overlaps(other)
        ]
        if problems:
            raise GoalError(
                f"{source} has {len(problems)} problem(s); nothing was changed:\n  "
                + "\n  ".join(problems),
                "",
            )
        changed = self.store.save_all(goals, actor=actor, replace=replace)
        return ImportReport(len(goals), changed)

    def import_file(self, path: Path, *, actor: Actor = CLI, replace: bool = False) -> ImportReport:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise GoalError(f"Cannot read {path}: {exc}.", "Give a UTF-8 goals.yaml.") from exc
        return self.import_yaml(text, actor=actor, replace=replace, source=str(path))

    def teams(self) -> dict[str, str]:
        """Each user's e-mail and team (owners by e-mail count for their team)."""
        return self._teams()

    # -- internals ---------------------------------------------------------------------------
    def _teams(self) -> dict[str, str]:
        with self._db.session() as s:
            return dict(s.execute(select(User.email, User.team)).all())

    def _entry(self, goal: Goal) -> dict[str, Any]:
        catalogue = self.definitions.catalogue
        spec = catalogue[goal.metric] if goal.metric in catalogue else None  # noqa: SIM401
        out: dict[str, Any] = {"metric": goal.metric, "period": goal.period}
        if goal.segment:
            out["segment"] = dict(goal.segment)
        out["target"] = _number(goal.target)
        if goal.stretch is not None:
            out["stretch"] = _number(goal.stretch)
        if spec is None or goal.direction != spec.direction:
            out["direction"] = goal.direction
        if spec is None or goal.owners != default_owners(spec):
            out["owners"] = list(goal.owners)
        if goal.note:
            out["note"] = goal.note
        return out


def _number(value: float) -> int | float:
    """Whole numbers as integers, so ``5000000`` does not come back as ``5000000.0``."""
    return int(value) if value.is_integer() and abs(value) < 2**53 else value


def parse_goals_yaml(text: str, source: str = GOALS_FILE) -> list[GoalSpec]:
    """The goals a ``goals.yaml`` declares, or :class:`GoalError` naming the bad entry."""
    try:
        data = load_text_yaml(text)
    except yaml.YAMLError as exc:
        raise GoalError(f"{source} is not valid YAML: {exc}.", "") from exc
    if data is None:
        return []
    if not isinstance(data, Mapping) or set(data) - {"goals"}:
        raise GoalError(f"{source} must be a mapping with one key, goals: a list of goals.", "")
    items = data.get("goals") or []
    if not isinstance(items, Sequence) or isinstance(items, str):
        raise GoalError(f"{source}: goals must be a list.", "")
    out = []
    for i, item in enumerate(items, start=1):
        if not isinstance(item, Mapping):
            raise GoalError(f"{source}: goal {i} is not a mapping of fields.", "")
        unknown = sorted(set(item) - set(_FIELDS))
        missing = [f for f in ("metric", "period", "target") if f not in item]
        if unknown or missing:
            raise GoalError(
                f"{source}: goal {i} "
                + (f"has unknown fields {', '.join(unknown)}" if unknown else "")
                + (" and " if unknown and missing else "")
                + (f"lacks {', '.join(missing)}" if missing else "")
                + ".",
                f"A goal's fields are {', '.join(_FIELDS)}.",
            )
        segment = item.get("segment") or {}
        owners = item.get("owners") or []
        if not isinstance(segment, Mapping):
            raise GoalError(f"{source}: goal {i}'s segment must map dimensions to values.", "")
        if isinstance(owners, str):
            owners = [owners]
        for d, v in segment.items():
            if not isinstance(v, str):
                raise GoalError(f"{source}: goal {i}'s segment value {d}: {v!r} is not text.", "")
        out.append(
            GoalSpec(
                metric=str(item["metric"]),
                period=str(item["period"]),
                target=item["target"],
                segment={str(k): str(v) for k, v in segment.items()},
                owners=[str(o) for o in owners],
                direction=_optional(item.get("direction")),
                stretch=_optional(item.get("stretch")),
                note=str(item.get("note") or ""),
            )
        )
    return out


def _optional(value: Any) -> Any:
    """YAML's spellings of "nothing", read as text by ``_TextLoader``, as ``None``."""
    return None if value in (None, "", "~", "null", "Null", "NULL") else value
