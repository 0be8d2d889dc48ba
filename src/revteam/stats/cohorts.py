"""Cohort conversion curves and honest rates for cohorts that are still maturing.

A cohort rate ("MQLs of March that reached SQL within 60 days") is only final once every
member has been watched for the whole window. Before that, the share converted so far is
biased low, and dashboards that show it invite a false alarm every month. Here each member is
a survival record: the time from entering the cohort to converting, right-censored at the
as-of time when they have not converted yet. The Kaplan-Meier estimator of ``S(t)``, the
share not yet converted at age ``t``, uses every member for as long as they were watched, so
``1 - S(W)`` is an unbiased estimate of the rate at the window ``W``; Greenwood's formula gives
its variance, and intervals use the log(-log) transform so they stay inside [0, 1].

When most of a cohort is younger than ``W``, its own curve cannot reach ``W`` reliably: the
projection follows its own ``S`` up to its median age ``a`` and multiplies by the conditional
survival ``S_ref(W) / S_ref(a)`` of the preceding cohorts (pooled), adding the two Greenwood
sums (a chain-ladder step, with the reference cohorts' later conversion pattern).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from revteam.stats._private import Bool, Float, floats, nullable, z_value

REFERENCE_COHORTS = 6
"""Preceding cohorts pooled to project a cohort beyond its own oldest member's age."""


@dataclass(frozen=True)
class KaplanMeier:
    """A fitted Kaplan-Meier curve: a step function over the distinct event times."""

    time: Float
    """Distinct event times, ascending."""
    at_risk: Float
    events: Float
    survival: Float
    """``S`` just after each event time."""
    greenwood: Float
    """Cumulative ``Σ d / (n (n - d))`` up to each event time (``Var log S``)."""
    max_time: float
    """Largest observed time (event or censoring): the curve is unknown beyond it."""

    def at(self, t: object) -> tuple[Float, Float]:
        """``S(t)`` and the Greenwood sum at times ``t`` (NaN beyond :attr:`max_time`)."""
        t = floats(t)
        idx = np.searchsorted(self.time, t, side="right") - 1
        has = idx >= 0
        surv = (
            np.where(has, self.survival[np.maximum(idx, 0)], 1.0)
            if self.time.size
            else (np.ones_like(t))
        )
        gw = (
            np.where(has, self.greenwood[np.maximum(idx, 0)], 0.0)
            if self.time.size
            else (np.zeros_like(t))
        )
        beyond = t > self.max_time
        return np.where(beyond, np.nan, surv), np.where(beyond, np.nan, gw)


def kaplan_meier(durations: object, observed: object) -> KaplanMeier:
    """Kaplan-Meier estimate of the survival function of right-censored ``durations``.

    ``observed`` is true where the duration ends in the event (conversion) and false where it
    is censored (not converted by the as-of time).

    References
    ----------
    Kaplan, E. L., Meier, P. (1958). Nonparametric estimation from incomplete observations.
    *JASA* 53(282), 457-481.
    Greenwood, M. (1926). The natural duration of cancer. *Reports on Public Health and
    Medical Subjects* 33, 1-26.
    """
    t = floats(durations)
    e = np.asarray(observed, dtype=bool)
    if t.size == 0:
        empty = np.array([], dtype=np.float64)
        return KaplanMeier(empty, empty, empty, empty, empty, np.nan)
    times, inverse = np.unique(t, return_inverse=True)
    deaths = np.bincount(inverse, weights=e.astype(np.float64), minlength=times.size)
    leaving = np.bincount(inverse, minlength=times.size).astype(np.float64)
    at_risk: Float = t.size - np.concatenate([[0.0], np.cumsum(leaving)[:-1]])
    keep = deaths > 0
    n, d = at_risk[keep], deaths[keep].astype(np.float64)
    with np.errstate(divide="ignore"):
        survival: Float = np.cumprod(1 - d / n, dtype=np.float64)
        greenwood = np.cumsum(np.where(n > d, d / (n * (n - d)), np.inf))
    return KaplanMeier(times[keep], n, d, survival, greenwood, float(t.max()))


