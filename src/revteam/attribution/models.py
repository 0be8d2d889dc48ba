r"""Attribution models: who gets the credit for each conversion, per touch and per channel.

Every model reads :class:`~revteam.attribution.paths.Journeys` and returns a :class:`Credit`. A
journey standing for ``k`` conversions counts ``k`` times in every total; ``touch_credit`` is per
conversion, so the touches of a converting journey sum to 1. Notation: journey :math:`j` has
touches :math:`t = 1..n_j` in time order, :math:`w_j` conversions, :math:`m_j` nulls (journeys
that did not convert), value :math:`V_j`; :math:`c_t` is the channel of touch :math:`t`.

Rule-based models (credit of touch :math:`t` of journey :math:`j`):

- ``first_touch``: :math:`1` for :math:`t = 1`; ``last_touch``: :math:`1` for :math:`t = n_j`.
- ``last_non_direct``: 1 for the last touch whose channel is not ``direct`` (the last touch
  when every touch is direct).
- ``linear``: :math:`1/n_j`.
- ``time_decay``: :math:`2^{-d_t/h} / \sum_s 2^{-d_s/h}`, :math:`d_t` the days before the
  conversion, :math:`h` the half-life.
- ``u_shaped`` (position-based): 0.4 first, 0.4 last, 0.2 split over the middle touches; one
  touch: 1; two touches: 0.5 each.
- ``w_shaped``: 0.3 each for the first touch, the lead-creation touch (the last touch when none
  is marked) and the opportunity-creation touch, 0.1 split over the other touches. Milestones on
  one touch add up there; a missing milestone's 0.3 goes to those present in proportion (each
  present role then gets 0.9/r of r roles), and with no other touch the 0.1 goes to them too
  (1/r each).

Data-driven models:

- ``markov``: the absorbing Markov chain of Anderl et al. (2016) as ChannelAttribution builds it
  (``markov_model``, C++ ``markov_model_cpp``). States are ``(start)``, the channel tuples,
  ``(conversion)`` and ``(null)``. For order :math:`k` a path's states are its sliding windows
  of :math:`k` consecutive touches (a path shorter than :math:`k` is one state, itself);
  consecutive identical states are merged, so there are no self-loops ("A > A > B" is
  start → A → B at order 1). That changes no absorption probability: a self-loop only delays
  the next move. A path moves start → its states → (conversion) with weight :math:`w_j` and
  → (null) with :math:`m_j`; the moves before the end carry :math:`w_j + m_j`. Transition
  probabilities are the weights normalised per state. :math:`P` (conversion from start) solves
  :math:`(I - Q)x = r` exactly (scipy's sparse LU), and the removal effect of channel :math:`c`
  is :math:`RE_c = 1 - P_{-c}/P`, :math:`P_{-c}` with every state containing :math:`c`
  redirected to (null). This is the quantity ChannelAttribution estimates by simulation (the
  share of simulated conversions that visit :math:`c`). Credit:
  :math:`W \cdot RE_c / \sum_d RE_d`, :math:`W = \sum_j w_j`. ChannelAttribution credits value
  by value-weighted removal effects (each conversion worth the mean value per conversion of the
  paths ending in its last state); the same quantity, solved exactly, is
  ``details["value_by_removal"]``. ``channel_value`` itself is the per-touch audit's (below).
- ``shapley``: the cooperative game over the channels touched, :math:`v(S)` the conversions of
  journeys whose channel set is a subset of :math:`S` (Zhao et al. 2018; the "simplified
  Shapley value" of DP6's marketing-attribution-models). This :math:`v` is a sum of unanimity
  games, so :math:`\phi_c = \sum_{j \ni c} w_j / |C_j|`: each conversion is split equally over
  its distinct channels, exactly, for any number of channels. With ``shapley_value="rate"``,
  :math:`v(S) = \sum_{C_j \subseteq S} w_j / \sum_{C_j \subseteq S}(w_j + m_j)` (0 for no
  journey) and
  :math:`\phi_c = \sum_{S \not\ni c} \frac{|S|!(n-|S|-1)!}{n!}(v(S \cup c) - v(S))` is computed
  exactly over bitmasks (a subset-sum transform) up to ``shapley_exact_max`` channels, beyond by
  ``shapley_samples`` random orderings with a 95% bound per channel (1.96 standard errors).
  Negative values get no credit; the rest is scaled to :math:`W`.

Per-touch audit (``markov`` and rate ``shapley``): the channel totals :math:`T_c` are spread over
the touches by iterative proportional fitting on converting journey by channel touched, started
from the channel weights: :math:`x_{jc} = a_j b_c`, rows :math:`\sum_c x_{jc} = 1`, columns
:math:`\sum_j w_j x_{jc} = T_c`; a channel's share of a journey is split equally over its touches
there. When no fit can meet the totals (a channel credited by the chain but in no converting
journey), the rows still sum to 1 and a note names the largest difference.

References
----------
Anderl, E., Becker, I., von Wangenheim, F., Schumann, J. H. (2016). Mapping the customer journey:
Lessons learned from graph-based online attribution modeling. *International Journal of Research
in Marketing* 33(3), 457-474.
Altomare, D., Loris, D. ChannelAttribution: Markov model for online multi-channel attribution
(R and Python package; ``markov_model``).
Zhao, K., Mahboobi, S. H., Bagheri, S. R. (2018). Shapley value methods for attribution modeling
in online advertising. arXiv:1804.05327.
Deming, W. E., Stephan, F. F. (1940). On a least squares adjustment of a sampled frequency table
when the expected marginal totals are known. *Annals of Mathematical Statistics* 11(4), 427-444.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import sparse  # type: ignore[import-untyped]
from scipy.sparse.linalg import splu  # type: ignore[import-untyped]

from revteam.attribution.paths import F64, I64, ChannelSets, Journeys, channel_sets, group
from revteam.exceptions import AttributionError
from revteam.settings import ATTRIBUTION_MODELS

MODELS: tuple[str, ...] = ATTRIBUTION_MODELS
"""Every model, rule-based first (the settings declare them, for the metric layer too)."""
RULE_BASED: tuple[str, ...] = MODELS[:7]
ShapleyValue = Literal["conversions", "rate"]
SHAPLEY_VALUES: tuple[str, ...] = ("conversions", "rate")
MAX_EXACT = 24
"""Largest ``shapley_exact_max``: 2^24 coalitions."""
_FIT_TOL = 1e-14  # the audit's column sums, relative to the conversions (rounding stops it)
_FIT_NOTE = 1e-9
_FIT_MAX = 5_000
_FIT_FLOOR = 1e-200


@dataclass(frozen=True)
class Credit:
    """One model's credit for the journeys: per touch, per channel, and how it was found."""

    model: str
    touch_credit: F64
    """Per touch: its share of its journey's conversions (a converting journey's touches sum to
    1; 0 on non-converting journeys)."""
    channel_credit: F64
    """Per channel (as ``journeys.channels``): conversions credited; sums to the conversions."""
    channel_value: F64
    """Per channel: value credited (touch credit times journey value); sums to the value."""
    details: dict[str, Any] = field(default_factory=dict)
    """Model specifics (removal effects, Shapley values, ...) and ``notes`` (list of str)."""


