"""Pipeline health: how open pipeline moved in a period, how deals move through stages, coverage.

Every number here is a catalogue KPI (``open_pipeline``, ``pipeline_created``, ``revenue``,
``lost_pipeline``, ``stage_conversion_rate``, ``days_in_stage``, ``weighted_pipeline``) asked of
the metric layer, so the Forecast page and the dashboards cannot disagree. Because the pipeline
KPIs all use a deal's current amount, the waterfall adds up exactly: the open pipeline at the
end is the start plus what was created, less what was won and lost.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from revteam.metrics.sources import OPEN_STAGES

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent

Where = Mapping[str, Sequence[str | None]] | None


@dataclass(frozen=True)
class Waterfall:
    """Open pipeline from the day before ``start`` to ``end`` (the period's last day so far)."""

    start: dt.date
    end: dt.date
    opening: float
    created: float
    won: float
    lost: float
    closing: float
    slipped: float
    """Of the closing pipeline: deals whose expected close date was due by ``end``."""
    slipped_deals: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "opening": round(self.opening, 2),
            "created": round(self.created, 2),
            "won": round(self.won, 2),
            "lost": round(self.lost, 2),
            "closing": round(self.closing, 2),
            "slipped": round(self.slipped, 2),
            "slipped_deals": self.slipped_deals,
        }


@dataclass(frozen=True)
class StageRow:
    stage: str
    conversion: float | None
    conversion_low: float | None
    conversion_high: float | None
    exits: int
    median_days: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "conversion_rate": self.conversion,
            "conversion_low": self.conversion_low,
            "conversion_high": self.conversion_high,
            "exits": self.exits,
            "median_days_in_stage": self.median_days,
        }


def _where(where: Where) -> dict[str, list[str | None]] | None:
    return {k: list(v) for k, v in where.items()} if where else None


def _total(
    metrics: MetricsComponent,
    metric: str,
    start: dt.date,
    end: dt.date,
    as_of: dt.datetime,
    where: Where,
    *,
    grain: str = "all",
) -> float:
    result = metrics.query(
        metric, grain=grain, start=start, end=end, where=_where(where), as_of=as_of
    )
    rows = [r for r in result.to_pylist() if r["is_total"]]
    return float(rows[-1]["value"] or 0.0) if rows else 0.0


def open_pipeline(
    metrics: MetricsComponent, day: dt.date, as_of: dt.datetime, where: Where
) -> float:
    """The ``open_pipeline`` KPI at the end of ``day``."""
    return _total(metrics, "open_pipeline", day, day, as_of, where, grain="day")


def waterfall(
    metrics: MetricsComponent, start: dt.date, end: dt.date, as_of: dt.datetime, where: Where
) -> Waterfall:
    """The pipeline waterfall of ``start`` … ``end`` (inclusive days), from the KPIs."""
    before = start - dt.timedelta(days=1)
    closing = open_pipeline(metrics, end, as_of, where)
    records = metrics.records(
        "open_pipeline",
        columns=["opportunity_id", "expected_close_date"],
        grain="day",
        start=end,
        end=end,
        where=_where(where),
        as_of=as_of,
    ).to_pylist()
    due = [
        r
        for r in records
        if r["expected_close_date"] is not None and r["expected_close_date"] <= end
    ]
    return Waterfall(
        start=start,
        end=end,
        opening=open_pipeline(metrics, before, as_of, where),
        created=_total(metrics, "pipeline_created", start, end, as_of, where),
        won=_total(metrics, "revenue", start, end, as_of, where),
        lost=_total(metrics, "lost_pipeline", start, end, as_of, where),
        closing=closing,
        slipped=float(sum(float(r["value"] or 0.0) for r in due)),
        slipped_deals=len(due),
    )


def stages(
    metrics: MetricsComponent, start: dt.date, end: dt.date, as_of: dt.datetime, where: Where
) -> list[StageRow]:
    """Each open stage's conversion to the next (with its interval) and median days in it."""
    result = metrics.query(
        ["stage_conversion_rate", "days_in_stage"],
        by="deal_stage",
        grain="all",
        start=start,
        end=end,
        where=_where(where),
        as_of=as_of,
        intervals=True,
        totals=False,
    )
    found: dict[tuple[str, str], dict[str, Any]] = {
        (r["deal_stage"], r["metric"]): r for r in result.to_pylist()
    }
    out = []
    for stage in OPEN_STAGES:
        conv = found.get((stage, "stage_conversion_rate"), {})
        days = found.get((stage, "days_in_stage"), {})
        out.append(
            StageRow(
                stage=stage,
                conversion=conv.get("value"),
                conversion_low=conv.get("ci_low"),
                conversion_high=conv.get("ci_high"),
                exits=int(conv.get("denominator") or 0),
                median_days=days.get("value"),
            )
        )
    return out
