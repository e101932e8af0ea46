"""``StreamServer``: live stream subscriptions over WebSocket, speaking the engine's stream socket
protocol, with the store's calls over plain HTTP on the same port.

Rules: a binding around the pure hub (:mod:`iii_core.subscriptions`), which decides what is sent
to whom; this module only carries out its answers. One asyncio event loop runs everything, one
:class:`~._connection.ClientConnection` per TCP connection (h11, then websockets' sans-I/O
``ServerProtocol``):

- ``GET /`` with ``Upgrade: websocket`` opens a stream socket (the auth hook runs before the
  upgrade is answered and cannot refuse it); client frames are handled one at a time per
  connection, each join's hooks and sync read awaited before the next frame, as the engine does.
- The server follows the changes of the groups its clients joined (:mod:`._routes`; on Redis,
  only those groups' channels are listened to and decoded); every change event of those groups
  (from this process, or from every process on the same Redis) is encoded once and written to
  each matching subscription's connection without waiting for any client; slow clients are
  dropped (see :mod:`._socket`). When the store says events may have been missed (its Redis
  subscription was down, or a group's slot moved), every live subscription gets a fresh
  ``sync`` (:meth:`StreamServer.resync`).
- ``POST /call/{function_id}`` answers a ``stream::*`` / ``state::*`` call (see :mod:`._calls`);
  ``GET /stats`` gives the counters; anything else is ``404`` (``405`` for a wrong method,
  ``426`` for ``/`` without an upgrade).
- Every request is screened first: HTTP version, then (:mod:`._access`) Host, token, Origin
  for an upgrade, then content type and declared length for a call; the limits are in
  :class:`~._limits.Limits`.
- Stopping closes every socket with code 1001 and runs the leave hooks of the subscriptions they
  held, as a client's close does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import os
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from http import HTTPStatus
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import unquote

import msgspec
from websockets.frames import CloseCode

from iii_core.backends import ChangeEvent, Store, wall_clock_ms
from iii_core.errors import ErrorCode
from iii_core.server._access import host_allowed, is_json, origin_allowed, token_matches
from iii_core.server._calls import (
    BODY_TOO_LARGE,
    COUNTED_BODY_BYTES,
    answer_call,
    answer_call_now,
    error_body,
    values_bound,
)
from iii_core.server._connection import READ_BYTES, ClientConnection
from iii_core.server._hooks import AuthHook, JoinHook, LeaveHook, run_hook, run_hooks
from iii_core.server._http import Refusal, RequestHead
from iii_core.server._limits import DEFAULT_ACCESS, DEFAULT_LIMITS, Access, Limits
from iii_core.server._routes import GroupRoutes
from iii_core.server._socket import StreamSocket, text_frame
from iii_core.server._stats import Counters, ServerStats
from iii_core.server._store import StoreLink
from iii_core.store import StoreCallError
from iii_core.subscriptions import (
    ReadSync,
    Refuse,
    RunLeaveHooks,
    Send,
    SubscriptionHub,
    auth_context,
    stream_auth_input,
)

if TYPE_CHECKING:
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "LISTEN_BACKLOG", "StreamServer"]

log = logging.getLogger("iii_core.server")

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 3112
_encoder = msgspec.json.Encoder()
LISTEN_BACKLOG: Final = 64
"""Connections the kernel queues before they are accepted; asyncio accepts up to this many in
one go, each taking a descriptor until it is refused and closed."""
SWEEP_SECONDS: Final = 0.25
"""How often the read timeouts are checked: a timeout ends up to this much late."""
_BEARER: Final = ((b"www-authenticate", b"Bearer"),)
_HOSTS_REMEMBERED: Final = 256


@functools.lru_cache(maxsize=_HOSTS_REMEMBERED)
def _host_allowed_cached(host: str | None, bound_host: str, allow_hosts: tuple[str, ...]) -> bool:
    return host_allowed(host, bound_host, allow_hosts)


def _host_allowed(host: str | None, bound_host: str, allow_hosts: tuple[str, ...]) -> bool:
    """:func:`host_allowed`, remembered for the last few short Host values (a client sends the
    same one on every request; a long one is not kept)."""
    if host is not None and len(host) > 255:
        return host_allowed(host, bound_host, allow_hosts)
    return _host_allowed_cached(host, bound_host, allow_hosts)


T = TypeVar("T")


class StreamServer:
    """Serve ``store``'s streams to WebSocket subscribers, and its calls over HTTP.

    ``store`` is a ``MemoryStore``, a ``RedisStore`` or an ``AsyncRedisStore`` (the server does
    not close it). Use ``async with StreamServer(store) as server:`` or :meth:`start` /
    :meth:`stop`, on a running event loop. ``port=0`` picks a free port (see :attr:`port`).

    ``auth`` receives a ``StreamAuthInput`` per upgrade and returns a ``StreamAuthResult`` (or a
    mapping) whose ``context`` every join and leave hook of that connection sees; ``join_hooks``
    receive a ``StreamJoinLeaveEvent`` and reject with ``unauthorized: true``; ``leave_hooks``
    receive one on every leave and, once per held subscription, on close (see
    :mod:`iii_core.server._hooks`). ``limits`` bounds what clients can make the server hold and
    ``access`` says who may use it (token, Origin and Host rules). One line per request and per
    WebSocket goes to the ``iii_core.server.access`` logger (level INFO).
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
        limits: Limits = DEFAULT_LIMITS,
        access: Access = DEFAULT_ACCESS,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._link = StoreLink(store)
        self._routes = GroupRoutes(self._link, self._deliver, on_resync=self.resync)
        self._host = host
        self._port = port
        self._auth = auth
        self._join_hooks = tuple(join_hooks)
        self._leave_hooks = tuple(leave_hooks)
        self.limits = limits
        self.access = access
        self._clock = clock
        self._hub: SubscriptionHub[StreamSocket] = SubscriptionHub(
            max_subscriptions=limits.max_subscriptions, max_name_bytes=limits.max_name_bytes
        )
        self.counters = Counters()
        self.read_buffer = memoryview(bytearray(READ_BYTES))
        self.read_buffer_lent = False
        self._connections: set[ClientConnection] = set()
        self._sockets: set[StreamSocket] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._server: asyncio.Server | None = None
        self._sweeper: asyncio.TimerHandle | None = None
        self._store_available = True
        self._loop: asyncio.AbstractEventLoop  # the running loop, from start() on

    # -- life cycle ---------------------------------------------------------------------------

    @property
    def host(self) -> str:
        return self._host

    @property
    def port(self) -> int:
        """The port the server listens on (the one it picked, after ``start`` with port 0)."""
        return self._port

    async def start(self) -> None:
        """Listen; an address that cannot be bound raises ``OSError`` naming ``host:port``, a
        store that does not answer ``StoreCallError`` (``STORE_UNAVAILABLE``)."""
        # The store answers before the server listens (it follows groups only once clients
        # join): a server on an unreachable Redis says so instead of serving.
        await self._link.call("stream::get", {"stream_name": "", "group_id": "", "item_id": ""})
        self._loop = asyncio.get_running_loop()
        try:
            self._server = await self._loop.create_server(
                lambda: ClientConnection(self), self._host, self._port, backlog=LISTEN_BACKLOG
            )
        except OSError as exc:
            host, port = self._host, self._port
            where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
            error = OSError(f"cannot listen on {where}: {reason}")
            error.errno = exc.errno
            raise error from None
        self._port = self._server.sockets[0].getsockname()[1]
        self._sweep()

    async def stop(self) -> None:
        """Stop accepting, close every connection (leave hooks run), stop watching the store."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.close()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self._routes.close()
        for connection in list(self._connections):
            connection.shut()
        await self._settle(self.limits.close_timeout)
        for connection in list(self._connections):
            connection.abort()
        for task in set(self._tasks):
            task.cancel()
        await self._settle(self.limits.close_timeout)
        await server.wait_closed()

    async def _settle(self, timeout: float) -> None:
        """Wait (at most ``timeout``) for every connection to end and every task to finish."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while (self._connections or self._tasks) and loop.time() < deadline:
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=min(0.05, timeout))
            else:
                await asyncio.sleep(0.01)

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
        events = self._link.event_counts()
        return ServerStats(
            connections=len(self._sockets),
            subscriptions=self._hub.subscription_count,
            groups_followed=len(self._routes.groups),
            events_received=events.get("events_received", 0),
            events_decoded=events.get("events_decoded", 0),
            **dataclasses.asdict(self.counters),
        )

    async def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every change event published to the store before the call has been
        sent to its subscribers' connections."""
        await self._link.sync_events(timeout)

    def now(self) -> float:
        # The loop is kept: asyncio.get_running_loop() costs a getpid() system call (its
        # fork check), and this runs several times per request.
        return self._loop.time()

    def _sweep(self) -> None:
        """Time out the connections past their phase's deadline; again in SWEEP_SECONDS."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for connection in list(self._connections):
            connection.sweep(now)
        self._sweeper = loop.call_later(SWEEP_SECONDS, self._sweep)

    def spawn(self, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coroutine`` as a task that :meth:`stop` waits for."""
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- connections (called by ClientConnection) --------------------------------------------

    def opened(self, connection: ClientConnection) -> bool:
        """Count a new connection in; ``False`` when it is one too many (it is refused)."""
        if self._server is None or len(self._connections) >= self.limits.max_connections:
            return False
        self._connections.add(connection)
        return True

    def closed(self, connection: ClientConnection) -> None:
        self._connections.discard(connection)
        socket = connection.socket
        if socket is not None and socket in self._sockets:
            connection.log_socket_closed()
            self.spawn(self._disconnect(socket))

    async def _disconnect(self, socket: StreamSocket) -> None:
        try:
            leaves = self._hub.disconnect(socket)
            await self._follow_groups()
            for leave in leaves:
                await run_hooks(self._leave_hooks, leave.event)
        finally:
            # Counted as open until its leave hooks have run.
            self._sockets.discard(socket)

    def screen(self, head: RequestHead) -> Refusal | None:
        """The refusal a request's head earns, if any (the rules of :mod:`._access`)."""
        access = self.access
        if head.http_version not in ("1.0", "1.1"):
            return Refusal(
                HTTPStatus.HTTP_VERSION_NOT_SUPPORTED,
                ErrorCode.BAD_REQUEST,
                f"HTTP/{head.http_version} is not served: use HTTP/1.1",
            )
        if not _host_allowed(head.header("host"), self._host, access.allow_hosts):
            self.counters.refused_requests += 1
            return Refusal(
                HTTPStatus.FORBIDDEN,
                "host_not_allowed",
                f"Host {head.header('host')!r} is not this server's: add it with --allow-host",
            )
        path = head.path
        guarded = (
            (path == "/" and head.wants_websocket) or path == "/stats" or path.startswith("/call/")
        )
        if guarded and not token_matches(head.header("authorization"), access.token):
            self.counters.refused_requests += 1
            return Refusal(
                HTTPStatus.UNAUTHORIZED,
                "unauthorized",
                "this server needs an Authorization: Bearer <token> header",
                _BEARER,
            )
        if path == "/" and head.wants_websocket:
            origin = head.header("origin")
            if not origin_allowed(origin, head.header("host"), access.allow_origins):
                self.counters.refused_requests += 1
                return Refusal(
                    HTTPStatus.FORBIDDEN,
                    "origin_not_allowed",
                    f"Origin {origin!r} is not allowed: add it with --allow-origin",
                )
            return None
        if not path.startswith("/call/") or head.method != "POST":
            return None  # answered by its route once complete
        if not is_json(head.header("content-type")):
            self.counters.refused_requests += 1
            return Refusal(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "a call's body must be sent with Content-Type: application/json",
            )
        declared = head.header("content-length")
        if declared is not None and int(declared) > self.limits.max_body_bytes:
            self.counters.oversized_requests += 1
            return Refusal(*self.body_too_large())
        return None

    def body_too_large(self) -> tuple[int, str, str]:
        limit = self.limits.max_body_bytes
        return (
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            BODY_TOO_LARGE,
            f"the request body is over the server's limit of {limit} bytes (max_body_bytes)",
        )

    def answer(
        self, head: RequestHead, body: bytes
    ) -> tuple[int, bytes] | Callable[[], Awaitable[tuple[int, bytes]]]:
        """The answer to a complete request: at once, or, when a store call must be awaited (a
        store whose calls can block), a function that starts it (in the task that awaits it:
        a coroutine made before would be left unawaited if that task were cancelled first)."""
        path, method = head.path, head.method
        if path.startswith("/call/"):
            if method == "POST":
                return self._answer_call(head, body)
            return HTTPStatus.METHOD_NOT_ALLOWED, error_body(
                "method_not_allowed", "call a function with POST"
            )
        if path == "/stats":
            if method in ("GET", "HEAD"):
                return HTTPStatus.OK, _encoder.encode(self.stats())
            return HTTPStatus.METHOD_NOT_ALLOWED, error_body(
                "method_not_allowed", "read the counters with GET"
            )
        if path == "/":
            return HTTPStatus.UPGRADE_REQUIRED, error_body(
                "upgrade_required", "stream subscriptions need a WebSocket"
            )
        return HTTPStatus.NOT_FOUND, error_body("not_found", f"no route for {method} {path}")

    def _answer_call(
        self, head: RequestHead, body: bytes
    ) -> tuple[int, bytes] | Callable[[], Awaitable[tuple[int, bytes]]]:
        limit = self.limits.max_body_values
        if len(body) > COUNTED_BODY_BYTES and values_bound(body) > limit:
            self.counters.oversized_requests += 1
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, error_body(
                BODY_TOO_LARGE,
                f"the request body has over {limit} JSON values, the server's limit "
                "(max_body_values)",
            )
        function_id = unquote(head.path.removeprefix("/call/"))
        inline = self._link.inline_call_json
        if inline is None:
            return functools.partial(self._answer_call_later, function_id, body)
        status, payload, error = answer_call_now(inline, function_id, body)
        self._store_seen(error)
        return status, payload

    async def _answer_call_later(self, function_id: str, body: bytes) -> tuple[int, bytes]:
        status, payload, error = await answer_call(self._link, function_id, body)
        self._store_seen(error)
        return status, payload

    def _store_seen(self, error: Exception | None) -> None:
        """Say on the log when the store becomes unreachable, and when it is back."""
        if error is None and self._store_available:
            return
        unavailable = getattr(error, "code", None) == ErrorCode.STORE_UNAVAILABLE
        if unavailable and self._store_available:
            self._store_available = False
            log.warning("store unavailable: %s", error)
        elif not unavailable and not self._store_available:
            self._store_available = True
            log.warning("store available again")

    async def authenticate(self, head: RequestHead, peer: tuple[str, int]) -> Any:
        """The auth context of an upgrade (``None`` without an auth hook)."""
        if self._auth is None:
            return None
        auth_input = stream_auth_input(head.target, head.headers, peer)
        return auth_context(await run_hook(self._auth, auth_input))

    def connect_socket(self, socket: StreamSocket, context: Any) -> None:
        self._hub.connect(socket, context)
        self._sockets.add(socket)
        self.counters.connections_total += 1

    # -- change events ------------------------------------------------------------------------

    async def _follow_groups(self) -> None:
        try:
            await self._routes.follow(self._hub.groups)
        except StoreCallError as exc:
            # The store is unreachable: the next join or leave tries again.
            log.warning("could not follow the joined groups' changes: %s", exc)

    def _deliver(self, event: ChangeEvent) -> None:
        self._send(self._hub.publish(event))

    def _send(self, send: Send[StreamSocket] | None) -> None:
        if send is None:
            return
        frame = text_frame(_encoder.encode(send.message))
        for socket in send.connections:
            socket.send(frame)

    # -- client frames ------------------------------------------------------------------------

    async def on_message(self, socket: StreamSocket, message: bytes) -> None:
        action = self._hub.receive(socket, message)
        if action is None:
            self.counters.frames_ignored += 1
            return
        if isinstance(action, Refuse):
            self.counters.frames_refused += 1
            socket.close(CloseCode.POLICY_VIOLATION, action.reason)
            return
        if isinstance(action, RunLeaveHooks):
            await self._follow_groups()
            await run_hooks(self._leave_hooks, action.event)
            return
        results = await run_hooks(self._join_hooks, action.event)
        outcome = self._hub.admit(action, results, self._clock())
        if isinstance(outcome, ReadSync):
            # The group's changes are followed before its sync is read: none is missed.
            await self._follow_groups()
            await self._sync(outcome)
        else:
            self._send(outcome)

    async def _sync(self, read: ReadSync[StreamSocket]) -> None:
        """Read a subscription's sync and send it, then the events held back meanwhile."""
        try:
            data = await self._link.call(read.function_id, read.request)
        except Exception as exc:
            # As the engine: no sync, and the subscription stays.
            log.warning("sync read for %s failed: %s", read.function_id, exc)
            sends = self._hub.unsynced(read)
        else:
            sends = self._hub.synced(read, data)
        for send in sends:
            self._send(send)

    def resync(self) -> None:
        """The store may have lost events (a Redis subscription that was down): send every
        live subscription a fresh ``sync``; its events are held back until then."""
        reads = self._hub.resync(self._clock())
        if reads:
            log.warning(
                "store events may have been missed: %d subscriptions synced again", len(reads)
            )
        for read in reads:
            self.spawn(self._sync(read))
