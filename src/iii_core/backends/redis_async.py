"""``AsyncRedisStore``: the Redis store for asyncio, on ``redis.asyncio``.

Rules: a binding: :class:`AsyncRedisStorage`, an asynchronous storage driver, driven by the same
core call flow as every other store, with the same key layout, the same compare-and-set script,
the same memory of last-seen bytes and the same events channel as :class:`RedisStore`
(:mod:`iii_core.backends._redis_common`), so sync and async clients on one Redis see each
other's writes and events. Writers of one item in this store take turns (a per-item
``asyncio.Lock``), so a hot item costs a queue, not retries.

Handlers run in this store's listener task on the loop; a handler may be a plain function or
return an awaitable, which is awaited. The listener reconnects and re-subscribes after a
dropped pub/sub connection and then calls every ``on_resync`` handler; a message that is not a
change event is logged (rate-limited) and skipped. Every wait has a bound (connect 5 s, any
command 10 s, the first subscription 5 s): ``watch`` with Redis down raises
``StoreCallError`` ``STORE_UNAVAILABLE`` instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import Any

from iii_core._extras import MissingExtra
from iii_core.backends._base import DriverAsyncStore, wall_clock_ms
from iii_core.backends._redis_common import (
    CAS_SCRIPT,
    DEFAULT_CHANNEL,
    MARKER_PREFIX,
    READY_TIMEOUT_SECONDS,
    RECONNECT_SECONDS,
    LastSeen,
    backoff_seconds,
    cas_arguments,
    cas_outcome,
    classify,
    glob_escape,
    redis_error,
    stored_form,
)
from iii_core.backends._redis_common import (
    text as _text,
)
from iii_core.backends._subscribers import RateLimitedWarning, run_async
from iii_core.backends.redis import client_options
from iii_core.store import (
    STORE_UNAVAILABLE,
    Changed,
    CompareAndSet,
    ListKeys,
    Publish,
    ReadField,
    ReadHash,
    StoreCallError,
    encode_result,
)

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ModuleNotFoundError:  # pragma: no cover - exercised only without the extra
    raise MissingExtra("iii_core.backends.redis_async", "redis", "redis") from None

__all__ = ["AsyncRedisStorage", "AsyncRedisStore"]


class AsyncRedisStorage:
    """The asynchronous storage driver on Redis; stored forms are the JSON bytes."""

    def __init__(self, client: aioredis.Redis, channel: str) -> None:
        self._redis = client
        self._compare_and_set = client.register_script(CAS_SCRIPT)
        self._channel = channel
        self._last_seen = LastSeen()

    async def read_field(self, op: ReadField) -> Any:
        if not op.fresh:
            seen = self._last_seen.get(op.hash_key, op.field)
            if seen is not None:
                return seen
        try:
            stored = stored_form(await self._redis.hget(op.hash_key, op.field))
        except RedisError as exc:
            raise redis_error(exc, op.hash_key) from None
        self._last_seen.put(op.hash_key, op.field, stored)
        return stored

    async def read_hash(self, op: ReadHash) -> list[Any]:
        try:
            if not op.fields:
                return list(await self._redis.hvals(op.hash_key))
            fields = await self._redis.hgetall(op.hash_key)
        except RedisError as exc:
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
        except RedisError as exc:
            raise redis_error(exc) from None

    async def compare_and_set(self, op: CompareAndSet) -> Changed | None:
        arguments, after = cas_arguments(op, self._channel)
        try:
            reply = await self._compare_and_set(keys=[op.hash_key], args=arguments)
        except RedisError as exc:
            raise redis_error(exc, op.hash_key) from None
        changed = cas_outcome(reply)
        if changed is not None and op.attempt > 0:
            # Contended by other processes: back off, then read, so that the retry starts
            # from the value after the wait rather than the one before it.
            await asyncio.sleep(backoff_seconds(op.attempt))
            changed = Changed(await self.read_field(ReadField(op.hash_key, op.field)))
        self._last_seen.put(op.hash_key, op.field, after if changed is None else changed.current)
        return changed

    async def publish(self, op: Publish) -> None:
        try:
            for event in op.events:
                await self._redis.publish(self._channel, encode_result(event))
        except RedisError as exc:
            raise redis_error(exc) from None


class AsyncRedisStore(DriverAsyncStore):
    """The Redis store for asyncio code. Build it with :meth:`from_url`."""

    shares_values = False  # every result is decoded afresh from Redis's bytes

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        channel: str = DEFAULT_CHANNEL,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        super().__init__(
            AsyncRedisStorage(client, channel), clock=clock, max_value_bytes=max_value_bytes
        )
        self._redis = client
        self._channel = channel
        self._listener: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        # One report per minute at most, per store, of each kind of trouble on the channel.
        self._warn_channel = RateLimitedWarning("ignored a message on the events channel")
        self._warn_listener = RateLimitedWarning("the Redis events listener lost its connection")
        self._markers: dict[bytes, asyncio.Event] = {}

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 64, **kwargs: Any) -> AsyncRedisStore:
        """``AsyncRedisStore.from_url("redis://127.0.0.1:6379/0")``. Concurrent calls beyond
        ``max_connections`` wait (at most the command timeout) for a free connection."""
        pool = aioredis.BlockingConnectionPool.from_url(
            url, max_connections=max_connections, timeout=10, **client_options()
        )
        return cls(aioredis.Redis(connection_pool=pool), **kwargs)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose(close_connection_pool=True)

    async def __aenter__(self) -> AsyncRedisStore:
        return self

    # -- delivery across processes ------------------------------------------------------------

    async def _start_events(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="iii-core-redis-events")
        try:
            await asyncio.wait_for(self._subscribed.wait(), READY_TIMEOUT_SECONDS)
        except TimeoutError:
            raise StoreCallError(
                STORE_UNAVAILABLE,
                f"Redis is unavailable: could not subscribe to {self._channel!r} "
                f"within {READY_TIMEOUT_SECONDS:g} s",
            ) from None

    async def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every event this client published before the call has been handed to
        this store's handlers."""
        await self._start_events()
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        seen = self._markers[marker] = asyncio.Event()
        try:
            await self._redis.publish(self._channel, marker)
            await asyncio.wait_for(seen.wait(), timeout)
        except RedisError as exc:
            raise redis_error(exc) from None
        finally:
            self._markers.pop(marker, None)

    async def _listen(self) -> None:
        pubsub = self._redis.pubsub()
        # Our own loop around redis-py's PubSub rather than run_in_thread()/run(): PubSub
        # reconnects and re-subscribes by itself, but only the subscribe confirmation, which
        # those helpers swallow, says when it is listening again (the moment to resync).
        requested = False
        try:
            while True:
                try:
                    if not requested:
                        await pubsub.subscribe(self._channel)
                        requested = True  # from now on redis-py re-subscribes on reconnect
                    message = await pubsub.get_message(timeout=RECONNECT_SECONDS)
                except Exception as exc:  # the listener outlives any fault
                    self._warn_listener(f"{type(exc).__name__}: {exc}; reconnecting")
                    await asyncio.sleep(RECONNECT_SECONDS)
                    continue
                if message is not None:
                    await self._handle(message)
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _handle(self, message: Any) -> None:
        meaning = classify(message, self._warn_channel)
        if meaning.subscribed:
            if self._subscribed.is_set():
                for resync in self._subscribers.resync_calls():
                    await run_async(resync, "resync handler failed")
            self._subscribed.set()
        elif meaning.marker is not None:
            seen = self._markers.get(meaning.marker)
            if seen is not None:
                seen.set()
        elif meaning.event is not None:
            for call in self._subscribers.calls(meaning.event):
                await run_async(call, "change event handler failed")
