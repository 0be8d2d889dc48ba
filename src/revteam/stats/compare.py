"""Is a difference real? Tests of a segment against the rest or an earlier period.

Rates are compared with the pooled two-proportion z-test, or Fisher's exact test when an
expected cell count is below 5 (where the normal approximation is poor); durations with
Welch's t-test (means) or the Mann-Whitney U test (medians). When many segments are tested at
once, p-values are adjusted with the Benjamini-Hochberg procedure, and a row says "significant
change" only when its *adjusted* p-value is below ``alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import pyarrow as pa
from scipy import stats as sps  # type: ignore[import-untyped]

from revteam.exceptions import StatsOptionError
from revteam.stats._private import Float, check_alpha, check_level, floats, nullable
from revteam.stats.intervals import MIN_N, N_RESAMPLES, resampled_medians, wilson_interval

MIN_EXPECTED = 5.0
"""Smallest expected cell count for the z-test; below it Fisher's exact test is used."""

Statistic = Literal["mean", "median"]
STATISTICS: tuple[str, ...] = ("mean", "median")


def two_proportion_ztest(k1: object, n1: object, k2: object, n2: object) -> tuple[Float, Float]:
    """Pooled two-proportion z statistic and two-sided p-value (vectorised).

    Where both rates are 0 or both 1 there is no evidence of a difference: z = 0, p = 1.
    """
    k1, n1, k2, n2 = floats(k1), floats(n1), floats(k2), floats(n2)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = (k1 + k2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where(se > 0, (k1 / n1 - k2 / n2) / se, 0.0)
    z = np.where((n1 > 0) & (n2 > 0), z, np.nan)
    return z, 2 * sps.norm.sf(np.abs(z))


def fisher_exact_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float]:
    """Odds ratio and two-sided p-value of Fisher's exact test on the 2x2 table.

    References
    ----------
    Fisher, R. A. (1922). On the interpretation of χ² from contingency tables, and the
    calculation of P. *JRSS* 85(1), 87-94.
    """
    res = sps.fisher_exact([[k1, n1 - k1], [k2, n2 - k2]])
    return float(res.statistic), float(res.pvalue)


