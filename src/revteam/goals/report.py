"""The forecast report: what the Forecast page, ``revteam goals forecast`` and the API show.

One object per request: the period forecasts (calibrated, with the CRM's view beside), the
coverage of each period's revenue goal, the current period's pipeline waterfall, stage
conversion and time in stage, the headline pipeline KPIs, how well the calibrated
probabilities have scored, and the open deals that carry the forecast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from revteam.exceptions import StatsError
from revteam.goals import health
from revteam.goals.forecast import Forecaster, OpenDeals, PeriodForecast
from revteam.goals.model import Goal
from revteam.metrics import periods as P

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent

GRAINS = ("month", "quarter", "year")
MAX_PERIODS = 8
STAGE_DAYS = 90
"""Days of stage exits the stage table reads."""
MAX_DEALS = 500


@dataclass(frozen=True)
class Coverage:
    period: str
    target: float
    remaining: float
    due: float
    """Open pipeline the CRM expects to close in the period (past-due deals in the first)."""
    expected: float

    def as_dict(self) -> dict[str, Any]:
        def ratio(value: float) -> float | None:
            return round(value / self.remaining, 3) if self.remaining > 0 else None

        return {
            "period": self.period,
            "target": self.target,
            "remaining": round(self.remaining, 2),
            "pipeline_due": round(self.due, 2),
            "pipeline_coverage": ratio(self.due),
            "expected_coverage": ratio(self.expected),
        }


@dataclass(frozen=True)
class ForecastReport:
    as_of: dt.datetime
    where: Mapping[str, Sequence[str | None]]
    periods: list[PeriodForecast]
    coverage: list[Coverage]
    waterfall: health.Waterfall
    stages: list[health.StageRow]
    open_pipeline: float
    weighted_pipeline: float
    expected_pipeline: float | None
    """Σ amount x calibrated probability (won within the horizon) of the open deals."""
    model: dict[str, Any]
    deals: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    """The open deals by the CRM's forecast category (at the data's as-of only)."""
    problem: str | None = None
    """Why there is no forecast (too little history to calibrate on); the rest still holds."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(sep=" ", timespec="seconds"),
            "segment": {k: list(v) for k, v in self.where.items()},
            "open_pipeline": round(self.open_pipeline, 2),
            "weighted_pipeline": round(self.weighted_pipeline, 2),
            "expected_pipeline": None
            if self.expected_pipeline is None
            else round(self.expected_pipeline, 2),
            "periods": [p.as_dict() for p in self.periods],
            "coverage": [c.as_dict() for c in self.coverage],
            "waterfall": self.waterfall.as_dict(),
            "stages": [s.as_dict() for s in self.stages],
            "model": self.model,
            "deals": self.deals,
            "categories": self.categories,
            "problem": self.problem,
        }


def build_report(
    forecaster: Forecaster,
    metrics: MetricsComponent,
    goals: Sequence[Goal],
    *,
    as_of: dt.datetime | None = None,
    grain: str = "quarter",
    periods: int = 2,
    where: Mapping[str, Sequence[str | None]] | None = None,
    deals: int = 20,
) -> ForecastReport:
    """The whole forecast report at ``as_of`` (default: the data's as-of time)."""
    if not 0 <= deals <= MAX_DEALS:
        raise StatsError(f"deals must be 0 to {MAX_DEALS} (got {deals})")
    if grain not in GRAINS:
        raise StatsError(f"grain {grain!r} is not one of {', '.join(GRAINS)}")
    if not 1 <= periods <= MAX_PERIODS:
        raise StatsError(f"periods must be 1 to {MAX_PERIODS} (got {periods})")
    cut = as_of or metrics.as_of()
    seg = dict(where or {})
    day = cut.date()
    first = P.floor(day, P.check_grain(grain), forecaster.fy_start)
    found: list[PeriodForecast] = []
    coverage: list[Coverage] = []
    top: list[dict[str, Any]] = []
    categories: list[dict[str, Any]] = []
    expected: float | None = None
    problem: str | None = None
    try:
        found = forecaster.forecast(cut, grain=grain, periods=periods, where=seg or None)
        open_deals = forecaster.open_deals(cut, where=seg or None)
        share = forecaster.shares(open_deals, [p.end for p in found])
        coverage = _coverage(found, open_deals, goals, seg)
        frame = open_deals.frame
        expected = float((frame["amount"].fillna(0.0) * frame["probability"]).sum())
        top = _top_deals(open_deals, share, found, deals)
        if day >= metrics.as_of().date():  # a CRM keeps only today's category
            categories = _categories(open_deals, share)
        model = _model_summary(forecaster, cut)
    except StatsError as exc:  # too little history to calibrate: the pipeline KPIs still stand
        problem = str(exc)
        model = {"error": problem}
    return ForecastReport(
        as_of=cut,
        where=seg,
        periods=found,
        coverage=coverage,
        waterfall=health.waterfall(metrics, first, day, cut, seg or None),
        stages=health.stages(
            metrics, day - dt.timedelta(days=STAGE_DAYS - 1), day, cut, seg or None
        ),
        open_pipeline=health.open_pipeline(metrics, day, cut, seg or None),
        weighted_pipeline=_kpi(metrics, "weighted_pipeline", day, cut, seg),
        expected_pipeline=expected,
        model=model,
        deals=top,
        categories=categories,
        problem=problem,
    )


