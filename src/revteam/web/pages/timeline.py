"""``/accounts`` (search), ``/accounts/{id}`` and ``/people/{id}``: timelines, for every role.

The pages show ``GET /api/v1/accounts/{id}/timeline`` (and the person's) from the same cache
entries (:func:`revteam.web.routes.timeline.timeline_request`), 50 events a page, with the kind
filter and an as-of day as plain GET parameters; ``…/timeline.csv`` exports every event of the
filter (up to ``limits.max_rows``; :func:`revteam.web.routes.timeline.export_timeline`).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from revteam.timeline import KINDS, SearchResult, Timeline
from revteam.timeline.component import MAX_QUERY
from revteam.web.deps import PrincipalDep, RuntimeDep
from revteam.web.pages.render import Page, render_view
from revteam.web.routes.timeline import (
    AccountId,
    PersonId,
    export_timeline,
    search_request,
    timeline_request,
)

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
SEARCH_HITS = 50
Kinds = Annotated[list[str] | None, Query(max_length=len(KINDS))]
AsOf = Annotated[dt.date | None, Query()]
PageNo = Annotated[int, Query(alias="page", ge=1, le=1_000_000)]
OWNED_LABELS = {
    "accounts": "account",
    "people": "people",
    "opportunities": "deals",
    "sales_activities": "activities",
}
"""How the tables of ``Owned.records`` are named on the page."""


def _query(kinds: tuple[str, ...], as_of: dt.date | None, **more: object) -> str:
    params: list[tuple[str, str]] = []
    if kinds != tuple(KINDS):
        params += [("kinds", k) for k in kinds]
    if as_of:
        params.append(("as_of", as_of.isoformat()))
    params += [(k, str(v)) for k, v in more.items() if v is not None]
    return ("?" + urlencode(params)) if params else ""


def _timeline_page(
    request: Request,
    principal: Any,
    subject: Literal["account", "person"],
    id: str,
    kinds: list[str] | None,
    as_of: dt.date | None,
    page_no: int,
) -> HTMLResponse:
    def build(page: Page) -> dict[str, Any]:
        key, compute = timeline_request(
            page.runtime,
            subject,
            id,
            kinds=kinds,
            limit=PAGE_SIZE,
            offset=(page_no - 1) * PAGE_SIZE,
            as_of=as_of,
        )
        found: Timeline = page.read(key, compute)
        wanted = found.kinds
        base = f"/{'accounts' if subject == 'account' else 'people'}/{quote(id, safe='')}"
        return {
            "t": found,
            "h": found.header,
            "subject": subject,
            "kinds": KINDS,
            "chosen": wanted,
            "as_of": page.as_of(),
            "as_of_day": as_of,
            "page_no": page_no,
            "pages": max(1, -(-found.total // PAGE_SIZE)),
            "max_rows": page.runtime.settings.limits.max_rows,
            "owned_labels": OWNED_LABELS,
            "base": base,
            "query": lambda **more: _query(wanted, as_of, **more),
            "currency": page.runtime.settings.currency,
        }

    header = "Account" if subject == "account" else "Person"
    return render_view(
        request, "timeline.html", principal, build=build, title=header, nav="accounts"
    )


@router.get("/accounts", response_class=HTMLResponse)
def accounts(
    request: Request,
    principal: PrincipalDep,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
) -> HTMLResponse:
    text = q.strip()

    def build(page: Page) -> dict[str, Any]:
        found: SearchResult | None = None
        if text:
            found = page.read(*search_request(text, SEARCH_HITS))
        return {"q": text, "found": found}

    return render_view(
        request,
        "accounts.html",
        principal,
        build=build,
        title="Accounts and people",
        nav="accounts",
    )


@router.get("/accounts/{account_id}", response_class=HTMLResponse)
def account_page(
    request: Request,
    principal: PrincipalDep,
    account_id: AccountId,
    kinds: Kinds = None,
    as_of: AsOf = None,
    page_no: PageNo = 1,
) -> HTMLResponse:
    return _timeline_page(request, principal, "account", account_id, kinds, as_of, page_no)


@router.get("/people/{person_id}", response_class=HTMLResponse)
def person_page(
    request: Request,
    principal: PrincipalDep,
    person_id: PersonId,
    kinds: Kinds = None,
    as_of: AsOf = None,
    page_no: PageNo = 1,
) -> HTMLResponse:
    return _timeline_page(request, principal, "person", person_id, kinds, as_of, page_no)


@router.get("/accounts/{account_id}/timeline.csv")
def account_csv(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    account_id: AccountId,
    kinds: Kinds = None,
    as_of: AsOf = None,
) -> StreamingResponse:
    return export_timeline(runtime, "account", account_id, kinds, as_of)


@router.get("/people/{person_id}/timeline.csv")
def person_csv(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    person_id: PersonId,
    kinds: Kinds = None,
    as_of: AsOf = None,
) -> StreamingResponse:
    return export_timeline(runtime, "person", person_id, kinds, as_of)
