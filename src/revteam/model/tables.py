"""The canonical model, declared once: ingest validation, the generator, docs and tests read it."""

from __future__ import annotations

from revteam.exceptions import ModelError
from revteam.model import enums as E
from revteam.model.schema import Check, Column, Reference, Table

_NONNEG = 0.0


def _ref(table: str, column: str, *, checked: bool = True) -> Reference:
    return Reference(table, column, checked)


_OWNER = Column(
    "owner_id",
    "string",
    "User (rep or marketer) who owns the record",
    references=_ref("users", "user_id", checked=False),
)

USERS = Table(
    "users",
    "Sales reps, marketers and everyone else who owns records or goals.",
    key=("user_id",),
    columns=(
        Column("user_id", "string", "Stable user id"),
        Column("name", "string", "Full name", required=True),
        Column("email", "string", "Work e-mail"),
        Column("team", "string", "Team the user belongs to", required=True, enum=E.TEAMS),
        Column("role", "string", "Job role, e.g. AE, SDR, demand gen manager"),
        Column("region", "string", "Sales region covered", enum=E.REGIONS),
        Column(
            "manager_id",
            "string",
            "The user's manager",
            references=_ref("users", "user_id", checked=False),
        ),
    ),
)

ACCOUNTS = Table(
    "accounts",
    "Companies: prospects and customers.",
    key=("account_id",),
    time_column="created_at",
    columns=(
        Column("account_id", "string", "Stable account id"),
        Column("name", "string", "Company name", required=True),
        Column("domain", "string", "Web domain, lower case, without www."),
        Column("industry", "string", "Industry"),
        Column("employees", "integer", "Number of employees", min_value=_NONNEG),
        Column("annual_revenue", "money", "Annual revenue of the company", min_value=_NONNEG),
        Column("segment", "string", "Sales segment", enum=E.SEGMENTS),
        Column("region", "string", "Region", enum=E.REGIONS),
        Column("country", "string", "ISO 3166-1 alpha-2 country code"),
        _OWNER,
        Column("created_at", "timestamp", "When the account was created", required=True),
    ),
)

CAMPAIGNS = Table(
    "campaigns",
    "Marketing campaigns (and outbound sequences), optionally nested.",
    key=("campaign_id",),
    time_column="start_date",
    columns=(
        Column("campaign_id", "string", "Stable campaign id"),
        Column("name", "string", "Campaign name", required=True),
        Column("channel", "string", "Channel the campaign runs in", required=True, enum=E.CHANNELS),
        Column("type", "string", "Kind of campaign", enum=E.CAMPAIGN_TYPES),
        Column(
            "parent_id", "string", "Parent campaign", references=_ref("campaigns", "campaign_id")
        ),
        Column("start_date", "date", "First day", required=True),
        Column("end_date", "date", "Last day (empty while running)"),
        Column("budget", "money", "Planned budget", min_value=_NONNEG),
    ),
    checks=(Check("campaign_dates", "end_date >= start_date", "end_date is before start_date"),),
)

