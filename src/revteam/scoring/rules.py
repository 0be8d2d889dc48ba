"""The rules score: points for fit and engagement, written by people in ``scoring.yaml``.

``score = fit points + engagement points``; ``grade`` (A to D) is the fit alone, as Account
Engagement grades a prospect. Engagement points are each touch's (or e-mail event's) points
times its decayed count (a touch ``[scoring] half_life_days`` old counts half). The workspace's
``scoring.yaml`` replaces the shipped one (``revteam/scoring/scoring.yaml``) whole.

It is read strictly: a key written twice, an unknown section, a label the data cannot have
(a persona, segment, channel, touch or e-mail event type outside the canonical vocabulary),
points that are not numbers, or grades that do not fall from A to C are refused by name.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from revteam.exceptions import ScoringError
from revteam.model import enums
from revteam.scoring.features import EMAILS
from revteam.settings import load_text_yaml

F64 = npt.NDArray[np.float64]
RULES_FILE = "scoring.yaml"
VOCABULARY: dict[str, tuple[str, ...]] = {
    "persona": tuple(enums.PERSONAS),
    "segment": tuple(enums.SEGMENTS),
    "channel": tuple(enums.CHANNELS),
    "region": tuple(enums.REGIONS),
}
GRADES = ("A", "B", "C")


class _Fit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    persona: dict[str, float] = Field(default_factory=dict)
    segment: dict[str, float] = Field(default_factory=dict)
    channel: dict[str, float] = Field(default_factory=dict)
    region: dict[str, float] = Field(default_factory=dict)


class _Engagement(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    touches: dict[str, float] = Field(default_factory=dict)
    emails: dict[str, float] = Field(default_factory=dict)


class Rules(BaseModel):
    """A parsed ``scoring.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fit: _Fit = Field(default_factory=_Fit)
    engagement: _Engagement = Field(default_factory=_Engagement)
    grades: dict[str, float] = Field(default_factory=lambda: {"A": 30.0, "B": 20.0, "C": 10.0})

    @model_validator(mode="after")
    def _known(self) -> Rules:
        for name, allowed in VOCABULARY.items():
            unknown = sorted(set(getattr(self.fit, name)) - set(allowed))
            if unknown:
                raise ValueError(
                    f"fit.{name} names {', '.join(unknown)}, which no lead can have: use "
                    f"{', '.join(allowed)}"
                )
        for name, allowed in (
            ("touches", tuple(enums.TOUCHPOINT_TYPES)),
            ("emails", EMAILS),
        ):
            unknown = sorted(set(getattr(self.engagement, name)) - set(allowed))
            if unknown:
                raise ValueError(
                    f"engagement.{name} names {', '.join(unknown)}: use {', '.join(allowed)}"
                )
        if set(self.grades) != set(GRADES):
            raise ValueError("grades must give the points of A, B and C (fewer than C is D)")
        a, b, c = (self.grades[g] for g in GRADES)
        if not a >= b >= c:
            raise ValueError(f"grades must fall from A to C, not A {a}, B {b}, C {c}")
        return self

    def score(self, x: pa.Table) -> tuple[F64, F64, pa.Array]:
        """Per row of a features table: fit points, engagement points and the grade."""
        n = x.num_rows
        fit = np.zeros(n)
        for name in VOCABULARY:
            points = getattr(self.fit, name)
            if points:
                labels = x.column(name).to_pylist()
                fit += np.array([points.get(v, 0.0) if v is not None else 0.0 for v in labels])
        engaged = np.zeros(n)
        for prefix, points in (
            ("touch", self.engagement.touches),
            ("email", self.engagement.emails),
        ):
            for kind, value in points.items():
                engaged += value * x.column(f"{prefix}_{kind}_decayed").to_numpy()
        a, b, c = (self.grades[g] for g in GRADES)
        grade = np.select([fit >= a, fit >= b, fit >= c], ["A", "B", "C"], default="D")
        return fit, engaged, pa.array(grade.tolist(), pa.string())


def load_rules(root: Path | None) -> tuple[Rules, str]:
    """The workspace's ``scoring.yaml`` (or the shipped one) and where it came from."""
    path = root / RULES_FILE if root is not None else None
    if path is not None and path.is_file():
        return parse_rules(path.read_text(encoding="utf-8"), str(path)), str(path)
    text = resources.files("revteam.scoring").joinpath(RULES_FILE).read_text(encoding="utf-8")
    return parse_rules(text, "the shipped scoring.yaml"), "shipped"


def parse_rules(text: str, source: str = RULES_FILE) -> Rules:
    """A ``scoring.yaml``'s rules, or :class:`ScoringError` naming what is wrong."""
    try:
        data: Any = load_text_yaml(text)
    except yaml.YAMLError as exc:
        raise ScoringError(f"{source} is not valid YAML: {exc}.", "Fix the file.") from exc
    try:
        return Rules.model_validate(data or {})
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'the file'}: {e['msg']}" for e in exc.errors()
        )
        raise ScoringError(
            f"{source}: {problems}.",
            "See docs/scoring.md for the file's sections (fit, engagement, grades).",
        ) from None
