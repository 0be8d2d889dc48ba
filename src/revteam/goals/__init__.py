"""Shared goals: targets with owners from both teams, and their pacing.

>>> ws.goals.set(GoalSpec("leads", "2027-Q1", 5000))                  # doctest: +SKIP
>>> [p.status for p in ws.goals.pacing()]                             # doctest: +SKIP

Goals live in the application database with their history; ``goals.yaml`` imports and
exports them (goals as code). See ``docs/goals.md``.
"""

from __future__ import annotations

from revteam.goals.book import GOALS_FILE, GoalBook, ImportReport, parse_goals_yaml
from revteam.goals.component import GoalsComponent
from revteam.goals.model import Goal, GoalSpec, default_owners, parse_target
from revteam.goals.pacing import LinePoint, Pacer, Pacing
from revteam.goals.store import GoalHistoryEntry, GoalStore

__all__ = [
    "GOALS_FILE",
    "Goal",
    "GoalBook",
    "GoalHistoryEntry",
    "GoalSpec",
    "GoalStore",
    "GoalsComponent",
    "ImportReport",
    "LinePoint",
    "Pacer",
    "Pacing",
    "default_owners",
    "parse_goals_yaml",
    "parse_target",
]
