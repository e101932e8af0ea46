"""The Redis listeners of the stores: one redis-py PubSub per store, listening on exactly the
channels the store's subscriptions need, for threads (:class:`EventListener`) and for asyncio
(:class:`AsyncEventListener`).

Rules: a thin pump around :class:`~iii_core.backends._event_inbox.EventInbox`. The pump owns
its PubSub alone (redis-py's PubSub is not thread-safe): callers change the inbox, and the pump
reconciles what it listens on with ``inbox.channels`` between reads (:func:`reconcile`), so a new
subscription waits at most one read timeout (:data:`READ_TIMEOUT_SECONDS`) plus a round trip.
``add`` returns once Redis has confirmed every channel the subscription needs, so no event
published after it returns is missed. On a Redis Cluster, route channels are shard channels
(``SSUBSCRIBE``, redis-py's ClusterPubSub follows them when slots move) and the firehoses are
classic channels. When the connection drops the pump reconnects, listens again on everything,
and calls the store's resync callbacks, because events published meanwhile are gone (Redis
pub/sub keeps nothing). Handlers run in the pump (the listener thread, or the listener task);
a failing handler is logged and the others still run.

Budget: one PubSub connection per store on a single Redis; on a cluster one per primary that
owns a listened route, plus one for the firehoses (redis-py's ClusterPubSub).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

from iii_core.backends._event_inbox import MARKER_PREFIX, EventInbox
from iii_core.backends._event_routing import ROUTE_PREFIX
from iii_core.backends._subscribers import ChangeEvent, EventHandler, TriggerConfig

__all__ = [
    "READ_TIMEOUT_SECONDS",
    "AsyncEventListener",
    "AsyncPublisher",
    "EventListener",
    "Publisher",
    "marker_commands",
    "marker_publications",
    "publish_markers",
    "publish_markers_async",
    "reconcile",
]

log = logging.getLogger("iii_core.backends.redis")

# publish(marker, [(channel, sharded), ...]) -> how many copies were published.
Publisher = Callable[[bytes, list[tuple[str, bool]]], int]
AsyncPublisher = Callable[[bytes, list[tuple[str, bool]]], Awaitable[int]]

READ_TIMEOUT_SECONDS: Final = 0.02
SUBSCRIBE_TIMEOUT_SECONDS: Final = 10.0
_RECONNECT_SECONDS: Final = 0.2
_CONFIRMATIONS: Final = frozenset({b"subscribe", b"ssubscribe", "subscribe", "ssubscribe"})
_MESSAGES: Final = frozenset({b"message", b"smessage", "message", "smessage"})


def _sharded(channel: str, cluster: bool) -> bool:
    return cluster and channel.startswith(ROUTE_PREFIX)


def reconcile(
    wanted: frozenset[str], listening: set[str], *, cluster: bool
) -> list[tuple[str, list[str]]]:
    """The PubSub calls (method name, channels) that take ``listening`` to ``wanted``."""
    calls = []
    for method, channels in (
        ("subscribe", [c for c in sorted(wanted - listening) if not _sharded(c, cluster)]),
        ("ssubscribe", [c for c in sorted(wanted - listening) if _sharded(c, cluster)]),
        ("unsubscribe", [c for c in sorted(listening - wanted) if not _sharded(c, cluster)]),
        ("sunsubscribe", [c for c in sorted(listening - wanted) if _sharded(c, cluster)]),
    ):
        if channels:
            calls.append((method, channels))
    return calls


def marker_publications(channels: frozenset[str], *, cluster: bool) -> list[tuple[str, bool]]:
    """Where ``sync_events`` publishes its marker: (channel, sharded). On one Redis, one listened
    channel is enough (one connection hears every channel in publication order); on a cluster,
    every listened route (each on its shard) and every firehose (published through each primary
    by the caller), because order holds only per shard."""
    if not channels:
        return []
    if not cluster:
        return [(min(channels), False)]
    return [(channel, _sharded(channel, cluster)) for channel in sorted(channels)]


def marker_commands(
    client: Any, marker: bytes, where: list[tuple[str, bool]]
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The commands (arguments, keywords for ``execute_command``) that publish a ``sync_events``
    marker where :func:`marker_publications` says: a firehose on a cluster through every
    primary, since order holds only per node. Each command brings one copy back."""
    primaries = client.get_primaries() if hasattr(client, "get_primaries") else None
    commands: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    for channel, sharded in where:
        if sharded:
            commands.append((("SPUBLISH", channel, marker), {}))
        elif primaries is not None:
            commands.extend(
                (("PUBLISH", channel, marker), {"target_nodes": node}) for node in primaries
            )
        else:
            commands.append((("PUBLISH", channel, marker), {}))
    return commands


