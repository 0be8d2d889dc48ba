"""The sign-in throttle: failed attempts per (account, address) pair and per address.

Why this shape (OWASP ASVS 2.2.1):

- A lock on the account alone is a weapon: anyone could keep an admin out by typing wrong
  passwords. Failures are counted per (account, address) pair instead: an address that failed
  too often on an account waits, each further failure doubling the wait, while the account's
  owner signs in as usual from any address that did not fail.
- A limit per address over all accounts slows one address spraying guesses at many accounts.
- An attempt is counted as failed *before* its password is checked, in one write transaction
  that locks the rows (``BEGIN IMMEDIATE`` on SQLite, ``SELECT … FOR UPDATE`` on PostgreSQL),
  and taken back if the password was right. Parallel attempts therefore cannot all slip under
  a limit: at most the limit are ever checked against a password hash.
- A success takes back only its own count on the address: signing in to one's own account
  must not wipe an address's record of guesses at other accounts.

The counts live in the application database, so every worker process shares them; the clock
is injectable so that tests can move time instead of waiting.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from revteam.app.models import LoginThrottle, utcnow
from revteam.exceptions import TooManyAttemptsError
from revteam.storage import AppDatabase

Clock = Callable[[], dt.datetime]
"""Now, as naive UTC (see :func:`revteam.app.models.utcnow`)."""


@dataclass(frozen=True)
class ThrottlePolicy:
    """When failed sign-ins make an address wait, and for how long."""

    pair_failures: int = 5
    """Failures on one account from one address before that address waits for that account."""
    ip_failures: int = 20
    """Failures from one address, on any accounts, before the address waits."""
    base_seconds: float = 30.0
    """The first wait; each further failure doubles it."""
    max_seconds: float = 900.0
    """The longest wait."""
    forget_seconds: float = 900.0
    """Failures this old, with no wait pending, are forgotten."""

    def delay(self, over: int) -> dt.timedelta:
        """The wait after a failure ``over`` past the limit (0: the one that reached it)."""
        seconds = min(self.base_seconds * 2 ** min(over, 30), self.max_seconds)
        return dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class Lock:
    """A wait that an attempt started; logged if the attempt fails."""

    account: str | None
    """``None`` for an address's wait over all accounts."""
    address: str
    failures: int
    seconds: int


@dataclass(frozen=True)
class Attempt:
    """A sign-in attempt, counted as failed until taken back (right, or never checked)."""

    account: str
    address: str
    locks: tuple[Lock, ...]
    waits: tuple[tuple[str, dt.datetime | None, dt.datetime], ...] = ()
    """``(key, wait before, wait set)`` for each wait this attempt set: undone if taken back."""


@dataclass(frozen=True)
class ThrottleInfo:
    """Recent failures of an account from an address (``account=None``: from an address)."""

    account: str | None
    address: str | None
    failures: int
    last_failure_at: dt.datetime
    locked_until: dt.datetime | None


def account_of(email: str) -> str:
    """The account an attempt names, as typed (it need not exist)."""
    return email.strip().lower()[:320]


def address_of(address: str | None) -> str:
    return (address or "unknown")[:64]


def pair_key(account: str, address: str) -> str:
    return f"pair:{account}|{address}"


def ip_key(address: str) -> str:
    return f"ip:{address}"


