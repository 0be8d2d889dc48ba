"""HubSpot deals without a company load whole, are counted, and KPIs say what they left out.

Also: the default UI export of deals, and Fivetran's e-mail campaigns as canonical campaigns.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import write
from tests.crm.conftest import CRM_FIXTURES, crm, rows
from typer.testing import CliRunner

import revteam
from revteam.cli import app
from revteam.workspace import Workspace

UI = CRM_FIXTURES / "hubspot_ui_exports"
SEEDS = CRM_FIXTURES / "hubspot_api_fivetran" / "seeds"
ACCOUNT_OF = {
    "7001": "9001",  # its primary company
    "7002": "9002",  # no company: its contact's
    "7003": None,  # its contact has no company
    "7004": None,  # no association at all
    "7005": "9003",  # the primary wins over the first of all associated companies
    "7006": "9003",  # no company: its first contact's
    "7007": None,
}
WON = 24000 + 8500.50 + 3200 + 1500
TOOK = "deals.csv: 2 deal(s) without a company took their contact's company"
WITHOUT = "deals.csv: 3 deal(s) have no company: loaded without an account"


def _accounts(ws: Workspace) -> dict[str, str | None]:
    return dict(rows(ws, "opportunities", ("opportunity_id", "account_id")))


def test_every_deal_of_a_default_export_loads_with_its_account(ws: Workspace):
    result = crm(ws).load_hubspot(UI)
    assert result.quarantined == 0 and ws.ingest.quarantine().num_rows == 0
    assert result.result("opportunities").inserted == 7
    assert _accounts(ws) == ACCOUNT_OF
    assert TOOK in result.notes and WITHOUT in result.notes
    won = rows(ws, "opportunities", ("opportunity_id", "is_won", "amount", "closed_at IS NULL"))
    assert sum(a for _, w, a, _ in won if w) == pytest.approx(WON)
    assert all(not no_close for _, w, _, no_close in won if w)  # Close Date closes them


def test_contacts_already_in_the_workspace_give_their_company(ws: Workspace):
    crm(ws).load_hubspot([UI / "companies.csv", UI / "contacts.csv"])
    result = crm(ws).load_hubspot(UI / "deals.csv")
    assert result.quarantined == 0
    assert _accounts(ws) == ACCOUNT_OF
    assert TOOK in result.notes and WITHOUT in result.notes


def test_status_counts_deals_without_an_account(tmp_path: Path):
    with revteam.init(tmp_path / "ws") as ws:
        crm(ws).load_hubspot(UI)
        [gap] = [g for g in ws.status().gaps if g.table == "opportunities"]
        assert (gap.column, gap.rows) == ("account_id", 3)
    runner = CliRunner()
    out = runner.invoke(app, ["-w", str(tmp_path / "ws"), "status", "--format", "json"])
    assert out.exit_code == 0, out.output
    gaps = json.loads(out.stdout)["gaps"]
    [gap] = [{k: g[k] for k in ("table", "column", "rows")} for g in gaps]
    assert gap == {"table": "opportunities", "column": "account_id", "rows": 3}
    table = runner.invoke(app, ["-w", str(tmp_path / "ws"), "status"])
    assert table.exit_code == 0 and "deals without an account" in table.stdout


def test_revenue_counts_them_and_account_kpis_say_what_they_could_not_place(tmp_path: Path):
    with revteam.init(tmp_path / "ws") as ws:
        crm(ws).load_hubspot(UI)
        total = ws.metrics.query(["revenue", "opportunities_won"], grain="all")
        assert total.value("revenue") == pytest.approx(WON)
        assert total.value("opportunities_won") == 4 and total.notes == ()
        by = ws.metrics.query(["revenue", "new_customers"], by="country", grain="all")
        assert by.value("revenue", country=None) == pytest.approx(3200 + 1500)
        assert by.value("revenue", country="DE") == pytest.approx(8500.50)
        assert by.value("new_customers") == 2  # accounts 9001 and 9002
        unplaced = {u.metric: (u.records, u.left_out, u.by) for u in by.unplaced}
        assert unplaced == {
            "revenue": (2, False, ("country",)),
            "new_customers": (2, True, ("country",)),
        }
        assert any("new_customers: 2 deal(s) without an account not counted" in n for n in by.notes)
        cac = ws.metrics.query(["cac"], grain="all")  # built on new customers: says so too
        assert [u.metric for u in cac.unplaced] == ["cac"]
    out = CliRunner().invoke(
        app, ["-w", str(tmp_path / "ws"), "kpis", "revenue", "--by", "country", "--grain", "all"]
    )
    assert out.exit_code == 0, out.output
    assert "(none)" in out.stdout
    assert "note: revenue: 2 deal(s) without an account counted under (none) by country" in (
        " ".join(out.stdout.split())
    )


# -- API objects (Fivetran tables) ----------------------------------------------------------
OBJECTS = {
    "company_data.csv": "id,property_name,property_createdate\nC1,One,2024-01-01\n"
    "C2,Two,2024-01-01\n",
    "contact_data.csv": "id,property_email,property_associatedcompanyid,property_createdate\n"
    "P1,p1@two.example,C2,2024-02-01\nP2,p2@mail.example,,2024-02-01\n",
    "deal_pipeline_stage_data.csv": "stage_id,label,is_closed,closed_won\n"
    "won,Closed Won,true,true\n",
    "deal_data.csv": "deal_id,property_dealname,deal_pipeline_stage_id,property_amount,"
    "property_createdate,property_closedate,is_deleted\n"
    + "".join(f"D{i},Deal {i},won,100,2024-03-01,2024-03-10,false\n" for i in range(1, 5)),
    "deal_company_data.csv": "company_id,deal_id\nC1,D1\n",  # D1 has a company
    "deal_contact_data.csv": "contact_id,deal_id\nP1,D2\nP2,D3\n",  # D2: P1 has one, P2 not
}
"""Fivetran-shaped HubSpot tables: four won deals, one with a company, one whose contact has."""


def test_api_deals_without_deal_company_take_their_contact_s_company(ws: Workspace, tmp_path: Path):
    (tmp_path / "fivetran").mkdir()
    result = crm(ws).load_hubspot([write(tmp_path / "fivetran" / n, t) for n, t in OBJECTS.items()])
    assert result.quarantined == 0
    assert _accounts(ws) == {"D1": "C1", "D2": "C2", "D3": None, "D4": None}
    assert "deals: 1 deal(s) without a company took their contact's company" in result.notes
    assert "deals: 2 deal(s) have no company: loaded without an account" in result.notes
    assert ws.metrics.query("revenue", grain="all").value("revenue") == 400


def test_api_engagements_take_their_deal_from_engagement_deal(ws: Workspace, tmp_path: Path):
    """engagement_deal names the engagement and the deal: the deal is the activity's."""
    objects = OBJECTS | {
        "engagement_data.csv": "id,type\nE1,CALL\nE2,MEETING\n",
        "engagement_call_data.csv": "engagement_id,property_hs_timestamp\nE1,2024-03-02\n",
        "engagement_meeting_data.csv": "engagement_id,property_hs_timestamp\nE2,2024-03-03\n",
        "engagement_deal_data.csv": "deal_id,engagement_id\nD2,E1\n",
    }
    (tmp_path / "fivetran").mkdir()
    crm(ws).load_hubspot([write(tmp_path / "fivetran" / n, t) for n, t in objects.items()])
    assert dict(rows(ws, "sales_activities", ("activity_id", "opportunity_id"))) == {
        "E1": "D2",
        "E2": None,
    }


