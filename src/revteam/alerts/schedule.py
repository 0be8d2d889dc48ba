"""When a scheduled rule is due: a small, strict schedule syntax in the workspace's time zone.

Three forms, nothing else (a typo must not become "never" or "every minute"):

- ``daily HH:MM``: every day at that time;
- ``weekly DAY HH:MM``: DAY one of MON TUE WED THU FRI SAT SUN;
- ``monthly D HH:MM``: on day D, 1 to 28 (every month has it).

Times are local to ``settings.timezone``; occurrences are compared in UTC, so a change of
daylight-saving time moves nothing. A rule is due when its latest occurrence is newer than the
one it last ran for (or, before its first run, not older than the rule): a server that was down
at 08:00 catches up once when it is back, never several times.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from revteam.exceptions import AlertError

Every = Literal["daily", "weekly", "monthly"]
DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
MAX_TEXT = 40
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
FIX = "Write `daily 07:30`, `weekly MON 08:00` or `monthly 1 08:00` (24-hour time, workspace zone)."


@dataclass(frozen=True)
class Schedule:
    every: Every
    day: int
    """Weekday (0 = Monday) of a weekly schedule, day of the month of a monthly one, else 0."""
    time: dt.time

    def __str__(self) -> str:
        clock = self.time.strftime("%H:%M")
        if self.every == "weekly":
            return f"weekly {DAYS[self.day]} {clock}"
        if self.every == "monthly":
            return f"monthly {self.day} {clock}"
        return f"daily {clock}"

    def latest(self, now: dt.datetime) -> dt.datetime:
        """The newest occurrence at or before ``now`` (both local, naive)."""
        today = dt.datetime.combine(now.date(), self.time)
        if self.every == "daily":
            return today if today <= now else today - dt.timedelta(days=1)
        if self.every == "weekly":
            back = (now.weekday() - self.day) % 7
            found = today - dt.timedelta(days=back)
            return found if found <= now else found - dt.timedelta(days=7)
        found = dt.datetime.combine(now.date().replace(day=self.day), self.time)
        if found <= now:
            return found
        first = now.date().replace(day=1) - dt.timedelta(days=1)  # last day of last month
        return dt.datetime.combine(first.replace(day=self.day), self.time)

    def latest_utc(self, now_utc: dt.datetime, timezone: str) -> dt.datetime:
        """The newest occurrence at or before ``now_utc``, as naive UTC."""
        zone = ZoneInfo(timezone)
        local = now_utc.replace(tzinfo=dt.UTC).astimezone(zone).replace(tzinfo=None)
        found = self.latest(local).replace(tzinfo=zone).astimezone(dt.UTC)
        return found.replace(tzinfo=None)

    def due(
        self,
        now_utc: dt.datetime,
        timezone: str,
        *,
        last_due: dt.datetime | None,
        created_at: dt.datetime,
    ) -> dt.datetime | None:
        """The occurrence to run for now (naive UTC), or ``None`` when nothing is due."""
        found = self.latest_utc(now_utc, timezone)
        if last_due is not None:
            return found if found > last_due else None
        return found if found >= created_at.replace(microsecond=0) else None


def parse_schedule(text: str) -> Schedule:
    """``text`` as a :class:`Schedule`, or :class:`AlertError` naming the forms allowed."""
    raw = text if isinstance(text, str) else ""
    if len(raw) > MAX_TEXT:
        raise AlertError(f"A schedule has at most {MAX_TEXT} characters.", FIX)
    parts = raw.split()
    if not parts:
        raise AlertError("The schedule is empty.", FIX)
    every, *rest = parts
    every = every.lower()
    if every == "daily" and len(rest) == 1:
        return Schedule("daily", 0, _time(rest[0], raw))
    if every == "weekly" and len(rest) == 2:
        day = rest[0].upper()
        if day not in DAYS:
            raise AlertError(
                f"Schedule {raw!r}: {rest[0]!r} is not a day.", f"Use one of {' '.join(DAYS)}."
            )
        return Schedule("weekly", DAYS.index(day), _time(rest[1], raw))
    if every == "monthly" and len(rest) == 2:
        if not rest[0].isascii() or not rest[0].isdigit() or not 1 <= int(rest[0]) <= 28:
            raise AlertError(
                f"Schedule {raw!r}: the day of the month is 1 to 28 (got {rest[0]!r}).",
                "Every month has those days; for month ends use `monthly 1 …` (the first).",
            )
        return Schedule("monthly", int(rest[0]), _time(rest[1], raw))
    raise AlertError(f"{raw!r} is not a schedule.", FIX)


def _time(text: str, raw: str) -> dt.time:
    found = _TIME.match(text)
    if not found:
        raise AlertError(
            f"Schedule {raw!r}: {text!r} is not a time.", "Write it as HH:MM, 00:00 to 23:59."
        )
    return dt.time(int(found[1]), int(found[2]))