def _kpi(
    metrics: MetricsComponent,
    metric: str,
    day: dt.date,
    cut: dt.datetime,
    where: Mapping[str, Sequence[str | None]],
) -> float:
    result = metrics.query(
        metric,
        grain="day",
        start=day,
        end=day,
        where={k: list(v) for k, v in where.items()} or None,
        as_of=cut,
    )
    rows = [r for r in result.to_pylist() if r["is_total"]]
    return float(rows[-1]["value"] or 0.0) if rows else 0.0


def _coverage(
    found: Sequence[PeriodForecast],
    deals: OpenDeals,
    goals: Sequence[Goal],
    where: Mapping[str, Sequence[str | None]],
) -> list[Coverage]:
    """Coverage of each period that has a revenue goal for exactly this segment."""
    wanted = tuple(sorted((k, v[0]) for k, v in where.items() if len(v) == 1))
    if len(wanted) != len(where):
        return []
    close = deals.frame["expected_close_date"]
    amount = deals.frame["amount"].fillna(0.0)
    out = []
    for i, p in enumerate(found):
        goal = next(
            (
                g
                for g in goals
                if g.metric == "revenue"
                and g.start == p.start
                and g.end == p.end
                and tuple(sorted(g.segment)) == wanted
            ),
            None,
        )
        if goal is None:
            continue
        due_mask = close.notna() & close.map(
            lambda d, p=p, i=i: (i == 0 or d >= p.start) and d < p.end
        ).astype(bool)
        out.append(
            Coverage(
                period=p.label,
                target=goal.target,
                remaining=max(goal.target - p.won_to_date, 0.0),
                due=float(amount[due_mask].sum()),
                expected=p.expected,
            )
        )
    return out


CATEGORY_ORDER = ("commit", "best_case", "pipeline", "omitted", "closed")


def _categories(deals: OpenDeals, share: np.ndarray) -> list[dict[str, Any]]:
    """Open deals by the CRM's forecast category; empty when the CRM has none.

    Per category: deals, amount, the CRM's weighted amount and the calibrated wins expected in
    the first period, so "commit" can be held against what history says commits bring.
    """
    frame = deals.frame
    known = frame["forecast_category"].notna()
    if frame.empty or not known.any():
        return []
    amount = frame["amount"].fillna(0.0).to_numpy()
    crm = frame["crm_probability"].fillna(0.0).to_numpy()
    first = share[:, 0] if share.size else np.zeros(len(frame))
    label = frame["forecast_category"].fillna("(none)").to_numpy(dtype=object)
    order = {c: i for i, c in enumerate((*CATEGORY_ORDER, "(none)"))}
    out = []
    for category in sorted(set(label), key=lambda c: order.get(c, len(order))):
        mask = label == category
        out.append(
            {
                "category": category,
                "deals": int(mask.sum()),
                "amount": round(float(amount[mask].sum()), 2),
                "crm_weighted": round(float((amount * crm)[mask].sum()), 2),
                "expected_first_period": round(float((amount * first)[mask].sum()), 2),
            }
        )
    return out


def _model_summary(forecaster: Forecaster, cut: dt.datetime) -> dict[str, Any]:
    """What the probabilities learnt from, and how they scored a horizon ago (if they can)."""
    model = forecaster.model(cut)
    out: dict[str, Any] = {
        "horizon_days": model.horizon_days,
        "snapshots": model.snapshots,
        "deals": model.deals,
        "base_rate": round(model.base_rate, 4),
        "brier": None,
    }
    back = cut - dt.timedelta(days=model.horizon_days)
    try:
        (scored,) = forecaster.backtest([back])
    except StatsError:
        return out
    out["brier"] = scored
    return out


def _top_deals(
    deals: OpenDeals, share: np.ndarray, found: Sequence[PeriodForecast], limit: int
) -> list[dict[str, Any]]:
    """The open deals with the largest expected won amount over the forecast's periods."""
    frame = deals.frame
    if frame.empty or limit == 0:
        return []
    amount = frame["amount"].fillna(0.0).to_numpy()
    expected = amount * share.sum(axis=1)
    order = np.argsort(-expected, kind="stable")[:limit]
    out = []
    for i in order:
        r = frame.iloc[int(i)]
        close = r["expected_close_date"]
        out.append(
            {
                "opportunity_id": r["opportunity_id"],
                "name": r["name"],
                "account_id": r["account_id"],
                "owner_id": r["owner_id"],
                "type": r["type"],
                "segment": r["segment"],
                "stage": r["stage"],
                "days_in_stage": round(float(r["days_in_stage"]), 1),
                "amount": round(float(amount[i]), 2),
                "crm_probability": None
                if np.isnan(r["crm_probability"])
                else round(float(r["crm_probability"]), 4),
                "probability": round(float(r["probability"]), 4),
                "expected_close_date": None if close is None else str(close)[:10],
                "by_period": {p.label: round(float(share[i, k]), 4) for k, p in enumerate(found)},
            }
        )
    return out
