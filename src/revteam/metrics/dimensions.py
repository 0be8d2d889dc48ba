"""Conformed dimensions, and how each table reaches each one.

One dimension name means one thing on every table (KPIS.md "Dimensions"). A table reaches a
dimension through its own column or through a chain of many-to-one references, written
``"account_id->accounts.segment"`` (follow ``account_id`` to ``accounts``, take ``segment``).
Because every hop lands on a table's key, each record falls in exactly one group (or the empty
group), so counts by any dimension add up to the total.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from revteam.model import TABLES, enums
from revteam.settings import ATTRIBUTION_MODELS

DIMENSIONS: dict[str, str] = {
    "channel": "Marketing channel (paid_search, email, outbound, …)",
    "campaign": "Campaign id",
    "source_detail": "Finer source, e.g. google, linkedin, a partner's name",
    "segment": "Account segment (smb, mid_market, enterprise)",
    "industry": "Account industry",
    "region": "Region (north_america, emea, apac, latam)",
    "country": "ISO country code",
    "persona": "Buying-committee persona of the person",
    "owner": "User id of the owning rep or marketer",
    "team": "Team of the owner (or of the spend, for costs)",
    "opportunity_type": "new_business, upsell or renewal",
    "deal_stage": "Stage of an opportunity's stage history (qualification … closed_lost)",
    "network": "Social network",
    "keyword_group": "Group of tracked keywords",
    "account": "Account id (the company a record belongs to)",
    "attribution_model": "Attribution model sharing the credit of attributed KPIs (default: "
    "the workspace's [attribution] model)",
}
"""The conformed dimensions, offered to every metric whose table reaches them."""

BREAKDOWNS: dict[str, str] = {
    "disqualification_reason": "Why Sales disqualified the lead",
}
"""Dimensions that only split a metric's numerator, offered where a metric lists them."""

_ACCOUNT = {d: f"account_id->accounts.{d}" for d in ("segment", "industry", "region", "country")}
_PERSON = {
    "persona": "person_id->people.persona",
    "source_detail": "person_id->people.source_detail",
}
_PERSON_ACCOUNT = {
    d: f"person_id->people.account_id->accounts.{d}" for d in ("segment", "industry")
}
_OWNER = {"owner": "owner_id", "team": "owner_id->users.team"}

REACH: dict[str, dict[str, str]] = {
    "people": {
        "channel": "channel",
        "campaign": "first_campaign_id",
        "source_detail": "source_detail",
        "segment": "account_id->accounts.segment",
        "industry": "account_id->accounts.industry",
        "region": "region",
        "country": "country",
        "persona": "persona",
        **_OWNER,
        "account": "account_id",
        "disqualification_reason": "disqualification_reason",
    },
    "opportunities": {
        "channel": "channel",
        "campaign": "campaign_id",
        **_ACCOUNT,
        **_PERSON,
        **_OWNER,
        "opportunity_type": "type",
        "account": "account_id",
    },
    "orders": {
        "channel": "person_id->people.channel",
        "campaign": "person_id->people.first_campaign_id",
        **_ACCOUNT,
        **_PERSON,
        "owner": "account_id->accounts.owner_id",
        "team": "account_id->accounts.owner_id->users.team",
        "account": "account_id",
    },
    "accounts": {
        **{d: d for d in ("segment", "industry", "region", "country")},
        **_OWNER,
        "account": "account_id",
    },
    "campaigns": {"channel": "channel", "campaign": "campaign_id"},
    "costs": {
        "channel": "campaign_id->campaigns.channel",
        "campaign": "campaign_id",
        "team": "team",
    },
    "touchpoints": {
        "channel": "channel",
        "campaign": "campaign_id",
        "segment": "account_id->accounts.segment",
        "industry": "account_id->accounts.industry",
        "region": "person_id->people.region",
        "country": "person_id->people.country",
        **_PERSON,
        "account": "account_id",
    },
    "sales_activities": {
        **_ACCOUNT,
        **_PERSON,
        **_OWNER,
        "channel": "person_id->people.channel",
        "account": "account_id",
    },
    "email_events": {
        "channel": "campaign_id->campaigns.channel",
        "campaign": "campaign_id",
        "region": "person_id->people.region",
        "country": "person_id->people.country",
        **_PERSON,
        **_PERSON_ACCOUNT,
        "account": "person_id->people.account_id",
    },
    "web_traffic": {"channel": "channel", "source_detail": "source_detail"},
    "social_posts": {
        "network": "network",
        "campaign": "campaign_id",
        "channel": "campaign_id->campaigns.channel",
    },
    "seo_rankings": {"keyword_group": "keyword_group"},
    "users": {"owner": "user_id", "team": "team", "region": "region"},
    "opportunity_stages": {
        "channel": "opportunity_id->opportunities.channel",
        "campaign": "opportunity_id->opportunities.campaign_id",
        **{d: f"opportunity_id->opportunities.account_id->accounts.{d}" for d in _ACCOUNT},
        "owner": "opportunity_id->opportunities.owner_id",
        "team": "opportunity_id->opportunities.owner_id->users.team",
        "opportunity_type": "opportunity_id->opportunities.type",
        "deal_stage": "stage",
        "account": "opportunity_id->opportunities.account_id",
    },
    "clv_values": {
        "channel": "channel",
        "campaign": "campaign_id",
        **_ACCOUNT,
        **_PERSON,
        **_OWNER,
        "opportunity_type": "type",
        "account": "account_id",
    },
    "attribution_credits": {
        "channel": "channel",
        "campaign": "campaign_id",
        "attribution_model": "model",
    },
}
"""How each canonical table reaches each dimension it can reach."""


