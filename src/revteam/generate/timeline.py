"""The span of the synthetic company: its days, months and the daily intensity of new leads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from revteam.generate import params
from revteam.generate._private import DAY, Float, Int
from revteam.generate.config import GeneratorConfig, add_months

_EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class Span:
    """Days ``0 … n_days - 1`` from ``start``; the as-of moment is ``n_days * DAY`` seconds."""

    start: dt.date
    end: dt.date
    months: int

    @classmethod
    def of(cls, config: GeneratorConfig) -> Span:
        return cls(config.start, config.end, config.months)

    @property
    def n_days(self) -> int:
        return (self.end - self.start).days

    @property
    def as_of(self) -> int:
        """The as-of moment in seconds since the start: nothing at or after it has happened."""
        return self.n_days * DAY

    @property
    def epoch_day(self) -> int:
        return (self.start - _EPOCH).days

    @property
    def epoch(self) -> int:
        """Seconds from the Unix epoch to the start, to turn span seconds into timestamps."""
        return self.epoch_day * DAY

    def month_start(self, month: int) -> int:
        """Day index of the first day of month ``month`` (0-based) of the span."""
        return (add_months(self.start, month) - self.start).days

    @cached_property
    def month_starts(self) -> Int:
        """Day index of the first day of every month, plus the as-of day at the end."""
        return np.array([self.month_start(m) for m in range(self.months + 1)], dtype=np.int64)

    @cached_property
    def month_of_day(self) -> Int:
        return np.searchsorted(self.month_starts, np.arange(self.n_days), side="right") - 1

    @cached_property
    def weekday(self) -> Int:
        """Day of week (Monday 0) of every day."""
        return (np.arange(self.n_days) + self.start.weekday()) % 7

    @cached_property
    def day_of_year(self) -> Int:
        first = self.start.timetuple().tm_yday - 1
        years = np.arange(self.n_days) + first
        return years % 365

    @cached_property
    def lead_weights(self) -> Float:
        """Relative number of new leads per day: growth, weekly rhythm, yearly season, holidays."""
        t = np.arange(self.n_days) / 365.25
        growth = np.exp(np.log1p(params.GROWTH_PER_YEAR) * t)
        weekly = np.asarray(params.WEEKDAY_FACTORS)[self.weekday]
        doy = self.day_of_year
        season = 1.0 + params.YEARLY_AMPLITUDE * np.cos(
            2 * np.pi * (doy - params.YEARLY_PEAK_DAY) / 365.25
        )
        holidays = 1.0 - params.HOLIDAY_DIP * np.exp(-(((doy - 358) / 6.0) ** 2))
        weights: Float = growth * weekly * season * holidays
        normalised: Float = weights / weights.sum()
        return normalised
