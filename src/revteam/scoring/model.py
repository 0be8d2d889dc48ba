"""The predictive score: a model of "reaches the target within its window", calibrated.

scikit-learn does the learning: a regularised logistic regression over one-hot fit labels and
scaled engagement (the default: its contributions add up, so a score explains itself), or
histogram gradient boosting. The examples are split by time, never at random, because a score
is always used on leads newer than those it learnt from:

    oldest ──────────── train ──────────── │ calibrate │ holdout ── newest (mature)

The model learns on *train*; an isotonic (or Platt) map fitted on *calibrate* turns its output
into probabilities; *holdout* measures both (AUC, expected calibration error, Brier score, the
calibration curve). The score then used is refitted the same way one slice later (train up to
the holdout, calibrated on it), so it has seen the newest mature leads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from revteam.exceptions import ScoringError
from revteam.scoring.features import CATEGORICAL, NUMERIC

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
BINS = 10
"""Equal-count bins of the calibration curve and the expected calibration error."""
MIN_POSITIVES = 30
"""Leads reaching the target a fit needs at the very least, in each of train and holdout."""
PREDICT_BATCH = 500_000
"""Rows scored at once (a frame and design matrix of this many rows is some hundreds of MB)."""


@dataclass(frozen=True)
class Quality:
    """How a score did on leads it never saw."""

    n: int
    positives: int
    base_rate: float
    auc: float
    ece: float
    """Expected calibration error: |mean predicted − observed rate| over equal-count bins,
    weighted by their sizes."""
    brier: float
    log_loss: float
    curve: list[dict[str, float]] = field(default_factory=list)
    """Per bin: ``predicted`` (mean probability), ``observed`` (rate), ``n``."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "positives": self.positives,
            "base_rate": self.base_rate,
            "auc": self.auc,
            "ece": self.ece,
            "brier": self.brier,
            "log_loss": self.log_loss,
            "calibration_curve": self.curve,
        }


def quality(y: npt.NDArray[np.bool_], p: F64) -> Quality:
    """AUC, ECE, Brier score and log loss of probabilities ``p`` for outcomes ``y``."""
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    yi = y.astype(np.int64)
    clipped = np.clip(p, 1e-9, 1 - 1e-9)
    order = np.argsort(p, kind="stable")
    curve = []
    ece = 0.0
    for part in np.array_split(order, min(BINS, max(len(p), 1))):
        if not len(part):
            continue
        predicted, observed = float(p[part].mean()), float(yi[part].mean())
        ece += len(part) / len(p) * abs(predicted - observed)
        curve.append({"predicted": predicted, "observed": observed, "n": len(part)})
    both = 0 < yi.sum() < len(yi)
    return Quality(
        n=len(y),
        positives=int(yi.sum()),
        base_rate=float(yi.mean()) if len(yi) else float("nan"),
        auc=float(roc_auc_score(yi, p)) if both else float("nan"),
        ece=float(ece),
        brier=float(brier_score_loss(yi, clipped)) if len(yi) else float("nan"),
        log_loss=float(log_loss(yi, clipped, labels=[0, 1])) if len(yi) else float("nan"),
        curve=curve,
    )


