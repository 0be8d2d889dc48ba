"""Retries with exponential back-off for CRM API calls that hit rate limits.

HubSpot answers 429 when a private app exceeds its burst or daily limit; Salesforce answers
403 ``REQUEST_LIMIT_EXCEEDED`` (and 503 when busy). Both clear by waiting, so such calls are
retried after 1, 2, 4 … seconds (or the server's ``Retry-After``), up to a cap. The sleep is
injectable so that tests wait microseconds.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

Wait = Callable[[Exception], float | None]
"""Seconds to wait before retrying after this exception (0 for "back off"), None to give up."""


@dataclass
class Backoff:
    """How patiently to retry: ``attempts`` calls in all, waits doubling from ``base``."""

    attempts: int = 6
    base: float = 1.0
    cap: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    waits: list[float] = field(default_factory=list)
    """Every wait so far, for reports and tests."""

    def call(self, fn: Callable[[], T], retry_after: Wait) -> T:
        """Call ``fn``; when ``retry_after`` says the failure is transient, wait and retry."""
        for attempt in range(self.attempts):
            try:
                return fn()
            except Exception as exc:
                hint = retry_after(exc)
                if hint is None or attempt == self.attempts - 1:
                    raise
                delay = min(self.cap, hint if hint > 0 else self.base * 2**attempt)
                self.waits.append(delay)
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover


def header_seconds(headers: object, name: str = "Retry-After") -> float:
    """A ``Retry-After`` header in seconds (0 when absent or unreadable)."""
    value = None
    if isinstance(headers, dict):
        value = next((v for k, v in headers.items() if str(k).lower() == name.lower()), None)
    elif headers is not None and hasattr(headers, "get"):
        value = headers.get(name)
    try:
        return max(0.0, float(str(value))) if value is not None else 0.0
    except ValueError:
        return 0.0
