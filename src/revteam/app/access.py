"""How callers prove who they are after signing in: API tokens and web sessions.

Both are random secrets handed out once and stored only as their SHA-256. A fast hash is
right here (unlike passwords): the secrets have full entropy, so they cannot be guessed from
their hash, and every request must check one cheaply.

- An API token (``Authorization: Bearer rvt_…``) acts with its user's current role and stops
  working when revoked, expired, or when its user is disabled. A password change or reset and
  disabling the user revoke it for good (see :mod:`revteam.app.users`); admins list and revoke
  every user's tokens. Its last use is recorded, at most once per :data:`TOUCH_EVERY`.
- A web session lives server-side, so it can be ended at once: signing out, disabling a user
  or resetting their password ends every session of theirs.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from revteam.app.models import ApiToken, User, WebSession, utcnow
from revteam.app.users import USER_COLUMNS, Actor, UserInfo, info_from, record
from revteam.exceptions import UnknownUserError, UserError
from revteam.storage import AppDatabase

PREFIX = "rvt_"
TOUCH_EVERY = dt.timedelta(minutes=1)
"""``last_used_at``/``last_seen_at`` are written at most this often, not on every request."""


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    prefix: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None
    revoked_reason: str | None = None
    user_email: str | None = None
    """Filled in admins' lists of every user's tokens."""

    @property
    def active(self) -> bool:
        now = utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def status(self) -> str:
        """``active``, ``expired``, or why it was revoked."""
        if self.revoked_at is not None:
            return self.revoked_reason or "revoked"
        return "active" if self.active else "expired"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


REVOKED_BY_OWNER = "revoked by owner"
REVOKED_BY_ADMIN = "revoked by admin"


def _info(t: ApiToken, user_email: str | None = None) -> TokenInfo:
    return TokenInfo(
        t.id,
        t.user_id,
        t.name,
        t.prefix,
        t.created_at,
        t.last_used_at,
        t.expires_at,
        t.revoked_at,
        t.revoked_reason,
        user_email,
    )


class TokenStore:
    """Create, list, revoke and resolve API tokens."""

    def __init__(self, db: AppDatabase) -> None:
        self._db = db

    def create(
        self, user_id: int, name: str, *, days: int | None = None, actor: Actor
    ) -> tuple[TokenInfo, str]:
        """A new token for ``user_id``; returns its record and the token (shown only now)."""
        name = name.strip()
        if not name or len(name) > 100:
            raise UserError("A token needs a name of 1 to 100 characters, e.g. 'notebook'.")
        if days is not None and not 1 <= days <= 3650:
            raise UserError(f"Token lifetime must be 1 to 3650 days, not {days}.")
        token = PREFIX + secrets.token_urlsafe(32)
        expires = utcnow() + dt.timedelta(days=days) if days else None
        with self._db.session(write=True) as s:
            if s.get(User, user_id) is None:
                raise UnknownUserError("user", user_id)
            row = ApiToken(
                user_id=user_id,
                name=name,
                prefix=token[:12],
                token_hash=token_hash(token),
                expires_at=expires,
            )
            s.add(row)
            s.flush()
            record(s, actor, "token.create", f"token {row.id}", name=name, user_id=user_id)
            return _info(row), token

    def list(self, user_id: int) -> list[TokenInfo]:
        stmt = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id.desc())
        with self._db.session() as s:
            return [_info(t) for t in s.scalars(stmt)]

    def list_all(
        self,
        *,
        user_id: int | None = None,
        active: bool | None = None,
        limit: int | None = 100,
        offset: int = 0,
    ) -> tuple[builtins.list[TokenInfo], int]:
        """Every user's tokens, newest first, with their e-mails (for admins); and the total."""
        now = utcnow()
        live = (ApiToken.revoked_at.is_(None)) & (
            ApiToken.expires_at.is_(None) | (ApiToken.expires_at > now)
        )
        conditions = [] if user_id is None else [ApiToken.user_id == user_id]
        if active is not None:
            conditions.append(live if active else ~live)
        stmt = select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
        count = select(func.count()).select_from(ApiToken).where(*conditions)
        with self._db.session() as s:
            total = int(s.scalar(count) or 0)
            rows = s.execute(
                stmt.where(*conditions).order_by(ApiToken.id.desc()).limit(limit).offset(offset)
            )
            return [_info(t, email) for t, email in rows], total

    def revoke(self, user_id: int, token_id: int, *, actor: Actor) -> TokenInfo:
        """Revoke one of ``user_id``'s tokens (another user's token is "not found")."""
        with self._db.session(write=True) as s:
            row = s.get(ApiToken, token_id)
            if row is None or row.user_id != user_id:
                raise UnknownUserError("API token", token_id)
            return self._revoke(s, row, actor, REVOKED_BY_OWNER)

    def revoke_any(self, token_id: int, *, actor: Actor) -> TokenInfo:
        """Revoke any user's token (for admins)."""
        with self._db.session(write=True) as s:
            row = s.get(ApiToken, token_id)
            if row is None:
                raise UnknownUserError("API token", token_id)
            return self._revoke(s, row, actor, REVOKED_BY_ADMIN)

    def _revoke(self, s: Session, row: ApiToken, actor: Actor, reason: str) -> TokenInfo:
        if row.revoked_at is None:
            row.revoked_at, row.revoked_reason = utcnow(), reason
            record(s, actor, "token.revoke", f"token {row.id}", user_id=row.user_id, name=row.name)
        owner = s.get(User, row.user_id)
        return _info(row, owner.email if owner else None)

    def resolve(self, token: str) -> UserInfo | None:
        """The active user behind a valid token, else ``None``."""
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        now = utcnow()
        stmt = (
            select(
                *USER_COLUMNS,
                ApiToken.id,
                ApiToken.revoked_at,
                ApiToken.expires_at,
                ApiToken.last_used_at,
            )
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash(token))
        )
        with self._db.session() as s:
            found = s.execute(stmt).first()
        if found is None:
            return None
        user = info_from(found)
        extra: Sequence[Any] = found[len(USER_COLUMNS) :]
        token_id, revoked, expires, last = extra
        if revoked or (expires and expires <= now) or not user.is_active:
            return None
        if last is None or now - last > TOUCH_EVERY:
            stale = or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at < now - TOUCH_EVERY)
            with self._db.session(write=True) as s:  # parallel requests: one of them writes
                s.execute(
                    update(ApiToken).where(ApiToken.id == token_id, stale).values(last_used_at=now)
                )
        return user


