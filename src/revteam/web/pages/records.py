"""Drill-down pages: the records behind a number, paged, and their CSV export."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from revteam.web.deps import FiltersDep, PrincipalDep, RuntimeDep
from revteam.web.filters import ViewFilters
from revteam.web.pages.render import Page, render_view
from revteam.web.runtime import Runtime
from revteam.web.views import records

if TYPE_CHECKING:
    import pyarrow as pa

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
MetricParam = Annotated[str, Query(min_length=1, max_length=64)]
PartParam = Annotated[Literal["auto", "numerator", "denominator"], Query()]


def request_for(
    page: Page, metric: str, filters: ViewFilters, part: records.Part
) -> records.RecordsRequest:
    """The filters' range resolved against the as-of date (explicit start/end win)."""
    as_of = page.as_of().date()
    start, end = filters.range(as_of, page.runtime.settings.fiscal_year_start_month)
    return records.RecordsRequest(metric, start, end, filters.where, part, filters.grain)


@router.get("/records", response_class=HTMLResponse)
def records_page(
    request: Request,
    principal: PrincipalDep,
    filters: FiltersDep,
    metric: MetricParam,
    part: PartParam = "auto",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        req = request_for(page, metric, filters, part)
        offset = (page_no - 1) * PAGE_SIZE
        total = page.read(("records-total", req), lambda ws: records.count(ws, req))
        found = page.read(
            ("records", req, offset),
            lambda ws: records.page(ws, req, limit=PAGE_SIZE, offset=offset, total=total),
        )
        spec = page.read(("spec", found.source), lambda ws: ws.metrics.get(found.source))
        pages = max(1, -(-found.total // PAGE_SIZE))
        return {
            "found": found,
            "spec": spec,
            "req": req,
            "part": part,
            "page_no": page_no,
            "pages": pages,
            "metric": metric,
        }

    return render_view(
        request,
        "records.html",
        principal,
        build=build,
        title="Records behind the number",
        filters=filters,
    )


_FORMULA = re.compile(r"^[=+\-@\t\r]")


def defuse(table: pa.Table) -> pa.Table:
    """Prefix text cells that a spreadsheet would run as a formula (CSV injection)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in table.columns:
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            risky = pc.match_substring_regex(col, _FORMULA.pattern)
            col = pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)
        columns.append(col)
    return pa.table(columns, names=table.column_names)


def csv_chunks(table: pa.Table) -> Iterator[bytes]:
    import pyarrow.csv as pcsv

    buffer = io.BytesIO()
    pcsv.write_csv(defuse(table), buffer)
    data = buffer.getvalue()
    for i in range(0, len(data), 1 << 16):
        yield data[i : i + (1 << 16)]


def export_response(
    runtime: Runtime, metric: str, filters: ViewFilters, part: records.Part
) -> StreamingResponse:
    page = Page(runtime)
    req = request_for(page, metric, filters, part)
    total = page.read(("records-total", req), lambda ws: records.count(ws, req))
    records.check_export(total, runtime.settings.limits.max_rows)
    with runtime.gate.workspace() as ws:  # not cached: exports can be large
        table = records.export(ws, req)
    name = "-".join(str(p) for p in ("revteam", metric, req.start or "start", req.end) if p)
    return StreamingResponse(
        csv_chunks(table),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{_slug(name)}.csv"',
            "Cache-Control": "no-store",
        },
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:120]


@router.get("/records.csv")
def records_csv(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    filters: FiltersDep,
    metric: MetricParam,
    part: PartParam = "auto",
) -> StreamingResponse:
    return export_response(runtime, metric, filters, part)
