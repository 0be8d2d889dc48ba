"""The planted business parameters of the synthetic company, in one place.

The samplers (``funnel``, ``deals``, ``engagement`` …) draw from these and ``truth`` derives the
expected KPI values from the same numbers, so a KPI computed on the generated tables can be
checked against what was planted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from revteam.model import enums

COMPANY_NAME = "Lumora"
COMPANY_DOMAIN = "lumora.io"

CONVERSIONS: tuple[str, ...] = ("mql", "sql", "opportunity", "won")
"""Funnel steps: lead→MQL, MQL→SQL, SQL→opportunity, opportunity→won."""

# channel: (share of leads, P(MQL | lead), P(SQL | MQL), P(opportunity | SQL), P(won | opportunity))
CHANNELS: dict[str, tuple[float, float, float, float, float]] = {
    "paid_search": (0.16, 0.30, 0.45, 0.55, 0.22),
    "paid_social": (0.14, 0.22, 0.46, 0.50, 0.18),
    "organic_search": (0.14, 0.28, 0.50, 0.55, 0.24),
    "organic_social": (0.05, 0.18, 0.38, 0.50, 0.18),
    "email": (0.06, 0.25, 0.40, 0.50, 0.20),
    "events": (0.06, 0.35, 0.50, 0.60, 0.25),
    "webinar": (0.07, 0.38, 0.40, 0.55, 0.22),
    "content": (0.08, 0.20, 0.35, 0.45, 0.18),
    "referral": (0.05, 0.45, 0.52, 0.65, 0.32),
    "partner": (0.04, 0.40, 0.55, 0.60, 0.28),
    "direct": (0.06, 0.35, 0.50, 0.55, 0.25),
    "outbound": (0.07, 0.40, 0.40, 0.50, 0.20),
    "other": (0.02, 0.15, 0.30, 0.40, 0.15),
}
assert tuple(CHANNELS) == enums.CHANNELS

# persona: (share of leads, factor on each of CONVERSIONS)
PERSONAS: dict[str, tuple[float, tuple[float, float, float, float]]] = {
    "executive": (0.10, (1.10, 1.30, 1.20, 1.10)),
    "manager": (0.25, (1.15, 1.15, 1.10, 1.05)),
    "practitioner": (0.30, (1.00, 0.95, 1.00, 1.00)),
    "technical": (0.25, (0.90, 0.85, 0.90, 0.95)),
    "other": (0.10, (0.60, 0.50, 0.70, 0.80)),
}
assert tuple(PERSONAS) == enums.PERSONAS

SEGMENT_FACTORS: dict[str, tuple[float, float, float, float]] = {
    "smb": (1.10, 1.00, 1.00, 1.15),
    "mid_market": (1.00, 1.05, 1.05, 1.00),
    "enterprise": (0.85, 1.10, 1.15, 0.75),
}
assert tuple(SEGMENT_FACTORS) == enums.SEGMENTS

ACCOUNT_SEGMENT_SHARE = (0.62, 0.28, 0.10)
"""Share of accounts per segment; leads are spread more thickly over the larger companies."""
DEFAULT_LEAD_SEGMENT_MIX = (0.55, 0.32, 0.13)
LEAD_SEGMENT_MIX: dict[str, tuple[float, float, float]] = {
    "events": (0.35, 0.40, 0.25),
    "partner": (0.40, 0.40, 0.20),
    "outbound": (0.25, 0.40, 0.35),
    "paid_social": (0.60, 0.30, 0.10),
}
"""Segment of a lead's account by channel (default ``DEFAULT_LEAD_SEGMENT_MIX``)."""

REGION_SHARE = (0.50, 0.30, 0.15, 0.05)
assert len(REGION_SHARE) == len(enums.REGIONS)
COUNTRIES: dict[str, tuple[tuple[str, float], ...]] = {
    "north_america": (("US", 0.86), ("CA", 0.14)),
    "emea": (("GB", 0.3), ("DE", 0.25), ("FR", 0.15), ("NL", 0.12), ("SE", 0.08), ("ES", 0.1)),
    "apac": (("AU", 0.35), ("SG", 0.2), ("JP", 0.25), ("IN", 0.2)),
    "latam": (("BR", 0.55), ("MX", 0.45)),
}


@dataclass(frozen=True)
class Lag:
    """A delay of ``shift_days`` plus a log-normal(mu, sigma) number of days."""

    mu: float
    sigma: float
    shift_days: float = 0.0

    @property
    def median_days(self) -> float:
        return self.shift_days + math.exp(self.mu)

    def cdf(self, days: float) -> float:
        """Probability that the delay is at most ``days``."""
        if days <= self.shift_days:
            return 0.0
        z = (math.log(days - self.shift_days) - self.mu) / self.sigma
        return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))

    def as_dict(self) -> dict[str, float]:
        return {
            "shift_days": self.shift_days,
            "mu": self.mu,
            "sigma": self.sigma,
            "median_days": self.median_days,
        }


