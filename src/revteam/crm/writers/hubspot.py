"""A generated company as HubSpot UI exports (contacts, companies, deals, users)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from revteam.crm.writers._common import (
    Report,
    Row,
    country,
    index,
    label,
    stamp,
    write_canonical,
    write_csv,
)

if TYPE_CHECKING:
    from revteam.generate import Company

HUBSPOT_STAGES = {
    "qualification": "Appointment Scheduled",
    "discovery": "Qualified To Buy",
    "proposal": "Presentation Scheduled",
    "negotiation": "Contract Sent",
    "closed_won": "Closed Won",
    "closed_lost": "Closed Lost",
}
HUBSPOT_DEAL_TYPES = {
    "new_business": "New Business",
    "upsell": "Existing Business",
    "renewal": "Renewal",
}
HUBSPOT_FORECAST_CATEGORIES = {
    "pipeline": "Pipeline",
    "best_case": "Best case",
    "commit": "Commit",
    "closed": "Closed won",
    "omitted": "Not forecasted",
}
"""Labels of HubSpot's ``hs_manual_forecast_category`` (PIPELINE, BEST_CASE, COMMIT, CLOSED,
OMIT), as exports write them."""
HUBSPOT_TABLES = ("users", "accounts", "people", "opportunities")
"""Canonical tables that the HubSpot exports carry (users as the owners export)."""
CANONICAL_BESIDE_HUBSPOT = (
    "campaigns",
    "costs",
    "touchpoints",
    "sales_activities",
    "email_events",
    "web_traffic",
    "social_posts",
    "seo_rankings",
    "orders",
)


def _lifecycle(person: Row) -> str:
    for stage, column in (
        ("Customer", "customer_at"),
        ("Opportunity", "opportunity_at"),
        ("Sales Qualified Lead", "sql_at"),
        ("Marketing Qualified Lead", "mql_at"),
    ):
        if person[column] is not None:
            return stage
    return "Lead"


def _hubspot_contacts(company: Company, users: dict[str, Row]) -> Report:
    header = [
        "Record ID",
        "First Name",
        "Last Name",
        "Email",
        "Job Title",
        "Persona",
        "Associated Company ID",
        "Company Name",
        "Lead Source",
        "Original Source Drill-Down 1",
        "First Touch Converting Campaign",
        "Contact owner",
        "HubSpot Owner ID",
        "Region",
        "Country/Region",
        "Lifecycle Stage",
        "Create Date",
        "Became a Marketing Qualified Lead Date",
        "Became a Sales Qualified Lead Date",
        'Date entered "Opportunity (Lifecycle Stage Pipeline)"',
        'Date entered "Customer (Lifecycle Stage Pipeline)"',
        "Disqualified Date",
        "Disqualification Reason",
        "Number of Pageviews",
    ]
    rows = []
    for p in company.tables["people"].to_pylist():
        owner = users.get(p["owner_id"] or "", {})
        rows.append(
            {
                "Record ID": p["person_id"],
                "First Name": p["first_name"],
                "Last Name": p["last_name"],
                "Email": p["email"],
                "Job Title": p["title"],
                "Persona": label(p["persona"]),
                "Associated Company ID": p["account_id"],
                "Company Name": p["company_name"],
                "Lead Source": label(p["channel"]),
                "Original Source Drill-Down 1": p["source_detail"],
                "First Touch Converting Campaign": p["first_campaign_id"],
                "Contact owner": owner.get("name"),
                "HubSpot Owner ID": p["owner_id"],
                "Region": label(p["region"]),
                "Country/Region": country(p["country"]),
                "Lifecycle Stage": _lifecycle(p),
                "Create Date": stamp(p["created_at"]),
                "Became a Marketing Qualified Lead Date": stamp(p["mql_at"]),
                "Became a Sales Qualified Lead Date": stamp(p["sql_at"]),
                'Date entered "Opportunity (Lifecycle Stage Pipeline)"': stamp(p["opportunity_at"]),
                'Date entered "Customer (Lifecycle Stage Pipeline)"': stamp(p["customer_at"]),
                "Disqualified Date": stamp(p["disqualified_at"]),
                "Disqualification Reason": p["disqualification_reason"],
                "Number of Pageviews": len(p["person_id"]),
            }
        )
    return header, rows


def _hubspot_companies(company: Company, users: dict[str, Row]) -> Report:
    header = [
        "Record ID",
        "Company name",
        "Company Domain Name",
        "Industry",
        "Number of Employees",
        "Annual Revenue",
        "Segment",
        "Region",
        "Country/Region",
        "Company owner",
        "HubSpot Owner ID",
        "Create Date",
    ]
    rows = [
        {
            "Record ID": a["account_id"],
            "Company name": a["name"],
            "Company Domain Name": a["domain"],
            "Industry": a["industry"],
            "Number of Employees": a["employees"],
            "Annual Revenue": a["annual_revenue"],
            "Segment": label(a["segment"]),
            "Region": label(a["region"]),
            "Country/Region": country(a["country"]),
            "Company owner": users.get(a["owner_id"] or "", {}).get("name"),
            "HubSpot Owner ID": a["owner_id"],
            "Create Date": stamp(a["created_at"]),
        }
        for a in company.tables["accounts"].to_pylist()
    ]
    return header, rows


def _hubspot_deals(company: Company, users: dict[str, Row]) -> Report:
    entered = {s: f'Date entered "{name} (Sales Pipeline)"' for s, name in HUBSPOT_STAGES.items()}
    header = [
        "Record ID",
        "Deal Name",
        "Pipeline",
        "Deal Stage",
        "Amount",
        "Close Date",
        "Create Date",
        "Deal owner",
        "HubSpot Owner ID",
        "Deal Type",
        "Lead Source",
        "Campaign ID",
        "Associated Company IDs",
        "Associated Contact IDs",
        "Deal probability",
        "Closed Won Reason",
        "Closed Lost Reason",
        "Forecast category",
        *entered.values(),
    ]
    history: dict[str, dict[str, Any]] = {}
    for s in company.tables["opportunity_stages"].to_pylist():
        history.setdefault(s["opportunity_id"], {})[entered[s["stage"]]] = stamp(s["entered_at"])
    rows = []
    for o in company.tables["opportunities"].to_pylist():
        won = o["stage"] == "closed_won"
        rows.append(
            {
                "Record ID": o["opportunity_id"],
                "Deal Name": o["name"],
                "Pipeline": "Sales Pipeline",
                "Deal Stage": HUBSPOT_STAGES[o["stage"]],
                "Amount": o["amount"],
                "Close Date": stamp(o["expected_close_date"]),
                "Create Date": stamp(o["created_at"]),
                "Deal owner": users.get(o["owner_id"] or "", {}).get("name"),
                "HubSpot Owner ID": o["owner_id"],
                "Deal Type": HUBSPOT_DEAL_TYPES[o["type"]],
                "Lead Source": label(o["channel"]),
                "Campaign ID": o["campaign_id"],
                "Associated Company IDs": o["account_id"],
                "Associated Contact IDs": o["person_id"],
                "Deal probability": o["probability"],
                "Closed Won Reason": "Best fit" if won else None,
                "Closed Lost Reason": o["lost_reason"],
                "Forecast category": HUBSPOT_FORECAST_CATEGORIES.get(o["forecast_category"]),
                **history.get(o["opportunity_id"], {}),
            }
        )
    return header, rows


def _hubspot_users(company: Company) -> Report:
    header = ["User ID", "First Name", "Last Name", "Email", "Team", "Role", "Region", "Manager ID"]
    rows = []
    for u in company.tables["users"].to_pylist():
        first, _, last = (u["name"] or "").partition(" ")
        rows.append(
            {
                "User ID": u["user_id"],
                "First Name": first,
                "Last Name": last,
                "Email": u["email"],
                "Team": label(u["team"]),
                "Role": u["role"],
                "Region": label(u["region"]),
                "Manager ID": u["manager_id"],
            }
        )
    return header, rows


def write_hubspot_exports(company: Company, directory: str | Path, /) -> dict[str, Path]:
    """Write the company as HubSpot exports it, plus what HubSpot does not hold.

    ``contacts.csv``, ``companies.csv``, ``deals.csv`` and ``users.csv`` carry HubSpot's labels
    (both generations of stage-date labels); the other tables go to ``canonical/<table>.csv``.

    Returns each written file by name (``contacts``, …, and canonical table names).
    """
    folder = Path(directory)
    users = index(company.tables["users"].to_pylist(), "user_id")
    makers: dict[str, Callable[[], Report]] = {
        "users": lambda: _hubspot_users(company),
        "companies": lambda: _hubspot_companies(company, users),
        "contacts": lambda: _hubspot_contacts(company, users),
        "deals": lambda: _hubspot_deals(company, users),
    }
    out = {name: write_csv(folder / f"{name}.csv", *make()) for name, make in makers.items()}
    for path in write_canonical(company, folder / "canonical", CANONICAL_BESIDE_HUBSPOT):
        out[path.stem] = path
    return out
