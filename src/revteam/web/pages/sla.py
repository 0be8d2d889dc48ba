"""``/sla``: both sides of the Marketing↔Sales SLA, each with its owners and goals."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from revteam.web.deps import FiltersDep, PrincipalDep
from revteam.web.pages.dashboards import with_goals
from revteam.web.pages.render import Page, render_view
from revteam.web.views import scorecard
from revteam.web.views.sla import MARKETING_SIDE, REP_COLUMNS, SALES_SIDE, reps

router = APIRouter(include_in_schema=False)


@router.get("/sla", response_class=HTMLResponse)
def sla(request: Request, principal: PrincipalDep, filters: FiltersDep) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        as_of = page.as_of().date()
        plain = filters.with_(by=None)
        ids = (*MARKETING_SIDE, *SALES_SIDE)
        tiles = page.read(
            ("tiles", "sla", plain), lambda ws: scorecard.tiles(ws, ids, plain, as_of)
        )
        tiles = with_goals(page, tiles, plain)
        by_id = {t.metric: t for t in tiles}
        table = page.read(("sla-reps", plain), lambda ws: reps(ws, plain, as_of))
        specs = page.read(("sla-specs",), lambda ws: {m: ws.metrics.get(m) for m in REP_COLUMNS})
        return {
            "marketing": [by_id[m] for m in MARKETING_SIDE if m in by_id],
            "sales": [by_id[m] for m in SALES_SIDE if m in by_id],
            "table": table,
            "specs": specs,
            "columns": REP_COLUMNS,
            "as_of": page.as_of(),
        }

    return render_view(
        request,
        "sla.html",
        principal,
        build=build,
        title="Marketing↔Sales SLA",
        nav="sla",
        filters=filters,
    )