# Sales qualification and disqualification start after a 3-day floor, so the first sales
# activity (capped at SPEED_TO_LEAD_CAP_HOURS) always precedes them.
LAGS: dict[str, Lag] = {
    "mql": Lag(math.log(10.0), 1.2),
    "sql": Lag(math.log(6.0), 1.0, 3.0),
    "opportunity": Lag(math.log(10.0), 0.9, 1.0),
    "disqualified": Lag(math.log(10.0), 0.8, 3.0),
}
WINDOWS: dict[str, int] = {"mql": 90, "sql": 60, "opportunity": 90, "disqualified": 60}
"""Cohort windows of KPIS.md (days) for lead→MQL, MQL→SQL, SQL→opportunity, disqualification."""

CLOSE_LAGS: dict[str, dict[str, Lag]] = {
    "smb": {"won": Lag(math.log(25.0), 0.5), "lost": Lag(math.log(20.0), 0.6)},
    "mid_market": {"won": Lag(math.log(45.0), 0.5), "lost": Lag(math.log(35.0), 0.6)},
    "enterprise": {"won": Lag(math.log(90.0), 0.5), "lost": Lag(math.log(70.0), 0.6)},
}
"""Days from opportunity creation to close, by segment and outcome."""

DISQUALIFY_PROBABILITY = 0.7
"""Probability that an MQL who never reaches SQL is disqualified (others just go quiet)."""
DISQUALIFICATION_REASONS: dict[str, float] = {
    "no_budget": 0.25,
    "bad_fit": 0.22,
    "no_authority": 0.15,
    "competitor": 0.1,
    "unresponsive": 0.2,
    "student_or_job_seeker": 0.08,
}

DEAL_SIZE: dict[str, tuple[float, float]] = {
    "smb": (math.log(9_000.0), 0.55),
    "mid_market": (math.log(32_000.0), 0.50),
    "enterprise": (math.log(120_000.0), 0.60),
}
"""Annual contract value of a new deal: log-normal (mu, sigma) by segment."""
STAGE_PROBABILITY: dict[str, float] = {
    "qualification": 0.1,
    "discovery": 0.2,
    "proposal": 0.4,
    "negotiation": 0.6,
    "closed_won": 1.0,
    "closed_lost": 0.0,
}
STAGE_FORECAST_CATEGORY: dict[str, str] = {
    "qualification": "pipeline",
    "discovery": "pipeline",
    "proposal": "best_case",
    "negotiation": "commit",
    "closed_won": "closed",
    "closed_lost": "omitted",
}
"""The CRM forecast category each deal carries, from its current stage (as a CRM's stage
mapping sets it)."""
LOST_AT_STAGE = (0.35, 0.30, 0.20, 0.15)
"""Where lost deals stop: after qualification, discovery, proposal or negotiation."""
LOST_REASONS = ("price", "competitor", "no_decision", "timing", "missing_feature", "budget")
CHURN_REASONS = ("low_usage", "budget", "competitor", "price")

ANNUAL_CHURN: dict[str, float] = {"smb": 0.25, "mid_market": 0.15, "enterprise": 0.08}
"""Probability that a customer does not renew at each yearly renewal, by segment."""
RENEWAL_NOTICE_DAYS = 60
RENEWAL_UPLIFT = 0.05
UPSELL_RATE_PER_YEAR = 0.5
UPSELL_WIN_PROBABILITY = 0.55
UPSELL_SIZE = (math.log(0.3), 0.5)
"""Upsell amount as a log-normal multiple of the account's first contract value."""
UPSELL_CLOSE_LAG = Lag(math.log(30.0), 0.5)

BG_NBD = {"r": 0.8, "alpha": 20.0, "a": 0.8, "b": 4.0}
"""Add-on purchases (time in weeks): rate ~ Gamma(r, alpha), dropout after each ~ Beta(a, b)."""
GAMMA_GAMMA = {"p": 6.0, "q": 4.0, "gamma": 4_000.0}
"""Add-on order value ~ Gamma(p, nu) with nu ~ Gamma(q, gamma) per customer (Fader et al.)."""
ADD_ON_PRODUCTS = ("Extra seats", "Premium support", "Training", "Data connector", "API add-on")
PLAN_PRODUCTS = {"smb": "Starter plan", "mid_market": "Business plan", "enterprise": "Enterprise"}

# Sales team per region: (SDRs, AEs)
SALES_TEAM: dict[str, tuple[int, int]] = {
    "north_america": (4, 6),
    "emea": (3, 5),
    "apac": (2, 3),
    "latam": (1, 2),
}
SPEED_TO_LEAD_HOURS = (math.log(4.0), 1.0)
"""Log-normal (mu, sigma) of the SDRs' own median speed to lead in hours."""
SPEED_TO_LEAD_SIGMA = 1.0
SPEED_TO_LEAD_CAP_HOURS = 72.0
AE_SKILL_SIGMA = 0.25
"""Log-sd of the AEs' win-rate multipliers (clipped to [0.6, 1.6])."""

