"""``/proposals``: propose a definition, preview its impact, sign it off; a metric's history.

Proposing and voting need only the application database (``runtime.proposals``), so they work
while a load holds the warehouse. The impact preview reads the KPIs through
:meth:`Runtime.read`, cached under the proposal's text and the data version (an approval
changes ``metrics/approved/`` and so the version). A vote is the signed-in user's: an editor or
admin of a team the change needs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from revteam.proposals import Impact, Proposal
from revteam.proposals.store import MAX_REASON, MAX_TEXT
from revteam.web.deps import EditorDep, PrincipalDep, RuntimeDep
from revteam.web.runtime import Runtime
from revteam.web.schemas import Id
from revteam.workspace import Workspace

router = APIRouter(tags=["definitions"])
MAX_MONTHS = 36
Months = Annotated[
    int, Query(ge=1, le=MAX_MONTHS, description="Complete months the preview compares.")
]


class ProposalIn(BaseModel):
    """A metric's whole definition (or ``scorecard:``) as YAML, and why it should change."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The definition as YAML.")
    reason: str = Field(min_length=1, max_length=MAX_REASON, description="Why it should change.")


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vote: Literal["approve", "reject"]
    reason: str = Field("", max_length=MAX_REASON, description="Required to reject.")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT, description="The definition as YAML.")


def impact_request(
    runtime: Runtime, text: str, months: int = 12
) -> tuple[Hashable, Callable[[Workspace], Impact]]:
    """The cache key and computation of an impact preview (the page and the API share both).

    Checked first without the warehouse, so a broken definition is refused at once.
    """
    runtime.proposals.preview(text)
    digest = hashlib.sha256(text.encode()).hexdigest()[:24]
    return ("proposal-impact", digest, months), lambda ws: ws.proposals.impact(text, months=months)


def impact_of(runtime: Runtime, text: str, months: int = 12) -> Impact:
    key, build = impact_request(runtime, text, months)
    return runtime.read(key, build).value


@router.get("/proposals", summary="Definition proposals")
def list_proposals(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    status: Annotated[
        Literal["open", "approved", "rejected", "withdrawn", "all"], Query()
    ] = "open",
    metric: Annotated[str | None, Query(max_length=64)] = None,
) -> dict[str, Any]:
    """Newest first (at most 500)."""
    found = runtime.proposals.list(status=None if status == "all" else status, metric=metric)
    return {"proposals": [p.as_dict() for p in found]}


@router.post("/proposals", status_code=201, summary="Propose a definition")
def create_proposal(
    runtime: RuntimeDep, principal: EditorDep, body: ProposalIn, response: Response
) -> dict[str, Any]:
    """Checked against the catalogue at once; it then waits for its owners' sign-off."""
    made = runtime.proposals.propose(
        body.text, reason=body.reason, actor=principal.actor, role=principal.user.role
    )
    response.headers["Location"] = f"/api/v1/proposals/{made.id}"
    return made.as_dict()


@router.post("/proposals/preview", summary="Preview a definition's impact without proposing it")
def preview_proposal(
    runtime: RuntimeDep, principal: EditorDep, body: PreviewIn, months: Months = 12
) -> dict[str, Any]:
    return impact_of(runtime, body.text, months).as_dict()


@router.get("/proposals/{proposal_id}", summary="One proposal with its votes")
def get_proposal(runtime: RuntimeDep, principal: PrincipalDep, proposal_id: Id) -> dict[str, Any]:
    return runtime.proposals.get(proposal_id).as_dict()


@router.get("/proposals/{proposal_id}/impact", summary="A proposal's impact preview")
def proposal_impact(
    runtime: RuntimeDep, principal: PrincipalDep, proposal_id: Id, months: Months = 12
) -> dict[str, Any]:
    """The numbers before and after, by month and by the metric's main dimension."""
    return impact_of(runtime, runtime.proposals.get(proposal_id).text, months).as_dict()


@router.post("/proposals/{proposal_id}/votes", summary="Approve or reject a proposal")
def vote(
    runtime: RuntimeDep, principal: EditorDep, proposal_id: Id, body: VoteIn
) -> dict[str, Any]:
    """Your vote, for your team; the last approval needed makes it the agreed definition."""
    done: Proposal = runtime.proposals.vote(
        proposal_id,
        body.vote,
        voter=principal.user.email,
        reason=body.reason,
        actor=principal.actor,
    )
    return done.as_dict()


@router.post("/proposals/{proposal_id}/rebase", summary="Rebase onto the agreed version")
def rebase(runtime: RuntimeDep, principal: EditorDep, proposal_id: Id) -> dict[str, Any]:
    """After another change to the same metric was agreed; its votes start again."""
    return runtime.proposals.rebase(
        proposal_id, actor=principal.actor, role=principal.user.role
    ).as_dict()


@router.post("/proposals/{proposal_id}/withdraw", summary="Withdraw a proposal")
def withdraw(runtime: RuntimeDep, principal: EditorDep, proposal_id: Id) -> dict[str, Any]:
    """Its proposer or an admin."""
    return runtime.proposals.withdraw(
        proposal_id, actor=principal.actor, role=principal.user.role
    ).as_dict()


@router.get("/definitions/history", summary="Agreed definition versions")
def history(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    metric: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Newest first: who proposed, who signed for each team, when and why."""
    found = runtime.proposals.versions(metric)[:limit]
    return {"versions": [v.as_dict() for v in found]}
