"""Decompositions add up exactly and name the right parts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from revteam.exceptions import InsufficientDataError
from revteam.stats import additive, describe_drivers, lmdi, mix_rate, ranked_effects
from revteam.stats._private import with_meta
from revteam.stats.drivers import log_mean, total_change

counts = st.integers(0, 500)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(counts, counts, counts, counts), min_size=1, max_size=12))
def test_rate_and_mix_effects_add_up_to_the_change(cells):
    k0 = np.array([min(a, b) for a, b, _, _ in cells], dtype=float)
    n0 = np.array([b for _, b, _, _ in cells], dtype=float)
    k1 = np.array([min(c, d) for _, _, c, d in cells], dtype=float)
    n1 = np.array([d for _, _, _, d in cells], dtype=float)
    if n0.sum() == 0 or n1.sum() == 0:
        with pytest.raises(InsufficientDataError):
            mix_rate([str(i) for i in range(len(cells))], k0, n0, k1, n1)
        return
    wide = mix_rate([str(i) for i in range(len(cells))], k0, n0, k1, n1)
    change = k1.sum() / n1.sum() - k0.sum() / n0.sum()
    assert total_change(wide) == pytest.approx(change, abs=1e-12)
    long = ranked_effects(wide)
    assert sum(long["contribution"].to_pylist()) == pytest.approx(change, abs=1e-12)


def test_a_hand_worked_mix_and_rate_example():
    # Paid social's rate falls from 40 % to 20 % while its share rises from 20 % to 50 %.
    wide = mix_rate(["paid_social", "email"], [40, 400], [100, 400], [100, 250], [500, 500])
    rows = {r["segment"]: r for r in wide.to_pylist()}
    r0, r1 = (40 + 400) / 500, (100 + 250) / 1000
    ps, em = rows["paid_social"], rows["email"]
    assert ps["rate_effect"] == pytest.approx((0.2 - 0.4) * (0.2 + 0.5) / 2)
    assert ps["mix_effect"] == pytest.approx((0.5 - 0.2) * ((0.4 + 0.2) / 2 - (r0 + r1) / 2))
    assert em["rate_effect"] == pytest.approx((0.5 - 1.0) * (0.8 + 0.5) / 2)
    assert ps["effect"] + em["effect"] == pytest.approx(r1 - r0)


def test_a_segment_in_one_period_only_moves_the_mix():
    wide = mix_rate(["old", "new"], [50, 0], [100, 0], [50, 10], [100, 100])
    new = wide.to_pylist()[1]
    assert new["rate_effect"] == 0 and new["rate_before"] is None
    assert total_change(wide) == pytest.approx(60 / 200 - 0.5)


def test_tests_of_parts_and_their_order():
    wide = mix_rate(
        ["big_drop", "noise", "tiny"],
        [500, 50, 1],
        [1000, 100, 2],
        [200, 52, 1],
        [1000, 100, 2],
        test=True,
    )
    long = ranked_effects(wide).to_pylist()
    assert (long[0]["segment"], long[0]["effect"]) == ("big_drop", "rate")
    assert long[0]["significant"] and long[0]["p_adjusted"] < 1e-6
    noise = next(r for r in long if r["segment"] == "noise" and r["effect"] == "rate")
    assert not noise["significant"]
    sizes = [abs(r["contribution"]) for r in long]
    assert sizes == sorted(sizes, reverse=True)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.01, 1e6), min_size=4, max_size=4),
    st.lists(st.floats(0.01, 1e6), min_size=4, max_size=4),
)
def test_lmdi_levers_add_up_to_the_change(before, after):
    names = ["opportunities_created", "win_rate", "avg_deal_size", "sales_cycle_days"]
    exps = dict(zip(names, [1, 1, 1, -1], strict=True))
    b, a = dict(zip(names, before, strict=True)), dict(zip(names, after, strict=True))
    table = lmdi(b, a, exps)
    v0 = before[0] * before[1] * before[2] / before[3]
    v1 = after[0] * after[1] * after[2] / after[3]
    # Exact up to rounding of the values themselves.
    tolerance = 1e-12 * max(abs(v0), abs(v1))
    assert sum(table["contribution"].to_pylist()) == pytest.approx(v1 - v0, abs=tolerance)


def test_lmdi_example_and_log_mean():
    assert log_mean(2.0, 2.0) == 2.0
    assert log_mean(4.0, 1.0) == pytest.approx(3 / math.log(4))
    exps = {"volume": 1, "price": 1}
    table = lmdi({"volume": 10, "price": 2}, {"volume": 20, "price": 2}, exps).to_pylist()
    assert table[0]["lever"] == "volume" and table[0]["contribution"] == pytest.approx(20)
    assert table[1]["contribution"] == 0
    with pytest.raises(InsufficientDataError):
        lmdi({"volume": 0, "price": 2}, {"volume": 1, "price": 2}, exps)


def test_additive_and_the_summary_sentence():
    wide = additive(["a", "b"], [10, 5], [4, 8])
    assert total_change(wide) == -3
    long = with_meta(
        ranked_effects(wide),
        {
            "metric": "leads",
            "unit": "count",
            "period": "2026-03",
            "baseline_period": "2026-02",
            "value_before": 15,
            "value_after": 12,
            "change": -3,
        },
    )
    text = describe_drivers(long)
    assert text.startswith("leads fell 3 (15 → 12) from 2026-02 to 2026-03: -6 from a; +3 from b")
