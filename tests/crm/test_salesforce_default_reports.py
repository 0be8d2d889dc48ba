"""Salesforce's standard reports as exported by default: no ID columns, picklist labels, footers.

The fixture (``tests/fixtures/crm/salesforce_reports/``) holds the standard Opportunities,
Leads, Contacts & Accounts, Accounts and Campaigns reports with their default columns, named
``report<digits>.csv`` as Salesforce names downloads, each ending in the totals and the
confidentiality footer.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from tests.conftest import FIXTURES, write
from tests.crm.conftest import crm, reasons

from revteam.exceptions import CrmSourceError
from revteam.workspace import Workspace

REPORTS = FIXTURES / "crm" / "salesforce_reports"
OPPORTUNITIES = REPORTS / "report1733155200000.csv"


def _report_rows(path: Path) -> list[dict[str, str]]:
    """The data rows of a report, read independently of revteam (up to the blank line)."""
    text = path.read_text(encoding="utf-8").split("\n\n", 1)[0]
    return list(csv.DictReader(io.StringIO(text)))


def _money(text: str) -> Decimal:
    return Decimal(text.replace("$", "").replace(",", ""))


@pytest.fixture
def loaded(ws: Workspace) -> Workspace:
    result = crm(ws).load_salesforce(REPORTS)
    assert result.quarantined == 0, {t: reasons(ws, t) for t in ("opportunities", "people")}
    return ws


def test_every_deal_of_the_default_opportunities_report_loads_with_its_account(
    loaded: Workspace,
) -> None:
    expected = _report_rows(OPPORTUNITIES)
    got = loaded.warehouse.con.execute(
        "SELECT o.name, a.name, o.amount, o.created_at, o.expected_close_date "
        "FROM opportunities o LEFT JOIN accounts a USING (account_id) ORDER BY o.name"
    ).fetchall()
    assert len(got) == len(expected) == 8
    by_name = {r["Opportunity Name"]: r for r in expected}
    for name, account, amount, created, close in got:
        row = by_name[name]
        # Matched by cleaned company name: "Acme Inc." in the deal is "Acme" of the accounts report.
        assert account is not None
        assert account.lower().split()[0] == row["Account Name"].lower().split()[0]
        assert amount == _money(row["Amount"])
        assert created == dt.datetime.strptime(row["Created Date"], "%m/%d/%Y")
        assert close == dt.datetime.strptime(row["Close Date"], "%m/%d/%Y").date()


def test_default_picklists_map_out_of_the_box(loaded: Workspace) -> None:
    got = dict(
        loaded.warehouse.con.execute(
            "SELECT name, type || '/' || channel || '/' || stage FROM opportunities"
        ).fetchall()
    )
    assert got["Acme - 200 Widgets"] == "new_business/partner/closed_won"  # Partner Referral
    assert got["Acme - Upgrade"] == "upsell/direct/negotiation"  # Existing Customer - Upgrade
    assert got["Globex - Platform"] == "new_business/events/proposal"  # Trade Show
    assert got["Initech - Renewal"] == "renewal/other/closed_won"  # Existing Customer - Replacement
    assert got["Initech - Downgrade"] == "renewal/direct/closed_lost"  # Phone Inquiry
    assert got["Umbrella - Pilot"] == "new_business/outbound/qualification"  # Purchased List
    assert got["Hooli - Expansion"] == "upsell/referral/discovery"  # Employee Referral
    assert got["Vandelay - Import"] == "new_business/partner/discovery"  # Seminar - Partner
    campaigns = dict(
        loaded.warehouse.con.execute(
            "SELECT name, channel || '/' || type FROM campaigns"
        ).fetchall()
    )
    assert campaigns == {
        "Spring Trade Show 2025": "events/event",
        "Q2 Product Webinar": "webinar/webinar",
        "Monthly Newsletter": "email/email",
        "Partner Referral Program": "referral/referral",
    }


def test_accounts_are_created_once_from_names_and_dated_by_their_first_record(
    loaded: Workspace,
) -> None:
    accounts = loaded.warehouse.con.execute(
        "SELECT name, created_at FROM accounts ORDER BY name"
    ).fetchall()
    # Three from the accounts report, three named only by deals; none twice.
    assert [a[0] for a in accounts] == [
        "Acme", "Globex Corporation", "Hooli", "Initech", "Umbrella Ltd", "Vandelay Industries",
    ]  # fmt: skip
    created = dict(accounts)
    # The accounts report has no Created Date: the earliest deal or contact dates the account.
    assert created["Acme"] == dt.datetime(2025, 1, 2)  # deal and contact both 1/2/2025
    assert created["Globex Corporation"] == dt.datetime(2025, 3, 9)  # contact before the deal
    assert created["Umbrella Ltd"] == dt.datetime(2025, 4, 20)
    contacts = loaded.warehouse.con.execute(
        "SELECT p.email, a.name FROM people p JOIN accounts a USING (account_id) ORDER BY 1"
    ).fetchall()
    assert contacts == [
        ("ivy@acme.example", "Acme"),
        ("jon@globex.example", "Globex Corporation"),
        ("kai@initech.example", "Initech"),
    ]


def test_won_revenue_counts_every_won_deal(loaded: Workspace) -> None:
    won = [r for r in _report_rows(OPPORTUNITIES) if r["Stage"] == "Closed Won"]
    by_month: dict[str, Decimal] = {}
    for r in won:
        month = dt.datetime.strptime(r["Close Date"], "%m/%d/%Y").strftime("%Y-%m")
        by_month[month] = by_month.get(month, Decimal(0)) + _money(r["Amount"])
    result = loaded.metrics.query("revenue", grain="month", start="2025-01-01", end="2025-06-30")
    got = {
        str(p)[:7]: Decimal(str(v))
        for p, v in zip(
            result.table["period"].to_pylist(), result.table["value"].to_pylist(), strict=True
        )
        if v
    }
    assert got == by_month == {"2025-02": Decimal("120000.00"), "2025-03": Decimal("18250.50")}


def test_loading_again_changes_nothing_and_a_re_export_updates_in_place(
    loaded: Workspace, tmp_path: Path
) -> None:
    again = crm(loaded).load_salesforce(REPORTS)
    assert {r.table: (r.inserted, r.updated) for r in again.results} == {
        "accounts": (0, 0), "campaigns": (0, 0), "people": (0, 0), "opportunities": (0, 0),
    }  # fmt: skip
    # A week later: the Acme upgrade was won for more, in a file with another number.
    text = OPPORTUNITIES.read_text(encoding="utf-8").replace(
        '"Acme - Upgrade","Negotiation/Review","Q2-2025","$35,500.00","90"',
        '"Acme - Upgrade","Closed Won","Q2-2025","$36,000.00","100"',
    )
    later = write(tmp_path / "report1733760000000.csv", text)
    result = crm(loaded).load_salesforce(later)
    deals = {r.table: (r.inserted, r.updated) for r in result.results}
    assert deals["opportunities"] == (0, 1)
    row = loaded.warehouse.con.execute(
        "SELECT stage, amount, closed_at FROM opportunities WHERE name = 'Acme - Upgrade'"
    ).fetchone()
    assert row == ("closed_won", Decimal("36000.00"), dt.datetime(2025, 5, 30))
    (n,) = loaded.warehouse.con.execute("SELECT count(*) FROM opportunities").fetchone()
    assert n == 8


def test_rows_with_the_same_identifying_values_both_load_with_a_warning(
    ws: Workspace, tmp_path: Path
) -> None:
    header = '"Opportunity Owner","Account Name","Opportunity Name","Stage","Amount","Close Date","Created Date","Type"\n'  # noqa: E501
    row1 = '"Ana Lima","Acme","Acme - Seats","Prospecting","$1,000.00","6/1/2025","5/1/2025","New Customer"\n'  # noqa: E501
    row2 = '"Ana Lima","Acme","Acme - Seats","Prospecting","$2,000.00","6/1/2025","5/2/2025","New Customer"\n'  # noqa: E501
    path = write(tmp_path / "report1.csv", header + row1 + row2)
    result = crm(ws).load_salesforce(path)
    assert result.quarantined == 0
    ids = [r[0] for r in ws.warehouse.con.execute(
        "SELECT opportunity_id FROM opportunities ORDER BY amount"
    ).fetchall()]  # fmt: skip
    assert len(ids) == 2 and ids[1] == ids[0] + "-2"
    warning = [n for n in result.notes if "repeat the identifying values" in n]
    assert warning and "lines 3" in warning[0] and "Add the ID column" in warning[0]


def test_an_account_name_matches_the_workspace_account_of_that_name(
    ws: Workspace, tmp_path: Path
) -> None:
    accounts = write(
        tmp_path / "accounts.csv",
        'account_id,name,created_at\n001X,"Initech, Inc.",2024-01-01\n',
    )
    ws.ingest.load("accounts", accounts)
    result = crm(ws).load_salesforce(OPPORTUNITIES)
    assert result.quarantined == 0
    got = ws.warehouse.con.execute(
        "SELECT DISTINCT account_id FROM opportunities WHERE name LIKE 'Initech%'"
    ).fetchall()
    assert got == [("001X",)]
    (n,) = ws.warehouse.con.execute(
        "SELECT count(*) FROM accounts WHERE name ILIKE 'initech%'"
    ).fetchone()
    assert n == 1


def test_an_account_name_that_matches_several_accounts_is_refused_not_guessed(
    ws: Workspace, tmp_path: Path
) -> None:
    accounts = write(
        tmp_path / "accounts.csv",
        "account_id,name,created_at\n001A,Globex,2024-01-01\n001B,Globex Corp.,2024-02-01\n",
    )
    ws.ingest.load("accounts", accounts)
    crm(ws).load_salesforce(OPPORTUNITIES)
    refused = reasons(ws, "opportunities")
    assert len(refused) == 1
    assert "matches 2 accounts (001A, 001B)" in refused[0][0]
    assert "add the Account ID column" in refused[0][0]
    (n,) = ws.warehouse.con.execute("SELECT count(*) FROM opportunities").fetchone()
    assert n == 7


def test_the_object_is_told_from_the_labels_and_an_unknown_report_is_explained(
    ws: Workspace, tmp_path: Path
) -> None:
    folder = tmp_path / "downloads"
    folder.mkdir()
    for i, name in enumerate(sorted(p.name for p in REPORTS.iterdir())):
        shutil.copy(REPORTS / name, folder / f"report{170000 + i}.csv")
    with crm(ws).translate("salesforce", folder) as tr:
        objects = sorted(s.object for s in tr.sources)
    assert objects == ["account", "campaign", "contact", "lead", "opportunity"]
    odd = write(tmp_path / "report9.csv", '"Widget Name","Colour Code"\n"A","red"\n')
    with pytest.raises(CrmSourceError) as err:
        crm(ws).load_salesforce(odd)
    assert "cannot tell which Salesforce object" in str(err.value)
    assert "Opportunity Name" in str(err.value)


def test_a_totals_line_and_notice_after_the_data_are_not_rows(
    ws: Workspace, tmp_path: Path
) -> None:
    text = OPPORTUNITIES.read_text(encoding="utf-8").split("\n\n", 1)[0]
    footer = '\n\n"Total","","","","","$346,749.50","","","","","","",""\n"Confidential Information - Do Not Distribute"\n'  # noqa: E501
    path = write(tmp_path / "report2.csv", text + footer)
    result = crm(ws).load_salesforce(path)
    assert result.quarantined == 0
    (n, total) = ws.warehouse.con.execute(
        "SELECT count(*), sum(amount) FROM opportunities"
    ).fetchone()
    assert n == 8 and total == sum(_money(r["Amount"]) for r in _report_rows(OPPORTUNITIES))


def test_a_name_several_reports_give_makes_one_account(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "no_accounts_report"
    folder.mkdir()
    contacts = REPORTS / "report1733155400000.csv"
    for path in (OPPORTUNITIES, contacts):
        shutil.copy(path, folder / path.name)
    result = crm(ws).load_salesforce(folder)
    assert result.quarantined == 0
    named = {r["Account Name"] for r in _report_rows(OPPORTUNITIES) + _report_rows(contacts)}
    accounts = ws.warehouse.con.execute("SELECT name FROM accounts ORDER BY 1").fetchall()
    assert sorted(a[0] for a in accounts) == sorted(named)
    (linked,) = ws.warehouse.con.execute(
        "SELECT count(*) FROM people p JOIN opportunities o USING (account_id) "
        "WHERE p.email = 'ivy@acme.example' AND o.name LIKE 'Acme%'"
    ).fetchone()
    assert linked == 2  # Ivy's account is the one both Acme deals point at
