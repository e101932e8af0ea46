"""``AsyncRedisStore``: the Redis store for asyncio, on ``redis.asyncio``.

Rules: a binding: :class:`AsyncRedisStorage`, an asynchronous storage driver, driven by the same
core call flow as every other store, with the same key layout, the same compare-and-set script,
the same memory of last-seen bytes and the same event channels and listener rules as
:class:`RedisStore` (:mod:`iii_core.backends._redis_common`,
:mod:`iii_core.backends._redis_listener`), so sync and async clients on one Redis or one Redis
Cluster see each other's writes and events. Writers of one item in this store take turns (a per-item
``asyncio.Lock``), so a hot item costs a queue, not retries.

Handlers run in this store's listener task on the loop; a handler may be a plain function or
return an awaitable, which is awaited. The listener reconnects and re-subscribes after a
dropped pub/sub connection and then calls every ``on_resync`` handler; a message that is not a
change event is counted, logged (rate-limited) and skipped. Every wait has a bound (connect 5 s, any
command 10 s, the first subscription 5 s): ``watch`` with Redis down raises
``StoreCallError`` ``STORE_UNAVAILABLE`` instead of waiting forever.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from iii_core._extras import MissingExtra
from iii_core.backends._base import DriverAsyncStore, wall_clock_ms
from iii_core.backends._event_routing import publish_commands
from iii_core.backends._redis_common import (
    CAS_SCRIPT,
    REDIS_ERRORS,
    REPLICA_ACK_TIMEOUT_MS,
    LastSeen,
    backoff_seconds,
    cas_arguments,
    cas_outcome,
    glob_escape,
    redis_error,
    replicas_missing,
    stored_form,
)
from iii_core.backends._redis_common import (
    text as _text,
)
from iii_core.backends._redis_listener import AsyncEventListener
from iii_core.backends._subscribers import (
    ChangeEvent,
    EventHandler,
    ResyncHandler,
    TriggerConfig,
)
from iii_core.backends.redis import client_options, private_copies
from iii_core.store import (
    STORE_UNAVAILABLE,
    Changed,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
)

try:
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("iii_core.backends.redis_async", "redis", "redis") from None

__all__ = ["AsyncRedisStorage", "AsyncRedisStore"]


class AsyncRedisStorage:
    """The asynchronous storage driver on Redis; stored forms are the JSON bytes."""

    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        *,
        engine_channel: bool = True,
        replica_acks: int = 0,
    ) -> None:
        self._redis = client
        self._compare_and_set = client.register_script(CAS_SCRIPT)
        self._cluster = isinstance(client, RedisCluster)
        self._engine_channel = engine_channel
        self._replica_acks = replica_acks
        self._last_seen = LastSeen()

    def _publications(self, events: tuple[ChangeEvent, ...]) -> list[tuple[str, str, bytes]]:
        return publish_commands(events, engine_channel=self._engine_channel, cluster=self._cluster)

    async def read_field(self, op: ReadField) -> Any:
        if not op.fresh:
            seen = self._last_seen.get(op.hash_key, op.field)
            if seen is not None:
                return seen
        try:
            stored = stored_form(await self._redis.hget(op.hash_key, op.field))
        except REDIS_ERRORS as exc:
            raise redis_error(exc, op.hash_key) from None
        self._last_seen.put(op.hash_key, op.field, stored)
        return stored

    async def read_hash(self, op: ReadHash) -> list[Any]:
        try:
            if not op.fields:
                return list(await self._redis.hvals(op.hash_key))
            fields = await self._redis.hgetall(op.hash_key)
        except REDIS_ERRORS as exc:
            raise redis_error(exc, op.hash_key) from None
        return [(_text(field), raw) for field, raw in fields.items()]

    async def list_keys(self, op: ListKeys) -> list[str]:
        try:
            return [
                _text(key)
                async for key in self._redis.scan_iter(
                    match=glob_escape(op.prefix) + "*", count=1000
                )
            ]
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None

    async def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        arguments, after = cas_arguments(op, self._publications(op.events))
        try:
            reply = await self._compare_and_set(keys=[op.hash_key], args=arguments)
            changed = cas_outcome(reply)
            if changed is None and op.write and self._replica_acks:
                await self._wait_for_replicas(op.hash_key)
        except REDIS_ERRORS as exc:
            raise redis_error(exc, op.hash_key) from None
        if changed is not None and op.attempt > 0:
            # Contended by other processes: back off, then read, so that the retry starts
            # from the value after the wait rather than the one before it.
            await asyncio.sleep(backoff_seconds(op.attempt))
            changed = Changed(await self.read_field(ReadField(op.hash_key, op.field)))
        self._last_seen.put(op.hash_key, op.field, after if changed is None else changed.current)
        return changed

    async def _wait_for_replicas(self, hash_key: str) -> None:
        wait = ("WAIT", self._replica_acks, REPLICA_ACK_TIMEOUT_MS)
        if isinstance(self._redis, RedisCluster):
            node = self._redis.get_node_from_key(hash_key)
            acked = await self._redis.execute_command(*wait, target_nodes=node)
        else:
            acked = await self._redis.execute_command(*wait)  # type: ignore[no-untyped-call]
        if acked < self._replica_acks:
            raise replicas_missing(acked, self._replica_acks)

    async def publish(self, op: Publish) -> None:
        try:
            for command in self._publications(op.events):
                await self._redis.execute_command(*command)
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None


class AsyncRedisStore(DriverAsyncStore):
    """The Redis store for asyncio code. Build it with :meth:`from_url` or
    :meth:`from_cluster_url`; ``engine_channel`` and ``replica_acks`` as for ``RedisStore``."""

    shares_values = False  # every result is decoded afresh from Redis's bytes

    def __init__(
        self,
        client: aioredis.Redis | RedisCluster,
        *,
        engine_channel: bool = True,
        replica_acks: int = 0,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        super().__init__(
            AsyncRedisStorage(client, engine_channel=engine_channel, replica_acks=replica_acks),
            clock=clock,
            max_value_bytes=max_value_bytes,
        )
        self._redis = client
        self._events = AsyncEventListener(
            client, cluster=isinstance(client, RedisCluster), engine_channel=engine_channel
        )

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 64, **kwargs: Any) -> AsyncRedisStore:
        """``AsyncRedisStore.from_url("redis://127.0.0.1:6379/0")``. Concurrent calls beyond
        ``max_connections`` wait (at most the command timeout) for a free connection."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, **client_options()
        )
        return cls(aioredis.Redis(connection_pool=pool), **kwargs)

    @classmethod
    def from_cluster_url(
        cls, url: str, *, max_connections: int = 64, **kwargs: Any
    ) -> AsyncRedisStore:
        """``AsyncRedisStore.from_cluster_url("redis://127.0.0.1:7000")``: any node of a Redis
        Cluster (Redis 7 or later). At most ``max_connections`` connections per node."""
        client = RedisCluster.from_url(url, max_connections=max_connections, **client_options())
        return cls(client, **kwargs)

    async def close(self) -> None:
        await self._events.close()
        if isinstance(self._redis, RedisCluster):
            await self._redis.aclose()
        else:
            await self._redis.aclose(close_connection_pool=True)

    async def __aenter__(self) -> AsyncRedisStore:
        return self

    def event_counts(self) -> dict[str, Any]:
        """As :meth:`RedisStore.event_counts`."""
        return self._events.counts()

    # -- delivery across processes ------------------------------------------------------------

    async def subscribe(
        self,
        config: TriggerConfig,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`RedisStore.subscribe`."""
        return await self._add(config, handler, on_resync, private_copies)

    async def watch(
        self,
        handler: EventHandler,
        *,
        on_resync: ResyncHandler | None = None,
        private_copies: bool = True,
    ) -> Callable[[], None]:
        """As :meth:`RedisStore.watch`: this process then decodes every event."""
        return await self._add(None, handler, on_resync, private_copies)

    async def _add(
        self,
        config: TriggerConfig | None,
        handler: EventHandler,
        on_resync: ResyncHandler | None,
        private: bool,
    ) -> Callable[[], None]:
        try:
            return await self._events.add(config, private_copies(handler, private), on_resync)
        except (TimeoutError, *REDIS_ERRORS) as exc:
            raise StoreCallError(
                STORE_UNAVAILABLE, f"Redis is unavailable: could not subscribe: {exc}"
            ) from None

    async def _start_events(self) -> None:
        """Unused: :meth:`subscribe` and :meth:`watch` start the listener."""

    async def sync_events(self, timeout: float = 5.0) -> None:
        """As :meth:`RedisStore.sync_events`."""
        try:
            await self._events.sync(timeout)
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None
