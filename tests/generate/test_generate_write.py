from __future__ import annotations

import json
import re

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from revteam.exceptions import GeneratorError
from revteam.generate import GeneratorConfig, generate_company


@pytest.fixture(scope="module")
def small():
    return generate_company(GeneratorConfig(n_leads=2_000, months=6, seed=3))


def test_parquet_round_trip(small, tmp_path):
    paths = small.write(tmp_path / "out")
    assert set(paths) == set(small.tables)
    for name, path in paths.items():
        assert path == tmp_path / "out" / f"{name}.parquet"
        assert pq.read_table(path).equals(small.tables[name]), name
    assert json.loads((tmp_path / "out" / "truth.json").read_text()) == small.truth


def test_csv_round_trip(small, tmp_path):
    paths = small.write(tmp_path, format="csv")
    for name, path in paths.items():
        original = small.tables[name]
        read = pacsv.read_csv(
            path,
            convert_options=pacsv.ConvertOptions(
                column_types=original.schema,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
        assert read.schema == original.schema, name
        assert read.equals(original), name


def test_csv_text_format(small, tmp_path):
    text = small.write(tmp_path, format="csv")["opportunities"].read_text()
    header, first, *_ = text.splitlines()
    assert header.replace('"', "").split(",")[:3] == ["opportunity_id", "account_id", "person_id"]
    assert re.search(r",\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,", first)  # created_at, no fraction
    assert ".000000" not in text
    assert ",true," in text and ",false," in text
    assert ",," in text  # nulls are empty fields


def test_unknown_format_is_refused(small, tmp_path):
    with pytest.raises(GeneratorError, match="parquet, csv"):
        small.write(tmp_path, format="xlsx")  # type: ignore[arg-type]


def test_same_config_gives_identical_files(tmp_path):
    config = GeneratorConfig(n_leads=1_500, months=4, seed=8)
    a = generate_company(config).write(tmp_path / "a")
    b = generate_company(config).write(tmp_path / "b")
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    assert (tmp_path / "a" / "truth.json").read_bytes() == (
        tmp_path / "b" / "truth.json"
    ).read_bytes()


def test_decimal_amounts_are_exact(small):
    amounts = small.tables["orders"].column("amount")
    assert amounts.type == pa.decimal128(18, 2)
    assert all(v.as_tuple().exponent == -2 for v in amounts.to_pylist()[:100])
