"""How callers prove who they are after signing in: API tokens and web sessions.

Both are random secrets handed out once and stored only as their SHA-256. A fast hash is
right here (unlike passwords): the secrets have full entropy, so they cannot be guessed from
their hash, and every request must check one cheaply.

- An API token (``Authorization: Bearer rvt_…``) acts with its user's current role and stops
  working when revoked, expired, or when its user is disabled.
- A web session lives server-side, so it can be ended at once: signing out, disabling a user
  or resetting their password ends every session of theirs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

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

    @property
    def active(self) -> bool:
        now = utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _info(t: ApiToken) -> TokenInfo:
    return TokenInfo(
        t.id, t.user_id, t.name, t.prefix, t.created_at, t.last_used_at, t.expires_at, t.revoked_at
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

    def revoke(self, user_id: int, token_id: int, *, actor: Actor) -> TokenInfo:
        """Revoke one of ``user_id``'s tokens (another user's token is "not found")."""
        with self._db.session(write=True) as s:
            row = s.get(ApiToken, token_id)
            if row is None or row.user_id != user_id:
                raise UnknownUserError("API token", token_id)
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                record(s, actor, "token.revoke", f"token {row.id}", user_id=user_id)
            return _info(row)

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
            with self._db.session(write=True) as s:
                s.execute(update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=now))
        return user


def _hash(session_id: str) -> str:
    return token_hash(session_id)


class SessionStore:
    """Create, resolve and end web sessions."""

    def __init__(self, db: AppDatabase, *, lifetime: dt.timedelta = dt.timedelta(hours=12)):
        self._db = db
        self.lifetime = lifetime

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
            s.execute(delete(WebSession).where(WebSession.expires_at < now))
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
        if expires <= now or not result.is_active:
            return None
        if now - seen > TOUCH_EVERY:
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
