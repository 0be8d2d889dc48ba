"""Reshaping metric results for the analyses: segment rows, series, pairs to compare."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numpy.typing import NDArray

from revteam.exceptions import InsufficientDataError, UnsupportedStatisticError
from revteam.metrics import periods
from revteam.metrics.request import DateLike
from revteam.stats._private import parse_period, segment_label
from revteam.stats.intervals import binomial_rows

Key = tuple[Any, ...]


def with_records(table: pa.Table) -> pa.Table:
    """Rows with a positive denominator: a period without records says nothing of the kind."""
    return table.filter(pc.greater(pc.fill_null(table["denominator"], 0), 0))


def is_binomial(table: pa.Table) -> bool:
    """Whether ``table`` is a rate of records: some rows have records, and all those are k of n.

    Rows without records are left out first, so one empty segment or period cannot turn a
    rate of records into a "ratio of amounts".
    """
    rows = with_records(table)
    return rows.num_rows > 0 and bool(binomial_rows(rows).all())


def binomial(metric: str, kind: str, table: pa.Table) -> pa.Table:
    """``table``'s rows with records; refuses rates that are not shares of records."""
    rows = with_records(table)
    if rows.num_rows and not is_binomial(rows):
        raise UnsupportedStatisticError(
            "This test", metric, f"{kind} of amounts", "rates of records (k of n)"
        )
    return rows


def baseline(against: DateLike, when: dt.date, g: periods.Grain, fy_start: int) -> dt.date:
    """The first day of the baseline period; a given date is floored in the fiscal calendar."""
    if against == "previous":
        return periods.shift(when, g, -1)
    if against == "last_year":
        return periods.year_ago(when, g)
    return periods.floor(parse_period(against, "against"), g, fy_start)


def rows_of(table: pa.Table, totals: bool) -> pa.Table:
    """Total rows (``totals``) or segment rows of a metric result."""
    mask = table["is_total"] if totals else pc.invert(table["is_total"])
    return table.filter(mask)


def immature(table: pa.Table) -> list[bool]:
    if "immature" not in table.column_names:
        return [False] * table.num_rows
    return [bool(v) for v in table["immature"].to_pylist()]


def by_key(table: pa.Table, dims: Sequence[str]) -> dict[tuple[dt.date, Key], dict[str, Any]]:
    return {(r["period"], tuple(r[d] for d in dims)): r for r in table.to_pylist()}


def segments(table: pa.Table, dims: Sequence[str]) -> dict[str, NDArray[np.int64]]:
    """The row indices of each segment (each combination of ``dims``' values), by label.

    Grouped by Arrow, not row by row in Python: cohorts of a million members are common.
    """
    if table.num_rows == 0:
        return {}
    rows = np.arange(table.num_rows, dtype=np.int64)
    if not dims:
        return {segment_label([]): rows}
    keyed = table.select(list(dims)).append_column("_row", pa.array(rows))
    grouped = keyed.group_by(list(dims), use_threads=False).aggregate([("_row", "list")])
    out: dict[str, NDArray[np.int64]] = {}
    for r in grouped.to_pylist():
        label = segment_label([r[d] for d in dims])
        found = np.asarray(r["_row_list"], dtype=np.int64)
        out[label] = np.sort(np.concatenate([out[label], found]) if label in out else found)
    return dict(sorted(out.items()))


def series(table: pa.Table, dims: Sequence[str], *, kind: str) -> pa.Table:
    """One row per segment and period, with the precision ``weight`` of each period's value.

    Counts and sums get 0 where a segment had no row; a count's weight is ``1/sqrt(count)``
    (Poisson), a mean's or median's ``sqrt(n)``.
    """
    fill_zero = kind in ("count", "sum")
    rows = by_key(table, dims)
    all_periods = sorted({p for p, _ in rows})
    keys = sorted({k for _, k in rows}, key=str)
    out: list[dict[str, Any]] = []
    for key in keys:
        for p in all_periods:
            row = rows.get((p, key))
            if row is None and not fill_zero:
                continue
            row = row or {"value": 0.0, "numerator": None, "denominator": None, "n": 0}
            out.append(
                {
                    "segment": segment_label(key),
                    "period": p,
                    "value": row["value"],
                    "numerator": row["numerator"],
                    "denominator": row["denominator"],
                    "n": row["n"],
                    "weight": _weight(kind, row["value"], row["n"]),
                }
                | dict(zip(dims, key, strict=True))
            )
    if not out:
        raise InsufficientDataError("Anomaly detection", "complete periods with data", "none")
    return pa.Table.from_pylist(out)


