"""HubSpot UI-export column labels → canonical columns, for both generations of labels.

HubSpot renamed several properties over the years (``Original Source`` became ``Original
Traffic Source``; ``Became a Marketing Qualified Lead Date`` became ``Date entered "Marketing
Qualified Lead (Lifecycle Stage Pipeline)"``): each field lists every label it may carry, the
preferred first. Labels compare without case. Stage-date columns are recognised by pattern
(:data:`DATE_ENTERED`, :data:`BECAME`), so a company's own stages work once they are mapped.
"""

from __future__ import annotations

import re

from revteam.crm.translation import Field
from revteam.model import enums

DATE_ENTERED = re.compile(r'^date entered\s*"?\s*(.+?)\s*\(([^()]*)\)\s*"?$', re.IGNORECASE)
"""``Date entered "Customer (Lifecycle Stage Pipeline)"`` → stage, pipeline."""
BECAME = re.compile(r"^became an? (.+?) date$", re.IGNORECASE)
"""``Became a Marketing Qualified Lead Date`` → stage (the older labels)."""

_COMPANY_IDS = (
    "Associated Company IDs (Primary)",
    "Associated Company ID (Primary)",
    "Primary Associated Company ID",
    "Associated Company ID",
    "Associated Company IDs",
    "Associated Company ID(s)",
    "Company ID",
)
"""A record's company: the primary association first (an export with associated records
carries both ``… (Primary)`` and the plural column of every associated company), then the
first of all associated companies."""
_CHANNEL = Field(
    "channel",
    ("Lead Source", "Original Traffic Source", "Original Source", "Original Source Type"),
    values="channels",
    keep_unmapped=False,
    fallback="other",
)
_SOURCE_DETAIL = Field(
    "source_detail",
    ("Original Traffic Source Drill-Down 1", "Original Source Drill-Down 1", "Source Detail"),
)
_REGION = Field("region", ("Region",), enum=enums.REGIONS)
_COUNTRY = Field("country", ("Country/Region", "Country", "Country/region"), "country")
_CREATED = Field("created_at", ("Create Date", "Created Date", "Createdate"), "timestamp")

CONTACT_FIELDS: tuple[Field, ...] = (
    Field("person_id", ("Record ID", "Contact ID", "VID", "Record ID - Contact")),
    Field("email", ("Email", "Email Address"), "email"),
    Field("first_name", ("First Name",)),
    Field("last_name", ("Last Name",)),
    Field("title", ("Job Title", "Title")),
    Field("persona", ("Persona",), enum=enums.PERSONAS),
    Field("account_id", _COMPANY_IDS, "first_id"),
    Field("company_name", ("Company Name", "Company", "Associated Company")),
    _CHANNEL,
    _SOURCE_DETAIL,
    Field(
        "first_campaign_id",
        ("First Touch Converting Campaign", "First Campaign ID", "First Campaign"),
    ),
    Field("owner_id", ("HubSpot Owner ID", "Contact Owner ID", "Owner ID")),
    _REGION,
    _COUNTRY,
    _CREATED,
    Field(
        "disqualified_at",
        ("Disqualified Date", "Disqualification Date", "Date Disqualified"),
        "timestamp",
    ),
    Field(
        "disqualification_reason",
        ("Disqualification Reason", "Disqualified Reason", "Unqualified Reason"),
    ),
)
CONTACT_OWNER = ("Contact owner", "HubSpot Owner", "Owner")
LIFECYCLE = Field("lifecycle_stage", ("Lifecycle Stage",), values="lifecycle_stages")
"""The current lifecycle stage: not a column of the model, but checked for unmapped values."""

COMPANY_FIELDS: tuple[Field, ...] = (
    Field("account_id", ("Record ID", "Company ID", "Record ID - Company")),
    Field("name", ("Company name", "Name")),
    Field("domain", ("Company Domain Name", "Domain", "Website URL", "Website"), "domain"),
    Field("industry", ("Industry",)),
    Field("employees", ("Number of Employees", "Employees")),
    Field("annual_revenue", ("Annual Revenue",), "money"),
    Field("segment", ("Segment", "Company Segment"), enum=enums.SEGMENTS),
    _REGION,
    _COUNTRY,
    Field("owner_id", ("HubSpot Owner ID", "Company Owner ID", "Owner ID")),
    _CREATED,
)
COMPANY_OWNER = ("Company owner", "HubSpot Owner", "Owner")

DEAL_FIELDS: tuple[Field, ...] = (
    Field("opportunity_id", ("Record ID", "Deal ID", "Record ID - Deal")),
    Field("name", ("Deal Name",)),
    Field("account_id", _COMPANY_IDS, "first_id"),
    Field(
        "person_id",
        ("Associated Contact ID", "Associated Contact IDs", "Associated Contact ID(s)"),
        "first_id",
    ),
    Field("type", ("Deal Type", "Type"), values="deal_types"),
    _CHANNEL,
    Field("campaign_id", ("Campaign ID", "Primary Campaign ID", "Campaign")),
    Field("owner_id", ("HubSpot Owner ID", "Deal Owner ID", "Owner ID")),
    _CREATED,
    Field("expected_close_date", ("Close Date", "Expected Close Date"), "timestamp"),
    Field("stage", ("Deal Stage", "Stage"), values="deal_stages"),
    Field("is_closed", ("Is Closed", "Is Deal Closed?", "Is closed")),
    Field("is_won", ("Is Closed Won",)),
    Field("amount", ("Amount in company currency", "Amount"), "money"),
    Field("_currency", ("Deal currency code", "Currency")),
    Field("probability", ("Deal probability", "Deal Stage Probability", "Probability")),
    Field("lost_reason", ("Closed Lost Reason", "Lost Reason")),
    Field("forecast_category", ("Forecast category",), values="forecast_categories"),
)
DEAL_OWNER = ("Deal owner", "HubSpot Owner", "Owner")

USER_FIELDS: tuple[Field, ...] = (
    Field("user_id", ("User ID", "Owner ID", "HubSpot Owner ID", "ID")),
    Field("name", ("Name", "Full Name")),
    Field("email", ("Email",), "email"),
    Field(
        "team",
        ("Team", "Primary Team", "Teams", "Department"),
        values="teams",
        keep_unmapped=False,
    ),
    Field("role", ("Role", "Job Title", "Title")),
    _REGION,
    Field("manager_id", ("Manager ID", "Manager")),
)
USER_NAME_PARTS = ("First Name", "Last Name")
