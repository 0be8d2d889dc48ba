"""Salesforce fields → standardised columns, per object, over snake_case API field names.

Every Salesforce front end is brought to snake_case first: Fivetran lands ``stage_name``,
the API returns ``StageName`` (converted by :func:`revteam.crm._private.snake`), and report
labels are renamed in :mod:`revteam.crm.salesforce.reports`. Custom fields are recognised in
their common spellings (``mql_date_c``, ``mql_date``); every other field is kept aside.
"""

from __future__ import annotations

from revteam.crm.translation import Field
from revteam.model import enums

_COMMON = (
    Field("persona", ("persona_c", "persona"), enum=enums.PERSONAS),
    Field("region", ("region_c", "region"), enum=enums.REGIONS),
    Field("source_detail", ("source_detail_c", "lead_source_detail_c", "source_detail")),
    Field("first_campaign_id", ("first_campaign_id_c", "first_campaign_id")),
    Field("mql", ("mql_date_c", "first_mql_date_c", "mql_date"), "timestamp"),
    Field("sql", ("sql_date_c", "sql_date"), "timestamp"),
    Field("opp_at", ("opportunity_date_c", "opportunity_date"), "timestamp"),
    Field("customer", ("customer_date_c", "customer_date"), "timestamp"),
    Field("disq", ("disqualified_date_c", "disqualified_date"), "timestamp"),
    Field(
        "disq_reason",
        ("disqualification_reason_c", "unqualified_reason_c", "disqualification_reason"),
    ),
    Field("channel", ("lead_source",), values="channels", keep_unmapped=False, fallback="other"),
    Field("owner_id", ("owner_id",)),
    Field("owner_name", ("owner_name",)),
    Field("email", ("email",), "email"),
    Field("first_name", ("first_name",)),
    Field("last_name", ("last_name",)),
    Field("title", ("title",)),
    Field("created", ("created_date",), "timestamp"),
)

