"""``/attribution``: credit by channel or campaign under one model or all, and per-touch audits.

The journeys and credit are ``ws.attribution``'s, read through :meth:`Runtime.read` under the
options (and the data version and definitions, as every read): the page and the API share the
cache entries, so they show the same numbers. Every answer names its model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from revteam.attribution import MODELS, Attribution
from revteam.metrics.request import check_year
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import PrincipalDep, RuntimeDep
from revteam.web.runtime import Runtime
from revteam.workspace import Workspace

router = APIRouter(prefix="/attribution", tags=["attribution"])
ModelName = Literal[
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "u_shaped",
    "w_shaped",
    "markov",
    "shapley",
]
ConversionName = Literal["lead", "mql", "sql", "opportunity", "won", "customer"]
ByName = Literal["channel", "campaign"]
MAX_AUDIT_PAGE = 1000


@dataclasses.dataclass(frozen=True)
class AttributionRequest:
    models: tuple[str, ...]
    conversion: str = "opportunity"
    by: str = "channel"
    start: dt.date | None = None
    end: dt.date | None = None
    as_of: dt.date | None = None
    order: int | None = None
    half_life_days: float | None = None
    intervals: bool = False
    level: float = 0.9


def checked_cut(
    runtime: Runtime, start: dt.date | None, end: dt.date | None, as_of: dt.date | None
) -> dt.datetime | None:
    """The days checked against ``plausible_years`` (before any data is read); the as-of time."""
    for value, name in ((start, "start"), (end, "end"), (as_of, "as_of")):
        check_year(value, name, runtime.settings.plausible_years)
    return None if as_of is None else dt.datetime.combine(as_of, dt.time.max)


def attribution_request(
    runtime: Runtime, req: AttributionRequest
) -> tuple[Hashable, Callable[[Workspace], list[Attribution]]]:
    """The cache key and computation of one comparison (checked first, without data)."""
    cut = checked_cut(runtime, req.start, req.end, req.as_of)

    def compute(ws: Workspace) -> list[Attribution]:
        return ws.attribution.compare(
            list(req.models),
            conversion=req.conversion,
            by=req.by,
            start=req.start,
            end=req.end,
            as_of=cut,
            order=req.order,
            half_life_days=req.half_life_days,
            intervals=req.intervals,
            level=req.level,
        )

    return ("attribution", req), compute


def as_json(result: Attribution) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(json.dumps(result.as_dict(), default=str))
    return parsed


Day = Annotated[dt.date | None, Query(description="YYYY-MM-DD, inclusive.")]


@router.get("", summary="Credit by channel or campaign under one model, or all")
def get_attribution(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    model: Annotated[
        list[ModelName] | None,
        Query(description="Models (repeatable); default the workspace's [attribution] model."),
    ] = None,
    compare_models: Annotated[bool, Query(description="Every model, side by side.")] = False,
    conversion: ConversionName = "opportunity",
    by: ByName = "channel",
    start: Day = None,
    end: Day = None,
    as_of: Day = None,
    order: Annotated[int | None, Query(ge=1, le=3, description="Markov chain order.")] = None,
    half_life_days: Annotated[
        float | None, Query(gt=0, le=3650, description="Time decay's half-life in days.")
    ] = None,
    intervals: Annotated[bool, Query(description="Bootstrap intervals of each credit.")] = False,
    level: Annotated[float, Query(ge=0.5, lt=1)] = 0.9,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """Each segment's ``credit`` (conversions, summing to their number) and ``amount``.

    One result per model: ``rows`` (``channel`` or ``campaign``, ``credit``, ``amount``,
    ``share``, ``model``, with intervals ``credit_low``/``credit_high``), the conversions,
    journeys and notes. See docs/attribution.md.
    """
    if compare_models:
        models = MODELS
    else:
        models = tuple(dict.fromkeys(model or [runtime.settings.attribution.model]))
    req = AttributionRequest(
        models, conversion, by, start, end, as_of, order, half_life_days, intervals, level
    )
    found = runtime.read(*defined(attribution_request(runtime, req), defined_on, runtime.settings))
    return {
        "results": [as_json(r) for r in found.value],
        "data_version": found.data_version,
        "stale": found.stale,
    }


@router.get("/audit", summary="Each touch of each conversion and its credit under each model")
def get_audit(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    conversion: ConversionName = "opportunity",
    by: ByName = "channel",
    model: Annotated[list[ModelName] | None, Query(description="Models (default all).")] = None,
    conversion_id: Annotated[
        str | None, Query(max_length=200, description="One conversion (person or deal id).")
    ] = None,
    start: Day = None,
    end: Day = None,
    as_of: Day = None,
    limit: Annotated[int, Query(ge=1, le=MAX_AUDIT_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """A page of touches; every conversion's credits sum to 1 under every model.

    The conversions are the records of a catalogue metric, so ``defined_on`` picks them as
    they were defined by the end of that day.
    """
    cut = checked_cut(runtime, start, end, as_of)
    models = tuple(model or MODELS)
    key = ("attribution-audit", conversion, by, models, conversion_id, start, end, as_of)

    def compute(ws: Workspace) -> list[dict[str, Any]]:
        table = ws.attribution.audit(
            list(models),
            conversion=conversion,
            by=by,
            start=start,
            end=end,
            as_of=cut,
            conversion_id=conversion_id,
            limit=limit,
            offset=offset,
        )
        rows: list[dict[str, Any]] = json.loads(json.dumps(table.to_pylist(), default=str))
        return rows

    found = runtime.read(*defined(((*key, limit, offset), compute), defined_on, runtime.settings))
    return {
        "models": list(models),
        "rows": found.value,
        "limit": limit,
        "offset": offset,
        "data_version": found.data_version,
        "stale": found.stale,
    }


@router.get("/sourcing", summary="Sourced (each rule) versus influenced pipeline")
def get_sourcing(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    start: Day = None,
    end: Day = None,
    as_of: Day = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """``marketing_sourced_pipeline`` under each of the three sourcing rules.

    ``active``: the catalogue's rule; the last row is the pipeline marketing influenced (a
    marketing touch before the deal).
    """
    request = sourcing_request(runtime, start, end, as_of)
    found = runtime.read(*defined(request, defined_on, runtime.settings))
    return {"rows": found.value, "data_version": found.data_version, "stale": found.stale}


def sourcing_request(
    runtime: Runtime, start: dt.date | None, end: dt.date | None, as_of: dt.date | None
) -> tuple[Hashable, Callable[[Workspace], list[dict[str, Any]]]]:
    cut = checked_cut(runtime, start, end, as_of)

    def compute(ws: Workspace) -> list[dict[str, Any]]:
        return ws.attribution.sourcing(start=start, end=end, as_of=cut)

    return ("attribution-sourcing", start, end, as_of), compute


def budget_request(
    runtime: Runtime,
    model: str | None,
    grain: str,
    start: dt.date | None,
    end: dt.date | None,
    as_of: dt.date | None,
) -> tuple[Hashable, Callable[[Workspace], list[dict[str, Any]]]]:
    cut = checked_cut(runtime, start, end, as_of)
    chosen = model or runtime.settings.attribution.model

    def compute(ws: Workspace) -> list[dict[str, Any]]:
        table = ws.attribution.budget(chosen, grain=grain, start=start, end=end, as_of=cut)
        rows: list[dict[str, Any]] = table.to_pylist()
        return rows

    return ("attribution-budget", chosen, grain, start, end, as_of), compute


@router.get("/budget", summary="Campaign budget versus spend versus attributed return")
def get_budget(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    model: ModelName | None = None,
    grain: Literal["month", "quarter", "year", "all"] = "month",
    start: Day = None,
    end: Day = None,
    as_of: Day = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """Per period and campaign: budget, spend, attributed return and the ROI of the spend.

    The budget is spread evenly over the campaign's run, the spend is its marketing cost, the
    attributed pipeline and revenue are under the model (default: the workspace's).
    """
    request = budget_request(runtime, model, grain, start, end, as_of)
    found = runtime.read(*defined(request, defined_on, runtime.settings))
    return {"rows": found.value, "data_version": found.data_version, "stale": found.stale}
