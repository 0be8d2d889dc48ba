"""The one object that fixes a synthetic company: same config, byte-identical tables."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from revteam.exceptions import GeneratorError

MAX_LEADS = 10_000_000
MAX_MONTHS = 120
MIN_CAMPAIGNS = 12
MAX_CAMPAIGNS = 2_000


@dataclass(frozen=True, kw_only=True)
class GeneratorConfig:
    """Size, span and randomness of a synthetic B2B SaaS company.

    Every field has a default, so ``GeneratorConfig()`` is the standard demo company. Invalid
    values raise :class:`~revteam.exceptions.GeneratorError` listing every problem at once.
    """

    n_leads: int = 100_000
    """People (leads) created over the span; accounts, deals and events scale with it."""
    months: int = 24
    """Length of the span in calendar months; the data ends (as-of date) at ``start + months``."""
    start: dt.date = dt.date(2024, 11, 1)
    """First day of the span; fixed by default so that the output is reproducible."""
    seed: int = 42
    """Seed of every random stream; the same seed gives byte-identical tables."""
    n_campaigns: int = 40
    """Marketing campaigns (always-on programmes plus time-boxed flights), at least 12."""
    planted_changes: bool = True
    """Plant the drop in one paid-social campaign's sales qualification rate (see ``truth``);
    ``False`` gives a company whose rates never change, for testing anomaly detection."""
    currency: str = "USD"
    """ISO 4217 code of every amount (recorded in the truth; amounts carry no currency column)."""

    def __post_init__(self) -> None:
        problems = _problems(self)
        if problems:
            raise GeneratorError("Invalid generator configuration: " + "; ".join(problems))

    @property
    def end(self) -> dt.date:
        """The as-of date: first day after the span (``start`` plus ``months`` months)."""
        return add_months(self.start, self.months)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields, for the truth file."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        return data


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by whole calendar months (clamped to the month's last day)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month + 1, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _problems(config: GeneratorConfig) -> list[str]:
    problems: list[str] = []

    def need(ok: bool, message: str) -> None:
        if not ok:
            problems.append(message)

    need(
        _is_int(config.n_leads) and 100 <= config.n_leads <= MAX_LEADS,
        f"n_leads must be an integer from 100 to {MAX_LEADS:,} (got {config.n_leads!r})",
    )
    need(
        _is_int(config.months) and 3 <= config.months <= MAX_MONTHS,
        f"months must be an integer from 3 to {MAX_MONTHS} (got {config.months!r})",
    )
    need(
        isinstance(config.start, dt.date) and not isinstance(config.start, dt.datetime),
        f"start must be a datetime.date (got {config.start!r})",
    )
    need(
        _is_int(config.seed) and 0 <= config.seed < 2**63,
        f"seed must be a non-negative integer below 2**63 (got {config.seed!r})",
    )
    need(
        _is_int(config.n_campaigns) and MIN_CAMPAIGNS <= config.n_campaigns <= MAX_CAMPAIGNS,
        f"n_campaigns must be an integer from {MIN_CAMPAIGNS} to {MAX_CAMPAIGNS} "
        f"(got {config.n_campaigns!r})",
    )
    need(
        isinstance(config.planted_changes, bool),
        f"planted_changes must be true or false (got {config.planted_changes!r})",
    )
    need(
        isinstance(config.currency, str)
        and len(config.currency) == 3
        and config.currency.isascii()
        and config.currency.isalpha()
        and config.currency.isupper(),
        f"currency must be a three-letter upper-case ISO 4217 code such as 'USD' "
        f"(got {config.currency!r})",
    )
    return problems
