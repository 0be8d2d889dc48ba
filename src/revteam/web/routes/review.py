"""``/review`` and ``/actions``: the joint review's pack, and its action items.

The pack is built through the runtime cache, keyed by its options and the revisions of the
action items and goals it shows, so the page and the API serve the same pack and an edit of
either shows at once. Action items need only the application database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from revteam.exceptions import ReviewError
from revteam.review import Pack, render
from revteam.review.actions import MAX_NOTE, MAX_SEGMENT, MAX_TITLE, ActionItem, ActionSpec
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import EditorDep, PrincipalDep, RuntimeDep
from revteam.web.runtime import Runtime
from revteam.web.schemas import MAX_ID, Id
from revteam.workspace import Workspace

router = APIRouter(tags=["review"])
MEDIA = {
    "html": "text/html; charset=utf-8",
    "markdown": "text/markdown; charset=utf-8",
    "pdf": "application/pdf",
}
SUFFIX = {"html": "html", "markdown": "md", "pdf": "pdf"}
Period = Annotated[
    str,
    Query(
        min_length=4,
        max_length=12,
        description="2026-03 (month), 2026-Q1 (quarter), or a day with grain=week.",
    ),
]
Grain = Annotated[
    Literal["week", "month", "quarter"] | None,
    Query(description="week, month or quarter (default: the period's own)."),
]


def pack_request(
    runtime: Runtime, period: str, grain: str | None, defined_on: dt.date | None = None
) -> tuple[Hashable, Callable[[Workspace], Pack]]:
    """The cache key and computation of one pack: the page and the API share both."""
    key = (
        "review-pack",
        period,
        grain,
        runtime.actions.revision(),
        runtime.goals.store.revision(),
    )

    def build(ws: Workspace) -> Pack:
        return ws.review.pack(period, grain=grain)

    return defined((key, build), defined_on, runtime.settings)


def document(
    runtime: Runtime,
    period: str,
    grain: str | None,
    fmt: str,
    defined_on: dt.date | None = None,
) -> tuple[Pack, bytes]:
    """The pack and its rendering in ``fmt``, both cached (a PDF takes a second or two)."""
    key, build = pack_request(runtime, period, grain, defined_on)
    pack = runtime.read(key, build).value
    data = runtime.read((*key, fmt), lambda _: render(pack, fmt)).value  # type: ignore[misc]
    return pack, data


def pack_json(pack: Pack) -> dict[str, Any]:
    """The pack as JSON: every section's fields, dates as ISO text."""
    data = dataclasses.asdict(pack)
    data["actions_open"] = [i.as_dict() for i in pack.actions_open]
    data["actions_closed"] = [i.as_dict() for i in pack.actions_closed]
    parsed: dict[str, Any] = json.loads(json.dumps(data, default=str))
    return parsed


@router.get("/review", summary="The review pack of a period")
def get_review(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    period: Period,
    grain: Grain = None,
    format: Annotated[
        Literal["json", "html", "markdown", "pdf"],
        Query(description="json (the pack's fields), html, markdown or pdf."),
    ] = "json",
    defined_on: DefinedOn = None,
) -> Response:
    """The deterministic pack for the joint review (see docs/review.md).

    The same data, action items and goals give the same document apart from its generation
    time; ``html``, ``markdown`` and ``pdf`` come as attachments.
    """
    if format == "json":
        key, build = pack_request(runtime, period, grain, defined_on)
        pack = runtime.read(key, build).value
        return Response(json.dumps(pack_json(pack)), media_type="application/json")
    pack, data = document(runtime, period, grain, format, defined_on)
    name = f"revenue-review-{pack.period}.{SUFFIX[format]}"
    return Response(
        data,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# -- action items ------------------------------------------------------------------------------
class ActionIn(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE)
    owner: str = Field(min_length=3, max_length=320, description="The owner's e-mail.")
    due: dt.date | None = None
    metric: str | None = Field(None, max_length=64)
    segment: dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=200)]] = (
        Field(default_factory=dict, max_length=MAX_SEGMENT)
    )
    team: str | None = Field(None, max_length=40, description="Default: the owner's team.")
    note: str = Field("", max_length=MAX_NOTE)

    def spec(self) -> ActionSpec:
        return ActionSpec(
            self.title,
            self.owner,
            due=self.due,
            metric=self.metric,
            segment=self.segment,
            team=self.team,
            note=self.note,
        )


class ActionChangeIn(ActionIn):
    expected_version: int = Field(ge=1, le=MAX_ID)


class StatusIn(BaseModel):
    note: str | None = Field(None, max_length=MAX_NOTE)
    expected_version: int | None = Field(None, ge=1, le=MAX_ID)


def check_metric(runtime: Runtime, metric: str | None) -> None:
    if metric and metric not in runtime.definitions.catalogue:
        raise ReviewError(f"Unknown metric {metric!r}.", "Use a metric id (GET /api/v1/metrics).")


def item_out(item: ActionItem) -> dict[str, Any]:
    return item.as_dict()


@router.get("/actions", summary="Action items")
def list_actions(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Annotated[Literal["open", "closed", "all"], Query()] = "open",
    owner: Annotated[str | None, Query(max_length=320)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    """Open items first by due date, then closed ones, newest first."""
    chosen = None if status == "all" else status
    return [item_out(i) for i in runtime.actions.list(status=chosen, owner=owner, limit=limit)]


@router.post("/actions", status_code=201, summary="Add an action item (editor)")
def add_action(runtime: RuntimeDep, principal: EditorDep, body: ActionIn) -> dict[str, Any]:
    check_metric(runtime, body.metric)
    item = runtime.actions.add(body.spec(), actor=principal.actor, role=principal.user.role)
    return item_out(item)


@router.put("/actions/{item_id}", summary="Change an open action item (editor)")
def change_action(
    runtime: RuntimeDep, principal: EditorDep, item_id: Id, body: ActionChangeIn
) -> dict[str, Any]:
    check_metric(runtime, body.metric)
    item = runtime.actions.update(
        item_id,
        body.spec(),
        actor=principal.actor,
        role=principal.user.role,
        expected_version=body.expected_version,
    )
    return item_out(item)


@router.post("/actions/{item_id}/close", summary="Close an action item (its owner, or an admin)")
def close_action(
    runtime: RuntimeDep, principal: PrincipalDep, item_id: Id, body: StatusIn
) -> dict[str, Any]:
    item = runtime.actions.close(
        item_id,
        actor=principal.actor,
        role=principal.user.role,
        note=body.note,
        expected_version=body.expected_version,
    )
    return item_out(item)


@router.post("/actions/{item_id}/reopen", summary="Reopen an action item (its owner, or an admin)")
def reopen_action(
    runtime: RuntimeDep, principal: PrincipalDep, item_id: Id, body: StatusIn
) -> dict[str, Any]:
    item = runtime.actions.reopen(
        item_id,
        actor=principal.actor,
        role=principal.user.role,
        expected_version=body.expected_version,
    )
    return item_out(item)
