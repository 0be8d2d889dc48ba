"""uvicorn's h11 protocol with a deadline for each request's head, against slow clients.

uvicorn closes idle kept-alive connections (``timeout_keep_alive``) but waits for ever for a
request line and headers that arrive a byte at a time: a few hundred such connections
("slowloris") hold a server's sockets and memory. This protocol gives every request's head
``header_timeout`` seconds from the moment the connection is ready for it (opened, or the
previous response sent), then closes the connection.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class HeadTimeoutH11Protocol(H11Protocol):
    """:class:`H11Protocol` that closes connections whose request head is late.

    Parameters
    ----------
    header_timeout
        Seconds a client has to send a request's line and headers.
    """

    def __init__(self, *args: Any, header_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's head arrived: the app has it now
            self._disarm()

    def on_response_complete(self) -> None:
        self._arm()  # before the base class parses a pipelined request, which disarms it
        super().on_response_complete()

    def _arm(self) -> None:
        self._disarm()
        self._head_timer = self.loop.call_later(self.header_timeout, self._head_late)

    def _disarm(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_late(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.logger.debug("Closing a connection whose request head was late")
            self.transport.close()
