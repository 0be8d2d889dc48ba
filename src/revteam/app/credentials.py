"""Credentials: password hashing and policy, and the lock-out after failed sign-ins.

Passwords are hashed with argon2id at argon2-cffi's defaults (RFC 9106's low-memory profile:
64 MiB, 3 passes), so a stolen database is expensive to attack; an unknown account is
verified against a dummy hash so that response times do not reveal which e-mails exist.

Failed sign-ins are counted per e-mail *as typed* (locking guessing against one account
without revealing whether it exists) and per client address (slowing a guesser who tries
many accounts). The counts live in the application database, so every worker sees them.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from revteam.app.models import LoginThrottle, utcnow
from revteam.exceptions import PasswordPolicyError, TooManyAttemptsError
from revteam.storage import AppDatabase

MIN_LENGTH = 10
MAX_LENGTH = 1024
"""Long enough for any passphrase, short enough that hashing stays cheap to refuse."""

_COMMON = frozenset(
    {"password123", "1234567890", "qwertyuiop", "letmein123", "password1!", "changeme123"}
)

hasher = PasswordHasher()
"""The module's hasher; tests may swap in cheaper parameters (hashes carry their own)."""


def hash_password(password: str) -> str:
    return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; never raises on a malformed or foreign hash."""
    try:
        return hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether a hash was made with weaker parameters than today's (rehash on next sign-in)."""
    try:
        return hasher.check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


def burn_time(password: str) -> None:
    """Spend what a real verification costs, for sign-ins of accounts that do not exist."""
    verify_password(_dummy_hash(), password)


@cache
def _dummy_hash() -> str:
    return hasher.hash(secrets.token_urlsafe(16))


def check_policy(password: str, *, email: str = "") -> None:
    """Refuse passwords that are short, common, or the user's own e-mail name."""
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(f"it has {len(password)} characters, fewer than {MIN_LENGTH}")
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"it is longer than {MAX_LENGTH} characters")
    if password.lower() in _COMMON or len(set(password)) < 4:
        raise PasswordPolicyError("it is too easy to guess")
    local = email.split("@", 1)[0].lower()
    if local and len(local) >= 4 and local in password.lower():
        raise PasswordPolicyError("it contains the user's e-mail name")


def random_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits)."""
    return secrets.token_urlsafe(15)


@dataclass(frozen=True)
class ThrottlePolicy:
    """When sign-in locks, and for how long."""

    user_failures: int = 5
    """Failures on one account before it locks."""
    ip_failures: int = 20
    """Failures from one address (any account) before it locks."""
    base_seconds: float = 30.0
    """First lock-out; each further failure doubles it."""
    max_seconds: float = 900.0
    forget_seconds: float = 900.0
    """Failures older than this (and no lock) are forgotten."""


def user_key(email: str) -> str:
    return f"user:{email.strip().lower()[:320]}"


def ip_key(address: str | None) -> str:
    return f"ip:{address or 'unknown'}"


class Throttle:
    """Check, count and clear failed sign-ins."""

    def __init__(self, db: AppDatabase, policy: ThrottlePolicy | None = None) -> None:
        self._db = db
        self.policy = policy or ThrottlePolicy()

    def _limits(self, keys: Sequence[str]) -> dict[str, int]:
        p = self.policy
        return {k: p.ip_failures if k.startswith("ip:") else p.user_failures for k in keys}

    def check(self, keys: Sequence[str]) -> None:
        """Raise :class:`TooManyAttemptsError` if any key is locked now."""
        now = utcnow()
        with self._db.session() as s:
            rows = [s.get(LoginThrottle, k) for k in keys]
        waits = [
            (r.locked_until - now).total_seconds()
            for r in rows
            if r is not None and r.locked_until is not None and r.locked_until > now
        ]
        if waits:
            raise TooManyAttemptsError(int(max(waits)) + 1)

    def failed(self, keys: Sequence[str]) -> None:
        """Count one failure for every key, locking those past their limit."""
        now = utcnow()
        forget = dt.timedelta(seconds=self.policy.forget_seconds)
        with self._db.session(write=True) as s:
            for key, limit in self._limits(keys).items():
                row = s.get(LoginThrottle, key)
                if row is None:
                    row = LoginThrottle(key=key, failures=0, last_failure_at=now)
                    s.add(row)
                stale = row.last_failure_at < now - forget and (
                    row.locked_until is None or row.locked_until < now
                )
                row.failures = 1 if stale else row.failures + 1
                row.last_failure_at = now
                if row.failures >= limit:
                    row.locked_until = now + dt.timedelta(seconds=self._lock(row.failures - limit))

    def _lock(self, extra: int) -> float:
        return float(min(self.policy.base_seconds * 2 ** min(extra, 30), self.policy.max_seconds))

    def reset(self, key: str) -> None:
        """Forget the failures of ``key`` (after a successful sign-in or a password reset)."""
        with self._db.session(write=True) as s:
            row = s.get(LoginThrottle, key)
            if row is not None:
                s.delete(row)
