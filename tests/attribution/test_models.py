"""Attribution models: credits add up, and match hand-computed and published numbers.

Every expected number below is worked out by hand in the comments (fractions), or published:
the ChannelAttribution port pychattr's README example (transition matrix, linear credit and a
simulated Markov result), and Serhii Puzyrov's "Markov Chain Attribution - simple explanation of
removal effect" (transition probabilities).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from revteam.attribution.models import MODELS, attribute, bootstrap, transition_matrix
from revteam.attribution.paths import Journeys
from revteam.exceptions import AttributionError

EXACT = 1e-12
VARIANTS = [(m, {}) for m in MODELS] + [
    ("markov", {"order": 2}),
    ("markov", {"order": 3}),
    ("shapley", {"shapley_value": "rate"}),
    ("shapley", {"shapley_value": "rate", "shapley_exact_max": 2, "shapley_samples": 500}),
]


def close(actual, expected, tol=EXACT):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), expected, rtol=0, atol=tol)


def synthetic(n=3000, channels=6, seed=3):
    """Journeys of 1-8 touches; channel 2 and 4 lift the conversion odds; milestones marked."""
    rng = np.random.default_rng(seed)
    length = rng.integers(1, 9, n)
    journey = np.repeat(np.arange(n), length)
    channel = rng.integers(0, channels, len(journey))
    starts = np.r_[0, np.cumsum(length)[:-1]]
    position = np.arange(len(journey)) - starts[journey]
    days = (length[journey] - 1 - position) * 3.0 + rng.random(len(journey))
    lift = np.bincount(journey, (channel == 2) + 0.5 * (channel == 4), n)
    converts = rng.random(n) < 1 / (1 + np.exp(2.5 - 0.2 * length - 0.6 * lift))
    weight = rng.integers(1, 4, n).astype(float)
    conversions = np.where(converts, weight, 0.0)
    lead = np.zeros(len(journey), dtype=bool)
    lead[starts + rng.integers(0, length)] = True
    opportunity = np.zeros(len(journey), dtype=bool)
    marked = rng.random(n) < 0.5
    opportunity[(starts + length - 1)[marked]] = True
    return Journeys(
        channels=("direct", *(f"c{i}" for i in range(1, channels))),
        journey=journey,
        channel=channel,
        days_before=days,
        conversions=conversions,
        nulls=np.where(converts, 0.0, weight),
        value=conversions * rng.gamma(2.0, 300.0, n),
        lead_touch=lead,
        opportunity_touch=opportunity,
    )


def per_journey(journeys, touch):
    return np.add.reduceat(touch, journeys.starts)


# -- every model --------------------------------------------------------------------------------
@pytest.mark.parametrize(("model", "options"), VARIANTS, ids=lambda v: str(v))
def test_credits_add_up_and_repeat(model, options):
    j = synthetic()
    credit = attribute(j, model, **options)
    converting = j.conversions > 0
    close(per_journey(j, credit.touch_credit)[converting], 1.0, 1e-9)
    assert not credit.touch_credit[~converting[j.journey]].any()
    close(credit.channel_credit.sum(), j.conversions.sum(), 1e-6)
    close(credit.channel_value.sum(), j.value.sum(), 1e-6)
    by_touch = np.bincount(j.channel, credit.touch_credit * j.value[j.journey], len(j.channels))
    close(credit.channel_value, by_touch, 1e-6)
    again = attribute(j, model, **options)
    assert np.array_equal(credit.touch_credit, again.touch_credit)
    assert np.array_equal(credit.channel_credit, again.channel_credit)
    assert isinstance(credit.details["notes"], list)


@st.composite
def small_journeys(draw):
    n = draw(st.integers(1, 8))
    paths = [
        " > ".join(draw(st.lists(st.sampled_from("abcd"), min_size=1, max_size=5)))
        for _ in range(n)
    ]
    conversions = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    nulls = draw(st.lists(st.integers(0, 3), min_size=n, max_size=n))
    assume(sum(conversions) > 0)
    values = [k * draw(st.floats(0, 100)) for k in conversions]
    return Journeys.from_paths(paths, conversions, nulls, values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_journeys())
def test_every_model_credits_every_conversion(j):
    for model, options in VARIANTS:
        credit = attribute(j, model, **options)
        converting = j.conversions > 0
        close(per_journey(j, credit.touch_credit)[converting], 1.0, 1e-9)
        close(credit.channel_credit.sum(), j.conversions.sum(), 1e-9)
        close(credit.channel_value.sum(), j.value.sum(), 1e-7)
        assert (credit.channel_credit >= -1e-12).all()


# -- rule-based models --------------------------------------------------------------------------
def test_published_linear_and_first_last_touch():
    # pychattr's README (ChannelAttribution's heuristics): linear A = 3/6 + 3/5 + 2/2 = 2.1,
    # B = 3/6 + 2/5 = 0.9; first and last touch: A = 3 (its ensemble column: 3 + 3 + 2.1 = 8.1)
    j = Journeys.from_paths(["A > B > A > B > B > A", "A > B > B > A > A", "A > A"], [1, 1, 1])
    close(attribute(j, "linear").channel_credit, [2.1, 0.9])
    close(attribute(j, "first_touch").channel_credit, [3, 0])
    close(attribute(j, "last_touch").channel_credit, [3, 0])


def test_time_decay_halves_every_half_life():
    # weights 2^-2, 2^-1, 2^0 = 1/4, 1/2, 1 over 7/4; a week later everything is just as old
    # relative to the newest touch: 2^-1001 : 2^-1000 (no underflow to 0/0)
    j = Journeys.from_paths(["a > b > c", "a > b"], [1, 1], days_before=[[14, 7, 0], [7007, 7000]])
    credit = attribute(j, "time_decay", half_life_days=7)
    close(credit.touch_credit, [1 / 7, 2 / 7, 4 / 7, 1 / 3, 2 / 3])
    close(
        attribute(j, "time_decay", half_life_days=14).touch_credit[:3],
        np.array([1, 2**0.5, 2]) / (3 + 2**0.5),
    )


def test_u_shape_for_one_two_three_and_five_touches():
    j = Journeys.from_paths(["a", "a > b", "a > b > c", "a > b > c > d > e"], [1, 1, 1, 1])
    third = 0.2 / 3
    close(
        attribute(j, "u_shaped").touch_credit,
        [1, 0.5, 0.5, 0.4, 0.2, 0.4, 0.4, third, third, third, 0.4],
    )


@pytest.mark.parametrize(
    ("path", "lead", "opportunity", "expected"),
    [
        # no marks: first and lead (= the last touch) 0.3 each + the missing 0.3 shared: 0.45
        ("a > b > c > d", None, None, [0.45, 0.05, 0.05, 0.45]),
        ("a > b > c > d", 1, 2, [0.3, 0.3, 0.3, 0.1]),
        ("a > b > c > d > e", 1, 3, [0.3, 0.3, 0.05, 0.3, 0.05]),
        # lead on the first touch: 0.3 + 0.3 there
        ("a > b > c > d", 0, 2, [0.6, 0.05, 0.3, 0.05]),
        # no other touch: the 0.1 goes to the milestones too, 1/3 each
        ("a > b > c", 1, 2, [1 / 3, 1 / 3, 1 / 3]),
        ("a", None, None, [1.0]),
        # all three milestones on the first touch
        ("a > b", 0, 0, [0.9, 0.1]),
        # an opportunity but no lead: the last touch stands for the lead
        ("a > b > c > d", None, 1, [0.3, 0.3, 0.1, 0.3]),
    ],
)
def test_w_shape(path, lead, opportunity, expected):
    j = Journeys.from_paths([path], [1], lead=[lead], opportunity=[opportunity])
    close(attribute(j, "w_shaped").touch_credit, expected)


def test_last_non_direct():
    j = Journeys.from_paths(["a > direct > direct", "direct > direct", "a > b > direct"], [1, 1, 1])
    close(attribute(j, "last_non_direct").touch_credit, [1, 0, 0, 0, 1, 0, 1, 0])
    other = attribute(j, "last_non_direct", direct="email")
    close(other.touch_credit, attribute(j, "last_touch").touch_credit)
    assert "'email'" in other.details["notes"][0]


# -- Markov -------------------------------------------------------------------------------------
def puzyrov():
    # google ads: 2 conversions (value 200) and one null path; mailing: 1 (30);
    # google ads > mailing: 1 (50)
    return Journeys.from_paths(
        ["google ads", "mailing", "google ads > mailing", "google ads"],
        [2, 1, 1, 0],
        [0, 0, 0, 1],
        [200, 30, 50, 0],
    )


def test_markov_published_transition_probabilities_and_removal_effects():
    j = puzyrov()
    # published: start > google ads 0.8, start > mailing 0.2, google ads > conv 0.5,
    # > mailing 0.25, > null 0.25, mailing > conv 1
    assert {(f, t): p for f, t, p in transition_matrix(j)} == pytest.approx(
        {
            ("(start)", "google ads"): 0.8,
            ("(start)", "mailing"): 0.2,
            ("google ads", "mailing"): 0.25,
            ("google ads", "(conversion)"): 0.5,
            ("google ads", "(null)"): 0.25,
            ("mailing", "(conversion)"): 1.0,
        },
        abs=EXACT,
    )
    credit = attribute(j, "markov")
    d = credit.details
    # P = 4/5 (1/2 + 1/4 * 1) + 1/5 * 1 = 4/5; without google ads: 1/5, RE = 1 - 1/4 = 3/4;
    # without mailing: 4/5 * 1/2 = 2/5, RE = 1/2; credit 4 * (3/4, 1/2) / (5/4)
    close(d["p_conversion"], 0.8)
    close(d["removal_effects"], [3 / 4, 1 / 2])
    close(credit.channel_credit, [12 / 5, 8 / 5])
    # value per conversion after google ads 200/2 = 100, after mailing (30 + 50)/2 = 40;
    # expected value 4/5 (1/2 * 100 + 1/4 * 40) + 1/5 * 40 = 56; without google ads 8,
    # without mailing 40: value removal effects 6/7 and 2/7 -> 280 * (6/7, 2/7) / (8/7)
    close(d["removal_effects_value"], [6 / 7, 2 / 7])
    close(d["value_by_removal"], [210, 70], 1e-9)
    # audit: {google ads} 2 and {mailing} 1 are forced; google ads > mailing gets x with
    # 2 + x = 12/5: x = 2/5 for google ads, 3/5 for mailing
    close(credit.touch_credit, [1, 1, 2 / 5, 3 / 5, 0])
    close(credit.channel_value, [200 + 2 / 5 * 50, 30 + 3 / 5 * 50], 1e-9)
    assert d["notes"] == [] and d["exact"] is True


def test_markov_published_example_with_repeated_channels():
    # pychattr's README: repeated channels are merged (A > A is no self-loop), so
    # start > A 1; A > B 1/2, A > conversion 1/2; B > A 1. Removal effects exactly 1 and 1/2
    # (published simulation: 1.0 and 0.5067), credit 3 * (1, 1/2) / (3/2) = (2, 1)
    # (published simulation: 1.991106 and 1.008894).
    j = Journeys.from_paths(["A > B > A > B > B > A", "A > B > B > A > A", "A > A"], [1, 1, 1])
    assert sorted(transition_matrix(j)) == [
        ("(start)", "A", 1.0),
        ("A", "(conversion)", 0.5),
        ("A", "B", 0.5),
        ("B", "A", 1.0),
    ]
    credit = attribute(j, "markov")
    close(credit.details["removal_effects"], [1, 1 / 2])
    close(credit.channel_credit, [2, 1])
    close(credit.channel_credit, [1.991106, 1.008894], 0.01)


def test_markov_classic_three_channel_example_and_self_loops():
    # c1 > c2 > c3 converts; c1 and c2 > c3 do not. start > c1 2/3, > c2 1/3; c1 > c2 1/2,
    # > null 1/2; c2 > c3 1; c3 > conv 1/2, > null 1/2. P = 2/3 * 1/2 * 1/2 + 1/3 * 1/2 = 1/3.
    # Without c1: 1/6 (RE 1/2); without c2 or c3: 0 (RE 1). Credit (1/2, 1, 1) / (5/2).
    j = Journeys.from_paths(["c1 > c2 > c3", "c1", "c2 > c3"], [1, 0, 0], [0, 1, 1])
    credit = attribute(j, "markov")
    close(credit.details["p_conversion"], 1 / 3)
    close(credit.details["removal_effects"], [1 / 2, 1, 1])
    close(credit.channel_credit, [0.2, 0.4, 0.4])
    close(credit.touch_credit, [0.2, 0.4, 0.4, 0, 0, 0])
    # repeating a channel adds a self-loop, which ChannelAttribution drops: nothing changes
    looped = Journeys.from_paths(
        ["c1 > c1 > c2 > c3 > c3", "c1", "c2 > c2 > c3"], [1, 0, 0], [0, 1, 1]
    )
    close(attribute(looped, "markov").channel_credit, credit.channel_credit)


def order_example():
    return Journeys.from_paths(
        ["A > A > A > B", "A > B", "C", "A > A > C"], [2, 0, 1, 1], [0, 1, 1, 0]
    )


def test_markov_order_two_by_hand():
    # Windows of two touches, repeats merged: (A,A) (A,B) | (A,B) | C (shorter than the
    # order: one state) | (A,A) (A,C). Counts: start > AA 3 (2 + 1), > AB 1, > C 2;
    # AA > AB 2, > AC 1; AB > conv 2, > null 1; C > conv 1, > null 1; AC > conv 1.
    # x(AC) = 1, x(C) = 1/2, x(AB) = 2/3, x(AA) = 2/3 x(AB) + 1/3 = 7/9;
    # P = (3 * 7/9 + 2/3 + 2 * 1/2) / 6 = 2/3.
    # Without A (AA, AB, AC): 2 * 1/2 / 6 = 1/6, RE 3/4. Without B (AB): x(AA) = 1/3,
    # P = (1 + 1) / 6 = 1/3, RE 1/2. Without C (C, AC): x(AA) = 4/9, P = (4/3 + 2/3) / 6,
    # RE 1/2. Credit 4 * (3/4, 1/2, 1/2) / (7/4) = (12/7, 8/7, 8/7).
    j = order_example()
    credit = attribute(j, "markov", order=2)
    d = credit.details
    assert d["states"] == 4
    close(d["p_conversion"], 2 / 3)
    close(d["removal_effects"], [3 / 4, 1 / 2, 1 / 2])
    close(credit.channel_credit, [12 / 7, 8 / 7, 8 / 7])
    matrix = {(f, t): p for f, t, p in transition_matrix(j, order=2)}
    close(matrix[("(start)", "A,A")], 1 / 2)
    close(matrix[("A,A", "A,C")], 1 / 3)
    close(matrix[("C", "(null)")], 1 / 2)
    assert ("A,A", "A,A") not in matrix


def test_markov_order_one_differs_from_order_two():
    # Order 1 merges the repeats first: A B | A B | C | A C. start > A 4, > C 2; A > B 3,
    # > C 1; B > conv 2/3; C > conv 2/3 (P3 and P4). P = 2/3. Without A: 2/6 * 2/3 = 2/9,
    # RE 2/3; without B: x(A) = 1/4 * 2/3, P = 1/9 + 2/9, RE 1/2; without C: x(A) = 1/2,
    # P = 1/3, RE 1/2.
    credit = attribute(order_example(), "markov")
    assert credit.details["states"] == 3
    close(credit.details["removal_effects"], [2 / 3, 1 / 2, 1 / 2])
    close(credit.channel_credit, 4 * np.array([2 / 3, 1 / 2, 1 / 2]) / (5 / 3))


def test_markov_order_three_keeps_short_paths_whole():
    states = {f for f, _, _ in transition_matrix(order_example(), order=3)}
    assert states == {"(start)", "A,A,A", "A,A,B", "A,B", "C", "A,A,C"}


def test_markov_audit_meets_the_channel_totals():
    j = synthetic(n=5000, seed=8)
    credit = attribute(j, "markov", order=2)
    by_touch = np.bincount(j.channel, credit.touch_credit * j.conversions[j.journey], 6)
    close(by_touch, credit.channel_credit, 1e-9 * j.conversions.sum())
    assert credit.details["audit_gap"] <= 1e-9 * j.conversions.sum()
    assert credit.details["notes"] == []


def test_markov_audit_infeasible_support_gets_a_note():
    # A > C > B does not convert, B does. start > A 1/2, > B 1/2; A > C > B; B > conv 1/2.
    # P = 1/2; without A or C: 1/4 (RE 1/2 each); without B: 0 (RE 1). Credit (1/4, 1/4, 1/2)
    # of 1 conversion, but the only converting journey touches B alone: B's touch gets 1,
    # 1/2 more than B's total.
    # The credit shown is then the closest split's, which adds up (B: 1); the removal-effect
    # totals stay in details.
    j = Journeys.from_paths(["A > C > B", "B"], [0, 1], [1, 0])
    credit = attribute(j, "markov")
    close(credit.details["model_credit"], [1 / 4, 1 / 4, 1 / 2])
    close(credit.channel_credit, [0, 0, 1])
    close(credit.touch_credit, [0, 0, 0, 1])
    close(credit.details["audit_gap"], 0.5)
    assert len(credit.details["notes"]) == 1
    assert "0.5 conversions off, for B" in credit.details["notes"][0]


# -- Shapley ------------------------------------------------------------------------------------
def test_shapley_three_channels_by_hand():
    # {A} 2 conversions, {A,B} 1, {B,C} 3, {C} none (1 null).
    # v: {} 0, A 2, B 0, C 0, AB 3, AC 2, BC 3, ABC 6. Weights 1/3 (|S| = 0 or 2), 1/6 (|S| = 1)
    # phi_A = 1/3 * 2 + 1/6 * (3 - 0) + 1/6 * (2 - 0) + 1/3 * (6 - 3) = 5/2
    # phi_B = 1/3 * 0 + 1/6 * (3 - 2) + 1/6 * (3 - 0) + 1/3 * (6 - 2) = 2
    # phi_C = 1/3 * 0 + 1/6 * (2 - 2) + 1/6 * (3 - 0) + 1/3 * (6 - 3) = 3/2
    j = Journeys.from_paths(["A", "A > B > B", "B > C", "C"], [2, 1, 3, 0], [0, 0, 0, 1])
    credit = attribute(j, "shapley")
    close(credit.channel_credit, [5 / 2, 2, 3 / 2])
    close(credit.details["shapley"], [5 / 2, 2, 3 / 2])
    # each conversion split over its distinct channels, then over their touches
    close(credit.touch_credit, [1, 1 / 2, 1 / 4, 1 / 4, 1 / 2, 1 / 2, 0])
    assert credit.details["exact"] is True


def brute_force_shapley(j, rate):
    """Shapley's definition over every coalition, v counted directly (no transforms)."""
    n = len(j.channels)
    sets = np.zeros(j.n_journeys, dtype=np.int64)
    np.bitwise_or.at(sets, j.journey, np.left_shift(1, j.channel))
    coalitions = np.arange(1 << n)
    won = np.zeros(1 << n)
    seen = np.zeros(1 << n)
    for mask, k, m in zip(sets, j.conversions, j.nulls, strict=True):
        inside = (coalitions & mask) == mask
        won += inside * k
        seen += inside * (k + m)
    v = np.divide(won, seen, out=np.zeros_like(won), where=seen > 0) if rate else won
    size = np.array([bin(s).count("1") for s in coalitions])
    weight = np.array([math.factorial(s) * math.factorial(n - s - 1) for s in range(n)])
    phi = np.zeros(n)
    for c in range(n):
        without = coalitions[(coalitions >> c) & 1 == 0]
        phi[c] = (weight[size[without]] * (v[without | (1 << c)] - v[without])).sum()
    return phi / math.factorial(n)


