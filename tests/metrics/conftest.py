"""One small generated company, loaded once per session, and plain DuckDB over its tables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

import revteam
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.generate.params import ADD_ON_PRODUCTS
from revteam.workspace import Workspace

N_LEADS = 20_000
SEED = 1


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company(GeneratorConfig(n_leads=N_LEADS, seed=SEED))


@pytest.fixture(scope="session")
def loaded(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("metrics")
    company.write(root / "data")
    # as `revteam demo` does: the generated add-ons are the purchases at will
    ws = revteam.init(root / "ws", clv={"repeat_products": list(ADD_ON_PRODUCTS)})
    ws.ingest.load_directory(root / "data")
    yield ws
    ws.close()


@pytest.fixture(scope="session")
def as_of(company: Company) -> dt.datetime:
    return company.as_of


class Ref:
    """Plain DuckDB over the generated Arrow tables: the independent side of every check."""

    def __init__(self, company: Company) -> None:
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        for name, table in company.tables.items():
            self.con.register(name, table)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


@pytest.fixture(scope="session")
def ref(company: Company) -> Iterator[Ref]:
    r = Ref(company)
    yield r
    r.con.close()


def workspace_at(path: Path, **settings: Any) -> Workspace:
    return revteam.init(path, **settings)