def publish_markers(client: Any, marker: bytes, where: list[tuple[str, bool]]) -> int:
    """Publish a marker through a ``redis.Redis`` or ``RedisCluster``; returns the copies."""
    commands = marker_commands(client, marker, where)
    for args, keywords in commands:
        client.execute_command(*args, **keywords)
    return len(commands)


async def publish_markers_async(client: Any, marker: bytes, where: list[tuple[str, bool]]) -> int:
    """:func:`publish_markers` through a ``redis.asyncio`` client."""
    commands = marker_commands(client, marker, where)
    for args, keywords in commands:
        await client.execute_command(*args, **keywords)
    return len(commands)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _Pump:
    """What the sync and async listeners share: the inbox, what is listened on, and what has
    been confirmed."""

    def __init__(self, *, cluster: bool, engine_channel: bool) -> None:
        self.cluster = cluster
        self.inbox = EventInbox(engine_channel=engine_channel)
        self.listening: set[str] = set()
        self.confirmed: set[str] = set()
        self.resync_callbacks: list[Callable[[], None]] = []

    def pending(self) -> list[tuple[str, list[str]]]:
        calls = reconcile(self.inbox.channels, self.listening, cluster=self.cluster)
        for method, channels in calls:
            if method.endswith("unsubscribe"):
                self.listening.difference_update(channels)
                self.confirmed.difference_update(channels)
            else:
                self.listening.update(channels)
        return calls

    def take(self, message: dict[str, Any] | None) -> list[tuple[EventHandler, ChangeEvent]]:
        if message is None:
            return []
        kind = message["type"]
        channel = _text(message["channel"])
        if kind in _CONFIRMATIONS:
            self.confirmed.add(channel)
            return []
        if kind in _MESSAGES:
            data = message["data"]
            return self.inbox.receive(channel, data if isinstance(data, bytes) else data.encode())
        return []

    def sources(self) -> tuple[bool, bool]:
        """Whether to read classic messages, and shard messages (a cluster PubSub reads them
        apart, and refuses to read a kind it has no subscription of)."""
        sharded = any(_sharded(channel, self.cluster) for channel in self.listening)
        classic = any(not _sharded(channel, self.cluster) for channel in self.listening)
        return classic, sharded

    def lost(self) -> None:
        self.listening.clear()
        self.confirmed.clear()

    def counts(self) -> dict[str, Any]:
        return self.inbox.snapshot()


def _run_handler(handler: EventHandler, event: ChangeEvent) -> Any:
    try:
        return handler(event)
    except Exception:
        log.exception("change event handler failed")
        return None


