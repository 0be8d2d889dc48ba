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

SCORECARD = "_scorecard"
"""The subject of a scorecard proposal (``revteam.proposals.store.SCORECARD``)."""

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
    moves: tuple[dict[str, Any], ...] = ()
    """For the scorecard: each metric added, removed, moved or given another owner, with its
    latest complete month (``metric``, ``label``, ``change``, ``before``, ``after``, ``value``)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "moves": list(self.moves),
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


def scorecard_text(catalogue: Catalogue) -> str:
    """The scorecard as YAML (sections, metrics, owners), for the diff."""
    if catalogue.scorecard is None:
        sections = [{"title": t, "metrics": list(ids)} for t, ids in catalogue.scorecard_sections()]
    else:
        sections = catalogue.scorecard.model_dump(mode="json", exclude_none=True)["sections"]
        for sec in sections:
            sec["metrics"] = [i["metric"] if len(i) == 1 else i for i in sec["metrics"]]
    return yaml.safe_dump({"sections": sections}, sort_keys=False, allow_unicode=True)


def scorecard_impact(
    metrics: MetricsComponent, proposed: Catalogue, *, used_by: dict[str, list[str]]
) -> Impact:
    """What a scorecard proposal changes: which KPIs join, leave, move or change owner.

    Each with its value for the last complete month, so both teams see what the Overview
    would start or stop showing.
    """
    before_cat = metrics.catalogue
    old = {
        m: (i, before_cat.scorecard_owner(m)) for i, m in enumerate(before_cat.scorecard_metrics())
    }
    new = {m: (i, proposed.scorecard_owner(m)) for i, m in enumerate(proposed.scorecard_metrics())}
    moves: list[dict[str, Any]] = []
    for m in [*new, *(m for m in old if m not in new)]:
        if m not in old:
            change, before, after = "added", None, f"#{new[m][0] + 1} ({new[m][1]})"
        elif m not in new:
            change, before, after = "removed", f"#{old[m][0] + 1} ({old[m][1]})", None
        elif old[m] == new[m]:
            continue
        else:
            change = "owner" if old[m][1] != new[m][1] else "moved"
            before, after = f"#{old[m][0] + 1} ({old[m][1]})", f"#{new[m][0] + 1} ({new[m][1]})"
        moves.append(
            {
                "metric": m,
                "label": proposed[m].label,
                "unit": proposed[m].unit,
                "change": change,
                "before": before,
                "after": after,
            }
        )
    as_of = metrics.as_of()
    last = P.floor(as_of.date(), "month", 1) - dt.timedelta(days=1)
    first = P.floor(last, "month", 1)
    latest: dict[str, float | None] = {}
    asked = [mv["metric"] for mv in moves if mv["change"] in ("added", "removed")]
    if asked:
        try:
            result = metrics.query(asked, grain="month", start=first, end=last, totals=True)
            latest = {r["metric"]: r["value"] for r in result.to_pylist() if r["is_total"]}
        except MetricError:
            latest = {}
    for mv in moves:
        mv["value"] = latest.get(mv["metric"])
    diff = "".join(
        difflib.unified_diff(
            scorecard_text(before_cat).splitlines(keepends=True),
            scorecard_text(proposed).splitlines(keepends=True),
            fromfile="scorecard (agreed)",
            tofile="scorecard (proposed)",
        )
    )
    return Impact(
        metric=SCORECARD,
        label="Shared scorecard",
        unit="",
        diff=diff,
        periods=(),
        dimension=None,
        by_dimension=(),
        used_by=used_by,
        moves=tuple(moves),
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
