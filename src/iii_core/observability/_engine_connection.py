"""The WebSocket to the engine's ``/otel`` endpoint, kept open by a background thread.

Rules:
- ``send`` never blocks and never fails: it queues a frame for the sender thread. At most
  ``MAX_QUEUE`` (1000) frames wait; when the queue is full a new frame is dropped with a warning,
  so an engine that is missing, down or slow costs memory for 1000 frames and nothing else.
- The thread connects on start and reconnects as soon as the socket fails or the engine closes
  it, waiting as ``ReconnectionConfig`` says (by default 1 s doubling to 30 s, +/- 30 % jitter).
  A frame leaves the queue only once the socket accepted it, so a frame refused by a broken
  socket is sent again on the next connection. WebSocket has no acknowledgements: a frame
  written while the engine is closing the socket can still be lost.
- It needs no event loop of the application: it runs the ``websockets`` sync client.
- ``headers`` (``OtelConfig.engine_ws_headers``) are sent on every handshake, reconnections
  included.
- ``flush`` waits until the queue is empty, or the engine is unreachable, or the timeout passes.
  ``close`` sends what is queued if connected (within the timeout), closes the socket and ends
  the thread; frames still queued then are dropped.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Sequence
from enum import Enum

from websockets.sync.client import ClientConnection, connect

from iii_core._generated.observability import ReconnectionConfig
from iii_core.observability._reconnection import reconnection_delay_ms

__all__ = ["MAX_QUEUE", "EngineConnection"]

MAX_QUEUE = 1000
_OPEN_TIMEOUT_S = 5.0
_CLOSE_TIMEOUT_S = 1.0

_log = logging.getLogger("iii.telemetry_exporters")


class _Link(Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    WAITING = "waiting"  # the last attempt failed; retrying after a delay
    CLOSED = "closed"


class EngineConnection:
    """A queue of binary frames and the thread that delivers them to ``url``."""

    def __init__(
        self,
        url: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        reconnection: ReconnectionConfig | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.url = url
        self._headers = tuple(headers)
        self._reconnection = reconnection or ReconnectionConfig()
        self._rand = rand
        self._frames: deque[bytes] = deque()
        self._cond = threading.Condition()
        self._link = _Link.CONNECTING
        self._closing = False
        self._lost: ClientConnection | None = None  # the last socket the engine closed
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="iii-otel-engine", daemon=True)
        self._thread.start()

    def send(self, frame: bytes) -> None:
        """Queue ``frame`` for the engine, or drop it if the queue is full or closed."""
        with self._cond:
            if self._closing:
                return
            if len(self._frames) >= MAX_QUEUE:
                self.dropped += 1
                _log.warning("[OTel] Telemetry queue full, dropping message")
                return
            self._frames.append(frame)
            self._cond.notify_all()

    def flush(self, timeout: float) -> bool:
        """Wait for the queue to drain while the engine is reachable; True if it drained."""
        with self._cond:
            self._cond.wait_for(
                lambda: not self._frames or self._link in (_Link.WAITING, _Link.CLOSED), timeout
            )
            return not self._frames

    def close(self, timeout: float) -> None:
        """Deliver what is queued if connected (within ``timeout``), then stop the thread."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:  # too slow: give up on the rest, so the thread ends after this frame
            self._frames.clear()
            self._cond.notify_all()

    @property
    def connected(self) -> bool:
        with self._cond:
            return self._link is _Link.CONNECTED

    def _run(self) -> None:
        attempt = 0
        try:
            while True:
                with self._cond:
                    if self._closing:
                        return
                    self._link = _Link.CONNECTING
                try:
                    with connect(
                        self.url,
                        additional_headers=self._headers,
                        open_timeout=_OPEN_TIMEOUT_S,
                        close_timeout=_CLOSE_TIMEOUT_S,
                    ) as socket:
                        attempt = 0
                        threading.Thread(
                            target=self._watch,
                            args=(socket,),
                            name="iii-otel-engine-watch",
                            daemon=True,
                        ).start()
                        self._pump(socket)
                        return
                except Exception as exc:  # the thread must outlive any failure of the engine
                    error = exc
                with self._cond:
                    if self._closing:
                        return
                    self._link = _Link.WAITING
                    self._cond.notify_all()
                    delay = reconnection_delay_ms(self._reconnection, attempt, self._rand()) / 1000
                    attempt += 1
                    _log.warning(
                        "OTel WS to %s unavailable (%s), retrying in %.1fs", self.url, error, delay
                    )
                    self._cond.wait_for(lambda: self._closing, delay)
        finally:
            with self._cond:
                self._link = _Link.CLOSED
                self._frames.clear()
                self._cond.notify_all()

    def _watch(self, socket: ClientConnection) -> None:
        """Read (and ignore) what the engine sends, to notice at once when it closes."""
        try:
            for _ in socket:
                pass
        except Exception:  # any ending of the socket is noticed the same way
            pass
        with self._cond:
            self._lost = socket
            self._cond.notify_all()

    def _pump(self, socket: ClientConnection) -> None:
        """Send frames until closing with an empty queue; raises when the socket fails."""
        while True:
            with self._cond:
                self._link = _Link.CONNECTED
                self._cond.notify_all()
                self._cond.wait_for(
                    lambda: bool(self._frames) or self._closing or self._lost is socket
                )
                if self._lost is socket:
                    raise ConnectionError("the engine closed the connection")
                if not self._frames:
                    return
                frame = self._frames[0]
            socket.send(frame)
            with self._cond:
                if self._frames and self._frames[0] is frame:  # close() may have cleared it
                    self._frames.popleft()
                self._cond.notify_all()
