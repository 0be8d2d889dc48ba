"""Closed vocabularies of the canonical model (KPIS.md "Dimensions").

One name means one thing across every table; ingest maps source values onto these.
"""

from __future__ import annotations

CHANNELS: tuple[str, ...] = (
    "paid_search",
    "paid_social",
    "organic_search",
    "organic_social",
    "email",
    "events",
    "webinar",
    "content",
    "referral",
    "partner",
    "direct",
    "outbound",
    "other",
)
TOUCHPOINT_TYPES: tuple[str, ...] = (
    "ad_click",
    "form_submit",
    "email_click",
    "content_download",
    "webinar_registration",
    "webinar_attended",
    "event",
    "web_visit",
    "social_click",
    "chat",
    "campaign_member",
)
ACTIVITY_TYPES: tuple[str, ...] = ("call", "email", "meeting")
EMAIL_EVENT_TYPES: tuple[str, ...] = ("sent", "delivered", "open", "click", "bounce", "unsubscribe")
OPPORTUNITY_TYPES: tuple[str, ...] = ("new_business", "upsell", "renewal")
OPPORTUNITY_STAGES: tuple[str, ...] = (
    "qualification",
    "discovery",
    "proposal",
    "negotiation",
    "closed_won",
    "closed_lost",
)
FORECAST_CATEGORIES: tuple[str, ...] = ("pipeline", "best_case", "commit", "closed", "omitted")
"""The CRM's forecast category of a deal, least to most certain, then closed and left out.

Salesforce's standard categories and HubSpot's, one for one: ``closed`` holds won deals and
``omitted`` deals left out of the forecast (lost ones among them)."""
SEGMENTS: tuple[str, ...] = ("smb", "mid_market", "enterprise")
REGIONS: tuple[str, ...] = ("north_america", "emea", "apac", "latam")
PERSONAS: tuple[str, ...] = ("executive", "manager", "practitioner", "technical", "other")
TEAMS: tuple[str, ...] = ("sales", "marketing", "leadership", "revops", "customer_success")
COST_TEAMS: tuple[str, ...] = ("marketing", "sales")
COST_CATEGORIES: tuple[str, ...] = (
    "media",
    "events",
    "content",
    "tools",
    "agency",
    "salaries",
    "commissions",
    "other",
)
CAMPAIGN_TYPES: tuple[str, ...] = (
    "ads",
    "email",
    "webinar",
    "event",
    "content",
    "seo",
    "social",
    "partner",
    "referral",
    "outbound",
    "other",
)
SOCIAL_NETWORKS: tuple[str, ...] = ("linkedin", "twitter", "facebook", "instagram", "youtube")
LIFECYCLE_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "customer")
"""People's lifecycle, in order; each has a ``<stage>_at`` column (``created_at`` for lead)."""
