"""What a proposed definition would do: a diff, the numbers before and after, who uses it.

Both sets of numbers come from the metric layer, once over today's catalogue and once over the
catalogue with the proposal in it (:meth:`MetricsComponent.using`), so the preview is exactly
what the change will publish.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

from revteam.exceptions import MetricError
from revteam.metrics import periods as P
from revteam.metrics.catalogue import Catalogue

if TYPE_CHECKING:
    from revteam.metrics import MetricsComponent

PREFERRED_DIMENSIONS = ("channel", "segment", "campaign", "team")


@dataclass(frozen=True)
class Impact:
    metric: str
    label: str
    unit: str
    diff: str
    periods: tuple[dict[str, Any], ...]
    """Per month: ``period``, ``before``, ``after``, ``change``."""
    dimension: str | None
    by_dimension: tuple[dict[str, Any], ...]
    """Per value of ``dimension`` over the whole range, largest change first."""
    used_by: dict[str, list[str]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "label": self.label,
            "unit": self.unit,
            "diff": self.diff,
            "periods": list(self.periods),
            "dimension": self.dimension,
            "by_dimension": list(self.by_dimension),
            "used_by": self.used_by,
        }


def definition_text(catalogue: Catalogue, metric: str) -> str:
    """A metric's definition as YAML (the fields people write), for the diff."""
    if metric not in catalogue:
        return ""
    spec = catalogue[metric]
    data = spec.model_dump(mode="json", exclude_defaults=True, exclude={"source", "path"})
    data = {"id": spec.id, **{k: v for k, v in data.items() if k != "id"}}
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def impact(
    metrics: MetricsComponent,
    proposed: Catalogue,
    metric: str,
    *,
    months: int = 12,
    used_by: dict[str, list[str]] | None = None,
) -> Impact:
    """The proposal's effect on ``metric`` over the last ``months`` complete months."""
    before_cat = metrics.catalogue
    as_of = metrics.as_of()
    fy = 1
    last = P.floor(as_of.date(), "month", fy) - dt.timedelta(days=1)
    first = P.shift(P.floor(last, "month", fy), "month", 1 - months)
    after = _values(metrics.using(proposed), metric, first, last, None)
    before = _values(metrics, metric, first, last, None) if metric in before_cat else {}
    periods = tuple(
        {
            "period": label,
            "before": before.get(label),
            "after": after.get(label),
            "change": _change(before.get(label), after.get(label)),
        }
        for label in sorted(set(before) | set(after))
    )
    dims = proposed.dimensions(metric)
    if metric in before_cat:
        dims = tuple(d for d in dims if d in before_cat.dimensions(metric))
    dimension = next((d for d in PREFERRED_DIMENSIONS if d in dims), dims[0] if dims else None)
    rows: list[dict[str, Any]] = []
    if dimension is not None:
        after_d = _values(metrics.using(proposed), metric, first, last, dimension)
        before_d = _values(metrics, metric, first, last, dimension) if metric in before_cat else {}
        rows = [
            {
                "value": value,
                "before": before_d.get(value),
                "after": after_d.get(value),
                "change": _change(before_d.get(value), after_d.get(value)),
            }
            for value in set(before_d) | set(after_d)
        ]
        rows.sort(key=lambda r: (-abs(r["change"] or 0.0), str(r["value"])))
    old, new = definition_text(before_cat, metric), definition_text(proposed, metric)
    diff = "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            fromfile=f"{metric} (agreed)" if old else "(new metric)",
            tofile=f"{metric} (proposed)",
        )
    )
    spec = proposed[metric]
    return Impact(
        metric=metric,
        label=spec.label,
        unit=spec.unit,
        diff=diff,
        periods=periods,
        dimension=dimension,
        by_dimension=tuple(rows),
        used_by=used_by or {},
    )


def dependents(catalogue: Catalogue, metric: str) -> list[str]:
    """Metrics computed from ``metric`` (ratios of it, derived formulas): they change too."""
    return sorted(s.id for s in catalogue if metric in s.references() and s.id != metric)


def _values(
    metrics: MetricsComponent,
    metric: str,
    first: dt.date,
    last: dt.date,
    dimension: str | None,
) -> dict[Any, float | None]:
    try:
        if dimension is None:
            result = metrics.query(metric, grain="month", start=first, end=last, totals=True)
            return {r["period_label"]: r["value"] for r in result.to_pylist() if r["is_total"]}
        result = metrics.query(
            metric, grain="all", start=first, end=last, by=dimension, totals=False
        )
        return {r[dimension]: r["value"] for r in result.to_pylist()}
    except MetricError:
        return {}


def _change(before: float | None, after: float | None) -> float | None:
    return None if before is None or after is None else after - before


def summary(rows: Sequence[dict[str, Any]]) -> str:
    """The largest change in a sentence (for notices)."""
    moved = [r for r in rows if r.get("change") is not None]
    if not moved:
        return "no period changes"
    top = max(moved, key=lambda r: abs(r["change"]))
    return f"largest change {top['change']:+.4g} in {top.get('period') or top.get('value')}"