PEOPLE = Table(
    "people",
    "Leads and contacts in one table, with the first time each entered each lifecycle stage.",
    key=("person_id",),
    time_column="created_at",
    fill_chain=("created_at", "mql_at", "sql_at", "opportunity_at", "customer_at"),
    columns=(
        Column("person_id", "string", "Stable person id"),
        Column("email", "string", "E-mail address"),
        Column("first_name", "string", "First name"),
        Column("last_name", "string", "Last name"),
        Column("title", "string", "Job title"),
        Column("persona", "string", "Buying-committee persona", enum=E.PERSONAS),
        Column("account_id", "string", "Company", references=_ref("accounts", "account_id")),
        Column("company_name", "string", "Company name as the person gave it"),
        Column("channel", "string", "Channel that sourced the person", enum=E.CHANNELS),
        Column("source_detail", "string", "Finer source, e.g. google / linkedin / partner name"),
        Column(
            "first_campaign_id",
            "string",
            "Campaign of the first touch",
            references=_ref("campaigns", "campaign_id"),
        ),
        _OWNER,
        Column("region", "string", "Region", enum=E.REGIONS),
        Column("country", "string", "ISO 3166-1 alpha-2 country code"),
        Column("created_at", "timestamp", "Became a lead", required=True),
        Column("mql_at", "timestamp", "Became a marketing-qualified lead"),
        Column("sql_at", "timestamp", "Accepted/qualified by Sales"),
        Column("opportunity_at", "timestamp", "First opportunity created"),
        Column("customer_at", "timestamp", "Became a customer"),
        Column("disqualified_at", "timestamp", "Disqualified by Sales"),
        Column("disqualification_reason", "string", "Why Sales disqualified the lead"),
    ),
    checks=(
        Check("mql_after_created", "mql_at >= created_at", "mql_at is before created_at"),
        Check("sql_after_mql", "sql_at >= mql_at", "sql_at is before mql_at"),
        Check(
            "opportunity_after_sql",
            "opportunity_at >= sql_at",
            "opportunity_at is before sql_at",
        ),
        Check(
            "customer_after_opportunity",
            "customer_at >= opportunity_at",
            "customer_at is before opportunity_at",
        ),
        Check(
            "disqualified_after_created",
            "disqualified_at >= created_at",
            "disqualified_at is before created_at",
        ),
    ),
)

OPPORTUNITIES = Table(
    "opportunities",
    "Deals: new business, upsells and renewals.",
    key=("opportunity_id",),
    time_column="created_at",
    columns=(
        Column("opportunity_id", "string", "Stable opportunity id"),
        # Optional: CRMs let a deal exist without a company, and refusing it would lose its
        # revenue. KPIs that need an account say how many deals they could not place.
        Column(
            "account_id",
            "string",
            "Company; empty for a deal without one, which counts in deal and revenue KPIs, "
            "under (none) by account dimensions, and not in account-based KPIs (each says how "
            "many deals it could not place)",
            references=_ref("accounts", "account_id"),
        ),
        Column("person_id", "string", "Primary contact", references=_ref("people", "person_id")),
        Column("name", "string", "Deal name"),
        Column("type", "string", "Kind of deal", required=True, enum=E.OPPORTUNITY_TYPES),
        Column("channel", "string", "Channel that sourced the deal", enum=E.CHANNELS),
        Column(
            "campaign_id",
            "string",
            "Primary campaign",
            references=_ref("campaigns", "campaign_id"),
        ),
        _OWNER,
        Column("created_at", "timestamp", "Opportunity created", required=True),
        Column("expected_close_date", "date", "Forecast close date"),
        Column("closed_at", "timestamp", "Closed won or lost"),
        Column("stage", "string", "Current stage", required=True, enum=E.OPPORTUNITY_STAGES),
        Column("is_closed", "boolean", "Closed (won or lost)", required=True),
        Column("is_won", "boolean", "Closed won", required=True),
        Column("amount", "money", "Deal amount in the workspace currency", min_value=_NONNEG),
        Column("probability", "float", "Win probability, 0 to 1", min_value=0.0, max_value=1.0),
        Column("lost_reason", "string", "Why the deal was lost"),
        Column(
            "forecast_category",
            "string",
            "The CRM's forecast category of the deal (Salesforce Forecast Category, HubSpot "
            "Forecast category); empty when the CRM has none",
            enum=E.FORECAST_CATEGORIES,
        ),
    ),
    checks=(
        Check("closed_after_created", "closed_at >= created_at", "closed_at is before created_at"),
        Check("won_is_closed", "NOT is_won OR is_closed", "is_won is true but is_closed is false"),
        Check(
            "closed_has_date",
            "is_closed = (closed_at IS NOT NULL)",
            "is_closed and closed_at disagree (a closed deal needs closed_at, an open one none)",
        ),
        Check(
            "stage_matches_outcome",
            "(stage = 'closed_won') = (is_closed AND is_won) "
            "AND (stage = 'closed_lost') = (is_closed AND NOT is_won)",
            "stage disagrees with is_closed/is_won",
        ),
    ),
)

