"""Fitting the lead score: pure computation on what :meth:`ScoringComponent.inputs` read.

Split from the component so a server can read under its warehouse gate and fit outside it
(a minute at 1M leads): nothing here touches the warehouse.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from revteam.exceptions import ScoringError
from revteam.scoring.features import US_PER_DAY, Leads, features
from revteam.scoring.model import Quality, Scorer, quality

if TYPE_CHECKING:
    from revteam.scoring.rules import Rules
    from revteam.settings import ScoringSettings

I64 = npt.NDArray[np.int64]
MAX_LEARN = 400_000
"""Examples a model learns from at most (a seeded random subset beyond it): a few dozen
coefficients are pinned down long before, and fitting stays within minutes at 10M leads.
Calibration and measurement always use every example of their slice."""


@dataclass(frozen=True)
class Examples:
    """Past leads, each seen at the ages it was still open, with whether it reached the target."""

    rows: I64
    """Rows of :class:`Leads`."""
    at_us: I64
    age_days: I64
    reached: npt.NDArray[np.bool_]
    split: npt.NDArray[np.int8]
    """0 train, 1 calibrate, 2 holdout (by the lead's creation, newest last)."""


@dataclass(frozen=True)
class Outcomes:
    """Per lead: what the target's records say of it (aligned with :class:`Leads`)."""

    known: npt.NDArray[np.bool_]
    reached: I64
    disqualified: I64
    within: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class ScoreFit:
    """A fitted score: how it did on the newest leads it never saw, and the model to use."""

    target: str
    window_days: int
    model: str
    as_of: dt.datetime
    periods: dict[str, tuple[dt.date, dt.date]]
    """Creation dates of the leads in ``train``, ``calibrate`` and ``holdout``."""
    examples: dict[str, int]
    holdout: Quality
    """On every holdout example (every age)."""
    by_age: dict[int, Quality]
    """On the holdout examples of each age in ``[scoring] score_ages_days``."""
    scorer: Scorer = field(repr=False)
    """Refitted one slice later: learnt up to the holdout, calibrated on it."""
    checked: Scorer = field(repr=False)
    """The model measured on the holdout: learnt on ``train`` only, so every later month is
    out of its sample (what monitoring ranks with)."""
    resampled: npt.NDArray[np.float64] = field(repr=False)
    """The judged-age holdout rows of ``predictions`` under calibrations refitted on
    resamples of the calibration leads (draws × rows): the threshold curve's calibration
    uncertainty."""
    rules_auc: dict[int, float]
    """The rules score's AUC (``scoring.yaml``: fit + engagement points) on the same holdout
    examples, per age: what the model is measured against."""
    rules_source: str
    predictions: pa.Table = field(repr=False)
    """The holdout's examples: ``person_id``, ``created_at``, ``age_days``, ``score`` (by
    the checked model, which never saw them) and ``reached`` (the target, within its
    window)."""

    judged_age: int = 0
    """The age the score is judged at (``score_after_days``): ``auc`` and ``ece`` are there."""
    data_version: int = 0
    """The warehouse's data version it was fitted on."""

    def as_dict(self) -> dict[str, Any]:
        judged = self.by_age.get(self.judged_age)
        return {
            "target": self.target,
            "window_days": self.window_days,
            "model": self.model,
            "as_of": self.as_of.isoformat(),
            "periods": {k: [a.isoformat(), b.isoformat()] for k, (a, b) in self.periods.items()},
            "examples": self.examples,
            "auc": judged.auc if judged else self.holdout.auc,
            "ece": judged.ece if judged else self.holdout.ece,
            "holdout": self.holdout.as_dict(),
            "judged_age_days": self.judged_age,
            "rules": {"source": self.rules_source, "auc": self.rules_auc.get(self.judged_age)},
            "rules_auc_by_age": {str(a): v for a, v in self.rules_auc.items()},
            "by_age": {str(a): q.as_dict() for a, q in self.by_age.items()},
        }


@dataclass(frozen=True)
class FitInputs:
    """What fitting needs from the warehouse, read at once (``ws.scoring.inputs``)."""

    cut: dt.datetime
    settings: ScoringSettings
    leads: Leads
    outcomes: Outcomes
    window_days: int
    rules: Rules
    rules_source: str
    data_version: int


def fit_score(inputs: FitInputs) -> ScoreFit:
    """Fit the score on every lead whose window has closed by ``inputs.cut``.

    Measured on the newest of them (``[scoring] holdout_share``), never seen in fitting;
    the returned scorer is then refitted to include them.
    """
    cfg, leads, window = inputs.settings, inputs.leads, inputs.window_days
    ex = examples(leads, inputs.outcomes, inputs.cut, window, cfg)
    train, calibrate, holdout = (np.flatnonzero(ex.split == k) for k in range(3))
    y = ex.reached
    rng = np.random.default_rng(cfg.seed)
    learn = _at_most(train, MAX_LEARN, rng)
    earlier = _at_most(np.flatnonzero(ex.split < 2), MAX_LEARN, rng)
    # features of the examples used only: most of train is never learnt from (MAX_LEARN),
    # and at 10M leads every example's features would not fit in memory
    x = _Rows(
        leads,
        ex,
        np.unique(np.concatenate([learn, earlier, calibrate, holdout])),
        cfg.half_life_days,
    )
    x_holdout = x.take(holdout)
    checked = Scorer(cfg.model, cfg.seed).fit(
        x.take(learn), y[learn], x.take(calibrate), y[calibrate]
    )
    p = checked.predict(x_holdout)
    by_age = {
        int(a): quality(y[holdout][mine], p[mine])
        for a in cfg.score_ages_days
        if (mine := ex.age_days[holdout] == a).any()
    }
    fit_points, engaged, _ = inputs.rules.score(x_holdout)
    by_rules = fit_points + engaged
    rules_auc = {
        a: quality(y[holdout][mine], by_rules[mine]).auc
        for a in by_age
        if (mine := ex.age_days[holdout] == a).any()
    }
    judged_age = cfg.score_after_days if cfg.score_after_days in by_age else 0
    judged_rows = holdout[ex.age_days[holdout] == judged_age]
    resampled = checked.predict_resampled(x.take(judged_rows), seed=cfg.seed)
    final = Scorer(cfg.model, cfg.seed).fit(x.take(earlier), y[earlier], x_holdout, y[holdout])
    created = leads.created_us[ex.rows]
    periods = {
        name: (day_of(created[part].min()), day_of(created[part].max()))
        for name, part in (("train", train), ("calibrate", calibrate), ("holdout", holdout))
    }
    return ScoreFit(
        target=cfg.target,
        window_days=window,
        model=cfg.model,
        as_of=inputs.cut,
        periods=periods,
        examples={"train": len(train), "calibrate": len(calibrate), "holdout": len(holdout)},
        holdout=quality(y[holdout], p),
        by_age=by_age,
        scorer=final,
        checked=checked,
        rules_auc=rules_auc,
        rules_source=inputs.rules_source,
        predictions=pa.table(
            {
                "person_id": leads.person_id.take(pa.array(ex.rows[holdout])),
                "created_at": pa.array(created[holdout], pa.timestamp("us")),
                "age_days": ex.age_days[holdout],
                "score": p,
                "reached": y[holdout],
            }
        ),
        judged_age=judged_age,
        resampled=resampled,
        data_version=inputs.data_version,
    )


def examples(
    leads: Leads, outcome: Outcomes, cut: dt.datetime, window: int, cfg: ScoringSettings
) -> Examples:
    """Every mature lead at each ``score_ages_days`` age it was still open, split by creation."""
    reached, dq, within = outcome.reached, outcome.disqualified, outcome.within
    created = leads.created_us
    mature = outcome.known & (created + window * US_PER_DAY <= micros_of(cut))
    rows, ages, moments = [], [], []
    for days in sorted(set(cfg.score_ages_days)):
        if days >= window:
            continue
        moment = created + days * US_PER_DAY
        still_open = mature & (reached > moment) & (dq > moment)
        keep = np.flatnonzero(still_open)
        rows.append(keep)
        ages.append(np.full(len(keep), days, dtype=np.int64))
        moments.append(moment[keep])
    if not rows:
        raise ScoringError(
            f"Every [scoring] score_ages_days is at or past the target's {window}-day window.",
            "Give ages below the window, e.g. [0, 7, 30].",
        )
    row, at = np.concatenate(rows), np.concatenate(moments)
    split = _split(created, mature, cfg.holdout_share)[row]
    if not (split == 2).any() or not (split == 0).any():
        raise ScoringError(
            f"Too few leads whose {window}-day window has closed to fit and check a score.",
            "Load more history.",
        )
    return Examples(
        rows=row, at_us=at, age_days=np.concatenate(ages), reached=within[row], split=split
    )


def _split(created: I64, mature: npt.NDArray[np.bool_], share: float) -> npt.NDArray[np.int8]:
    """Per lead: 0 train, 1 calibrate, 2 holdout, by creation among the mature leads."""
    split = np.full(len(created), -1, dtype=np.int8)
    times = np.sort(created[mature])
    if not len(times):
        return split
    holdout_from = times[int(len(times) * (1 - share))]
    calibrate_from = times[int(len(times) * (1 - 2 * share))]
    split[mature] = 0
    split[mature & (created >= calibrate_from)] = 1
    split[mature & (created >= holdout_from)] = 2
    return split


class _Rows:
    """The features of some examples (``kept``, sorted), taken by example index."""

    def __init__(self, leads: Leads, ex: Examples, kept: I64, half_life_days: float) -> None:
        self._kept = kept
        self._x = features(leads, ex.rows[kept], ex.at_us[kept], half_life_days=half_life_days)

    def take(self, wanted: I64) -> pa.Table:
        at = np.searchsorted(self._kept, wanted)
        if not np.array_equal(self._kept[np.minimum(at, len(self._kept) - 1)], wanted):
            raise ValueError("asked for the features of an example that were not computed")
        return self._x.take(pa.array(at))


def _at_most(rows: I64, most: int, rng: np.random.Generator) -> I64:
    if len(rows) <= most:
        return rows
    out: I64 = np.sort(rng.choice(rows, most, replace=False))
    return out


def micros_of(at: dt.datetime) -> int:
    """Microseconds since 1970 of a naive (UTC) or aware time."""
    moment = at if at.tzinfo is None else at.astimezone(dt.UTC).replace(tzinfo=None)
    return int((moment - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))


def day_of(us: int | np.integer[Any]) -> dt.date:
    """The day of a moment in microseconds since 1970."""
    return (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(us))).date()