def loglog_interval(
    survival: object, greenwood: object, level: float = 0.95
) -> tuple[Float, Float]:
    """Interval of ``S`` on the log(-log) scale: ``S^exp(±z √gw / |log S|)``.

    Degenerate (a point) where ``S`` is 0 or 1, as Greenwood's variance is then 0.

    References
    ----------
    Kalbfleisch, J. D., Prentice, R. L. (1980). *The Statistical Analysis of Failure Time
    Data*. Wiley, §1.3.
    """
    s, gw, z = floats(survival), floats(greenwood), z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(gw) / np.abs(np.log(s))
        low, high = s ** np.exp(z * se), s ** np.exp(-z * se)
    point = (s <= 0) | (s >= 1)
    return np.where(point, s, low), np.where(point, s, high)


def follow_up(entered: object, reached: object, as_of: dt.datetime) -> tuple[Float, Bool, Float]:
    """Per record: days to conversion or censoring, whether converted, and age at ``as_of``.

    ``entered`` and ``reached`` are datetime arrays (``reached`` NaT where not converted); a
    conversion after ``as_of`` is not known yet, and one before entry counts at age 0.
    """
    start = np.asarray(entered, dtype="datetime64[us]")
    end = np.asarray(reached, dtype="datetime64[us]")
    cut = np.datetime64(as_of.replace(tzinfo=None), "us")
    observed = ~np.isnat(end) & (end <= cut)
    stop = np.where(observed, end, cut)
    age = np.maximum((cut - start).astype(np.float64) / 86_400e6, 0.0)
    days = np.maximum((stop - start).astype(np.float64) / 86_400e6, 0.0)
    return days, observed, age


def cohort_curves(
    cohorts: Sequence[object],
    durations: object,
    observed: object,
    ages: object,
    *,
    at: object,
    level: float = 0.95,
) -> pa.Table:
    """Cumulative conversion by age for each cohort: naive share and Kaplan-Meier rate.

    ``ages`` are the members' ages at the as-of time; ``at`` the ages (days) to evaluate.

    Columns: ``cohort``, ``age_days``, ``n`` (members), ``followed`` (members at least that
    old, i.e. watched that long), ``converted`` (by that age), ``observed_rate`` (converted ÷
    n, biased low where members were not all followed), ``km_rate`` with ``ci_low`` and
    ``ci_high`` (null beyond the cohort's oldest member).
    """
    t, e, age = floats(durations), np.asarray(observed, dtype=bool), floats(ages)
    order, codes = _encode(cohorts)
    a = floats(at)
    out: dict[str, list[object]] = {c: [] for c in ("cohort", "age_days")}
    parts: dict[str, list[Float]] = {
        c: [] for c in ("n", "followed", "converted", "km", "lo", "hi")
    }
    for i, cohort in enumerate(order):
        mask = codes == i
        ct, ce = t[mask], e[mask]
        km = kaplan_meier(ct, ce)
        surv, gw = km.at(a)
        lo, hi = loglog_interval(surv, gw, level)
        out["cohort"] += [cohort] * a.size
        out["age_days"] += a.tolist()
        parts["n"].append(np.full(a.size, ct.size, dtype=np.float64))
        parts["followed"].append((age[mask][None, :] >= a[:, None]).sum(axis=1) + 0.0)
        parts["converted"].append((ce[None, :] & (ct[None, :] <= a[:, None])).sum(axis=1) + 0.0)
        parts["km"].append(1 - surv)
        parts["lo"].append(1 - hi)
        parts["hi"].append(1 - lo)
    col = {k: np.concatenate(v) if v else np.array([]) for k, v in parts.items()}
    return pa.table(
        {
            "cohort": out["cohort"],
            "age_days": pa.array(out["age_days"], type=pa.float64()),
            "n": pa.array(col["n"].astype(np.int64)),
            "followed": pa.array(col["followed"].astype(np.int64)),
            "converted": pa.array(col["converted"].astype(np.int64)),
            "observed_rate": nullable(col["converted"] / np.maximum(col["n"], 1)),
            "km_rate": nullable(col["km"]),
            "ci_low": nullable(col["lo"]),
            "ci_high": nullable(col["hi"]),
        }
    )


