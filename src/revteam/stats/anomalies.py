"""Anomalies in a KPI's time series: which periods moved more than noise allows, and how much.

Two detectors, chosen by what the numbers are:

* **Rates of records** (``k`` of ``n``) are tested with the binomial likelihood ratio, which
  uses each period's own denominator: 30 % of 10 MQLs is unremarkable, 30 % of 1,000 may not
  be. Each period is scored twice: as a **spike** (the period alone against the pooled rate of
  the ``window`` periods before it) and as the start of a **shift** (the ``window`` periods
  from it on, pooled, against the ``window`` before). A lasting change in a small segment is
  rarely visible in one period but clear over several; of consecutive significant shift
  starts only the strongest is kept, which locates the change. Extra-binomial variation is
  absorbed by an overdispersion factor estimated robustly over all series (the median of the
  spike statistics over its null value 0.455), in the spirit of Farrington et al. (1996).
* **Everything else** (counts, sums, means, medians) gets a robust baseline: a robust STL
  decomposition when the series holds two seasonal cycles (52 weeks, 12 months, 4 quarters,
  7 days), else a Theil-Sen trend over the trailing ``window`` (its median while fewer
  periods precede); residuals are weighted by
  the period's precision (``sqrt(n)`` for means and medians, ``1/sqrt(value)`` for counts,
  as Poisson noise grows with the count) and scaled by their median absolute deviation.

Two-sided p-values of every series, period and test are adjusted together with
Benjamini-Hochberg, and a row is flagged when its adjusted value is below ``alpha`` (default
0.01: alerts are read by busy people, so a false alarm costs more than a late one).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
from scipy import stats as sps  # type: ignore[import-untyped]
from scipy.special import xlogy  # type: ignore[import-untyped]

from revteam.exceptions import StatsOptionError
from revteam.stats._private import Float, check_alpha, floats, nullable
from revteam.stats.compare import benjamini_hochberg

ALPHA = 0.01
"""Default false-discovery rate of flagged periods."""
WINDOWS = {"day": 28, "week": 13, "month": 6, "quarter": 4, "year": 3}
"""Baseline (and shift) length per grain, in periods."""
SEASONS = {"day": 7, "week": 52, "month": 12, "quarter": 4}
"""Seasonal period per grain for the STL decomposition."""
MIN_HISTORY = 3
"""Periods of history needed before a period is scored."""
NULL_MEDIAN_CHI2 = float(sps.chi2.median(1))
"""Median of a chi-square with one degree of freedom (the statistics' value with no anomaly)."""
MEAN_AD_SCALE = float(np.sqrt(np.pi / 2))
"""Makes the mean absolute deviation a consistent estimate of a normal standard deviation;
the fallback when the MAD is 0."""

Method = Literal["binomial", "robust"]
METHODS: tuple[str, ...] = ("binomial", "robust")
Ints = npt.NDArray[np.int64]


def binomial_lr(k1: object, n1: object, k0: object, n0: object) -> Float:
    """Signed root of the likelihood-ratio statistic for ``k1/n1`` against ``k0/n0``.

    Under no difference its square is asymptotically chi-square with one degree of freedom.
    """
    k1, n1, k0, n0 = floats(k1), floats(n1), floats(k0), floats(n0)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p0, p = k1 / n1, k0 / n0, (k1 + k0) / (n1 + n0)

        def loglik(k: Float, n: Float, q: Float) -> Float:
            out: Float = xlogy(k, q) + xlogy(n - k, 1 - q)
            return out

        g = 2 * (loglik(k1, n1, p1) + loglik(k0, n0, p0) - loglik(k1 + k0, n1 + n0, p))
        return np.sign(p1 - p0) * np.sqrt(np.maximum(g, 0.0))


def rate_scores(
    k: object,
    n: object,
    *,
    window: int = 6,
    horizon: int = 1,
    min_history: int = MIN_HISTORY,
) -> tuple[Float, Float, Float]:
    """Rate before, rate from each period on (``horizon`` periods pooled), and signed LR root.

    Periods with ``n = 0`` and those with fewer than ``min_history`` earlier periods get NaN.

    References
    ----------
    Farrington, C. P., Andrews, N. J., Beale, A. D., Catchpole, M. A. (1996). A statistical
    algorithm for the early detection of outbreaks of infectious disease. *JRSS A* 159(3),
    547-563.
    """
    k, n = floats(k), floats(n)
    before, after = np.full(k.size, np.nan), np.full(k.size, np.nan)
    k1, n1, k0, n0 = (np.zeros(k.size) for _ in range(4))
    valid = np.flatnonzero(n > 0)
    for j, t in enumerate(valid):
        past, ahead = valid[max(0, j - window) : j], valid[j : j + horizon]
        if past.size < min_history:
            continue
        k0[t], n0[t], k1[t], n1[t] = k[past].sum(), n[past].sum(), k[ahead].sum(), n[ahead].sum()
        before[t], after[t] = k0[t] / n0[t], k1[t] / n1[t]
    z = np.where(np.isfinite(before), binomial_lr(k1, n1, k0, n0), np.nan)
    return before, after, z


def robust_scores(
    y: object,
    *,
    weights: object = None,
    season: int | None = None,
    window: int = 6,
    min_history: int = MIN_HISTORY,
) -> tuple[Float, Float]:
    """Expected value and robust z-score (residual ÷ scaled MAD) of each period.

    ``weights`` put residuals of unequally precise periods on one scale before the MAD: e.g.
    ``sqrt(n)`` for a mean or median of ``n`` records, so a month of 5 deals is not held to
    the standard of a month of 500.

    References
    ----------
    Cleveland, R. B., Cleveland, W. S., McRae, J. E., Terpenning, I. (1990). STL: a
    seasonal-trend decomposition procedure based on loess. *Journal of Official Statistics*
    6(1), 3-73.
    Sen, P. K. (1968). Estimates of the regression coefficient based on Kendall's tau. *JASA*
    63(324), 1379-1389.
    """
    expected, resid = _residuals(floats(y), weights, season, window, min_history)
    with np.errstate(invalid="ignore", divide="ignore"):
        return expected, resid / _scale(resid)


def _residuals(
    x: Float, weights: object, season: int | None, window: int, min_history: int
) -> tuple[Float, Float]:
    expected = np.full(x.size, np.nan)
    ok = np.flatnonzero(np.isfinite(x))
    if season and ok.size >= 2 * season + 1:
        from statsmodels.tsa.seasonal import STL  # type: ignore[import-untyped]

        fit = STL(x[ok], period=season, robust=True).fit()
        expected[ok] = fit.trend + fit.seasonal
    else:
        for j, t in enumerate(ok):
            past = ok[max(0, j - window) : j]
            if past.size >= window:  # a trend only from a full window: 3 points extrapolate wildly
                slope, intercept, *_ = sps.theilslopes(x[past], past)
                expected[t] = intercept + slope * t
            elif past.size >= min_history:
                expected[t] = np.median(x[past])
    if np.all(x[ok] >= 0):  # a count, sum or duration is never expected below zero
        expected = np.maximum(expected, 0.0)
    return expected, (x - expected) * (1.0 if weights is None else floats(weights))


def _scale(resid: Float) -> float:
    """Robust spread of residuals: scaled MAD, or the mean deviation when the MAD is 0."""
    finite = resid[np.isfinite(resid)]
    if not finite.size:
        return np.nan
    scale = float(sps.median_abs_deviation(finite, scale="normal"))
    if scale > 0:
        return scale
    return MEAN_AD_SCALE * float(np.mean(np.abs(finite - np.median(finite)))) or np.nan


def find_anomalies(
    series: pa.Table,
    *,
    method: Method = "binomial",
    grain: str = "month",
    alpha: float = ALPHA,
    window: int | None = None,
) -> pa.Table:
    """Score every period of every series and flag the anomalies.

    ``series`` has ``segment``, ``period`` and ``value`` columns (plus ``numerator`` and
    ``denominator`` for ``method="binomial"``, and optionally ``weight`` for ``robust``; see
    :func:`robust_scores`), one row per segment and period. Returns the
    scored rows with ``kind`` (``spike`` or ``shift``), ``expected`` (the baseline),
    ``level`` (the period's value, or the pooled rate from it on for a shift), ``change``,
    ``relative_change``, ``z``, ``p_value``, ``p_adjusted`` (over all rows and both tests),
    ``direction`` and ``flagged``.
    """
    alpha = check_alpha(alpha)
    if method not in METHODS:
        raise StatsOptionError("method", method, f"one of {', '.join(METHODS)}")
    window = window or WINDOWS.get(grain, 6)
    series = series.sort_by([("segment", "ascending"), ("period", "ascending")])
    runs = _runs(series["segment"].to_pylist())
    if method == "binomial":
        k, n = series["numerator"], series["denominator"]
        spike = _per_series(runs, lambda i: rate_scores(k.take(i), n.take(i), window=window))
        shift = _per_series(
            runs, lambda i: rate_scores(k.take(i), n.take(i), window=window, horizon=window)
        )
        phi = _overdispersion(spike[2])
        tests = [
            ("spike", spike[0], spike[1], spike[2] / np.sqrt(phi)),
            ("shift", shift[0], shift[1], shift[2] / np.sqrt(phi)),
        ]
    else:
        value = floats(series["value"])
        w = floats(series["weight"]) if "weight" in series.column_names else np.ones(value.size)
        season = SEASONS.get(grain)
        expected, resid = _per_series(
            runs, lambda i: _residuals(value[i], w[i], season, window, MIN_HISTORY)
        )
        # Weighted residuals are on one scale across series: pool them for a stabler spread.
        pooled = "weight" in series.column_names
        scales = [_scale(resid) if pooled else _scale(resid[r]) for r in runs]
        z = np.full(resid.size, np.nan)
        for r, scale in zip(runs, scales, strict=True):
            with np.errstate(invalid="ignore", divide="ignore"):
                z[r] = resid[r] / scale
        tests = [("spike", expected, value, z)]
    p_all = [2 * sps.norm.sf(np.abs(z)) for *_, z in tests]
    adjusted = np.split(benjamini_hochberg(np.concatenate(p_all)), len(tests))
    flags = [np.isfinite(a) & (a < alpha) for a in adjusted]
    if len(tests) == 2:
        flags[1] = flags[1] & _strongest(runs, tests[1][3], flags[1])
    return _choose(series, tests, p_all, adjusted, flags)


def _choose(
    series: pa.Table,
    tests: list[tuple[str, Float, Float, Float]],
    p_all: list[Float],
    adjusted: list[Float],
    flags: list[npt.NDArray[np.bool_]],
) -> pa.Table:
    """Per row, the flagged test (a shift before a spike), else the most significant one."""
    rows = series.num_rows
    pick = np.zeros(rows, dtype=int)
    if len(tests) == 2:
        spike_better = np.nan_to_num(p_all[0], nan=2.0) <= np.nan_to_num(p_all[1], nan=2.0)
        pick = np.where(flags[1], 1, np.where(flags[0] | spike_better, 0, 1))
    idx = np.arange(rows)

    def take(arrays: Sequence[npt.NDArray[np.generic]]) -> Float:
        return np.stack(arrays)[pick, idx].astype(np.float64)

    expected, level = take([t[1] for t in tests]), take([t[2] for t in tests])
    z = take([t[3] for t in tests])
    change = level - expected
    with np.errstate(invalid="ignore", divide="ignore"):
        relative = np.where(expected != 0, change / np.abs(expected), np.nan)
    direction = [None if not np.isfinite(c) else "up" if c > 0 else "down" for c in change]
    out = (
        series.append_column("kind", pa.array([tests[i][0] for i in pick], type=pa.string()))
        .append_column("expected", nullable(expected))
        .append_column("level", nullable(level))
        .append_column("change", nullable(change))
        .append_column("relative_change", nullable(relative))
        .append_column("z", nullable(z))
        .append_column("p_value", nullable(take(p_all)))
        .append_column("p_adjusted", nullable(take(adjusted)))
        .append_column("direction", pa.array(direction, type=pa.string()))
        .append_column("flagged", pa.array(take(flags) > 0))
    )
    return out.filter(pc.is_valid(out["p_value"]))


def _per_series(runs: list[Ints], score: Callable[[Ints], tuple[Float, ...]]) -> list[Float]:
    """Apply ``score(indices)`` to every series and stitch its output arrays together."""
    size = sum(r.size for r in runs)
    parts = [score(r) for r in runs]
    out = []
    for c in range(len(parts[0]) if parts else 0):
        col = np.full(size, np.nan)
        for r, part in zip(runs, parts, strict=True):
            col[r] = part[c]
        out.append(col)
    return out


def _strongest(runs: list[Ints], z: Float, flagged: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Keep only the largest |z| of each run of consecutive flagged periods of one direction."""
    keep = np.zeros(z.size, dtype=bool)
    for idx in runs:
        best = -1
        for pos, i in enumerate(idx.tolist()):
            same = best >= 0 and np.sign(z[i]) == np.sign(z[best])
            if flagged[i] and same and pos and flagged[idx[pos - 1]]:
                if abs(z[i]) > abs(z[best]):
                    keep[best], keep[i], best = False, True, i
            elif flagged[i]:
                keep[i], best = True, i
            else:
                best = -1
    return keep


def _overdispersion(z: Float) -> float:
    finite = z[np.isfinite(z)]
    if finite.size < 8:
        return 1.0
    return max(1.0, float(np.median(finite**2)) / NULL_MEDIAN_CHI2)


def _runs(labels: Sequence[object]) -> list[Ints]:
    """Index arrays of consecutive equal labels (the series of a sorted table)."""
    out: list[list[int]] = []
    for i, label in enumerate(labels):
        if i and label == labels[i - 1]:
            out[-1].append(i)
        else:
            out.append([i])
    return [np.asarray(r, dtype=np.int64) for r in out]
