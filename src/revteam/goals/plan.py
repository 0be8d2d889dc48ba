"""The reverse funnel: from a revenue goal to the volumes each team must deliver.

``plan_revenue(metrics, "2027-Q1", 5_000_000)`` walks the funnel backwards with the rates of the
last ``history_days`` (all from the metric layer, cohort rates over mature cohorts only):

    new-business revenue = target * new business's share of revenue
    opportunities_won    = new-business revenue ÷ average new-business deal size
    new_customers        = opportunities_won * (new customers ÷ new-business wins)
    opportunities_created= opportunities_won ÷ new-business win rate
    sqls                 = opportunities_created ÷ sql_to_opportunity_rate
    mqls                 = sqls ÷ sales_qualification_rate
    leads                = mqls ÷ mql_rate

Intervals come from 4,000 draws of every rate from its sampling distribution (Jeffreys beta for
shares, normal for the deal size's mean; new business's share of revenue is taken as it was),
so the numbers say how sure the history makes them.
Cohort rates are the catalogue's windowed ones, so late converters are not counted on (the plan
errs towards more volume). Each step also says when it must happen: its volume is for the
period that starts the median lag earlier (sales cycle for opportunities, time to revenue for
leads).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from revteam.exceptions import GoalError
from revteam.goals.model import GoalSpec
from revteam.metrics import periods as P

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent

DRAWS = 4000
NEW = {"opportunity_type": ["new_business"]}
STEPS = (
    "revenue",
    "opportunities_won",
    "new_customers",
    "opportunities_created",
    "sqls",
    "mqls",
    "leads",
)
"""What the plan derives, from the goal down the funnel (catalogue metric ids)."""


@dataclass(frozen=True)
class PlanStep:
    metric: str
    value: float
    low: float
    high: float
    period: str
    """The period this volume is for (earlier than the goal's by the step's lag)."""
    lag_days: float
    basis: str
    """The rate the step divides or multiplies by, in words, with its value."""


@dataclass(frozen=True)
class RevenuePlan:
    period: str
    target: float
    level: float
    history: tuple[dt.date, dt.date]
    steps: tuple[PlanStep, ...]
    segment: tuple[tuple[str, str], ...] = ()
    """The segment planned for: its derived goals are for that segment too."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": "revenue",
            "period": self.period,
            "target": self.target,
            "level": self.level,
            "history": [d.isoformat() for d in self.history],
            "segment": dict(self.segment),
            "steps": {
                s.metric: {
                    "value": s.value,
                    "low": s.low,
                    "high": s.high,
                    "period": s.period,
                    "lag_days": s.lag_days,
                    "basis": s.basis,
                }
                for s in self.steps
            },
        }

    def goals(self) -> list[GoalSpec]:
        """The derived volumes as goals (rounded up: a plan is a floor, not an estimate)."""
        return [
            GoalSpec(
                s.metric,
                s.period,
                float(np.ceil(s.value)),
                segment=dict(self.segment),
                note=f"plan: {s.basis}",
            )
            for s in self.steps
            if s.metric != "revenue"
        ]


