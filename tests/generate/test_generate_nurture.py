"""Channel effects planted in journeys: nurture touches that go with MQLs (truth's attribution)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from tests.generate.test_generate_truth import close_enough

from revteam.generate import nurture, params


def test_touches_drawn_given_the_outcome_make_a_logistic_model_of_it():
    """Bayes' rule: P(MQL | x) is logit-linear in the touches with the planted coefficients."""
    patterns = np.array(list(itertools.product([False, True], repeat=len(nurture.CHANNELS))))
    if_mql = np.prod(np.where(patterns, nurture.REACH_IF_MQL, 1 - nurture.REACH_IF_MQL), axis=1)
    if_not = np.prod(np.where(patterns, nurture.REACH, 1 - nurture.REACH), axis=1)
    for p in (0.01, 0.15, 0.29, 0.45, 0.62, 0.95):
        bayes = p * if_mql / (p * if_mql + (1 - p) * if_not)
        logit = np.log(p / (1 - p)) - nurture.offset() + patterns @ nurture.BETA
        assert bayes == pytest.approx(1 / (1 + np.exp(-logit)), rel=1e-12)
        assert (p * if_mql + (1 - p) * if_not) @ bayes == pytest.approx(p, rel=1e-12)


def test_truth_orders_the_channels_by_contribution(company):
    planted = company.truth["attribution"]
    assert planted["conversion"] == "mql"
    assert planted["effects"] == {c: n.coefficient for c, n in params.NURTURE.items()}
    contribution = [planted["channels"][c]["contribution"] for c in planted["ordering"]]
    assert contribution == sorted(contribution, reverse=True)
    assert planted["ordering"] == list(params.NURTURE)
    for channel in planted["channels"].values():
        lift = channel["lead_to_mql_reached"] - channel["lead_to_mql_not_reached"]
        assert lift > 0.05 if channel["coefficient"] > 0 else lift == pytest.approx(0)


def reached(db, truth, channel: str, touch_type: str) -> list[tuple[bool, bool, int]]:
    """Mature leads of other channels by (became an MQL, reached by the channel): counts."""
    return db.rows(
        f"""SELECT mql_at IS NOT NULL,
                   EXISTS (SELECT 1 FROM touchpoints t WHERE t.person_id = p.person_id
                           AND t.channel = '{channel}' AND t.type = '{touch_type}'
                           AND t.occurred_at > p.created_at),
                   count(*)
            FROM people p
            WHERE channel <> '{channel}'
              AND created_at <= TIMESTAMP '{truth["as_of"]}' - INTERVAL 365 DAY
            GROUP BY ALL ORDER BY 1, 2"""
    )


@pytest.mark.parametrize("channel", list(params.NURTURE))
def test_reach_and_lift_recover_the_planted_effects(company, db, channel):
    expected = company.truth["attribution"]["channels"][channel]
    counts = {(m, r): n for m, r, n in reached(db, company.truth, channel, expected["touch_type"])}
    others, mqls = (
        counts[False, False] + counts[False, True],
        counts[True, False] + counts[True, True],
    )
    assert close_enough(counts[False, True] / others, expected["reach_if_not_mql"], others)
    assert close_enough(counts[True, True] / mqls, expected["reach_if_mql"], mqls)
    hit, miss = counts[True, True] + counts[False, True], counts[True, False] + counts[False, False]
    assert close_enough(counts[True, True] / hit, expected["lead_to_mql_reached"], hit)
    assert close_enough(counts[True, False] / miss, expected["lead_to_mql_not_reached"], miss)


def test_nurture_touches_fall_between_the_first_touch_and_the_mql(db):
    """First touch and last touch cannot see them: they precede the (direct) MQL-tipping touch."""
    kinds = " OR ".join(
        f"(t.channel = '{c}' AND t.type = '{n.touch_type}')" for c, n in params.NURTURE.items()
    )
    late = db.scalar(
        f"""SELECT count(*) FROM touchpoints t JOIN people p USING (person_id)
            WHERE ({kinds}) AND t.channel <> p.channel
              AND NOT (t.occurred_at > p.created_at AND t.occurred_at < p.mql_at)
              AND p.mql_at IS NOT NULL"""
    )
    assert late == 0
    last = db.rows(
        """SELECT arg_max(t.channel, t.occurred_at) = 'direct', count(*)
           FROM touchpoints t JOIN people p USING (person_id)
           WHERE t.occurred_at <= p.mql_at GROUP BY p.person_id"""
    )
    direct = sum(1 for is_direct, _ in last if is_direct)
    assert direct >= 0.99 * len(last)
