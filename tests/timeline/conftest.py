"""Workspaces for the timeline tests: a generated company, two CRMs resolved, a huge account."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import revteam
from revteam.crm import write_hubspot_exports, write_salesforce_exports
from revteam.generate import Company, GeneratorConfig, generate_company
from revteam.workspace import Workspace

BIG = 100_000
"""Touchpoints added to one account of the tiny workspace."""


@pytest.fixture(scope="session")
def company() -> Company:
    return generate_company(GeneratorConfig(n_leads=2000, seed=3))


@pytest.fixture(scope="session")
def loaded(company: Company, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """The company loaded into a fresh workspace from its canonical files."""
    root = tmp_path_factory.mktemp("timeline")
    company.write(root / "data")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    yield ws
    ws.close()


SF_IDS = ("00QSF0000000000", "00QSF0000000001", "00QSF0000000002")


@pytest.fixture(scope="session")
def two_crms(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Workspace, dict[str, str]]]:
    """A company loaded from HubSpot exports, plus three of its people as Salesforce leads.

    The leads come from the Salesforce writer's own leads report (unconverted leads, so they
    stay leads) with new Lead IDs, as a second CRM holds the same people under its own ids;
    identity resolution then links each to its HubSpot contact. Returns the workspace and
    Salesforce id → HubSpot id.
    """
    root = tmp_path_factory.mktemp("two-crms")
    company = generate_company(GeneratorConfig(n_leads=600, seed=3))
    write_hubspot_exports(company, root / "hubspot")
    write_salesforce_exports(company, root / "salesforce")
    with (root / "salesforce" / "leads.csv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    picked = [r for r in rows if r["Converted"] == "0"][: len(SF_IDS)]
    pairs = {}
    for new_id, row in zip(SF_IDS, picked, strict=True):
        pairs[new_id] = row["Lead ID"]
        row["Lead ID"] = new_id
    leads = root / "sf-leads" / "leads.csv"
    leads.parent.mkdir()
    with leads.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, list(rows[0]), quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(picked)
    ws = revteam.init(root / "ws")
    ws.crm.load_exports_folder("hubspot", root / "hubspot")
    ws.crm.load_salesforce([leads])
    ws.identity.run()
    yield ws, pairs
    ws.close()


@pytest.fixture(scope="session")
def big(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str]]:
    """A tiny company whose first account has :data:`BIG` more touchpoints; its id."""
    root = tmp_path_factory.mktemp("big")
    generate_company(GeneratorConfig(n_leads=300, seed=2)).write(root / "data")
    ws = revteam.init(root / "ws")
    ws.ingest.load_directory(root / "data")
    account, person = ws.warehouse.con.execute(
        "SELECT account_id, min(person_id) FROM people WHERE account_id IS NOT NULL "
        "GROUP BY 1 ORDER BY 1 LIMIT 1"
    ).fetchone()
    start = dt.datetime(2025, 1, 1)
    pq.write_table(
        pa.table(
            {
                "touch_id": [f"BIG{i:07d}" for i in range(BIG)],
                "person_id": [person] * BIG,
                "account_id": [account] * BIG,
                "campaign_id": pa.nulls(BIG, pa.string()),
                "channel": ["paid_search"] * BIG,
                "type": ["web_visit" if i % 4 == 0 else "ad_click" for i in range(BIG)],
                "occurred_at": [start + dt.timedelta(minutes=5 * i) for i in range(BIG)],
            }
        ),
        root / "touches.parquet",
    )
    ws.ingest.load("touchpoints", root / "touches.parquet")
    yield ws, account
    ws.close()