def random_paths(n_channels, n_journeys, seed, longest=3):
    rng = np.random.default_rng(seed)
    names = [f"ch{i}" for i in range(n_channels)]
    paths = [" > ".join(rng.choice(names, rng.integers(1, longest + 1))) for _ in range(n_journeys)]
    # name every channel in order so that channel i is ch{i}
    paths = names + paths
    conversions = np.r_[np.ones(n_channels), rng.integers(0, 3, n_journeys)]
    nulls = np.r_[np.zeros(n_channels), rng.integers(0, 4, n_journeys)]
    return Journeys.from_paths(paths, conversions, nulls)


def test_shapley_closed_form_is_the_shapley_value_of_the_conversion_game():
    j = random_paths(6, 40, seed=5)
    close(attribute(j, "shapley").channel_credit, brute_force_shapley(j, rate=False), 1e-9)


def test_shapley_rate_two_channels_by_hand_negative_value():
    # {A}: 1 conversion, 1 null; {A,B}: 1 conversion; {B}: 2 nulls.
    # v(A) = 1/2, v(B) = 0, v(AB) = 2/5. phi_A = 1/2 * 1/2 + 1/2 * (2/5 - 0) = 9/20,
    # phi_B = 1/2 * 0 + 1/2 * (2/5 - 1/2) = -1/20: B gets nothing, A all 2 conversions.
    j = Journeys.from_paths(["A", "A > B", "B"], [1, 1, 0], [1, 0, 2])
    credit = attribute(j, "shapley", shapley_value="rate")
    close(credit.details["shapley"], [9 / 20, -1 / 20])
    close(credit.channel_credit, [2, 0])
    close(credit.touch_credit, [1, 1, 0, 0])
    assert any("B's Shapley value is negative" in n for n in credit.details["notes"])


