"""Rendering pages: the context every template gets, and the template filters.

Every page shows the data's as-of date and version, and says so when it is showing the last
numbers computed while a load holds the warehouse.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Hashable
from typing import Any, TypeVar
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup

from revteam.metrics import periods as P
from revteam.metrics.dimensions import VALUES
from revteam.metrics.request import check_span
from revteam.web import format
from revteam.web.assets import static_url, vega_url
from revteam.web.deps import Principal
from revteam.web.filters import FILTER_DIMENSIONS, PRESETS, ViewFilters
from revteam.web.runtime import Cached, Runtime
from revteam.web.views.charts import OWNER_COLORS, sparkline
from revteam.workspace import Workspace

T = TypeVar("T")
OWNER_LABELS = {"sales": "Sales", "marketing": "Marketing", "shared": "Sales + Marketing"}
NAV: tuple[tuple[str, str, str], ...] = (
    ("overview", "/", "Overview"),
    ("funnel", "/funnel", "Funnel"),
    ("marketing", "/marketing", "Marketing"),
    ("sales", "/sales", "Sales"),
    ("campaigns", "/campaigns", "Campaigns"),
    ("attribution", "/attribution", "Attribution"),
    ("customer-value", "/customer-value", "Customer value"),
    ("lead-scoring", "/lead-scoring", "Lead scoring"),
    ("accounts", "/accounts", "Accounts"),
    ("goals", "/goals", "Goals"),
    ("sla", "/sla", "SLA"),
    ("forecast", "/forecast", "Forecast"),
    ("review", "/review", "Review"),
    ("incentives", "/incentives", "Incentives"),
    ("alerts", "/alerts", "Alerts"),
    ("catalogue", "/catalogue", "Metrics"),
)
ADMIN_NAV: tuple[tuple[str, str, str], ...] = (
    ("data", "/data", "Data"),
    ("users", "/admin/users", "Users"),
)


class Page:
    """Collects what one page read from the warehouse, to show freshness in the header."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.reads: list[Cached[Any]] = []

    def read(self, key: Hashable, compute: Callable[[Workspace], T]) -> T:
        found: Cached[T] = self.runtime.read(key, compute)
        self.reads.append(found)
        return found.value

    def keep(self, found: Cached[T]) -> T:
        """Count a value read elsewhere (e.g. a fit, :meth:`Runtime.fitted`) in the freshness."""
        self.reads.append(found)
        return found.value

    def as_of(self) -> dt.datetime:
        value: dt.datetime = self.read(("as_of",), lambda ws: ws.metrics.as_of())
        return value

    @property
    def stale(self) -> bool:
        return any(r.stale for r in self.reads)

    @property
    def data_version(self) -> int | None:
        return max((r.data_version for r in self.reads), default=None)


def check_range(page: Page, filters: ViewFilters) -> None:
    """Refuse a chosen range of more than ``limits.max_periods`` before reading any data.

    The range ends at the data's as-of day (cached per data version), as the page's queries
    do, so the limit is the metric layer's, only said sooner: a busy warehouse never turns
    this 400 into a 503.
    """
    settings = page.runtime.settings
    fy = settings.fiscal_year_start_month
    first, last = filters.range(page.as_of().date(), fy)
    if first is not None and first <= last:
        grain = filters.grain
        span = (P.floor(first, grain, fy), P.floor(last, grain, fy))
        check_span(*span, grain, maximum=settings.limits.max_periods)


def render_view(
    request: Request,
    template: str,
    principal: Principal,
    *,
    build: Callable[[Page], dict[str, Any]],
    title: str,
    nav: str = "",
    filters: ViewFilters | None = None,
    revision: Hashable = None,
) -> HTMLResponse:
    """A read-only view whose body is rendered once per URL and data version, then cached.

    ``revision``: what else the body shows that changes without the data (an agreement in the
    application database): a new value renders it afresh.

    ``build(page)`` reads what the template needs; it only runs when the cache misses. Each
    request then only renders the per-user frame (``shell.html``) around the cached body, so a
    warm dashboard costs a sign-in check and a few hundred microseconds of templating.
    """
    runtime: Runtime = request.app.state.runtime
    templates: Jinja2Templates = request.app.state.templates
    page = Page(runtime)
    if filters is not None and filters.start is not None:
        check_range(page, filters)

    def body(_: Workspace) -> str:
        inner = Page(runtime)
        context = build(inner)
        base = _base(runtime, None, nav, inner, filters)
        html: str = templates.get_template(template).render(
            {**base, "request": request, "content_only": True, **context}
        )
        return html

    # A page body may show goals (the tiles' target slots): a goal edit renders it afresh.
    goals = runtime.goals.store.revision()
    key = ("html", template, request.url.path, request.url.query, goals, revision)
    html = page.read(key, body)
    return render(
        request,
        "shell.html",
        principal,
        nav=nav,
        page=page,
        filters=filters,
        title=title,
        main_html=Markup(html),  # noqa: S704 (our own autoescaped template output)
        charts="data-chart=" in html,
    )


