"""HubSpot API objects as loaders store them: object names, fields, and what is not needed.

Names follow Fivetran's HubSpot schema (``contact`` with ``property_email`` …), which the
connector in :mod:`revteam.crm.hubspot.connector` also writes, so both go through one
translation. Lifecycle dates are found by pattern (:data:`STAGE_DATE`) for HubSpot's own and a
portal's custom stages.
"""

from __future__ import annotations

import re

from revteam.crm.translation import Field
from revteam.model import enums

STAGE_DATE = re.compile(
    r"^property_(?:hs_lifecyclestage_(.+)_date|hs_v2_date_entered_(.+)|hs_date_entered_(.+))$"
)
"""``property_hs_lifecyclestage_customer_date`` / ``property_hs_v2_date_entered_customer``."""

_CHANNEL = Field(
    "channel",
    ("property_lead_source", "property_leadsource", "property_hs_analytics_source"),
    values="channels",
    keep_unmapped=False,
    fallback="other",
)
_OWNER = Field("owner_id", ("property_hubspot_owner_id", "owner_id"))

CONTACT = (
    Field("person_id", ("id", "vid", "contact_id")),
    Field("email", ("property_email",), "email"),
    Field("first_name", ("property_firstname",)),
    Field("last_name", ("property_lastname",)),
    Field("title", ("property_jobtitle",)),
    Field("persona", ("property_hs_persona", "property_persona"), enum=enums.PERSONAS),
    Field("account_id", ("property_associatedcompanyid",), "first_id"),
    Field("company_name", ("property_company",)),
    _CHANNEL,
    Field("source_detail", ("property_hs_analytics_source_data_1",)),
    Field("first_campaign_id", ("property_hs_analytics_first_touch_converting_campaign",)),
    _OWNER,
    Field("region", ("property_region",), enum=enums.REGIONS),
    Field("country", ("property_country",), "country"),
    Field("created_at", ("property_createdate", "property_created_at"), "timestamp"),
    Field("disqualified_at", ("property_disqualified_date",), "timestamp"),
    Field("disqualification_reason", ("property_disqualification_reason",)),
    Field("merged_ids", ("property_hs_merged_object_ids", "property_hs_calculated_merged_vids")),
    Field("lifecycle_stage", ("property_lifecyclestage",), values="lifecycle_stages"),
)
COMPANY = (
    Field("account_id", ("id", "company_id")),
    Field("name", ("property_name",)),
    Field("domain", ("property_domain", "property_website"), "domain"),
    Field("industry", ("property_industry",)),
    Field("employees", ("property_numberofemployees",)),
    Field("annual_revenue", ("property_annualrevenue",), "money"),
    Field("segment", ("property_segment",), enum=enums.SEGMENTS),
    Field("region", ("property_region",), enum=enums.REGIONS),
    Field("country", ("property_country",), "country"),
    _OWNER,
    Field("created_at", ("property_createdate",), "timestamp"),
)
DEAL = (
    Field("opportunity_id", ("deal_id", "id")),
    Field("name", ("property_dealname",)),
    Field("stage_id", ("deal_pipeline_stage_id", "property_dealstage")),
    Field("account_id", ("property_associatedcompanyid",), "first_id"),
    Field("type", ("property_dealtype",), values="deal_types"),
    _CHANNEL,
    Field("campaign_id", ("property_campaign_id", "property_hs_campaign")),
    _OWNER,
    Field("created_at", ("property_createdate",), "timestamp"),
    Field("expected_close_date", ("property_closedate",), "timestamp"),
    Field("is_closed", ("property_hs_is_closed",), "lower"),
    Field("is_won", ("property_hs_is_closed_won",), "lower"),
    Field("amount", ("property_amount_in_home_currency", "property_amount"), "money"),
    Field("_currency", ("property_deal_currency_code",)),
    Field("probability", ("property_hs_deal_stage_probability",)),
    Field("lost_reason", ("property_closed_lost_reason",)),
    Field(
        "forecast_category",
        ("property_hs_manual_forecast_category", "property_hs_forecast_category"),
        values="forecast_categories",
    ),
)
PIPELINE_STAGE = (
    Field("stage_id", ("stage_id", "id")),
    Field("label", ("label",)),
    Field("is_closed", ("is_closed",), "lower"),
    Field("closed_won", ("closed_won",), "lower"),
    Field("probability", ("probability",)),
)
DEAL_STAGE = (
    Field("opportunity_id", ("deal_id",)),
    Field("entered_at", ("date_entered",), "timestamp"),
    Field("stage_id", ("value",)),
)
OWNER = (
    Field("user_id", ("owner_id", "id")),
    Field("first_name", ("first_name", "firstname")),
    Field("last_name", ("last_name", "lastname")),
    Field("email", ("email",), "email"),
)
EMAIL_EVENT = (
    Field("event_id", ("id",)),
    Field("email_id", ("email_campaign_id",)),
    Field("raw_type", ("type",)),
    Field("type", ("type",), values="email_events", keep_unmapped=False),
    Field("occurred_at", ("created",), "timestamp"),
    Field("recipient", ("recipient",), "email"),
    Field("filtered", ("filtered_event",), "lower"),
)
EMAIL_CAMPAIGN = (
    Field("campaign_id", ("id",)),
    Field("name", ("name",)),
    Field("subject", ("subject",)),
)
"""A marketing e-mail (send): a campaign in the e-mail channel, dated by its events."""
ENGAGEMENT = (
    Field("activity_id", ("engagement_id", "id")),
    Field("type", ("type",), values="activity_types", keep_unmapped=False),
    Field("raw_type", ("type",)),
    _OWNER,
    Field(
        "occurred_at",
        ("property_hs_timestamp", "start_time", "timestamp", "property_hs_createdate"),
        "timestamp",
    ),
)
ASSOCIATION = (
    Field("from_id", ("engagement_id", "deal_id")),  # engagement_deal: from the engagement
    Field("to_id", ("company_id", "contact_id", "deal_id")),
)
FORM_SUBMISSION = (
    Field("touch_id", ("conversion_id",)),
    Field("person_id", ("contact_id",)),
    Field("occurred_at", ("timestamp",), "timestamp"),
)
FIELDS: dict[str, tuple[Field, ...]] = {
    "contact": CONTACT, "company": COMPANY, "deal": DEAL, "deal_pipeline_stage": PIPELINE_STAGE,
    "deal_stage": DEAL_STAGE, "owner": OWNER, "email_event": EMAIL_EVENT,
    "email_campaign": EMAIL_CAMPAIGN,
    "engagement": ENGAGEMENT, "engagement_call": ENGAGEMENT, "engagement_meeting": ENGAGEMENT,
    "engagement_email": ENGAGEMENT, "engagement_note": ENGAGEMENT, "engagement_task": ENGAGEMENT,
    "engagement_communication": ENGAGEMENT, "deal_company": ASSOCIATION,
    "deal_contact": ASSOCIATION, "engagement_contact": ASSOCIATION,
    "engagement_company": ASSOCIATION, "engagement_deal": ASSOCIATION,
    "contact_form_submission": FORM_SUBMISSION,
}  # fmt: skip
"""HubSpot objects revteam translates, with their standardised columns."""