class Throttle:
    """Count, refuse, take back and clear failed sign-ins.

    Parameters
    ----------
    db
        The application database.
    policy
        The limits and waits.
    clock
        Now, as naive UTC; tests pass one they can move.
    """

    def __init__(
        self, db: AppDatabase, policy: ThrottlePolicy | None = None, *, clock: Clock = utcnow
    ) -> None:
        self._db = db
        self.policy = policy or ThrottlePolicy()
        self.clock = clock

    def attempt(self, email: str, address: str | None) -> Attempt:
        """Count an attempt as failed before its password is checked; refuse it while waiting.

        Raises
        ------
        TooManyAttemptsError
            The pair or the address must wait; the password is not to be checked.
        """
        account, where = account_of(email), address_of(address)
        limits = {
            pair_key(account, where): (account, self.policy.pair_failures),
            ip_key(where): (None, self.policy.ip_failures),
        }
        now = self.clock()
        with self._db.session() as s:  # refuse waiting callers without taking the write lock
            self._refuse_if_waiting(s.scalars(_select(limits)), now)
        with self._db.session(write=True) as s:
            cutoff = now - dt.timedelta(seconds=self.policy.forget_seconds)
            s.execute(
                delete(LoginThrottle).where(
                    LoginThrottle.last_failure_at < cutoff,
                    or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until < now),
                )
            )
            _insert_missing(s, [_new_row(k, a, where, now) for k, (a, _) in limits.items()])
            rows = list(s.scalars(_select(limits).with_for_update()))
            self._refuse_if_waiting(rows, now)
            locks, waits = [], []
            for row in rows:
                before = row.locked_until
                lock = self._count(row, limits[row.key][1], cutoff, now)
                if lock is not None and row.locked_until is not None:
                    locks.append(lock)
                    waits.append((row.key, before, row.locked_until))
            return Attempt(account, where, tuple(locks), tuple(waits))

    def _refuse_if_waiting(self, rows: Any, now: dt.datetime) -> None:
        waits = [r.locked_until for r in rows if r.locked_until and r.locked_until > now]
        if waits:
            raise TooManyAttemptsError(math.ceil((max(waits) - now).total_seconds()))

    def _count(
        self, row: LoginThrottle, limit: int, cutoff: dt.datetime, now: dt.datetime
    ) -> Lock | None:
        if row.last_failure_at < cutoff:
            row.failures, row.locked_until = 0, None
        row.failures += 1
        row.last_failure_at = now
        if row.failures < limit:
            return None
        wait = self.policy.delay(row.failures - limit)
        row.locked_until = now + wait
        address = row.address or "unknown"
        return Lock(row.account, address, row.failures, math.ceil(wait.total_seconds()))

    def succeeded(self, s: Session, attempt: Attempt) -> None:
        """Take an attempt back inside the caller's write transaction: its password was right.

        The pair's failures are forgotten; the address keeps its other failures.
        """
        self._take_back(s, attempt, forget_pair=True)

    def cancel(self, attempt: Attempt) -> None:
        """Take back an attempt whose password was never checked (e.g. the server was busy)."""
        with self._db.session(write=True) as s:
            self._take_back(s, attempt, forget_pair=False)

    def _take_back(self, s: Session, attempt: Attempt, *, forget_pair: bool) -> None:
        pair = pair_key(attempt.account, attempt.address)
        if forget_pair:
            s.execute(delete(LoginThrottle).where(LoginThrottle.key == pair))
        keys = {ip_key(attempt.address): None} | ({} if forget_pair else {pair: None})
        set_by_attempt = {key: (before, after) for key, before, after in attempt.waits}
        for row in s.scalars(_select(keys).with_for_update()):
            row.failures = max(0, row.failures - 1)
            before, after = set_by_attempt.get(row.key, (None, None))
            if after is not None and row.locked_until == after:
                row.locked_until = before

    def recent(self, *, limit: int = 200) -> list[ThrottleInfo]:
        """Failures not yet forgotten, waiting ones first (for admins)."""
        now = self.clock()
        cutoff = now - dt.timedelta(seconds=self.policy.forget_seconds)
        stmt = (
            select(LoginThrottle)
            .where(
                LoginThrottle.failures > 0,
                or_(LoginThrottle.last_failure_at >= cutoff, LoginThrottle.locked_until > now),
            )
            .order_by(
                func.coalesce(LoginThrottle.locked_until, LoginThrottle.last_failure_at).desc()
            )
            .limit(limit)
        )
        with self._db.session() as s:
            return [
                ThrottleInfo(r.account, r.address, r.failures, r.last_failure_at, r.locked_until)
                for r in s.scalars(stmt)
            ]


def clear_account(s: Session, email: str) -> int:
    """Forget every address's failures on an account, inside the caller's transaction."""
    result = s.execute(delete(LoginThrottle).where(LoginThrottle.account == account_of(email)))
    return int(getattr(result, "rowcount", 0) or 0)


def _select(limits: dict[str, Any]) -> Any:
    keys = sorted(limits)  # one lock order everywhere: no deadlocks between parallel attempts
    return select(LoginThrottle).where(LoginThrottle.key.in_(keys)).order_by(LoginThrottle.key)


def _new_row(key: str, account: str | None, address: str, now: dt.datetime) -> dict[str, Any]:
    return {
        "key": key,
        "account": account,
        "address": address,
        "failures": 0,
        "last_failure_at": now,
        "locked_until": None,
    }


def _insert_missing(s: Session, rows: list[dict[str, Any]]) -> None:
    """Create absent rows without failing on a row a parallel attempt has just created."""
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        s.execute(postgresql.insert(LoginThrottle).values(rows).on_conflict_do_nothing())
    elif dialect == "sqlite":
        s.execute(sqlite.insert(LoginThrottle).values(rows).on_conflict_do_nothing())
    else:
        for row in rows:
            if s.get(LoginThrottle, row["key"]) is None:
                try:
                    with s.begin_nested():
                        s.add(LoginThrottle(**row))
                except IntegrityError:
                    pass
