"""Confidence intervals for KPI values: how sure each number is, next to the number.

A rate from 3 leads and one from 3,000 must not look equally certain. :func:`add_intervals`
appends ``ci_low``, ``ci_high``, ``ci_method`` and ``small_sample`` to a metric result:

* **binomial rates** (cohort rates, win rate, e-mail rates: rows whose numerator and
  denominator are whole counts with ``numerator ≤ denominator`` and ``n == denominator``) get a
  Wilson score interval (default) or a Jeffreys interval;
* **means** (average deal size, CLV, mean cycle length) get a Student-t interval and **medians**
  (sales cycle, speed to lead, time to revenue) a percentile-bootstrap interval, both computed
  from the per-record values of the same request (``values``; see
  :func:`revteam.stats.result_intervals`, which fetches them);
* counts, sums, snapshots, money ratios and derived metrics get none: a count is a tally, not
  an estimate, and a ratio of money sums is not a share of records.

``small_sample`` is true when an interval rests on fewer than ``min_n`` records (default
:data:`MIN_N` = 30, the usual floor below which normal approximations and readers' intuition
both fail).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats as sps  # type: ignore[import-untyped]

from revteam.exceptions import StatsOptionError
from revteam.stats._private import (
    Bool,
    Float,
    check_level,
    floats,
    is_count,
    nullable,
    z_value,
)

MIN_N = 30
"""Records below which an interval is marked ``small_sample``."""
N_RESAMPLES = 2000
"""Bootstrap resamples per median interval."""
RATE_METHODS = ("wilson", "jeffreys")
CI_COLUMNS = ("ci_low", "ci_high", "ci_method", "small_sample")
RECORD_KEYS = ("metric", "statistic", "period", "value")
"""Columns of a ``values`` table besides the dimension columns."""

RateMethod = Literal["wilson", "jeffreys"]


def wilson_interval(k: object, n: object, level: float = 0.95) -> tuple[Float, Float]:
    """Wilson score interval of a binomial proportion ``k / n`` (NaN where ``n`` is 0).

    It inverts the score test, so it stays inside [0, 1] and keeps close to its nominal
    coverage even for small ``n`` or rates near 0 and 1, where the Wald interval fails.

    References
    ----------
    Wilson, E. B. (1927). Probable inference, the law of succession, and statistical
    inference. *JASA* 22(158), 209-212.
    """
    k, n, z = floats(k), floats(n), z_value(level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = k / n
        centre = (k + z**2 / 2) / (n + z**2)
        half = z / (n + z**2) * np.sqrt(n * p * (1 - p) + z**2 / 4)
        low, high = np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)
    bad = ~(n > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def jeffreys_interval(k: object, n: object, level: float = 0.95) -> tuple[Float, Float]:
    """Equal-tailed Jeffreys interval: quantiles of the Beta(k + ½, n - k + ½) posterior.

    The lower limit is 0 when ``k = 0`` and the upper 1 when ``k = n``.

    References
    ----------
    Brown, L. D., Cai, T. T., DasGupta, A. (2001). Interval estimation for a binomial
    proportion. *Statistical Science* 16(2), 101-133.
    """
    k, n = floats(k), floats(n)
    tail = (1 - check_level(level)) / 2
    with np.errstate(invalid="ignore"):
        low = sps.beta.ppf(tail, k + 0.5, n - k + 0.5)
        high = sps.beta.isf(tail, k + 0.5, n - k + 0.5)
    low, high = np.where(k == 0, 0.0, low), np.where(k == n, 1.0, high)
    bad = ~(n > 0)
    return np.where(bad, np.nan, low), np.where(bad, np.nan, high)


def proportion_interval(
    k: object, n: object, level: float = 0.95, method: RateMethod = "wilson"
) -> tuple[Float, Float]:
    """The interval of ``method`` (``wilson`` or ``jeffreys``) for proportions ``k / n``."""
    if method == "wilson":
        return wilson_interval(k, n, level)
    if method == "jeffreys":
        return jeffreys_interval(k, n, level)
    raise StatsOptionError("method", method, f"one of {', '.join(RATE_METHODS)}")


def t_interval(values: object, level: float = 0.95) -> tuple[float, float]:
    """Student-t interval of a mean, ``x̄ ± t(n-1) s / √n`` (NaN for fewer than 2 values).

    References
    ----------
    Student (1908). The probable error of a mean. *Biometrika* 6(1), 1-25.
    """
    x = floats(values)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return np.nan, np.nan
    half = sps.t.ppf(0.5 + check_level(level) / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def resampled_medians(
    x: Float, n_resamples: int = N_RESAMPLES, rng: np.random.Generator | None = None
) -> Float:
    """Medians of ``n_resamples`` resamples (with replacement) of ``x``.

    Resamples are drawn in batches of at most about two million values, so a large sample
    does not need an ``n_resamples x n`` index matrix in memory.
    """
    rng = rng or np.random.default_rng(0)
    chunk = max(1, 2_000_000 // max(x.size, 1))
    return np.concatenate(
        [
            np.median(
                x[rng.integers(0, x.size, size=(min(chunk, n_resamples - i), x.size))], axis=1
            )
            for i in range(0, n_resamples, chunk)
        ]
    )


def bootstrap_interval(
    values: object,
    level: float = 0.95,
    *,
    n_resamples: int = N_RESAMPLES,
    rng: np.random.Generator | None = None,
) -> tuple[float, float]:
    """Percentile-bootstrap interval of the median of ``values``.

    Resamples with replacement ``n_resamples`` times and takes the central ``level`` share of
    the resampled statistics; no distributional assumption, which suits skewed durations.

    References
    ----------
    Efron, B. (1979). Bootstrap methods: another look at the jackknife. *Annals of
    Statistics* 7(1), 1-26.
    """
    x = floats(values)
    x = x[np.isfinite(x)]
    if x.size < 2:
        return np.nan, np.nan
    tail = (1 - check_level(level)) / 2
    low, high = np.quantile(resampled_medians(x, n_resamples, rng), [tail, 1 - tail])
    return float(low), float(high)


def binomial_rows(table: pa.Table) -> Bool:
    """Rows of a metric result that are binomial proportions of whole records."""
    num, den = floats(table["numerator"]), floats(table["denominator"])
    n = floats(table["n"]) if "n" in table.column_names else den
    unit = np.asarray(table["unit"].to_pylist()) if "unit" in table.column_names else None
    with np.errstate(invalid="ignore"):
        ok: Bool = (
            is_count(num) & is_count(den) & (den > 0) & (num <= den) & ((n == den) | np.isnan(n))
        )
    if unit is not None:
        ok &= unit == "percent"
    return ok


def add_intervals(
    table: pa.Table,
    *,
    level: float = 0.95,
    method: RateMethod = "wilson",
    values: pa.Table | None = None,
    min_n: int = MIN_N,
    n_resamples: int = N_RESAMPLES,
    seed: int = 0,
) -> pa.Table:
    """``table`` (a metric result) with ``ci_low``, ``ci_high``, ``ci_method``, ``small_sample``.

    Parameters
    ----------
    table
        A tidy metric result (``metric``, ``unit``, ``value``, ``numerator``, ``denominator``,
        ``n``; ``period``, ``is_total`` and dimension columns where mean/median rows need them).
    level
        Confidence level of every interval.
    method
        Interval of binomial rates: ``wilson`` (default) or ``jeffreys``.
    values
        Per-record values of mean and median metrics: columns ``metric``, ``statistic``
        (``mean`` or ``median``), ``period``, ``value`` and the result's dimension columns.
        Total rows use every record of their period.
    min_n
        Records below which ``small_sample`` is set.
    n_resamples, seed
        Bootstrap size and seed (fixed, so the same request gives the same interval).
    """
    check_level(level)
    table = table.drop_columns([c for c in CI_COLUMNS if c in table.column_names])
    rows = table.num_rows
    low, high = np.full(rows, np.nan), np.full(rows, np.nan)
    methods: list[str | None] = [None] * rows
    sizes = np.full(rows, np.nan)
    binom = binomial_rows(table)
    if binom.any():
        k, n = floats(table["numerator"])[binom], floats(table["denominator"])[binom]
        low[binom], high[binom] = proportion_interval(k, n, level, method)
        sizes[binom] = n
        for j in np.flatnonzero(binom).tolist():
            methods[j] = method
    if values is not None and values.num_rows:
        rng = np.random.default_rng(seed)
        for i, (x, stat) in _record_groups(table, values).items():
            if stat == "mean":
                low[i], high[i] = t_interval(x, level)
                methods[i] = "t"
            else:
                low[i], high[i] = bootstrap_interval(x, level, n_resamples=n_resamples, rng=rng)
                methods[i] = "bootstrap"
            sizes[i] = np.isfinite(x).sum()
    small = pa.array(
        [None if m is None else bool(s < min_n) for m, s in zip(methods, sizes, strict=True)],
        type=pa.bool_(),
    )
    return (
        table.append_column("ci_low", nullable(low))
        .append_column("ci_high", nullable(high))
        .append_column("ci_method", pa.array(methods, type=pa.string()))
        .append_column("small_sample", small)
    )


def _record_groups(table: pa.Table, values: pa.Table) -> dict[int, tuple[Float, str]]:
    """Result row index → (its records' values, statistic), for mean and median rows."""
    dims = [c for c in values.column_names if c not in RECORD_KEYS]
    grouped = _lists(values, ["metric", "statistic", "period", *dims])
    totals = _lists(values, ["metric", "statistic", "period"])
    stat_of = {str(key[0]): str(key[1]) for key in totals}
    out: dict[int, tuple[Float, str]] = {}
    is_total = table["is_total"].to_pylist() if "is_total" in table.column_names else None
    cols = {c: table[c].to_pylist() for c in ("metric", "period", *dims)}
    for i in range(table.num_rows):
        metric = cols["metric"][i]
        if metric not in stat_of:
            continue
        stat = stat_of[metric]
        if not dims or (is_total is not None and is_total[i]):
            x = totals.get((metric, stat, cols["period"][i]))
        else:
            key = (metric, stat, cols["period"][i], *(cols[d][i] for d in dims))
            x = grouped.get(key)
        if x is not None:
            out[i] = (x, stat)
    return out


def _lists(values: pa.Table, keys: Iterable[str]) -> dict[tuple[object, ...], Float]:
    keys = list(keys)
    clean = values.filter(pc.is_valid(values["value"]))
    agg = clean.group_by(keys, use_threads=False).aggregate([("value", "list")])
    names = [agg[k].to_pylist() for k in keys]
    lists = agg["value_list"].to_pylist()
    return {tuple(col[j] for col in names): floats(lists[j]) for j in range(agg.num_rows)}