ENGAGEMENTS = tuple(
    f"engagement_{t}" for t in ("call", "meeting", "email", "note", "task", "communication")
)
"""Engagement tables of one type each (their rows need not repeat the type)."""

LOOKUPS = (
    "contact_property_history", "contact_merge_audit", "merged_deal",
    "email_event_status_change", "owner_team", "team",
)  # fmt: skip
"""Objects read only to complete others (lifecycle history, merges, unsubscribes, teams)."""

NOT_NEEDED: dict[str, str] = {
    "company_property_history": "company field history; current companies come from company",
    "deal_property_history": "deal field history; stage history comes from deal_stage",
    "deal_pipeline": "pipeline names; stages come from deal_pipeline_stage",
    "contact_list": "lists are segments, not funnel data",
    "contact_list_member": "list membership is segmentation, not a touchpoint",
    "form": "form definitions; submissions come from contact_form_submission",
    "property": "property metadata",
    "property_option": "picklist metadata",
    "role": "user roles of the HubSpot account",
    "team_user": "team membership of HubSpot users; owners' teams come from owner_team",
    "users": "HubSpot users; record owners come from owner",
    "ticket": "service tickets: not revenue data",
}
"""HubSpot objects that are not loaded, with the reason (their files are listed as such)."""
for _event in ("bounce", "click", "deferred", "delivered", "dropped", "forward", "open"):
    NOT_NEEDED[f"email_event_{_event}"] = "per-type event details; the type is in email_event"
for _event in ("print", "sent", "spam_report"):
    NOT_NEEDED[f"email_event_{_event}"] = "per-type event details; the type is in email_event"
for _t in ("company", "contact", "deal", "engagement", "pipeline", "pipeline_stage"):
    NOT_NEEDED[f"ticket_{_t}"] = "service tickets: not revenue data"
NOT_NEEDED["ticket_property_history"] = "service tickets: not revenue data"
