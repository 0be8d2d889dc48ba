"""Every Fivetran seed under tests/fixtures/crm loads, or is reported as not needed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.crm.conftest import CRM_FIXTURES, crm

from revteam.workspace import Workspace

DOCS = Path(__file__).resolve().parents[2] / "docs" / "crm.md"
VARIANT = re.compile(
    r"(_postgres|_snowflake|_databricks|__from_dbt_\w+)_?(data)?\.csv$|_data_(postgres|snowflake|databricks)\.csv$|__from_"
)
SETS = {
    "hubspot": CRM_FIXTURES / "hubspot_api_fivetran" / "seeds",
    "salesforce": CRM_FIXTURES / "salesforce_api_fivetran" / "seeds",
}


def _main(system: str) -> list[Path]:
    return [p for p in sorted(SETS[system].glob("*.csv")) if not VARIANT.search(p.name)]


def _variants(system: str) -> list[Path]:
    return [p for p in sorted(SETS[system].glob("*.csv")) if VARIANT.search(p.name)]


@pytest.mark.parametrize("include_deleted", [False, True])
@pytest.mark.parametrize("system", ["hubspot", "salesforce"])
def test_every_seed_loads_or_is_reported(ws: Workspace, system: str, include_deleted: bool):
    files = _main(system)
    with crm(ws).translate(system, files, include_deleted=include_deleted) as tr:
        staged = {s.path.name for s in tr.sources}
        from revteam.crm.loading import load_translation

        result = load_translation(tr, root=ws.root, warehouse=ws.warehouse, ingest=ws.ingest)
    for path in files:
        assert path.name in staged or any(
            n.startswith(f"{path.name}: not loaded") for n in result.notes
        ), path.name
    assert result.results, "nothing loaded"
    for r in result.results:
        assert r.rows_read == r.loaded + r.quarantined, r.table
    refused = ws.ingest.quarantine().to_pylist()
    assert sum(r.quarantined for r in result.results) == len(refused)
    for row in refused:
        assert row["reasons"] and all(reason.strip() for reason in row["reasons"]), row
        assert '"_origin"' in row["record"]  # the source file and line of the refused record


@pytest.mark.parametrize(
    "path", [*_variants("hubspot"), *_variants("salesforce")], ids=lambda p: p.name
)
def test_warehouse_variants_of_a_seed_load_on_their_own(ws: Workspace, path: Path):
    system = "hubspot" if "hubspot" in str(path) else "salesforce"
    result = crm(ws).load(system, path)
    assert all(r.rows_read == r.loaded + r.quarantined for r in result.results)


def test_the_fixture_list_in_the_docs_names_every_seed():
    text = DOCS.read_text(encoding="utf-8")
    missing = [p.name for s in SETS.values() for p in sorted(s.glob("*.csv")) if p.name not in text]
    assert missing == []


def test_records_deleted_in_hubspot_leave_the_warehouse(ws: Workspace, tmp_path: Path):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    crm(ws).load("hubspot", _main("hubspot"))

    def ids(table: str, key: str) -> set[str]:
        return {r[0] for r in ws.warehouse.con.execute(f"SELECT {key} FROM {table}").fetchall()}

    people, accounts = ids("people", "person_id"), ids("accounts", "account_id")
    assert people and accounts

    def flag(name: str, column: str, gone: str) -> Path:
        """A later export of the same table in which one record is deleted."""
        text = dict.fromkeys(("id", column), pa.string())
        options = pacsv.ConvertOptions(column_types=text, strings_can_be_null=False)
        table = pacsv.read_csv(SETS["hubspot"] / name, convert_options=options)
        flags = [
            "true" if i == gone else f
            for i, f in zip(table["id"].to_pylist(), table[column].to_pylist(), strict=True)
        ]
        out = tmp_path / name
        i = table.column_names.index(column)
        pacsv.write_csv(table.set_column(i, column, pa.array(flags)), out)
        return out

    person, account = sorted(people)[0], sorted(accounts)[0]
    version = ws.data_version
    changed = [
        flag("contact_data.csv", "_fivetran_deleted", person),
        flag("company_data.csv", "is_deleted", account),
    ]
    result = crm(ws).load("hubspot", changed)
    assert result.removed == {"people": 1, "accounts": 1}
    assert ids("people", "person_id") == people - {person}
    assert ids("accounts", "account_id") == accounts - {account}
    assert ws.data_version > version
    again = crm(ws).load("hubspot", changed)  # the same export again: nothing more to remove
    assert again.removed == {}