class EventListener:
    """Change events for a synchronous store: a daemon thread owns the PubSub."""

    def __init__(self, client: Any, *, cluster: bool, engine_channel: bool) -> None:
        self._client = client
        self._pump = _Pump(cluster=cluster, engine_channel=engine_channel)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def counts(self) -> dict[str, Any]:
        with self._changed:
            return self._pump.counts()

    def on_resync(self, callback: Callable[[], None]) -> None:
        with self._changed:
            self._pump.resync_callbacks.append(callback)

    def add(self, config: TriggerConfig | None, handler: EventHandler) -> Callable[[], None]:
        """Subscribe; returns once Redis confirmed every channel this needs."""
        with self._changed:
            token, changes = self._pump.inbox.add(config, handler)
            self._start()
            wanted = set(self._pump.inbox.channels)
            if not self._changed.wait_for(
                lambda: wanted <= self._pump.confirmed or self._closed.is_set(),
                SUBSCRIBE_TIMEOUT_SECONDS,
            ):
                self._pump.inbox.remove(token)
                raise TimeoutError(f"Redis did not confirm the subscriptions {changes.subscribe}")

        def unsubscribe() -> None:
            with self._changed:
                self._pump.inbox.remove(token)

        return unsubscribe

    def sync(self, publish: Publisher, timeout: float) -> None:
        """Publish a marker with ``publish(marker, where)`` (which returns how many copies it
        sent) and wait until every copy came back: every event published before is then
        handed to the handlers."""
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        arrived = [0]

        def seen() -> None:
            arrived[0] += 1

        with self._changed:
            self._start()
            where = marker_publications(self._pump.inbox.channels, cluster=self._pump.cluster)
            self._pump.inbox.expect_marker(marker, seen)
        try:
            copies = publish(marker, where)
            with self._changed:
                if not self._changed.wait_for(lambda: arrived[0] >= copies, timeout):
                    raise TimeoutError(f"change events not delivered within {timeout} s")
        finally:
            with self._changed:
                self._pump.inbox.forget_marker(marker)

    def close(self) -> None:
        self._closed.set()
        with self._changed:
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._listen, name="iii-core-redis-events", daemon=True
            )
            self._thread.start()

    def _listen(self) -> None:
        failed = False
        while not self._closed.is_set():
            pubsub = self._client.pubsub()
            try:
                while not self._closed.is_set():
                    with self._changed:
                        calls = self._pump.pending()
                    for method, channels in calls:
                        getattr(pubsub, method)(*channels)
                    if failed:
                        failed = False
                        for callback in list(self._pump.resync_callbacks):
                            callback()
                    self._read(pubsub)
            except Exception as exc:  # a dropped or refused connection: reconnect
                log.warning("Redis event listener reconnecting: %s", exc)
                failed = True
                with self._changed:
                    self._pump.lost()
                self._closed.wait(_RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    pubsub.close()

    def _read(self, pubsub: Any) -> None:
        with self._changed:
            classic, sharded = self._pump.sources()
        messages = []
        if sharded:
            messages.append(pubsub.get_sharded_message(timeout=READ_TIMEOUT_SECONDS))
        if classic:
            messages.append(pubsub.get_message(timeout=READ_TIMEOUT_SECONDS))
        if not messages:
            self._closed.wait(READ_TIMEOUT_SECONDS)
        for message in messages:
            with self._changed:
                calls = self._pump.take(message)
                self._changed.notify_all()
            for handler, event in calls:
                _run_handler(handler, event)


class AsyncEventListener:
    """Change events for an asyncio store: a task owns the PubSub. Handlers may be coroutine
    functions (awaited in the task)."""

    def __init__(self, client: Any, *, cluster: bool, engine_channel: bool) -> None:
        self._client = client
        self._pump = _Pump(cluster=cluster, engine_channel=engine_channel)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    def counts(self) -> dict[str, Any]:
        return self._pump.counts()

    def on_resync(self, callback: Callable[[], None]) -> None:
        self._pump.resync_callbacks.append(callback)

    async def add(self, config: TriggerConfig | None, handler: EventHandler) -> Callable[[], None]:
        token, changes = self._pump.inbox.add(config, handler)
        self._start()
        wanted = set(self._pump.inbox.channels)
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: wanted <= self._pump.confirmed),
                    SUBSCRIBE_TIMEOUT_SECONDS,
                )
        except TimeoutError:
            self._pump.inbox.remove(token)
            raise TimeoutError(
                f"Redis did not confirm the subscriptions {changes.subscribe}"
            ) from None

        def unsubscribe() -> None:
            self._pump.inbox.remove(token)

        return unsubscribe

    async def sync(self, publish: AsyncPublisher, timeout: float) -> None:
        """:meth:`EventListener.sync` with an awaitable ``publish``."""
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        arrived = [0]
        self._start()
        where = marker_publications(self._pump.inbox.channels, cluster=self._pump.cluster)

        def seen() -> None:
            arrived[0] += 1

        self._pump.inbox.expect_marker(marker, seen)
        try:
            copies = await publish(marker, where)
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: arrived[0] >= copies), timeout
                )
        finally:
            self._pump.inbox.forget_marker(marker)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="iii-core-redis-events")

    async def _listen(self) -> None:
        failed = False
        while True:
            if hasattr(self._client, "initialize"):
                # An asyncio RedisCluster learns its slot map on first use; its PubSub needs it.
                with contextlib.suppress(Exception):
                    await self._client.initialize()
            pubsub = self._client.pubsub()
            try:
                while True:
                    for method, channels in self._pump.pending():
                        await getattr(pubsub, method)(*channels)
                    if failed:
                        failed = False
                        for callback in list(self._pump.resync_callbacks):
                            callback()
                    await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped or refused connection: reconnect
                log.warning("Redis event listener reconnecting: %s", exc)
                failed = True
                self._pump.lost()
                await asyncio.sleep(_RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _read(self, pubsub: Any) -> None:
        classic, sharded = self._pump.sources()
        messages = []
        if sharded:
            messages.append(await pubsub.get_sharded_message(timeout=READ_TIMEOUT_SECONDS))
        if classic:
            messages.append(await pubsub.get_message(timeout=READ_TIMEOUT_SECONDS))
        if not messages:
            await asyncio.sleep(READ_TIMEOUT_SECONDS)
        for message in messages:
            calls = self._pump.take(message)
            if message is not None:
                async with self._changed:
                    self._changed.notify_all()
            for handler, event in calls:
                outcome = _run_handler(handler, event)
                if inspect.isawaitable(outcome):
                    try:
                        await outcome
                    except Exception:
                        log.exception("change event handler failed")