def newcombe_interval(
    k1: object, n1: object, k2: object, n2: object, level: float = 0.95
) -> tuple[Float, Float]:
    """Hybrid score interval of the difference ``k1/n1 - k2/n2`` from two Wilson intervals.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between independent
    proportions: comparison of eleven methods. *Statistics in Medicine* 17(8), 873-890.
    """
    k1, n1, k2, n2 = floats(k1), floats(n1), floats(k2), floats(n2)
    l1, u1 = wilson_interval(k1, n1, level)
    l2, u2 = wilson_interval(k2, n2, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        p1, p2 = k1 / n1, k2 / n2
        d = p1 - p2
        return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt(
            (u1 - p1) ** 2 + (p2 - l2) ** 2
        )


def welch_test(x: object, y: object, level: float = 0.95) -> tuple[float, float, float, float]:
    """Welch's t statistic, two-sided p-value and interval of ``mean(x) - mean(y)``.

    Unlike Student's test it does not assume equal variances, which durations rarely have.

    References
    ----------
    Welch, B. L. (1947). The generalization of 'Student's' problem when several different
    population variances are involved. *Biometrika* 34(1-2), 28-35.
    """
    level = check_level(level)
    a, b = _finite(x), _finite(y)
    if a.size < 2 or b.size < 2 or a.var() + b.var() == 0:  # no spread: nothing to scale by
        return np.nan, np.nan, np.nan, np.nan
    res = sps.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(level)
    return float(res.statistic), float(res.pvalue), float(ci.low), float(ci.high)


def mann_whitney_test(x: object, y: object) -> tuple[float, float]:
    """Mann-Whitney U statistic of ``x`` and its two-sided p-value (exact for small samples).

    References
    ----------
    Mann, H. B., Whitney, D. R. (1947). On a test of whether one of two random variables is
    stochastically larger than the other. *Annals of Mathematical Statistics* 18(1), 50-60.
    """
    a, b = _finite(x), _finite(y)
    if a.size == 0 or b.size == 0:
        return np.nan, np.nan
    res = sps.mannwhitneyu(a, b, alternative="two-sided")
    return float(res.statistic), float(res.pvalue)


def benjamini_hochberg(p_values: object) -> Float:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted as a test).

    Rejecting where the adjusted value is below ``alpha`` keeps the expected share of false
    discoveries among the flagged segments at most ``alpha``.

    References
    ----------
    Benjamini, Y., Hochberg, Y. (1995). Controlling the false discovery rate: a practical and
    powerful approach to multiple testing. *JRSS B* 57(1), 289-300.
    """
    p = floats(p_values)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = sps.false_discovery_control(np.clip(p[ok], 0.0, 1.0), method="bh")
    return out


def compare_rates(
    segments: Sequence[str],
    k: object,
    n: object,
    k0: object,
    n0: object,
    *,
    alpha: float = 0.05,
    level: float = 0.95,
) -> pa.Table:
    """Test each segment's rate ``k/n`` against its baseline ``k0/n0``.

    Returns one row per segment: ``value``, ``baseline``, ``difference`` with its Newcombe
    interval (``diff_low``, ``diff_high``), the ``test`` used (``z`` or ``fisher``), its
    ``p_value``, the Benjamini-Hochberg ``p_adjusted`` over all rows, ``significant`` and a
    ``verdict``.
    """
    k, n, k0, n0 = (np.array(a) for a in np.broadcast_arrays(*map(floats, (k, n, k0, n0))))
    _check_counts(segments, k, n)
    _check_counts(segments, k0, n0, "baseline ")
    z, p = two_proportion_ztest(k, n, k0, n0)
    pooled = (k + k0) / np.maximum(n + n0, 1)
    small = np.minimum.reduce([n * pooled, n * (1 - pooled), n0 * pooled, n0 * (1 - pooled)])
    tests = np.where(small < MIN_EXPECTED, "fisher", "z").astype(object)
    stat = z.copy()
    for i in np.flatnonzero((tests == "fisher") & (n > 0) & (n0 > 0)):
        stat[i], p[i] = fisher_exact_test(int(k[i]), int(n[i]), int(k0[i]), int(n0[i]))
    tests[~((n > 0) & (n0 > 0))] = None
    low, high = newcombe_interval(k, n, k0, n0, level)
    with np.errstate(invalid="ignore", divide="ignore"):
        value, base = k / n, k0 / n0
    return _tested(segments, value, base, low, high, n, n0, tests, stat, p, alpha)


def compare_samples(
    segments: Sequence[str],
    samples: Sequence[object],
    baselines: Sequence[object],
    *,
    statistic: Statistic = "mean",
    alpha: float = 0.05,
    level: float = 0.95,
    seed: int = 0,
) -> pa.Table:
    """Test durations: Welch for ``mean``, Mann-Whitney for ``median``; columns as for rates.

    The interval of a median difference is a percentile bootstrap (each sample resampled on
    its own).
    """
    if statistic not in STATISTICS:
        raise StatsOptionError("statistic", statistic, f"one of {', '.join(STATISTICS)}")
    level = check_level(level)
    rows = len(segments)
    value, base, low, high, stat, p = (np.full(rows, np.nan) for _ in range(6))
    n, n0 = np.zeros(rows), np.zeros(rows)
    rng = np.random.default_rng(seed)
    for i, (x, y) in enumerate(zip(samples, baselines, strict=True)):
        a, b = _finite(x), _finite(y)
        n[i], n0[i] = a.size, b.size
        if not (a.size and b.size):
            continue
        if statistic == "mean":
            value[i], base[i] = a.mean(), b.mean()
            stat[i], p[i], low[i], high[i] = welch_test(a, b, level)
        else:
            value[i], base[i] = np.median(a), np.median(b)
            stat[i], p[i] = mann_whitney_test(a, b)
            low[i], high[i] = _median_difference(a, b, level, rng)
    test = "welch" if statistic == "mean" else "mann_whitney"
    tests = np.array([test if np.isfinite(v) else None for v in p], dtype=object)
    return _tested(segments, value, base, low, high, n, n0, tests, stat, p, alpha)


def _median_difference(
    a: Float, b: Float, level: float, rng: np.random.Generator
) -> tuple[float, float]:
    """Percentile-bootstrap interval of ``median(a) - median(b)``, each resampled on its own."""
    if a.size < 2 or b.size < 2:
        return np.nan, np.nan
    diff = resampled_medians(a, N_RESAMPLES, rng) - resampled_medians(b, N_RESAMPLES, rng)
    tail = (1 - level) / 2
    lo, hi = np.quantile(diff, [tail, 1 - tail])
    return float(lo), float(hi)


def _check_counts(segments: Sequence[str], k: Float, n: Float, side: str = "") -> None:
    """Refuse a rate that is not ``k`` of ``n`` records; a missing count (NaN) is not tested."""
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero((k < 0) | (n < 0) | (k > n))
    if bad.size:
        i = int(bad[0])
        name = segments[i] if i < len(segments) else str(i)
        raise StatsOptionError(
            f"{side}counts", f"{k[i]:g} of {n[i]:g} ({name})", "0 <= k <= n for every segment"
        )


def _tested(
    segments: Sequence[str],
    value: Float,
    base: Float,
    low: Float,
    high: Float,
    n: Float,
    n0: Float,
    tests: npt.NDArray[np.object_],
    stat: Float,
    p: Float,
    alpha: float,
) -> pa.Table:
    alpha = check_alpha(alpha)
    adjusted = benjamini_hochberg(p)
    significant = np.isfinite(adjusted) & (adjusted < alpha)
    diff = value - base
    verdict = [
        "not tested"
        if not np.isfinite(q)
        else f"significant change ({'up' if d > 0 else 'down'})"
        if s
        else "no significant change"
        for q, s, d in zip(adjusted, significant, diff, strict=True)
    ]
    return pa.table(
        {
            "segment": pa.array(list(segments), type=pa.string()),
            "value": nullable(value),
            "baseline": nullable(base),
            "difference": nullable(diff),
            "diff_low": nullable(low),
            "diff_high": nullable(high),
            "n": pa.array(n.astype(np.int64)),
            "baseline_n": pa.array(n0.astype(np.int64)),
            "test": pa.array(list(tests), type=pa.string()),
            "statistic": nullable(stat),
            "p_value": nullable(p),
            "p_adjusted": nullable(adjusted),
            "significant": pa.array(significant),
            "verdict": pa.array(verdict, type=pa.string()),
        }
    )


def _finite(x: object) -> Float:
    a = floats(x)
    return a[np.isfinite(a)]


def differ_from_rest(
    parts: Mapping[str, tuple[float, float]],
    total: tuple[float, float],
    *,
    alpha: float = 0.05,
) -> dict[str, int]:
    """Each group's rate against the rest of ``total``: +1 higher, -1 lower, 0 not significant.

    ``parts`` maps a group to its ``(numerator, denominator)``. The test is
    :func:`compare_rates` (z-test, Fisher's exact test for small counts, Benjamini-Hochberg at
    ``alpha`` across groups); groups under :data:`~revteam.stats.intervals.MIN_N` records,
    and a group that is the whole total, are not tested (absent from the answer).
    """
    keys = [key for key, (_, n) in parts.items() if n >= MIN_N and total[1] > n]
    if not keys:
        return {}
    x, n = ([parts[key][i] for key in keys] for i in (0, 1))
    result = compare_rates(
        keys, x, n, [total[0] - v for v in x], [total[1] - v for v in n], alpha=alpha
    ).to_pylist()
    return {
        r["segment"]: (1 if r["difference"] > 0 else -1) if r["significant"] else 0
        for r in result
        if r["p_value"] is not None
    }
