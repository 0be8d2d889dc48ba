"""The shipped Fivetran examples of sources.yaml give what ``revteam crm ingest`` gives.

Fivetran's dbt integration-test seeds (``tests/fixtures/crm/*_api_fivetran/seeds``) are stored in
PostgreSQL as Fivetran lands them (schema ``hubspot`` / ``salesforce`` renamed to a unique one,
a table per seed, column types as DuckDB's ``read_csv`` infers them, as dbt seeds type them) and
read through ``examples/sources/<system>_fivetran.yaml``; the same files go through the CRM
importer into a DuckDB workspace. Every canonical table then holds the same rows, every KPI of
the catalogue has the same values (total and by quarter, and by each KPI's main dimension), and
``ws.sources.check()`` reports for the refused rows the quarantine's reasons and counts.

The seeds leave most of the translation idle (no HubSpot deal has a stage, nearly every
Salesforce record is deleted), so each system also runs on an enriched copy of them: the same
files edited by :func:`_enrich_hubspot` / :func:`_enrich_salesforce` so that deals load with
stages and stage history, deleted and merged records are pointed at, leads convert, campaigns
have members and so on. Both sides read the same edited files.

Differences that a view cannot avoid, mapped explicitly where reasons are compared:

- a missing reference: the quarantine adds "(load <table> first)", which does not apply to a
  view, so the check leaves it out;
- a forecast category no mapping knows: the importer refuses the deal with its own reason
  (``_refuse``), the view through the model's vocabulary rule (same rows, other words);

and not exercised here: an amount in a currency without a rate (the importer refuses the
record, the example leaves the amount empty), the importer's notes, loads adding to earlier
loads (a view holds the whole source every time). Two places where the HubSpot example departs
from the importer on purpose are left out of the enriched data too (see the example's header):
a deal's currency code (the importer converts the home-currency amount again) and
engagement_deal rows (the importer never finds an engagement's deal through them).
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.engines.test_same_numbers import _requests, _rows, _same

import revteam
from revteam.ingest.sources import SourcesReport
from revteam.model import TABLES
from revteam.storage.sql import quote_ident
from revteam.workspace import Workspace

pytestmark = pytest.mark.engines

REPO = Path(__file__).resolve().parents[2]
SEEDS = {
    "hubspot": REPO / "tests" / "fixtures" / "crm" / "hubspot_api_fivetran" / "seeds",
    "salesforce": REPO / "tests" / "fixtures" / "crm" / "salesforce_api_fivetran" / "seeds",
}
VARIANT = re.compile(r"(_postgres|_snowflake|_databricks|__from_dbt_\w+)")
"""Warehouse-specific copies of a seed: the same table spelled for another warehouse."""

PG_TYPES = {
    "BIGINT": "BIGINT",
    "INTEGER": "BIGINT",
    "DOUBLE": "DOUBLE PRECISION",
    "BOOLEAN": "BOOLEAN",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "VARCHAR": "TEXT",
}

ABSENT = {
    "salesforce": {
        "lead_history": "id TEXT, _fivetran_synced TIMESTAMP, created_by_id TEXT, "
        "created_date TIMESTAMP, field TEXT, is_deleted BOOLEAN, lead_id TEXT, new_value TEXT, "
        "old_value TEXT",
        "campaign": "id TEXT, _fivetran_synced TIMESTAMP, is_deleted BOOLEAN, name TEXT, "
        "type TEXT, status TEXT, parent_id TEXT, start_date DATE, end_date DATE, "
        "budgeted_cost DOUBLE PRECISION, is_active BOOLEAN",
        "campaign_member": "id TEXT, _fivetran_synced TIMESTAMP, is_deleted BOOLEAN, "
        "campaign_id TEXT, lead_id TEXT, contact_id TEXT, status TEXT, has_responded BOOLEAN, "
        "first_responded_date DATE, created_date TIMESTAMP",
    }
}
"""Objects the example reads that the Salesforce seeds do not hold: empty, as Fivetran makes
them for an org without such records (the importer simply gets no file for them)."""


def _table_name(system: str, path: Path) -> str:
    name = path.name.removesuffix(".csv").removesuffix("_data")
    return name.removeprefix("sf_") if system == "salesforce" else name


def _seed_files(system: str) -> list[Path]:
    return [p for p in sorted(SEEDS[system].glob("*.csv")) if not VARIANT.search(p.name)]


def _store(url: str, schema: str, system: str, files: list[Path]) -> None:
    """Each file as the table Fivetran lands, in ``schema``, typed as DuckDB reads the CSV."""
    import psycopg

    duck = duckdb.connect()
    with psycopg.connect(url, autocommit=True) as pg:
        pg.execute(f"CREATE SCHEMA {quote_ident(schema)}".encode())
        stored = set()
        for path in files:
            name = _table_name(system, path)
            rel = duck.read_csv(str(path))
            columns = ", ".join(
                f"{quote_ident(c)} {PG_TYPES.get(str(t), 'TEXT')}"
                for c, t in zip(rel.columns, rel.types, strict=True)
            )
            target = f"{quote_ident(schema)}.{quote_ident(name)}"
            pg.execute(f"CREATE TABLE {target} ({columns})".encode())
            with pg.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN".encode()) as copy:
                for row in rel.fetchall():
                    copy.write_row(row)
            stored.add(name)
        for name, columns in ABSENT.get(system, {}).items():
            if name not in stored:
                pg.execute(f"CREATE TABLE {quote_ident(schema)}.{name} ({columns})".encode())


def _drop(url: str, *schemas: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        for schema in schemas:
            pg.execute(f"DROP SCHEMA IF EXISTS {quote_ident(schema)} CASCADE".encode())


# -- the enriched variant ----------------------------------------------------------------------


@dataclass
class Csv:
    """A seed file as text: its header and rows (a column set on a row joins the header)."""

    header: list[str]
    rows: list[dict[str, str]]
    extra: list[str] = field(default_factory=list)

    @classmethod
    def read(cls, path: Path) -> Csv:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            return cls(list(reader.fieldnames or ()), [dict(r) for r in reader])

    def set(self, row: dict[str, str], column: str, value: str) -> None:
        if column not in self.header:
            self.header.append(column)
        row[column] = value

    def add(self, **values: str) -> dict[str, str]:
        row = dict.fromkeys(self.header, "")
        for column, value in values.items():
            self.set(row, column, value)
        self.rows.append(row)
        return row

    def copy(self, row: dict[str, str], **values: str) -> dict[str, str]:
        new = dict(row)
        for column, value in values.items():
            self.set(new, column, value)
        self.rows.append(new)
        return new

    def write(self, path: Path) -> None:
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, self.header, restval="")
            writer.writeheader()
            writer.writerows(self.rows)


def _at(text: str, days: float = 0) -> str:
    when = dt.datetime.fromisoformat(text) + dt.timedelta(days=days)
    return when.strftime("%Y-%m-%d %H:%M:%S")


def _enrich_hubspot(t: dict[str, Csv]) -> None:
    """Deals with stages, history, companies and contacts; lifecycle history; merges; teams."""
    stages = sorted(r["stage_id"] for r in t["deal_pipeline_stage"].rows)
    labels = dict(
        zip(
            stages,
            [
                "Appointment Scheduled",
                "Qualified To Buy",
                "Presentation Scheduled",
                "Decision maker bought-in",
                "Contract Sent",
                "Closed Won",
                "Closed Lost",
                "",  # no label: read by its id, which no mapping knows
            ],
            strict=False,
        )
    )
    for r in t["deal_pipeline_stage"].rows:
        if r["stage_id"] in labels:
            r["label"] = labels[r["stage_id"]]
            r["closed_won"] = "TRUE" if r["label"] == "Closed Won" else "FALSE"
            r["is_closed"] = "TRUE" if r["label"] in ("Closed Won", "Closed Lost") else "FALSE"
    companies, contacts = t["company"].rows, t["contact"].rows
    owners = [r["owner_id"] for r in t["owner"].rows]
    deal = t["deal"]
    cycle = [*stages[:8], ""]
    for i, d in enumerate(deal.rows):
        d["deal_pipeline_stage_id"] = cycle[i % 9]
        d["property_amount"] = f"{1000 * (i + 1)}.5" if i % 4 else ""
        d["property_closedate"] = _at(d["property_createdate"], 30) if i % 2 == 0 else ""
        deal.set(d, "property_dealtype", ["newbusiness", "existingbusiness", "", "Renewal"][i % 4])
        sources = ["ORGANIC_SEARCH", "PAID_SOCIAL", "OFFLINE", "", "SOMETHING_NEW"]
        deal.set(d, "property_hs_analytics_source", sources[i % 5])
        forecast = ["COMMIT", "BEST_CASE", "", "OMIT", "PIPELINE", "CLOSED"]
        deal.set(d, "property_hs_manual_forecast_category", forecast[i % 6])
        deal.set(d, "property_hs_is_closed", "")
    deal.rows[3]["property_hs_manual_forecast_category"] = "Most likely"  # no mapping knows it
    deal.rows[4]["property_dealtype"] = "Pilot"  # not mapped: refused, named
    deal.rows[1]["property_hs_is_closed"] = "true"  # an open stage, closed: breaks a rule
    deal.rows[10]["is_deleted"] = "true"
    t["merged_deal"].add(
        deal_id=deal.rows[0]["deal_id"],
        merged_deal_id=deal.rows[11]["deal_id"],
        _fivetran_synced="2023-06-22 11:37:07",
    )
    for d in deal.rows[:14]:
        entries = [(stages[0], 1), (stages[1], 3), (stages[1], 4), (d["deal_pipeline_stage_id"], 9)]
        for stage, days in entries:
            if stage:
                when = _at(d["property_createdate"], days)
                t["deal_stage"].add(
                    _fivetran_start=when,
                    deal_id=d["deal_id"],
                    _fivetran_active="TRUE",
                    _fivetran_end="2050-01-01 00:00:00",
                    _fivetran_synced=when,
                    date_entered=when,
                    source="CRM_UI",
                    value=stage,
                )
    companies[0]["is_deleted"] = "true"
    for i in range(0, len(deal.rows), 3):
        t["deal_company"].add(
            company_id=companies[i % len(companies)]["id"],
            deal_id=deal.rows[i]["deal_id"],
            type_id="5",
            category="HUBSPOT_DEFINED",
        )
    t["deal_company"].add(company_id="9999999999", deal_id=deal.rows[0]["deal_id"], type_id="5")
    for i in range(1, len(deal.rows), 4):
        t["deal_contact"].add(
            contact_id=contacts[i % len(contacts)]["id"],
            deal_id=deal.rows[i]["deal_id"],
            _fivetran_synced="2022-04-14 04:30:42",
            type_id="3",
            category="HUBSPOT_DEFINED",
        )
    company = t["company"]
    for i, c in enumerate(companies):
        company.set(c, "property_website", f"https://www.Company{i}.example/about" if i % 3 else "")
        company.set(c, "property_domain", f"acme{i}.example" if i % 5 == 0 else "")
        company.set(c, "property_numberofemployees", str(10 * i) if i % 2 else "")
        company.set(c, "property_hubspot_owner_id", owners[i % len(owners)])
    contact = t["contact"]
    for i, c in enumerate(contacts):
        linked = companies[(i * 5) % len(companies)]["id"] if i % 2 == 0 else ""
        contact.set(c, "property_associatedcompanyid", linked)
        sources = ["ORGANIC_SEARCH", "PAID_SEARCH", "SOCIAL_MEDIA", "EMAIL_MARKETING", "OFFLINE"]
        sources += ["DIRECT_TRAFFIC", "REFERRALS", "", "UNHEARD_OF"]
        contact.set(c, "property_hs_analytics_source", sources[i % len(sources)])
        contact.set(c, "property_hubspot_owner_id", owners[(i * 3) % len(owners)])
        contact.set(c, "property_country", ["United States", "de", "Narnia", ""][i % 4])
        contact.set(c, "property_hs_persona", ["executive", "persona_1", ""][i % 3])
    contacts[4]["property_associatedcompanyid"] = f"{companies[7]['id']};{companies[8]['id']}"
    contacts[5]["_fivetran_deleted"] = "TRUE"
    created = contacts[6]["property_createdate"]
    for stage, days in [("marketingqualifiedlead", 5), ("customer", 40)]:
        contact.set(contacts[6], f"property_hs_lifecyclestage_{stage}_date", _at(created, days))
    history = t["contact_property_history"]
    steps = [("subscriber", 0), ("marketingqualifiedlead", 2), ("salesqualifiedlead", 5)]
    steps += [("opportunity", 8), ("customer", 20), ("other", 25), ("marketingqualifiedlead", 30)]
    for c in contacts[7:12]:
        for value, days in steps:
            history.add(
                contact_id=c["id"],
                timestamp=_at(c["property_createdate"], days),
                _fivetran_synced="2021-04-02 11:16:05",
                source="CRM_UI",
                name="lifecyclestage",
                value=value,
            )
    history.add(  # before the contact was created: breaks a rule
        contact_id=contacts[12]["id"],
        timestamp=_at(contacts[12]["property_createdate"], -3),
        name="lifecyclestage",
        value="marketingqualifiedlead",
    )
    forms = t["contact_form_submission"].rows
    for row, c in zip(forms, (contacts[0], contacts[1], contacts[5], contacts[8]), strict=False):
        row["contact_id"] = c["id"]  # a survivor, a merged and a deleted contact, another one
    events = t["email_event"]
    for row, c in zip(events.rows, [contacts[i] for i in (0, 1, 7, 9)], strict=False):
        row["recipient"] = c["property_email"]
    unsubscribed = t["email_event_status_change"].rows[0]["id"]
    events.copy(
        events.rows[0],
        id=unsubscribed,
        type="STATUSCHANGE",
        recipient=contacts[7]["property_email"],
    )
    events.copy(events.rows[1], id="bounce-1", type="BOUNCE", created="2020-04-01 10:00:00")
    events.copy(events.rows[2], id="filtered-1", type="SENT", filtered_event="true")
    events.copy(events.rows[3], id="other-email-1", email_campaign_id="75310262")
    meetings = t["engagement_meeting"]
    for i, m in enumerate(meetings.rows):
        meetings.set(m, "property_hubspot_owner_id", owners[i % len(owners)] if i % 2 else "")
    for m, c in zip(meetings.rows, (contacts[0], contacts[2], contacts[7]), strict=False):
        t["engagement_contact"].add(
            contact_id=c["id"], engagement_id=m["engagement_id"], engagement_type="MEETING"
        )
    for m, c in zip(meetings.rows[3:], (companies[0], companies[3]), strict=False):
        t["engagement_company"].add(
            company_id=c["id"], engagement_id=m["engagement_id"], engagement_type="MEETING"
        )
    names = {"6789": "Marketing", "1234": "Customer Success", "9999": "Sales Ops"}
    for r in t["team"].rows:
        r["name"] = names.get(r["id"], r["name"])
    t["owner_team"].add(owner_id=owners[0], team_id="9999", is_team_primary="true")


def _enrich_salesforce(t: dict[str, Csv]) -> None:
    """Live accounts, deals with history, converted leads, campaigns with members, activities."""
    account, contact, lead, opportunity = t["account"], t["contact"], t["lead"], t["opportunity"]
    live = [a["id"] for a in account.rows[:6]]
    for i, a in enumerate(account.rows[:6]):
        a["is_deleted"], a["_fivetran_active"] = "false", "true"
        account.set(a, "created_date", f"2018-0{i + 1}-15 10:00:00" if i < 4 else "")
        a["website"] = f"https://www.Acme{i}.example/contact" if i % 2 == 0 else ""
        a["billing_country"] = ["Germany", "United States", "Narnia", "FR", "", ""][i]
        a["number_of_employees"] = str(50 * (i + 1))
        a["annual_revenue"] = ["1234567.891", "5000", "", "", "", ""][i]
    c0, c1, c2, c3 = contact.rows
    c0["account_id"], c0["lead_source"] = live[4], "Web"  # an account dated by its contact
    c1["account_id"], c1["region_c"] = live[1], "EMEA"
    c1["persona_c"], c1["mql_date_c"] = "Executive", "2018-10-02 09:00:00"
    c2["account_id"], c2["lead_source"] = live[2], "Partner Referral"
    c3["is_deleted"] = "true"
    o = opportunity.rows
    seed = lead.rows[0]
    l1 = lead.copy(
        seed,
        id="00Q1G00000nDnA1UAK",
        converted_contact_id=c1["id"],
        converted_account_id=live[1],
        converted_opportunity_id=o[1]["id"],
        created_date="2018-10-01 08:00:00",
        converted_date="2018-12-01 10:00:00",
        status="Closed - Converted",
        lead_source="Trade Show",
        email="l1@example.com",
    )
    lead.copy(l1, id="00Q1G00000nDnA2UAK", created_date="2018-10-05 08:00:00")  # a later one
    l3 = lead.copy(
        seed,
        id="00Q1G00000nDnA3UAK",
        is_converted="FALSE",
        converted_contact_id="",
        converted_account_id="",
        converted_date="",
        status="Working - Contacted",
        lead_source="Web",
        country="Germany",
        company="Acme",
        created_date="2019-09-01 08:00:00",
        email="L3@Example.com",
    )
    lead.copy(l3, id="00Q1G00000nDnA4UAK", is_deleted="TRUE")
    lead.copy(
        l1,
        id="00Q1G00000nDnA5UAK",
        converted_contact_id=c2["id"],
        converted_account_id=live[2],
        converted_opportunity_id=o[0]["id"],
        created_date="2018-11-01 08:00:00",
    )
    history = t["lead_history"]
    for lead_id, fld, value, when, deleted in [
        (l3["id"], "Status", "Marketing Qualified", "2019-09-05 10:00:00", "false"),
        (l3["id"], "Status", "Marketing Qualified", "2019-09-03 10:00:00", "true"),
        (l3["id"], "Status", "Sales Accepted", "2019-09-10 10:00:00", "false"),
        (l3["id"], "Status", "Nurture", "2019-09-12 10:00:00", "false"),
        (l3["id"], "Rating", "Hot", "2019-09-02 10:00:00", "false"),
        (l1["id"], "Status", "Qualified", "2018-10-10 10:00:00", "false"),
    ]:
        history.add(
            id=f"017{uuid.uuid5(uuid.NAMESPACE_OID, lead_id + when).hex[:15]}",
            created_date=when,
            field=fld,
            is_deleted=deleted,
            lead_id=lead_id,
            new_value=value,
        )
    campaign = t["campaign"]
    ids = [f"7011G000000aaa{i}AAA" for i in range(1, 7)]
    for cid, name, kind, parent, start, end, deleted in [
        (ids[0], "Spring webinar", "Webinar", "", "2019-03-01", "2019-03-31", "false"),
        (ids[1], "Spring mail", "Email", ids[0], "2019-04-01", "", "false"),
        (ids[2], "Expo", "Trade Show", "", "2019-05-01", "2019-04-01", "false"),
        (ids[3], "Gone", "Webinar", "", "2019-05-01", "", "true"),
        (ids[4], "Odd", "Foo", "", "2019-06-01", "", "false"),
        (ids[5], "Undated", "Email", "", "", "", "false"),
    ]:
        campaign.add(
            id=cid,
            name=name,
            type=kind,
            parent_id=parent,
            start_date=start,
            end_date=end,
            is_deleted=deleted,
            budgeted_cost="5000" if kind == "Webinar" else "",
        )
    member = t["campaign_member"]
    for i, (cid, lead_id, contact_id, status, deleted) in enumerate(
        [
            (ids[0], "", c1["id"], "Responded", "false"),
            (ids[0], l1["id"], "", "Attended", "false"),  # a converted lead: its contact
            (ids[1], l3["id"], "", "Clicked", "false"),
            (ids[2], "", c3["id"], "Sent", "false"),  # a deleted contact: goes with it
            (ids[3], "", c2["id"], "Whatever", "false"),  # a deleted campaign: no channel
            (ids[4], "", c0["id"], "Sent", "true"),
            (ids[4], seed["id"], "", "Registered", "false"),
        ]
    ):
        member.add(
            id=f"00v1G00000aaa{i}AAA",
            campaign_id=cid,
            lead_id=lead_id,
            contact_id=contact_id,
            status=status,
            is_deleted=deleted,
            first_responded_date="2019-03-05" if i % 2 == 0 else "",
            created_date="2019-03-04 10:00:00",
        )
    stages = ["Prospecting", "Closed Won", "Negotiation/Review", "Closed Lost", "Weird Stage"]
    stages.append("Needs Analysis")
    for i, row in enumerate(o[:6]):
        row["is_deleted"], row["_fivetran_active"] = "false", "true"
        row["stage_name"] = stages[i]
        row["is_closed"] = "true" if i in (1, 3) else "false"
        row["is_won"] = "true" if i == 1 else "false"
        row["account_id"] = [live[0], live[1], live[3], "001NOTANACCOUNT", live[2], ""][i]
        row["type"] = ["New Business", "Existing Business", "", "Renewal", "Pilot", ""][i]
        row["lead_source"] = ["Web", "Trade Show", "", "Something", "Partner Referral", ""][i]
        forecast = ["Pipeline", "Closed", "BestCase", "Omitted", "Forecast", "MostLikely"][i]
        row["forecast_category"] = row["forecast_category_name"] = forecast
        row["amount"] = ["1000.5", "20000", "", "300.25", "5", "12.345"][i]
        row["probability"] = ["10", "100", "60", "0", "50", "90"][i]
        row["campaign_id"] = [ids[0], ids[3], "", "", "", ""][i]
    versions = t["opportunity_history"]
    template = versions.rows[0]
    versions.rows.clear()
    for opp, stage, when, deleted in [
        (o[0], "Prospecting", "2018-12-20 10:00:00", "false"),
        (o[1], "Prospecting", "2018-12-19 10:00:00", "false"),
        (o[1], "Needs Analysis", "2018-12-21 10:00:00", "false"),
        (o[1], "Needs Analysis", "2018-12-22 10:00:00", "false"),
        (o[1], "Closed Won", "2018-12-28 10:00:00", "false"),
        (o[2], "Prospecting", "2018-12-11 10:00:00", "false"),
        (o[2], "Negotiation/Review", "2018-12-14 10:00:00", "false"),
        (o[3], "Closed Lost", "2018-12-15 10:00:00", "false"),
        (o[7], "Closed Lost", "2018-12-15 10:00:00", "true"),
        (o[8], "Prospecting", "2018-12-15 10:00:00", "false"),  # its deal is deleted
    ]:
        versions.copy(
            template,
            id=opp["id"],
            stage_name=stage,
            _fivetran_start=when,
            is_deleted=deleted,
            amount=opp["amount"],
            probability=opp["probability"],
        )
    for i, (subtype, kind, who, what, acc, deleted) in enumerate(
        [
            ("Call", "", c1["id"], o[1]["id"], live[1], "FALSE"),
            ("Email", "", l1["id"], "", "", "FALSE"),
            ("Task", "Meeting", l3["id"], "006XXXXXXXXXXXXXXX", live[3], "FALSE"),
            ("Task", "Call", c1["id"], "", "", "TRUE"),
            ("Call", "", c3["id"], o[8]["id"], account.rows[7]["id"], "FALSE"),
        ]
    ):
        row = t["task"].rows[i]
        row.update(task_subtype=subtype, type=kind, who_id=who, what_id=what, is_deleted=deleted)
        row["account_id"] = acc
    t["task"].rows[5]["task_subtype"] = "Call"  # related to an opportunity that is not there
    for row, who, acc in zip(
        t["event"].rows, (c1["id"], l3["id"], c2["id"]), (live[1], live[3], live[2]), strict=False
    ):
        row["who_id"], row["account_id"], row["what_id"] = who, acc, ""
    t["event"].rows[3]["is_deleted"] = "TRUE"
    users = t["user"].rows
    users[0]["department"], users[0]["division"] = "Marketing", "EMEA"
    users[1]["department"] = "Sales Operations"
    users[1]["user_role_id"] = t["user_role"].rows[0]["id"]
    users[2]["department"] = "Unknown"
    order = t["order"]
    for i, row in enumerate(order.rows[:6]):
        row["account_id"] = [live[0], live[1], live[2], live[3], account.rows[7]["id"], live[0]][i]
        order.set(row, "bill_to_contact_id", [c1["id"], "", c3["id"], l3["id"], "", ""][i])
    order.rows[1]["status"] = "Draft"


ENRICH = {"hubspot": _enrich_hubspot, "salesforce": _enrich_salesforce}


def _enriched(system: str, folder: Path) -> list[Path]:
    """The seeds edited by ``ENRICH[system]``, written to ``folder`` under their names."""
    folder.mkdir(parents=True)
    files = {_table_name(system, p): p for p in _seed_files(system)}
    prefix = "sf_" if system == "salesforce" else ""
    tables = {name: Csv.read(path) for name, path in files.items()}
    for name, columns in ABSENT.get(system, {}).items():
        header = [c.split()[0] for c in columns.split(", ")]
        tables[name] = Csv(header, [])
        files[name] = folder / f"{prefix}{name}_data.csv"
    ENRICH[system](tables)
    out = []
    for name, table in tables.items():
        path = folder / files[name].name
        table.write(path)
        out.append(path)
    return sorted(out)


# -- the two workspaces ------------------------------------------------------------------------


@dataclass
class Pair:
    """The importer's DuckDB workspace and the sourced Postgres one, over the same data."""

    duck: Workspace
    pg: Workspace
    checked: SourcesReport


