"""The Goals page: goal cards with their pacing and chart, grouped by period; forms; history.

Every number on a card is the pacer's (:class:`revteam.goals.Pacing`), the same that
``/api/v1/goals`` and the Overview's target slots show; this module only selects, orders and
arranges goals, fills and reads the goal form and describes a goal's changes. Each card's
chart comes from :mod:`revteam.web.views.goal_charts`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import zip_longest
from typing import Any
from urllib.parse import urlencode

from revteam.app import TEAMS
from revteam.exceptions import GoalError
from revteam.goals import Goal, GoalHistoryEntry, GoalSpec, Pacing
from revteam.goals.model import MAX_SEGMENT, Direction
from revteam.metrics import MetricSpec
from revteam.metrics.format import MISSING, display
from revteam.web.views.charts import OWNER_COLORS
from revteam.web.views.goal_charts import chart

STATUS_LABELS = {"on_track": "On track", "at_risk": "At risk", "off_track": "Off track"}
PAGE_SIZE = 50
"""Goals a page shows (and paces) unless ``limit`` asks for more."""
MAX_PAGE = 200
"""Goals one page may pace: as many as one ``/api/v1/goals`` request."""
FIELDS = ("metric", "period", "segment", "target", "stretch", "direction", "owners", "note")
"""The fields of a goal people set, in the order its history lists them."""


# -- which goals, in which order -----------------------------------------------------------------
@dataclass(frozen=True)
class GoalFilters:
    """The page's filters: a metric, a status, and text the period's label contains."""

    metric: str = ""
    status: str = ""
    period: str = ""
    offset: int = 0
    limit: int = PAGE_SIZE

    def matches(self, goal: Goal) -> bool:
        """Metric and period (the status is known only once a goal is paced)."""
        wanted = self.period.strip().lower()
        return (not self.metric or goal.metric == self.metric) and wanted in goal.period.lower()

    def url(self, **changes: Any) -> str:
        """``/goals`` with these filters (defaults left out, so links stay short)."""
        chosen = replace(self, **changes)
        params = {
            "metric": chosen.metric,
            "status": chosen.status,
            "period": chosen.period,
            "offset": chosen.offset or "",
            "limit": "" if chosen.limit == PAGE_SIZE else chosen.limit,
        }
        query = urlencode({k: v for k, v in params.items() if v != ""})
        return "/goals" + (f"?{query}" if query else "")


def ordered(goals: Sequence[Goal], as_of: dt.date) -> list[Goal]:
    """Running periods first, then upcoming ones (soonest first), then finished (newest first).

    Decided by dates alone, before any goal is paced, so paging is stable and cheap.
    """

    def key(goal: Goal) -> tuple[int, int, int, str, str]:
        longest = -(goal.end - goal.start).days  # a year before its quarters and months
        if goal.start <= as_of < goal.end - dt.timedelta(days=1):
            return (0, goal.start.toordinal(), longest, goal.metric, goal.scope)
        if as_of < goal.start:
            return (1, goal.start.toordinal(), longest, goal.metric, goal.scope)
        return (2, -goal.start.toordinal(), longest, goal.metric, goal.scope)

    return sorted(goals, key=key)


# -- cards -----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Owner:
    name: str
    team: str
    """The team's key (``sales`` …) when the owner is a team, else empty."""


@dataclass(frozen=True)
class GoalCard:
    """One goal as the page shows it: the goal, its metric and its pacing."""

    pacing: Pacing
    label: str
    unit: str
    metric_owners: str
    """The metric's owners (``shared``, ``sales``, ``marketing``): the card's accent."""
    owners: tuple[Owner, ...]
    chart: dict[str, Any] | None

    @property
    def goal(self) -> Goal:
        return self.pacing.goal

    @property
    def segment_text(self) -> str:
        return segment_text(self.goal.segment_dict)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.pacing.status]


def segment_text(segment: Mapping[str, str]) -> str:
    return ", ".join(f"{d} = {v}" for d, v in segment.items()) or "whole company"


def card(p: Pacing, spec: MetricSpec | None, *, currency: str, level: float) -> GoalCard:
    unit = spec.unit if spec else "number"
    owners = tuple(Owner(o, o if o in TEAMS else "") for o in p.goal.owners)
    metric_owners = spec.owners if spec else "shared"
    color = OWNER_COLORS.get(metric_owners, "#0f172a")
    return GoalCard(
        pacing=p,
        label=spec.label if spec else p.goal.metric,
        unit=unit,
        metric_owners=metric_owners,
        owners=owners,
        chart=chart(p, unit, currency=currency, color=color, level=level),
    )


@dataclass(frozen=True)
class PeriodGroup:
    period: str
    state: str
    cards: tuple[GoalCard, ...]


def grouped(cards: Sequence[GoalCard]) -> list[PeriodGroup]:
    """Cards by period, in the order the first card of each period came."""
    groups: dict[str, list[GoalCard]] = {}
    for c in cards:
        groups.setdefault(c.goal.period, []).append(c)
    return [
        PeriodGroup(period, _period_state(members), tuple(members))
        for period, members in groups.items()
    ]


def _period_state(cards: Sequence[GoalCard]) -> str:
    states = {c.pacing.state for c in cards}
    return next(s for s in ("running", "upcoming", "finished") if s in states)


