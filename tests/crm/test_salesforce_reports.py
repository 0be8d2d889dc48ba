"""Salesforce report exports: labels, formats, lead conversion, stage history, round trip."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import write
from tests.crm.conftest import crm, reasons, rows

from revteam.crm import write_salesforce_exports
from revteam.generate import Company
from revteam.workspace import Workspace

FOOTER = '\n"Grand Totals (2 records)"\n""\n"Confidential Information - Do Not Distribute"\n'
ACCOUNTS = (
    '"Account ID","Account Name","Website","Created Date"\n'
    '"001A","Acme","http://acme.com","1/2/2024 9:05 AM"\n'
)
LEADS = (
    '"Lead ID","First Name","Last Name","Email","Company / Account","Lead Source","Lead Status",'
    '"Create Date","Converted","Converted Date","Converted Contact ID","Converted Account ID",'
    '"Converted Opportunity ID","MQL Date"\n'
    '"00Q1","Ana","Lima","ana@acme.com","Acme","Web","Closed - Converted","1/5/2024 10:00 AM",'
    '"1","2/1/2024 3:00 PM","003A","001A","006A","1/20/2024 11:00 AM"\n'
    '"00Q2","Bo","Berg","bo@acme.com","Acme","Trade Show","Working - Contacted",'
    '"1/7/2024 10:00 AM","0","","","","",""\n'
)
CONTACTS = (
    '"Contact ID","Account ID","First Name","Last Name","Email","Created Date"\n'
    '"003A","001A","Ana","Lima","ana@acme.com","2/1/2024 3:00 PM"\n'
)
OPPS = (
    '"Opportunity ID","Opportunity Name","Account ID","Stage","Amount","Probability (%)",'
    '"Close Date","Close Date (2)","Created Date","Type"\n'
    '"006A","Acme deal","001A","Closed Won","$1,234,567.00","100","3/1/2024","3/1/2024",'
    '"2/1/2024 3:00 PM","New Customer"\n'
    '"006B","Acme more","001A","Value Proposition","USD 10,000.00","35","6/1/2024","6/1/2024",'
    '"2/10/2024 9:00 AM","Existing Customer - Upgrade"\n'
)
HISTORY = (
    '"Opportunity ID","Stage","Amount","Probability (%)","Edit Date"\n'
    '"006A","Prospecting","$1,000,000.00","10","2/1/2024 3:00 PM"\n'
    '"006A","Prospecting","$1,234,567.00","10","2/3/2024 3:00 PM"\n'
    '"006A","Closed Won","$1,234,567.00","100","3/2/2024 4:30 PM"\n'
)


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "sf"
    folder.mkdir()
    for name, text in (
        ("accounts", ACCOUNTS),
        ("leads", LEADS),
        ("contacts", CONTACTS),
        ("opportunities", OPPS),
        ("opportunity_history", HISTORY),
    ):
        write(folder / f"{name}.csv", text + FOOTER)
    return folder


def test_a_converted_lead_and_its_contact_are_one_person(ws: Workspace, reports: Path):
    result = crm(ws).load_salesforce(reports)
    assert result.quarantined == 0, [reasons(ws, t) for t in ("people", "opportunities")]
    people = rows(
        ws,
        "people",
        ("person_id", "channel", "created_at", "mql_at", "sql_at", "opportunity_at", "customer_at"),
    )
    assert people == [
        (
            "003A",
            "direct",
            dt.datetime(2024, 1, 5, 10),
            dt.datetime(2024, 1, 20, 11),
            dt.datetime(2024, 2, 1, 15),
            dt.datetime(2024, 2, 1, 15),
            dt.datetime(2024, 3, 2, 16, 30),
        ),
        ("00Q2", "events", dt.datetime(2024, 1, 7, 10), None, None, None, None),
    ]


def test_report_formats_become_canonical_values(ws: Workspace, reports: Path):
    result = crm(ws).load_salesforce(reports)
    opps = rows(
        ws,
        "opportunities",
        (
            "opportunity_id",
            "person_id",
            "type",
            "stage",
            "amount",
            "probability",
            "expected_close_date",
            "closed_at",
        ),
    )
    assert opps == [
        (
            "006A",
            "003A",
            "new_business",
            "closed_won",
            Decimal("1234567.00"),
            1.0,
            dt.date(2024, 3, 1),
            dt.datetime(2024, 3, 2, 16, 30),
        ),
        ("006B", None, "upsell", "discovery", Decimal("10000.00"), 0.35, dt.date(2024, 6, 1), None),
    ]
    stages = rows(ws, "opportunity_stages", ("opportunity_id", "stage", "amount", "probability"))
    assert stages == [
        ("006A", "closed_won", Decimal("1234567.00"), 1.0),
        ("006A", "qualification", Decimal("1000000.00"), 0.1),
    ]
    assert any(
        "changed amount, probability or close date but not the stage" in n for n in result.notes
    )
    assert any("footer" in n for n in result.notes)
    assert rows(ws, "accounts", ("domain",)) == [("acme.com",)]


def test_campaign_members_become_touchpoints(ws: Workspace, reports: Path):
    write(
        reports / "campaigns.csv",
        '"Campaign ID","Campaign Name","Type","Start Date"\n'
        '"701A","Spring webinar","Webinar","1/1/2024"\n',
    )
    write(
        reports / "campaign_members.csv",
        '"Campaign ID","Member ID","Lead ID","Contact ID","Member Status",'
        '"First Responded Date","Created Date"\n'
        '"701A","00vA","00Q1","","Attended","1/9/2024 2:00 PM","1/8/2024 9:00 AM"\n'
        '"701A","00vB","00Q2","","Registered","","1/8/2024 9:30 AM"\n',
    )
    crm(ws).load_salesforce(reports)
    touches = rows(
        ws, "touchpoints", ("touch_id", "person_id", "account_id", "channel", "type", "occurred_at")
    )
    assert touches == [
        ("00vA", "003A", "001A", "webinar", "webinar_attended", dt.datetime(2024, 1, 9, 14)),
        ("00vB", "00Q2", None, "webinar", "webinar_registration", dt.datetime(2024, 1, 8, 9, 30)),
    ]


def test_an_unknown_stage_is_refused_until_mapped(ws: Workspace, reports: Path):
    text = OPPS.replace("Value Proposition", "Legal Review")
    write(reports / "opportunities.csv", text)
    crm(ws).load_salesforce(reports)
    assert any(
        "'legal_review' is not one of" in r for rs in reasons(ws, "opportunities") for r in rs
    )
    write(ws.root / "crm.yaml", "deal_stages: {Legal Review: negotiation}\n")
    crm(ws).load_salesforce(reports)
    assert ("006B", "negotiation") in rows(ws, "opportunities", ("opportunity_id", "stage"))
    assert reasons(ws, "opportunities") == []  # reloading the fixed file clears its refusals


@pytest.mark.slow
def test_round_trip_reproduces_the_direct_load(
    company: Company, direct: Workspace, ws: Workspace, tmp_path: Path
):
    write_salesforce_exports(company, tmp_path / "salesforce")
    results = crm(ws).load_exports_folder("salesforce", tmp_path / "salesforce")
    assert sum(r.quarantined for r in results) == 0
    for name in (
        "users",
        "accounts",
        "campaigns",
        "people",
        "opportunities",
        "opportunity_stages",
        "sales_activities",
        "orders",
        "touchpoints",
    ):
        assert rows(ws, name) == rows(direct, name), name
    # forecast categories went out as Salesforce's names ("Best Case", "Omitted" …)
    categories = {c for (c,) in rows(ws, "opportunities", ("forecast_category",))}
    assert categories >= {"pipeline", "best_case", "closed", "omitted"}
