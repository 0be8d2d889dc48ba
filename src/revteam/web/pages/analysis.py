"""The Funnel, Campaigns and Metric catalogue pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse

from revteam.web.deps import FiltersDep, PrincipalDep
from revteam.web.pages.definitions import history_context
from revteam.web.pages.render import Page, render_view
from revteam.web.views import charts
from revteam.web.views.campaigns import campaign_table, sort_rows
from revteam.web.views.funnel import Funnel, funnel

router = APIRouter(include_in_schema=False)


@router.get("/funnel", response_class=HTMLResponse)
def funnel_page(request: Request, principal: PrincipalDep, filters: FiltersDep) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        as_of = page.as_of()
        flow = page.read(("funnel", filters), lambda ws: funnel(ws, filters, as_of))
        dims = page.read(("people-dims",), lambda ws: ws.metrics.dimensions("leads"))
        return {
            "flow": flow,
            "chart": funnel_chart(flow),
            "dims": dims,
            "as_of": as_of,
        }

    return render_view(
        request,
        "funnel.html",
        principal,
        build=build,
        title="Funnel",
        nav="funnel",
        filters=filters,
    )


def funnel_chart(flow: Funnel) -> dict[str, Any]:
    total = flow.total
    bars = []
    for i, stage in enumerate(flow.stages):
        count = total.counts[i].value or 0.0
        rate = total.conversions[i].value
        step = f"  ·  {rate:.1%} converted in" if rate is not None else ""
        bars.append(
            {
                "stage": stage.label,
                "count": count,
                "owner": stage.owners.capitalize(),
                "text": f"{count:,.0f}{step}",
            }
        )
    return charts.funnel(bars)


SortParam = Annotated[str, Query(max_length=64)]


@router.get("/campaigns", response_class=HTMLResponse)
def campaigns_page(
    request: Request,
    principal: PrincipalDep,
    filters: FiltersDep,
    sort: SortParam = "revenue",
    dir: Annotated[str, Query(pattern="^(asc|desc)$")] = "desc",
) -> HTMLResponse:
    plain = filters.with_(by=None)

    def build(page: Page) -> dict[str, Any]:
        as_of = page.as_of()
        table = page.read(("campaigns", plain), lambda ws: campaign_table(ws, plain, as_of.date()))
        links = plain
        for dim in table.ignored:  # the table's numbers do not apply them; nor do its links
            links = links.without(dim)
        return {
            "table": table,
            "links": links,
            "rows": sort_rows(table, sort, dir == "desc"),
            "sort": sort,
            "dir": dir,
            "as_of": as_of,
        }

    return render_view(
        request,
        "campaigns.html",
        principal,
        build=build,
        title="Campaigns",
        nav="campaigns",
        filters=plain,
    )


@router.get("/catalogue", response_class=HTMLResponse)
def catalogue(request: Request, principal: PrincipalDep) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        specs = page.read(
            ("catalogue",), lambda ws: [(s, ws.metrics.dimensions(s.id)) for s in ws.metrics.list()]
        )
        groups = [
            (o, [(s, d) for s, d in specs if s.owners == o])
            for o in ("shared", "marketing", "sales")
        ]
        return {"groups": groups, "count": len(specs)}

    return render_view(
        request, "catalogue.html", principal, build=build, title="Metric catalogue", nav="catalogue"
    )


@router.get("/catalogue/{metric}", response_class=HTMLResponse)
def metric_page(
    request: Request, principal: PrincipalDep, metric: Annotated[str, Path(max_length=64)]
) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        spec, dims, sql = page.read(
            ("metric", metric),
            lambda ws: (
                ws.metrics.get(metric),
                ws.metrics.dimensions(metric),
                ws.metrics.sql(metric),
            ),
        )
        used_by = page.read(
            ("used-by", metric),
            lambda ws: [s for s in ws.metrics.list() if metric in s.references()],
        )
        return {
            "spec": spec,
            "dims": dims,
            "sql": sql,
            "used_by": used_by,
            "can_edit": principal.can("editor"),
            **history_context(page.runtime, metric),
        }

    return render_view(
        request, "metric.html", principal, build=build, title=metric, nav="catalogue"
    )