def test_shapley_rate_two_channels_by_hand():
    # {A}: 1 conversion, 1 null; {B}: 1, 3; {A,B}: 2, 1. v(A) = 1/2, v(B) = 1/4, v(AB) = 4/9.
    # phi_A = 1/2 * 1/2 + 1/2 * (4/9 - 1/4) = 25/72; phi_B = 1/2 * 1/4 + 1/2 * (4/9 - 1/2)
    # = 7/72; credit 4 * (25, 7) / 32. B's 7/8 is below its own journey's 1 conversion, so no
    # per-touch split can meet it: B keeps its own conversion, A gets the shared journey.
    j = Journeys.from_paths(["A", "B", "A > B"], [1, 1, 2], [1, 3, 1])
    credit = attribute(j, "shapley", shapley_value="rate")
    close(credit.details["shapley"], [25 / 72, 7 / 72])
    close(credit.details["model_credit"], [25 / 8, 7 / 8])
    close(credit.details["shapley"], brute_force_shapley(j, rate=True))
    close(credit.touch_credit, [1, 1, 1, 0], 1e-3)
    close(credit.channel_credit, [3, 1], 1e-3)  # the closest split's, adding up to 4
    assert credit.channel_credit.sum() == pytest.approx(4)
    assert "No per-touch split" in credit.details["notes"][0]


