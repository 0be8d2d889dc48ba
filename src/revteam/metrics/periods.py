"""Reporting periods: day, week, month, quarter and year, with a fiscal-year start.

A period is identified by its first day. Weeks are ISO weeks (Monday to Sunday). Quarters and
years start in the workspace's ``fiscal_year_start_month``; a fiscal year is named after the
calendar year in which it *ends* (a year starting in July 2024 is FY2025), the usual convention.
The same arithmetic exists twice, as ibis expressions (to group rows in the warehouse) and in
Python (to label periods, build the spine of periods and shift them), and the tests check that
both agree.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Literal, cast, get_args

from revteam.exceptions import MetricQueryError

if TYPE_CHECKING:
    import ibis.expr.types as ir

Grain = Literal["day", "week", "month", "quarter", "year"]
GRAINS: tuple[str, ...] = get_args(Grain)
QueryGrain = Literal["day", "week", "month", "quarter", "year", "all"]
"""What a metric query may ask for: a calendar grain, or ``all`` (one period over the range)."""
QUERY_GRAINS: tuple[str, ...] = get_args(QueryGrain)
ALL = "all"
EVERYTHING = dt.date(1970, 1, 1)
"""The start that labels a ``grain="all"`` period of a query without a ``start``."""

_MONTHS = {"month": 1, "quarter": 3, "year": 12}
_UNIT = {"week": "W", "month": "M", "quarter": "Q", "year": "Y"}


def check_grain(grain: str) -> Grain:
    """A calendar grain (periods that follow each other), or a clear error."""
    if grain not in GRAINS:
        raise MetricQueryError("grain", grain, f"one of {', '.join(GRAINS)}")
    return cast(Grain, grain)


def check_query_grain(grain: str) -> QueryGrain:
    """A calendar grain or ``all`` (one value over the whole range)."""
    if grain not in QUERY_GRAINS:
        raise MetricQueryError("grain", grain, f"one of {', '.join(QUERY_GRAINS)}")
    return cast(QueryGrain, grain)


def truncate(value: ir.Value, grain: Grain, fy_start: int = 1) -> ir.DateValue:
    """First day of the period containing each timestamp or date, as a date."""
    import ibis

    if grain == "day":
        return value.cast("date")
    # Truncate timestamps only: engines disagree on what date_trunc returns for a date.
    value = value.cast("timestamp")
    shift = (fy_start - 1) if grain in {"quarter", "year"} else 0
    if not shift:
        return value.truncate(_UNIT[grain]).cast("date")
    back = value - ibis.interval(months=shift)
    return (back.truncate(_UNIT[grain]) + ibis.interval(months=shift)).cast("date")


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` (a first of month) moved by whole months."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def floor(day: dt.date, grain: Grain, fy_start: int = 1) -> dt.date:
    """First day of the period that contains ``day``."""
    if isinstance(day, dt.datetime):
        day = day.date()
    if grain == "day":
        return day
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    first = day.replace(day=1)
    if grain == "month":
        return first
    offset = fy_start - 1 if grain in {"quarter", "year"} else 0
    index = (first.year * 12 + first.month - 1 - offset) // _MONTHS[grain] * _MONTHS[grain]
    return add_months(dt.date(1, 1, 1), index - 12 + offset)


def shift(start: dt.date, grain: Grain, n: int) -> dt.date:
    """The first day of the period ``n`` periods after (``n`` < 0: before) ``start``."""
    if grain == "day":
        return start + dt.timedelta(days=n)
    if grain == "week":
        return start + dt.timedelta(weeks=n)
    return add_months(start, n * _MONTHS[grain])


def year_ago(start: dt.date, grain: Grain) -> dt.date:
    """The same period one year earlier (52 weeks for weeks, 365 days for days)."""
    if grain == "week":
        return shift(start, grain, -52)
    if grain == "day":
        return start - dt.timedelta(days=365)
    return add_months(start, -12)


def year_ago_of(start: dt.date, grain: Grain) -> dt.date:
    """The period one year after ``start`` (the inverse of :func:`year_ago`)."""
    if grain == "week":
        return shift(start, grain, 52)
    if grain == "day":
        return start + dt.timedelta(days=365)
    return add_months(start, 12)


def end(start: dt.date, grain: Grain) -> dt.date:
    """The first day after the period that starts on ``start``."""
    return shift(start, grain, 1)


def spine(first: dt.date, last: dt.date, grain: Grain) -> list[dt.date]:
    """Every period start from ``first`` to ``last`` (both period starts), in order."""
    out: list[dt.date] = []
    day = first
    while day <= last:
        out.append(day)
        day = shift(day, grain, 1)
    return out


def count(first: dt.date, last: dt.date, grain: Grain) -> int:
    """How many periods :func:`spine` gives from ``first`` to ``last``, without building it."""
    if last < first:
        return 0
    if grain == "day":
        return (last - first).days + 1
    if grain == "week":
        return (last - first).days // 7 + 1
    months = (last.year - first.year) * 12 + last.month - first.month
    return months // _MONTHS[grain] + 1


def fiscal_year(day: dt.date, fy_start: int = 1) -> int:
    """The fiscal year containing ``day``, named after the calendar year in which it ends."""
    return day.year + (1 if fy_start > 1 and day.month >= fy_start else 0)


def label(start: dt.date, grain: Grain, fy_start: int = 1) -> str:
    """A readable name: 2025-03-14, 2025-W11, 2025-03, 2025-Q1 / FY2026-Q1, 2025 / FY2026."""
    if grain == "day":
        return start.isoformat()
    if grain == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    if grain == "month":
        return f"{start.year}-{start.month:02d}"
    prefix = "FY" if fy_start > 1 else ""
    year = fiscal_year(start, fy_start)
    if grain == "year":
        return f"{prefix}{year}"
    quarter = (start.month - fy_start) % 12 // 3 + 1
    return f"{prefix}{year}-Q{quarter}"


_LABEL = re.compile(r"^(?P<fy>FY)?(?P<year>\d{4})(?:-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4])))?$")


def parse_label(text: str, fy_start: int = 1) -> tuple[dt.date, Grain]:
    """The first day and grain of a month, quarter or year named as :func:`label` names it.

    ``2027-03``, ``2027-Q1``, ``2027``; with a fiscal year not starting in January, quarters and
    years are fiscal and written ``FY2027-Q1`` / ``FY2027`` (a bare ``2027`` is then refused, as
    it could mean either year).
    """
    found = _LABEL.match(text.strip().upper())
    fiscal = fy_start > 1
    if found is None or (found["month"] and found["fy"]) or (found["fy"] and not fiscal):
        form = "FY2027-Q1 or FY2027" if fiscal else "2027-Q1 or 2027"
        raise MetricQueryError("period", text, f"a month (2027-03), a quarter or a year ({form})")
    year = int(found["year"])
    if found["month"]:
        month = int(found["month"])
        if not 1 <= month <= 12:
            raise MetricQueryError("period", text, "a month from 01 to 12 (2027-03)")
        return dt.date(year, month, 1), "month"
    if fiscal and not found["fy"]:
        raise MetricQueryError(
            "period",
            text,
            f"a fiscal period, FY{year}-Q1 or FY{year} (the fiscal year starts in month "
            f"{fy_start}, so {text!r} could mean a calendar or a fiscal period)",
        )
    first = dt.date(year - (1 if fiscal else 0), fy_start, 1)
    if found["quarter"]:
        return add_months(first, 3 * (int(found["quarter"]) - 1)), "quarter"
    return first, "year"


def complete(start: dt.date, grain: Grain, as_of: dt.datetime) -> bool:
    """Whether the period starting on ``start`` is over by ``as_of``.

    The data's as-of time is its latest event, so the as-of *day* counts as complete: a month
    whose last event came in on its last evening is a whole month of data. A period still
    running would look like a collapse next to whole ones, so headlines and comparisons skip it.
    """
    return end(start, grain) <= as_of.date() + dt.timedelta(days=1)


def latest_complete(
    as_of: dt.datetime, grain: Grain, fy_start: int = 1, window: int | None = None
) -> dt.date:
    """The newest complete period by ``as_of``; with a cohort ``window``, the newest mature one.

    A cohort is mature when its youngest members have had the whole window to convert
    (``as_of`` at least ``window`` days after the period's end), as the metric layer flags it.
    """
    start = floor(as_of.date(), grain, fy_start)
    while not complete(start, grain, as_of) or not mature(start, grain, as_of, window):
        start = shift(start, grain, -1)
    return start


def mature(start: dt.date, grain: Grain, as_of: dt.datetime, window: int | None) -> bool:
    """Whether a cohort of the period starting on ``start`` has had ``window`` days to convert."""
    if not window:
        return True
    return (as_of - dt.datetime.combine(end(start, grain), dt.time())).days >= window