GROWTH_PER_YEAR = 0.6
WEEKDAY_FACTORS = (1.15, 1.2, 1.15, 1.1, 0.95, 0.35, 0.3)
YEARLY_AMPLITUDE = 0.12
YEARLY_PEAK_DAY = 75
HOLIDAY_DIP = 0.35
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 11, 11, 10, 10, 11, 10, 9, 7, 5, 4, 3, 2, 2, 1)


@dataclass(frozen=True)
class PlantedCampaign:
    """An always-on campaign that takes a fixed ``share`` of its channel's leads at all times."""

    channel: str
    share: float
    factors: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
    """Multipliers on the four ``CONVERSIONS`` for this campaign's leads."""
    change_factor: float = 1.0
    """Multiplier on P(SQL | MQL) for MQLs from the change month on (if changes are planted)."""


BEST_CAMPAIGN = PlantedCampaign("webinar", 0.30, factors=(1.3, 1.6, 1.0, 1.0))
"""The campaign with the highest true lead→SQL and sales qualification rates."""
PLANTED_CAMPAIGN = PlantedCampaign("paid_social", 0.35, change_factor=1.0 / 3.0)
"""The paid-social campaign whose sales qualification rate drops from the change month on."""
PLANTED_CHANGE_AT = 2.0 / 3.0
"""The change starts at this fraction of the span (month 16 of 24)."""


@dataclass(frozen=True)
class NurtureChannel:
    """Mid-journey touches of one channel and their planted effect on becoming an MQL."""

    touch_type: str
    reach: float
    """Share of the leads who do not become MQLs that get one such touch before deciding."""
    coefficient: float
    """Log odds ratio: the touch multiplies a lead's odds of becoming an MQL by its exp (and
    so, symmetrically, an MQL's odds of having had the touch)."""


NURTURE: dict[str, NurtureChannel] = {
    "webinar": NurtureChannel("webinar_attended", 0.20, 2.4),
    "content": NurtureChannel("content_download", 0.20, 1.9),
    "events": NurtureChannel("event", 0.20, 1.4),
    "paid_social": NurtureChannel("ad_click", 0.20, 0.0),
}
"""The channel effects planted in journeys (see ``nurture``), largest first. Every channel reaches
the same share of the leads who do not become MQLs, so only the effects set the channels apart;
retargeting ads (``paid_social``) are the control, everywhere in journeys and without effect."""

CAMPAIGN_CHANNELS: dict[str, tuple[str, str, float]] = {
    "paid_search": ("ads", "media", 250.0),
    "paid_social": ("ads", "media", 180.0),
    "email": ("email", "tools", 30.0),
    "events": ("event", "events", 500.0),
    "webinar": ("webinar", "content", 150.0),
    "content": ("content", "content", 120.0),
    "partner": ("partner", "agency", 300.0),
    "referral": ("referral", "other", 100.0),
    "outbound": ("outbound", "tools", 80.0),
    "organic_social": ("social", "content", 40.0),
}
"""Channels that run campaigns: (campaign type, cost category, target cost per lead)."""
FLIGHT_WEIGHTS: dict[str, float] = {
    "paid_search": 3,
    "paid_social": 3,
    "events": 3,
    "webinar": 3,
    "email": 2,
    "content": 2,
    "partner": 1,
    "organic_social": 1,
}
"""How the time-boxed flight campaigns are shared among channels."""
FLIGHT_DAYS: dict[str, tuple[int, int]] = {
    "paid_search": (30, 120),
    "paid_social": (21, 90),
    "events": (1, 3),
    "webinar": (1, 2),
    "email": (7, 30),
    "content": (60, 180),
    "partner": (60, 180),
    "organic_social": (14, 60),
}

SOURCES: dict[str, tuple[tuple[str, float], ...]] = {
    "paid_search": (("google", 0.8), ("bing", 0.2)),
    "paid_social": (("linkedin", 0.65), ("facebook", 0.2), ("twitter", 0.15)),
    "organic_search": (("google", 0.88), ("bing", 0.08), ("duckduckgo", 0.04)),
    "organic_social": (("linkedin", 0.6), ("twitter", 0.25), ("youtube", 0.15)),
    "email": (("newsletter", 0.6), ("nurture", 0.4)),
    "events": (("trade_show", 0.6), ("meetup", 0.4)),
    "webinar": (("webinar_platform", 1.0),),
    "content": (("ebook", 0.5), ("report", 0.3), ("blog", 0.2)),
    "referral": (("g2", 0.4), ("capterra", 0.25), ("customer_referral", 0.35)),
    "partner": (("partner_portal", 0.7), ("reseller", 0.3)),
    "direct": (("(direct)", 1.0),),
    "outbound": (("sdr_prospecting", 1.0),),
    "other": (("other", 1.0),),
}
"""``source_detail`` values by channel, with their shares."""
WEB_CONVERSION_RATE: dict[str, float] = {
    "paid_search": 0.03,
    "paid_social": 0.015,
    "organic_search": 0.02,
    "organic_social": 0.01,
    "email": 0.04,
    "webinar": 0.08,
    "content": 0.05,
    "referral": 0.06,
    "partner": 0.05,
    "direct": 0.025,
    "other": 0.01,
}
"""Channels tracked in web analytics, with sessions per lead; their leads are conversions."""
