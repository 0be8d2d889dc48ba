"""The dashboards: the shared scorecard (Overview) and the Marketing and Sales pages."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from revteam.exceptions import UnsupportedDimensionError
from revteam.goals.component import pacer_for
from revteam.metrics.pages import TEAM_EXTRA, TEAMS
from revteam.web.deps import FiltersDep, PrincipalDep
from revteam.web.filters import ViewFilters
from revteam.web.pages.render import Page, render_view
from revteam.web.runtime import Runtime
from revteam.web.views import scorecard
from revteam.web.views.detail import detail
from revteam.web.views.funnel import funnel

if TYPE_CHECKING:
    from revteam.workspace import Workspace

router = APIRouter(include_in_schema=False)

TEAM_TITLES = TEAMS


def overview_sections(page: Page, filters: ViewFilters) -> list[tuple[str, list[scorecard.Tile]]]:
    """The agreed shared scorecard (the catalogue's ``scorecard``), section by section."""
    sections, owner = page.read(("scorecard",), _scorecard)
    ids = [m for _, members in sections for m in members]
    as_of = page.as_of().date()
    tiles = page.read(
        ("tiles", "shared", filters), lambda ws: scorecard.tiles(ws, ids, filters, as_of)
    )
    tiles = with_goals(page, tiles, filters)
    by_id = {t.metric: replace(t, owners=owner[t.metric]) for t in tiles}
    out = []
    for title, members in sections:
        chosen = [by_id[m] for m in members if m in by_id]
        if chosen:
            out.append((title, chosen))
    return out


def _scorecard(
    ws: Workspace,
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], dict[str, str]]:
    """The agreed scorecard's sections and the team answering for each of its metrics."""
    catalogue = ws.metrics.catalogue
    sections = catalogue.scorecard_sections()
    return sections, {m: catalogue.scorecard_owner(m) for _, ids in sections for m in ids}


def with_goals(
    page: Page, tiles: list[scorecard.Tile], filters: ViewFilters
) -> list[scorecard.Tile]:
    """Each tile with the goal of its metric for the running period, paced.

    The goal's segment must be the view's: one value per filtered dimension (no filter: the
    goal for the whole company). Pacing is cached with the data and goal versions.
    """
    runtime = page.runtime
    as_of = page.as_of().date()
    where = filters.where_dict()
    if any(len(v) != 1 for v in where.values()):
        return tiles
    segment = tuple(sorted((d, v[0]) for d, v in where.items()))
    metrics = {t.metric for t in tiles}
    chosen = [
        g
        for g in runtime.goals.list()
        if g.metric in metrics and g.segment == segment and g.start <= as_of < g.end
    ]
    if not chosen:
        return tiles
    key = ("goal-pacing", tuple((g.id, g.version) for g in chosen), as_of)
    settings = runtime.settings
    paced = page.read(
        key, lambda ws: pacer_for(ws.metrics, ws.stats, settings).pace(chosen, as_of=as_of)
    )
    slots = {
        p.goal.metric: scorecard.GoalSlot(
            p.goal.id,
            p.goal.period,
            p.goal.target,
            p.status,
            p.probability,
            p.projected,
            p.projected_low,
            p.projected_high,
        )
        for p in paced
    }
    return [replace(t, goal=slots.get(t.metric)) for t in tiles]


def movers(
    sections: list[tuple[str, list[scorecard.Tile]]], limit: int = 4
) -> list[scorecard.Tile]:
    """The tiles whose headline moved most against the period before (relative change)."""
    moved = [
        t
        for _, tiles in sections
        for t in tiles
        if t.value is not None and t.previous not in (None, 0) and t.change
    ]
    return sorted(moved, key=lambda t: -abs((t.value or 0) / (t.previous or 1) - 1))[:limit]


def warm(runtime: Runtime) -> None:
    page = Page(runtime)
    overview_sections(page, ViewFilters())
    as_of = page.as_of()
    page.read(("funnel", ViewFilters()), lambda ws: funnel(ws, ViewFilters(), as_of))


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, principal: PrincipalDep, filters: FiltersDep) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        sections = overview_sections(page, filters)
        as_of = page.as_of()
        plain = filters.with_(by=None)
        try:
            flow = page.read(("funnel", plain), lambda ws: funnel(ws, plain, as_of))
        except UnsupportedDimensionError:
            flow = None  # leads cannot be filtered that way; the tiles say which metrics can
        return {"sections": sections, "funnel": flow, "as_of": as_of, "movers": movers(sections)}

    return render_view(
        request,
        "overview.html",
        principal,
        build=build,
        title="Shared scorecard",
        nav="overview",
        filters=filters,
    )


def _team(
    request: Request, principal: PrincipalDep, filters: ViewFilters, team: str, metric: str | None
) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        extra = TEAM_EXTRA.get(team, ())
        ids = page.read(
            ("team-ids", team),
            lambda ws: [
                *(s.id for s in ws.metrics.list(owners=team)),
                *(m for m in extra if m in ws.metrics.catalogue),
            ],
        )
        as_of = page.as_of().date()
        plain = filters.with_(by=None)
        tiles = page.read(("tiles", team, plain), lambda ws: scorecard.tiles(ws, ids, plain, as_of))
        tiles = with_goals(page, tiles, plain)
        chosen = str(metric if metric in ids else ids[0])
        focus = page.read(
            ("detail", chosen, filters), lambda ws: detail(ws, chosen, filters, as_of)
        )
        return {
            "team": team,
            "title": TEAM_TITLES[team],
            "tiles": tiles,
            "focus": focus,
            "as_of": page.as_of(),
        }

    return render_view(
        request,
        "team.html",
        principal,
        build=build,
        title=TEAM_TITLES[team],
        nav=team,
        filters=filters,
    )


MetricParam = Annotated[str | None, Query(max_length=64)]


@router.get("/marketing", response_class=HTMLResponse)
def marketing(
    request: Request, principal: PrincipalDep, filters: FiltersDep, metric: MetricParam = None
) -> HTMLResponse:
    return _team(request, principal, filters, "marketing", metric)


@router.get("/sales", response_class=HTMLResponse)
def sales(
    request: Request, principal: PrincipalDep, filters: FiltersDep, metric: MetricParam = None
) -> HTMLResponse:
    return _team(request, principal, filters, "sales", metric)
