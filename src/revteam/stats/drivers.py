"""Why did a KPI move? Exact decompositions of a change into named parts.

**Ratio KPIs** (a rate ``R = Σk_i / Σn_i`` over segments ``i``) are ``R = Σ w_i r_i`` with mix
``w_i = n_i / N`` and segment rate ``r_i = k_i / n_i``. Between a baseline (0) and a period (1)
each segment's part of ``ΔR`` is split symmetrically (the Shapley value of the two factors)::

    rate effect_i = (r1_i - r0_i) (w0_i + w1_i) / 2
    mix effect_i  = (w1_i - w0_i) ((r0_i + r1_i) / 2 - (R0 + R1) / 2)

The parts add up exactly to ``R1 - R0`` (centring the mix effect on the average rate changes
nothing in the sum because ``Σ Δw_i = 0``, but makes each term readable: more weight on a
below-average segment lowers the KPI). A segment absent in one period takes its other
period's rate, so it contributes only through mix.

**Product KPIs** (pipeline velocity = opportunities x win rate x deal size ÷ cycle days) are
split into their levers with the logarithmic-mean Divisia index: lever ``j`` with exponent
``e_j`` contributes ``L(V1, V0) e_j ln(x1_j / x0_j)``, where ``L(a, b) = (a - b) / ln(a / b)``,
and the contributions add up exactly to ``V1 - V0``.

**Additive KPIs** (counts, sums) are split into each segment's own change.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa

from revteam.exceptions import InsufficientDataError
from revteam.metrics.format import delta, display, number
from revteam.stats._private import floats, meta_of, nullable
from revteam.stats.compare import benjamini_hochberg, compare_rates

LEVERS: dict[str, dict[str, int]] = {
    "pipeline_velocity": {
        "opportunities_created": 1,
        "win_rate": 1,
        "avg_deal_size": 1,
        "sales_cycle_days": -1,
    }
}
"""Product metrics and the exponent of each lever (``-1``: the lever divides)."""


def mix_rate(
    segments: Sequence[str],
    num0: object,
    den0: object,
    num1: object,
    den1: object,
    *,
    test: bool = False,
) -> pa.Table:
    """Per-segment rate and mix effects of a ratio's change (wide: one row per segment).

    Columns: ``segment``, ``share_before``, ``share_after``, ``rate_before``, ``rate_after``,
    ``rate_effect``, ``mix_effect``, ``effect`` (their sum). With ``test`` (rates of records
    only), ``rate_p`` tests the segment's rate change and ``mix_p`` its share change (z or
    Fisher, as :func:`~revteam.stats.compare.compare_rates`).

    References
    ----------
    Kitagawa, E. M. (1955). Components of a difference between two rates. *JASA* 50(272),
    1168-1194.
    Shapley, L. S. (1953). A value for n-person games. *Contributions to the Theory of Games*
    II, 307-317.
    """
    k0, n0, k1, n1 = floats(num0), floats(den0), floats(num1), floats(den1)
    k0, n0, k1, n1 = (np.nan_to_num(a) for a in (k0, n0, k1, n1))
    if n0.sum() <= 0 or n1.sum() <= 0:
        raise InsufficientDataError("A mix/rate decomposition", "records in both periods", "none")
    w0, w1 = n0 / n0.sum(), n1 / n1.sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        r0, r1 = k0 / n0, k1 / n1
    r0, r1 = np.where(n0 > 0, r0, r1), np.where(n1 > 0, r1, r0)
    # Empty in both periods (0/0, or an amount over no records): weight 0 anyway.
    r0, r1 = np.where(np.isfinite(r0), r0, 0.0), np.where(np.isfinite(r1), r1, 0.0)
    big0, big1 = k0.sum() / n0.sum(), k1.sum() / n1.sum()
    rate = (r1 - r0) * (w0 + w1) / 2
    mix = (w1 - w0) * ((r0 + r1) / 2 - (big0 + big1) / 2)
    tests = {}
    if test:
        names = list(segments)
        tests["rate_p"] = compare_rates(names, k1, n1, k0, n0)["p_value"]
        tests["mix_p"] = compare_rates(names, n1, n1.sum(), n0, n0.sum())["p_value"]
    return pa.table(
        {
            "segment": pa.array(list(segments), type=pa.string()),
            "share_before": nullable(w0),
            "share_after": nullable(w1),
            "rate_before": nullable(np.where(n0 > 0, r0, np.nan)),
            "rate_after": nullable(np.where(n1 > 0, r1, np.nan)),
            "rate_effect": nullable(rate),
            "mix_effect": nullable(mix),
            "effect": nullable(rate + mix),
            **tests,
        }
    )


def log_mean(a: float, b: float) -> float:
    """The logarithmic mean ``(a - b) / ln(a / b)`` (``a`` when ``a = b``)."""
    if a == b:
        return a
    # Near a = b, log1p avoids the cancellation of log(a / b); far from it, log is exact.
    ratio = a / b
    return (a - b) / (math.log1p((a - b) / b) if 0.5 < ratio < 2 else math.log(ratio))


def lmdi(
    before: Mapping[str, float], after: Mapping[str, float], exponents: Mapping[str, int]
) -> pa.Table:
    """Each lever's additive share of the change of ``Π x_j ** e_j`` (LMDI-I), largest first.

    Columns: ``lever``, ``exponent``, ``before``, ``after``, ``log_change``, ``contribution``.

    References
    ----------
    Ang, B. W. (2004). Decomposition analysis for policymaking in energy: which is the
    preferred method? *Energy Policy* 32(9), 1131-1139.
    """
    bad = [j for j in exponents if not (before.get(j, 0) > 0 and after.get(j, 0) > 0)]
    if bad:
        raise InsufficientDataError(
            "A lever decomposition", "positive values of every lever", f"none for {bad}"
        )
    v0 = math.prod(before[j] ** e for j, e in exponents.items())
    v1 = math.prod(after[j] ** e for j, e in exponents.items())
    weight = log_mean(v1, v0)
    logs = {j: e * math.log(after[j] / before[j]) for j, e in exponents.items()}
    names = sorted(exponents, key=lambda j: -abs(logs[j]))  # largest part first
    return pa.table(
        {
            "lever": names,
            "exponent": pa.array([exponents[j] for j in names], type=pa.int64()),
            "before": [float(before[j]) for j in names],
            "after": [float(after[j]) for j in names],
            "log_change": [logs[j] for j in names],
            "contribution": [weight * logs[j] for j in names],
        }
    )


def additive(segments: Sequence[str], before: object, after: object) -> pa.Table:
    """Each segment's own change of an additive KPI (columns as :func:`mix_rate`'s ``effect``)."""
    v0, v1 = np.nan_to_num(floats(before)), np.nan_to_num(floats(after))
    return pa.table(
        {
            "segment": pa.array(list(segments), type=pa.string()),
            "value_before": nullable(v0),
            "value_after": nullable(v1),
            "effect": nullable(v1 - v0),
        }
    )


def ranked_effects(wide: pa.Table, *, alpha: float = 0.05) -> pa.Table:
    """One row per (segment, effect) from :func:`mix_rate` or :func:`additive`, ranked.

    Columns: ``segment``, ``effect`` (``rate``, ``mix`` or ``change``), ``contribution``, the
    segment's ``share_before``/``share_after`` and ``value_before``/``value_after``, and where
    the parts were tested ``p_value``, ``p_adjusted`` (Benjamini-Hochberg over all parts) and
    ``significant``. Rows are sorted by size: significance says how sure a part is, not how
    much it matters (with much data a tiny shift of mix is "significant").
    """
    d = wide.to_pydict()
    size = wide.num_rows
    shares = (d.get("share_before", [None] * size), d.get("share_after", [None] * size))
    values = (d.get("rate_before") or d["value_before"], d.get("rate_after") or d["value_after"])
    rows: list[dict[str, Any]] = []
    for i, segment in enumerate(d["segment"]):
        common = {
            "segment": segment,
            "share_before": shares[0][i],
            "share_after": shares[1][i],
            "value_before": values[0][i],
            "value_after": values[1][i],
        }
        parts = (
            [("rate", d["rate_effect"][i]), ("mix", d["mix_effect"][i])]
            if "rate_effect" in d
            else [("change", d["effect"][i])]
        )
        p = [d.get("rate_p", [None] * size)[i], d.get("mix_p", [None] * size)[i]]
        rows += [
            {**common, "effect": name, "contribution": v, "p_value": p[j]}
            for j, (name, v) in enumerate(parts)
        ]
    adjusted = benjamini_hochberg([np.nan if r["p_value"] is None else r["p_value"] for r in rows])
    for r, q in zip(rows, adjusted, strict=True):
        r["p_adjusted"] = float(q) if np.isfinite(q) else None
        r["significant"] = None if r["p_adjusted"] is None else r["p_adjusted"] < alpha
    rows.sort(key=lambda r: (-abs(r["contribution"] or 0.0), r["segment"], r["effect"]))
    return pa.Table.from_pylist(rows, schema=_EFFECTS)


def describe_drivers(table: pa.Table, *, top: int = 3) -> str:
    """A sentence naming the largest parts of a change, e.g. for briefings and the CLI."""
    meta = meta_of(table)
    unit = meta.get("unit", "number")
    change = float(meta.get("change") or 0.0)
    head = (
        f"{meta.get('metric', 'The KPI')} {'rose' if change > 0 else 'fell'} "
        f"{delta(abs(change), unit).lstrip('+')} ({_value(meta.get('value_before'), unit)} → "
        f"{_value(meta.get('value_after'), unit)}) from {meta.get('baseline_period')} to "
        f"{meta.get('period')}"
    )
    rows = table.slice(0, top).to_pylist()
    parts = [
        _reason(r, unit) + (" (could be noise)" if r.get("significant") is False else "")
        for r in rows
    ]
    return head + (": " + "; ".join(parts) if parts else "") + "."


def _reason(row: Mapping[str, Any], unit: str) -> str:
    amount = _amount(float(row.get("contribution") or 0.0), unit)
    name = row.get("segment") or row.get("lever")
    effect = row.get("effect")
    if effect == "rate":
        moved = "rose" if (row["value_after"] or 0) > (row["value_before"] or 0) else "fell"
        return f"{amount} because {name}'s rate {moved}"
    if effect == "mix":
        towards = (row["share_after"] or 0) > (row["share_before"] or 0)
        return f"{amount} because the mix moved {'towards' if towards else 'away from'} {name}"
    if effect == "change":
        return f"{amount} from {name}"
    return f"{amount} from {name} ({number(row['before'])} → {number(row['after'])})"


def _amount(value: float, unit: str) -> str:
    return delta(value, unit)


def _value(value: float | None, unit: str) -> str:
    return display(value, unit)


def total_change(wide: pa.Table) -> float:
    """Sum of every part: equals the KPI's change exactly (up to rounding)."""
    return float(np.nansum(floats(wide["effect"] if "effect" in wide.column_names else [])))


_EFFECTS = pa.schema(
    [
        ("segment", pa.string()),
        ("effect", pa.string()),
        ("contribution", pa.float64()),
        ("share_before", pa.float64()),
        ("share_after", pa.float64()),
        ("value_before", pa.float64()),
        ("value_after", pa.float64()),
        ("p_value", pa.float64()),
        ("p_adjusted", pa.float64()),
        ("significant", pa.bool_()),
    ]
)
