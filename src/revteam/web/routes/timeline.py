"""``/accounts/{id}/timeline``, ``/people/{id}/timeline`` and ``/search``: who did what, when.

Every signed-in role reads them. A page of events is one query the warehouse sorts and cuts
(``ws.timeline``), cached by its options like every other answer; the pages ``/accounts/{id}``
and ``/people/{id}`` read the same cache entries (:func:`timeline_request`). The CSV exports
(``…/timeline/export`` here, ``…/timeline.csv`` beside the pages) are one implementation,
:func:`export_timeline`, bounded by ``limits.max_rows``. See docs/timeline.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse

from revteam.metrics.request import check_year
from revteam.timeline import KINDS, MAX_LIMIT, SearchResult, Timeline
from revteam.timeline.component import MAX_ID, MAX_QUERY, MAX_SEARCH
from revteam.timeline.events import check_kinds
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import PrincipalDep, RuntimeDep
from revteam.web.pages.records import _slug, csv_chunks
from revteam.web.runtime import Runtime
from revteam.web.schemas import Offset
from revteam.workspace import Workspace

router = APIRouter(tags=["timeline"])
_PLURAL = {"account": "accounts", "person": "people"}
Subject = Literal["account", "person"]

AccountId = Annotated[str, Path(min_length=1, max_length=MAX_ID, description="Account id.")]
PersonId = Annotated[str, Path(min_length=1, max_length=MAX_ID, description="Person id.")]
Kinds = Annotated[
    list[str] | None,
    Query(
        max_length=len(KINDS),
        description="Event kinds to keep (repeatable or comma-separated): "
        + ", ".join(KINDS)
        + ". Default: all.",
    ),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Events per page.")]
AsOf = Annotated[
    dt.date | None, Query(description="Leave out events after this day (default: none).")
]


def timeline_request(
    runtime: Runtime,
    subject: Subject,
    id: str,
    *,
    kinds: list[str] | None = None,
    limit: int = 50,
    offset: int = 0,
    as_of: dt.date | None = None,
) -> tuple[Hashable, Callable[[Workspace], Timeline]]:
    """The cache key and computation of one page of a timeline: pages and API share both."""
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    wanted = check_kinds(kinds)

    def compute(ws: Workspace) -> Timeline:
        read = ws.timeline.account if subject == "account" else ws.timeline.person
        return read(id, limit=limit, offset=offset, kinds=wanted, as_of=as_of)

    return ("timeline", subject, id, wanted, limit, offset, as_of), compute


def _answer(runtime: Runtime, key: Hashable, compute: Callable[[Workspace], Any]) -> Any:
    found = runtime.read(key, compute)
    value = found.value.as_dict()
    return value | {"data_version": found.data_version, "stale": found.stale}


@router.get("/accounts/{account_id}/timeline", summary="An account's timeline")
def account_timeline(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    account_id: AccountId,
    kinds: Kinds = None,
    limit: Limit = 50,
    offset: Offset = 0,
    as_of: AsOf = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """One page of the account's events across both teams' data, oldest first.

    Its creation; its people's lifecycle stages; touches, web visits and form fills and
    e-mail events; sales activities; opportunities (created, closed won or lost) and their
    stage history; orders. Each event has its time, kind, a one-line description, its owner,
    the person and account it belongs to and its source table and key. The header gives the
    account, its owner, its people's identity and its KPIs (the metric layer's, filtered to
    the account; ``defined_on``: with the definitions agreed by the end of that day). Unknown
    ids answer 404.
    """
    request = timeline_request(
        runtime, "account", account_id, kinds=kinds, limit=limit, offset=offset, as_of=as_of
    )
    result: dict[str, Any] = _answer(runtime, *defined(request, defined_on, runtime.settings))
    return result


@router.get("/people/{person_id}/timeline", summary="A person's timeline")
def person_timeline(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    person_id: PersonId,
    kinds: Kinds = None,
    limit: Limit = 50,
    offset: Offset = 0,
    as_of: AsOf = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """One page of the person's events, oldest first, with every source record linked to them.

    Once identity resolution has run, the records linked into one person (say a HubSpot
    contact and a Salesforce lead) share one timeline; the header lists them and what each
    shares with this one. Unknown ids answer 404. It shows no KPI, so ``defined_on`` (taken
    as by every route) changes nothing here.
    """
    request = timeline_request(
        runtime, "person", person_id, kinds=kinds, limit=limit, offset=offset, as_of=as_of
    )
    result: dict[str, Any] = _answer(runtime, *defined(request, defined_on, runtime.settings))
    return result


def export_timeline(
    runtime: Runtime,
    subject: Subject,
    id: str,
    kinds: list[str] | None,
    as_of: dt.date | None,
) -> StreamingResponse:
    """Every event of the filter as CSV (not cached: exports can be large).

    More than ``limits.max_rows`` events are refused (400 ``limit_exceeded``, naming the kinds
    and as-of filters that narrow it) from the counts, before any event is read.
    """
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    wanted = check_kinds(kinds)
    most = runtime.settings.limits.max_rows
    with runtime.gate.workspace() as ws:
        table = ws.timeline.export(subject, id, kinds=wanted, as_of=as_of, max_rows=most)
    name = _slug(f"revteam-{subject}-{id}-timeline")
    return StreamingResponse(
        csv_chunks(table),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.csv"',
            "Cache-Control": "no-store",
        },
    )


_CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV file, one event a row"}
}


@router.get(
    "/accounts/{account_id}/timeline/export",
    summary="An account's timeline, as CSV",
    response_class=StreamingResponse,
    responses=_CSV,
)
def export_account_timeline(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    account_id: AccountId,
    kinds: Kinds = None,
    as_of: AsOf = None,
) -> StreamingResponse:
    """Every event of the account (of ``kinds``, to ``as_of``) as CSV, oldest first.

    The columns of the JSON events; at most ``limits.max_rows`` events (else 400
    ``limit_exceeded``).
    """
    return export_timeline(runtime, "account", account_id, kinds, as_of)


@router.get(
    "/people/{person_id}/timeline/export",
    summary="A person's timeline, as CSV",
    response_class=StreamingResponse,
    responses=_CSV,
)
def export_person_timeline(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    person_id: PersonId,
    kinds: Kinds = None,
    as_of: AsOf = None,
) -> StreamingResponse:
    """Every event of the person and the records linked to them, as CSV (as for accounts)."""
    return export_timeline(runtime, "person", person_id, kinds, as_of)


def search_request(q: str, limit: int = 20) -> tuple[Hashable, Callable[[Workspace], SearchResult]]:
    return ("timeline-search", q.strip().lower(), limit), lambda ws: ws.timeline.search(q, limit)


@router.get("/search", summary="Find accounts and people")
def search(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=MAX_QUERY,
            description="Text an account's name or domain, or a person's name or e-mail, "
            "contains (case-insensitive).",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=MAX_SEARCH, description="Hits at most.")] = 20,
) -> dict[str, Any]:
    """Accounts (first) and people matching ``q``, those starting with it first."""
    found = runtime.read(*search_request(q, limit))
    result = found.value
    return {
        "query": result.query,
        "hits": [
            dataclasses.asdict(h)
            | {
                "url": f"/{_PLURAL[h.kind]}/{quote(h.id, safe='')}",
                "timeline": f"/api/v1/{_PLURAL[h.kind]}/{quote(h.id, safe='')}/timeline",
            }
            for h in result.hits
        ],
        "more": result.more,
        "counts": dict(result.counts),
        "limit": result.limit,
        "data_version": found.data_version,
        "stale": found.stale,
    }