# -- forms ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GoalForm:
    """A goal's fields as the form holds them: text, exactly as typed or as stored."""

    metric: str = ""
    period: str = ""
    target: str = ""
    stretch: str = ""
    segment: tuple[tuple[str, str], ...] = ()
    owners: str = ""
    direction: str = ""
    note: str = ""
    expected_version: int | None = None

    @property
    def segment_rows(self) -> list[tuple[str, str]]:
        """Always :data:`MAX_SEGMENT` (dimension, value) rows, blank ones after the given."""
        rows = list(self.segment)[:MAX_SEGMENT]
        return rows + [("", "")] * (MAX_SEGMENT - len(rows))

    def spec(self) -> GoalSpec:
        """The :class:`GoalSpec` typed in, or :class:`GoalError` naming every form problem."""
        problems, segment = [], {}
        for dim, value in self.segment:
            if dim and not value:
                problems.append(f"the segment dimension {dim} has no value")
            elif value and not dim:
                problems.append(f"the segment value {value!r} has no dimension")
            elif dim in segment:
                problems.append(f"the segment names {dim} twice")
            elif dim:
                segment[dim] = value
        if problems:
            raise GoalError(
                "The form's segment is incomplete: " + "; ".join(problems) + ".",
                "Give every chosen dimension a value, or clear it.",
            )
        direction: Direction | None = (
            "higher"
            if self.direction == "higher"
            else "lower"
            if self.direction == "lower"
            else None
        )
        return GoalSpec(
            metric=self.metric.strip(),
            period=self.period.strip(),
            target=self.target.strip() or None,  # type: ignore[arg-type]  # None: "missing"
            segment=segment,
            owners=[o.strip() for o in self.owners.replace(";", ",").split(",") if o.strip()],
            direction=direction,
            stretch=self.stretch.strip() or None,
            note=self.note,
        )


def posted_form(
    *,
    metric: str,
    period: str,
    target: str,
    stretch: str,
    dimensions: Sequence[str],
    values: Sequence[str],
    owners: str,
    direction: str,
    note: str,
    expected_version: int | None = None,
) -> GoalForm:
    pairs = tuple((d.strip(), v.strip()) for d, v in zip_longest(dimensions, values, fillvalue=""))
    return GoalForm(
        metric=metric,
        period=period,
        target=target,
        stretch=stretch,
        segment=tuple(p for p in pairs if p != ("", "")),
        owners=owners,
        direction=direction,
        note=note,
        expected_version=expected_version,
    )


def form_of(goal: Goal, spec: MetricSpec | None) -> GoalForm:
    """The change form of ``goal``, prefilled so that saving it unchanged changes nothing."""
    percent = spec is not None and spec.unit == "percent"
    stretch = "" if goal.stretch is None else number_text(goal.stretch, percent)
    return GoalForm(
        metric=goal.metric,
        period=goal.period,
        target=number_text(goal.target, percent),
        stretch=stretch,
        segment=goal.segment,
        owners=", ".join(goal.owners),
        direction=goal.direction,
        note=goal.note,
        expected_version=goal.version,
    )


def number_text(value: float, percent: bool) -> str:
    """``0.45`` → ``45%`` for a rate, when the text reads back as exactly the same number."""
    if percent:
        text = f"{value * 100:.12g}%"
        if float(text[:-1]) / 100 == value:
            return text
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


# -- history -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FieldChange:
    name: str
    before: str | None
    """``None`` when the goal was created (nothing before)."""
    after: str | None
    """``None`` when the goal was deleted."""


@dataclass(frozen=True)
class Change:
    version: int
    action: str
    at: dt.datetime
    actor: str
    fields: tuple[FieldChange, ...] = field(default_factory=tuple)


def history(
    entries: Sequence[GoalHistoryEntry],
    catalogue: Mapping[str, MetricSpec],
    *,
    currency: str,
) -> list[Change]:
    """Each change, newest first, with every field it changed written in its unit."""
    out = []
    for e in reversed(entries):
        before, after = e.before or {}, e.after or {}
        fields = []
        for name in FIELDS:
            old, new = before.get(name), after.get(name)
            if e.before is not None and e.after is not None and old == new:
                continue
            if e.after is None and name not in ("metric", "period", "segment", "target"):
                continue  # a deletion names what went, not every field
            if e.before is None and new in (None, "", [], {}) and name != "segment":
                continue  # a new goal lists the fields it was given
            fields.append(
                FieldChange(
                    name,
                    None if e.before is None else _value(name, before, catalogue, currency),
                    None if e.after is None else _value(name, after, catalogue, currency),
                )
            )
        out.append(Change(e.version, e.action, e.at, e.actor, tuple(fields)))
    return out


def _value(
    name: str, goal: Mapping[str, Any], catalogue: Mapping[str, MetricSpec], currency: str
) -> str:
    value = goal.get(name)
    if name in ("target", "stretch"):
        spec = catalogue.get(str(goal.get("metric")))
        return (
            MISSING
            if value is None
            else display(value, spec.unit if spec else "number", currency=currency)
        )
    if name == "segment":
        return segment_text(value or {})
    if name == "owners":
        return ", ".join(value or [])
    return "" if value is None else str(value)


def describe(goal: Mapping[str, Any]) -> str:
    """``leads for 2026-Q4 (channel = email)`` from a history entry's goal."""
    seg = dict(goal.get("segment") or {})
    return f"{goal.get('metric')} for {goal.get('period')}" + (
        f" ({segment_text(seg)})" if seg else ""
    )