@dataclass(frozen=True)
class _Options:
    half_life_days: float = 7.0
    order: int = 1
    direct: str = "direct"
    shapley_exact_max: int = 15
    shapley_samples: int = 20_000
    seed: int = 0
    shapley_value: str = "conversions"


def attribute(
    journeys: Journeys,
    model: str,
    *,
    half_life_days: float = 7.0,
    order: int = 1,
    direct: str = "direct",
    shapley_exact_max: int = 15,
    shapley_samples: int = 20_000,
    seed: int = 0,
    shapley_value: ShapleyValue = "conversions",
) -> Credit:
    """Credit the journeys' conversions and value under ``model`` (one of :data:`MODELS`).

    Parameters
    ----------
    journeys
        The paths, their conversions, nulls and value.
    model
        See the module docstring for each model's formula.
    half_life_days
        ``time_decay``: a touch this many days older counts half.
    order
        ``markov``: order of the chain, 1 to 3.
    direct
        ``last_non_direct``: the channel passed over.
    shapley_exact_max, shapley_samples, seed
        Rate ``shapley``: exact up to this many channels, else this many sampled orderings.
    shapley_value
        ``"conversions"`` (conversions of the journeys a coalition covers) or ``"rate"``
        (their conversion rate, so non-converting journeys count).

    Raises
    ------
    AttributionError
        A ``ValueError`` naming every bad option or input and what is allowed.
    """
    opts = _Options(
        half_life_days, order, direct, shapley_exact_max, shapley_samples, seed, shapley_value
    )
    _check(journeys, model, opts)
    if model in RULE_BASED:
        converting = journeys.conversions[journeys.journey] > 0
        touch = _RULES[model](journeys, _Layout.of(journeys), opts) * converting
        notes = []
        if model == "last_non_direct" and direct not in journeys.channels:
            notes.append(f"No channel is named {direct!r}: every journey credits its last touch.")
        return _credit(journeys, model, touch, None, {"notes": notes})
    if model == "markov":
        return _credit(journeys, model, *_markov(journeys, opts))
    return _credit(journeys, model, *_shapley(journeys, opts))


