"""Account and person timelines: one chronological list of both teams' events (``ws.timeline``).

Touches and campaigns, web visits and form fills, marketing e-mail events, lifecycle stages,
sales activities, opportunities and their stage history, and orders, each with its time, kind,
a one-line description, its owner and the source row, paged in the warehouse; with a header
naming the record, who owned what and when, its unified identity (``ws.identity``'s links)
and, for an account, its KPIs from the metric layer. See docs/timeline.md.
"""

from __future__ import annotations

from revteam.timeline.component import SearchHit, SearchResult, Timeline, TimelineComponent
from revteam.timeline.events import COLUMNS, KINDS, MAX_LIMIT, Event
from revteam.timeline.header import (
    AccountHeader,
    AccountIdentity,
    Kpi,
    LinkedRecord,
    Owned,
    Owner,
    PersonHeader,
    PersonIdentity,
)

__all__ = [
    "COLUMNS",
    "KINDS",
    "MAX_LIMIT",
    "AccountHeader",
    "AccountIdentity",
    "Event",
    "Kpi",
    "LinkedRecord",
    "Owned",
    "Owner",
    "PersonHeader",
    "PersonIdentity",
    "SearchHit",
    "SearchResult",
    "Timeline",
    "TimelineComponent",
]
