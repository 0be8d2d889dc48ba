from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.conftest import FIXTURES

import revteam
from revteam.crm import CrmComponent
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.model import table
from revteam.workspace import Workspace

CRM_FIXTURES = FIXTURES / "crm"


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company(GeneratorConfig(n_leads=400, seed=11))


@pytest.fixture(scope="session")
def direct(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The generated company loaded directly from its canonical files."""
    root = tmp_path_factory.mktemp("direct")
    company.write(root / "data", format="parquet")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    try:
        yield ws
    finally:
        ws.close()


def rows(ws: Workspace, name: str, columns: tuple[str, ...] | None = None) -> list[tuple]:
    cols = ", ".join(columns or table(name).column_names)
    return ws.warehouse.con.execute(f"SELECT {cols} FROM {name} ORDER BY ALL").fetchall()


def crm(ws: Workspace) -> CrmComponent:
    return ws.crm


def reasons(ws: Workspace, name: str) -> list[list[str]]:
    return [r["reasons"] for r in ws.ingest.quarantine(table=name).to_pylist()]