def bootstrap(
    journeys: Journeys,
    model: str,
    *,
    replicates: int = 200,
    level: float = 0.9,
    seed: int = 0,
    **options: Any,
) -> tuple[F64, F64]:
    """Percentile interval of ``channel_credit`` per channel, by a Poisson bootstrap.

    Each replicate redraws every path's counts: a path standing for ``k`` conversions (``m``
    nulls) stands for Poisson(k) (Poisson(m)) in it, its value scaled alike; the model is fitted
    again (the rule-based and conversion Shapley credit of a journey does not depend on the
    counts, so those replicates only re-add). The same ``seed`` gives the same interval.
    ``options`` are :func:`attribute`'s. When the per-touch audit cannot meet a data-driven
    model's totals (``details["model_credit"]``), the interval is shifted with the credit shown.
    """
    problems = []
    if isinstance(replicates, bool) or not isinstance(replicates, int) or replicates < 2:
        problems.append(f"replicates must be an integer ≥ 2, not {replicates!r}")
    if not 0 < level < 1:
        problems.append(f"level must be between 0 and 1 (e.g. 0.9), not {level!r}")
    if problems:
        raise AttributionError(f"Cannot bootstrap: {'; '.join(problems)}.")
    point = attribute(journeys, model, seed=seed, **options)
    again = _replicator(journeys, model, point, _Options(seed=seed, **options))
    rng = np.random.default_rng(seed)
    draws = np.zeros((replicates, len(journeys.channels)))
    for r in range(replicates):
        won = rng.poisson(journeys.conversions).astype(np.float64)
        lost = rng.poisson(journeys.nulls).astype(np.float64)
        if won.sum() > 0:
            worth = _ratio(journeys.value * won, journeys.conversions)
            draws[r] = again(won, lost, worth)
    low, high = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=0)
    model_credit = point.details.get("model_credit")
    if model_credit is not None:
        # the replicates are the model's totals; the credit shown is the closest per-touch
        # split's, a fixed shift from them: the interval moves with it
        shift = point.channel_credit - model_credit
        low, high = np.maximum(low + shift, 0.0), np.maximum(high + shift, 0.0)
    return low, high


def transition_matrix(journeys: Journeys, *, order: int = 1) -> list[tuple[str, str, float]]:
    """The Markov chain's transitions as ChannelAttribution reports them (``out_more``).

    Rows ``(from, to, probability)`` with states ``(start)``, ``a`` or ``a,b`` (order 2),
    ``(conversion)`` and ``(null)``; zero-probability moves are left out.
    """
    _check(journeys, "markov", _Options(order=order))
    chain = _chain(journeys, order)
    names = ["(start)", *chain.labels(journeys.channels)]
    moved, won, lost, _ = chain.weights(journeys.conversions, journeys.nulls, journeys.value)
    out = _sum(chain.move_from, moved, chain.n_states) + won + lost
    rows = [(names[f], names[t], w / out[f]) for f, t, w in zip(*chain.moves(), moved, strict=True)]
    for s in range(chain.n_states):
        rows += [
            (names[s], "(conversion)", won[s] / out[s]),
            (names[s], "(null)", lost[s] / out[s]),
        ]
    return [(f, t, float(p)) for f, t, p in rows if p > 0]


# -- checks and results -----------------------------------------------------------------------
def _check(journeys: Journeys, model: str, opts: _Options) -> None:
    problems = []
    if model not in MODELS:
        problems.append(f"unknown model {model!r} (use one of: {', '.join(MODELS)})")
    if isinstance(opts.order, bool) or opts.order not in (1, 2, 3):
        problems.append(f"Markov order {opts.order!r} is not supported (use 1, 2 or 3)")
    if not (isinstance(opts.half_life_days, int | float) and 0 < opts.half_life_days < math.inf):
        problems.append(f"half_life_days must be a number of days > 0, not {opts.half_life_days!r}")
    if not 0 <= opts.shapley_exact_max <= MAX_EXACT:
        problems.append(f"shapley_exact_max must be 0 to {MAX_EXACT}, not {opts.shapley_exact_max}")
    if opts.shapley_samples < 2:
        problems.append(f"shapley_samples must be ≥ 2, not {opts.shapley_samples}")
    if opts.shapley_value not in SHAPLEY_VALUES:
        problems.append(
            f"shapley_value {opts.shapley_value!r} is not one of {', '.join(SHAPLEY_VALUES)}"
        )
    bad = journeys.problems()
    problems += [f"journeys: {p}" for p in bad]
    if not bad and not journeys.conversions.sum() > 0:
        problems.append(
            "no journey converts (every conversions count is 0), so there is nothing to credit: "
            "widen the date range or pick a conversion that happened"
        )
    if problems:
        raise AttributionError(f"Cannot attribute: {'; '.join(problems)}.")


