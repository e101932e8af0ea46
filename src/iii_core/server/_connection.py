"""One client connection: an asyncio ``BufferedProtocol`` feeding h11, then, after an upgrade,
websockets' ``ServerProtocol``.

Rules: a binding. Everything here runs on the server's one event loop.

- HTTP: h11 reads each request. Its head is screened as soon as it is complete (Host, token,
  route, content type, declared length: see :meth:`StreamServer.screen`), so a refused request
  never has its body read; a refusal, a malformed request, a body over the limit and a timeout
  are answered and the connection closed. A complete request is answered on the spot when no
  store call must be awaited (the routes, and every call on a store whose calls never block:
  ``StoreLink.inline_call_json``), inside the loop that reads h11's events, so that any number
  of pipelined requests costs no recursion and no task; otherwise by one task. Requests on one
  connection are answered in order; while one is being answered, reading pauses if the client
  sends more (a pipelining client cannot make the server buffer without bound), and reading
  also pauses while the client does not take our responses (transport flow control).
- Timeouts: ``header_timeout`` from the connection's opening, or from the first byte of the
  next request, to the end of the head; ``body_timeout`` from there to the end of the body
  (both answered ``408``); ``idle_timeout`` between requests (closed quietly). Each phase sets
  a deadline, which the server's sweep (every ``SWEEP_SECONDS``) enforces: no timer per
  request.
- WebSocket: an upgrade request's head is handed to ``ServerProtocol`` as it came; after the
  ``101``, client messages are handled one at a time, in order, by one task of the connection,
  and reading pauses until they are (so what waits is at most one read of frames).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from http import HTTPStatus
from typing import Any, Final, Literal, Protocol, TypeVar

import h11
from websockets.http11 import Request
from websockets.server import ServerProtocol

from iii_core.errors import ErrorCode
from iii_core.server._calls import error_body
from iii_core.server._http import Refusal, RequestHead, response_bytes
from iii_core.server._limits import Limits
from iii_core.server._socket import StreamSocket
from iii_core.server._stats import Counters

__all__ = ["LINGER_BYTES", "LINGER_SECONDS", "READ_BYTES", "ClientConnection", "ConnectionHost"]

access_log = logging.getLogger("iii_core.server.access")

_Timer = Literal["header", "body", "idle", "linger"]

LINGER_SECONDS: Final = 2.0
LINGER_BYTES: Final = 4 * 1024 * 1024
"""After an answer that closes the connection, what the client still sends is read and dropped
for up to this long and this much (see :meth:`ClientConnection._linger`)."""
T = TypeVar("T")


READ_BYTES: Final = 64 * 1024
"""The most one read of a socket takes (into the server's one read buffer)."""


class ConnectionHost(Protocol):
    """What a connection asks of its server (``StreamServer``): the routes, the hub, the
    store, the limits, the counters and the read buffer."""

    limits: Limits
    counters: Counters
    read_buffer: memoryview
    """:data:`READ_BYTES` bytes that every connection of the server reads into, in turn (one
    loop: each read is handed on before the next begins)."""
    read_buffer_lent: bool
    """Whether a read into :attr:`read_buffer` is under way."""

    def now(self) -> float: ...
    def opened(self, connection: ClientConnection) -> bool: ...
    def closed(self, connection: ClientConnection) -> None: ...
    def screen(self, head: RequestHead) -> Refusal | None: ...
    def body_too_large(self) -> tuple[int, str, str]: ...
    def answer(
        self, head: RequestHead, body: bytes
    ) -> tuple[int, bytes] | Callable[[], Awaitable[tuple[int, bytes]]]: ...
    async def authenticate(self, head: RequestHead, peer: tuple[str, int]) -> Any: ...
    def connect_socket(self, socket: StreamSocket, context: Any) -> None: ...
    async def on_message(self, socket: StreamSocket, message: bytes) -> None: ...
    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]: ...


