"""``StreamServer``: live stream subscriptions over WebSocket, speaking the engine's stream socket
protocol, with the store's calls over plain HTTP on the same port.

Rules: a binding around the pure hub (:mod:`iii_core.subscriptions`), which decides what is sent
to whom; this module only carries out its answers. One asyncio event loop runs everything:

- ``GET /`` with ``Upgrade: websocket`` opens a stream socket (the auth hook runs before the
  upgrade is answered and cannot refuse it); client frames are handled one at a time per
  connection, each join's hooks and sync read awaited before the next frame, as the engine does.
- Every change event of the store (from this process, or from every process on the same Redis)
  is encoded once and written to each matching subscription's connection without waiting for
  any client; slow clients are dropped (see :mod:`._socket`).
- ``POST /call/{function_id}`` answers a ``stream::*`` / ``state::*`` call (see :mod:`._calls`);
  ``GET /stats`` gives the counters; anything else is ``404`` (``426`` for ``/`` without an
  upgrade).
- Stopping closes every socket with code 1001 and runs the leave hooks of the subscriptions they
  held, as a client's close does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Final
from urllib.parse import unquote

import msgspec
from websockets.frames import CloseCode
from websockets.http11 import Request
from websockets.server import ServerProtocol

from iii_core.backends import ChangeEvent, Store, wall_clock_ms
from iii_core.server._calls import answer_call, error_body
from iii_core.server._hooks import AuthHook, JoinHook, LeaveHook, run_hook, run_hooks
from iii_core.server._http import BadRequest, RequestHead, read_body, read_head, response
from iii_core.server._socket import StreamSocket, text_frame
from iii_core.server._stats import Counters, ServerStats
from iii_core.server._store import StoreLink
from iii_core.subscriptions import (
    ReadSync,
    RunLeaveHooks,
    Send,
    SubscriptionHub,
    auth_context,
    stream_auth_input,
)

if TYPE_CHECKING:
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_MAX_BUFFERED_BYTES",
    "DEFAULT_PORT",
    "StreamServer",
]

log = logging.getLogger("iii_core.server")

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 3112
DEFAULT_MAX_BUFFERED_BYTES: Final = 1 << 20
_HEAD_LIMIT: Final = 64 * 1024
_encoder = msgspec.json.Encoder()


def _refuse(writer: asyncio.StreamWriter, exc: BadRequest) -> None:
    """Answer a request that cannot be read; the connection is closed after it."""
    writer.write(response(exc.status, error_body(exc.code, exc.message), keep_alive=False))


class StreamServer:
    """Serve ``store``'s streams to WebSocket subscribers, and its calls over HTTP.

    ``store`` is a ``MemoryStore``, a ``RedisStore`` or an ``AsyncRedisStore`` (the server does
    not close it). Use ``async with StreamServer(store) as server:`` or :meth:`start` /
    :meth:`stop`, on a running event loop. ``port=0`` picks a free port (see :attr:`port`).

    ``auth`` receives a ``StreamAuthInput`` per upgrade and returns a ``StreamAuthResult`` (or a
    mapping) whose ``context`` every join and leave hook of that connection sees; ``join_hooks``
    receive a ``StreamJoinLeaveEvent`` and reject with ``unauthorized: true``; ``leave_hooks``
    receive one on every leave and, once per held subscription, on close (see
    :mod:`iii_core.server._hooks`). ``max_buffered_bytes`` bounds each connection's unsent bytes
    (a client that falls further behind is dropped); ``max_message_bytes`` bounds a client
    message and ``max_body_bytes`` an HTTP body.
    """

    def __init__(
        self,
        store: Store | AsyncRedisStore,
        *,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        auth: AuthHook | None = None,
        join_hooks: Sequence[JoinHook] = (),
        leave_hooks: Sequence[LeaveHook] = (),
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        max_message_bytes: int = 1 << 20,
        max_body_bytes: int = 16 << 20,
        idle_timeout: float = 60.0,
        close_timeout: float = 5.0,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._link = StoreLink(store)
        self._host = host
        self._port = port
        self._auth = auth
        self._join_hooks = tuple(join_hooks)
        self._leave_hooks = tuple(leave_hooks)
        self._max_buffered_bytes = max_buffered_bytes
        self._max_message_bytes = max_message_bytes
        self._max_body_bytes = max_body_bytes
        self._idle_timeout = idle_timeout
        self._close_timeout = close_timeout
        self._clock = clock
        self._hub: SubscriptionHub[StreamSocket] = SubscriptionHub()
        self._counters = Counters()
        self._sockets: set[StreamSocket] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._server: asyncio.Server | None = None

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The port the server listens on (the one it picked, after ``start`` with port 0)."""
        return self._port

    async def start(self) -> None:
        await self._link.watch(self._deliver)
        self._server = await asyncio.start_server(
            self._on_client, self._host, self._port, limit=_HEAD_LIMIT
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop accepting, close every connection (leave hooks run), stop watching the store."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        self._link.unwatch()
        for socket in list(self._sockets):
            socket.close(CloseCode.GOING_AWAY, "server shutting down")
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._close_timeout)
        for socket in list(self._sockets):
            socket.abort()
        for task in set(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self._close_timeout)
        await server.wait_closed()

    async def __aenter__(self) -> StreamServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    def stats(self) -> ServerStats:
        return ServerStats(
            connections=len(self._sockets),
            subscriptions=self._hub.subscription_count,
            **dataclasses.asdict(self._counters),
        )

    async def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every change event published to the store before the call has been
        sent to its subscribers' connections."""
        await self._link.sync_events(timeout)

    # -- change events ------------------------------------------------------------------------

    def _deliver(self, event: ChangeEvent) -> None:
        self._send(self._hub.publish(event))

    def _send(self, send: Send[StreamSocket] | None) -> None:
        if send is None:
            return
        frame = text_frame(_encoder.encode(send.message))
        for socket in send.connections:
            socket.send(frame)

    # -- connections --------------------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(read_head(reader), self._idle_timeout)
                except BadRequest as exc:
                    _refuse(writer, exc)
                    return
                if head is None:
                    return
                if head.wants_websocket:
                    await self._serve_socket(reader, writer, head)
                    return
                if not await self._answer_http(reader, writer, head):
                    return
        except (TimeoutError, ConnectionError):
            pass  # an idle or vanished client: nothing to answer
        except Exception:
            log.exception("connection handler failed")
        finally:
            self._tasks.discard(task)
            await self._close_writer(writer)

    async def _close_writer(self, writer: asyncio.StreamWriter) -> None:
        writer.close()
        try:
            await asyncio.wait_for(writer.wait_closed(), self._close_timeout)
        except (TimeoutError, ConnectionError):
            writer.transport.abort()  # a client that never reads what is left to flush
        except asyncio.CancelledError:
            writer.transport.abort()
            raise

    async def _answer_http(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: RequestHead
    ) -> bool:
        """Answer one plain HTTP request; whether the connection stays open."""
        self._counters.http_requests += 1
        keep_alive = head.keep_alive
        try:
            body = await read_body(reader, writer, head, self._max_body_bytes)
        except BadRequest as exc:
            _refuse(writer, exc)
            return False
        path = head.path
        status: int
        if path.startswith("/call/"):
            if head.method == "POST":
                function_id = unquote(path.removeprefix("/call/"))
                status, payload = await answer_call(self._link, function_id, body)
            else:
                status = HTTPStatus.METHOD_NOT_ALLOWED
                payload = error_body("method_not_allowed", "call a function with POST")
        elif path == "/stats" and head.method == "GET":
            status, payload = HTTPStatus.OK, _encoder.encode(self.stats())
        elif path == "/":
            status = HTTPStatus.UPGRADE_REQUIRED
            payload = error_body("upgrade_required", "stream subscriptions need a WebSocket")
        else:
            status = HTTPStatus.NOT_FOUND
            payload = error_body("not_found", f"no route for {head.method} {path}")
        writer.write(response(status, payload, keep_alive=keep_alive))
        await writer.drain()
        return keep_alive

    async def _serve_socket(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: RequestHead
    ) -> None:
        protocol = ServerProtocol(max_size=self._max_message_bytes)
        protocol.receive_data(head.raw)
        request = next((e for e in protocol.events_received() if isinstance(e, Request)), None)
        socket = StreamSocket(protocol, writer.transport, self._max_buffered_bytes, self._counters)
        if request is None:  # not a valid handshake request: the protocol has answered
            socket.flush()
            return
        if head.path != "/":
            protocol.send_response(
                protocol.reject(HTTPStatus.NOT_FOUND, "Stream subscriptions are served on /.\n")
            )
            socket.flush()
            return
        handshake = protocol.accept(request)
        context = None
        if handshake.status_code == HTTPStatus.SWITCHING_PROTOCOLS and self._auth is not None:
            # None when the client left before the connection was set up: no address then.
            host, port = (writer.get_extra_info("peername") or ("", 0))[:2]
            auth_input = stream_auth_input(head.target, head.headers, (host, port))
            context = auth_context(await run_hook(self._auth, auth_input))
        protocol.send_response(handshake)
        socket.flush()
        if handshake.status_code != HTTPStatus.SWITCHING_PROTOCOLS:
            return
        self._hub.connect(socket, context)
        self._sockets.add(socket)
        self._counters.connections_total += 1
        try:
            async for message in socket.messages(reader):
                await self._on_message(socket, message)
        finally:
            for leave in self._hub.disconnect(socket):
                await run_hooks(self._leave_hooks, leave.event)
            # Counted as open until its leave hooks have run.
            self._sockets.discard(socket)

    async def _on_message(self, socket: StreamSocket, message: bytes) -> None:
        action = self._hub.receive(socket, message)
        if action is None:
            self._counters.frames_ignored += 1
            return
        if isinstance(action, RunLeaveHooks):
            await run_hooks(self._leave_hooks, action.event)
            return
        results = await run_hooks(self._join_hooks, action.event)
        outcome = self._hub.admit(action, results, self._clock())
        if isinstance(outcome, ReadSync):
            try:
                data = await self._link.call(outcome.function_id, outcome.request)
            except Exception as exc:
                # As the engine: no sync, and the subscription stays.
                log.warning("sync read for %s failed: %s", outcome.function_id, exc)
                return
            outcome = self._hub.synced(outcome, data)
        self._send(outcome)
