"""Helpers shared by the statistics modules: option checks, array and table plumbing."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import stats as sps  # type: ignore[import-untyped]

from revteam.exceptions import StatsOptionError

Float = npt.NDArray[np.float64]
Bool = npt.NDArray[np.bool_]
META_KEY = b"revteam.stats"
"""Schema-metadata key under which analyses store what they were asked (JSON)."""


def check_level(level: float) -> float:
    if not isinstance(level, int | float) or not 0.5 <= float(level) < 1:
        raise StatsOptionError("level", level, "a confidence level from 0.5 to below 1, e.g. 0.95")
    return float(level)


def check_alpha(alpha: float) -> float:
    if not isinstance(alpha, int | float) or not 0 < float(alpha) < 0.5:
        raise StatsOptionError("alpha", alpha, "a significance level above 0 and below 0.5")
    return float(alpha)


def z_value(level: float) -> float:
    """The two-sided standard-normal quantile of a confidence level (1.96 for 0.95)."""
    return float(sps.norm.ppf(0.5 + check_level(level) / 2))


def floats(values: Any) -> Float:
    """A float array from a sequence, Arrow array or column (nulls become NaN)."""
    if isinstance(values, pa.ChunkedArray | pa.Array):
        values = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def is_count(values: Float) -> Bool:
    """Where a number is a non-negative whole count (the parts of a binomial rate)."""
    with np.errstate(invalid="ignore"):
        ok: Bool = np.isfinite(values) & (values >= 0) & (values == np.round(values))
    return ok


def nullable(values: Float) -> pa.Array:
    """A float64 Arrow array with NaN turned into null."""
    return pa.array(values, type=pa.float64(), from_pandas=True)


def with_meta(table: pa.Table, meta: Mapping[str, Any]) -> pa.Table:
    """``table`` carrying ``meta`` (JSON) in its schema, for summaries and the CLI."""
    old = dict(table.schema.metadata or {})
    old[META_KEY] = json.dumps(meta, default=str).encode()
    return table.replace_schema_metadata(old)


def meta_of(table: pa.Table) -> dict[str, Any]:
    """What :func:`with_meta` stored (empty when nothing was)."""
    raw = (table.schema.metadata or {}).get(META_KEY)
    return dict(json.loads(raw)) if raw else {}


def segment_label(values: Sequence[Any]) -> str:
    """A readable name of a segment's dimension values (``(none)`` for the empty group)."""
    if not values:
        return "total"
    return " · ".join("(none)" if v is None else str(v) for v in values)


_PERIOD = re.compile(r"^(\d{4})(?:-(?:(\d{2})|W(\d{2})|Q([1-4])))?$")


def parse_period(value: object, option: str = "period") -> dt.date:
    """A period's first day from a date or a label: 2026-03-14, 2026-03, 2026-W10, 2026-Q1, 2026.

    Quarters and years are calendar ones here; the caller floors the day to its grain.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        pass
    match = _PERIOD.match(text)
    if match:
        year, month, week, quarter = match.groups()
        if week:
            try:
                return dt.date.fromisocalendar(int(year), int(week), 1)
            except ValueError:  # week 0, or 53 of a year of 52
                raise StatsOptionError(
                    option, value, "a week the year has, e.g. 2026-W10"
                ) from None
        first = int(month) if month else (int(quarter) - 1) * 3 + 1 if quarter else 1
        if 1 <= first <= 12:
            return dt.date(int(year), first, 1)
    raise StatsOptionError(option, value, "a date or period such as 2026-03-14, 2026-03, 2026-W10")
