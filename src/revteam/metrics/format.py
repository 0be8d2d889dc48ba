"""Numbers in their units as people read them: one formatter for the CLI, the web and reports.

The metric layer owns units (``count``, ``money``, ``percent``, ``days``, ``hours``, ``number``),
so it owns how a value in each unit is written: ``12.5%``, ``$1,240,113`` (``$1.24M`` short),
``37.3 days``, ``3.2 h``. The CLI's tables and the dashboards write numbers with :func:`display`
(and the browser tests compare pages with it), so no two faces show one number differently.
"""

from __future__ import annotations

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


def delta(value: float | None, unit: str, *, currency: str = "USD") -> str:
    """A signed difference in a unit: ``+5.0 pp`` for rates, ``+$1,240``, ``-3.1 days``."""
    v = _finite(value)
    if v is None:
        return MISSING
    if unit == "percent":
        return f"{v * 100:+.1f} pp"
    text = display(abs(v), unit, currency=currency)
    return f"{'-' if v < 0 else '+'}{text}"


def number(value: float | int | None) -> str:
    """A plain count or amount for tables of parts (numerator, denominator, n)."""
    v = _finite(value)
    if v is None:
        return ""
    return f"{v:,.0f}" if v.is_integer() or abs(v) >= 1000 else f"{v:,.2f}"


__all__ = [
    "MISSING",
    "SYMBOLS",
    "UNIT_WORDS",
    "change",
    "compact",
    "delta",
    "display",
    "money",
    "number",
]