OPPORTUNITY_STAGES = Table(
    "opportunity_stages",
    "Stage history of opportunities: one row each time a deal entered a stage.",
    # The stage is part of the key: bulk edits in a CRM move a deal through stages in one second.
    key=("opportunity_id", "entered_at", "stage"),
    time_column="entered_at",
    columns=(
        Column(
            "opportunity_id",
            "string",
            "Opportunity",
            references=_ref("opportunities", "opportunity_id"),
        ),
        Column("entered_at", "timestamp", "When the deal entered the stage"),
        Column("stage", "string", "Stage entered", required=True, enum=E.OPPORTUNITY_STAGES),
        Column("amount", "money", "Amount at that time", min_value=_NONNEG),
        Column("probability", "float", "Probability at that time", min_value=0.0, max_value=1.0),
    ),
)

COSTS = Table(
    "costs",
    "Spend by day: marketing spend (per campaign where known) and sales cost.",
    key=("date", "team", "category", "campaign_id"),
    nullable_key=("campaign_id",),
    time_column="date",
    columns=(
        Column("date", "date", "Day the cost was incurred"),
        Column("team", "string", "Team that spent it", enum=E.COST_TEAMS),
        Column("category", "string", "Kind of cost", enum=E.COST_CATEGORIES),
        Column(
            "campaign_id",
            "string",
            "Campaign, where the cost belongs to one",
            references=_ref("campaigns", "campaign_id"),
        ),
        Column("amount", "money", "Amount in the workspace currency", required=True, min_value=0),
    ),
)

TOUCHPOINTS = Table(
    "touchpoints",
    "Marketing interactions of people with campaigns and channels.",
    key=("touch_id",),
    time_column="occurred_at",
    columns=(
        Column("touch_id", "string", "Stable touch id"),
        Column(
            "person_id",
            "string",
            "Who",
            required=True,
            references=_ref("people", "person_id"),
        ),
        Column("account_id", "string", "Their company", references=_ref("accounts", "account_id")),
        Column("campaign_id", "string", "Campaign", references=_ref("campaigns", "campaign_id")),
        Column("channel", "string", "Channel", required=True, enum=E.CHANNELS),
        Column("type", "string", "Kind of touch", required=True, enum=E.TOUCHPOINT_TYPES),
        Column("occurred_at", "timestamp", "When", required=True),
    ),
)

SALES_ACTIVITIES = Table(
    "sales_activities",
    "Calls, e-mails and meetings logged by Sales.",
    key=("activity_id",),
    time_column="occurred_at",
    columns=(
        Column("activity_id", "string", "Stable activity id"),
        Column("person_id", "string", "Person contacted", references=_ref("people", "person_id")),
        Column("account_id", "string", "Company", references=_ref("accounts", "account_id")),
        Column(
            "opportunity_id",
            "string",
            "Deal",
            references=_ref("opportunities", "opportunity_id"),
        ),
        _OWNER,
        Column("type", "string", "Kind of activity", required=True, enum=E.ACTIVITY_TYPES),
        Column("occurred_at", "timestamp", "When", required=True),
    ),
)

EMAIL_EVENTS = Table(
    "email_events",
    "Marketing e-mail events: sends, deliveries, opens, clicks, bounces, unsubscribes.",
    key=("event_id",),
    time_column="occurred_at",
    columns=(
        Column("event_id", "string", "Stable event id"),
        Column("email_id", "string", "The e-mail (send) the event belongs to", required=True),
        Column("campaign_id", "string", "Campaign", references=_ref("campaigns", "campaign_id")),
        Column("person_id", "string", "Recipient", references=_ref("people", "person_id")),
        Column("type", "string", "Kind of event", required=True, enum=E.EMAIL_EVENT_TYPES),
        Column("occurred_at", "timestamp", "When", required=True),
    ),
)

