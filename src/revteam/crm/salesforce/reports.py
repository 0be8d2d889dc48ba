"""Salesforce report exports (CSV "Export Details", XLSX) → the objects they report on.

A report's columns are labels (``Lead Status``, ``Probability (%)``, ``Close Date (2)``); they
are renamed to the API fields of the object the report is about, after which the reports go
through the same translation as API objects. The report type is told by the file's name
(``leads.csv``, ``opportunity_history.xlsx`` …) or, failing that, by its columns. Footer lines
(totals, confidentiality notice) are skipped; labels revteam does not know become snake_case
custom fields and are kept aside.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from revteam.crm import _private as P
from revteam.crm import owners
from revteam.crm.mapping import CrmMapping
from revteam.crm.salesforce import objects
from revteam.crm.salesforce import report_keys as keys
from revteam.crm.translation import Source, Translation, build
from revteam.exceptions import CrmSourceError

_OWNER = {"Owner ID": "owner_id", "Owner": "owner_name"}
_PERSON = {
    "First Name": "first_name", "Last Name": "last_name", "Title": "title", "Email": "email",
    "Lead Source": "lead_source", "MQL Date": "mql_date", "SQL Date": "sql_date",
    "Disqualified Date": "disqualified_date",
    "Disqualification Reason": "disqualification_reason", "Persona": "persona",
    "Region": "region", "Source Detail": "source_detail", "First Campaign ID": "first_campaign_id",
}  # fmt: skip
LABELS: dict[str, dict[str, str]] = {
    "lead": _PERSON | _OWNER | {
        "Lead ID": "id", "Company / Account": "company", "Company": "company",
        "Lead Status": "status", "Create Date": "created_date", "Created Date": "created_date",
        "Converted": "is_converted", "Converted Date": "converted_date",
        "Converted Contact ID": "converted_contact_id",
        "Converted Account ID": "converted_account_id",
        "Converted Opportunity ID": "converted_opportunity_id", "Lead Owner": "owner_name",
        "Lead Owner ID": "owner_id", "Country": "country", "Account ID": "account_id",
    },
    "contact": _PERSON | _OWNER | {
        "Contact ID": "id", "Account ID": "account_id", "Account Name": "account_name",
        "Mailing Country": "mailing_country", "Contact Owner": "owner_name",
        "Contact Owner ID": "owner_id", "Created Date": "created_date",
    },
    "account": _OWNER | {
        "Account ID": "id", "Account Name": "name", "Website": "website",
        "Industry": "industry", "Employees": "number_of_employees",
        "Annual Revenue": "annual_revenue", "Billing Country": "billing_country",
        "Account Owner": "owner_name", "Account Owner ID": "owner_id",
        "Created Date": "created_date", "Segment": "segment", "Region": "region",
    },
    "opportunity": _OWNER | {
        "Opportunity ID": "id", "Opportunity Name": "name", "Account ID": "account_id",
        "Contact ID": "contact_id", "Stage": "stage_name", "Amount": "amount",
        "Amount Currency": "currency_iso_code", "Opportunity Currency": "currency_iso_code",
        "Probability (%)": "probability", "Close Date": "close_date",
        "Created Date": "created_date", "Type": "type", "Lead Source": "lead_source",
        "Primary Campaign Source ID": "campaign_id", "Campaign ID": "campaign_id",
        "Opportunity Owner": "owner_name", "Opportunity Owner ID": "owner_id",
        "Closed": "is_closed", "Won": "is_won", "Loss Reason": "loss_reason_c",
        "Closed Lost Reason": "loss_reason_c", "Lost Reason": "loss_reason_c",
        "Account Name": "account_name", "Opportunity Currency Code": "currency_iso_code",
        "Forecast Category": "forecast_category_name",
    },
    "opportunity_history": {
        "Opportunity ID": "opportunity_id", "Stage": "stage_name", "To Stage": "stage_name",
        "Amount": "amount", "Probability (%)": "probability", "Close Date": "close_date",
        "Edit Date": "created_date", "Last Modified": "created_date",
        "Stage Change Date": "created_date", "Created Date": "created_date",
        "Opportunity Name": "name", "Account Name": "account_name",
    },
    "lead_history": {
        "Lead ID": "lead_id", "Edit Date": "created_date", "Field / Event": "field",
        "Field": "field", "Old Value": "old_value", "New Value": "new_value",
        "First Name": "first_name", "Last Name": "last_name", "Email": "email",
        "Company / Account": "company", "Company": "company",
    },
    "campaign": {
        "Campaign ID": "id", "Campaign Name": "name", "Name": "name", "Type": "type",
        "Channel": "channel_c",
        "Start Date": "start_date", "End Date": "end_date", "Budgeted Cost": "budgeted_cost",
        "Parent Campaign ID": "parent_id",
    },
    "campaign_member": {
        "Campaign Member ID": "id", "Member ID": "id", "Campaign ID": "campaign_id",
        "Lead ID": "lead_id", "Contact ID": "contact_id", "Member Status": "status",
        "Status": "status", "First Responded Date": "first_responded_date",
        "Created Date": "created_date", "Member First Associated Date": "created_date",
    },
    "task": _OWNER | {
        "Activity ID": "id", "Task Subtype": "task_subtype", "Type": "type",
        "Date": "activity_date", "Activity Date": "activity_date",
        "Completed Date/Time": "completed_date_time", "Contact/Lead ID": "who_id",
        "Name ID": "who_id", "Related To ID": "what_id", "Opportunity ID": "opportunity_id",
        "Account ID": "account_id", "Assigned": "owner_name", "Assigned ID": "owner_id",
        "Created Date": "created_date",
    },
    "event": _OWNER | {
        "Activity ID": "id", "Type": "type", "Start": "start_date_time",
        "Start Date Time": "start_date_time", "Date": "activity_date",
        "Contact/Lead ID": "who_id", "Name ID": "who_id", "Related To ID": "what_id",
        "Opportunity ID": "opportunity_id", "Account ID": "account_id",
        "Assigned": "owner_name", "Assigned ID": "owner_id", "Created Date": "created_date",
    },
    "user": {
        "User ID": "id", "Full Name": "name", "Name": "name", "First Name": "first_name",
        "Last Name": "last_name", "Email": "email", "Department": "department",
        "Title": "title", "Role": "user_role_name", "Division": "division",
        "Manager ID": "manager_id",
    },
    "order": _OWNER | {
        "Order ID": "id", "Order Number": "order_number", "Account ID": "account_id",
        "Account Name": "account_name",
        "Order Start Date": "effective_date", "Effective Date": "effective_date",
        "Activated Date": "activated_date", "Order Amount": "total_amount",
        "Total Amount": "total_amount", "Status": "status", "Product": "product",
        "Bill To Contact ID": "bill_to_contact_id",
    },
}  # fmt: skip
"""Report column labels → API field names, per reported object."""

_NAMES = (
    ("opportunity_history", "opportunity_history"), ("opportunity history", "opportunity_history"),
    ("lead_history", "lead_history"), ("lead history", "lead_history"),
    ("campaign_member", "campaign_member"), ("campaign member", "campaign_member"),
    ("lead", "lead"), ("contact", "contact"), ("account", "account"), ("opportunit", "opportunity"),
    ("campaign", "campaign"), ("task", "task"), ("event", "event"), ("activit", "task"),
    ("user", "user"), ("order", "order"),
)  # fmt: skip
_SIGNATURES = (
    ("lead_history", ("Lead ID", "New Value")), ("lead_history", ("Field / Event", "Lead Owner")),
    ("lead_history", ("Field / Event", "Company / Account")),
    ("opportunity_history", ("Opportunity ID", "Edit Date")),
    ("opportunity_history", ("To Stage",)),
    ("opportunity_history", ("From Stage",)),
    ("opportunity_history", ("Opportunity Name", "Edit Date", "Stage")),
    ("campaign_member", ("Member Status",)), ("campaign_member", ("Campaign Member ID",)),
    ("opportunity", ("Opportunity ID",)), ("opportunity", ("Opportunity Name",)),
    ("opportunity", ("Opportunity Owner",)),
    ("lead", ("Lead ID",)), ("lead", ("Lead Status",)), ("lead", ("Lead Owner",)),
    ("lead", ("Company / Account",)),
    ("contact", ("Contact ID",)), ("contact", ("Contact Owner",)),
    ("contact", ("Mailing Country",)), ("contact", ("First Name", "Last Name", "Account Name")),
    ("campaign", ("Campaign ID",)), ("campaign", ("Campaign Name",)),
    ("task", ("Activity ID",)), ("task", ("Task Subtype",)),
    ("order", ("Order ID",)), ("order", ("Order Number",)), ("user", ("User ID",)),
    ("account", ("Account ID",)), ("account", ("Account Owner",)), ("account", ("Account Name",)),
)  # fmt: skip
"""Labels that tell a report's object when its file name does not (``report1712345678.csv``):
the first entry whose labels are all columns of the report wins."""


def report_object(src: Source) -> str:
    """The object a report is about: from its file name, else from its column labels."""
    stem = re.sub(r"[_\-]+", " ", src.path.stem.lower())
    for word, obj in _NAMES:
        if word.replace("_", " ") in stem:
            return obj
    for obj, needed in _SIGNATURES:
        if all(src.has(c) for c in needed):
            return obj
    raise CrmSourceError(
        src.path,
        "cannot tell which Salesforce object this report is about: none of its columns is a "
        "label revteam knows (such as Opportunity Name, Lead Status, Contact Owner, Account "
        "Name, Campaign Name)",
        "Name the file after it (leads.csv, contacts.csv, accounts.csv, opportunities.csv, "
        "opportunity_history.csv, campaigns.csv, campaign_members.csv, activities.csv, "
        "users.csv, orders.csv) or export the report with its standard columns",
    )


def field_name(label: str, labels: dict[str, str]) -> str:
    """A report label's API field: known labels by table, others as snake_case custom fields."""
    known = {P.norm_label(k): v for k, v in labels.items()}
    # A repeated column ("Close Date (2)", or "Close Date_1" as DuckDB names the repeat).
    repeat = re.match(r"^(.*?)(?: \((\d+)\)|_(\d+))$", label)
    if repeat and P.norm_label(repeat.group(1)) in known:
        return f"{known[P.norm_label(repeat.group(1))]}_{repeat.group(2) or repeat.group(3)}"
    return known.get(P.norm_label(label)) or re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def read_reports(
    paths: Sequence[Path],
    *,
    mapping: CrmMapping,
    timezone: str,
    users: Sequence[owners.User] = (),
    accounts: Sequence[tuple[str, str | None]] = (),
) -> Translation:
    """Translate Salesforce report exports; the caller loads (or inspects) the result.

    ``accounts`` (id, name) are the workspace's accounts, which reports that name an account
    instead of giving its id are matched against.
    """

    def fill(tr: Translation) -> None:
        owners.create_lookup(tr, users)
        sources = []
        for path in paths:
            src = tr.stage(path, "")
            src.object = report_object(src)
            labels = LABELS[src.object]
            tr.rename(src, {c: field_name(c, labels) for c in src.columns})
            tr.con.execute(
                f"CREATE OR REPLACE TEMP VIEW {src.relation}_r AS "
                f"SELECT *, CAST(NULL AS VARCHAR) AS _report_refuse FROM {src.relation}"
            )
            src.relation, src.refuse_column = f"{src.relation}_r", "_report_refuse"
            keys.add_derived_key(tr, src)
            sources.append(src)
        keys.account_lookup(tr, sources, accounts)
        for src in list(sources):
            keys.link_accounts(tr, src)
            if (made := keys.new_accounts(tr, src)) is not None:
                made.refuse_column = "_report_refuse"
                sources.append(made)
        objects.translate(tr, sources, include_deleted=True)

    return build("salesforce", "report", mapping, timezone, fill)
