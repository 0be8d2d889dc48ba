"""``/dimensions``: the conformed dimensions and the values each one takes in the data."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from revteam.metrics import BREAKDOWNS, DIMENSIONS
from revteam.metrics.dimensions import VALUES
from revteam.web.deps import PrincipalDep, RuntimeDep
from revteam.web.schemas import DimensionOut, DimensionValue, DimensionValues, Offset, next_offset

router = APIRouter(prefix="/dimensions", tags=["dimensions"])


@router.get("", response_model=list[DimensionOut], summary="List dimensions")
def list_dimensions(principal: PrincipalDep) -> list[DimensionOut]:
    conformed = [
        DimensionOut(name=d, description=t, kind="conformed", closed=d in VALUES)
        for d, t in DIMENSIONS.items()
    ]
    return conformed + [
        DimensionOut(name=d, description=t, kind="breakdown", closed=False)
        for d, t in BREAKDOWNS.items()
    ]


@router.get("/{name}/values", response_model=DimensionValues, summary="Values of a dimension")
def values(
    runtime: RuntimeDep,
    principal: PrincipalDep,
    name: Annotated[str, Path(max_length=64)],
    q: Annotated[str, Query(max_length=100, description="Keep values containing this.")] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> DimensionValues:
    found = runtime.read(("values", name, q), lambda ws: ws.metrics.dimension_values(name, q)).value
    items = [DimensionValue(value=v, label=label) for v, label in found[offset : offset + limit]]
    return DimensionValues(
        dimension=name,
        items=items,
        total=len(found),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(found), limit, offset),
    )