def test_shapley_rate_exact_matches_the_definition():
    j = random_paths(8, 60, seed=2)
    credit = attribute(j, "shapley", shapley_value="rate")
    close(credit.details["shapley"], brute_force_shapley(j, rate=True))
    assert credit.details["method"] == "exact"


def test_shapley_rate_sampled_within_its_bound():
    j = random_paths(18, 300, seed=4)
    exact = brute_force_shapley(j, rate=True)
    sampled = attribute(j, "shapley", shapley_value="rate", shapley_exact_max=6, seed=1)
    d = sampled.details
    assert d["exact"] is False and d["method"] == "sampled" and d["samples"] == 20_000
    bound = d["error_bound"]
    miss = np.abs(d["shapley"] - exact)
    assert (bound > 0).all()
    # a 95% bound per channel: most channels within it, none far outside
    assert (miss <= bound).mean() >= 0.8
    assert (miss <= 2 * bound).all()
    # the exact path (raised limit) agrees with the definition
    exact_run = attribute(j, "shapley", shapley_value="rate", shapley_exact_max=18)
    close(exact_run.details["shapley"], exact)


# -- bootstrap ----------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["linear", "markov", "shapley"])
def test_bootstrap_repeats_and_contains_the_estimate(model):
    j = synthetic(n=1500)
    low, high = bootstrap(j, model, replicates=60, seed=7)
    again = bootstrap(j, model, replicates=60, seed=7)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
    point = attribute(j, model).channel_credit
    assert (low <= point + 1e-9).all() and (point <= high + 1e-9).all()
    assert (high > low).all()
    other = bootstrap(j, model, replicates=60, seed=8)
    assert not np.array_equal(low, other[0])


