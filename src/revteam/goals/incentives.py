"""Incentive plans: how variable pay follows the shared goals (``incentives.yaml``).

A plan belongs to a team (``sales``, ``marketing`` …) or names its people, and weighs measures:
each measure is a goal (metric, period, optional segment) with a payout curve over its
attainment (actual ÷ target; target ÷ actual when lower is better)::

    below ``threshold``           → 0
    from ``threshold`` to 1        → the attainment itself (linear, 1 at target)
    above 1                        → 1 + ``accelerator`` * (attainment - 1)
    never above ``cap``

The plan's payout factor is the weighted sum over its measures, for the attainment to date and
for the projected period end (from the goals' pacing); ``shared_share`` is how much of the
variable pay rides on shared KPIs (metrics both teams own). A what-if replaces a metric's
projected value ("if SQR reaches 50%…") and shows the factors again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from revteam.exceptions import GoalError
from revteam.goals.model import Goal
from revteam.goals.pacing import Pacing
from revteam.metrics import Catalogue
from revteam.metrics import periods as P

INCENTIVES_FILE = "incentives.yaml"
_PLAN_FIELDS = {"name", "team", "people", "variable_share", "measures"}
_MEASURE_FIELDS = {"metric", "period", "segment", "weight", "threshold", "cap", "accelerator"}


@dataclass(frozen=True)
class Measure:
    metric: str
    period: str
    segment: tuple[tuple[str, str], ...]
    weight: float
    threshold: float = 0.5
    cap: float = 2.0
    accelerator: float = 1.0

    def payout(self, attainment: float | None) -> float | None:
        """The payout curve at ``attainment`` (see the module's docstring)."""
        if attainment is None:
            return None
        if attainment < self.threshold:
            return 0.0
        if attainment <= 1:
            return min(attainment, self.cap)
        return min(1 + self.accelerator * (attainment - 1), self.cap)


@dataclass(frozen=True)
class Plan:
    name: str
    team: str | None
    people: tuple[str, ...]
    variable_share: float
    measures: tuple[Measure, ...]


@dataclass(frozen=True)
class MeasureResult:
    measure: Measure
    goal: Goal | None
    shared: bool
    attainment_to_date: float | None
    attainment_projected: float | None
    payout_to_date: float | None
    payout_projected: float | None
    note: str = ""


@dataclass(frozen=True)
class PlanResult:
    plan: Plan
    measures: tuple[MeasureResult, ...]
    payout_to_date: float | None
    payout_projected: float | None
    shared_share: float
    """Share of the plan's weight (so of its variable pay) on shared KPIs."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan.name,
            "team": self.plan.team,
            "people": list(self.plan.people),
            "variable_share": self.plan.variable_share,
            "shared_share": self.shared_share,
            "shared_share_of_pay": round(self.shared_share * self.plan.variable_share, 6),
            "payout_to_date": self.payout_to_date,
            "payout_projected": self.payout_projected,
            "measures": [
                {
                    "metric": m.measure.metric,
                    "period": m.measure.period,
                    "segment": dict(m.measure.segment),
                    "weight": m.measure.weight,
                    "shared": m.shared,
                    "goal_id": m.goal.id if m.goal else None,
                    "target": m.goal.target if m.goal else None,
                    "attainment_to_date": m.attainment_to_date,
                    "attainment_projected": m.attainment_projected,
                    "payout_to_date": m.payout_to_date,
                    "payout_projected": m.payout_projected,
                    "note": m.note,
                }
                for m in self.measures
            ],
        }


def parse_incentives(text: str, catalogue: Catalogue, fy_start: int = 1) -> list[Plan]:
    """The plans of an ``incentives.yaml``, or :class:`GoalError` naming the bad entry."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise GoalError(f"{INCENTIVES_FILE} is not valid YAML: {exc}.", "") from exc
    if data is None:
        return []
    if (
        not isinstance(data, Mapping)
        or set(data) != {"plans"}
        or not isinstance(data["plans"], list)
    ):
        raise GoalError(f"{INCENTIVES_FILE} must be a mapping with one key, plans: a list.", "")
    plans = []
    for i, raw in enumerate(data["plans"], start=1):
        where = f"{INCENTIVES_FILE}, plan {i}"
        if not isinstance(raw, Mapping) or not {"name", "measures"} <= set(raw):
            raise GoalError(f"{where} needs a name and measures.", "")
        unknown = set(raw) - _PLAN_FIELDS
        if unknown:
            raise GoalError(f"{where} has unknown fields {', '.join(sorted(unknown))}.", "")
        if not raw.get("team") and not raw.get("people"):
            raise GoalError(f"{where} applies to nobody: give a team or people.", "")
        measures = tuple(
            _measure(m, f"{where}, measure {j}", catalogue, fy_start)
            for j, m in enumerate(raw["measures"] or [], start=1)
        )
        total = sum(m.weight for m in measures)
        if not measures or abs(total - 1) > 1e-6:
            raise GoalError(
                f"{where}: the measures' weights add up to {total:g}, not 1.",
                "Give each measure its share of the variable pay (e.g. 0.4 and 0.6).",
            )
        share = _number(raw.get("variable_share", 1.0), f"{where}, variable_share")
        if not 0 <= share <= 1:
            raise GoalError(f"{where}: variable_share is a share from 0 to 1.", "")
        plans.append(
            Plan(
                name=str(raw["name"]),
                team=str(raw["team"]) if raw.get("team") else None,
                people=tuple(str(p).strip().lower() for p in raw.get("people") or ()),
                variable_share=share,
                measures=measures,
            )
        )
    return plans


def _measure(raw: Any, where: str, catalogue: Catalogue, fy_start: int) -> Measure:
    if not isinstance(raw, Mapping) or not {"metric", "period", "weight"} <= set(raw):
        raise GoalError(f"{where} needs metric, period and weight.", "")
    unknown = set(raw) - _MEASURE_FIELDS
    if unknown:
        raise GoalError(f"{where} has unknown fields {', '.join(sorted(unknown))}.", "")
    if str(raw["metric"]) not in catalogue:
        raise GoalError(f"{where}: no metric {raw['metric']!r} in the catalogue.", "")
    start, grain = P.parse_label(str(raw["period"]), fy_start)
    segment = raw.get("segment") or {}
    if not isinstance(segment, Mapping) or any(not isinstance(v, str) for v in segment.values()):
        raise GoalError(f"{where}: segment maps dimensions to text values (quote them).", "")
    m = Measure(
        metric=str(raw["metric"]),
        period=P.label(start, grain, fy_start),
        segment=tuple(sorted((str(d), v) for d, v in segment.items())),
        weight=_number(raw["weight"], f"{where}, weight"),
        threshold=_number(raw.get("threshold", 0.5), f"{where}, threshold"),
        cap=_number(raw.get("cap", 2.0), f"{where}, cap"),
        accelerator=_number(raw.get("accelerator", 1.0), f"{where}, accelerator"),
    )
    if not (0 < m.weight <= 1 and 0 <= m.threshold <= 1 <= m.cap and m.accelerator >= 0):
        raise GoalError(
            f"{where}: needs 0 < weight ≤ 1, 0 ≤ threshold ≤ 1 ≤ cap and accelerator ≥ 0.", ""
        )
    return m


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GoalError(f"{where} must be a number, not {value!r}.", "")
    return float(value)


def score(
    plans: Sequence[Plan],
    goals: Sequence[Goal],
    pacing: Sequence[Pacing],
    catalogue: Catalogue,
    *,
    what_if: Mapping[str, float] | None = None,
) -> list[PlanResult]:
    """Each plan's attainment and payout factors, from its measures' goals and their pacing.

    ``what_if`` maps a metric id to a period-end value that replaces its projection (for every
    measure of that metric, whatever its segment).
    """
    paced = {p.goal.id: p for p in pacing}
    by_scope = {(g.metric, g.period, g.segment): g for g in goals}
    out = []
    for plan in plans:
        results = []
        for m in plan.measures:
            goal = by_scope.get((m.metric, m.period, m.segment))
            shared = catalogue[m.metric].owners == "shared" if m.metric in catalogue else False
            if goal is None:
                results.append(
                    MeasureResult(m, None, shared, None, None, None, None, "no goal set for it")
                )
                continue
            p = paced.get(goal.id)
            projected = p.projected if p else None
            if what_if and m.metric in what_if:
                projected = what_if[m.metric]
            to_date = _attainment(goal, p.actual if p else None, p.expected_to_date if p else None)
            final = _attainment(goal, projected, None)
            results.append(
                MeasureResult(
                    m,
                    goal,
                    shared,
                    to_date,
                    final,
                    m.payout(to_date),
                    m.payout(final),
                    "what-if" if what_if and m.metric in what_if else "",
                )
            )
        out.append(
            PlanResult(
                plan,
                tuple(results),
                _weighted(results, "payout_to_date"),
                _weighted(results, "payout_projected"),
                round(sum(r.measure.weight for r in results if r.shared), 6),
            )
        )
    return out


def _attainment(goal: Goal, value: float | None, expected: float | None) -> float | None:
    """``value`` against the target, inverted when lower is better.

    For counts and sums to date, against where the cumulative target line stands.
    """
    aim = expected if expected else goal.target
    if value is None or not aim:
        return None
    if goal.direction == "lower":
        return round(aim / value, 6) if value else None
    return round(value / aim, 6)


def _weighted(results: Sequence[MeasureResult], field: str) -> float | None:
    values: list[tuple[float, float | None]] = [
        (r.measure.weight, getattr(r, field)) for r in results
    ]
    total = 0.0
    for weight, value in values:
        if value is None:
            return None
        total += weight * value
    return round(total, 6)


def load_incentives(root: Path, catalogue: Catalogue, fy_start: int = 1) -> list[Plan]:
    """The workspace's ``incentives.yaml`` (no file: no plans)."""
    path = root / INCENTIVES_FILE
    if not path.exists():
        return []
    return parse_incentives(path.read_text(encoding="utf-8"), catalogue, fy_start)


def with_people(plans: Sequence[Plan], teams: Mapping[str, str]) -> list[Plan]:
    """Plans with their people filled in from the users of their team (e-mail → team)."""
    return [
        replace(p, people=p.people or tuple(sorted(e for e, t in teams.items() if t == p.team)))
        for p in plans
    ]


def parse_what_if(items: Sequence[str]) -> dict[str, float]:
    """``["sales_qualification_rate=50%", "revenue=5000000"]`` → metric → value."""
    out: dict[str, float] = {}
    for item in items:
        metric, sep, text = (part.strip() for part in item.partition("="))
        number = text.removesuffix("%").replace(",", "").replace("_", "")
        try:
            value = float(number) / (100 if text.endswith("%") else 1)
        except ValueError:
            value = float("nan")
        if not sep or not metric or value != value or value in (float("inf"), float("-inf")):
            raise GoalError(
                f"what-if {item!r} is not METRIC=VALUE.",
                "For example sales_qualification_rate=50% or revenue=5000000.",
            )
        out[metric] = value
    return out