def _credit(
    journeys: Journeys,
    model: str,
    touch: F64,
    channel_credit: F64 | None,
    details: dict[str, Any],
) -> Credit:
    n = len(journeys.channels)
    by_touch = journeys.journey
    summed = _sum(journeys.channel, touch * journeys.conversions[by_touch], n)
    if channel_credit is not None and details.get("audit_gap", 0.0) > _FIT_NOTE * max(
        float(journeys.conversions.sum()), 1.0
    ):
        # the audit could not meet the model's totals: show what adds up, keep the model's
        details["model_credit"] = channel_credit
        channel_credit = summed
    elif channel_credit is None:
        channel_credit = summed
    value = _sum(journeys.channel, touch * journeys.value[by_touch], n)
    return Credit(model, touch, channel_credit, value, details)


def _sum(keys: I64, weights: npt.ArrayLike, size: int) -> F64:
    """``weights`` summed per key ``0 .. size - 1``."""
    return np.bincount(keys, weights, minlength=size).astype(np.float64, copy=False)


def _ratio(top: F64, bottom: F64) -> F64:
    """``top / bottom``, 0 where ``bottom`` is 0."""
    out: F64 = np.divide(top, bottom, out=np.zeros(np.shape(top)), where=bottom != 0)
    return out


# -- rule-based models ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Layout:
    starts: I64
    last: I64
    position: I64
    """Per touch: its place in its journey (0 = first)."""
    length: I64
    """Per touch: its journey's number of touches."""

    @classmethod
    def of(cls, journeys: Journeys) -> _Layout:
        starts, lengths = journeys.starts, journeys.lengths
        position = np.arange(journeys.n_touches) - starts[journeys.journey]
        return cls(starts, starts + lengths - 1, position, lengths[journeys.journey])


def _first_touch(j: Journeys, lay: _Layout, _: _Options) -> F64:
    out = np.zeros(j.n_touches)
    out[lay.starts] = 1.0
    return out


def _last_touch(j: Journeys, lay: _Layout, _: _Options) -> F64:
    out = np.zeros(j.n_touches)
    out[lay.last] = 1.0
    return out


def _last_non_direct(j: Journeys, lay: _Layout, opts: _Options) -> F64:
    direct = j.channels.index(opts.direct) if opts.direct in j.channels else -1
    marked = np.where(j.channel != direct, np.arange(j.n_touches), -1)
    chosen = np.maximum.reduceat(marked, lay.starts)
    out = np.zeros(j.n_touches)
    out[np.where(chosen >= 0, chosen, lay.last)] = 1.0
    return out


def _linear(j: Journeys, lay: _Layout, _: _Options) -> F64:
    out: F64 = 1.0 / lay.length
    return out


def _time_decay(j: Journeys, lay: _Layout, opts: _Options) -> F64:
    # measured from each journey's most recent touch, so old journeys do not underflow to 0/0
    newest = np.minimum.reduceat(j.days_before, lay.starts)[j.journey]
    weight = np.exp2(-(j.days_before - newest) / opts.half_life_days)
    out: F64 = weight / np.add.reduceat(weight, lay.starts)[j.journey]
    return out


def _u_shaped(j: Journeys, lay: _Layout, _: _Options) -> F64:
    ends = np.select([lay.length == 1, lay.length == 2], [1.0, 0.5], 0.4)
    out = np.where(lay.length >= 3, 0.2 / np.maximum(lay.length - 2, 1), 0.0)
    out[lay.starts] = ends[lay.starts]
    out[lay.last] = ends[lay.last]
    return out


def _w_shaped(j: Journeys, lay: _Layout, _: _Options) -> F64:
    n, none = j.n_touches, j.n_touches
    index = np.arange(n)
    lead = np.minimum.reduceat(np.where(j.lead_touch, index, none), lay.starts)
    lead = np.where(lead < none, lead, lay.last)
    opportunity = np.minimum.reduceat(np.where(j.opportunity_touch, index, none), lay.starts)
    has = opportunity < none
    milestone = np.zeros(n, dtype=bool)
    milestone[lay.starts] = milestone[lead] = True
    milestone[opportunity[has]] = True
    others = _sum(j.journey, ~milestone, j.n_journeys)
    role = np.where(others > 0, 0.9, 1.0) / (2 + has)
    out = np.where(milestone, 0.0, 0.1 / np.maximum(others, 1)[j.journey])
    out[lay.starts] += role
    out[lead] += role
    out[opportunity[has]] += role[has]
    return out