@pytest.mark.parametrize("model", ["w_shaped", "markov"])
def test_bootstrap_intervals_narrow_as_counts_grow(model):
    j = synthetic(n=800)
    many = replace(j, conversions=j.conversions * 100, nulls=j.nulls * 100, value=j.value * 100)
    low, high = bootstrap(j, model, replicates=80)
    low_many, high_many = bootstrap(many, model, replicates=80)
    # relative widths shrink about tenfold (sqrt of 100)
    width = (high - low) / attribute(j, model).channel_credit
    width_many = (high_many - low_many) / attribute(many, model).channel_credit
    assert (width_many < width / 3).all()


# -- invalid input ------------------------------------------------------------------------------
def test_unknown_model_names_the_models():
    with pytest.raises(ValueError, match=r"unknown model 'markof'.*first_touch.*shapley"):
        attribute(puzyrov(), "markof")


@pytest.mark.parametrize("order", [0, 4])
def test_markov_order_must_be_one_to_three(order):
    with pytest.raises(AttributionError, match=f"order {order} is not supported.*1, 2 or 3"):
        attribute(puzyrov(), "markov", order=order)


@pytest.mark.parametrize("half_life", [0, -7.0, math.inf])
def test_half_life_must_be_positive(half_life):
    with pytest.raises(ValueError, match=r"half_life_days must be a number of days > 0"):
        attribute(puzyrov(), "time_decay", half_life_days=half_life)


def test_every_problem_is_named_at_once():
    with pytest.raises(ValueError, match=r"unknown model 'x'.*order 4.*shapley_value 'share'"):
        attribute(puzyrov(), "x", order=4, shapley_value="share")  # type: ignore[arg-type]


@pytest.mark.parametrize("model", MODELS)
def test_no_converting_journey_is_refused(model):
    j = Journeys.from_paths(["a > b", "b"], [0, 0], [3, 1])
    with pytest.raises(ValueError, match="no journey converts"):
        attribute(j, model)


def test_invalid_journeys_are_refused():
    j = replace(puzyrov(), value=np.array([200.0, 30, 50, 5]))
    with pytest.raises(ValueError, match="value must be 0 on non-converting journeys"):
        attribute(j, "linear")
    shuffled = replace(puzyrov(), journey=np.array([1, 0, 2, 2, 3]))
    with pytest.raises(ValueError, match="journey must be sorted"):
        attribute(shuffled, "linear")


def test_bootstrap_options_are_checked():
    with pytest.raises(ValueError, match="level must be between 0 and 1"):
        bootstrap(puzyrov(), "linear", level=1.5)
    with pytest.raises(ValueError, match="replicates must be an integer"):
        bootstrap(puzyrov(), "linear", replicates=1)