def test_api_amounts_in_the_home_currency_are_not_converted_again(tmp_path: Path) -> None:
    """A deal's home-currency amount is already converted: its currency code must not apply."""
    deals = (
        "deal_id,property_dealname,deal_pipeline_stage_id,property_amount,"
        "property_amount_in_home_currency,property_deal_currency_code,property_createdate,"
        "property_closedate,is_deleted\n"
        "D1,Home,won,200,200,,2024-03-01,2024-03-10,false\n"
        "D2,Euro,won,100,110,EUR,2024-03-01,2024-03-10,false\n"
        "D3,Euro only,won,100,,EUR,2024-03-01,2024-03-10,false\n"
    )
    objects = {k: v for k, v in OBJECTS.items() if not k.startswith("deal_")} | {
        "deal_pipeline_stage_data.csv": OBJECTS["deal_pipeline_stage_data.csv"],
        "deal_data.csv": deals,
    }
    (tmp_path / "fivetran").mkdir()
    with revteam.init(tmp_path / "ws", exchange_rates={"EUR": 1.2}) as opened:
        result = crm(opened).load_hubspot(
            [write(tmp_path / "fivetran" / n, t) for n, t in objects.items()]
        )
        assert result.quarantined == 0
        amounts = {
            k: float(v) for k, v in rows(opened, "opportunities", ("opportunity_id", "amount"))
        }
    # home amounts as they are (110, not 110 x 1.2); an amount only in EUR converted once
    assert amounts == {"D1": 200.0, "D2": 110.0, "D3": 120.0}


# -- e-mail campaigns ------------------------------------------------------------------------
def test_fivetran_email_campaigns_become_campaigns_dated_by_their_events(ws: Workspace):
    result = crm(ws).load_hubspot(
        [SEEDS / "email_campaign_data.csv", SEEDS / "email_event_data.csv"]
    )
    assert result.quarantined == 0
    [campaign] = rows(ws, "campaigns", ("campaign_id", "channel", "type", "start_date", "end_date"))
    assert campaign[:3] == ("2", "email", "email")
    assert str(campaign[3]) == str(campaign[4]) == "2020-03-16"  # first and last event
    linked = dict(
        ws.warehouse.con.execute(
            "SELECT COALESCE(campaign_id, '-'), count(*) FROM email_events GROUP BY 1"
        ).fetchall()
    )
    assert linked == {"2": 13, "-": 84}  # 86863875 is not in email_campaign
    assert any("99 e-mail campaign(s) without e-mail events" in n for n in result.notes)
    missing = "84 e-mail event(s) whose e-mail campaign is not in this load"
    assert any(missing in n for n in result.notes)
    by = ws.metrics.query("email_open_rate", by="campaign", grain="all")
    assert by.value("email_open_rate", campaign="2") is not None
