"""A generated company loaded once for the scoring tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import revteam
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.workspace import Workspace


@pytest.fixture(scope="session")
def scoring_company() -> Company:
    return generate_company(GeneratorConfig(n_leads=60_000, seed=23))


@pytest.fixture(scope="session")
def scoring_ws_path(scoring_company: Company, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("scoring")
    scoring_company.write(root / "data")
    with revteam.init(root / "ws") as ws:
        ws.ingest.load_directory(root / "data")
    return root / "ws"


@pytest.fixture(scope="session")
def scored_ws(scoring_ws_path: Path) -> Iterator[Workspace]:
    with revteam.open(scoring_ws_path, read_only=True) as opened:
        yield opened
