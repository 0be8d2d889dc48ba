"""HubSpot UI exports: labels of both generations, kept-aside fields, mappings, round trip."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from tests.conftest import write
from tests.crm.conftest import crm, reasons, rows

from revteam.crm import EXTRA_TABLE, write_hubspot_exports
from revteam.generate import Company
from revteam.workspace import Workspace


def table(header: list[str], *records: list[str]) -> str:
    """CSV text the way HubSpot writes it (quoted where needed)."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *records])
    return buf.getvalue()


ANA = ["101", "Ana", "Lima", "ANA.LIMA@Acme.com", "2025-01-02 10:00"]
BASE = ["Record ID", "First Name", "Last Name", "Email", "Create Date", "Lifecycle Stage"]
OLD = table(
    [
        *BASE,
        "Original Source",
        "Original Source Drill-Down 1",
        "Became a Marketing Qualified Lead Date",
        "Became a Customer Date",
        "Favorite Color",
    ],
    [*ANA, "Customer", "Paid Search", "google", "2025-01-05 09:00", "2025-03-01 12:00", "blue"],
)
NEW = table(
    [
        *BASE,
        "Original Traffic Source",
        "Original Traffic Source Drill-Down 1",
        'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"',
        'Date entered "Customer (Lifecycle Stage Pipeline)"',
        "Favorite Color",
    ],
    [*ANA, "customer", "PAID_SEARCH", "google", "2025-01-05 09:00", "2025-03-01 12:00", "blue"],
)
PEOPLE = ("person_id", "email", "channel", "source_detail", "created_at", "mql_at", "sql_at")
PEOPLE += ("opportunity_at", "customer_at")


@pytest.mark.parametrize("text", [OLD, NEW], ids=["old labels", "new labels"])
def test_both_generations_of_labels_give_the_same_person(ws: Workspace, tmp_path: Path, text: str):
    result = crm(ws).load_hubspot(write(tmp_path / "contacts.csv", text))
    assert result.result("people").inserted == 1
    [person] = rows(ws, "people", PEOPLE)
    assert person[:4] == ("101", "ana.lima@acme.com", "paid_search", "google")
    assert str(person[5]) == "2025-01-05 09:00:00"
    # a later stage implies the earlier ones: sql and opportunity are filled from customer
    assert str(person[6]) == str(person[7]) == str(person[8]) == "2025-03-01 12:00:00"
    assert any("filled from a later stage" in n for n in result.notes)


def test_unknown_columns_are_kept_aside_not_lost(ws: Workspace, tmp_path: Path):
    result = crm(ws).load_hubspot(write(tmp_path / "contacts.csv", OLD))
    assert result.extra_fields == 1
    [extra] = crm(ws).extra_fields().to_pylist()
    assert extra["record_id"] == "101" and extra["canonical_table"] == "people"
    assert '"Favorite Color":"blue"' in extra["fields"]
    assert '"Lifecycle Stage":"Customer"' in extra["fields"]
    count = ws.warehouse.con.execute(f"SELECT count(*) FROM {EXTRA_TABLE}").fetchall()
    crm(ws).load_hubspot(tmp_path / "contacts.csv")  # a reload replaces, never duplicates
    assert ws.warehouse.con.execute(f"SELECT count(*) FROM {EXTRA_TABLE}").fetchall() == count