CASES = [(s, v) for s in ("hubspot", "salesforce") for v in ("seeds", "enriched")]


@pytest.fixture(scope="module", params=CASES, ids=[f"{s}-{v}" for s, v in CASES])
def pair(
    request: pytest.FixtureRequest, pg_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pair]:
    system, variant = request.param
    root = tmp_path_factory.mktemp(f"{system}-{variant}")
    files = _seed_files(system) if variant == "seeds" else _enriched(system, root / "files")
    with revteam.init(root / "duckdb") as ws:
        ws.crm.load(system, files)
    tag = uuid.uuid4().hex[:8]
    source, warehouse = f"{system}_{tag}", f"sourced_{tag}"
    sep = "&" if "?" in pg_url else "?"
    _store(pg_url, source, system, files)
    try:
        with revteam.init(root / "postgres", warehouse=f"{pg_url}{sep}schema={warehouse}") as ws:
            example = (REPO / "examples" / "sources" / f"{system}_fivetran.yaml").read_text()
            # the schema the example names, replaced as its header tells the user to
            text = re.sub(rf"\b{system}\.", f"{source}.", example)
            (root / "postgres" / "sources.yaml").write_text(text, encoding="utf-8")
            checked = ws.sources.check(samples=0)
            assert ws.sources.apply(samples=0).applied
        with (
            revteam.open(root / "duckdb", read_only=True) as duck,
            revteam.open(root / "postgres", read_only=True) as pg,
        ):
            yield Pair(duck, pg, checked)
    finally:
        _drop(pg_url, source, warehouse)


