"""What a goal is: a target for one catalogue metric, period and segment, with its owners.

Checked against the metric layer's own definitions (the metric exists, the segment's dimensions
are ones it can be filtered by, the period is a month, quarter or year), so a goal can never
ask for a number the KPIs cannot give. Targets are in the metric's unit: a rate is a share
(``0.45`` or ``"45%"``), never ``45``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from revteam.exceptions import GoalError
from revteam.metrics import Definitions, MetricSpec
from revteam.metrics import periods as P

Direction = Literal["higher", "lower"]
GOAL_GRAINS = ("month", "quarter", "year")
"""Periods a goal can be set for (a fiscal year when the fiscal year does not start in January)."""
SALES, MARKETING = "sales", "marketing"
MAX_SEGMENT = 3
"""Dimensions one goal's segment may fix."""
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
"""Plain decimal numbers only: no hex, octal, sexagesimal (YAML 1.1's 1:30) or words."""
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
MAX_OWNERS, MAX_OWNERS_TEXT = 10, 1000
MAX_TEXT, MAX_NOTE = 100, 2000
"""Bounds that keep a goal within its database columns (owners, segment, scope, note)."""


@dataclass(frozen=True)
class GoalSpec:
    """A goal as a person writes it (CLI, ``goals.yaml``, the API); :func:`check` validates it."""

    metric: str
    period: str
    """``2027-03``, ``2027-Q1``, ``2027`` (``FY2027-Q1``, ``FY2027`` with a fiscal year)."""
    target: float | str
    segment: Mapping[str, str] = field(default_factory=dict)
    owners: Sequence[str] = ()
    """Team names (``sales``, ``marketing`` …) or users' e-mails; empty: the catalogue's."""
    direction: Direction | None = None
    """Empty: the metric's own direction."""
    stretch: float | str | None = None
    note: str = ""


@dataclass(frozen=True)
class Goal:
    """A checked goal, as stored. ``id`` and ``version`` are 0 until it is saved."""

    metric: str
    grain: P.Grain
    start: dt.date
    period: str
    segment: tuple[tuple[str, str], ...]
    target: float
    direction: Direction
    owners: tuple[str, ...]
    stretch: float | None = None
    note: str = ""
    id: int = 0
    version: int = 0
    updated_at: dt.datetime | None = None
    updated_by: str = ""

    @property
    def end(self) -> dt.date:
        """The first day after the period."""
        return P.end(self.start, self.grain)

    @property
    def segment_dict(self) -> dict[str, str]:
        return dict(self.segment)

    @property
    def scope(self) -> str:
        """Metric, period and segment: what a goal is unique by."""
        seg = json.dumps(dict(self.segment), sort_keys=True)  # values may hold any character
        return f"{self.metric}|{self.grain}|{self.start.isoformat()}|{seg}"

    def describe(self) -> str:
        seg = ", ".join(f"{d} = {v}" for d, v in self.segment)
        return f"{self.metric} for {self.period}" + (f" ({seg})" if seg else "")

    def overlaps(self, other: Goal) -> bool:
        """Same metric and segment, and periods that share a day."""
        return (
            self.metric == other.metric
            and self.segment == other.segment
            and self.start < other.end
            and other.start < self.end
        )

    def as_spec(self) -> GoalSpec:
        return GoalSpec(
            metric=self.metric,
            period=self.period,
            target=self.target,
            segment=dict(self.segment),
            owners=self.owners,
            direction=self.direction,
            stretch=self.stretch,
            note=self.note,
        )


def default_owners(spec: MetricSpec) -> tuple[str, ...]:
    """The catalogue's owners as teams: a shared metric is owned by Marketing and Sales."""
    return (MARKETING, SALES) if spec.owners == "shared" else (spec.owners,)


