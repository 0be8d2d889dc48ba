"""``/scoring``: the lead score's fit, open leads scored, explanations and the MQL threshold.

``ws.scoring``'s, read through :meth:`Runtime.read` (cached per data version, as every read).
Lead lists are paged (at most ``MAX_PAGE`` rows a request). See docs/scoring.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from revteam.scoring import ScoreFit, fit_score
from revteam.scoring.agreement import MAX_NOTE, ThresholdAgreements
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import EditorDep, PrincipalDep, RuntimeDep
from revteam.web.routes.attribution import checked_cut
from revteam.web.runtime import Cached, Runtime
from revteam.web.schemas import Id
from revteam.workspace import Workspace

router = APIRouter(prefix="/scoring", tags=["lead scoring"])
MAX_PAGE = 1000
Day = Annotated[dt.date | None, Query(description="YYYY-MM-DD: score as of the end of it.")]


def _plain(value: Any) -> Any:
    """JSON-ready: dates as text, undefined numbers (NaN, infinities) as null."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, int | str | bool) or value is None:
        return value
    if hasattr(value, "item"):  # a numpy number
        return _plain(value.item())
    return str(value)


def score_fit(
    runtime: Runtime,
    as_of: dt.date | None,
    *,
    block: bool = False,
    defined_on: dt.date | None = None,
) -> Cached[ScoreFit]:
    """The lead score fitted on the current data, off the request path (:meth:`Runtime.fitted`).

    Its inputs are read under the warehouse gate; the fit (most of a minute at 1M leads) runs
    in the background; a request waits ``fit_wait_seconds`` for it at most (``block``: until
    done, for the warmer). Its target is a catalogue metric: ``defined_on`` fits it with the
    target as defined by the end of that day.
    """
    cut = checked_cut(runtime, None, None, as_of)
    key, gather = defined(
        (("scoring-model", as_of), lambda ws: ws.scoring.inputs(as_of=cut)),
        defined_on,
        runtime.settings,
    )
    return runtime.fitted(
        key,
        gather,
        fit_score,
        what="The lead score",
        block=block,
    )


def fit_view(found: Cached[ScoreFit]) -> dict[str, Any]:
    """The fit as the API and the page show it."""
    out: dict[str, Any] = _plain(found.value.as_dict())
    return out


