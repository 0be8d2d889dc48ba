"""The Definitions pages: propose a change to a KPI or the scorecard, see its impact, sign it off.

``/definitions`` lists open proposals, recent decisions and agreed versions; ``/definitions/new``
is the form (the definition's YAML over the catalogue spec, checked at once, with an impact
preview before anything is proposed); ``/definitions/{id}`` shows a proposal's diff, impact and
votes, with the buttons for the owners whose sign-off it still needs. Writing needs only the
application database; the previews read the KPIs through the cache (post, redirect, get).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from revteam.exceptions import RevteamError, UnknownMetricError
from revteam.proposals import Impact, Proposal
from revteam.proposals.impact import definition_text, scorecard_text
from revteam.proposals.store import MAX_REASON, MAX_TEXT, SCORECARD, named
from revteam.web.deps import Principal, PrincipalDep, RuntimeDep
from revteam.web.pages.goals import check_editor_form, refusal
from revteam.web.pages.render import Page, render
from revteam.web.routes.proposals import impact_of
from revteam.web.runtime import Runtime
from revteam.web.schemas import Id

router = APIRouter(include_in_schema=False)
EditorForm = Annotated[Principal, Depends(check_editor_form)]
Text = Annotated[str, Form(max_length=MAX_TEXT)]
Reason = Annotated[str, Form(max_length=MAX_REASON)]
RECENT = 30


def template_text(runtime: Runtime, subject: str) -> str:
    """What the form starts from: the agreed definition of ``subject`` (or a new metric's)."""
    catalogue = runtime.definitions.catalogue
    if subject == SCORECARD:
        return "scorecard:\n" + "".join(
            f"  {line}\n" for line in scorecard_text(catalogue).splitlines()
        )
    if subject in catalogue:
        return definition_text(catalogue, subject)
    return (
        "id: my_new_metric\nlabel: My new metric\ndescription: What it counts, and why.\n"
        "owners: shared\nkind: count\nunit: count\ntable: people\ntime: created_at\n"
    )


@router.get("/definitions", response_class=HTMLResponse)
def definitions_page(
    request: Request, runtime: RuntimeDep, principal: PrincipalDep
) -> HTMLResponse:
    store = runtime.proposals
    catalogue = runtime.definitions.catalogue
    decided = [p for p in store.list(status=None) if p.status != "open"][:RECENT]
    return render(
        request,
        "definitions.html",
        principal,
        nav="catalogue",
        open=store.list(status="open"),
        decided=decided,
        versions=store.versions()[:RECENT],
        specs=list(catalogue),
        named=named,
        can_edit=principal.can("editor"),
    )


def _form_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    *,
    text: str,
    reason: str = "",
    impact: Impact | None = None,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "definition_form.html",
        principal,
        nav="catalogue",
        page=Page(runtime),
        status_code=status,
        text=text,
        reason=reason,
        impact=impact,
        message=message,
        failed=status >= 400,
        max_text=MAX_TEXT,
        max_reason=MAX_REASON,
        can_edit=principal.can("editor"),
    )


@router.get("/definitions/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    metric: Annotated[str, Query(max_length=64)] = "",
    scorecard: Annotated[bool, Query()] = False,
) -> HTMLResponse:
    """The form, starting from the metric's agreed definition (or the scorecard's)."""
    subject = SCORECARD if scorecard else metric
    if subject and subject != SCORECARD and subject not in runtime.definitions.catalogue:
        raise UnknownMetricError(subject, runtime.definitions.catalogue.specs)
    return _form_page(request, runtime, principal, text=template_text(runtime, subject))


@router.post("/definitions/new", response_class=HTMLResponse)
def propose(
    request: Request,
    runtime: RuntimeDep,
    principal: EditorForm,
    text: Text,
    reason: Reason = "",
    action: Annotated[str, Form(pattern="^(preview|propose)$")] = "preview",
) -> Response:
    """``preview`` checks the definition and shows its impact; ``propose`` saves it."""
    try:
        if action == "propose":
            made = runtime.proposals.propose(
                text, reason=reason, actor=principal.actor, role=principal.user.role
            )
            return RedirectResponse(f"/definitions/{made.id}?proposed=true", status_code=303)
        found = impact_of(runtime, text)
    except RevteamError as exc:
        return _form_page(
            request,
            runtime,
            principal,
            text=text,
            reason=reason,
            message=str(exc),
            status=refusal(exc),
        )
    return _form_page(request, runtime, principal, text=text, reason=reason, impact=found)