class Scorer:
    """A fitted model and its calibration: features → probability of reaching the target."""

    def __init__(self, kind: str, seed: int) -> None:
        self.kind, self.seed = kind, seed
        self._model: Any = None
        self._calibration: list[Any] = []
        self._calibration_data: list[tuple[F64, F64]] = []
        self._ages: F64 = np.zeros(0)
        self.reference: dict[str, Any] = {}
        """Per feature, the value a lead is compared with when its score is explained: the
        most common label, or the median."""

    def fit(
        self,
        x: pa.Table,
        y: npt.NDArray[np.bool_],
        calibrate_x: pa.Table,
        calibrate_y: npt.NDArray[np.bool_],
    ) -> Scorer:
        _enough(y, "fitting")
        _enough(calibrate_y, "calibrating")
        self._model = _pipeline(self.kind, self.seed).fit(_frame(x), y)
        raw = self._raw(calibrate_x)
        # one calibration per age a lead is scored at: how often a given raw score comes true
        # differs between a lead just in and one a month old, and one map for all would
        # over-promise at one age what it under-promises at another
        age = _ages(calibrate_x)
        self._ages = np.unique(age)
        self._calibration = []
        self._calibration_data = []
        for a in self._ages:
            mine = age == a
            if calibrate_y[mine].sum() < MIN_POSITIVES // 3 or (~calibrate_y[mine]).sum() < 10:
                mine = np.ones(len(age), dtype=bool)  # too few at this age: all ages together
            data = (raw[mine], calibrate_y[mine].astype(np.float64))
            self._calibration_data.append(data)
            self._calibration.append(_isotonic(*data))
        frame = _frame(x)
        for name in CATEGORICAL:
            counts = frame[name].value_counts()
            self.reference[name] = counts.index[0] if len(counts) else None
        for name in NUMERIC:
            self.reference[name] = float(np.nanmedian(frame[name].to_numpy(dtype=np.float64)))
        return self

    def predict(self, x: pa.Table) -> F64:
        """Calibrated probabilities.

        Each row by the calibration of the latest age at or below its own (a lead 44 days old
        by the 30-day one).
        """
        raw = self._raw(x)
        bucket = np.maximum(np.searchsorted(self._ages, _ages(x), side="right") - 1, 0)
        out = np.empty(len(raw))
        for k, calibration in enumerate(self._calibration):
            mine = bucket == k
            if mine.any():
                out[mine] = calibration.predict(raw[mine])
        return out

    def predict_resampled(self, x: pa.Table, draws: int = 40, seed: int = 0) -> F64:
        """Probabilities under calibrations refitted on resamples of the calibration leads.

        (draws, rows): how much the calibrated probabilities owe to which leads happened to
        calibrate them, for intervals that carry that uncertainty too.
        """
        raw = self._raw(x)
        bucket = np.maximum(np.searchsorted(self._ages, _ages(x), side="right") - 1, 0)
        rng = np.random.default_rng(seed)
        out = np.empty((draws, len(raw)))
        for k, (cal_raw, cal_y) in enumerate(self._calibration_data):
            mine = bucket == k
            if not mine.any():
                continue
            for d in range(draws):
                pick = rng.integers(0, len(cal_y), len(cal_y))
                out[d, mine] = _isotonic(cal_raw[pick], cal_y[pick]).predict(raw[mine])
        return out

    def log_odds(self, x: pa.Table) -> F64:
        """The model's uncalibrated log-odds: what explanations are measured in."""
        return self._raw(x)

    def explain(self, x: pa.Table, top: int = 5) -> list[list[dict[str, Any]]]:
        """Per row, the features that moved its log-odds most from the reference lead.

        Each feature in turn is set to its reference value (the most common label, or the
        median); the change in log-odds is its contribution. For the logistic model these are
        exactly its terms (they add up to the row's log-odds minus the reference's).
        """
        frame = _frame(x)
        base = self._raw_frame(frame)
        names = [*CATEGORICAL, *NUMERIC]
        effects = np.empty((len(frame), len(names)))
        for j, name in enumerate(names):
            moved = frame.copy()
            moved[name] = self.reference[name]
            effects[:, j] = base - self._raw_frame(moved)
        out = []
        for i in range(len(frame)):
            order = np.argsort(-np.abs(effects[i]))[:top]
            out.append(
                [
                    {
                        "feature": names[j],
                        "value": _plain(frame[names[j]].iloc[i]),
                        "reference": _plain(self.reference[names[j]]),
                        "log_odds": float(effects[i, j]),
                    }
                    for j in order
                    if effects[i, j] != 0
                ]
            )
        return out

    def _raw(self, x: pa.Table) -> F64:
        """Log-odds, a batch of rows at a time (each row's is its own).

        A holdout of millions (10M leads) never becomes one pandas frame and design matrix.
        """
        if x.num_rows <= PREDICT_BATCH:
            return self._raw_frame(_frame(x))
        return np.concatenate(
            [
                self._raw_frame(_frame(x.slice(start, PREDICT_BATCH)))
                for start in range(0, x.num_rows, PREDICT_BATCH)
            ]
        )

    def _raw_frame(self, frame: Any) -> F64:
        p = np.clip(self._model.predict_proba(frame)[:, 1], 1e-12, 1 - 1e-12)
        out: F64 = np.log(p / (1 - p))
        return out


def _pipeline(kind: str, seed: int) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    if kind == "logistic":
        labels = OneHotEncoder(handle_unknown="ignore", min_frequency=20)
        prepare = ColumnTransformer(
            [("labels", labels, list(CATEGORICAL)), ("numbers", numeric, list(NUMERIC))]
        )
        model = LogisticRegression(C=1.0, max_iter=2_000)
        return Pipeline([("prepare", prepare), ("model", model)])
    if kind == "gradient_boosting":
        codes = OrdinalEncoder(
            handle_unknown="use_encoded_value", unknown_value=-1, encoded_missing_value=-1
        )
        prepare = ColumnTransformer(
            [("labels", codes, list(CATEGORICAL)), ("numbers", "passthrough", list(NUMERIC))]
        )
        model = HistGradientBoostingClassifier(
            categorical_features=list(range(len(CATEGORICAL))),
            max_iter=300,
            learning_rate=0.05,
            early_stopping=True,
            random_state=seed,
        )
        return Pipeline([("prepare", prepare), ("model", model)])
    raise ScoringError(
        f"Unknown scoring model {kind!r}.", "Set [scoring] model to logistic or gradient_boosting."
    )


def _isotonic(raw: F64, y: F64) -> Any:
    from sklearn.isotonic import IsotonicRegression

    return IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)


def _ages(x: pa.Table) -> F64:
    out: F64 = np.asarray(x.column("age_days").to_numpy(), dtype=np.float64)
    return out


def _frame(x: pa.Table) -> Any:
    frame = x.to_pandas()
    for name in CATEGORICAL:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), "(none)")
    return frame


def _enough(y: npt.NDArray[np.bool_], step: str) -> None:
    positives = int(y.sum())
    if positives < MIN_POSITIVES or len(y) - positives < MIN_POSITIVES:
        raise ScoringError(
            f"Only {positives:,} of {len(y):,} leads reached the target for {step}: a score "
            f"needs at least {MIN_POSITIVES} that did and {MIN_POSITIVES} that did not.",
            "Load more history (leads whose window has closed), or choose a more common "
            "[scoring] target.",
        )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value
