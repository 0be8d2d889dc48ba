"""``/health``: is the server up (the one API route that needs no sign-in)."""

from __future__ import annotations

from fastapi import APIRouter, Request

import revteam
from revteam.web.schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health, summary="Liveness check, and whether the views are warm")
def health(request: Request) -> Health:
    warmer = getattr(request.app.state, "warmer", None)
    return Health(
        status="ok", version=revteam.__version__, warm=None if warmer is None else warmer.ready
    )
