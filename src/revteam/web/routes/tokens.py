"""``/tokens``: the signed-in user's own API tokens; ``/admin/tokens``: everyone's (admins).

Admins list every user's tokens with their last use, and revoke any of them, e.g. a token
that leaked or that belongs to someone who left.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from revteam.app import TokenInfo
from revteam.web.deps import AdminDep, PrincipalDep, RuntimeDep
from revteam.web.schemas import (
    MAX_ID,
    AdminTokenList,
    AdminTokenOut,
    Id,
    Offset,
    TokenCreated,
    TokenIn,
    TokenOut,
    next_offset,
)

router = APIRouter(prefix="/tokens", tags=["tokens"])
admin_router = APIRouter(prefix="/admin/tokens", tags=["tokens"])


def token_out(t: TokenInfo) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        revoked_reason=t.revoked_reason,
        active=t.active,
    )


def admin_token_out(t: TokenInfo) -> AdminTokenOut:
    return AdminTokenOut(
        **token_out(t).model_dump(), user_id=t.user_id, user_email=t.user_email or ""
    )


@router.get("", response_model=list[TokenOut], summary="List my API tokens")
def list_tokens(runtime: RuntimeDep, principal: PrincipalDep) -> list[TokenOut]:
    return [token_out(t) for t in runtime.app.tokens.list(principal.user.id)]


@router.post("", response_model=TokenCreated, status_code=201, summary="Create an API token")
def create_token(runtime: RuntimeDep, principal: PrincipalDep, body: TokenIn) -> TokenCreated:
    info, secret = runtime.app.tokens.create(
        principal.user.id, body.name, days=body.days, actor=principal.actor
    )
    return TokenCreated(token=token_out(info), secret=secret)


@router.delete("/{token_id}", response_model=TokenOut, summary="Revoke one of my tokens")
def revoke_token(runtime: RuntimeDep, principal: PrincipalDep, token_id: Id) -> TokenOut:
    return token_out(runtime.app.tokens.revoke(principal.user.id, token_id, actor=principal.actor))


@admin_router.get("", response_model=AdminTokenList, summary="List every user's tokens (admin)")
def list_all_tokens(
    runtime: RuntimeDep,
    principal: AdminDep,
    user_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this user's.")] = None,
    active: Annotated[
        bool | None, Query(description="Only live tokens (true) or only revoked/expired (false).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> AdminTokenList:
    items, total = runtime.app.tokens.list_all(
        user_id=user_id, active=active, limit=limit, offset=offset
    )
    return AdminTokenList(
        items=[admin_token_out(t) for t in items],
        total=total,
        limit=limit,
        offset=offset,
        next_offset=next_offset(total, limit, offset),
    )


@admin_router.delete(
    "/{token_id}", response_model=AdminTokenOut, summary="Revoke any user's token (admin)"
)
def revoke_any_token(runtime: RuntimeDep, principal: AdminDep, token_id: Id) -> AdminTokenOut:
    return admin_token_out(runtime.app.tokens.revoke_any(token_id, actor=principal.actor))