def _weight(kind: str, value: float | None, n: float | None) -> float:
    if kind == "count":
        return float(1 / np.sqrt(max(value or 0.0, 1.0)))
    if kind in ("mean", "median"):
        return float(np.sqrt(max(n or 0.0, 1.0)))
    return 1.0


def sample_pairs(
    samples: pa.Table, dims: Sequence[str], when: dt.date, base: dt.date, against: str
) -> tuple[list[str], list[Any], list[Any]]:
    groups: dict[tuple[dt.date, Key], list[float]] = defaultdict(list)
    for r in samples.to_pylist():
        groups[(r["period"], tuple(r[d] for d in dims))].append(r["value"])
    keys = sorted({k for p, k in groups if p == when}, key=str)
    if not keys:
        raise InsufficientDataError("A comparison", f"records in {when}", "none")
    labels, xs, ys = [], [], []
    for key in keys:
        labels.append(segment_label(key))
        xs.append(np.asarray(groups[(when, key)]))
        if against == "rest":
            ys.append(
                np.asarray(
                    [v for (p, k), vs in groups.items() if p == when and k != key for v in vs]
                )
            )
        else:
            ys.append(np.asarray(groups.get((base, key), [])))
    return labels, xs, ys


def concat(parts: list[pa.Table]) -> pa.Table:
    if not parts:
        raise InsufficientDataError("Cohort analysis", "cohort members", "none")
    return pa.concat_tables(parts, promote_options="default")


def rate_pairs(
    table: pa.Table, dims: Sequence[str], when: dt.date, base: dt.date, against: str
) -> tuple[list[str], list[tuple[float, float, float, float]]]:
    rows = by_key(rows_of(table, totals=not dims), dims)
    total = by_key(rows_of(table, totals=True), ()).get((when, ()), {})
    labels, cells = [], []
    for (p, key), row in sorted(rows.items(), key=lambda kv: str(kv[0][1])):
        if p != when:
            continue
        k, n = row.get("numerator") or 0.0, row.get("denominator") or 0.0
        if against == "rest":
            k0 = (total.get("numerator") or 0.0) - k
            n0 = (total.get("denominator") or 0.0) - n
        else:
            other = rows.get((base, key), {})
            k0, n0 = other.get("numerator") or 0.0, other.get("denominator") or 0.0
        labels.append(segment_label(key))
        cells.append((k, n, k0, n0))
    if not cells:
        raise InsufficientDataError("A comparison", f"data in {when}", "none")
    return labels, cells


def windows(
    when: dt.date, against: DateLike, g: periods.Grain, size: int, fy_start: int
) -> tuple[list[dt.date], list[dt.date]]:
    """The ``size`` periods from ``when`` on, and as many baseline periods."""
    after = [periods.shift(when, g, i) for i in range(size)]
    previous = against == "previous"
    start = periods.shift(when, g, -size) if previous else baseline(against, when, g, fy_start)
    return after, [periods.shift(start, g, i) for i in range(size)]


def pool(
    table: pa.Table, dims: Sequence[str], window: Sequence[dt.date]
) -> dict[Key, dict[str, float]]:
    """Numerators, denominators and values of each segment summed over ``window``."""
    out: dict[Key, dict[str, float]] = defaultdict(
        lambda: {"numerator": 0.0, "denominator": 0.0, "value": 0.0}
    )
    wanted = set(window)
    for row in table.to_pylist():
        if row["period"] in wanted:
            cell = out[tuple(row[d] for d in dims)]
            for c in cell:
                cell[c] += float(row.get(c) or 0.0)
    return dict(out)


def pooled_value(cell: dict[str, float], ratio: bool) -> float | None:
    if not cell:
        return None
    if not ratio:
        return cell["value"]
    return cell["numerator"] / cell["denominator"] if cell["denominator"] else None


def span_label(window: Sequence[dt.date], g: periods.Grain, fy_start: int) -> str:
    """``first..last`` label of a pooled window (one label for one period)."""
    first, last = periods.label(window[0], g, fy_start), periods.label(window[-1], g, fy_start)
    return first if first == last else f"{first}..{last}"


def change_meta(
    metric: str, unit: str, labels: tuple[str, str], values: tuple[float | None, float | None]
) -> dict[str, Any]:
    """What a driver table records about the change it splits."""
    before, after = values
    change = None if before is None or after is None else after - before
    return {
        "metric": metric,
        "unit": unit,
        "baseline_period": labels[0],
        "period": labels[1],
        "value_before": before,
        "value_after": after,
        "change": change,
    }