def _table_rows(ws: Workspace, table: str) -> list[tuple[Any, ...]]:
    names = TABLES[table].column_names
    rows = ws.warehouse.arrow(f"SELECT {', '.join(quote_ident(c) for c in names)} FROM {table}")
    return sorted((tuple(r[c] for c in names) for r in rows.to_pylist()), key=repr)


@pytest.mark.parametrize("table", list(TABLES))
def test_every_canonical_table_has_the_same_rows(pair: Pair, table: str) -> None:
    # money is Decimal and timestamps datetime on both sides: compared exactly
    assert _table_rows(pair.pg, table) == _table_rows(pair.duck, table)


def test_the_enriched_data_reaches_every_table_the_importer_fills(pair: Pair) -> None:
    """The comparison is not of empty tables: what the importer loads, the views hold."""
    loaded = {t for t in TABLES if _table_rows(pair.duck, t)}
    assert loaded == {t for t in TABLES if _table_rows(pair.pg, t)}
    assert {"users", "people"} <= loaded


def _answers(ws: Workspace, metrics: list[str], by: list[str]) -> dict[Any, Any]:
    """The rows of a request, or, per KPI, the rows or the error it gives on this data.

    Some KPIs fail on data this small (a customer-value model refuses too few repeat
    buyers): both sides must then fail alike, as they read the same rows.
    """
    try:
        return _rows(ws, metrics, by)
    except Exception:  # compared below, per KPI
        out: dict[Any, Any] = {}
        for metric in metrics:
            try:
                out |= _rows(ws, [metric], by)
            except Exception as exc:
                out[metric, "error"] = f"{type(exc).__name__}: {exc}"
        return out


