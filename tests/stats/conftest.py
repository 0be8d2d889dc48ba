"""Generated companies loaded through ingest and the metric layer, once per session.

The steady twin of the planted company (tests/conftest.py) has no planted change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

import revteam
from revteam.generate import Company
from revteam.stats import StatsComponent
from revteam.workspace import Workspace

# The planted company (50,000 leads, seed 7) and its workspace, ``planted_company`` and
# ``planted``, and its steady twin ``steady``, are tests/conftest.py's: the goals' forecast
# backtests and the review pack use them too.


def _load(company: Company, root: Path, **settings: object) -> Workspace:
    company.write(root / "data")
    ws = revteam.init(root / "ws", **settings)
    ws.ingest.load_directory(root / "data")
    return ws


@pytest.fixture(scope="session")
def fiscal(
    planted_company: Company, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    """The planted company in a workspace whose fiscal year starts in February."""
    ws = _load(planted_company, tmp_path_factory.mktemp("fiscal"), fiscal_year_start_month=2)
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def stats(planted: Workspace) -> StatsComponent:
    return planted.stats


@pytest.fixture(scope="session")
def duck(planted_company: Company) -> Iterator[duckdb.DuckDBPyConnection]:
    """Plain DuckDB over the generated tables: the independent side of the checks."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    for name, table in planted_company.tables.items():
        con.register(name, table)
    yield con
    con.close()
