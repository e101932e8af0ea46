"""``AsyncRedisStore``: the Redis store for asyncio, on ``redis.asyncio``.

Rules: a binding: :class:`AsyncRedisStorage`, an asynchronous storage driver, driven by the same
core call flow as every other store, with the same key layout, the same compare-and-set script,
the same memory of last-seen bytes and the same event channels and listener rules as
:class:`RedisStore` (:mod:`iii_core.backends._redis_common`,
:mod:`iii_core.backends._redis_listener`), so sync and async clients on one Redis or one Redis
Cluster see each other's writes and events. Its operations are the sync driver's generators of
Redis commands (:class:`~iii_core.backends._redis_common.RedisDriver`), performed with
``await`` through the client. Writers of one item in this store take turns (a per-item
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
from iii_core.backends._base import DriverAsyncStore, Handlers, wall_clock_ms
from iii_core.backends._redis_common import (
    CAS_SCRIPT,
    REDIS_ERRORS,
    SUBSCRIBE_ERRORS,
    Command,
    Pause,
    RedisDriver,
    Step,
    Steps,
    not_subscribed,
    redis_error,
)
from iii_core.backends._redis_listener import AsyncEventListener
from iii_core.backends._subscribers import TriggerConfig
from iii_core.backends.redis import client_options, private_copies

try:
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import RedisCluster
    from redis.exceptions import NoScriptError
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("iii_core.backends.redis_async", "redis", "redis") from None

__all__ = ["AsyncRedisStorage", "AsyncRedisStore"]


class AsyncRedisStorage(RedisDriver):
    """The asynchronous storage driver on Redis; stored forms are the JSON bytes."""

    async def _drive(self, steps: Steps[Any], key: str | None) -> Any:
        reply = None
        try:
            while True:
                reply = await self._perform(steps.send(reply))
        except StopIteration as done:
            return done.value
        except REDIS_ERRORS as exc:
            raise redis_error(exc, key) from None

    async def _perform(self, step: Step) -> Any:
        if isinstance(step, Command):
            try:
                return await self._send(step)
            except NoScriptError:  # a restarted or flushed Redis: load the script once more
                await self._redis.script_load(CAS_SCRIPT)
                return await self._send(step)
        if isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
            return None
        return [key async for key in self._redis.scan_iter(match=step.pattern, count=1000)]

    async def _send(self, command: Command) -> Any:
        if command.node_of is None:
            return await self._redis.execute_command(*command.args)
        node = self._redis.get_node_from_key(command.node_of)
        return await self._redis.execute_command(*command.args, target_nodes=node)


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

    async def _add(self, config: TriggerConfig | None, handlers: Handlers) -> Callable[[], None]:
        """As :meth:`RedisStore._add`."""
        handler, on_resync, private = handlers
        try:
            return await self._events.add(config, private_copies(handler, private), on_resync)
        except SUBSCRIBE_ERRORS as exc:
            raise not_subscribed(exc) from None

    async def sync_events(self, timeout: float = 5.0) -> None:
        """As :meth:`RedisStore.sync_events`."""
        try:
            await self._events.sync(timeout)
        except REDIS_ERRORS as exc:
            raise redis_error(exc) from None