_RULES: dict[str, Callable[[Journeys, _Layout, _Options], F64]] = {
    "first_touch": _first_touch,
    "last_touch": _last_touch,
    "last_non_direct": _last_non_direct,
    "linear": _linear,
    "time_decay": _time_decay,
    "u_shaped": _u_shaped,
    "w_shaped": _w_shaped,
}


# -- Markov -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Chain:
    """The chain's states and every journey's moves (weights are applied per call)."""

    base: int
    order: int
    codes: I64
    """Per state 1..S (index 0 is the start): the channel tuple, base-(channels+1) digits."""
    move_from: I64
    move_to: I64
    """The distinct moves between transient states (0 = start)."""
    step_move: I64
    step_journey: I64
    exit_state: I64
    """Per journey: its last state (which moves to conversion or null)."""
    member_state: I64
    member_channel: I64
    """The channels in each state, as (state, channel) rows."""

    @property
    def n_states(self) -> int:
        return len(self.codes) + 1

    def moves(self) -> tuple[list[int], list[int]]:
        return self.move_from.tolist(), self.move_to.tolist()

    def weights(self, won: F64, lost: F64, worth: F64) -> tuple[F64, F64, F64, F64]:
        """Weights of the moves, and per state of the conversions, nulls and value after it."""
        n = self.n_states
        moved = _sum(self.step_move, (won + lost)[self.step_journey], len(self.move_to))
        ends = [_sum(self.exit_state, w, n) for w in (won, lost, worth)]
        return moved, ends[0], ends[1], ends[2]

    def labels(self, channels: tuple[str, ...]) -> list[str]:
        digits = [self.codes // self.base**i % self.base for i in reversed(range(self.order))]
        return [",".join(channels[d - 1] for d in ds if d) for ds in zip(*digits, strict=True)]


def _chain(journeys: Journeys, order: int) -> _Chain:
    lay = _Layout.of(journeys)
    base = len(journeys.channels) + 1
    if base**order >= 2**62:
        raise AttributionError(
            f"A Markov chain of order {order} over {base - 1} channels is too large.",
            "Use a lower order or fewer channels.",
        )
    # the window ending at each touch: up to `order` touches back, never before the journey
    code = np.zeros(journeys.n_touches, dtype=np.int64)
    back = np.arange(journeys.n_touches)
    for i in range(order):
        digit = journeys.channel[np.maximum(back - i, 0)] + 1
        code += np.where(lay.position >= i, digit * base**i, 0)
    # a path shorter than `order` is one state, ending at its last touch
    ends = (lay.position >= order - 1) | ((lay.length < order) & (lay.position == lay.length - 1))
    code, journey = code[ends], journeys.journey[ends]
    new = np.ones(len(code), dtype=bool)
    new[1:] = (code[1:] != code[:-1]) | (journey[1:] != journey[:-1])
    code, journey = code[new], journey[new]
    codes, state, _ = group(code)
    state = state + 1
    first = np.ones(len(state), dtype=bool)
    first[1:] = journey[1:] != journey[:-1]
    previous = np.where(first, 0, np.roll(state, 1))
    n = len(codes) + 1
    moves, step_move, _ = group(previous * n + state)
    last = np.ones(len(state), dtype=bool)
    last[:-1] = first[1:]
    digits = np.stack([codes // base**i % base for i in range(order)])
    member_state, member_digit = np.nonzero(digits.T)
    return _Chain(
        base=base,
        order=order,
        codes=codes.astype(np.int64),
        move_from=(moves // n).astype(np.int64),
        move_to=(moves % n).astype(np.int64),
        step_move=step_move.astype(np.int64),
        step_journey=journey.astype(np.int64),
        exit_state=state[last],
        member_state=member_state.astype(np.int64) + 1,
        member_channel=digits.T[member_state, member_digit].astype(np.int64) - 1,
    )


@dataclass(frozen=True)
class _Removal:
    p_conversion: float
    value: float
    """Expected value per journey started (ChannelAttribution's value simulation, exactly)."""
    effects: F64
    value_effects: F64


def _removal(chain: _Chain, won: F64, lost: F64, worth: F64, n_channels: int) -> _Removal:
    n = chain.n_states
    moved, converted, nulled, valued = chain.weights(won, lost, worth)
    total = _sum(chain.move_from, moved, n) + converted + nulled
    scale = _ratio(np.ones(n), total)
    q = sparse.csr_matrix(
        (moved * scale[chain.move_from], (chain.move_from, chain.move_to)), shape=(n, n)
    )
    system = (sparse.identity(n, format="csr") - q).tocsr()
    rhs = np.column_stack([converted * scale, valued * scale])
    p, v = _from_start(system, rhs)
    if p <= 0:
        raise AttributionError(
            "No path of the Markov chain reaches a conversion (P(conversion) is 0).",
            "Attribute journeys that include converting ones.",
        )
    effects, value_effects = np.zeros(n_channels), np.zeros(n_channels)
    for c in np.unique(chain.member_channel):
        keep = np.ones(n, dtype=bool)
        keep[chain.member_state[chain.member_channel == c]] = False
        p_c, v_c = _from_start(system[keep][:, keep], rhs[keep])
        effects[c] = 1 - p_c / p
        value_effects[c] = 1 - v_c / v if v > 0 else 0.0
    return _Removal(p, v, np.clip(effects, 0, 1), np.clip(value_effects, 0, 1))


def _from_start(system: sparse.csr_matrix, rhs: F64) -> tuple[float, float]:
    """Absorption (conversion, value) from the start state 0 of ``(I - Q) x = r``."""
    x = splu(system.tocsc()).solve(rhs)
    return float(x[0, 0]), float(x[0, 1])


def _markov(journeys: Journeys, opts: _Options) -> tuple[F64, F64, dict[str, Any]]:
    chain = _chain(journeys, opts.order)
    n = len(journeys.channels)
    found = _removal(chain, journeys.conversions, journeys.nulls, journeys.value, n)
    total, value = journeys.conversions.sum(), journeys.value.sum()
    credit = total * found.effects / found.effects.sum()
    touch, audit = _audit(journeys, channel_sets(journeys), credit, "markov")
    details: dict[str, Any] = {
        "order": opts.order,
        "states": chain.n_states - 1,
        "p_conversion": found.p_conversion,
        "removal_effects": found.effects,
        "removal_effects_value": found.value_effects,
        "value_by_removal": value * _ratio(found.value_effects, found.value_effects.sum()),
        "exact": True,
        **audit,
    }
    return touch, credit, details


# -- Shapley ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Game:
    """The channel-set game: players are the channels touched, coalitions cover sets."""

    sets: ChannelSets
    players: I64
    """The channel of each player."""
    member_player: I64
    """``sets.set_channel`` as players."""

    @classmethod
    def of(cls, journeys: Journeys, sets: ChannelSets) -> _Game:
        players = np.unique(sets.set_channel)
        player_of = np.full(len(journeys.channels), -1, dtype=np.int64)
        player_of[players] = np.arange(len(players))
        return cls(sets, players.astype(np.int64), player_of[sets.set_channel])

    def values(self, won: F64, lost: F64, opts: _Options) -> tuple[F64, F64, bool]:
        """Shapley values and 95% bounds per player (bounds 0 when exact), and exactness."""
        size = self.sets.n_sets
        covered = _sum(self.sets.journey_set, won, size)
        seen = _sum(self.sets.journey_set, won + lost, size)
        rate = opts.shapley_value == "rate"
        n = len(self.players)
        if n <= opts.shapley_exact_max:
            masks = _sum(self.sets.set_of, 2.0**self.member_player, size)
            exact = _shapley_exact(masks.astype(np.int64), covered, seen, n, rate)
            return exact, np.zeros(n), True
        phi, bound = _shapley_sampled(self, covered, seen, rate, opts)
        return phi, bound, False


def _shapley_exact(masks: I64, won: F64, seen: F64, n: int, rate: bool) -> F64:
    """φ over all 2^n coalitions: v by a subset-sum (zeta) transform, then Shapley's sum."""
    size = 1 << n
    covered = _sum(masks, won, size)
    reached = _sum(masks, seen, size)
    for i in range(n):
        for table in (covered, reached):
            halves = table.reshape(-1, 2, 1 << i)
            halves[:, 1, :] += halves[:, 0, :]
    v = _ratio(covered, reached) if rate else covered
    ones = np.zeros(size, dtype=np.int64)
    for i in range(n):
        ones += (np.arange(size) >> i) & 1
    weight = np.array([1 / (n * math.comb(n - 1, k)) for k in range(n)])
    phi = np.empty(n)
    for i in range(n):
        halves = v.reshape(-1, 2, 1 << i)
        without = ones.reshape(-1, 2, 1 << i)[:, 0, :]
        phi[i] = float((weight[without] * (halves[:, 1, :] - halves[:, 0, :])).sum())
    return phi


def _shapley_sampled(
    game: _Game, won: F64, seen: F64, rate: bool, opts: _Options
) -> tuple[F64, F64]:
    """Mean marginal contribution over random orderings, and 1.96 standard errors."""
    n, size = len(game.players), game.sets.n_sets
    starts = np.searchsorted(game.sets.set_of, np.arange(size))
    rng = np.random.default_rng(opts.seed)
    batch = max(1, min(opts.shapley_samples, 2**22 // max(len(game.member_player), n)))
    total, square = np.zeros(n), np.zeros(n)
    done = 0
    while done < opts.shapley_samples:
        b = min(batch, opts.shapley_samples - done)
        order = rng.permuted(np.tile(np.arange(n), (b, 1)), axis=1)
        place = np.argsort(order, axis=1)
        # a set joins the coalition when its last player arrives
        joins = np.maximum.reduceat(place[:, game.member_player], starts, axis=1)
        cell = (np.arange(b)[:, None] * n + joins).ravel()
        covered = _sum(cell, np.tile(won, b), b * n).reshape(b, n).cumsum(1)
        if rate:
            reached = _sum(cell, np.tile(seen, b), b * n).reshape(b, n)
            covered = _ratio(covered, reached.cumsum(1))
        step = np.diff(covered, axis=1, prepend=0.0).ravel()
        total += _sum(order.ravel(), step, n)
        square += _sum(order.ravel(), step**2, n)
        done += b
    m = opts.shapley_samples
    mean = total / m
    spread = np.maximum(square - m * mean**2, 0) / (m - 1)
    return mean, 1.96 * np.sqrt(spread / m)


def _shapley(journeys: Journeys, opts: _Options) -> tuple[F64, F64, dict[str, Any]]:
    sets = channel_sets(journeys)
    n = len(journeys.channels)
    no_nulls = opts.shapley_value == "rate" and not journeys.nulls.sum() > 0
    if opts.shapley_value == "conversions" or no_nulls:
        touch, credit = _even_split(journeys, sets)
        details = _shapley_details(journeys, credit, np.zeros(n), "closed form", opts)
        if no_nulls:  # every journey converts: a rate is 1 wherever there are journeys
            details["shapley_value"] = "conversions"
            details["notes"] = [
                "Every journey converted, so conversion rates cannot tell channels apart: "
                "Shapley shares each conversion equally by the channels it touched."
            ]
        return touch, credit, details
    game = _Game.of(journeys, sets)
    phi, bound, exact = game.values(journeys.conversions, journeys.nulls, opts)
    values, bounds = np.zeros(n), np.zeros(n)
    values[game.players], bounds[game.players] = phi, bound
    credit = _scaled(values, journeys.conversions.sum())
    touch, audit = _audit(journeys, sets, credit, "shapley")
    method = "exact" if exact else "sampled"
    details = _shapley_details(journeys, values, bounds, method, opts)
    details["notes"] = [
        f"{journeys.channels[c]}'s Shapley value is negative ({values[c]:.4g}): it gets no "
        "credit, and the others' credit is scaled to the conversions."
        for c in np.flatnonzero(values < -1e-12 * np.abs(values).sum())
    ] + audit.pop("notes")
    return touch, credit, {**details, **audit}


def _even_split(journeys: Journeys, sets: ChannelSets) -> tuple[F64, F64]:
    """Each conversion split equally over its journey's distinct channels (Zhao et al.)."""
    distinct = np.bincount(sets.pair_journey, minlength=journeys.n_journeys).astype(np.float64)
    pair = sets.touch_pair
    converting = journeys.conversions[journeys.journey] > 0
    touch = converting / (distinct[journeys.journey] * sets.pair_touches[pair])
    per_pair = journeys.conversions[sets.pair_journey] / distinct[sets.pair_journey]
    credit = _sum(sets.pair_channel, per_pair, len(journeys.channels))
    return touch, credit


def _scaled(values: F64, total: float) -> F64:
    """Positive values scaled to ``total`` (negative ones get nothing)."""
    kept = np.maximum(values, 0.0)
    out: F64 = total * kept / kept.sum()
    return out


def _shapley_details(
    journeys: Journeys, values: F64, bounds: F64, method: str, opts: _Options
) -> dict[str, Any]:
    sampled = method == "sampled"
    return {
        "shapley": values,
        "shapley_value": opts.shapley_value,
        "method": method,
        "exact": not sampled,
        "samples": opts.shapley_samples if sampled else 0,
        "error_bound": bounds,
        "players": int((np.bincount(journeys.channel, minlength=len(values)) > 0).sum()),
        "notes": [],
    }


# -- per-touch audit --------------------------------------------------------------------------
def _audit(
    journeys: Journeys, sets: ChannelSets, target: F64, model: str
) -> tuple[F64, dict[str, Any]]:
    """Touch credits whose rows sum to 1 and whose channel sums meet ``target`` (IPF)."""
    rows = _sum(sets.journey_set, journeys.conversions, sets.n_sets)
    share, rounds = _fit(sets.set_of, sets.set_channel, rows, target)
    # a journey's pairs line up with its set's members (both sorted by channel)
    set_start = np.searchsorted(sets.set_of, np.arange(sets.n_sets))
    pair_start = np.searchsorted(sets.pair_journey, np.arange(journeys.n_journeys))
    rank = np.arange(len(sets.pair_journey)) - pair_start[sets.pair_journey]
    member = set_start[sets.journey_set[sets.pair_journey]] + rank
    pair = sets.touch_pair
    weight = journeys.conversions[journeys.journey]
    touch = share[member[pair]] / sets.pair_touches[pair] * (weight > 0)
    miss = np.abs(_sum(journeys.channel, touch * weight, len(target)) - target)
    gap = float(miss.max())
    notes = []
    if gap > _FIT_NOTE * journeys.conversions.sum():
        notes.append(
            f"No per-touch split of each conversion meets the {model} totals exactly (the "
            f"closest is {gap:.3g} conversions off, for "
            f"{journeys.channels[int(np.argmax(miss))]}): the credit shown is the closest "
            "split's, which adds up per conversion and in total; the model's own totals are "
            "in details (model_credit)."
        )
    return touch, {"audit_gap": gap, "audit_rounds": rounds, "notes": notes}


def _fit(row_of: I64, column_of: I64, weight: F64, target: F64) -> tuple[F64, int]:
    """Iterative proportional fitting of ``x = a_row b_column`` on the given cells.

    Rows sum to 1, columns (rows weighted by ``weight``) to ``target``, as closely as the cells
    allow; the last step is always a row step. Returns the cells and the rounds taken.
    """
    n_rows = len(weight)
    b = target.astype(np.float64).copy()
    tol = _FIT_TOL * max(float(target.sum()), 1.0)
    best, checked = math.inf, math.inf
    for rounds in range(1, _FIT_MAX + 1):
        mass = _sum(row_of, b[column_of], n_rows)
        a = _ratio(np.ones(n_rows), mass)
        reach = _sum(column_of, (weight * a)[row_of], len(target))
        best = min(best, float(np.abs(reach * b - target).max()))
        if best <= tol or rounds == _FIT_MAX:
            break
        if rounds % 100 == 0:
            if best > 0.999 * checked:  # stalled: the cells cannot meet the totals
                break
            checked = best
        b = np.where(reach > 0, _ratio(target, reach), b)  # the column step
        # cells are a_row b_column: b may be rescaled freely, which keeps it finite when a
        # column cannot be met and its factor grows without bound
        top = float(b.max())
        if top > 0:
            b = np.where(b > 0, np.clip(b / top, _FIT_FLOOR, 1.0), 0.0)
    cells = a[row_of] * b[column_of]
    # a set whose channels all have zero credit: split evenly (rows must sum to 1)
    size = np.bincount(row_of, minlength=n_rows)
    empty = (mass <= 0)[row_of]
    cells[empty] = 1.0 / size[row_of][empty]
    return cells, rounds


def _replicator(
    journeys: Journeys, model: str, point: Credit, opts: _Options
) -> Callable[[F64, F64, F64], F64]:
    """Channel credit for other counts of the same paths (for the bootstrap)."""
    n = len(journeys.channels)
    if model in RULE_BASED or (model == "shapley" and opts.shapley_value == "conversions"):
        share = sparse.csr_matrix(
            (point.touch_credit, (journeys.journey, journeys.channel)),
            shape=(journeys.n_journeys, n),
        ).T.tocsr()
        return lambda won, _lost, _worth: np.asarray(share @ won, dtype=np.float64)
    if model == "markov":
        chain = _chain(journeys, opts.order)

        def markov(won: F64, lost: F64, worth: F64) -> F64:
            effects = _removal(chain, won, lost, worth, n).effects
            out: F64 = won.sum() * effects / effects.sum()
            return out

        return markov
    game = _Game.of(journeys, channel_sets(journeys))

    def shapley(won: F64, lost: F64, _worth: F64) -> F64:
        values = np.zeros(n)
        values[game.players] = game.values(won, lost, opts)[0]
        return _scaled(values, won.sum())

    return shapley
