"""Which CRM system a warehouse row came from, read off its staged ``_source`` path."""

from __future__ import annotations

import duckdb
import pytest

from revteam.crm.loading import staged_system_sql


@pytest.mark.parametrize(
    ("source", "system"),
    [
        ("/ws/crm/staged/salesforce-api-0a1b2c3d4e/people.parquet", "salesforce"),
        ("C:\\ws\\crm\\staged\\hubspot-exports-0a1b2c3d4e\\people.parquet", "hubspot"),
        ("/data/crm/people.csv", None),  # a file loaded with `revteam ingest`
    ],
)
def test_the_system_is_read_from_unix_and_windows_paths(source: str, system: str | None):
    sql = staged_system_sql("s")
    assert duckdb.sql(f"SELECT {sql} FROM (SELECT ? AS s)", params=[source]).fetchall() == [
        (system,)
    ]
