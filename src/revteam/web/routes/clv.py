"""``/clv``: customer-value fits and predictions (BG/NBD, Gamma-Gamma, sBG).

``ws.clv``'s, read through :meth:`Runtime.read` under the options (and the data version, as
every read): the Customer value page and the API share the cache entries. Per-customer answers
are paged (at most ``MAX_PAGE`` rows a request).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Hashable
from typing import Annotated, Any, Literal

import pyarrow.compute as pc
from fastapi import APIRouter, Query

from revteam.exceptions import ClvError
from revteam.web.defined import DefinedOn, defined
from revteam.web.deps import PrincipalDep, RuntimeDep
from revteam.web.routes.attribution import checked_cut
from revteam.web.runtime import Runtime
from revteam.workspace import Workspace

router = APIRouter(prefix="/clv", tags=["customer value"])
ModelName = Literal["bg_nbd", "gamma_gamma", "sbg"]
TimeUnit = Literal["day", "week", "month"]
MAX_PAGE = 1000


@dataclasses.dataclass(frozen=True)
class ClvRequest:
    start: dt.date | None = None
    end: dt.date | None = None
    time_unit: str | None = None
    segment: str | None = None
    as_of: dt.date | None = None

    def options(self, runtime: Runtime) -> dict[str, Any]:
        cut = checked_cut(runtime, self.start, self.end, self.as_of)
        return {
            "start": self.start,
            "end": self.end,
            "time_unit": self.time_unit,
            "segment": self.segment,
            "as_of": cut,
        }


def fit_request(
    runtime: Runtime, model: str, req: ClvRequest
) -> tuple[Hashable, Callable[[Workspace], dict[str, Any]]]:
    """The cache key and computation of one fit (checked first, without data)."""
    options = req.options(runtime)

    def compute(ws: Workspace) -> dict[str, Any]:
        out: dict[str, Any] = json.loads(
            json.dumps(ws.clv.fit(model, **options).as_dict(), default=str)
        )
        return out

    return ("clv-fit", model, req), compute


def segments_request(
    runtime: Runtime, req: ClvRequest, *, intervals: bool = False, level: float = 0.9
) -> tuple[Hashable, Callable[[Workspace], dict[str, Any]]]:
    """Predictions summed or averaged per segment and for all customers.

    With ``intervals``: of the mean predicted value, by a parametric bootstrap.
    """
    options = req.options(runtime)

    def compute(ws: Workspace) -> dict[str, Any]:
        rows = ws.clv.by_segment(ws.clv.predict(**options))
        note = None
        if intervals:
            try:
                found = ws.clv.intervals(**options, level=level)
            except ClvError as exc:  # the predictions stand; say why they have no interval
                found, note = {}, str(exc)
            for row in rows:
                low, high = found.get(row["segment"], (None, None))
                row["predicted_value_low"], row["predicted_value_high"] = low, high
        return {"rows": rows, "intervals_note": note}

    key = ("clv-segments", req, intervals, level if intervals else None)
    return key, compute


Day = Annotated[dt.date | None, Query(description="YYYY-MM-DD, inclusive.")]
Unit = Annotated[TimeUnit | None, Query(description="Default: [clv] time_unit.")]
Segment = Annotated[str | None, Query(max_length=100, description="One account segment.")]


@router.get("/fit", summary="A customer-value model fitted on the calibration period")
def get_fit(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    model: ModelName = "bg_nbd",
    start: Day = None,
    end: Day = None,
    time_unit: Unit = None,
    segment: Segment = None,
    as_of: Day = None,
) -> dict[str, Any]:
    """The fit's ``params``, standard errors ``se`` and ``log_likelihood``.

    With the customers fitted and any ``warnings``. See docs/clv.md.
    """
    req = ClvRequest(start, end, time_unit, segment, as_of)
    found = runtime.read(*fit_request(runtime, model, req))
    return found.value | {"data_version": found.data_version, "stale": found.stale}


@router.get("", summary="Predicted value per segment, or per customer (paged)")
def get_predictions(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    by: Literal["segment", "customer"] = "segment",
    start: Day = None,
    end: Day = None,
    time_unit: Unit = None,
    segment: Segment = None,
    as_of: Day = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    offset: Annotated[int, Query(ge=0, le=100_000_000)] = 0,
    intervals: Annotated[
        bool, Query(description="By segment: intervals of the mean predicted value.")
    ] = False,
    level: Annotated[float, Query(ge=0.5, lt=1)] = 0.9,
) -> dict[str, Any]:
    """BG/NBD + Gamma-Gamma predictions per segment, or per customer.

    ``p_alive``, ``expected_purchases`` and ``predicted_value`` over ``[clv] horizon_months``
    discounted at ``[clv] discount_rate``; per customer the largest predicted value first.
    """
    req = ClvRequest(start, end, time_unit, segment, as_of)
    if by == "segment":
        summed = runtime.read(*segments_request(runtime, req, intervals=intervals, level=level))
        rows, note = summed.value["rows"], summed.value["intervals_note"]
        version, stale = summed.data_version, summed.stale
    else:
        options = req.options(runtime)

        def compute(ws: Workspace) -> list[dict[str, Any]]:
            table = ws.clv.predict(**options)
            order = pc.sort_indices(table, sort_keys=[("predicted_value", "descending")])
            page = table.take(order[offset : offset + limit])
            out: list[dict[str, Any]] = json.loads(json.dumps(page.to_pylist(), default=str))
            return out

        found = runtime.read(("clv-customers", req, limit, offset), compute)
        rows, note = found.value, None
        version, stale = found.data_version, found.stale
    cfg = runtime.settings.clv
    return {
        "by": by,
        "rows": rows,
        "intervals_note": note,
        "horizon_months": cfg.horizon_months,
        "discount_rate": cfg.discount_rate,
        "limit": limit,
        "offset": offset,
        "data_version": version,
        "stale": stale,
    }


def triangle_request(
    runtime: Runtime, grain: str, segment: str | None
) -> tuple[Hashable, Callable[[Workspace], list[dict[str, Any]]]]:
    """Retention by acquisition cohort and renewal (the triangle)."""

    def compute(ws: Workspace) -> list[dict[str, Any]]:
        return ws.clv.triangle(grain=grain, segment=segment)

    return ("clv-triangle", grain, segment), compute


@router.get("/retention", summary="Retention by acquisition cohort and renewal (the triangle)")
def get_retention(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    grain: Literal["month", "quarter", "year"] = "quarter",
    segment: Segment = None,
) -> dict[str, Any]:
    """Per acquisition cohort: ``customers``, and per renewal k the share ``retained``.

    Of the customers ``observed`` at k: due by now, and churned or renewed k times.
    """
    found = runtime.read(*triangle_request(runtime, grain, segment))
    return {"rows": found.value, "data_version": found.data_version, "stale": found.stale}


def value_request(
    runtime: Runtime, by: str | None, req: ClvRequest, level: float
) -> tuple[Hashable, Callable[[Workspace], dict[str, Any]]]:
    """Predicted CLV and CLV:CAC per group, with the model's parametric-bootstrap intervals."""
    cut = checked_cut(runtime, req.start, req.end, req.as_of)

    def compute(ws: Workspace) -> dict[str, Any]:
        found = ws.clv.value_by(by, start=req.start, end=req.end, as_of=cut, level=level)
        return {"rows": found["rows"], "intervals_note": found["intervals_note"]}

    return ("clv-value", by, req, level), compute