@pytest.mark.parametrize(
    "pair",
    [c for c in CASES if c[1] == "enriched"],
    ids=[f"{s}-{v}" for s, v in CASES if v == "enriched"],
    indirect=True,
)
def test_every_kpi_is_the_same_total_and_by_quarter(pair: Pair) -> None:
    """On the enriched data (the seeds' tables are compared row by row above; the KPIs read
    nothing else, and the enriched data give them deals, stages, activities to count)."""
    problems, compared = [], 0
    for metrics, by in _requests(pair.duck):
        want, got = _answers(pair.duck, metrics, by), _answers(pair.pg, metrics, by)
        if want.keys() != got.keys():
            problems.append(f"by {by}: rows {sorted(want.keys() ^ got.keys(), key=str)[:3]}")
            continue
        for key, row in want.items():
            if isinstance(row, str):
                compared += 1
                if row != got[key]:
                    problems.append(f"{key}: {row} vs {got[key]}")
                continue
            for column in ("value", "numerator", "denominator", "n"):
                compared += row.get(column) is not None
                if column in row and not _same(row[column], got[key][column]):
                    problems.append(f"{key}: {column} {row[column]} vs {got[key][column]}")
    assert problems == []
    assert compared > 0


QUOTED = re.compile(r"'[^']*'")
"""A value inside a reason; the check shows reasons with their values elided."""
SAID_OTHERWISE = [
    # the quarantine's hint "(load accounts first)" does not apply to a view
    (re.compile(r" \(load \w+ first\)$"), ""),
    # a forecast category no mapping knows: the importer's own reason, the view's vocabulary rule
    (
        re.compile(r"^forecast_category: … is not one of (.*), and revteam does not guess .*$"),
        r"forecast_category: … is not one of \1 (map it under values: in a mapping file)",
    ),
]


def _as_checked(reason: str) -> str:
    said = QUOTED.sub("…", reason)
    for pattern, replacement in SAID_OTHERWISE:
        said = pattern.sub(replacement, said)
    return said


def test_check_reports_the_quarantines_reasons_and_counts(pair: Pair) -> None:
    quarantined: Counter[tuple[str, str]] = Counter()
    for row in pair.duck.ingest.quarantine().to_pylist():
        for reason in row["reasons"]:
            quarantined[row["table_name"], _as_checked(reason)] += 1
    checked = Counter({(v.table, v.reason): v.rows for v in pair.checked.violations})
    assert checked == quarantined
    refused = Counter(r["table_name"] for r in pair.duck.ingest.quarantine().to_pylist())
    assert {t: n - pair.checked.kept[t] for t, n in pair.checked.rows.items() if n} == {
        t: refused.get(t, 0) for t, n in pair.checked.rows.items() if n
    }
