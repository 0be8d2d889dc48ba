"""Application state: users, roles, teams, API tokens, web sessions and the audit log.

It lives in the application database (SQLAlchemy 2, Alembic migrations shipped in
``revteam/app/migrations``), not in the warehouse: it is small, transactional and changes one
row at a time. ``open_app(path)`` opens (and migrates) a workspace's database.
"""

from __future__ import annotations

from revteam.app.access import TokenInfo
from revteam.app.models import ROLE_RANK, ROLES, TEAMS
from revteam.app.state import (
    DEMO_EMAIL,
    SECRET_ENV,
    AppState,
    current_revision,
    demo_sign_in,
    head_revision,
    load_secret_key,
    open_app,
    upgrade,
)
from revteam.app.throttle import ThrottleInfo, ThrottlePolicy
from revteam.app.users import CLI, GENERIC_FAILURE, SYSTEM, Actor, AuditEntry, AuditLog, UserInfo

__all__ = [
    "CLI",
    "DEMO_EMAIL",
    "GENERIC_FAILURE",
    "ROLES",
    "ROLE_RANK",
    "SECRET_ENV",
    "SYSTEM",
    "TEAMS",
    "Actor",
    "AppState",
    "AuditEntry",
    "AuditLog",
    "ThrottleInfo",
    "ThrottlePolicy",
    "TokenInfo",
    "UserInfo",
    "current_revision",
    "demo_sign_in",
    "head_revision",
    "load_secret_key",
    "open_app",
    "upgrade",
]
