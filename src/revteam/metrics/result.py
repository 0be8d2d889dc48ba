"""The result of a metric query: one tidy Arrow table, with conversions at the edges.

Columns: ``period`` (first day), ``period_label``, one column per requested dimension,
``is_total`` (the row aggregates every dimension value of its period), ``metric``, ``owners``,
``unit``, ``value``, ``numerator``, ``denominator``, ``n`` (records behind the number),
``immature`` (a cohort younger than its window at the as-of time), ``age_days`` (age of the
cohort's youngest members) and ``window_days``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from revteam.exceptions import MetricQueryError, MissingDependencyError
from revteam.metrics import periods
from revteam.metrics.format import display, number
from revteam.metrics.placement import Unplaced
from revteam.metrics.plan import Query
from revteam.metrics.spec import MetricSpec

if TYPE_CHECKING:
    import pandas as pd

HTML_ROWS = 200


@dataclass(frozen=True)
class MetricResult:
    """Tidy KPI values; ``to_arrow()`` is the result itself, other formats are conversions."""

    table: pa.Table
    query: Query
    specs: Mapping[str, MetricSpec]
    as_of: dt.datetime
    currency: str = "USD"
    """The workspace currency, for showing money."""
    unplaced: tuple[Unplaced, ...] = ()
    """Per metric that needs an account, the records without one it could not place (deals
    it leaves out, or counts under ``(none)`` of an account dimension): see
    :mod:`revteam.metrics.placement`."""

    @property
    def notes(self) -> tuple[str, ...]:
        """What the numbers could not place, in words (``revteam kpis`` prints them)."""
        return tuple(u.note for u in self.unplaced)

    def to_arrow(self) -> pa.Table:
        return self.table

    def to_pandas(self) -> pd.DataFrame:
        frame: pd.DataFrame = self.table.to_pandas()
        return frame

    def to_polars(self) -> Any:
        try:
            import polars as pl  # type: ignore[import-not-found]
        except ImportError:
            raise MissingDependencyError("polars", "MetricResult.to_polars()") from None
        return pl.from_arrow(self.table)

    def to_pylist(self) -> list[dict[str, Any]]:
        return self.table.to_pylist()  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return int(self.table.num_rows)

    def totals(self) -> MetricResult:
        """Only the total rows (one per metric and period)."""
        import pyarrow.compute as pc

        return replace(self, table=self.table.filter(pc.field("is_total")))

    def headline(self, metric: str | None = None, **dims: str | None) -> dict[str, Any] | None:
        """The row a dashboard headlines: the newest complete and mature period of ``metric``.

        A period still running would look like a collapse and a cohort younger than its
        window has not had time to convert, so neither is headlined (the rule is
        :func:`revteam.metrics.periods.complete` and the ``immature`` flag; ``None`` when no
        period qualifies). Total rows unless ``dims`` name a group; ``metric`` may be left
        out when the result holds one metric.
        """
        ids = self.query.metrics
        chosen = metric if metric is not None else (ids[0] if len(ids) == 1 else None)
        if chosen not in ids:
            raise MetricQueryError("metric", chosen, f"one of {', '.join(ids)}")
        ready = [
            r for r in self._rows(chosen, dims) if not r["immature"] and self._complete(r["period"])
        ]
        return max(ready, key=lambda r: r["period"]) if ready else None

    def _rows(self, metric: str, dims: Mapping[str, str | None]) -> list[dict[str, Any]]:
        """The total rows of ``metric``, or with ``dims`` the rows of exactly that group."""
        if dims and set(dims) != set(self.query.by):
            raise MetricQueryError(
                "dimensions", sorted(dims), f"a value for each of {', '.join(self.query.by)}"
            )
        return [
            r
            for r in self.to_pylist()
            if r["metric"] == metric
            and (
                r["is_total"]
                if not dims
                else not r["is_total"] and all(r.get(d) == v for d, v in dims.items())
            )
        ]

    def _complete(self, start: dt.date) -> bool:
        q = self.query
        if q.whole:
            end = q.end_exclusive
            return end is None or end <= self.as_of.date() + dt.timedelta(days=1)
        return periods.complete(start, q.calendar, self.as_of)

    def value(self, metric: str, period: dt.date | str | None = None, **dims: str | None) -> Any:
        """One value of ``metric``: for ``period`` (default: the last one).

        The total, or with ``dims`` (a value for each ``by`` dimension) that group's.
        """
        rows = [
            r
            for r in self._rows(metric, dims)
            if period is None or r["period"] == period or r["period_label"] == period
        ]
        return rows[-1]["value"] if rows else None

    def __repr__(self) -> str:
        q = self.query
        return (
            f"<MetricResult {len(self)} rows: {', '.join(q.metrics)} by "
            f"{', '.join(q.by) or 'total'} per {q.grain}, as of {self.as_of:%Y-%m-%d %H:%M}>"
        )

    def _repr_html_(self) -> str:
        dims = list(self.query.by)
        head = ["metric", "owners", "period", *dims, "value", "numerator", "denominator", "n"]
        rows = []
        for r in self.to_pylist()[:HTML_ROWS]:
            spec = self.specs.get(r["metric"])
            unit = r["unit"]
            flag = (
                f' <span title="cohort younger than its {r["window_days"]}-day window">'
                f"⚠ immature ({r['age_days']} d)</span>"
                if r["immature"]
                else ""
            )
            cells = [
                html.escape(spec.label if spec else r["metric"]),
                html.escape(r["owners"]),
                html.escape(r["period_label"]),
                *("<i>total</i>" if r["is_total"] else html.escape(str(r[d])) for d in dims),
                display(r["value"], unit, currency=self.currency) + flag,
                number(r["numerator"]),
                number(r["denominator"]),
                number(r["n"]),
            ]
            style = ' style="font-weight:bold"' if r["is_total"] and dims else ""
            rows.append(f"<tr{style}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
        more = len(self) - HTML_ROWS
        foot = f"<p>… {more} more rows (use .to_pandas())</p>" if more > 0 else ""
        foot += "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        header = "".join(f"<th>{html.escape(h)}</th>" for h in head)
        return (
            f"<p>{html.escape(repr(self))}</p><table><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>{foot}"
        )
