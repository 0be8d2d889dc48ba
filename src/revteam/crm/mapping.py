"""Value mappings: a company's own stages, sources and types onto the canonical vocabularies.

Defaults cover HubSpot's and Salesforce's standard values. A workspace adds its own in
``revteam.toml`` (``stage_mapping`` for lifecycle stages and lead statuses, ``channel_mapping``
for sources) and, for what ``revteam.toml`` has no setting for yet (deal stages, deal types,
forecast categories, campaign-member statuses, teams), in ``crm.yaml`` beside it. Later sources
win: defaults, then ``crm.yaml``, then ``revteam.toml``. Keys compare on letters and digits
only, so ``Closed Won``, ``closedwon`` and ``CLOSED_WON`` are one key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from revteam.crm._private import norm_value
from revteam.exceptions import CrmConfigError
from revteam.ingest.mapping import ALIASES, ENCODINGS
from revteam.model import enums
from revteam.settings import Settings

System = Literal["hubspot", "salesforce"]
CRM_FILE = "crm.yaml"
LIFECYCLE_TARGETS = (*enums.LIFECYCLE_STAGES, "disqualified", "ignore")

_LIFECYCLE = {
    "subscriber": "lead", "lead": "lead", "marketingqualifiedlead": "mql", "mql": "mql",
    "salesqualifiedlead": "sql", "sql": "sql", "opportunity": "opportunity",
    "customer": "customer", "evangelist": "customer", "other": "ignore",
    # Salesforce standard lead statuses
    "opennotcontacted": "lead", "workingcontacted": "lead", "open": "lead", "working": "lead",
    "marketingqualified": "mql", "salesaccepted": "sql", "sal": "sql", "qualified": "sql",
    "closedconverted": "sql", "converted": "sql", "closednotconverted": "disqualified",
    "unqualified": "disqualified", "disqualified": "disqualified", "nurture": "ignore",
}  # fmt: skip
_HUBSPOT_DEAL_STAGES = {
    "appointmentscheduled": "qualification", "qualifiedtobuy": "discovery",
    "presentationscheduled": "proposal", "decisionmakerboughtin": "negotiation",
    "contractsent": "negotiation", "closedwon": "closed_won", "closedlost": "closed_lost",
}  # fmt: skip
_SALESFORCE_DEAL_STAGES = {
    "prospecting": "qualification", "qualification": "qualification",
    "needsanalysis": "discovery", "valueproposition": "discovery",
    "iddecisionmakers": "discovery", "perceptionanalysis": "proposal",
    "proposalpricequote": "proposal", "negotiationreview": "negotiation",
    "closedwon": "closed_won", "closedlost": "closed_lost",
}  # fmt: skip
_SALESFORCE_FORECAST_CATEGORIES = {
    # ForecastCategoryName (what reports show) and ForecastCategory, its API value: the same
    # categories, "Commit" being "Forecast" in the API. "Most Likely" (MostLikely), which an
    # admin can add, has no canonical equivalent and is refused until mapped in crm.yaml.
    "pipeline": "pipeline", "bestcase": "best_case", "commit": "commit", "forecast": "commit",
    "closed": "closed", "omitted": "omitted",
}  # fmt: skip
_HUBSPOT_FORECAST_CATEGORIES = {
    # hs_manual_forecast_category values, then their labels ("Forecast category" in exports)
    "pipeline": "pipeline", "bestcase": "best_case", "commit": "commit", "closed": "closed",
    "omit": "omitted", "closedwon": "closed", "notforecasted": "omitted",
}  # fmt: skip
_CHANNELS = {
    # HubSpot original (traffic) source, labels and internal values
    "organicsearch": "organic_search", "paidsearch": "paid_search", "emailmarketing": "email",
    "socialmedia": "organic_social", "organicsocial": "organic_social",
    "paidsocial": "paid_social", "referrals": "referral", "othercampaigns": "other",
    "directtraffic": "direct", "offlinesources": "other", "offline": "other",
    "aireferrals": "referral",
    # Salesforce standard lead sources
    "web": "direct", "phoneinquiry": "direct", "partnerreferral": "partner",
    "purchasedlist": "outbound", "other": "other", "advertisement": "paid_search",
    "employeereferral": "referral", "externalreferral": "referral", "tradeshow": "events",
    "wordofmouth": "referral", "webinar": "webinar", "seminarinternal": "events",
    "seminarpartner": "partner", "publicrelations": "other", "email": "email",
    "coldcall": "outbound", "outbound": "outbound", "googleadwords": "paid_search",
    "googleads": "paid_search", "content": "content", "seo": "organic_search",
    "event": "events", "conference": "events", "partners": "partner",
    "referralprogram": "referral", "directmail": "outbound", "telemarketing": "outbound",
}  # fmt: skip
_DEAL_TYPES = {
    "newbusiness": "new_business", "newcustomer": "new_business", "new": "new_business",
    "existingbusiness": "upsell", "existingcustomerupgrade": "upsell", "upsell": "upsell",
    "expansion": "upsell", "crosssell": "upsell", "existingcustomerreplacement": "renewal",
    "existingcustomerdowngrade": "renewal", "renewal": "renewal",
}  # fmt: skip
_MEMBER_STATUSES = {
    "sent": "campaign_member", "responded": "campaign_member", "registered":
    "webinar_registration", "attended": "webinar_attended", "clicked": "email_click",
    "opened": "campaign_member", "downloaded": "content_download", "submittedform":
    "form_submit", "formsubmitted": "form_submit", "visited": "web_visit",
}  # fmt: skip
_CAMPAIGN_TYPES = {
    "advertisement": "ads", "bannerads": "ads", "conference": "event", "directmail": "outbound",
    "partners": "partner", "publicrelations": "other", "referralprogram": "referral",
    "seminarconference": "event", "telemarketing": "outbound", "tradeshow": "event",
    "events": "event", "webinars": "webinar",
}  # fmt: skip
_ACTIVITY_TYPES = {
    "call": "call", "calls": "call", "email": "email", "listemail": "email",
    "incomingemail": "email", "forwardedemail": "email", "meeting": "meeting",
    "event": "meeting", "meetings": "meeting",
}  # fmt: skip
_EMAIL_EVENTS = {
    "sent": "sent", "delivered": "delivered", "open": "open", "click": "click",
    "bounce": "bounce", "unsubscribe": "unsubscribe", "unsubscribed": "unsubscribe",
}  # fmt: skip
_TEAMS = {
    "sales": "sales", "marketing": "marketing", "leadership": "leadership",
    "executive": "leadership", "management": "leadership", "revops": "revops",
    "revenueoperations": "revops", "salesoperations": "revops", "operations": "revops",
    "customersuccess": "customer_success", "accountmanagement": "customer_success",
    "support": "customer_success",
}  # fmt: skip


class CrmMapping(BaseModel):
    """Every value map a CRM translation applies; keys normalised, values canonical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lifecycle_stages: dict[str, str] = Field(
        default_factory=dict,
        description="Lifecycle stages and lead statuses → lead, mql, sql, opportunity, "
        "customer, disqualified or ignore.",
    )
    deal_stages: dict[str, str] = Field(
        default_factory=dict, description="Deal / opportunity stages → canonical stages."
    )
    channels: dict[str, str] = Field(
        default_factory=dict, description="Original sources / lead sources → channels."
    )
    deal_types: dict[str, str] = Field(default_factory=dict, description="Deal types.")
    forecast_categories: dict[str, str] = Field(
        default_factory=dict,
        description="Forecast categories of deals → pipeline, best_case, commit, closed or "
        "omitted.",
    )
    campaign_types: dict[str, str] = Field(
        default_factory=dict, description="Campaign types → canonical campaign types."
    )
    member_statuses: dict[str, str] = Field(
        default_factory=dict, description="Campaign-member statuses → touchpoint types."
    )
    activity_types: dict[str, str] = Field(
        default_factory=dict, description="Task / engagement types → call, email, meeting."
    )
    email_events: dict[str, str] = Field(
        default_factory=dict, description="E-mail event types → canonical event types."
    )
    teams: dict[str, str] = Field(default_factory=dict, description="Team names → teams.")
    default_team: str = Field("sales", description="Team of owners whose team is unknown.")
    date_order: Literal["mdy", "dmy"] | None = Field(
        None,
        description="How to read dates like 03/04/2025: mdy (US exports) or dmy. Unset, dates "
        "are read month-first, and a file with a date that can only be day-first (13/01/2025) "
        "is refused as a whole rather than read half one way, half the other.",
    )
    decimal: Literal[".", ","] | None = Field(
        None,
        description="Decimal mark of the exports' numbers (German or French Salesforce: ','). "
        "Unset, the mark the files' own numbers show; a number that reads both ways (1.500) is "
        "refused until it is declared.",
    )
    encoding: str = Field(
        "utf-8",
        description="Text encoding of CSV and JSON exports: utf-8, windows-1252 (cp1252: CSV "
        "saved by Excel on Windows), latin-1 or utf-16.",
    )

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        """One name per encoding (``cp1252`` is ``windows-1252``), and only those ingest reads."""
        name = value.strip().lower().replace("_", "-")
        name = ALIASES.get(name, name)
        if name not in ENCODINGS:
            raise ValueError(
                f"{value!r} is not supported; use one of {', '.join(ENCODINGS)} (or cp1252)"
            )
        return name

    def with_encoding(self, encoding: str | None) -> CrmMapping:
        """The same maps, reading files in ``encoding`` (``--encoding``; ``None`` keeps it)."""
        if encoding is None:
            return self
        try:
            return CrmMapping(**{**self.model_dump(), "encoding": encoding})
        except ValidationError as exc:
            raise CrmConfigError(
                "--encoding", [e["msg"].removeprefix("Value error, ") for e in exc.errors()]
            ) from None

    def normalised(self) -> CrmMapping:
        data = self.model_dump()
        for name, value in data.items():
            if isinstance(value, dict):
                data[name] = {norm_value(k): v for k, v in value.items()}
        return CrmMapping(**data)

    def over(self, other: CrmMapping) -> CrmMapping:
        """Entries of ``self`` on top of those of ``other`` (what ``self`` leaves unset, theirs)."""
        mine, theirs = self.normalised().model_dump(), other.normalised().model_dump()
        merged = {
            k: {**theirs[k], **v} if isinstance(v, dict) else theirs[k] if v is None else v
            for k, v in mine.items()
        }
        return CrmMapping(**merged)