WEB_TRAFFIC = Table(
    "web_traffic",
    "Daily website traffic by channel and source.",
    key=("date", "channel", "source_detail"),
    time_column="date",
    columns=(
        Column("date", "date", "Day"),
        Column("channel", "string", "Channel", enum=E.CHANNELS),
        Column("source_detail", "string", "Source, e.g. google, linkedin, newsletter"),
        Column("sessions", "integer", "Sessions", required=True, min_value=_NONNEG),
        Column("users", "integer", "Users", min_value=_NONNEG),
        Column("new_users", "integer", "New users", min_value=_NONNEG),
        Column("pageviews", "integer", "Page views", min_value=_NONNEG),
        Column("conversions", "integer", "Goal conversions (e.g. form fills)", min_value=_NONNEG),
    ),
    checks=(
        Check("users_le_sessions", "users <= sessions", "users exceed sessions"),
        Check("new_users_le_users", "new_users <= users", "new_users exceed users"),
    ),
)

SOCIAL_POSTS = Table(
    "social_posts",
    "Organic social posts with their daily engagement.",
    key=("post_id", "date"),
    time_column="date",
    columns=(
        Column("post_id", "string", "Post id on the network"),
        Column("date", "date", "Day the figures are for"),
        Column("network", "string", "Social network", required=True, enum=E.SOCIAL_NETWORKS),
        Column("campaign_id", "string", "Campaign", references=_ref("campaigns", "campaign_id")),
        Column("impressions", "integer", "Impressions", min_value=_NONNEG),
        Column("likes", "integer", "Likes / reactions", min_value=_NONNEG),
        Column("shares", "integer", "Shares / reposts", min_value=_NONNEG),
        Column("comments", "integer", "Comments", min_value=_NONNEG),
        Column("clicks", "integer", "Link clicks", min_value=_NONNEG),
    ),
)

SEO_RANKINGS = Table(
    "seo_rankings",
    "Search-engine positions of tracked keywords.",
    key=("date", "keyword"),
    time_column="date",
    columns=(
        Column("date", "date", "Day of the ranking"),
        Column("keyword", "string", "Tracked keyword"),
        Column("keyword_group", "string", "Group of keywords, e.g. brand, product, competitor"),
        Column("url", "string", "Ranking page"),
        Column("position", "integer", "Position in results (1 is best)", min_value=1),
        Column("search_volume", "integer", "Monthly searches", min_value=_NONNEG),
    ),
)

ORDERS = Table(
    "orders",
    "Orders and invoices: recognised revenue, repeat purchases.",
    key=("order_id",),
    time_column="ordered_at",
    columns=(
        Column("order_id", "string", "Stable order id"),
        Column(
            "account_id",
            "string",
            "Buying company",
            required=True,
            references=_ref("accounts", "account_id"),
        ),
        Column("person_id", "string", "Buyer", references=_ref("people", "person_id")),
        Column("ordered_at", "timestamp", "When", required=True),
        Column("amount", "money", "Amount in the workspace currency", required=True, min_value=0),
        Column("product", "string", "Product or plan"),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        USERS,
        ACCOUNTS,
        CAMPAIGNS,
        PEOPLE,
        OPPORTUNITIES,
        OPPORTUNITY_STAGES,
        COSTS,
        TOUCHPOINTS,
        SALES_ACTIVITIES,
        EMAIL_EVENTS,
        WEB_TRAFFIC,
        SOCIAL_POSTS,
        SEO_RANKINGS,
        ORDERS,
    )
}
"""Every canonical table, ordered so that referenced tables come before those pointing at them."""


def table(name: str) -> Table:
    try:
        return TABLES[name]
    except KeyError:
        raise ModelError("table", name, TABLES) from None


def load_order() -> tuple[str, ...]:
    """Table names in dependency order: load them in this order so references resolve."""
    return tuple(TABLES)
