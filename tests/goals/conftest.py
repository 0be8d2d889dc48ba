"""A generated company (two years, planted rates) loaded once, for goals and their pacing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import revteam
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.workspace import Workspace


@pytest.fixture(scope="session")
def goals_company() -> Company:
    return generate_company(GeneratorConfig(n_leads=20_000, seed=1))


@pytest.fixture(scope="session")
def goals_ws(
    goals_company: Company, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("goals")
    goals_company.write(root / "data")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    yield ws
    ws.close()
