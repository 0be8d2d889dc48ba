"""Every Fivetran seed under shared/fixtures/crm loads, or is reported as not needed."""

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

pytestmark = pytest.mark.skipif(not CRM_FIXTURES.is_dir(), reason="shared fixtures not present")


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

        result = load_translation(ws, tr)
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