@router.get("/value", summary="Predicted CLV and CLV:CAC per group, with intervals")
def get_value(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    by: Annotated[
        str | None,
        Query(max_length=40, description="A dimension of clv_predicted (channel, campaign, …)."),
    ] = None,
    start: Day = None,
    end: Day = None,
    as_of: Day = None,
    level: Annotated[float, Query(ge=0.5, lt=1)] = 0.9,
    defined_on: DefinedOn = None,
) -> dict[str, Any]:
    """``clv_predicted`` and ``clv_to_cac_predicted`` (the catalogue's) per group of ``by``.

    For the customers acquired from ``start`` to ``end``; ``low``/``high`` (and
    ``clv_to_cac_low``/``_high``) are the ``level`` interval of a parametric bootstrap of the
    workspace's ``[clv] model`` (null, with ``intervals_note`` saying why, when a model's
    standard errors are undefined); the last row, ``(all)``, is everyone's.
    """
    req = ClvRequest(start, end, None, None, as_of)
    request = value_request(runtime, by, req, level)
    found = runtime.read(*defined(request, defined_on, runtime.settings))
    return {
        "by": by,
        "level": level,
        "rows": found.value["rows"],
        "intervals_note": found.value["intervals_note"],
        "data_version": found.data_version,
        "stale": found.stale,
    }


def holdout_request(
    runtime: Runtime, weeks: int, segment: str | None
) -> tuple[Hashable, Callable[[Workspace], dict[str, Any]]]:
    """BG/NBD's predicted against actual repeat purchases of the last ``weeks``."""

    def compute(ws: Workspace) -> dict[str, Any]:
        return ws.clv.holdout(weeks=weeks, segment=segment)

    return ("clv-holdout", weeks, segment), compute


@router.get("/holdout", summary="Predicted against actual repeat purchases in a holdout")
def get_holdout(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    weeks: Annotated[int, Query(ge=1, le=520)] = 26,
    segment: Segment = None,
) -> dict[str, Any]:
    """Predicted against actual repeat purchases of the last ``weeks`` (fitted before them).

    Per calibration frequency the mean ``predicted`` and ``actual``, and the ``total``.
    """
    found = runtime.read(*holdout_request(runtime, weeks, segment))
    return found.value | {"data_version": found.data_version, "stale": found.stale}
