"""Channel effects planted in journeys: mid-journey nurture touches that go with becoming an MQL.

Each channel of :data:`params.NURTURE` gives a lead at most one nurture touch (an attended
webinar, after its registration; a content download; an event; a retargeting ad click) strictly
between their first touch and the touch that tipped them over to MQL, or, for a lead who does not
become an MQL, before the moment they would have. A channel reaches a lead who does not become an
MQL with probability ``q0 = reach`` and one who does with the odds multiplied by ``exp(β)``:
``logit q1 = logit q0 + β``, independently per channel given the outcome.

By Bayes' rule this is exactly a logistic model of the outcome given the touches,

``logit P(MQL | x) = logit p - Σ_c log((1 - q0_c) / (1 - q1_c)) + Σ_c β_c x_c``,

with ``p`` the lead's usual ``base * persona * segment * campaign`` probability: each nurture
touch multiplies the odds of becoming an MQL by ``exp(β_c)``, and a lead's mean probability is
still ``p``. Drawing the touches given the outcome (rather than the outcome given the touches)
leaves the funnel and every table but ``touchpoints`` exactly as they were. First touch and last
touch cannot see these touches: the first is the lead's own channel, the last the MQL-tipping
(direct) one.
"""

from __future__ import annotations

import numpy as np

from revteam.generate import params
from revteam.generate._private import Bool, Float, Int, blocks
from revteam.model import enums

CHANNELS: tuple[str, ...] = tuple(params.NURTURE)
"""The nurture channels, largest planted contribution first."""
BETA: Float = np.array([n.coefficient for n in params.NURTURE.values()])
REACH: Float = np.array([n.reach for n in params.NURTURE.values()])
"""``q0``: the chance that each channel reaches a lead who does not become an MQL."""
REACH_IF_MQL: Float = 1.0 / (1.0 + (1.0 / REACH - 1.0) * np.exp(-BETA))
"""``q1``: the chance that each channel reaches a lead who becomes an MQL."""
CHANNEL_CODES: Int = np.array([enums.CHANNELS.index(c) for c in CHANNELS], dtype=np.int64)
TOUCH_TYPES: Int = np.array(
    [enums.TOUCHPOINT_TYPES.index(n.touch_type) for n in params.NURTURE.values()], dtype=np.int64
)


def draw(rng: np.random.Generator, converted: Bool) -> tuple[Int, Int]:
    """Which leads each channel reaches, given who became an MQL: (lead, channel) pairs.

    The pairs are those of ``np.nonzero`` of the leads * channels matrix of draws, which is
    drawn a block of leads at a time (the same random numbers, in the same order).
    """
    leads, channels = [], []
    for start, stop in blocks(len(converted)):
        chance = np.where(converted[start:stop, None], REACH_IF_MQL, REACH)
        lead, channel = np.nonzero(rng.random(chance.shape) < chance)
        leads.append(lead + start)
        channels.append(channel)
    return _joined(leads), _joined(channels)


def _joined(parts: list[Int]) -> Int:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def offset() -> float:
    """``Σ_c log((1 - q0_c) / (1 - q1_c))``: how far the log-odds of an unreached lead fall."""
    return float(np.log((1.0 - REACH) / (1.0 - REACH_IF_MQL)).sum())


def reach(p: Float, weight: Float) -> Float:
    """Share of leads each channel reaches over cells of MQL probability ``p`` and weight."""
    out: Float = (weight @ (p[:, None] * REACH_IF_MQL + (1 - p)[:, None] * REACH)) / weight.sum()
    return out


def reached_rates(p: Float, weight: Float) -> tuple[Float, Float]:
    """Lead→MQL rates of the leads each channel reached, and of those it did not."""
    mqls, others = float(weight @ p), float(weight @ (1 - p))
    reached = mqls * REACH_IF_MQL / (mqls * REACH_IF_MQL + others * REACH)
    missed = mqls * (1 - REACH_IF_MQL) / (mqls * (1 - REACH_IF_MQL) + others * (1 - REACH))
    return reached, missed


def removal_effects(p: Float, weight: Float) -> Float:
    """Share of MQLs lost if each channel's nurture touches were removed (the others kept).

    Removing a touch divides the lead's odds of becoming an MQL by ``exp(β_c)``. ``p`` are the
    probabilities of cells with lead weights ``weight``; a Markov removal effect aims at this.
    """
    patterns = ((np.arange(2 ** len(CHANNELS))[:, None] >> np.arange(len(CHANNELS))) & 1) == 1
    if_mql = np.prod(np.where(patterns, REACH_IF_MQL, 1 - REACH_IF_MQL), axis=1)
    if_not = np.prod(np.where(patterns, REACH, 1 - REACH), axis=1)
    mqls = p[:, None] * if_mql[None, :]  # cells * patterns
    seen = mqls + (1 - p)[:, None] * if_not[None, :]
    odds = mqls / (seen - mqls)
    out = np.empty(len(CHANNELS))
    for c in range(len(CHANNELS)):
        fewer = odds * np.exp(-BETA[c] * patterns[:, c])[None, :]
        kept = (seen * fewer / (1 + fewer)).sum(axis=1)
        out[c] = 1.0 - float(weight @ kept) / float(weight @ p)
    return out
