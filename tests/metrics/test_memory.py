"""What a query leaves behind: only the results the component's caches hold on purpose."""

from __future__ import annotations

import datetime as dt
import gc

from revteam.metrics.assemble import Assembler
from revteam.workspace import Workspace


def assemblers() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, Assembler))


def test_answered_queries_do_not_keep_their_assemblers(loaded: Workspace) -> None:
    """An assembler holds a query's values as Python objects: a server that kept every one grew
    by hundreds of MB an hour (a ``functools.cache`` on a method keeps its ``self``)."""
    before = assemblers()
    for day in range(12):
        start = dt.date(2025, 1, 1) + dt.timedelta(days=day)
        result = loaded.metrics.query(
            ["leads", "mql_rate"], by="channel", grain="week", start=start
        )
        assert result.to_pylist()
    assert assemblers() == before
