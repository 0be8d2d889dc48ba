"""A generated company as Salesforce report exports, with Salesforce's formatting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from revteam.crm.writers._common import Report, country, label, write_canonical, write_csv

if TYPE_CHECKING:
    from revteam.generate import Company

SALESFORCE_STAGES = {
    "qualification": "Qualification",
    "discovery": "Needs Analysis",
    "proposal": "Proposal/Price Quote",
    "negotiation": "Negotiation/Review",
    "closed_won": "Closed Won",
    "closed_lost": "Closed Lost",
}
SALESFORCE_TYPES = {
    "new_business": "New Customer",
    "upsell": "Existing Customer - Upgrade",
    "renewal": "Existing Customer - Replacement",
}
SALESFORCE_FORECAST_CATEGORIES = {
    "pipeline": "Pipeline",
    "best_case": "Best Case",
    "commit": "Commit",
    "closed": "Closed",
    "omitted": "Omitted",
}
"""``ForecastCategoryName`` values, as reports show them (the API's ``ForecastCategory`` says
``BestCase`` and, for Commit, ``Forecast``)."""
SALESFORCE_TABLES = (
    "users",
    "accounts",
    "campaigns",
    "people",
    "opportunities",
    "opportunity_stages",
    "sales_activities",
    "orders",
)
"""Canonical tables that the Salesforce reports carry."""
CANONICAL_BESIDE_SALESFORCE = (
    "costs",
    "touchpoints",
    "email_events",
    "web_traffic",
    "social_posts",
    "seo_rankings",
)


def sf_time(value: dt.datetime | None) -> str | None:
    """Salesforce reports write US date-times: ``11/06/2024 01:59:40 PM``."""
    return None if value is None else value.strftime("%m/%d/%Y %I:%M:%S %p")


def sf_date(value: dt.date | None) -> str | None:
    return None if value is None else value.strftime("%m/%d/%Y")


def sf_money(value: Decimal | None) -> str | None:
    return None if value is None else f"${value:,.2f}"


def sf_percent(value: float | None) -> str | None:
    return None if value is None else f"{value * 100:.10g}"


def _sf_people(company: Company) -> dict[str, Report]:
    custom = ["MQL Date", "Disqualified Date", "Disqualification Reason", "Persona", "Region"]
    custom += ["Source Detail", "First Campaign ID"]
    lead_header = [
        "Lead ID",
        "First Name",
        "Last Name",
        "Title",
        "Company / Account",
        "Email",
        "Lead Source",
        "Lead Status",
        "Create Date",
        "Converted",
        "Converted Date",
        "Converted Contact ID",
        "Converted Account ID",
        "Account ID",
        "Lead Owner ID",
        "Country",
        "Rating",
        *custom,
    ]
    contact_header = [
        "Contact ID",
        "Account ID",
        "Account Name",
        "First Name",
        "Last Name",
        "Title",
        "Email",
        "Lead Source",
        "Mailing Country",
        "Contact Owner ID",
        "Created Date",
        *custom,
    ]
    leads, contacts = [], []
    for p in company.tables["people"].to_pylist():
        converted = p["sql_at"] is not None
        shared = {
            "First Name": p["first_name"],
            "Last Name": p["last_name"],
            "Title": p["title"],
            "Email": p["email"],
            "Lead Source": label(p["channel"]),
            "MQL Date": sf_time(p["mql_at"]),
            "Disqualified Date": sf_time(p["disqualified_at"]),
            "Disqualification Reason": p["disqualification_reason"],
            "Persona": label(p["persona"]),
            "Region": label(p["region"]),
            "Source Detail": p["source_detail"],
            "First Campaign ID": p["first_campaign_id"],
        }
        status = "Closed - Converted" if converted else "Open - Not Contacted"
        if p["disqualified_at"] is not None:
            status = "Closed - Not Converted"
        leads.append(
            shared
            | {
                "Lead ID": ("00Q" + p["person_id"]) if converted else p["person_id"],
                "Company / Account": p["company_name"],
                "Lead Status": status,
                "Create Date": sf_time(p["created_at"]),
                "Converted": "1" if converted else "0",
                "Converted Date": sf_time(p["sql_at"]),
                "Converted Contact ID": p["person_id"] if converted else None,
                "Converted Account ID": p["account_id"] if converted else None,
                "Account ID": None if converted else p["account_id"],
                "Lead Owner ID": p["owner_id"],
                "Country": country(p["country"]),
                "Rating": "Warm",
            }
        )
        if converted:
            contacts.append(
                shared
                | {
                    "Contact ID": p["person_id"],
                    "Account ID": p["account_id"],
                    "Account Name": p["company_name"],
                    "Mailing Country": country(p["country"]),
                    "Contact Owner ID": p["owner_id"],
                    "Created Date": sf_time(p["sql_at"]),
                }
            )
    return {"leads": (lead_header, leads), "contacts": (contact_header, contacts)}


def _sf_opportunities(company: Company) -> dict[str, Report]:
    header = [
        "Opportunity ID",
        "Opportunity Name",
        "Account ID",
        "Contact ID",
        "Stage",
        "Amount",
        "Probability (%)",
        "Close Date",
        "Close Date (2)",
        "Created Date",
        "Type",
        "Lead Source",
        "Campaign ID",
        "Opportunity Owner ID",
        "Loss Reason",
        "Forecast Category",
        "Next Step",
    ]
    rows = [
        {
            "Opportunity ID": o["opportunity_id"],
            "Opportunity Name": o["name"],
            "Account ID": o["account_id"],
            "Contact ID": o["person_id"],
            "Stage": SALESFORCE_STAGES[o["stage"]],
            "Amount": sf_money(o["amount"]),
            "Probability (%)": sf_percent(o["probability"]),
            "Close Date": sf_date(o["expected_close_date"]),
            "Close Date (2)": sf_date(o["expected_close_date"]),
            "Created Date": sf_time(o["created_at"]),
            "Type": SALESFORCE_TYPES[o["type"]],
            "Lead Source": label(o["channel"]),
            "Campaign ID": o["campaign_id"],
            "Opportunity Owner ID": o["owner_id"],
            "Loss Reason": o["lost_reason"],
            "Forecast Category": SALESFORCE_FORECAST_CATEGORIES.get(o["forecast_category"]),
            "Next Step": "Follow up",
        }
        for o in company.tables["opportunities"].to_pylist()
    ]
    history = []
    for s in company.tables["opportunity_stages"].to_pylist():
        entry = {
            "Opportunity ID": s["opportunity_id"],
            "Stage": SALESFORCE_STAGES[s["stage"]],
            "Amount": sf_money(s["amount"]),
            "Probability (%)": sf_percent(s["probability"]),
            "Edit Date": sf_time(s["entered_at"]),
        }
        history.append(entry)
        if s["stage"] == "qualification":  # a later edit of the amount alone: no new stage
            later = s["entered_at"] + dt.timedelta(minutes=1)
            history.append(entry | {"Amount": None, "Edit Date": sf_time(later)})
    hist_header = ["Opportunity ID", "Stage", "Amount", "Probability (%)", "Edit Date"]
    return {"opportunities": (header, rows), "opportunity_history": (hist_header, history)}


def _sf_rest(company: Company) -> dict[str, Report]:
    users = [
        {
            "User ID": u["user_id"],
            "Full Name": u["name"],
            "Email": u["email"],
            "Department": label(u["team"]),
            "Role": u["role"],
            "Division": label(u["region"]),
            "Manager ID": u["manager_id"],
            "Active": "1",
        }
        for u in company.tables["users"].to_pylist()
    ]
    accounts = [
        {
            "Account ID": a["account_id"],
            "Account Name": a["name"],
            "Website": a["domain"] and f"https://www.{a['domain']}/",
            "Industry": a["industry"],
            "Employees": a["employees"],
            "Annual Revenue": sf_money(a["annual_revenue"]),
            "Billing Country": country(a["country"]),
            "Account Owner ID": a["owner_id"],
            "Created Date": sf_time(a["created_at"]),
            "Segment": label(a["segment"]),
            "Region": label(a["region"]),
        }
        for a in company.tables["accounts"].to_pylist()
    ]
    campaigns = [
        {
            "Campaign ID": c["campaign_id"],
            "Campaign Name": c["name"],
            "Type": label(c["type"]),
            "Channel": label(c["channel"]),
            "Start Date": sf_date(c["start_date"]),
            "End Date": sf_date(c["end_date"]),
            "Budgeted Cost": sf_money(c["budget"]),
            "Parent Campaign ID": c["parent_id"],
        }
        for c in company.tables["campaigns"].to_pylist()
    ]
    subtype = {
        "call": ("Call", "Call"),
        "email": ("Email", "Email"),
        "meeting": ("Task", "Meeting"),
    }
    activities = [
        {
            "Activity ID": a["activity_id"],
            "Task Subtype": subtype[a["type"]][0],
            "Type": subtype[a["type"]][1],
            "Contact/Lead ID": a["person_id"],
            "Opportunity ID": a["opportunity_id"],
            "Account ID": a["account_id"],
            "Assigned ID": a["owner_id"],
            "Completed Date/Time": sf_time(a["occurred_at"]),
        }
        for a in company.tables["sales_activities"].to_pylist()
    ]
    activities.append({"Activity ID": "00T-todo", "Task Subtype": "Task", "Type": "Other"})
    orders = [
        {
            "Order ID": o["order_id"],
            "Account ID": o["account_id"],
            "Bill To Contact ID": o["person_id"],
            "Activated Date": sf_time(o["ordered_at"]),
            "Order Amount": sf_money(o["amount"]),
            "Status": "Activated",
            "Product": o["product"],
        }
        for o in company.tables["orders"].to_pylist()
    ]
    return {
        "users": (list(users[0]), users),
        "accounts": (list(accounts[0]), accounts),
        "campaigns": (list(campaigns[0]), campaigns),
        "activities": (list(activities[0]), activities),
        "orders": (list(orders[0]), orders),
    }


def write_salesforce_exports(company: Company, directory: str | Path, /) -> dict[str, Path]:
    """Write the company as Salesforce report exports, plus what Salesforce does not hold.

    Reports: ``leads.csv``, ``contacts.csv``, ``accounts.csv``, ``opportunities.csv``,
    ``opportunity_history.csv``, ``campaigns.csv``, ``activities.csv``, ``users.csv`` and
    ``orders.csv``; the other tables go to ``canonical/<table>.csv``.

    Reports carry Salesforce's formatting: US date-times, ``$1,234.50`` amounts, percent
    probabilities, a repeated ``Close Date`` column and the report footer.
    """
    folder = Path(directory)
    reports = _sf_rest(company) | _sf_people(company) | _sf_opportunities(company)
    out = {}
    for name, (header, rows) in reports.items():
        path = write_csv(folder / f"{name}.csv", header, rows)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(f'\n"Grand Totals ({len(rows)} records)"\n""\n')
            fh.write('"Confidential Information - Do Not Distribute"\n')
            fh.write('"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\n')
        out[name] = path
    for path in write_canonical(company, folder / "canonical", CANONICAL_BESIDE_SALESFORCE):
        out[path.stem] = path
    return out
