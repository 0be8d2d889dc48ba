"""View filters: period, grain, date range and dimension values, all plain GET parameters.

Every view is a shareable URL: ``/marketing?period=6m&grain=week&channel=email&by=segment``.
A preset period (``3m``, ``6m``, ``12m``, ``24m``, ``ytd``, ``all``) is resolved against the
data's as-of date, not today's, so a link shows the same window of data tomorrow as long as no
new data arrives. Explicit ``start``/``end`` win over the preset; days outside the workspace's
``plausible_years`` are refused here, before any view does arithmetic on them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import urlencode

from revteam.exceptions import MetricQueryError
from revteam.metrics import BREAKDOWNS, DIMENSIONS
from revteam.metrics import periods as P
from revteam.metrics.request import Where, check_where, check_year, where_text

PRESETS: dict[str, str] = {
    "3m": "Last 3 months",
    "6m": "Last 6 months",
    "12m": "Last 12 months",
    "24m": "Last 24 months",
    "ytd": "Year to date",
    "all": "All data",
    "custom": "Custom range",
}
_MONTHS = {"3m": 3, "6m": 6, "12m": 12, "24m": 24}
FILTER_DIMENSIONS: tuple[str, ...] = (*DIMENSIONS, *BREAKDOWNS)


def parse_where(chosen: Mapping[str, Iterable[str | None]]) -> Where:
    """Dimension filters from raw GET/POST values: the metric layer's one meaning of ``where``.

    Pages, the GET and the POST APIs all pass through here, so a blank value (an empty form
    field) means "not given" and ``(none)`` means "records without a value" everywhere.
    """
    return check_where({d: list(v) for d, v in chosen.items()})


def parse_date(value: str | None, option: str) -> dt.date | None:
    if value is None or not value.strip():
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise MetricQueryError(option, value, "a date such as 2025-01-31") from None


@dataclass(frozen=True)
class ViewFilters:
    """What a page shows; hashable, so it is part of cache keys."""

    period: str = "12m"
    grain: P.Grain = "month"
    start: dt.date | None = None
    end: dt.date | None = None
    where: Where = ()
    by: str | None = None

    @classmethod
    def parse(
        cls, params: Mapping[str, str] | object, *, years: tuple[int, int] | None = None
    ) -> ViewFilters:
        """Read filters from query parameters (a Starlette ``QueryParams`` or a mapping).

        ``years``: the workspace's ``plausible_years``, outside which a start or end is refused.
        """
        get_list = getattr(params, "getlist", None)

        def values(name: str) -> list[str]:
            if get_list is not None:
                return [v for v in get_list(name) if v.strip()]
            raw = params.get(name) if isinstance(params, Mapping) else None
            return [raw] if isinstance(raw, str) and raw.strip() else []

        def one(name: str) -> str | None:
            found = values(name)
            return found[-1].strip() if found else None

        period = one("period") or "12m"
        if period not in PRESETS:
            raise MetricQueryError("period", period, f"one of {', '.join(PRESETS)}")
        grain = P.check_grain(one("grain") or "month")
        start, end = parse_date(one("start"), "start"), parse_date(one("end"), "end")
        check_year(start, "start", years)
        check_year(end, "end", years)
        if start or end:
            period = "custom"
        if start and end and start > end:
            raise MetricQueryError("range", f"{start} .. {end}", "start on or before end")
        by = one("by")
        if by is not None and by not in FILTER_DIMENSIONS:
            raise MetricQueryError("by", by, f"one of {', '.join(FILTER_DIMENSIONS)}")
        where = parse_where({dim: values(dim) for dim in FILTER_DIMENSIONS})
        return cls(period, grain, start, end, where, by)

    @property
    def where_dims(self) -> tuple[str, ...]:
        return tuple(d for d, _ in self.where)

    def where_dict(self) -> dict[str, list[str]]:
        """The filters as text values (``(none)``: records without a value)."""
        return {d: where_text(v) for d, v in self.where}

    def range(self, as_of: dt.date, fy_start: int = 1) -> tuple[dt.date | None, dt.date]:
        """First and last day shown; the last is never after the data's as-of date."""
        if self.period == "custom":
            return self.start, min(self.end or as_of, as_of)
        if self.period == "all":
            return None, as_of
        if self.period == "ytd":
            return P.floor(as_of, "year", fy_start), as_of
        month = P.add_months(as_of.replace(day=1), 1 - _MONTHS[self.period])
        return P.floor(month, self.grain, fy_start), as_of

    def with_(self, **changes: object) -> ViewFilters:
        return replace(self, **changes)  # type: ignore[arg-type]

    def without(self, dim: str) -> ViewFilters:
        return replace(self, where=tuple((d, v) for d, v in self.where if d != dim))

    def params(self, **extra: str | Iterable[str] | None) -> list[tuple[str, str]]:
        """The filters as query parameters (defaults left out), plus ``extra`` ones."""
        out: list[tuple[str, str]] = []
        if self.period not in {"12m", "custom"}:
            out.append(("period", self.period))
        if self.grain != "month":
            out.append(("grain", self.grain))
        out += [(k, v.isoformat()) for k, v in (("start", self.start), ("end", self.end)) if v]
        out += [(d, v) for d, values in self.where for v in where_text(values)]
        if self.by:
            out.append(("by", self.by))
        for key, value in extra.items():
            if value is None:
                continue
            out += [(key, value)] if isinstance(value, str) else [(key, v) for v in value]
        return out

    def query_string(self, **extra: str | Iterable[str] | None) -> str:
        qs = urlencode(self.params(**extra))
        return f"?{qs}" if qs else ""
