"""``/lead-scoring``: how good the score is, what an MQL threshold would do, and Sales' verdicts.

The numbers are the API's (:mod:`revteam.web.routes.scoring`, the same cache keys), so the page
and ``/api/v1/scoring`` cannot disagree. A score the data cannot support says why in its place.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from revteam.exceptions import RevteamError, ScoringError
from revteam.scoring.agreement import MAX_NOTE
from revteam.web.deps import Principal, PrincipalDep
from revteam.web.pages.goals import check_editor_form, refusal
from revteam.web.pages.render import Page, render, render_view
from revteam.web.routes.scoring import (
    agreements,
    feedback_request,
    fit_view,
    score_fit,
    threshold_request,
)
from revteam.web.runtime import Runtime
from revteam.web.schemas import Id

router = APIRouter(include_in_schema=False)
EditorForm = Annotated[Principal, Depends(check_editor_form)]
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


@router.get("/lead-scoring", response_class=HTMLResponse)
def lead_scoring(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return render_view(
        request,
        "lead_scoring.html",
        principal,
        build=_sections,
        title="Lead scoring",
        nav="lead-scoring",
        revision=agreements(request.app.state.runtime).revision(),  # a vote shows at once
    )


def warm(runtime: Runtime) -> None:
    """The score's fit (most of a minute at 1M leads), then the page that shows it."""
    try:
        score_fit(runtime, None, block=True)
    except ScoringError:
        return  # kept: the page says why
    _sections(Page(runtime))


def _sections(page: Page) -> dict[str, Any]:
    try:
        found = score_fit(page.runtime, None)
        page.keep(found)
        fit = fit_view(found)
        curve = page.read(*threshold_request(page.runtime, "capacity", None, 0.9, None, found))
    except ScoringError as exc:
        return {"error": str(exc)}
    try:
        feedback = page.read(*feedback_request(page.runtime, "channel"))
        feedback_error = None
    except ScoringError as exc:
        feedback, feedback_error = None, str(exc)
    judged = fit["by_age"].get(str(fit["judged_age_days"]), {})
    return {
        "error": None,
        "fit": fit,
        "judged": judged,
        "curve": curve,
        "calibration_spec": calibration_spec(judged.get("calibration_curve") or []),
        "threshold_spec": threshold_spec(curve),
        "feedback": feedback,
        "feedback_error": feedback_error,
        "settings": page.runtime.settings.scoring,
        "agreed": agreements(page.runtime).current(),  # read now: a vote is not a data change
    }


