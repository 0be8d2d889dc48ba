"""A generated company loads through ingest with nothing refused and every value intact."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import revteam
from revteam.generate import GeneratorConfig, generate_company
from revteam.model import TABLES


@pytest.fixture(scope="module")
def company():
    return generate_company(GeneratorConfig(n_leads=3_000, months=12, seed=7))


def _sorted(table: pa.Table, key: tuple[str, ...]) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in key])


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_round_trip_through_files_and_ingest(company, tmp_path: Path, fmt: str):
    company.write(tmp_path / "data", format=fmt)
    with revteam.init(tmp_path / "ws") as ws:
        results = ws.ingest.load_directory(tmp_path / "data")
        assert {r.table for r in results} == set(TABLES)
        assert sum(r.quarantined for r in results) == 0
        for name, t in TABLES.items():
            cols = ", ".join(f'"{c}"' for c in t.column_names)
            loaded = ws.warehouse.arrow(f'SELECT {cols} FROM "{name}"')
            expected = company.tables[name]
            assert loaded.num_rows == expected.num_rows, name
            got = _sorted(loaded, t.key).cast(expected.schema)
            assert got.equals(_sorted(expected, t.key)), name
        assert ws.data_version == len(TABLES)
