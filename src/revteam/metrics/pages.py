"""Which pages show a catalogue metric: the "what uses it" of a proposal's impact preview.

The team dashboards show their team's metrics, the Overview and the review pack the agreed
scorecard, the Funnel page the catalogue's funnel; the other pages show metrics chosen by id,
listed here. The web pages (and the account page's KPIs in :mod:`revteam.timeline`) read
their lists from this module, so a preview and the pages cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from revteam.metrics.catalogue import Catalogue

TEAMS: Mapping[str, str] = MappingProxyType({"marketing": "Marketing", "sales": "Sales"})
"""The teams with a dashboard, and its title."""
TEAM_EXTRA: Mapping[str, tuple[str, ...]] = MappingProxyType({"sales": ("speed_to_lead_hours",)})
"""Shared metrics that KPIS.md also lists in a team's table: on that team's dashboard too."""
CAMPAIGN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("leads", "Leads"),
    ("mqls", "MQLs"),
    ("sales_qualification_rate", "SQR"),
    ("lead_conversion_rate", "Lead conv."),
    ("pipeline_created", "Pipeline"),
    ("revenue", "Revenue"),
    ("marketing_cost", "Cost"),
    ("cost_per_lead", "CPL"),
    ("cac", "CAC"),
    ("marketing_roi", "ROI"),
    ("attributed_revenue", "Attributed revenue"),
    ("attributed_roi", "Attributed ROI"),
)
"""The Campaigns page's columns: metric id and heading."""
SLA_MARKETING: tuple[str, ...] = ("mqls",)
"""What Marketing commits to on the SLA page: the volume of MQLs."""
SLA_SALES: tuple[str, ...] = (
    "mqls_worked_1h_rate",
    "mqls_worked_24h_rate",
    "speed_to_lead_hours",
    "mqls_not_worked",
)
"""What Sales commits to on the SLA page: working those MQLs fast."""
RETENTION: tuple[str, ...] = (
    "renewals_due",
    "logo_retention_rate",
    "churn_rate",
    "gross_revenue_retention",
    "net_revenue_retention",
)
"""The Customer value page's retention table."""
CLV_VALUE: tuple[str, ...] = ("clv_predicted", "clv_to_cac_predicted")
"""The Customer value page's predicted value per channel."""
ACCOUNT_KPIS: tuple[str, ...] = (
    "revenue",
    "opportunities_won",
    "win_rate",
    "open_pipeline",
    "time_to_revenue_days",
    "clv",
)
"""The KPIs at the top of an account's page, each filtered to the account."""
CHOSEN: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "Campaigns": tuple(m for m, _ in CAMPAIGN_COLUMNS),
        "Marketing↔Sales SLA": (*SLA_MARKETING, *SLA_SALES),
        "Customer value": (*CLV_VALUE, *RETENTION),
        "Account pages (KPIs)": ACCOUNT_KPIS,
    }
)
"""Page title → the metrics it shows by id."""


def pages_showing(catalogue: Catalogue, metric: str) -> list[str]:
    """The pages and documents that show ``metric`` (none for a metric not in ``catalogue``)."""
    if metric not in catalogue:
        return []
    owners = catalogue[metric].owners
    pages = [
        f"{title} dashboard"
        for team, title in TEAMS.items()
        if owners == team or metric in TEAM_EXTRA.get(team, ())
    ]
    if metric in catalogue.scorecard_metrics():
        pages += ["Overview (shared scorecard)", "Review pack (scorecard)"]
    if catalogue.funnel is not None and metric in catalogue.funnel.metrics:
        pages.append("Funnel")
    pages += [title for title, ids in CHOSEN.items() if metric in ids]
    return [*pages, f"Insights ({metric})"]
