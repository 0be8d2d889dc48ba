"""``/users`` (admins) and ``/me``: user management over the REST API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from revteam.app import UserInfo
from revteam.web.deps import AdminDep, PrincipalDep, RuntimeDep
from revteam.web.schemas import (
    Id,
    Offset,
    UnlockOut,
    UserCreated,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
    next_offset,
)

router = APIRouter(tags=["users"])


def user_out(u: UserInfo) -> UserOut:
    return UserOut(
        id=u.id,
        email=u.email,
        name=u.name,
        role=u.role,
        team=u.team,
        is_active=u.is_active,
        created_at=u.created_at,
        last_login_at=u.last_login_at,
    )


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(principal: PrincipalDep) -> UserOut:
    return user_out(principal.user)


@router.get("/users", response_model=UserList, summary="List users (admin)")
def list_users(
    runtime: RuntimeDep,
    principal: AdminDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
) -> UserList:
    users = runtime.app.users.list()
    return UserList(
        items=[user_out(u) for u in users[offset : offset + limit]],
        total=len(users),
        limit=limit,
        offset=offset,
        next_offset=next_offset(len(users), limit, offset),
    )


@router.post("/users", response_model=UserCreated, status_code=201, summary="Add a user (admin)")
def add_user(runtime: RuntimeDep, principal: AdminDep, body: UserIn) -> UserCreated:
    user, password = runtime.app.users.add(
        body.email,
        name=body.name,
        role=body.role,
        team=body.team,
        password=body.password,
        actor=principal.actor,
    )
    return UserCreated(user=user_out(user), password=password)


@router.get("/users/{user_id}", response_model=UserOut, summary="Show a user (admin)")
def show_user(runtime: RuntimeDep, principal: AdminDep, user_id: Id) -> UserOut:
    return user_out(runtime.app.users.get(user_id))


@router.patch("/users/{user_id}", response_model=UserOut, summary="Change a user (admin)")
def update_user(runtime: RuntimeDep, principal: AdminDep, user_id: Id, body: UserPatch) -> UserOut:
    """Disabling a user ends their sessions and revokes their API tokens; enabling revives none."""
    user = runtime.app.users.update(
        user_id,
        name=body.name,
        role=body.role,
        team=body.team,
        active=body.active,
        actor=principal.actor,
    )
    return user_out(user)


@router.post(
    "/users/{user_id}/reset-password",
    response_model=UserCreated,
    summary="Give a user a new random password (admin)",
)
def reset_password(runtime: RuntimeDep, principal: AdminDep, user_id: Id) -> UserCreated:
    """Also ends the user's sessions, revokes their API tokens and unlocks their sign-in."""
    user, password = runtime.app.users.reset_password(user_id, actor=principal.actor)
    return UserCreated(user=user_out(user), password=password)


@router.post(
    "/users/{user_id}/unlock",
    response_model=UnlockOut,
    summary="Let every address try signing in to a user's account again (admin)",
)
def unlock_user(runtime: RuntimeDep, principal: AdminDep, user_id: Id) -> UnlockOut:
    user, cleared = runtime.app.users.unlock(user_id, actor=principal.actor)
    return UnlockOut(user=user_out(user), cleared=cleared)
