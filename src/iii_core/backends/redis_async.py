"""``AsyncRedisStore``: :class:`~iii_core.backends.redis.RedisStore` for asyncio, on
``redis.asyncio``, with the same methods as coroutines.

Rules: a binding over the same pure core and the same shared call path as every other store
(:mod:`iii_core.backends._calls`), with the same key layout, the same compare-and-set write and
the same events channel, so sync and async clients on one Redis see each other's writes and
events. Handlers run in this store's listener task; a handler may be a plain function or return
an awaitable, which is awaited. A call that cannot reach Redis raises ``StoreCallError`` with
code ``STORE_UNAVAILABLE``.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from iii_core._generated.state import (
    StateDeleteInput,
    StateGetInput,
    StateListGroupsInput,
    StateListGroupsResult,
    StateListInput,
    StateSetInput,
    StateUpdateInput,
)
from iii_core._generated.stream import (
    StreamDeleteInput,
    StreamDeleteResult,
    StreamGetInput,
    StreamListAllResult,
    StreamListGroupsInput,
    StreamListInput,
    StreamSendInput,
    StreamSetInput,
    StreamSetResult,
    StreamUpdateInput,
    StreamUpdateResult,
)
from iii_core.backends._base import wall_clock_ms
from iii_core.backends._calls import (
    as_type,
    decode_request,
    owned_copy,
    plan_read,
    to_json,
    writer,
)
from iii_core.backends._redis_cas import CAS_SCRIPT, cas_arguments
from iii_core.backends._subscribers import ChangeEvent, EventHandler, Subscribers, TriggerConfig
from iii_core.backends.redis import (
    DEFAULT_CHANNEL,
    MARKER_PREFIX,
    decode_event,
    glob_escape,
    unavailable,
)
from iii_core.store import READ_FUNCTIONS, Transition, item_location
from iii_core.update import MISSING

try:
    import redis.asyncio as aioredis
    from redis.exceptions import RedisError
except ModuleNotFoundError as exc:  # pragma: no cover - exercised only without the extra
    raise ModuleNotFoundError(
        "iii_core.backends.redis_async needs the 'redis' extra: pip install 'iii-core[redis]'"
    ) from exc

__all__ = ["AsyncRedisStore"]

log = logging.getLogger("iii_core.backends.redis")

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
_RECONNECT_SECONDS = 0.2


class AsyncRedisStore:
    """The Redis store for asyncio code. Build it with :meth:`from_url`."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        channel: str = DEFAULT_CHANNEL,
        clock: Callable[[], int] = wall_clock_ms,
        max_value_bytes: int | None = None,
    ) -> None:
        self._redis = client
        self._compare_and_set = client.register_script(CAS_SCRIPT)
        self._channel = channel
        self._clock = clock
        self.max_value_bytes = max_value_bytes
        self._subscribers = Subscribers()
        self._listener: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self._markers: dict[bytes, asyncio.Event] = {}

    @classmethod
    def from_url(cls, url: str, *, max_connections: int = 64, **kwargs: Any) -> AsyncRedisStore:
        """``AsyncRedisStore.from_url("redis://127.0.0.1:6379/0")``. Concurrent calls beyond
        ``max_connections`` wait for a free connection instead of failing."""
        pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections)
        return cls(aioredis.Redis(connection_pool=pool), **kwargs)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        await self._redis.aclose(close_connection_pool=True)

    async def __aenter__(self) -> AsyncRedisStore:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- the call path ------------------------------------------------------------------------

    async def call(self, function_id: str, payload: Any) -> Any:
        """Run one engine function; returns the result as a JSON value."""
        return to_json(await self._run(function_id, decode_request(function_id, payload)))

    async def _run(self, function_id: str, request: Any) -> Any:
        try:
            if function_id in READ_FUNCTIONS:
                return await self._read(function_id, request)
            step = writer(request, self._clock(), self.max_value_bytes)
            location = item_location(request)
            if location is not None:
                return (await self._atomic_update(*location, step)).result
            outcome = step(MISSING)
            for event in outcome.events:
                await self._redis.publish(self._channel, _encoder.encode(event))
            return outcome.result
        except RedisError as exc:
            raise unavailable(exc) from None

    async def _read(self, function_id: str, request: Any) -> Any:
        plan = plan_read(function_id, request)
        if plan.source == "field":
            raw = await self._redis.hget(plan.key, plan.field)
            return plan.shape(MISSING if raw is None else _decoder.decode(raw))
        if plan.source == "values":
            values = await self._redis.hvals(plan.key)
            return plan.shape([_decoder.decode(raw) for raw in values])
        keys = [
            key.decode() if isinstance(key, bytes) else key
            async for key in self._redis.scan_iter(match=glob_escape(plan.key) + "*", count=1000)
        ]
        return plan.shape(keys)

    async def _atomic_update(
        self, hash_key: str, field: str, step: Callable[[Any], Transition]
    ) -> Transition:
        while True:
            read = await self._redis.hget(hash_key, field)
            outcome = step(MISSING if read is None else _decoder.decode(read))
            arguments = cas_arguments(field, read, outcome, self._channel)
            if await self._compare_and_set(keys=[hash_key], args=arguments):
                return outcome

    async def _typed(self, function_id: str, request: Any) -> Any:
        return await self._run(function_id, decode_request(function_id, request))

    # -- typed methods, one per function id ---------------------------------------------------

    async def stream_set(self, request: StreamSetInput) -> StreamSetResult:
        return as_type(await self._typed("stream::set", request), StreamSetResult)

    async def stream_get(self, request: StreamGetInput) -> Any:
        return owned_copy(await self._typed("stream::get", request), "result")

    async def stream_update(self, request: StreamUpdateInput) -> StreamUpdateResult:
        return as_type(await self._typed("stream::update", request), StreamUpdateResult)

    async def stream_delete(self, request: StreamDeleteInput) -> StreamDeleteResult:
        return as_type(await self._typed("stream::delete", request), StreamDeleteResult)

    async def stream_send(self, request: StreamSendInput) -> None:
        await self._typed("stream::send", request)

    async def stream_list(self, request: StreamListInput) -> list[Any]:
        return as_type(await self._typed("stream::list", request), list[Any])

    async def stream_list_groups(self, request: StreamListGroupsInput) -> list[str]:
        return as_type(await self._typed("stream::list_groups", request), list[str])

    async def stream_list_all(self) -> StreamListAllResult:
        return as_type(await self._typed("stream::list_all", {}), StreamListAllResult)

    async def state_set(self, request: StateSetInput) -> StreamSetResult:
        return as_type(await self._typed("state::set", request), StreamSetResult)

    async def state_get(self, request: StateGetInput) -> Any:
        return owned_copy(await self._typed("state::get", request), "result")

    async def state_update(self, request: StateUpdateInput) -> StreamUpdateResult:
        return as_type(await self._typed("state::update", request), StreamUpdateResult)

    async def state_delete(self, request: StateDeleteInput) -> Any:
        return owned_copy(await self._typed("state::delete", request), "result")

    async def state_list(self, request: StateListInput) -> list[Any]:
        return as_type(await self._typed("state::list", request), list[Any])

    async def state_list_groups(
        self, request: StateListGroupsInput | None = None
    ) -> StateListGroupsResult:
        payload = StateListGroupsInput() if request is None else request
        return as_type(await self._typed("state::list_groups", payload), StateListGroupsResult)

    # -- subscriptions --------------------------------------------------------------------------

    async def subscribe(self, config: TriggerConfig, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler(event)`` for every change event matching ``config``, from any process
        on this Redis; returns ``unsubscribe``."""
        unsubscribe = self._subscribers.add(config, handler)
        await self._ensure_listener()
        return unsubscribe

    async def watch(self, handler: EventHandler) -> Callable[[], None]:
        """Call ``handler(event)`` for every change event (an iii-core addition)."""
        unsubscribe = self._subscribers.add(None, handler)
        await self._ensure_listener()
        return unsubscribe

    async def sync_events(self, timeout: float = 5.0) -> None:
        """Return once every event this client published before the call has been handed to
        this store's handlers."""
        await self._ensure_listener()
        marker = MARKER_PREFIX + uuid.uuid4().hex.encode()
        seen = self._markers[marker] = asyncio.Event()
        try:
            await self._redis.publish(self._channel, marker)
            await asyncio.wait_for(seen.wait(), timeout)
        except RedisError as exc:
            raise unavailable(exc) from None
        finally:
            self._markers.pop(marker, None)

    async def _ensure_listener(self) -> None:
        if self._listener is None:
            self._listener = asyncio.create_task(self._listen(), name="iii-core-redis-events")
        await self._listening.wait()

    async def _listen(self) -> None:
        while True:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                self._listening.set()
                while True:
                    message = await pubsub.get_message(timeout=_RECONNECT_SECONDS)
                    if message is not None and message["type"] == "message":
                        await self._deliver_raw(message["data"])
            except (RedisError, OSError):
                await asyncio.sleep(_RECONNECT_SECONDS)
            finally:
                await pubsub.aclose()  # type: ignore[no-untyped-call]

    async def _deliver_raw(self, data: bytes) -> None:
        if data.startswith(MARKER_PREFIX):
            seen = self._markers.get(data)
            if seen is not None:
                seen.set()
            return
        event = decode_event(data)
        if event is not None:
            await self._deliver(event)

    async def _deliver(self, event: ChangeEvent) -> None:
        for handler in self._subscribers.matching(event):
            try:
                outcome = handler(event)
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception:
                log.exception("change event handler failed")