def _base(
    runtime: Runtime,
    principal: Principal | None,
    nav: str,
    page: Page | None,
    filters: ViewFilters | None,
) -> dict[str, Any]:
    admin = principal is not None and principal.can("admin")
    return {
        "principal": principal,
        "user": principal.user if principal else None,
        "csrf": principal.csrf if principal else "",
        "nav": nav,
        "nav_items": NAV + (ADMIN_NAV if admin else ()),
        "is_admin": admin,
        "currency": runtime.settings.currency,
        "filters": filters,
        "presets": PRESETS,
        "page": page,
        "stale": page.stale if page else False,
        "data_version": page.data_version if page else None,
    }


def chart_json(spec: dict[str, Any]) -> Markup:
    """A chart spec for a ``<script type="application/json">`` block (safe inside HTML)."""
    text = json.dumps(spec, separators=(",", ":"), default=str)
    safe = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(safe)  # noqa: S704 (no <, > or & left to break out of the script block)


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    nav: str = "",
    page: Page | None = None,
    filters: ViewFilters | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    templates: Jinja2Templates = request.app.state.templates
    base = _base(runtime, principal, nav, page, filters)
    response: HTMLResponse = templates.TemplateResponse(
        request, template, base | context, status_code=status_code
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def records_url(
    metric: str,
    filters: ViewFilters | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    part: str | None = None,
    csv: bool = False,
    grain: str | None = None,
    **where: str | None,
) -> str:
    """Link to the records behind a number: the view's filters plus the number's own."""
    params: list[tuple[str, str]] = [("metric", metric)]
    params += [(k, v.isoformat()) for k, v in (("start", start), ("end", end)) if v]
    grain = grain or (filters.grain if filters else None)
    if grain and grain != "month":
        params.append(("grain", grain))
    chosen = filters.where_dict() if filters else {}
    for dim, value in where.items():
        if value is not None:
            chosen[dim] = [value]
    params += [(d, v) for d, values in chosen.items() for v in values]
    if part and part != "auto":
        params.append(("part", part))
    return ("/records.csv?" if csv else "/records?") + urlencode(params)


def period_name(label: str) -> str:
    """``2026-10`` → ``Oct 2026``; other labels (weeks, quarters, days) as they are."""
    if len(label) == 7 and label[4] == "-" and label[:4].isdigit() and label[5:].isdigit():
        return dt.date(int(label[:4]), int(label[5:]), 1).strftime("%b %Y")
    return label


FILTER_CHOICES: tuple[tuple[str, tuple[str, ...] | None], ...] = tuple(
    (d, VALUES.get(d)) for d in FILTER_DIMENSIONS
)
"""Every filterable dimension, with its vocabulary where it has a fixed one."""


def install_filters(templates: Jinja2Templates) -> None:
    env = templates.env
    env.filters["fmt"] = format.display
    env.filters["num"] = format.number
    env.filters["day"] = format.day
    env.filters["dateonly"] = format.dateonly
    env.filters["ago"] = format.ago
    env.filters["chart"] = chart_json
    env.globals["static_url"] = static_url
    env.globals["vega_url"] = vega_url
    env.globals["owner_color"] = lambda owners: OWNER_COLORS.get(owners, "#334155")
    env.globals["owner_label"] = lambda owners: OWNER_LABELS.get(owners, owners)
    env.globals["sparkline"] = sparkline
    env.globals["change"] = format.change
    env.globals["records_url"] = records_url
    env.globals["filter_choices"] = FILTER_CHOICES
    env.filters["period_name"] = period_name
