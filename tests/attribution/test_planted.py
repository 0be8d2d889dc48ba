"""The channel effects planted in journeys (``truth["attribution"]``, docs/generator.md) are what
the data-driven models find, and what first and last touch cannot.

Nurture touches of four channels sit between a lead's first touch (their own channel) and the
``direct`` touch that tips them over to MQL. Three raise the odds of becoming an MQL, in a planted
order; the fourth (retargeting ads) is a control without effect. First touch credits lead
volumes, last touch credits ``direct``; Markov and Shapley see the journeys in between. The
planted order goes against the lead volumes (without the effects, first touch, Markov and
Shapley all rank the control first or second), so only the effects can produce it.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from revteam.generate import Company
from revteam.workspace import Workspace

MODELS = ("first_touch", "last_touch", "markov", "shapley")


@pytest.fixture(scope="module")
def planted_effects(planted_company: Company) -> dict[str, Any]:
    effects: dict[str, Any] = planted_company.truth["attribution"]
    return effects


@pytest.fixture(scope="module")
def shares(planted: Workspace, planted_effects: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Share of the planted conversion's credit by channel, per model."""
    conversion = planted_effects["conversion"]
    out = {}
    for model in MODELS:
        result = planted.attribution.run(model, conversion=conversion, by="channel")
        out[model] = {row["channel"]: row["share"] for row in result.rows}
    return out


def ranked(share: dict[str, float], channels: list[str]) -> list[str]:
    return sorted(channels, key=lambda c: -share.get(c, 0.0))


@pytest.mark.parametrize("model", ["markov", "shapley"])
def test_data_driven_models_recover_the_planted_order(model, shares, planted_effects):
    order = planted_effects["ordering"]
    share = shares[model]
    assert ranked(share, order) == order, {c: round(share.get(c, 0.0), 4) for c in order}
    # clearly apart, not by a hair: each channel beats the next by a point of the conversions
    gaps = [share[a] - share[b] for a, b in itertools.pairwise(order)]
    assert min(gaps) > 0.01, gaps


def test_first_touch_credits_lead_volumes_not_the_plant(shares, planted_effects):
    order = planted_effects["ordering"]
    share = shares["first_touch"]
    assert ranked(share, order) != order
    # events leads outnumber content leads in MQLs: first touch reverses the planted pair
    assert order.index("content") < order.index("events")
    assert share["events"] > share["content"]
    # and the control, a big source of leads, outranks channels with effects
    control = [c for c, v in planted_effects["effects"].items() if v == 0]
    assert control == [order[-1]]
    assert share[control[0]] > max(share["content"], share["events"])


def test_last_touch_gives_the_planted_channels_nothing(shares, planted_effects):
    share = shares["last_touch"]
    assert share["direct"] > 0.98
    assert all(share.get(c, 0.0) < 0.005 for c in planted_effects["ordering"])