def test_xlsx_export_reads_like_csv(ws: Workspace, tmp_path: Path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for line in OLD.strip().splitlines():
        sheet.append(line.split(","))
    book.save(tmp_path / "contacts.xlsx")
    result = crm(ws).load_hubspot(tmp_path / "contacts.xlsx")
    assert result.result("people").inserted == 1
    assert rows(ws, "people", ("person_id", "channel"))[0] == ("101", "paid_search")


DEALS = table(
    [
        "Deal ID",
        "Deal Name",
        "Pipeline",
        "Deal Stage",
        "Amount",
        "Close Date",
        "Create Date",
        "Deal owner",
        "Associated Company ID(s)",
        "Associated Contact IDs",
        "Closed Won Reason",
        "Closed Lost Reason",
    ],
    [
        "D1",
        "Big deal",
        "Sales Pipeline",
        "Closed Won",
        "1,200.50",
        "2025-02-01",
        "2025-01-10 08:00",
        "",
        "C1",
        "",
        "Price",
        "",
    ],
    [
        "D2",
        "Odd deal",
        "Sales Pipeline",
        "Demo Booked",
        "500",
        "2025-03-01",
        "2025-01-11 08:00",
        "",
        "C1",
        "",
        "",
        "",
    ],
)
COMPANIES = (
    "Company ID,Company name,Company Domain Name,Create Date\nC1,Acme Inc,www.acme.com,2024-12-01\n"
)


def test_unmapped_deal_stage_is_refused_with_its_value_and_reported(ws: Workspace, tmp_path: Path):
    write(tmp_path / "companies.csv", COMPANIES)
    write(tmp_path / "deals.csv", DEALS)
    [value] = [v for v in crm(ws).unmapped("hubspot", tmp_path) if v.field == "stage"]
    assert (value.value, value.rows, value.outcome) == ("Demo Booked", 1, "refused (quarantine)")
    assert "deal_stages in crm.yaml" in value.setting
    result = crm(ws).load_hubspot(tmp_path)
    assert result.result("opportunities").inserted == 1
    [refused] = reasons(ws, "opportunities")
    assert any("'demo_booked' is not one of" in r for r in refused)
    won = rows(ws, "opportunities", ("opportunity_id", "stage", "is_closed", "is_won", "amount"))
    assert won == [("D1", "closed_won", True, True, pytest.approx(1200.50))]
    assert rows(ws, "accounts", ("account_id", "domain")) == [("C1", "acme.com")]
    assert any("without a Deal Type loaded as new_business" in n for n in result.notes)


def test_crm_yaml_maps_a_company_s_own_deal_stage(ws: Workspace, tmp_path: Path):
    write(ws.root / "crm.yaml", "deal_stages:\n  Demo Booked: discovery\n")
    write(tmp_path / "companies.csv", COMPANIES)
    write(tmp_path / "deals.csv", DEALS)
    assert crm(ws).unmapped("hubspot", tmp_path) == []
    crm(ws).load_hubspot(tmp_path)
    assert rows(ws, "opportunities", ("opportunity_id", "stage")) == [
        ("D1", "closed_won"),
        ("D2", "discovery"),
    ]


def test_workspace_stage_and_channel_mappings_apply(tmp_path: Path):
    import revteam

    ws = revteam.init(
        tmp_path / "ws",
        stage_mapping={"Product Qualified Lead": "mql"},
        channel_mapping={"Trade Fair": "events"},
    )
    text = (
        'Record ID,Create Date,Lead Source,"Date entered ""Product Qualified Lead '
        '(Lifecycle Stage Pipeline)"""\n7,2025-01-01,Trade Fair,2025-01-03\n'
    )
    with ws:
        crm(ws).load_hubspot(write(tmp_path / "contacts.csv", text))
        assert rows(ws, "people", ("channel", "CAST(mql_at AS DATE)")) == [
            ("events", __import__("datetime").date(2025, 1, 3))
        ]


def test_a_second_load_of_the_same_export_changes_nothing(ws: Workspace, tmp_path: Path):
    write(tmp_path / "contacts.csv", OLD)
    crm(ws).load_hubspot(tmp_path / "contacts.csv")
    version = ws.data_version
    again = crm(ws).load_hubspot(tmp_path / "contacts.csv")
    assert again.result("people").unchanged == 1 and ws.data_version == version


@pytest.mark.slow
def test_round_trip_reproduces_the_direct_load(
    company: Company, direct: Workspace, ws: Workspace, tmp_path: Path
):
    files = write_hubspot_exports(company, tmp_path / "hubspot")
    results = crm(ws).load_exports_folder("hubspot", tmp_path / "hubspot")
    assert sum(r.quarantined for r in results) == 0
    for name in ("users", "accounts", "people", "opportunities", "campaigns", "touchpoints"):
        assert rows(ws, name) == rows(direct, name), name
    # forecast categories went out as HubSpot's labels ("Closed won", "Not forecasted" …)
    categories = {c for (c,) in rows(ws, "opportunities", ("forecast_category",))}
    assert categories >= {"pipeline", "best_case", "closed", "omitted"}
    # HubSpot exports carry the date each stage was entered, not the amount at that time
    key = ("opportunity_id", "entered_at", "stage")
    assert rows(ws, "opportunity_stages", key) == rows(direct, "opportunity_stages", key)
    assert {"contacts", "companies", "deals", "users"} <= files.keys()


def test_a_malformed_line_is_refused_with_the_parser_s_reason(ws: Workspace, tmp_path: Path):
    text = OLD + "102" + ",x" * 20 + "\n" + OLD.splitlines()[1].replace("101", "103") + "\n"
    crm(ws).load_hubspot(write(tmp_path / "contacts.csv", text))
    assert rows(ws, "people", ("person_id",)) == [("101",), ("103",)]
    [refused] = ws.ingest.quarantine(table="people").to_pylist()
    assert refused["reasons"][0].startswith("malformed CSV record (too many columns)")
    assert '"_origin":"contacts.csv:3"' in refused["record"]  # the short line, once
    origins = ws.warehouse.con.execute(
        "SELECT person_id FROM people WHERE _source LIKE '%people.parquet' ORDER BY 1"
    ).fetchall()
    assert origins == [("101",), ("103",)]
