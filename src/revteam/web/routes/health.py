"""``/health``: is the server up (the one API route that needs no sign-in)."""

from __future__ import annotations

from fastapi import APIRouter

import revteam
from revteam.web.schemas import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health, summary="Liveness check")
def health() -> Health:
    return Health(status="ok", version=revteam.__version__)
