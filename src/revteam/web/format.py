"""Numbers as people read them on a dashboard, the same way on every page.

The browser tests format the REST API's values with these functions and compare them with the
page's text, so page and API can never silently disagree.
"""

from __future__ import annotations

import datetime as dt
import math

SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹"}
UNIT_WORDS = {"days": "days", "hours": "h"}
MISSING = "\N{EN DASH}"
"""Shown where there is no value (never a misleading 0)."""


def _finite(value: float | int | None) -> float | None:
    if value is None:
        return None
    f = float(value)
    return f if math.isfinite(f) else None


def compact(value: float, *, thousands: float = 1e4) -> str:
    """12_345 → 12.3K, 1_234_567 → 1.23M: three significant digits.

    Below ``thousands`` the number is written out (1,234).
    """
    a = abs(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (thousands, "K")):
        if a >= size:
            scaled = value / (1e3 if suffix == "K" else size)
            digits = 2 if abs(scaled) < 10 else 1 if abs(scaled) < 100 else 0
            return f"{scaled:.{digits}f}{suffix}"
    return f"{value:,.0f}" if a >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")


def money(value: float, currency: str, *, short: bool) -> str:
    sign = "-" if value < 0 else ""
    symbol = SYMBOLS.get(currency, f"{currency} ")
    body = compact(abs(value), thousands=1e3) if short else f"{abs(value):,.0f}"
    return f"{sign}{symbol}{body}"


def display(
    value: float | int | None, unit: str, *, currency: str = "USD", short: bool = False
) -> str:
    """A value in its unit: ``12.5%``, ``$1.24M`` (short) or ``$1,240,113``, ``37.3 days``."""
    v = _finite(value)
    if v is None:
        return MISSING
    if unit == "percent":
        return f"{v:.1%}"
    if unit == "money":
        return money(v, currency, short=short)
    if unit == "count":
        return compact(v, thousands=1e5) if short else f"{v:,.0f}"
    if unit in UNIT_WORDS:
        return f"{v:,.1f} {UNIT_WORDS[unit]}"
    return f"{v:,.2f}"


def change(current: float | None, previous: float | None, unit: str) -> tuple[float | None, str]:
    """The change from ``previous``: percentage points for rates, relative otherwise."""
    cur, prev = _finite(current), _finite(previous)
    if cur is None or prev is None:
        return None, ""
    if unit == "percent":
        delta = cur - prev
        return delta, f"{delta * 100:+.1f} pp"
    if prev == 0:
        return None, ""
    rel = cur / prev - 1
    return rel, f"{rel:+.1%}"


def number(value: float | int | None) -> str:
    """A plain count or amount for tables of parts (numerator, denominator, n)."""
    v = _finite(value)
    if v is None:
        return ""
    return f"{v:,.0f}" if v.is_integer() or abs(v) >= 1000 else f"{v:,.2f}"


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
