"""Numbers and dates as people read them on a dashboard, the same way on every page.

Numbers are :mod:`revteam.metrics.format`'s (the one formatter the CLI uses too), re-exported
here for the templates; dates are the web's own. The browser tests format the REST API's values
with these functions and compare them with the page's text, so page and API can never silently
disagree.
"""

from __future__ import annotations

import datetime as dt

from revteam.metrics.format import (
    MISSING,
    SYMBOLS,
    UNIT_WORDS,
    change,
    compact,
    display,
    money,
    number,
)

__all__ = [
    "MISSING",
    "SYMBOLS",
    "UNIT_WORDS",
    "ago",
    "change",
    "compact",
    "dateonly",
    "day",
    "display",
    "money",
    "number",
]


def day(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def dateonly(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    return (value.date() if isinstance(value, dt.datetime) else value).isoformat()


def ago(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """``3 min ago``, ``2 h ago``, ``5 days ago`` (naive UTC in, naive UTC now)."""
    if value is None:
        return "never"
    now = now or dt.datetime.now(dt.UTC).replace(tzinfo=None)
    seconds = max(0.0, (now - value).total_seconds())
    for size, word in ((86400, "days"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{int(seconds // size)} {word} ago"
    return "just now"