class ClientConnection(asyncio.BufferedProtocol):
    def __init__(self, server: ConnectionHost) -> None:
        self._server = server
        self._limits = server.limits
        self._h11 = h11.Connection(
            h11.SERVER, max_incomplete_event_size=self._limits.max_head_bytes
        )
        self._transport: asyncio.Transport | None = None
        self.peer = ("", 0)
        self._timer_kind: _Timer | None = None
        self.deadline = 0.0
        self._head: RequestHead | None = None
        self._body = bytearray()
        self._started = 0.0
        self._busy = False  # a request's answer is being worked out
        self._reading_paused = False
        self._writing_paused = False
        self._closed = False
        self._lingering = -1  # bytes dropped while lingering; -1 when not lingering
        self._counted = False  # counted in by the server (and so swept)
        self._buffer: memoryview | None = None  # what the current read goes into
        self._handshake: bytearray | None = None  # bytes received during the handshake
        self.socket: StreamSocket | None = None
        self._inbox: deque[bytes] = deque()
        self._worker: asyncio.Task[None] | None = None

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), int(peer[1])) if peer else ("", 0)
        transport.set_write_buffer_limits(high=self._limits.max_buffered_bytes)
        self._counted = self._server.opened(self)
        if not self._counted:
            self._server.counters.refused_connections += 1
            self._fail(
                HTTPStatus.SERVICE_UNAVAILABLE,
                "too_many_connections",
                f"over {self._limits.max_connections} connections: try again later",
            )
            return
        self._arm("header")

    def get_buffer(self, sizehint: int) -> memoryview:
        # Reads go into one buffer of the server's: a read allocates only the bytes it got
        # (asyncio's default read allocates 256 KiB for each, with mmap, mremap and munmap).
        # A selector loop fills it at once; a loop that keeps reads pending (Windows' proactor)
        # could ask again before, and then gets a buffer of its own.
        server = self._server
        if server.read_buffer_lent:
            self._buffer = memoryview(bytearray(READ_BYTES))
        else:
            server.read_buffer_lent = True
            self._buffer = server.read_buffer
        return self._buffer

    def buffer_updated(self, nbytes: int) -> None:
        buffer, self._buffer = self._buffer, None
        assert buffer is not None
        self._give_back(buffer)
        self.data_received(bytes(buffer[:nbytes]))

    def _give_back(self, buffer: memoryview | None) -> None:
        if buffer is self._server.read_buffer:
            self._server.read_buffer_lent = False

    def data_received(self, data: bytes) -> None:
        if self._closed:
            if self._lingering >= 0:
                self._lingering += len(data)
                if self._lingering > LINGER_BYTES:
                    self._end_linger()
            return
        if self.socket is not None:
            self._receive_frames(data)
        elif self._handshake is not None:
            self._handshake += data
            if len(self._handshake) > self._limits.max_message_bytes:
                self._pause_reading()
        else:
            if self._timer_kind == "idle":
                self._arm("header")
            self._h11.receive_data(data)
            if self._busy:
                self._pause_reading()
            else:
                self._next_request()

    def eof_received(self) -> bool | None:
        if self._lingering >= 0:
            self._end_linger()
            return None
        if self.socket is not None:
            self._receive_frames(b"")
            return None
        if self._handshake is None and not self._closed:
            # A client that half-closes after its request still gets the answer: h11 reports
            # the end once the requests before it are answered, and the connection closes.
            self._h11.receive_data(b"")
            if not self._busy:
                self._next_request()
            return True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._give_back(self._buffer)  # a read that failed after get_buffer
        self._buffer = None
        self._closed = True
        self._cancel_timer()
        self._server.closed(self)

    def pause_writing(self) -> None:
        # The client does not take our responses: stop reading its requests until it does.
        self._writing_paused = True
        if self.socket is None:
            self._pause_reading()

    def resume_writing(self) -> None:
        self._writing_paused = False
        if not self._busy:
            self._resume_reading()

    # -- HTTP ---------------------------------------------------------------------------------

    def _next_request(self) -> None:
        """Handle every complete h11 event until it needs more bytes, or an answer is due."""
        while not self._busy and not self._closed:
            try:
                event = self._h11.next_event()
            except h11.RemoteProtocolError as exc:
                status = exc.error_status_hint
                if status == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
                    self._server.counters.oversized_requests += 1
                self._fail(status, ErrorCode.BAD_REQUEST, str(exc))
                return
            kind = type(event)
            if kind is h11.Request:
                assert isinstance(event, h11.Request)
                self._on_head(event)
            elif kind is h11.Data:
                assert isinstance(event, h11.Data)
                self._on_data(event.data)
            elif kind is h11.EndOfMessage:
                self._on_end()
            else:  # NEED_DATA, PAUSED (switching protocols) or ConnectionClosed
                if kind is h11.ConnectionClosed:
                    self._close()
                return

    def _on_head(self, request: h11.Request) -> None:
        self._started = time.perf_counter()
        self._arm("body")
        head = self._head = RequestHead.from_h11(request)
        self._body = bytearray()
        if head.size > self._limits.max_head_bytes:
            # h11 bounds a head still arriving; this bounds one that came whole.
            self._server.counters.oversized_requests += 1
            self._fail(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                ErrorCode.BAD_REQUEST,
                f"the request head is over the server's limit of "
                f"{self._limits.max_head_bytes} bytes (max_head_bytes)",
            )
            return
        refusal = self._server.screen(head)
        if refusal is not None:
            self._refuse(refusal)
        elif self._h11.client_is_waiting_for_100_continue:
            self._write(
                self._h11.send(h11.InformationalResponse(status_code=100, headers=[])) or b""
            )

    def _on_data(self, data: bytes) -> None:
        self._body += data
        if len(self._body) > self._limits.max_body_bytes:  # a chunked body
            self._server.counters.oversized_requests += 1
            self._fail(*self._server.body_too_large())

    def _on_end(self) -> None:
        self._cancel_timer()
        head = self._head
        assert head is not None
        if head.wants_websocket and head.path == "/":
            self._busy = True
            self._handshake = bytearray(self._h11.trailing_data[0])
            self._server.spawn(self._upgrade(head))
            return
        answer = self._server.answer(head, bytes(self._body))
        if isinstance(answer, tuple):
            # Answered on the spot: the loop of _next_request goes on with the next request
            # (no recursion, however many requests a client pipelines).
            self._answer(*answer)
            return
        self._busy = True
        self._server.spawn(self._answer_later(answer))

    async def _answer_later(self, answer: Callable[[], Awaitable[tuple[int, bytes]]]) -> None:
        status, payload = await answer()
        self.respond(status, payload)

    def respond(
        self,
        status: int,
        body: bytes,
        *,
        close: bool = False,
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        """Answer the current request; go on with the next one (or close)."""
        if self._answer(status, body, close=close, extra_headers=extra_headers):
            self._next_request()

    def _answer(
        self,
        status: int,
        body: bytes,
        *,
        close: bool = False,
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> bool:
        """Answer the current request; whether the connection is ready for the next one."""
        if self._closed:
            return False
        head = self._head
        if head is not None:
            self._server.counters.http_requests += 1
        try:
            out = response_bytes(
                self._h11,
                status,
                body,
                head_only=head is not None and head.method == "HEAD",
                close=close,
                extra_headers=extra_headers,
            )
        except h11.LocalProtocolError:  # the connection cannot carry a response any more
            self._abort()
            return False
        self._write(out)
        if access_log.isEnabledFor(logging.INFO):
            self._log_request(head, status, len(body))
        if close or self._h11.our_state is not h11.DONE or self._h11.their_state is not h11.DONE:
            self._linger()
            return False
        self._h11.start_next_cycle()
        self._head = None
        self._body = bytearray()
        self._busy = False
        self._arm("idle")
        if not self._writing_paused:
            self._resume_reading()
        return True

    def _log_request(self, head: RequestHead | None, status: int, size: int) -> None:
        took = (time.perf_counter() - self._started) * 1000 if head is not None else 0.0
        what = f"{head.method} {head.target} HTTP/{head.http_version}" if head else "-"
        access_log.info('%s "%s" %d %d %.1fms', _address(self.peer), what, status, size, took)

    def _refuse(self, refusal: Refusal) -> None:
        self._fail(
            refusal.status, refusal.code, refusal.message, extra_headers=refusal.extra_headers
        )

    def _fail(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra_headers: tuple[tuple[bytes, bytes], ...] = (),
    ) -> None:
        """Answer ``status`` and close: the rest of the request is never read."""
        self._cancel_timer()
        if self._h11.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            self._abort()
            return
        self.respond(status, error_body(code, message), close=True, extra_headers=extra_headers)

    # -- timers -------------------------------------------------------------------------------

    def _arm(self, kind: _Timer) -> None:
        """Set the deadline of the current phase; the server's sweep enforces it."""
        limits = self._limits
        delay = (
            limits.header_timeout
            if kind == "header"
            else limits.body_timeout
            if kind == "body"
            else limits.idle_timeout
            if kind == "idle"
            else LINGER_SECONDS
        )
        self.deadline = self._server.now() + delay
        self._timer_kind = kind

    def _cancel_timer(self) -> None:
        self._timer_kind = None

    def sweep(self, now: float) -> None:
        """Called by the server's periodic sweep: time out a phase past its deadline."""
        kind = self._timer_kind
        if kind is None or now < self.deadline:
            return
        self._timer_kind = None
        if kind == "linger":
            self._end_linger()
            return
        self._server.counters.timeouts += 1
        if kind == "idle":
            self._close()
            return
        limit = self._limits.header_timeout if kind == "header" else self._limits.body_timeout
        self._fail(
            HTTPStatus.REQUEST_TIMEOUT,
            "request_timeout",
            f"the request's {'headers' if kind == 'header' else 'body'} did not arrive "
            f"within {limit:g} s",
        )

    # -- WebSocket ----------------------------------------------------------------------------

    async def _upgrade(self, head: RequestHead) -> None:
        transport = self._transport
        assert transport is not None
        server = self._server
        protocol = ServerProtocol(max_size=self._limits.max_message_bytes)
        protocol.receive_data(head.raw())
        request = next((e for e in protocol.events_received() if isinstance(e, Request)), None)
        socket = StreamSocket(protocol, transport, self._limits.max_buffered_bytes, server.counters)
        if request is None:  # not a valid handshake request: the protocol has answered
            socket.flush()
            self._log_request(head, HTTPStatus.BAD_REQUEST, 0)
            return
        handshake = protocol.accept(request)
        context = None
        if handshake.status_code == HTTPStatus.SWITCHING_PROTOCOLS:
            context = await server.authenticate(head, self.peer)
        if self._closed:
            return
        protocol.send_response(handshake)
        socket.flush()
        self._log_request(head, handshake.status_code, 0)
        if handshake.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            return
        self._started = time.perf_counter()
        self.socket = socket
        server.connect_socket(socket, context)
        pending, self._handshake = bytes(self._handshake or b""), None
        self._resume_reading()
        if pending:
            self._receive_frames(pending)

    def _receive_frames(self, data: bytes) -> None:
        socket = self.socket
        assert socket is not None
        messages = socket.receive(data)
        if not messages:
            socket.flush()
            return
        # Handled in order by one task; reading pauses meanwhile and the protocol's answers
        # (pongs) wait until they are done, so a pong follows every message the frames before
        # its ping caused, as the engine's read loop has it.
        self._inbox.extend(messages)
        self._pause_reading()
        if self._worker is None:
            self._worker = self._server.spawn(self._work(socket))

    async def _work(self, socket: StreamSocket) -> None:
        try:
            while self._inbox and not self._closed:
                await self._server.on_message(socket, self._inbox.popleft())
        finally:
            self._worker = None
            self._inbox.clear()
        if not self._closed:
            socket.flush()
            self._resume_reading()

    def log_socket_closed(self) -> None:
        socket = self.socket
        if socket is None or not access_log.isEnabledFor(logging.INFO):
            return
        took = (time.perf_counter() - self._started) * 1000
        access_log.info(
            '%s "WebSocket /" closed: %d bytes sent, %d received, %.1fms',
            _address(self.peer),
            socket.bytes_sent,
            socket.bytes_received,
            took,
        )

    # -- the transport ------------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        if data and self._transport is not None and not self._closed:
            self._transport.write(data)

    def _pause_reading(self) -> None:
        if not self._reading_paused and self._transport is not None and not self._closed:
            self._reading_paused = True
            self._transport.pause_reading()

    def _resume_reading(self) -> None:
        if self._reading_paused and self._transport is not None and not self._closed:
            self._reading_paused = False
            self._transport.resume_reading()

    def _close(self) -> None:
        """Close once what is written is sent; nothing more is read or answered."""
        self._cancel_timer()
        if self._transport is not None and not self._closed:
            self._closed = True
            self._transport.close()

    def _linger(self) -> None:
        """Close after an answer while the client may still be sending (a refused body, a
        pipelined request): our side ends once the answer is sent (FIN), and what the client
        sends meanwhile is read and dropped until it closes too, or for LINGER_SECONDS or
        LINGER_BYTES, whichever comes first. Closing with unread bytes would make the kernel
        reset the connection, and a reset can destroy the answer before the client reads it."""
        transport = self._transport
        if transport is None or self._closed:
            return
        self._closed = True
        if not self._counted or not transport.can_write_eof():
            # A connection refused as one too many is not swept, so it cannot linger.
            transport.close()
            return
        transport.write_eof()
        self._lingering = 0
        self._arm("linger")
        self._reading_paused = False
        transport.resume_reading()

    def _end_linger(self) -> None:
        self._lingering = -1
        self._cancel_timer()
        if self._transport is not None:
            self._transport.close()

    def _abort(self) -> None:
        self._cancel_timer()
        self._closed = True
        if self._transport is not None:
            self._transport.abort()

    def shut(self) -> None:
        """The server is stopping: end an HTTP connection (a WebSocket is closed by its
        socket's closing handshake)."""
        if self.socket is None:
            self._close()
        else:
            self.socket.close(1001, "server shutting down")

    def abort(self) -> None:
        self._abort()


def _address(peer: tuple[str, int]) -> str:
    host, port = peer
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
