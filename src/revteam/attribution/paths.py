"""Journeys in columnar form: what every attribution model reads.

A *journey* is one conversion's (or one non-converting person's or account's) touches in time
order. The models never see the warehouse: :mod:`revteam.attribution.journeys` builds a
:class:`Journeys` from it, and the tests build small ones by hand (``Journeys.from_paths``).
Identical paths may be given once with a count (``conversions`` and ``nulls``), as
ChannelAttribution's path tables are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from revteam.exceptions import AttributionError

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


_PER_TOUCH = ("journey", "channel", "days_before", "lead_touch", "opportunity_touch")


@dataclass(frozen=True)
class Journeys:
    """Touches of many journeys, sorted by journey then time (one row per touch).

    Per touch (length ``n_touches``): ``journey`` (index into the per-journey arrays, non-
    decreasing), ``channel`` (index into ``channels``), ``days_before`` (days from the touch to
    the journey's conversion, or to its end for a non-converting one; ≥ 0, for time decay),
    ``lead_touch`` and ``opportunity_touch`` (the touch that created the lead / the
    opportunity, for W-shaped; at most one of each per journey).

    Per journey (length ``n_journeys``): ``conversions`` (conversions this path stands for,
    0 for a non-converting journey), ``nulls`` (non-conversions it stands for), ``value``
    (the amount converted, summed over its conversions; 0 without an amount).

    Every journey has at least one touch.
    """

    channels: tuple[str, ...]
    journey: I64
    channel: I64
    days_before: F64
    conversions: F64
    nulls: F64
    value: F64
    lead_touch: B = field(default_factory=lambda: np.zeros(0, dtype=bool))
    opportunity_touch: B = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __post_init__(self) -> None:
        n = len(self.journey)
        for name in ("lead_touch", "opportunity_touch"):
            if len(getattr(self, name)) == 0:
                object.__setattr__(self, name, np.zeros(n, dtype=bool))

    @property
    def n_touches(self) -> int:
        return len(self.journey)

    @property
    def n_journeys(self) -> int:
        return len(self.conversions)

    @property
    def starts(self) -> I64:
        """Index of each journey's first touch (journeys are contiguous)."""
        out: I64 = np.searchsorted(self.journey, np.arange(self.n_journeys)).astype(np.int64)
        return out

    @property
    def lengths(self) -> I64:
        """Touches per journey."""
        return np.bincount(self.journey, minlength=self.n_journeys).astype(np.int64)

    def problems(self) -> list[str]:
        """Every way these arrays break the layout above (empty when they are fine)."""
        n, m = self.n_touches, self.n_journeys
        found = [
            f"{name} has {len(getattr(self, name))} entries for {size} {what}"
            for names, size, what in (
                (_PER_TOUCH, n, "touches"),
                (("conversions", "nulls", "value"), m, "journeys"),
            )
            for name in names
            if len(getattr(self, name)) != size
        ]
        if found or n == 0 or m == 0:
            return found or ["there are no touches" if m else "there are no journeys"]
        if self.journey[0] < 0 or self.journey[-1] >= m or np.any(np.diff(self.journey) < 0):
            found.append("journey must be sorted and index the per-journey arrays")
        elif np.any(self.lengths == 0):
            found.append(f"{int((self.lengths == 0).sum())} journeys have no touch")
        if np.any((self.channel < 0) | (self.channel >= len(self.channels))):
            found.append(f"channel must index channels (0 to {len(self.channels) - 1})")
        for name in ("days_before", "conversions", "nulls"):
            values = getattr(self, name)
            if not np.all(np.isfinite(values) & (values >= 0)):
                found.append(f"{name} must be finite and ≥ 0")
        if not np.all(np.isfinite(self.value)):
            found.append("value must be finite")
        elif np.any((self.value != 0) & (self.conversions == 0)):
            found.append("value must be 0 on non-converting journeys (nothing converts there)")
        return found

    def validate(self) -> None:
        """Raise :class:`AttributionError` naming every problem :meth:`problems` finds."""
        found = self.problems()
        if found:
            raise AttributionError(
                f"These journeys are not valid: {'; '.join(found)}.",
                "Build them with Journeys.from_paths or revteam.attribution.journeys.",
            )

    def reweighted(self, conversions: F64, nulls: F64, value: F64) -> Journeys:
        """The same paths standing for other counts (a bootstrap replicate)."""
        return replace(self, conversions=conversions, nulls=nulls, value=value)

    @classmethod
    def from_paths(
        cls,
        paths: Sequence[str],
        conversions: Sequence[float],
        nulls: Sequence[float] | None = None,
        values: Sequence[float] | None = None,
        *,
        sep: str = ">",
        days_before: Sequence[Sequence[float]] | None = None,
        lead: Sequence[int | None] | None = None,
        opportunity: Sequence[int | None] | None = None,
    ) -> Journeys:
        """Journeys from ChannelAttribution-style paths (``"a > b > c"``) and their counts.

        ``lead`` and ``opportunity`` give, per path, the position (0 = first) of the touch that
        created the lead / the opportunity, or None.
        """
        names: dict[str, int] = {}
        journey: list[int] = []
        channel: list[int] = []
        days: list[float] = []
        marks: dict[str, list[int]] = {"lead": [], "opportunity": []}
        for j, path in enumerate(paths):
            steps = [s.strip() for s in path.split(sep) if s.strip()]
            if not steps:
                raise ValueError(f"path {j} has no touch")
            given = days_before[j] if days_before is not None else range(len(steps) - 1, -1, -1)
            if len(given) != len(steps):
                raise ValueError(f"path {j}: {len(steps)} touches but {len(given)} days")
            for name, given_at in (("lead", lead), ("opportunity", opportunity)):
                at = None if given_at is None else given_at[j]
                if at is not None:
                    marks[name].append(len(journey) + at)
            for step, d in zip(steps, given, strict=True):
                journey.append(j)
                channel.append(names.setdefault(step, len(names)))
                days.append(float(d))
        n = len(paths)
        lead_touch, opportunity_touch = np.zeros((2, len(journey)), dtype=bool)
        lead_touch[marks["lead"]] = True
        opportunity_touch[marks["opportunity"]] = True
        return cls(
            channels=tuple(names),
            journey=np.asarray(journey, dtype=np.int64),
            channel=np.asarray(channel, dtype=np.int64),
            days_before=np.asarray(days, dtype=np.float64),
            conversions=np.asarray(conversions, dtype=np.float64),
            nulls=np.zeros(n) if nulls is None else np.asarray(nulls, dtype=np.float64),
            value=np.zeros(n) if values is None else np.asarray(values, dtype=np.float64),
            lead_touch=lead_touch,
            opportunity_touch=opportunity_touch,
        )


@dataclass(frozen=True)
class ChannelSets:
    """Which channels each journey touched: its (journey, channel) pairs and its channel set.

    Pairs are sorted by journey, then channel; the distinct sets are numbered in sorted order of
    their bitmasks. What Shapley values and the per-touch audits read.
    """

    touch_pair: I64
    """Per touch: its pair."""
    pair_journey: I64
    pair_channel: I64
    pair_touches: I64
    """Per pair: how many of the journey's touches are on that channel."""
    journey_set: I64
    """Per journey: its channel set."""
    set_of: I64
    set_channel: I64
    """Members of every distinct set, as (set, channel) rows sorted by set."""
    n_sets: int


def group(keys: I64) -> tuple[I64, I64, I64]:
    """The distinct keys (≥ 0) in order, each key's index among them, and their counts.

    ``np.unique`` without its sort when the keys are few enough to count directly.
    """
    top = int(keys.max()) + 1 if len(keys) else 0
    if top > max(4 * len(keys), 1 << 20):
        found, index, counts = np.unique(keys, return_inverse=True, return_counts=True)
        return found, index.ravel().astype(np.int64), counts.astype(np.int64)
    counts = np.bincount(keys, minlength=top)
    present = counts > 0
    return np.flatnonzero(present), np.cumsum(present)[keys] - 1, counts[present]


def channel_sets(journeys: Journeys) -> ChannelSets:
    """Group touches into (journey, channel) pairs and journeys into distinct channel sets."""
    n_channels = max(len(journeys.channels), 1)
    pairs, touch_pair, pair_touches = group(journeys.journey * n_channels + journeys.channel)
    pair_journey, pair_channel = pairs // n_channels, pairs % n_channels
    starts = np.searchsorted(pair_journey, np.arange(journeys.n_journeys))
    journey_set, first = _set_ids(pair_channel, starts, n_channels)
    is_first = np.zeros(journeys.n_journeys, dtype=bool)
    is_first[first] = True
    mine = is_first[pair_journey]
    set_of = journey_set[pair_journey[mine]]
    order = np.argsort(set_of, kind="stable")
    return ChannelSets(
        touch_pair=touch_pair,
        pair_journey=pair_journey,
        pair_channel=pair_channel,
        pair_touches=pair_touches,
        journey_set=journey_set,
        set_of=set_of[order],
        set_channel=pair_channel[mine][order],
        n_sets=len(first),
    )


def _set_ids(pair_channel: I64, starts: I64, n_channels: int) -> tuple[I64, I64]:
    """Per journey its set's number, and per set its first journey (sets are bitmasks)."""
    if n_channels <= 62:
        masks = np.bitwise_or.reduceat(np.left_shift(1, pair_channel), starts)
        _, journey_set, _ = group(masks)
    else:  # one 64-bit word per 64 channels (a journey's pairs have distinct channels)
        bits = np.left_shift(np.uint64(1), (pair_channel % 64).astype(np.uint64))
        word = pair_channel // 64
        words = np.stack(
            [
                np.bitwise_or.reduceat(np.where(word == w, bits, np.uint64(0)), starts)
                for w in range((n_channels + 63) // 64)
            ],
            axis=1,
        )
        _, found = np.unique(words, axis=0, return_inverse=True)
        journey_set = found.ravel().astype(np.int64)
    n_sets = int(journey_set.max()) + 1
    first = np.full(n_sets, len(journey_set), dtype=np.int64)
    np.minimum.at(first, journey_set, np.arange(len(journey_set)))
    return journey_set, first