LEAD = (
    Field("id", ("id",)),
    *_COMMON,
    Field("company", ("company",)),
    Field("account_id", ("account_id", "matched_account_id_c")),
    Field("country", ("country", "country_code"), "country"),
    Field("status", ("status",), values="lifecycle_stages"),
    Field("is_converted", ("is_converted",), "lower"),
    Field("converted_date", ("converted_date",), "timestamp"),
    Field("converted_contact_id", ("converted_contact_id",)),
    Field("converted_account_id", ("converted_account_id",)),
    Field("converted_opportunity_id", ("converted_opportunity_id",)),
)
CONTACT = (
    Field("id", ("id",)),
    *_COMMON,
    Field("account_id", ("account_id",)),
    Field("account_name", ("account_name",)),
    Field("country", ("mailing_country", "mailing_country_code", "country"), "country"),
)
ACCOUNT = (
    Field("account_id", ("id",)),
    Field("name", ("name",)),
    Field("domain", ("website", "domain_c"), "domain"),
    Field("industry", ("industry",)),
    Field("employees", ("number_of_employees",)),
    Field("annual_revenue", ("annual_revenue",), "money"),
    Field("segment", ("segment_c", "segment"), enum=enums.SEGMENTS),
    Field("region", ("region_c", "region"), enum=enums.REGIONS),
    Field("country", ("billing_country", "billing_country_code", "shipping_country"), "country"),
    Field("owner_id", ("owner_id",)),
    Field("owner_name", ("owner_name",)),
    Field("created_at", ("created_date",), "timestamp"),
)
OPPORTUNITY = (
    Field("id", ("id",)),
    Field("account_id", ("account_id",)),
    Field("contact_id", ("contact_id", "primary_contact_id_c")),
    Field("name", ("name",)),
    Field("type", ("type",), values="deal_types"),
    Field("channel", ("lead_source",), values="channels", keep_unmapped=False, fallback="other"),
    Field("campaign_id", ("campaign_id",)),
    Field("owner_id", ("owner_id",)),
    Field("owner_name", ("owner_name",)),
    Field("created", ("created_date",), "timestamp"),
    Field("close_date", ("close_date",), "timestamp"),
    Field("stage", ("stage_name",), values="deal_stages"),
    Field("is_closed", ("is_closed",), "lower"),
    Field("is_won", ("is_won",), "lower"),
    Field("amount", ("amount",), "money"),
    Field("currency", ("currency_iso_code",)),
    Field("probability", ("probability",), "percent"),
    Field("lost_reason", ("loss_reason_c", "lost_reason_c", "closed_lost_reason_c", "lost_reason")),
    # ForecastCategory (the API value: Forecast for Commit) first, as an admin may rename the
    # category names that ForecastCategoryName (and reports) carry.
    Field(
        "forecast_category",
        ("forecast_category", "forecast_category_name"),
        values="forecast_categories",
    ),
)
HISTORY = (
    Field("opportunity_id", ("opportunity_id",)),
    Field("stage", ("stage_name",), values="deal_stages"),
    Field("entered_at", ("created_date",), "timestamp"),
    Field("amount", ("amount",), "money"),
    Field("probability", ("probability",), "percent"),
)
LEAD_HISTORY = (
    Field("lead_id", ("lead_id",)),
    Field("field", ("field",), "lower"),
    Field("stage", ("new_value",), values="lifecycle_stages", keep_unmapped=False),
    Field("changed_at", ("created_date",), "timestamp"),
)
"""LeadHistory (field history of leads): a ``Status`` change dates the stage it maps to."""
CAMPAIGN = (
    Field("campaign_id", ("id",)),
    Field("name", ("name",)),
    Field("channel", ("channel_c", "channel"), values="channels", keep_unmapped=False),
    Field("type_channel", ("type",), values="channels", keep_unmapped=False, fallback="other"),
    Field("type", ("type",), values="campaign_types", keep_unmapped=False),
    Field("parent_id", ("parent_id",)),
    Field("start_date", ("start_date",), "timestamp"),
    Field("end_date", ("end_date",), "timestamp"),
    Field("budget", ("budgeted_cost",), "money"),
)
MEMBER = (
    Field("touch_id", ("id",)),
    Field("campaign_id", ("campaign_id",)),
    Field("lead_id", ("lead_id",)),
    Field("contact_id", ("contact_id",)),
    Field(
        "type",
        ("status",),
        values="member_statuses",
        keep_unmapped=False,
        fallback="campaign_member",
    ),
    Field("occurred_at", ("first_responded_date", "created_date"), "timestamp"),
)
ACTIVITY = (
    Field("activity_id", ("id",)),
    Field("who_id", ("who_id",)),
    Field("what_id", ("what_id",)),
    Field("opportunity_id", ("opportunity_id",)),
    Field("account_id", ("account_id",)),
    Field("owner_id", ("owner_id",)),
    Field("owner_name", ("owner_name",)),
    Field("subtype", ("task_subtype", "event_subtype"), values="activity_types"),
    Field("kind", ("type",), values="activity_types"),
    Field(
        "occurred_at",
        ("completed_date_time", "start_date_time", "activity_date_time", "activity_date"),
        "timestamp",
    ),
    Field("created", ("created_date",), "timestamp"),
)
USER = (
    Field("user_id", ("id",)),
    Field("name", ("name",)),
    Field("first_name", ("first_name",)),
    Field("last_name", ("last_name",)),
    Field("email", ("email",), "email"),
    Field("team", ("department",), values="teams", keep_unmapped=False),
    Field("role", ("user_role_name", "title")),
    Field("role_id", ("user_role_id",)),
    Field("region", ("division", "region_c"), enum=enums.REGIONS),
    Field("manager_id", ("manager_id",)),
)
ORDER = (
    Field("order_id", ("id",)),
    Field("account_id", ("account_id",)),
    Field("person_id", ("bill_to_contact_id", "customer_authorized_by_id")),
    Field("ordered_at", ("activated_date", "effective_date", "created_date"), "timestamp"),
    Field("amount", ("total_amount",), "money"),
    Field("currency", ("currency_iso_code",)),
    Field("product", ("product_c", "product")),
    Field("status", ("status",), "lower"),
)
ROLE = (Field("id", ("id",)), Field("name", ("name",)))

FIELDS: dict[str, tuple[Field, ...]] = {
    "lead": LEAD,
    "contact": CONTACT,
    "account": ACCOUNT,
    "opportunity": OPPORTUNITY,
    "opportunity_history": HISTORY,
    "lead_history": LEAD_HISTORY,
    "campaign": CAMPAIGN,
    "campaign_member": MEMBER,
    "task": ACTIVITY,
    "event": ACTIVITY,
    "user": USER,
    "order": ORDER,
    "user_role": ROLE,
}
"""Standardised columns of each Salesforce object (the objects revteam reads)."""