def cohort_projection(
    cohorts: Sequence[object],
    durations: object,
    observed: object,
    ages: object,
    *,
    window: float,
    level: float = 0.95,
    reference: int = REFERENCE_COHORTS,
) -> pa.Table:
    """Each cohort's rate at ``window`` days: observed when mature, projected when not.

    ``ages`` are the members' ages at the as-of time (days since they entered).

    Columns: ``cohort``, ``n``, ``age_days`` (age of its youngest member), ``mature``,
    ``converted`` (within the window, so far), ``observed_rate``, ``projected_rate`` with
    ``ci_low``/``ci_high``, and ``method``: ``observed`` (every member followed for the whole
    window: the Kaplan-Meier rate equals the plain share), ``kaplan_meier`` (at least half
    its members are older than the window: its own curve) or ``kaplan_meier+reference`` (its
    own curve to its median age, then that of the ``reference`` preceding cohorts).
    """
    t, e, age = floats(durations), np.asarray(observed, dtype=bool), floats(ages)
    order, codes = _encode(cohorts)
    rows: list[dict[str, object]] = []
    for i, cohort in enumerate(order):
        mask = codes == i
        ct, ce = t[mask], e[mask]
        km = kaplan_meier(ct, ce)
        youngest, typical = float(age[mask].min()), float(np.median(age[mask]))
        mature = youngest >= window
        converted = int(np.sum(ce & (ct <= window)))
        if typical >= window:
            surv, gw = (float(v[0]) for v in km.at([window]))
            method = "observed" if mature else "kaplan_meier"
        else:
            earlier = list(range(max(0, i - reference), i))
            surv, gw = _extended(km, typical, t, e, codes, earlier, window)
            method = "kaplan_meier+reference"
        lo, hi = loglog_interval([surv], [gw], level)
        rows.append(
            {
                "cohort": cohort,
                "n": int(ct.size),
                "age_days": youngest,
                "mature": mature,
                "converted": converted,
                "observed_rate": converted / ct.size if ct.size else None,
                "projected_rate": _maybe(1 - surv),
                "ci_low": _maybe(1 - hi[0]),
                "ci_high": _maybe(1 - lo[0]),
                "method": method if np.isfinite(surv) else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=_projection_schema(rows))


def _extended(
    km: KaplanMeier,
    a: float,
    t: Float,
    e: Bool,
    codes: npt.NDArray[np.intp],
    earlier: Sequence[int],
    window: float,
) -> tuple[float, float]:
    """``S_c(a) · S_ref(W) / S_ref(a)``: the cohort's own curve up to ``a``, then the reference's.

    ``a`` is the cohort's median age, so its own curve rests on at least half its members;
    beyond it, the few members watched that long would make the projection erratic.
    """
    if not earlier:
        return np.nan, np.nan
    mask = np.isin(codes, np.asarray(earlier, dtype=np.intp))
    ref = kaplan_meier(t[mask], e[mask])
    (s_a,), (gw_a,) = km.at([a])
    (r_a, r_w), (g_a, g_w) = ref.at([a, window])
    if not (np.isfinite(r_w) and r_a > 0):
        return np.nan, np.nan
    return float(s_a * r_w / r_a), float(gw_a + g_w - g_a)


def _encode(cohorts: object) -> tuple[list[object], npt.NDArray[np.intp]]:
    """The distinct cohorts in order, and each member's index into them.

    Accepts a list of dates or a ``datetime64`` array (what Arrow gives without making a
    Python object per member); comparing small integers beats comparing objects.
    """
    values = np.asarray(cohorts)
    if values.size == 0:
        return [], np.zeros(0, dtype=np.intp)
    distinct, codes = np.unique(values, return_inverse=True)
    order = [v.item() if isinstance(v, np.generic) else v for v in distinct]
    return order, codes.reshape(-1).astype(np.intp)


def _maybe(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _projection_schema(rows: Sequence[dict[str, object]]) -> pa.Schema:
    cohort_type = pa.array([r["cohort"] for r in rows]).type if rows else pa.string()
    return pa.schema(
        [
            ("cohort", cohort_type),
            ("n", pa.int64()),
            ("age_days", pa.float64()),
            ("mature", pa.bool_()),
            ("converted", pa.int64()),
            ("observed_rate", pa.float64()),
            ("projected_rate", pa.float64()),
            ("ci_low", pa.float64()),
            ("ci_high", pa.float64()),
            ("method", pa.string()),
        ]
    )