def calibration_spec(curve: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Mean predicted against observed rate per bin of the holdout, and the diagonal."""
    if not curve:
        return None
    top = max(max(b["predicted"], b["observed"]) for b in curve)
    values = [
        {"predicted": b["predicted"], "observed": b["observed"], "leads": b["n"]} for b in curve
    ]
    return {
        "$schema": SCHEMA,
        "width": "container",
        "height": 220,
        "layer": [
            {
                "data": {"values": [{"x": 0.0, "y": 0.0}, {"x": top, "y": top}]},
                "mark": {"type": "line", "strokeDash": [4, 4], "color": "#9aa5b1"},
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "y", "type": "quantitative"},
                },
            },
            {
                "data": {"values": values},
                "mark": {"type": "line", "point": True, "tooltip": True},
                "encoding": {
                    "x": {
                        "field": "predicted",
                        "type": "quantitative",
                        "title": "Predicted chance (mean of a tenth of the leads)",
                        "axis": {"format": "%"},
                    },
                    "y": {
                        "field": "observed",
                        "type": "quantitative",
                        "title": "Share that reached it",
                        "axis": {"format": "%"},
                    },
                },
            },
        ],
    }


def threshold_spec(curve: dict[str, Any]) -> dict[str, Any] | None:
    """Expected SQR (with its band) against MQLs a month, per candidate threshold."""
    rows = curve.get("curve") or []
    if not rows:
        return None
    best = (curve.get("recommended") or {}).get("threshold")
    values = [
        {
            "threshold": r["threshold"],
            "mqls": r["mqls_per_month"],
            "sqr": r["sales_qualification_rate"],
            "low": r["sales_qualification_rate_low"],
            "high": r["sales_qualification_rate_high"],
            "realised": r["realised_sales_qualification_rate"],
            "recommended": r["threshold"] == best,
        }
        for r in rows
    ]
    x = {"field": "mqls", "type": "quantitative", "title": "MQLs a month"}
    return {
        "$schema": SCHEMA,
        "width": "container",
        "height": 240,
        "data": {"values": values},
        "layer": [
            {
                "mark": {"type": "area", "opacity": 0.2},
                "encoding": {
                    "x": x,
                    "y": {"field": "low", "type": "quantitative"},
                    "y2": {"field": "high"},
                },
            },
            {
                "mark": {"type": "line", "point": True, "tooltip": True},
                "encoding": {
                    "x": x,
                    "y": {
                        "field": "sqr",
                        "type": "quantitative",
                        "title": "Expected SQR",
                        "axis": {"format": "%"},
                    },
                },
            },
            {
                "transform": [{"filter": "datum.recommended"}],
                "mark": {"type": "point", "size": 160, "shape": "diamond", "filled": True},
                "encoding": {
                    "x": x,
                    "y": {"field": "sqr", "type": "quantitative"},
                    "tooltip": [{"field": "threshold", "type": "quantitative", "format": ".3f"}],
                },
            },
        ],
    }


def _threshold_page(
    request: Request, principal: Principal, *, message: str = "", status: int = 200
) -> HTMLResponse:
    """The threshold in force, the open proposal with its votes, the history, and the forms."""
    runtime: Runtime = request.app.state.runtime
    store = agreements(runtime)
    history = store.list()
    pending = next((a for a in history if a.status == "open"), None)
    recommended = None
    try:
        fit = score_fit(runtime, None)
        curve = runtime.read(*threshold_request(runtime, "capacity", None, 0.9, None, fit)).value
        recommended = (curve.get("recommended") or {}).get("threshold")
    except ScoringError as exc:
        message = message or str(exc)
    user = principal.user
    can_vote = (
        pending is not None
        and principal.can("editor")
        and user.team in pending.needs
        and all(v.voter != user.email for v in pending.votes)
    )
    return render(
        request,
        "score_threshold.html",
        principal,
        nav="lead-scoring",
        page=Page(runtime),
        status_code=status,
        agreed=store.current(),
        pending=pending,
        history=history,
        recommended=recommended,
        can_propose=principal.can("editor") and pending is None,
        can_vote=can_vote,
        message=message,
        failed=status >= 400,
    )


@router.get("/lead-scoring/threshold", response_class=HTMLResponse)
def threshold_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return _threshold_page(request, principal)


@router.post("/lead-scoring/threshold", response_class=HTMLResponse)
def propose_threshold(
    request: Request,
    principal: EditorForm,
    threshold: Annotated[float, Form(ge=0, le=1)],
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    """An editor proposes; every team owning the target KPI then signs it off."""
    runtime: Runtime = request.app.state.runtime
    try:
        agreements(runtime).propose(
            threshold,
            target=runtime.settings.scoring.target,
            catalogue=runtime.definitions.catalogue,
            objective="page",
            note=note,
            actor=principal.actor,
            role=principal.user.role,
        )
    except RevteamError as exc:
        return _threshold_page(request, principal, message=str(exc), status=refusal(exc))
    return RedirectResponse("/lead-scoring/threshold?proposed=true", status_code=303)


@router.post("/lead-scoring/threshold/{threshold_id}/vote", response_class=HTMLResponse)
def vote_threshold(
    request: Request,
    principal: EditorForm,
    threshold_id: Id,
    vote: Annotated[str, Form(pattern="^(approve|reject)$")],
    reason: Annotated[str, Form(max_length=MAX_NOTE)] = "",
) -> Response:
    """Your vote, for your team; the last approval needed puts the threshold in force."""
    runtime: Runtime = request.app.state.runtime
    try:
        agreements(runtime).vote(
            threshold_id,
            "approve" if vote == "approve" else "reject",
            voter=principal.user.email,
            reason=reason,
            actor=principal.actor,
        )
    except RevteamError as exc:
        return _threshold_page(request, principal, message=str(exc), status=refusal(exc))
    return RedirectResponse(f"/lead-scoring/threshold?voted={vote}", status_code=303)
