"""The agreed definitions as the application database records them: each subject's newest.

``metrics/approved/<subject>.yaml`` must hold exactly that text: the metric layer compares the
two when it loads the catalogue (:class:`revteam.metrics.Definitions`) and refuses a file that
was changed, added or removed by hand.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from sqlalchemy import and_, func, select

from revteam.app.models import MetricVersion
from revteam.storage import AppDatabase


@dataclass(frozen=True)
class Agreed:
    """The newest agreed version of a metric's definition (or of the scorecard)."""

    subject: str
    version: int
    text: str
    approved_at: dt.datetime
    approved_by: tuple[str, ...]


def agreed_definitions(db: AppDatabase) -> dict[str, Agreed]:
    """Subject → its newest agreed version: one query."""
    newest = (
        select(MetricVersion.metric, func.max(MetricVersion.version).label("version"))
        .group_by(MetricVersion.metric)
        .subquery()
    )
    stmt = select(MetricVersion).join(
        newest,
        and_(MetricVersion.metric == newest.c.metric, MetricVersion.version == newest.c.version),
    )
    with db.session() as s:
        return {
            r.metric: Agreed(
                r.metric, r.version, r.text, r.approved_at, tuple(json.loads(r.approved_by))
            )
            for r in s.scalars(stmt)
        }
