"""Warm the default views before the first visitor asks: at start-up and after every load.

A load bumps the data version, so every cached page misses; at 1M leads the first Overview
or Campaigns page would then pay for the whole cube and the attribution credit, the Customer
value page for its model fits and predictions (seconds to tens of seconds), inside a visitor's
request. The warmer notices a new version within a few seconds
and computes them in the background, through the same cache and gate as a request (so a load
that announces itself still gets the warehouse: a warm step then fails busy and is retried).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

from revteam.exceptions import ServerBusyError, WarehouseBusyError
from revteam.web.gate import BACKGROUND
from revteam.web.runtime import Runtime

log = logging.getLogger("revteam.web")
CHECK_SECONDS = 5.0
"""How often the warmer looks for a new data version (reading it is a file stat)."""


class Warmer:
    """A daemon thread that warms ``runtime``'s views once per data version."""

    def __init__(
        self,
        runtime: Runtime,
        warm: Callable[[Runtime], None],
        *,
        interval: float = CHECK_SECONDS,
    ) -> None:
        self._runtime, self._warm, self._interval = runtime, warm, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.warmed: Hashable | None = None
        """The version last warmed (or that failed to warm for good: it is not retried)."""
        self._seen: Hashable | None = None
        self._busy = False

    @property
    def ready(self) -> bool:
        """Whether the warmer is done with the data version it last saw (health's ``warm``).

        Done: warmed, or failed for good and logged (not retried until the data change).
        Reads no data, so it never waits for the warehouse.
        """
        return self.warmed is not None and self.warmed == self._seen and not self._busy

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="warm", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def step(self) -> bool:
        """Warm if the data changed since the last warm; whether it warmed.

        Under ``limits.warm_seconds`` rather than a request's ``query_seconds``: the credit
        of a 10M-lead company takes longer than a visitor should wait for one page. A load
        announced meanwhile interrupts it (busy): it is tried again at the next step.
        """
        background = BACKGROUND.set(True)
        try:
            version = self._runtime.version()
            self._seen = version
            if version == self.warmed:
                return False
            self._busy = True
            self._warm(self._runtime)
        except (WarehouseBusyError, ServerBusyError):
            return False  # a load or the visitors have the warehouse: try again later
        except Exception:  # a cold cache is slower, not broken: never fail over it
            log.warning("Warming the dashboard cache failed", exc_info=True)
            if not self._busy:
                return False  # the version could not be read: try again at the next step
            # the warm itself failed: not retried until the data change
        finally:
            self._busy = False
            BACKGROUND.reset(background)
        self.warmed = self._seen
        return True

    def _run(self) -> None:
        while True:
            self.step()
            if self._stop.wait(self._interval):
                return
