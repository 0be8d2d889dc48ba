"""Salesforce LeadHistory: a lead's status changes date its lifecycle stages."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tests.conftest import write
from tests.crm.conftest import crm, reasons

from revteam.workspace import Workspace

LEADS = (
    "id,first_name,last_name,email,company,status,lead_source,created_date,is_converted,"
    "converted_date,mql_date_c\n"
    "00Q1,Ana,Lima,ana@acme.example,Acme,Closed - Converted,Web,2025-01-01T09:00:00Z,true,"
    "2025-01-12T10:00:00Z,\n"
    "00Q2,Bo,Berg,bo@globex.example,Globex,Closed - Not Converted,Web,2025-01-02T09:00:00Z,"
    "false,,\n"
    "00Q3,Cy,Diaz,cy@initech.example,Initech,Working - Contacted,Web,2025-01-01T09:00:00Z,"
    "false,,2025-01-02T08:00:00Z\n"
)
HISTORY = (
    "id,lead_id,field,old_value,new_value,created_date,is_deleted\n"
    "017A,00Q1,created,,,2025-01-01T09:00:00Z,false\n"
    "017B,00Q1,Status,Open - Not Contacted,Working - Contacted,2025-01-03T09:00:00Z,false\n"
    "017C,00Q1,Status,Working - Contacted,Marketing Qualified,2025-01-05T09:00:00Z,false\n"
    "017D,00Q1,Rating,Warm,Hot,2025-01-06T09:00:00Z,false\n"
    "017E,00Q1,Status,Marketing Qualified,Sales Accepted,2025-01-10T09:00:00Z,false\n"
    "017F,00Q1,leadConverted,,,2025-01-12T10:00:00Z,false\n"
    "017G,00Q2,Status,Open - Not Contacted,Closed - Not Converted,2025-01-20T09:00:00Z,false\n"
    "017H,00Q3,Status,Working - Contacted,Marketing Qualified,2025-01-08T09:00:00Z,false\n"
    "017I,00Q3,Status,Marketing Qualified,Marketing Qualified,2025-01-01T00:00:00Z,true\n"
)


def _stages(ws: Workspace) -> dict[str, tuple[object, ...]]:
    rows = ws.warehouse.con.execute(
        "SELECT email, mql_at, sql_at, disqualified_at FROM people ORDER BY 1"
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_status_changes_date_the_stages_a_lead_reached(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "fivetran"
    folder.mkdir()
    write(folder / "sf_lead_data.csv", LEADS)
    write(folder / "sf_lead_history_data.csv", HISTORY)
    result = crm(ws).load_salesforce(folder)
    assert result.quarantined == 0, reasons(ws, "people")
    assert _stages(ws) == {
        # MQL from the status change; SQL when accepted, before the conversion two days later.
        "ana@acme.example": (dt.datetime(2025, 1, 5, 9), dt.datetime(2025, 1, 10, 9), None),
        "bo@globex.example": (None, None, dt.datetime(2025, 1, 20, 9)),
        # The lead's own MQL date field wins over its history; a deleted history row is no date.
        "cy@initech.example": (dt.datetime(2025, 1, 2, 8), None, None),
    }
    # Only Status values are checked against the stage mapping ("Hot" is a rating).
    assert all(u.value != "Hot" for u in result.unmapped)


def test_without_history_conversion_still_dates_sql(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "fivetran"
    folder.mkdir()
    write(folder / "sf_lead_data.csv", LEADS)
    crm(ws).load_salesforce(folder)
    assert _stages(ws)["ana@acme.example"][1:] == (dt.datetime(2025, 1, 12, 10), None)


def test_a_lead_history_report_without_ids_finds_its_leads(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    write(
        folder / "report1.csv",
        '"Lead Owner","First Name","Last Name","Company / Account","Email","Lead Status",'
        '"Create Date"\n'
        '"Ana Lima","Dana","Scully","Hooli","dana@hooli.example","Working - Contacted",'
        '"2/3/2025"\n',
    )
    write(
        folder / "report2.csv",
        '"Lead Owner","First Name","Last Name","Company / Account","Email","Edit Date",'
        '"Field / Event","Old Value","New Value"\n'
        '"Ana Lima","Dana","Scully","Hooli","dana@hooli.example","2/4/2025 10:00 AM",'
        '"Lead Status","Open - Not Contacted","Marketing Qualified"\n'
        '"Ana Lima","Dana","Scully","Hooli","dana@hooli.example","2/6/2025 3:30 PM",'
        '"Lead Status","Marketing Qualified","Working - Contacted"\n',
    )
    result = crm(ws).load_salesforce(folder)
    assert result.quarantined == 0, reasons(ws, "people")
    assert _stages(ws) == {"dana@hooli.example": (dt.datetime(2025, 2, 4, 10), None, None)}
    assert any("rows matched to their lead by Email" in n for n in result.notes)
