"""One generated company in DuckDB, PostgreSQL and Spark (local mode), for engine comparisons.

PostgreSQL: ``TEST_POSTGRES_URL`` (a URL; ``.ci/run`` starts a server and sets it), else
a throwaway server started here with ``scripts/postgres`` (the machine's PostgreSQL binaries).
Without them the Postgres tests skip, except under ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import revteam
from revteam.generate import GeneratorConfig, generate_company
from revteam.model import TABLES
from revteam.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]


ENGINES = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The engine tests on one worker: their company, schema and Spark session are built once."""
    for item in items:
        if ENGINES in item.path.parents:
            item.add_marker(pytest.mark.xdist_group("engines"))


@pytest.fixture(scope="session")
def pg_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    given = os.environ.get("TEST_POSTGRES_URL")
    if given:
        yield given
        return
    if not any(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")) and not shutil.which("pg_ctl"):
        if os.environ.get("CI") == "true":
            pytest.fail("PostgreSQL is not installed: .ci/run installs it (apt-get postgresql)")
        pytest.skip("PostgreSQL's server is not installed (apt-get install postgresql)")
    folder = tmp_path_factory.mktemp("postgres")
    started = subprocess.run(
        [str(REPO / "scripts" / "postgres"), "start", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run([str(REPO / "scripts" / "postgres"), "stop", str(folder)], check=False)


@pytest.fixture(scope="session")
def engines_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The company as files, and loaded into a DuckDB workspace."""
    root = tmp_path_factory.mktemp("engines")
    company = generate_company(GeneratorConfig(n_leads=3000, seed=5))
    company.write(root / "data")
    with revteam.init(root / "duckdb") as ws:
        ws.ingest.load_directory(root / "data")
    return root


@pytest.fixture(scope="session")
def duck_ws(engines_root: Path) -> Iterator[Workspace]:
    with revteam.open(engines_root / "duckdb", read_only=True) as ws:
        yield ws


def _copy_tables(duck: Workspace, target: Workspace) -> None:
    """Load every canonical table of the DuckDB workspace into the other engine, as is."""
    warehouse = target.warehouse
    for table in TABLES.values():
        rows = duck.warehouse.arrow(f'SELECT * FROM "{table.name}"')
        warehouse.load(table.name, rows, overwrite=True)  # type: ignore[attr-defined]
    warehouse.bump_data_version()  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def pg_ws(pg_url: str, engines_root: Path, duck_ws: Workspace) -> Iterator[Workspace]:
    schema = f"engines_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in pg_url else "?"
    root = engines_root / "postgres"
    with revteam.init(root, warehouse=f"{pg_url}{sep}schema={schema}") as ws:
        _copy_tables(duck_ws, ws)
    with revteam.open(root, read_only=True) as ws:
        yield ws


@pytest.fixture(scope="session")
def spark_ws(engines_root: Path) -> Iterator[Workspace]:
    root = engines_root / "spark"
    with revteam.init(
        root,
        warehouse="spark",
        spark={
            "master": "local[2]",
            "database": f"engines_{uuid.uuid4().hex[:8]}",
            "location": str(engines_root / "lake"),
            "conf": {"spark.driver.memory": "2g"},
        },
    ) as ws:
        # loaded as any workspace is: validated in the staging file, written across as Parquet
        ws.ingest.load_directory(engines_root / "data")
    with revteam.open(root, read_only=True) as ws:
        yield ws