def plan_revenue(
    metrics: MetricsComponent,
    period: str,
    target: float,
    *,
    history_days: int = 365,
    level: float = 0.9,
    fy_start: int = 1,
    as_of: dt.date | None = None,
    segment: Mapping[str, str] | None = None,
) -> RevenuePlan:
    """The volumes a revenue ``target`` for ``period`` needs, with intervals (see module)."""
    if not target > 0:
        raise GoalError(f"A revenue target must be above 0, not {target!r}.", "")
    start, grain = P.parse_label(period, fy_start)
    last = as_of or metrics.as_of().date()
    first = last - dt.timedelta(days=history_days - 1)
    where = {d: [v] for d, v in (segment or {}).items()}

    def value(metric: str, *, extra: Mapping[str, list[str]] | None = None) -> dict[str, Any]:
        end = metrics.mature_end(metric, last, grain="month")
        rows = metrics.query(
            metric,
            grain="all",
            start=first,
            end=end,
            where={**where, **(extra or {})} or None,
            intervals=True,
            level=0.6827,  # one standard error, for the deal size's normal draw
        ).to_pylist()
        found = [r for r in rows if r["is_total"]]
        if not found or found[0]["value"] in (None, 0):
            raise GoalError(
                f"No {metric} in the {history_days} days to {last} to plan from.",
                "Plan once there is a year of history (or pass a shorter history).",
            )
        return found[0]

    # The amount, not its spelling: 5_000_000 plans as 5_000_000.0 (the CLI's, the API's) does.
    seed = hashlib.sha256(f"{period}|{float(target)}|{last}|{sorted(where.items())}".encode())
    rng = np.random.default_rng(int.from_bytes(seed.digest()[:8], "big"))

    def share(row: dict[str, Any]) -> NDArray[np.float64]:
        num, den = float(row["numerator"]), float(row["denominator"])
        return rng.beta(num + 0.5, den - num + 0.5, DRAWS)

    revenue_all = float(value("revenue")["value"])
    revenue_new = float(value("revenue", extra=NEW)["value"])
    deal = value("avg_deal_size", extra=NEW)
    won = value("opportunities_won", extra=NEW)
    customers = value("new_customers")
    win = value("win_rate", extra=NEW)
    to_opp = value("sql_to_opportunity_rate")
    sqr = value("sales_qualification_rate")
    mql = value("mql_rate")

    new_share = revenue_new / revenue_all  # a mix, taken as it was (its noise is the deals')
    se = (deal["ci_high"] - deal["ci_low"]) / 2 if deal.get("ci_high") is not None else 0.0
    deal_size = np.maximum(rng.normal(deal["value"], se, DRAWS), deal["value"] * 0.05)
    per_win = min(1.0, float(customers["value"]) / float(won["value"]))
    draws: dict[str, NDArray[np.float64]] = {"revenue": np.full(DRAWS, float(target))}
    draws["opportunities_won"] = target * new_share / deal_size
    draws["new_customers"] = draws["opportunities_won"] * per_win
    draws["opportunities_created"] = draws["opportunities_won"] / share(win)
    draws["sqls"] = draws["opportunities_created"] / share(to_opp)
    draws["mqls"] = draws["sqls"] / share(sqr)
    draws["leads"] = draws["mqls"] / share(mql)
    cycle = _median(metrics, "sales_cycle_days", first, last, where)
    to_revenue = _median(metrics, "time_to_revenue_days", first, last, where)
    lags = {
        "revenue": 0.0,
        "opportunities_won": 0.0,
        "new_customers": 0.0,
        "opportunities_created": cycle,
        "sqls": cycle + (to_revenue - cycle) / 3,
        "mqls": cycle + 2 * (to_revenue - cycle) / 3,
        "leads": to_revenue,
    }
    basis = {
        "revenue": "the goal",
        "opportunities_won": f"new business {revenue_new / revenue_all:.0%} of revenue, "
        f"average new deal {deal['value']:,.0f}",
        "new_customers": f"{per_win:.0%} of new-business wins are new customers",
        "opportunities_created": f"new-business win rate {win['value']:.1%}",
        "sqls": f"sql_to_opportunity_rate {to_opp['value']:.1%}",
        "mqls": f"sales_qualification_rate {sqr['value']:.1%}",
        "leads": f"mql_rate {mql['value']:.1%}",
    }
    tail = (1 - level) / 2
    steps = []
    for metric in STEPS:
        d = draws[metric]
        low, high = np.quantile(d, [tail, 1 - tail])
        when = P.floor(start - dt.timedelta(days=round(lags[metric])), grain, fy_start)
        steps.append(
            PlanStep(
                metric,
                round(float(np.mean(d)), 2),
                round(float(low), 2),
                round(float(high), 2),
                P.label(when, grain, fy_start),
                round(lags[metric], 1),
                basis[metric],
            )
        )
    return RevenuePlan(
        P.label(start, grain, fy_start),
        float(target),
        level,
        (first, last),
        tuple(steps),
        tuple(sorted((segment or {}).items())),
    )


def _median(
    metrics: MetricsComponent,
    metric: str,
    first: dt.date,
    last: dt.date,
    where: Mapping[str, list[str]],
) -> float:
    rows = metrics.query(metric, grain="all", start=first, end=last, where=dict(where) or None)
    found = [r["value"] for r in rows.to_pylist() if r["is_total"] and r["value"] is not None]
    return float(found[0]) if found else 0.0
