"""Users and the audit log: add, list, change and disable users; sign in with a password.

Callers get :class:`UserInfo` snapshots, never ORM objects, so nothing outside this package
depends on a database session being open. Every change appends to the audit log inside the
same transaction; entries keep the actor's e-mail as text, so they still say who acted after
the user is gone.

Credentials end together: a password change or reset, or disabling a user, revokes every API
token of theirs in the same transaction (re-enabling a user revives none), and a reset or
disable also ends their web sessions.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from revteam.app import credentials
from revteam.app.models import ROLES, TEAMS, ApiToken, AuditEvent, User, WebSession, utcnow
from revteam.app.throttle import Attempt, Throttle, clear_account
from revteam.exceptions import (
    AuthenticationError,
    UnknownUserError,
    UserError,
    UserExistsError,
)
from revteam.storage import AppDatabase


@dataclass(frozen=True)
class Actor:
    """Who acts: a signed-in user, the command line, or the system."""

    name: str
    user_id: int | None = None
    ip: str | None = None


CLI = Actor("cli")
SYSTEM = Actor("system")


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any]
    ip: str | None


def record(
    session: Session,
    actor: Actor,
    action: str,
    target: str | None = None,
    **detail: Any,
) -> None:
    """Append an entry inside the caller's transaction (it commits with the change itself)."""
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor.user_id,
            actor=actor.name,
            action=action,
            target=target,
            detail=json.dumps(detail, default=str, sort_keys=True) if detail else None,
            ip=actor.ip,
        )
    )