def parse_target(value: float | str | None, spec: MetricSpec, what: str = "target") -> float:
    """A target in the metric's unit; a rate's is a share in [0, 1] (``"45%"`` is 0.45)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise GoalError(f"The {what} of {spec.id} is missing.", f"Give a number in {spec.unit}.")
    percent = spec.unit == "percent"
    number: float
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise GoalError(
            f"The {what} {value!r} of {spec.id} is not a number.", "Write it as a plain number."
        )
    if isinstance(value, str):
        text = value.strip().replace("_", "")
        is_percent = text.endswith("%")
        text = text.removesuffix("%").strip()
        if "," in text:  # only as a thousands separator: "1,5" could be 1.5 or 15
            if not _THOUSANDS.match(text):
                raise GoalError(
                    f"The {what} {value!r} of {spec.id} is ambiguous: a comma separates "
                    "thousands (1,200,000), never decimals.",
                    "Write decimals with a point (1.5) and thousands with commas or nothing.",
                )
            text = text.replace(",", "")
        if not _NUMBER.match(text):
            raise GoalError(
                f"The {what} {value!r} of {spec.id} is not a number.",
                "Write it as a plain number" + (", or a percentage like 45%." if percent else "."),
            )
        number = float(text)
        if is_percent:
            if not percent:
                raise GoalError(
                    f"The {what} {value!r} is a percentage, but {spec.id} is in {spec.unit}.",
                    f"Give a number in {spec.unit}.",
                )
            number /= 100
    else:
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
    if not math.isfinite(number):
        raise GoalError(f"The {what} of {spec.id} must be a finite number, not {value!r}.", "")
    if percent and not 0 <= number <= 1:
        raise GoalError(
            f"The {what} {value!r} of {spec.id} is out of range: a rate is a share from 0 to 1.",
            f"Write {number / 100:g} or '{number:g}%' for {number:g} percent.",
        )
    if number < 0 and spec.unit in {"count", "money", "days", "hours", "percent"}:
        raise GoalError(f"The {what} of {spec.id} cannot be negative ({value!r}).", "")
    return number


def check(
    given: GoalSpec,
    definitions: Definitions,
    *,
    fy_start: int = 1,
    teams: Mapping[str, str] | None = None,
) -> Goal:
    """``given`` as a :class:`Goal`, or :class:`GoalError` naming what is wrong and the fix.

    ``teams`` maps known users' e-mails to their team, so owners given by e-mail count for
    their team (a shared metric needs an owner from Sales and one from Marketing).
    """
    catalogue = definitions.catalogue
    if given.metric not in catalogue:
        ids = [s.id for s in catalogue]
        close = difflib.get_close_matches(str(given.metric), ids, n=3, cutoff=0.6)
        raise GoalError(
            f"There is no metric {given.metric!r} in the catalogue.",
            (f"Did you mean {', '.join(close)}? " if close else "") + "See `revteam metrics list`.",
        )
    spec = catalogue[given.metric]
    try:
        start, grain = P.parse_label(str(given.period), fy_start)
    except Exception as exc:
        raise GoalError(str(exc), "Goals are set for a month, a quarter or a year.") from None
    if grain not in GOAL_GRAINS:
        raise GoalError(f"A goal's period is a month, quarter or year, not {given.period!r}.", "")
    segment = tuple(sorted((str(d).strip(), str(v).strip()) for d, v in given.segment.items()))
    if len(segment) > MAX_SEGMENT:
        raise GoalError(f"A goal's segment fixes at most {MAX_SEGMENT} dimensions.", "")
    if any(len(v) > MAX_TEXT for _, v in segment) or len(given.note) > MAX_NOTE:
        raise GoalError(
            f"A segment value is at most {MAX_TEXT} characters and a note {MAX_NOTE}.", ""
        )
    # The metric layer's own check: the dimensions exist for this metric, values are valid.
    definitions.check(
        spec.id,
        {
            "grain": grain,
            "start": start,
            "end": P.end(start, grain) - dt.timedelta(days=1),
            "where": {d: [v] for d, v in segment},
        },
    )
    target = parse_target(given.target, spec)
    direction: Direction = given.direction or spec.direction
    if direction not in ("higher", "lower"):
        raise GoalError(f"A goal's direction is 'higher' or 'lower', not {direction!r}.", "")
    stretch = None
    if given.stretch is not None and given.stretch != "":
        stretch = parse_target(given.stretch, spec, "stretch level")
        if (stretch < target) if direction == "higher" else (stretch > target):
            better = "above" if direction == "higher" else "below"
            raise GoalError(
                f"The stretch level {stretch:g} of {spec.id} is not {better} its target "
                f"{target:g} ({direction} is better).",
                "A stretch level is the better outcome beyond the target; swap or drop it.",
            )
    owners = _owners(given.owners, spec, teams or {})
    return Goal(
        metric=spec.id,
        grain=grain,
        start=start,
        period=P.label(start, grain, fy_start),
        segment=segment,
        target=target,
        direction=direction,
        owners=owners,
        stretch=stretch,
        note=given.note.strip(),
    )


def _owners(given: Sequence[str], spec: MetricSpec, teams: Mapping[str, str]) -> tuple[str, ...]:
    from revteam.app import TEAMS

    owners = tuple(dict.fromkeys(o.strip().lower() for o in given if o.strip()))
    if not owners:
        return default_owners(spec)
    if len(owners) > MAX_OWNERS or sum(len(o) + 4 for o in owners) > MAX_OWNERS_TEXT:
        raise GoalError(
            f"A goal has at most {MAX_OWNERS} owners ({MAX_OWNERS_TEXT} characters in all).",
            "Name teams rather than every person.",
        )
    covered = set()
    for owner in owners:
        if owner in TEAMS:
            covered.add(owner)
        elif _EMAIL.match(owner):
            if owner not in teams:
                raise GoalError(
                    f"The owner {owner} is not a user of this workspace.",
                    f"Add them (`revteam users add {owner} --team sales|marketing`) or name "
                    "a team instead.",
                )
            covered.add(teams[owner])
        else:
            raise GoalError(
                f"The owner {owner!r} is neither a team ({', '.join(TEAMS)}) nor an e-mail.", ""
            )
    if spec.owners == "shared" and not {SALES, MARKETING} <= covered:
        missing = " and ".join(sorted({SALES, MARKETING} - covered))
        raise GoalError(
            f"{spec.id} is a shared KPI: its goal needs an owner from Sales and one from "
            f"Marketing (no owner from {missing}).",
            "Add an owner of that team (a team name or a user's e-mail).",
        )
    return owners
