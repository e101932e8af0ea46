"""The Redis listeners of the stores: one redis-py PubSub per store, listening on exactly the
channels the store's subscriptions need, for threads (:class:`EventListener`) and for asyncio
(:class:`AsyncEventListener`).

Rules: a thin pump around :class:`~iii_core.backends._event_inbox.EventInbox`. The pump owns
its PubSub alone (redis-py's PubSub is not thread-safe): callers change the inbox, and the pump
reconciles what it listens on with ``inbox.channels`` between reads (:func:`reconcile`), so a new
subscription waits at most one read timeout (:data:`READ_TIMEOUT_SECONDS`; on a cluster, whose
per-node connections are polled, :data:`IDLE_POLL_SECONDS` when idle) plus a round trip.
``add`` returns once Redis has confirmed every channel the subscription needs, so no event
published after it returns is missed. On a Redis Cluster, route channels are shard channels
(``SSUBSCRIBE``; redis-py's ClusterPubSub follows them when slots move) and the firehoses are
classic channels, which reach a node through the cluster bus: a message published just before a
subscription can still be in flight when Redis confirms it. So there a subscription that
listens on a classic channel is activated only when a marker published through every primary
after the confirmation has come back (a *fence*: messages from one primary stay in order), and
it gets nothing published before ``add`` was called. Markers travel on their own classic
channel (:data:`~iii_core.backends._event_inbox.MARKER_CHANNEL`), never on an event channel.
When the connection drops the pump (or redis-py itself) reconnects and listens again on
everything, and then calls every subscription's resync handler, because events published
meanwhile are gone (Redis pub/sub keeps nothing). Our own pump rather than redis-py's
``run_in_thread()``/``run()``: those swallow the subscribe confirmations, and only they say
when listening (again) begins, the moment ``add`` returns or the resync is due. Handlers run in
the pump (the listener thread, or the listener task); a failing handler is logged and the
others still run.

Budget: one PubSub connection per store on a single Redis; on a cluster one per primary that
owns a listened route, plus one for the firehoses (redis-py's ClusterPubSub).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from iii_core.backends._event_inbox import MARKER_CHANNEL, MARKER_PREFIX, EventInbox
from iii_core.backends._event_routing import ROUTE_PREFIX, needed_channels
from iii_core.backends._redis_common import READY_TIMEOUT_SECONDS
from iii_core.backends._subscribers import (
    ChangeEvent,
    EventHandler,
    RateLimitedWarning,
    ResyncHandler,
    TriggerConfig,
    _run,
    run_async,
)

__all__ = [
    "READ_TIMEOUT_SECONDS",
    "AsyncEventListener",
    "EventListener",
    "marker_commands",
    "marker_publications",
    "reconcile",
]

log = logging.getLogger("iii_core.backends.redis")

READ_TIMEOUT_SECONDS: Final = 0.02
# On a cluster the PubSub has one connection per node and no way to wait on all of them at once
# (redis-py waits on one node after the other): it is polled, and sleeps this long when idle.
IDLE_POLL_SECONDS: Final = 0.005
_BATCH: Final = 256
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
    """Where ``sync_events`` publishes its marker, given the ``channels`` listened on:
    (channel, sharded). On one Redis the marker channel is enough (one connection hears every
    channel in publication order); on a cluster, order holds only per node, so every listened
    route gets one on its shard, and the marker channel (listened beside any classic channel)
    one through every primary (:func:`marker_commands`)."""
    if not cluster:
        return [(MARKER_CHANNEL, False)] if channels else []
    where = [(MARKER_CHANNEL, False)] if MARKER_CHANNEL in channels else []
    return where + [(c, True) for c in sorted(channels) if _sharded(c, cluster)]


def marker_commands(
    client: Any, marker: bytes, where: list[tuple[str, bool]]
) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """The commands (arguments, keywords for ``execute_command``) that publish a marker where
    :func:`marker_publications` says: a classic channel on a cluster through every primary.
    Each command brings one copy back."""
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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _MarkerRound:
    """One marker's round trip: done when every published copy came back; ``on_done`` runs
    then, in the pump (or in the publisher, if every copy came back before it counted them)."""

    def __init__(self, on_done: Callable[[], None]) -> None:
        self.marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        self.on_done = on_done
        self.arrived = 0
        self.expected: int | None = None
        self.done = False

    def seen(self) -> None:
        self.arrived += 1
        self._check()

    def published(self, copies: int) -> None:
        self.expected = copies
        self._check()

    def _check(self) -> None:
        if not self.done and self.expected is not None and self.arrived >= self.expected:
            self.done = True
            self.on_done()


class _Pump:
    """What the sync and async listeners share: the inbox, what is listened on, what has been
    confirmed, and the subscription steps."""

    def __init__(self, *, cluster: bool, engine_channel: bool) -> None:
        self.cluster = cluster
        self.engine_channel = engine_channel
        self.inbox = EventInbox(engine_channel=engine_channel, cluster=cluster)
        self.listening: set[str] = set()
        self.confirmed: set[str] = set()
        # A channel confirmed again (redis-py re-subscribed after a drop), or a reconnection by
        # the pump: the subscriptions' resync handlers are due.
        self.resync_due = False

    def needs_fence(self, config: TriggerConfig | None) -> bool:
        channels = needed_channels(config, engine_channel=self.engine_channel)
        return self.cluster and any(not _sharded(c, self.cluster) for c in channels)

    def all_confirmed(self) -> bool:
        return self.inbox.channels <= self.confirmed

    def pending(self) -> list[tuple[str, list[str]]]:
        calls = reconcile(self.inbox.channels, self.listening, cluster=self.cluster)
        for method, channels in calls:
            if method.endswith("unsubscribe"):
                self.listening.difference_update(channels)
                self.confirmed.difference_update(channels)
            else:
                self.listening.update(channels)
        return calls

    def sources(self) -> tuple[bool, bool]:
        """Whether to read classic messages, and shard messages (a cluster PubSub reads them
        apart, and refuses to read a kind it has no subscription of)."""
        sharded = any(_sharded(channel, self.cluster) for channel in self.listening)
        classic = any(not _sharded(channel, self.cluster) for channel in self.listening)
        return classic, sharded

    def take(self, message: dict[str, Any] | None) -> list[tuple[EventHandler, ChangeEvent]]:
        if message is None:
            return []
        kind = message["type"]
        channel = _text(message["channel"])
        if kind in _CONFIRMATIONS:
            if channel in self.confirmed:
                self.resync_due = True
            self.confirmed.add(channel)
            return []
        if kind in _MESSAGES:
            data = message["data"]
            return self.inbox.receive(channel, data if isinstance(data, bytes) else data.encode())
        return []

    def lost(self) -> None:
        self.listening.clear()
        self.confirmed.clear()
        self.resync_due = True

    def resyncs(self) -> list[ResyncHandler]:
        """The resync handlers to run now (once the channels are listened on again)."""
        if not self.resync_due or not self.all_confirmed():
            return []
        self.resync_due = False
        return self.inbox.resync_calls()

    def start_round(self, on_done: Callable[[], None]) -> _MarkerRound:
        round_trip = _MarkerRound(on_done)
        self.inbox.expect_marker(round_trip.marker, round_trip.seen)
        return round_trip


def _nothing() -> None:
    return None


class EventListener:
    """Change events for a synchronous store: a daemon thread owns the PubSub."""

    def __init__(self, client: Any, *, cluster: bool, engine_channel: bool) -> None:
        self._client = client
        self._pump = _Pump(cluster=cluster, engine_channel=engine_channel)
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()
        # One report per minute at most, per store, of a lost connection.
        self._warn_listener = RateLimitedWarning("the Redis events listener lost its connection")

    def counts(self) -> dict[str, Any]:
        with self._changed:
            return self._pump.inbox.snapshot()

    def add(
        self,
        config: TriggerConfig | None,
        handler: EventHandler,
        on_resync: ResyncHandler | None = None,
    ) -> Callable[[], None]:
        """Subscribe; returns once Redis confirmed every channel this needs (and, on a cluster,
        the fence came back). Raises ``TimeoutError`` or ``redis.RedisError``."""
        # A handler that subscribes runs in the listener thread, which must go on reading for
        # the confirmation: there the subscription is registered and takes effect shortly.
        inside = threading.current_thread() is self._thread
        fenced = self._pump.needs_fence(config) and not inside
        with self._changed:
            token, _ = self._pump.inbox.add(config, handler, on_resync=on_resync, active=not fenced)
            self._start()
        if inside:
            return partial(self._remove, token)
        try:
            with self._changed:
                if not self._changed.wait_for(
                    lambda: self._pump.all_confirmed() or self._closed.is_set(),
                    READY_TIMEOUT_SECONDS,
                ):
                    raise TimeoutError("Redis did not confirm the subscription in time")
            if fenced:
                self._round_trip(
                    [(MARKER_CHANNEL, False)],
                    lambda: self._pump.inbox.activate(token),
                    READY_TIMEOUT_SECONDS,
                )
        except BaseException:
            with self._changed:
                self._pump.inbox.remove(token)
            raise

        return partial(self._remove, token)

    def _remove(self, token: int) -> None:
        with self._changed:
            self._pump.inbox.remove(token)

    def sync(self, timeout: float) -> None:
        """Return once every event published before the call has been handed to the handlers:
        a marker on the channels :func:`marker_publications` names has come back."""
        with self._changed:
            self._start()
            # A marker on a channel whose SUBSCRIBE is not confirmed yet would never come back.
            if threading.current_thread() is not self._thread:
                self._changed.wait_for(
                    lambda: self._pump.all_confirmed() or self._closed.is_set(), timeout
                )
            where = marker_publications(self._pump.inbox.channels, cluster=self._pump.cluster)
        if where:
            self._round_trip(where, _nothing, timeout)

    def _round_trip(
        self, where: list[tuple[str, bool]], on_done: Callable[[], None], timeout: float
    ) -> None:
        with self._changed:
            round_trip = self._pump.start_round(on_done)
        try:
            commands = marker_commands(self._client, round_trip.marker, where)
            for args, keywords in commands:
                self._client.execute_command(*args, **keywords)
            with self._changed:
                round_trip.published(len(commands))
                if not self._changed.wait_for(lambda: round_trip.done, timeout):
                    raise TimeoutError(f"change events not delivered within {timeout} s")
        finally:
            with self._changed:
                self._pump.inbox.forget_marker(round_trip.marker)

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
        while not self._closed.is_set():
            pubsub = self._client.pubsub()
            try:
                while not self._closed.is_set():
                    with self._changed:
                        calls = self._pump.pending()
                    for method, channels in calls:
                        getattr(pubsub, method)(*channels)
                    self._read(pubsub)
                    with self._changed:
                        resyncs = self._pump.resyncs()
                    for resync in resyncs:
                        _run(resync, "resync handler failed")
            except Exception as exc:  # a dropped or refused connection: reconnect
                self._warn_listener(f"{type(exc).__name__}: {exc}; reconnecting")
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
        if not self._pump.cluster:
            if classic:
                messages.append(pubsub.get_message(timeout=READ_TIMEOUT_SECONDS))
            else:
                self._closed.wait(READ_TIMEOUT_SECONDS)
        else:
            for _ in range(_BATCH):
                found = 0
                if sharded:
                    messages.append(pubsub.get_sharded_message(timeout=0))
                    found += messages[-1] is not None
                if classic:
                    messages.append(pubsub.get_message(timeout=0))
                    found += messages[-1] is not None
                if not found:
                    break
            if not any(messages):
                self._closed.wait(IDLE_POLL_SECONDS)
        for message in messages:
            if message is None:
                continue
            with self._changed:
                calls = self._pump.take(message)
                self._changed.notify_all()
            for handler, event in calls:
                _run(partial(handler, event), "change event handler failed")


class AsyncEventListener:
    """Change events for an asyncio store: a task owns the PubSub. Handlers may be coroutine
    functions (awaited in the task)."""

    def __init__(self, client: Any, *, cluster: bool, engine_channel: bool) -> None:
        self._client = client
        self._pump = _Pump(cluster=cluster, engine_channel=engine_channel)
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._warn_listener = RateLimitedWarning("the Redis events listener lost its connection")

    def counts(self) -> dict[str, Any]:
        return self._pump.inbox.snapshot()

    async def add(
        self,
        config: TriggerConfig | None,
        handler: EventHandler,
        on_resync: ResyncHandler | None = None,
    ) -> Callable[[], None]:
        """:meth:`EventListener.add` for asyncio."""
        # A handler that subscribes runs in the listener task (see EventListener.add).
        inside = asyncio.current_task() is self._task
        fenced = self._pump.needs_fence(config) and not inside
        token, _ = self._pump.inbox.add(config, handler, on_resync=on_resync, active=not fenced)
        self._start()
        if inside:
            return partial(self._remove, token)
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(self._pump.all_confirmed), READY_TIMEOUT_SECONDS
                )
            if fenced:
                await self._round_trip(
                    [(MARKER_CHANNEL, False)],
                    lambda: self._pump.inbox.activate(token),
                    READY_TIMEOUT_SECONDS,
                )
        except BaseException:
            self._pump.inbox.remove(token)
            raise

        return partial(self._remove, token)

    def _remove(self, token: int) -> None:
        self._pump.inbox.remove(token)

    async def sync(self, timeout: float) -> None:
        """:meth:`EventListener.sync` for asyncio."""
        self._start()
        if asyncio.current_task() is not self._task:
            # A marker on a channel whose SUBSCRIBE is not confirmed yet would never come back.
            async with self._changed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(
                        self._changed.wait_for(self._pump.all_confirmed), timeout
                    )
        where = marker_publications(self._pump.inbox.channels, cluster=self._pump.cluster)
        if where:
            await self._round_trip(where, _nothing, timeout)

    async def _round_trip(
        self, where: list[tuple[str, bool]], on_done: Callable[[], None], timeout: float
    ) -> None:
        round_trip = self._pump.start_round(on_done)
        try:
            commands = marker_commands(self._client, round_trip.marker, where)
            for args, keywords in commands:
                await self._client.execute_command(*args, **keywords)
            round_trip.published(len(commands))
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(lambda: round_trip.done), timeout)
        finally:
            self._pump.inbox.forget_marker(round_trip.marker)

    async def close(self) -> None:
        self._closed = True
        task = self._task
        # Cancelled again until done: a cancellation that lands as redis-py's own read timeout
        # expires can be absorbed by it (then the loop also stops on the flag).
        while task is not None and not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)

    def _start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._listen(), name="iii-core-redis-events")

    async def _listen(self) -> None:
        while not self._closed:
            if hasattr(self._client, "initialize"):
                # An asyncio RedisCluster learns its slot map on first use; its PubSub needs it.
                with contextlib.suppress(Exception):
                    await self._client.initialize()
            pubsub = self._client.pubsub()
            try:
                while not self._closed:
                    for method, channels in self._pump.pending():
                        await getattr(pubsub, method)(*channels)
                    await self._read(pubsub)
                    for resync in self._pump.resyncs():
                        await run_async(resync, "resync handler failed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a dropped or refused connection: reconnect
                self._warn_listener(f"{type(exc).__name__}: {exc}; reconnecting")
                self._pump.lost()
                await asyncio.sleep(_RECONNECT_SECONDS)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def _read(self, pubsub: Any) -> None:
        classic, sharded = self._pump.sources()
        messages = []
        if not self._pump.cluster:
            if classic:
                messages.append(await pubsub.get_message(timeout=READ_TIMEOUT_SECONDS))
            else:
                await asyncio.sleep(READ_TIMEOUT_SECONDS)
        else:
            for _ in range(_BATCH):
                found = 0
                if sharded:
                    messages.append(await pubsub.get_sharded_message(timeout=0))
                    found += messages[-1] is not None
                if classic:
                    messages.append(await pubsub.get_message(timeout=0))
                    found += messages[-1] is not None
                if not found:
                    break
            if not any(messages):
                await asyncio.sleep(IDLE_POLL_SECONDS)
        for message in messages:
            if message is None:
                continue
            calls = self._pump.take(message)
            async with self._changed:
                self._changed.notify_all()
            for handler, event in calls:
                await run_async(partial(handler, event), "change event handler failed")
