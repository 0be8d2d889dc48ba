"""Credentials: password hashing and the password policy.

Passwords are hashed with argon2id at argon2-cffi's defaults (RFC 9106's low-memory profile:
64 MiB, 3 passes), so a stolen database is expensive to attack; an unknown account is
verified against a dummy hash so that response times do not reveal which e-mails exist.

New passwords must have at least 12 characters (OWASP ASVS 2.1.1) and be hard to guess by
zxcvbn's estimate (score 3 of 4, about 10^8 guesses), which knows common passwords, words,
names, keyboard patterns, dates and l33t substitutions from lists shipped in the package, and
is told the user's e-mail and name. A refusal says why, with zxcvbn's suggestions. Failed
sign-ins are throttled by :mod:`revteam.app.throttle`.
"""

from __future__ import annotations

import re
import secrets
import threading
from collections.abc import Iterator
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from revteam.app import hashing
from revteam.exceptions import PasswordPolicyError

MIN_LENGTH = 12
MAX_LENGTH = 1024
"""Long enough for any passphrase, short enough that hashing stays cheap to refuse."""
MIN_SCORE = 3
"""zxcvbn's score (0 to 4) a new password needs: 3 is "safely unguessable" online (10^8 guesses)."""
ESTIMATED_LENGTH = 72
"""zxcvbn refuses longer input (its matching is quadratic); a longer password is judged by this
many first characters."""

hasher = PasswordHasher()
"""The module's hasher; tests may swap in cheaper parameters (hashes carry their own)."""


def hash_password(password: str) -> str:
    """The argon2id hash of ``password``, after a turn at :data:`revteam.app.hashing.gate`."""
    with hashing.gate.slot():
        return hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches; never raises on a malformed or foreign hash."""
    try:
        with hashing.gate.slot():  # HashingBusyError passes through: busy is not "wrong"
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
    return hash_password(secrets.token_urlsafe(16))


def check_policy(password: str, *, email: str = "", name: str = "") -> None:
    """Refuse a new password that is short, common or easy to guess, saying every reason.

    Raises
    ------
    PasswordPolicyError
        With the problems and zxcvbn's suggestions.
    """
    if len(password) > MAX_LENGTH:
        raise PasswordPolicyError(f"it is longer than {MAX_LENGTH} characters")
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"it has {len(password)} characters, fewer than {MIN_LENGTH}")
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and local in password.lower():
        problems.append("it contains the user's e-mail name")
    result = _estimate(password, [w for w in _personal_words(email, name) if w])
    feedback = result["feedback"]
    if _is_common(password):
        problems.append("it is on a list of commonly used passwords")
    elif result["score"] < MIN_SCORE:
        problems.append(_weakness(result["sequence"], str(feedback.get("warning") or "")))
    suggestions = [str(t) for t in feedback.get("suggestions", [])] if problems else []
    if problems:
        unique = list(dict.fromkeys(problems))
        raise PasswordPolicyError("; ".join(unique), suggestions)


def _weakness(sequence: list[dict[str, Any]], warning: str) -> str:
    if any(m.get("dictionary_name") == "user_inputs" for m in sequence):
        return "it is easy to guess from the user's name or e-mail"
    warning = warning.rstrip(".")
    return warning[:1].lower() + warning[1:] if warning else "it is too easy to guess"


_zxcvbn_lock = threading.Lock()


def _estimate(password: str, user_inputs: list[str]) -> dict[str, Any]:
    from zxcvbn import zxcvbn

    # zxcvbn keeps the user inputs in a module-level dictionary while it runs: one at a time.
    with _zxcvbn_lock:
        result: dict[str, Any] = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=user_inputs)
    return result


def _is_common(password: str) -> bool:
    from zxcvbn.matching import RANKED_DICTIONARIES

    return password.lower() in RANKED_DICTIONARIES["passwords"]


def _personal_words(email: str, name: str) -> Iterator[str]:
    """The e-mail, its parts and the name's words: what someone who knows the user tries."""
    yield from (email, name)
    yield from (w for w in re.split(r"[^\w]+", f"{email} {name}".lower()) if len(w) >= 3)


def random_password() -> str:
    """A random password of 20 URL-safe characters (about 120 bits) that the policy accepts."""
    while True:
        password = secrets.token_urlsafe(15)
        if _estimate(password, [])["score"] >= MIN_SCORE:  # practically always the first
            return password
