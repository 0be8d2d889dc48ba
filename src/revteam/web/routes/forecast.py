"""``/forecast``: the sales forecast and pipeline health (read-only, for every signed-in role).

One report per request, computed by ``ws.goals.forecast_report`` and cached under its options
and the revenue goals (a coverage changes with a target); fitted win models outlive requests
(one forecaster per metrics component), so a second period or segment costs a fraction of the
first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from revteam.goals.component import forecaster_for
from revteam.goals.report import MAX_DEALS, ForecastReport, build_report
from revteam.metrics.request import Where, check_year
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import PrincipalDep, RuntimeDep, WhereDep
from revteam.web.runtime import Runtime
from revteam.workspace import Workspace

router = APIRouter(prefix="/forecast", tags=["forecast"])


def report_request(
    runtime: Runtime,
    *,
    grain: str = "quarter",
    periods: int = 2,
    where: Where = (),
    as_of: dt.date | None = None,
    deals: int = 20,
) -> tuple[Hashable, Callable[[Workspace], ForecastReport]]:
    """The cache key and the computation of one report: the page and the API share both."""
    check_year(as_of, "as_of", runtime.settings.plausible_years)
    settings = runtime.settings
    goals = tuple(runtime.goals.list("revenue"))
    chosen = {d: list(v) for d, v in where}
    cut = None if as_of is None else dt.datetime.combine(as_of, dt.time.max)

    def compute(ws: Workspace) -> ForecastReport:
        return build_report(
            forecaster_for(ws.metrics, settings),
            ws.metrics,
            goals,
            as_of=cut,
            grain=grain,
            periods=periods,
            where=chosen or None,
            deals=deals,
        )

    return ("forecast", grain, periods, tuple(where), as_of, deals, goals), compute


@router.get("", summary="Sales forecast and pipeline health")
def get_forecast(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    where: WhereDep,
    grain: Annotated[
        Literal["month", "quarter", "year"], Query(description="The periods forecast.")
    ] = "quarter",
    periods: Annotated[int, Query(ge=1, le=8, description="Periods from the current one.")] = 2,
    deals: Annotated[
        int, Query(ge=0, le=MAX_DEALS, description="Open deals listed, largest expected first.")
    ] = 20,
    as_of: Annotated[
        dt.date | None, Query(description="Forecast as if the data ended on this day.")
    ] = None,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """Won revenue expected per period from the open pipeline, with a 90% band.

    Win probabilities are calibrated on the company's history (stage, days in stage, deal type,
    segment) and shown beside the CRM's; with the revenue goals' pipeline coverage, the current
    period's pipeline waterfall, stage conversion and time in stage, and the calibrated
    probabilities' Brier score a horizon ago against the CRM's. Dimension filters (e.g.
    ``channel=paid_search``) keep the deals ``open_pipeline`` counts for them.
    """
    request = report_request(
        runtime, grain=grain, periods=periods, where=where, as_of=as_of, deals=deals
    )
    found = runtime.read(*defined(request, defined_on, runtime.settings))
    return found.value.as_dict() | {"data_version": found.data_version, "stale": found.stale}