_ALLOWED: dict[str, tuple[str, ...]] = {
    "lifecycle_stages": LIFECYCLE_TARGETS,
    "deal_stages": enums.OPPORTUNITY_STAGES,
    "channels": enums.CHANNELS,
    "deal_types": enums.OPPORTUNITY_TYPES,
    "forecast_categories": enums.FORECAST_CATEGORIES,
    "campaign_types": enums.CAMPAIGN_TYPES,
    "member_statuses": enums.TOUCHPOINT_TYPES,
    "activity_types": enums.ACTIVITY_TYPES,
    "email_events": enums.EMAIL_EVENT_TYPES,
    "teams": enums.TEAMS,
}


def _with_canonical(values: dict[str, str], allowed: tuple[str, ...]) -> dict[str, str]:
    """Canonical values map onto themselves (``Paid Social`` → ``paid_social``)."""
    return {norm_value(a): a for a in allowed} | values


def default_mapping(system: System) -> CrmMapping:
    hubspot = system == "hubspot"
    stages = _HUBSPOT_DEAL_STAGES if hubspot else _SALESFORCE_DEAL_STAGES
    forecast = _HUBSPOT_FORECAST_CATEGORIES if hubspot else _SALESFORCE_FORECAST_CATEGORIES
    raw: dict[str, Any] = {
        "lifecycle_stages": _LIFECYCLE,
        "deal_stages": stages,
        "channels": _CHANNELS,
        "deal_types": _DEAL_TYPES,
        "forecast_categories": forecast,
        "campaign_types": _CAMPAIGN_TYPES,
        "member_statuses": _MEMBER_STATUSES,
        "activity_types": _ACTIVITY_TYPES,
        "email_events": _EMAIL_EVENTS,
        "teams": _TEAMS,
    }
    return CrmMapping(**{k: _with_canonical(v, _ALLOWED[k]) for k, v in raw.items()})


