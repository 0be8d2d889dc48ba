"""Drill-down: the records behind a number, paged, and exported as CSV.

The records are the metric layer's (``ws.metrics.records``): the same rows, range and filters
as the number on the page, with ``in_numerator``/``in_denominator`` where a rate has both
parts, and ``reached_at`` for cohorts. This view only pages and describes them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from revteam.metrics import periods
from revteam.metrics.request import Where, check_rows
from revteam.workspace import Workspace

if TYPE_CHECKING:
    import pyarrow as pa

Part = Literal["auto", "numerator", "denominator"]
NARROW = "a shorter range (start/end), a filter, or one part of a rate (part=numerator)"
"""How to ask for fewer records."""


@dataclass(frozen=True)
class RecordsRequest:
    metric: str
    start: dt.date | None = None
    end: dt.date | None = None
    """Last day, inclusive (both widened to whole periods of ``grain``, like the numbers)."""
    where: Where = ()
    part: Part = "auto"
    grain: periods.Grain = "month"

    def options(self) -> dict[str, Any]:
        where = {d: list(v) for d, v in self.where}
        return {
            "part": self.part,
            "grain": self.grain,
            "start": self.start,
            "end": self.end,
            "where": where or None,
        }


@dataclass(frozen=True)
class RecordsPage:
    metric: str
    source: str
    """The metric actually drilled into (a ratio's part, or the metric itself)."""
    relation: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    total: int
    limit: int
    offset: int


def count(ws: Workspace, req: RecordsRequest) -> int:
    """How many records there are.

    Callers cache it per request, not per page, so paging through a large table counts once.
    """
    found: int = ws.metrics.count_records(req.metric, **req.options())
    return found


def page(ws: Workspace, req: RecordsRequest, *, limit: int, offset: int, total: int) -> RecordsPage:
    """One page of records; ``total`` is :func:`count` of the same request."""
    about = ws.metrics.describe_records(req.metric, part=req.part)
    table = ws.metrics.records(req.metric, limit=limit, offset=offset, **req.options())
    return RecordsPage(
        req.metric,
        about.source,
        about.relation,
        about.description,
        tuple(table.column_names),
        tuple(table.to_pylist()),
        total,
        limit,
        offset,
    )


def check_export(total: int, max_rows: int) -> None:
    """Refuse an export of more than ``limits.max_rows`` records, saying how to narrow it."""
    check_rows(total, max_rows, what="records", narrow=NARROW)


def export(ws: Workspace, req: RecordsRequest) -> pa.Table:
    """All records (at most ``limits.max_rows``) as one Arrow table, for CSV export."""
    return ws.metrics.records(req.metric, limit=ws.settings.limits.max_rows, **req.options())