class AuditLog:
    """Read the audit log, newest first."""

    def __init__(self, db: AppDatabase) -> None:
        self._db = db

    def list(self, *, limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
        with self._db.session() as s:
            return [_entry(e) for e in s.scalars(stmt)]

    def count(self) -> int:
        with self._db.session() as s:
            return int(s.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def _entry(e: AuditEvent) -> AuditEntry:
    detail = json.loads(e.detail) if e.detail else {}
    return AuditEntry(e.id, e.at, e.actor, e.action, e.target, detail, e.ip)


GENERIC_FAILURE = "Wrong e-mail or password."
"""The one message for every failed sign-in: it never says which part was wrong."""

PASSWORD_CHANGED = "password changed"  # noqa: S105 (a reason, not a password)
PASSWORD_RESET = "password reset"  # noqa: S105 (a reason, not a password)
USER_DISABLED = "user disabled"
"""Why a user's API tokens were revoked with their credentials (``api_tokens.revoked_reason``)."""


def revoke_tokens(s: Session, user_id: int, reason: str) -> int:
    """Revoke every live API token of a user inside the caller's transaction; returns how many."""
    result = s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class UserInfo:
    id: int
    email: str
    name: str
    role: str
    team: str
    is_active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


def info(u: User) -> UserInfo:
    return UserInfo(
        u.id, u.email, u.name, u.role, u.team, u.is_active, u.created_at, u.last_login_at
    )


USER_COLUMNS = (
    User.id,
    User.email,
    User.name,
    User.role,
    User.team,
    User.is_active,
    User.created_at,
    User.last_login_at,
)
"""Selected as plain columns on hot paths (every request's sign-in check): no ORM objects."""


def info_from(row: Sequence[Any]) -> UserInfo:
    """A :class:`UserInfo` from a row that starts with :data:`USER_COLUMNS`."""
    return UserInfo(*row[: len(USER_COLUMNS)])


def normalise_email(email: str) -> str:
    value = email.strip().lower()
    local, at, domain = value.partition("@")
    if not (local and at and domain) or len(value) > 320 or any(c.isspace() for c in value):
        raise UserError(f"{email!r} is not an e-mail address (expected name@example.com).")
    return value


def _check_choice(kind: str, value: str, allowed: dict[str, str]) -> str:
    if value not in allowed:
        raise UserError(f"Unknown {kind} {value!r}; expected one of: {', '.join(allowed)}.")
    return value


class UserStore:
    """The users of a workspace's application database."""

    def __init__(self, db: AppDatabase, throttle: Throttle) -> None:
        self._db = db
        self._throttle = throttle

    def add(
        self,
        email: str,
        *,
        name: str = "",
        role: str = "viewer",
        team: str = "revops",
        password: str | None = None,
        actor: Actor = CLI,
    ) -> tuple[UserInfo, str | None]:
        """Create a user; returns it and the generated password (``None`` if one was given)."""
        email = normalise_email(email)
        _check_choice("role", role, ROLES)
        _check_choice("team", team, TEAMS)
        generated = None if password else credentials.random_password()
        secret = password or generated or ""
        credentials.check_policy(secret, email=email, name=name)
        with self._db.session(write=True) as s:
            if s.scalar(select(User.id).where(User.email == email)) is not None:
                raise UserExistsError(email)
            user = User(
                email=email,
                name=name.strip() or email.split("@")[0],
                password_hash=credentials.hash_password(secret),
                role=role,
                team=team,
                is_active=True,
            )
            s.add(user)
            s.flush()
            record(s, actor, "user.add", email, role=role, team=team)
            return info(user), generated

    def list(self) -> list[UserInfo]:
        """Every user, disabled ones too (admins re-enable them from the list)."""
        with self._db.session() as s:
            return [info(u) for u in s.scalars(select(User).order_by(User.email))]

    def count(self) -> int:
        with self._db.session() as s:
            return int(s.scalar(select(func.count()).select_from(User)) or 0)

    def get(self, key: str | int) -> UserInfo:
        """A user by e-mail or id."""
        with self._db.session() as s:
            return info(self._load(s, key))

    def _load(self, s: Session, key: str | int) -> User:
        if isinstance(key, int):
            user = s.get(User, key)
        else:
            user = s.scalar(select(User).where(User.email == key.strip().lower()))
        if user is None:
            raise UnknownUserError("user", key)
        return user

    def update(
        self,
        key: str | int,
        *,
        name: str | None = None,
        role: str | None = None,
        team: str | None = None,
        active: bool | None = None,
        actor: Actor = CLI,
    ) -> UserInfo:
        """Change a user's name, role, team or whether they may sign in.

        Disabling a user ends their sessions and revokes their API tokens at once; enabling
        them again revives neither.
        """
        with self._db.session(write=True) as s:
            user = self._load(s, key)
            was_admin = user.role == "admin" and user.is_active
            changes: dict[str, object] = {}
            if name is not None and name.strip():
                user.name = changes["name"] = name.strip()
            if role is not None:
                user.role = changes["role"] = _check_choice("role", role, ROLES)
            if team is not None:
                user.team = changes["team"] = _check_choice("team", team, TEAMS)
            if active is not None:
                user.is_active = changes["active"] = active
                if not active:
                    s.execute(delete(WebSession).where(WebSession.user_id == user.id))
                    changes["tokens_revoked"] = revoke_tokens(s, user.id, USER_DISABLED)
            if was_admin:
                self._keep_an_admin(s)
            record(s, actor, "user.update", user.email, **changes)
            return info(user)

    def _keep_an_admin(self, s: Session) -> None:
        s.flush()
        admins = s.scalar(
            select(func.count()).select_from(User).where(User.role == "admin", User.is_active)
        )
        if not admins:
            raise UserError(
                "That change would leave no active admin; make someone else admin first."
            )

    def disable(self, key: str | int, *, actor: Actor = CLI) -> UserInfo:
        return self.update(key, active=False, actor=actor)

    def reset_password(
        self, key: str | int, password: str | None = None, *, actor: Actor = CLI
    ) -> tuple[UserInfo, str | None]:
        """Set a new password (random if not given).

        The user's sessions end, their API tokens are revoked and their failed sign-ins
        forgotten.
        """
        generated = None if password else credentials.random_password()
        secret = password or generated or ""
        with self._db.session(write=True) as s:
            user = self._load(s, key)
            credentials.check_policy(secret, email=user.email, name=user.name)
            user.password_hash = credentials.hash_password(secret)
            user.password_changed_at = utcnow()
            s.execute(delete(WebSession).where(WebSession.user_id == user.id))
            revoked = revoke_tokens(s, user.id, PASSWORD_RESET)
            clear_account(s, user.email)
            record(s, actor, "user.reset_password", user.email, tokens_revoked=revoked)
            return info(user), generated

    def unlock(self, key: str | int, *, actor: Actor = CLI) -> tuple[UserInfo, int]:
        """Forget every address's failed sign-ins on a user's account; returns how many."""
        with self._db.session(write=True) as s:
            user = self._load(s, key)
            cleared = clear_account(s, user.email)
            record(s, actor, "user.unlock", user.email, cleared=cleared)
            return info(user), cleared

    def change_password(
        self, user_id: int, current: str, new: str, *, ip: str | None = None
    ) -> UserInfo:
        """Change one's own password: the current one is checked like a sign-in first.

        Every API token of the user is revoked; the caller ends their other sessions.
        """
        user = self.get(user_id)
        self.authenticate(user.email, current, ip=ip)
        credentials.check_policy(new, email=user.email, name=user.name)
        with self._db.session(write=True) as s:
            row = self._load(s, user_id)
            row.password_hash = credentials.hash_password(new)
            row.password_changed_at = utcnow()
            revoked = revoke_tokens(s, row.id, PASSWORD_CHANGED)
            actor = Actor(row.email, row.id, ip)
            record(s, actor, "user.change_password", row.email, tokens_revoked=revoked)
            return info(row)

    def authenticate(self, email: str, password: str, *, ip: str | None = None) -> UserInfo:
        """The user with these credentials, or :class:`AuthenticationError` (one generic message).

        The attempt is counted before the password is checked, and an address that must wait
        (:class:`TooManyAttemptsError`) is refused without checking it.
        """
        attempt = self._throttle.attempt(email, ip)
        try:
            with self._db.session() as s:
                user = s.scalar(select(User).where(User.email == email.strip().lower()))
                stored = user.password_hash if user is not None else None
            ok = stored is not None and credentials.verify_password(stored, password[:2048])
            if stored is None:
                credentials.burn_time(password[:2048])
        except Exception:
            self._throttle.cancel(attempt)  # no password was judged (e.g. hashing was busy)
            raise
        if not ok or user is None or not user.is_active:
            self._failed(attempt, ip)
            raise AuthenticationError(GENERIC_FAILURE)
        return self._signed_in(user.id, password, ip, attempt)

    def _signed_in(self, user_id: int, password: str, ip: str | None, attempt: Attempt) -> UserInfo:
        with self._db.session(write=True) as s:
            user = self._load(s, user_id)
            user.last_login_at = utcnow()
            if credentials.needs_rehash(user.password_hash):
                user.password_hash = credentials.hash_password(password)
            self._throttle.succeeded(s, attempt)
            record(s, Actor(user.email, user.id, ip), "login")
            return info(user)

    def _failed(self, attempt: Attempt, ip: str | None) -> None:
        """Log the failure, and any wait it started (refused attempts during a wait are not)."""
        actor = Actor(attempt.account, None, ip)
        with self._db.session(write=True) as s:
            record(s, actor, "login.failed")
            for lock in attempt.locks:
                scope = "account from address" if lock.account else "address"
                target = lock.account or lock.address
                detail = {"failures": lock.failures, "wait_seconds": lock.seconds}
                record(s, actor, "login.throttled", target, scope=scope, **detail)