def read_crm_file(path: Path) -> CrmMapping:
    """Read ``crm.yaml``; every problem is reported at once."""
    if not path.is_file():
        return CrmMapping()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CrmConfigError(path, [f"not valid YAML: {exc}"]) from None
    if not isinstance(raw, dict):
        raise CrmConfigError(path, ["the file must be a YAML mapping (key: value)"])
    try:
        mapping = CrmMapping(**raw)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise CrmConfigError(path, problems) from None
    problems = [
        f"{field}: {key!r} → {value!r} is not one of {', '.join(allowed)}"
        for field, allowed in _ALLOWED.items()
        for key, value in getattr(mapping, field).items()
        if value not in allowed
    ]
    if mapping.default_team not in enums.TEAMS:
        problems.append(f"default_team: {mapping.default_team!r} is not a team")
    if problems:
        raise CrmConfigError(path, problems)
    return mapping


def workspace_mapping(system: System, root: Path | None, settings: Settings | None) -> CrmMapping:
    """Defaults, then ``crm.yaml``, then the workspace settings' stage and channel mappings."""
    mapping = default_mapping(system)
    if root is not None:
        mapping = read_crm_file(root / CRM_FILE).over(mapping)
    if settings is not None:
        deal_stages: dict[str, str] = getattr(settings, "deal_stage_mapping", {}) or {}
        mapping = CrmMapping(
            lifecycle_stages=dict(settings.stage_mapping),
            channels=dict(settings.channel_mapping),
            deal_stages=dict(deal_stages),
            default_team=mapping.default_team,
            date_order=mapping.date_order,
            encoding=mapping.encoding,
        ).over(mapping)
    return mapping.normalised()


@dataclass(frozen=True)
class UnmappedValue:
    """A source value that no mapping turns into a canonical one, and what happens to it."""

    system: str
    object: str
    field: str
    value: str
    rows: int
    outcome: str
    """What translation did with it, e.g. "refused (quarantine)" or "loaded as other"."""
    setting: str
    """Where to map it, e.g. ``channel_mapping in revteam.toml``."""


SETTING_OF = {
    "lifecycle_stages": "stage_mapping in revteam.toml",
    "channels": "channel_mapping in revteam.toml",
    "deal_stages": f"deal_stages in {CRM_FILE}",
    "deal_types": f"deal_types in {CRM_FILE}",
    "forecast_categories": f"forecast_categories in {CRM_FILE}",
    "campaign_types": f"campaign_types in {CRM_FILE}",
    "member_statuses": f"member_statuses in {CRM_FILE}",
    "activity_types": f"activity_types in {CRM_FILE}",
    "email_events": f"email_events in {CRM_FILE}",
    "teams": f"teams in {CRM_FILE}",
}
"""Where a user maps each kind of value."""
