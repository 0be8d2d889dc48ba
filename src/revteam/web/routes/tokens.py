"""``/tokens``: the signed-in user's own API tokens."""

from __future__ import annotations

from fastapi import APIRouter

from revteam.app import TokenInfo
from revteam.web.deps import PrincipalDep, RuntimeDep
from revteam.web.schemas import Id, TokenCreated, TokenIn, TokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"])


def token_out(t: TokenInfo) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        created_at=t.created_at,
        last_used_at=t.last_used_at,
        expires_at=t.expires_at,
        revoked_at=t.revoked_at,
        active=t.active,
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