def threshold_request(
    runtime: Runtime,
    objective: str,
    sqr_target: float | None,
    level: float,
    as_of: dt.date | None,
    fit: Cached[ScoreFit],
) -> tuple[Hashable, Callable[[Workspace], dict[str, Any]]]:
    """The cache key and computation of the threshold curve (the API's and the page's)."""
    cut = checked_cut(runtime, None, None, as_of)

    def compute(ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = _plain(
            ws.scoring.threshold(
                as_of=cut, objective=objective, sqr_target=sqr_target, level=level, fit=fit.value
            )
        )
        return out

    return ("scoring-threshold", objective, sqr_target, level, as_of, fit.version), compute


def feedback_request(
    runtime: Runtime, by: str
) -> tuple[Hashable, Callable[[Workspace], dict[str, Any]]]:
    """Disqualification reasons by source, tested (the API's and the page's)."""

    def compute(ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = _plain(ws.scoring.feedback(by=by))
        return out

    return ("scoring-feedback", by), compute


@router.get("/fit", summary="The lead score's model and its quality on the newest leads")
def get_fit(
    runtime: RuntimeDep, principal: PrincipalDep, as_of: Day = None, defined_on: DefinedOn = None
) -> dict[str, Any]:
    """The model, target and time split, and its quality on the holdout.

    ``auc`` and ``ece`` at the judged age; per age the calibration curve, Brier score and log
    loss, with the rules score's AUC.
    """
    found = score_fit(runtime, as_of, defined_on=defined_on)
    return fit_view(found) | {"data_version": found.data_version, "stale": found.stale}


@router.get("/leads", summary="Open leads scored now, most likely first (paged)")
def get_leads(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    as_of: Day = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """Per open lead: ``score``, ``grade``, ``fit_points``, ``engagement_points``, ``age_days``.

    ``score`` is the probability of reaching the target; ``total`` counts the open leads.
    """
    cut = checked_cut(runtime, None, None, as_of)
    fit = score_fit(runtime, as_of, defined_on=defined_on)

    def compute(ws: Workspace) -> dict[str, Any]:
        table = ws.scoring.score(as_of=cut, fit=fit.value)
        return {"total": table.num_rows, "rows": _plain(table.slice(offset, limit).to_pylist())}

    key = ("scoring-leads", as_of, limit, offset, fit.version)
    found = runtime.read(*defined((key, compute), defined_on, runtime.settings))
    return found.value | {"data_version": found.data_version, "stale": found.stale}


@router.get("/leads/{person_id}", summary="Why a lead scores what it does")
def get_explanation(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    person_id: Annotated[str, Path(max_length=200)],
    as_of: Day = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """The lead's score, grade and points, and the features that moved its log-odds most."""
    cut = checked_cut(runtime, None, None, as_of)
    fit = score_fit(runtime, as_of, defined_on=defined_on)

    def compute(ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = _plain(ws.scoring.explain(person_id, as_of=cut, fit=fit.value))
        return out

    key = ("scoring-explain", person_id, as_of, fit.version)
    found = runtime.read(*defined((key, compute), defined_on, runtime.settings))
    return found.value | {"data_version": found.data_version, "stale": found.stale}


@router.get("/threshold", summary="The MQL threshold's trade-off curve and a recommendation")
def get_threshold(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    objective: Literal["capacity", "sqr"] = "capacity",
    sqr_target: Annotated[float | None, Query(gt=0, lt=1)] = None,
    level: Annotated[float, Query(ge=0.5, lt=1)] = 0.9,
    as_of: Day = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """The trade-off per candidate threshold, and the ``recommended`` one under ``objective``.

    Per candidate: MQLs a month, the expected ``sales_qualification_rate`` with its interval
    and the realised one, SQLs a month, the lead→opportunity rate and MQLs per rep per week.
    """
    fit = score_fit(runtime, as_of, defined_on=defined_on)
    request = threshold_request(runtime, objective, sqr_target, level, as_of, fit)
    found = runtime.read(*defined(request, defined_on, runtime.settings))
    agreed = agreements(runtime).current()  # read now: an agreement changes no data version
    return (
        found.value
        | {"agreed": None if agreed is None else agreed.as_dict()}
        | {"data_version": found.data_version, "stale": found.stale}
    )


@router.get("/feedback", summary="Disqualification reasons by source, tested")
def get_feedback(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    by: Annotated[str, Query(max_length=40, description="channel, campaign, …")] = "channel",
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """Disqualification reasons by source, each against the other sources, tested.

    Per reason and group of ``by``: the share of the group's MQLs of the latest period that
    Sales disqualified for it, against the other groups', with BH-adjusted p-values.
    """
    found = runtime.read(*defined(feedback_request(runtime, by), defined_on, runtime.settings))
    return found.value | {"data_version": found.data_version, "stale": found.stale}


def agreements(runtime: Runtime) -> ThresholdAgreements:
    return ThresholdAgreements(runtime.app.db)


class ThresholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(ge=0, le=1, description="The score at which a lead becomes an MQL.")
    objective: str = Field("", max_length=12, description="What it was chosen for.")
    note: str = Field("", max_length=MAX_NOTE)


class ThresholdVoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    vote: Literal["approve", "reject"]
    reason: str = Field("", max_length=MAX_NOTE, description="Required to reject.")


@router.get("/thresholds", summary="The MQL threshold in force, and its proposals")
def list_thresholds(runtime: RuntimeDep, principal: PrincipalDep) -> dict[str, Any]:
    """``agreed``: the threshold in force (or null); ``proposals``: newest first, with votes."""
    store = agreements(runtime)
    agreed = store.current()
    return {
        "agreed": None if agreed is None else agreed.as_dict(),
        "proposals": [a.as_dict() for a in store.list()],
    }


@router.post("/thresholds", status_code=201, summary="Propose an MQL threshold")
def propose_threshold(
    runtime: RuntimeDep, principal: EditorDep, body: ThresholdIn, response: Response
) -> dict[str, Any]:
    """It waits for the sign-off of every team that owns the score's target KPI."""
    made = agreements(runtime).propose(
        body.threshold,
        target=runtime.settings.scoring.target,
        catalogue=runtime.definitions.catalogue,
        objective=body.objective,
        note=body.note,
        actor=principal.actor,
        role=principal.user.role,
    )
    response.headers["Location"] = f"/api/v1/scoring/thresholds/{made.id}"
    return made.as_dict()


@router.post("/thresholds/{threshold_id}/votes", summary="Approve or reject a threshold")
def vote_threshold(
    runtime: RuntimeDep, principal: EditorDep, threshold_id: Id, body: ThresholdVoteIn
) -> dict[str, Any]:
    """Your vote, for your team; the last approval needed puts the threshold in force."""
    return (
        agreements(runtime)
        .vote(
            threshold_id,
            body.vote,
            voter=principal.user.email,
            reason=body.reason,
            actor=principal.actor,
        )
        .as_dict()
    )


@router.post("/thresholds/{threshold_id}/withdraw", summary="Withdraw a threshold proposal")
def withdraw_threshold(
    runtime: RuntimeDep, principal: EditorDep, threshold_id: Id
) -> dict[str, Any]:
    """Its proposer or an admin."""
    return (
        agreements(runtime)
        .withdraw(threshold_id, actor=principal.actor, role=principal.user.role)
        .as_dict()
    )