def _hash(session_id: str) -> str:
    return token_hash(session_id)


class SessionStore:
    """Create, resolve and end web sessions.

    A session ends ``lifetime`` after the sign-in, or earlier after ``idle`` without a
    request (OWASP ASVS 3.3.2): a browser left signed in on a shared desk does not stay so
    all day. ``last_seen_at`` is written at most every :data:`TOUCH_EVERY` (or a tenth of
    ``idle`` if that is shorter), so the idle limit is exact to that much.
    """

    def __init__(
        self,
        db: AppDatabase,
        *,
        lifetime: dt.timedelta = dt.timedelta(hours=12),
        idle: dt.timedelta = dt.timedelta(minutes=30),
    ):
        self._db = db
        self.lifetime = lifetime
        self.idle = idle
        self._touch_every = min(TOUCH_EVERY, idle / 10)

    def create(self, user_id: int, *, ip: str | None = None, user_agent: str | None = None) -> str:
        """A new session for ``user_id``; returns the id for the cookie (never stored)."""
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        with self._db.session(write=True) as s:
            s.add(
                WebSession(
                    id_hash=_hash(session_id),
                    user_id=user_id,
                    created_at=now,
                    last_seen_at=now,
                    expires_at=now + self.lifetime,
                    ip=ip,
                    user_agent=(user_agent or "")[:300] or None,
                )
            )
            s.execute(
                delete(WebSession).where(
                    (WebSession.expires_at < now) | (WebSession.last_seen_at < now - self.idle)
                )
            )
        return session_id

    def resolve(self, session_id: str) -> UserInfo | None:
        """The active user of a live session, else ``None``."""
        now = utcnow()
        key = _hash(session_id)
        stmt = (
            select(*USER_COLUMNS, WebSession.last_seen_at, WebSession.expires_at)
            .join(User, User.id == WebSession.user_id)
            .where(WebSession.id_hash == key)
        )
        with self._db.session() as s:
            found = s.execute(stmt).first()
        if found is None:
            return None
        result = info_from(found)
        extra: Sequence[Any] = found[len(USER_COLUMNS) :]
        seen, expires = extra
        if expires <= now or now - seen > self.idle or not result.is_active:
            return None
        if now - seen > self._touch_every:
            with self._db.session(write=True) as s:
                s.execute(
                    update(WebSession).where(WebSession.id_hash == key).values(last_seen_at=now)
                )
        return result

    def end(self, session_id: str) -> None:
        with self._db.session(write=True) as s:
            s.execute(delete(WebSession).where(WebSession.id_hash == _hash(session_id)))

    def end_all(self, user_id: int) -> None:
        with self._db.session(write=True) as s:
            s.execute(delete(WebSession).where(WebSession.user_id == user_id))