@dataclass(frozen=True)
class Hop:
    """Follow ``column`` of the current relation to the key of ``table``."""

    column: str
    table: str

    @property
    def key(self) -> str:
        (key,) = TABLES[self.table].key
        return key


@dataclass(frozen=True)
class Path:
    """How a relation reaches one dimension: hops, then a column of the last table."""

    dimension: str
    hops: tuple[Hop, ...]
    column: str


def parse_path(dimension: str, text: str) -> Path:
    """Parse ``"a_id->table.b_id->other.col"`` into a :class:`Path`."""
    parts = text.split("->")
    hops: list[Hop] = []
    column = parts[0]
    for step in parts[1:]:
        table, _, nxt = step.partition(".")
        hops.append(Hop(column, table))
        column = nxt
    return Path(dimension, tuple(hops), column)


def reach(table: str) -> dict[str, Path]:
    """Every dimension (and breakdown) ``table`` reaches, with its path."""
    return {dim: parse_path(dim, text) for dim, text in REACH.get(table, {}).items()}


def conformed(paths: Mapping[str, Path]) -> tuple[str, ...]:
    """The conformed dimensions among ``paths``, in catalogue order."""
    return tuple(d for d in DIMENSIONS if d in paths)


VALUES: dict[str, tuple[str, ...]] = {
    "channel": enums.CHANNELS,
    "segment": enums.SEGMENTS,
    "region": enums.REGIONS,
    "persona": enums.PERSONAS,
    "opportunity_type": enums.OPPORTUNITY_TYPES,
    "deal_stage": enums.OPPORTUNITY_STAGES,
    "network": enums.SOCIAL_NETWORKS,
    "team": tuple(dict.fromkeys((*enums.TEAMS, *enums.COST_TEAMS))),
    "attribution_model": ATTRIBUTION_MODELS,
}
"""Closed vocabularies of dimensions, so a misspelt filter value is refused, not silently empty."""

VALUE_SOURCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "campaign": (("campaigns", "campaign_id", "name"),),
    "account": (("accounts", "account_id", "name"),),
    "owner": (("users", "user_id", "name"),),
    "source_detail": (("people", "source_detail", "source_detail"),),
    "industry": (("accounts", "industry", "industry"),),
    "country": (("accounts", "country", "country"), ("people", "country", "country")),
    "keyword_group": (("seo_rankings", "keyword_group", "keyword_group"),),
    "disqualification_reason": (("people", "disqualification_reason", "disqualification_reason"),),
}
"""Where the values of open dimensions live in the data: (table, value column, label column)."""


def values_expr(
    dimension: str, search: str, tables: Callable[[str], Any], *, limit: int
) -> Any | None:
    """An ibis expression of ``(value, label)`` of an open dimension, those containing ``search``.

    At most ``limit`` rows, so a caller can tell "more than it may show" from "all of them".
    ``None`` for a dimension with a closed vocabulary (:data:`VALUES`) or no source.
    """
    import ibis

    needle = search.strip().lower()
    parts = []
    for table, column, label in VALUE_SOURCES.get(dimension, ()):
        t = tables(table)
        t = t.filter(t[column].notnull())
        parts.append(
            t.group_by(value=t[column].cast("string")).aggregate(
                label=t[label].cast("string").max()
            )
        )
    if not parts:
        return None
    u = ibis.union(*parts, distinct=False)
    u = u.group_by("value").aggregate(label=u.label.max())
    hit = u.value.lower().contains(needle) | u.label.fill_null("").lower().contains(needle)
    return u.filter(hit).order_by("value").limit(limit)