def _proposal_page(
    request: Request,
    runtime: Runtime,
    principal: Principal,
    proposal_id: int,
    *,
    message: str = "",
    status: int = 200,
) -> HTMLResponse:
    proposal: Proposal = runtime.proposals.get(proposal_id)
    page = Page(runtime)
    impact: Impact | None = None
    problem = ""
    if proposal.status == "open":
        try:
            impact = impact_of(runtime, proposal.text)
        except RevteamError as exc:  # e.g. it no longer works next to a change agreed since
            problem = str(exc)
    user = principal.user
    can_vote = (
        proposal.status == "open"
        and principal.can("editor")
        and user.team in proposal.missing
        and all(v.voter != user.email for v in proposal.current_votes)
    )
    return render(
        request,
        "proposal.html",
        principal,
        nav="catalogue",
        page=page,
        status_code=status,
        p=proposal,
        subject=named(proposal.metric),
        is_scorecard=proposal.metric == SCORECARD,
        impact=impact,
        problem=problem,
        current=runtime.proposals.current_version(proposal.metric),
        can_vote=can_vote,
        can_withdraw=proposal.status == "open"
        and (
            principal.can("admin")
            or (principal.can("editor") and user.email == proposal.created_by)
        ),
        can_edit=principal.can("editor"),
        message=message,
        failed=status >= 400,
    )


@router.get("/definitions/{proposal_id}", response_class=HTMLResponse)
def proposal_page(
    request: Request,
    runtime: RuntimeDep,
    principal: PrincipalDep,
    proposal_id: Id,
    proposed: Annotated[bool, Query()] = False,
    voted: Annotated[str, Query(pattern="^(|approve|reject|rebase|withdraw)$")] = "",
) -> HTMLResponse:
    words = {
        "approve": "Your approval is recorded.",
        "reject": "Your rejection is recorded.",
        "rebase": "Rebased on the agreed version: its votes start again.",
        "withdraw": "Withdrawn.",
    }
    message = (
        "Proposed: it now waits for its owners' sign-off." if proposed else words.get(voted, "")
    )
    return _proposal_page(request, runtime, principal, proposal_id, message=message)


@router.post("/definitions/{proposal_id}/vote", response_class=HTMLResponse)
def vote(
    request: Request,
    runtime: RuntimeDep,
    principal: EditorForm,
    proposal_id: Id,
    vote: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Reason = "",
) -> Response:
    try:
        runtime.proposals.vote(
            proposal_id,
            "approve" if vote == "approve" else "reject",
            voter=principal.user.email,
            reason=reason,
            actor=principal.actor,
        )
    except RevteamError as exc:
        status = refusal(exc)
        return _proposal_page(
            request, runtime, principal, proposal_id, message=str(exc), status=status
        )
    return RedirectResponse(f"/definitions/{proposal_id}?voted={vote}", status_code=303)


def _step(
    request: Request, runtime: Runtime, principal: Principal, proposal_id: int, step: str
) -> Response:
    do = runtime.proposals.rebase if step == "rebase" else runtime.proposals.withdraw
    try:
        do(proposal_id, actor=principal.actor, role=principal.user.role)
    except RevteamError as exc:
        status = refusal(exc)
        return _proposal_page(
            request, runtime, principal, proposal_id, message=str(exc), status=status
        )
    return RedirectResponse(f"/definitions/{proposal_id}?voted={step}", status_code=303)


@router.post("/definitions/{proposal_id}/rebase", response_class=HTMLResponse)
def rebase(
    request: Request, runtime: RuntimeDep, principal: EditorForm, proposal_id: Id
) -> Response:
    """Onto the agreed version, after another change to the same subject was agreed."""
    return _step(request, runtime, principal, proposal_id, "rebase")


@router.post("/definitions/{proposal_id}/withdraw", response_class=HTMLResponse)
def withdraw(
    request: Request, runtime: RuntimeDep, principal: EditorForm, proposal_id: Id
) -> Response:
    """Its proposer or an admin."""
    return _step(request, runtime, principal, proposal_id, "withdraw")


def history_context(runtime: Runtime, metric: str) -> dict[str, Any]:
    """The catalogue page's history: agreed versions and open proposals of ``metric``."""
    return {
        "versions": runtime.proposals.versions(metric),
        "proposals": runtime.proposals.list(status="open", metric=metric),
    }
