"""``StoreLink``, the server's asynchronous face over any store: no switch on store kinds, events
from the loop's own thread delivered at once, events from other threads queued in order, a
blocking store run off the loop, and the resync signal routed to the loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any, cast

import redis

from iii_core.backends import ChangeEvent, MemoryStore, Store
from iii_core.backends.redis import RedisStore
from iii_core.backends.redis_async import AsyncRedisStore
from iii_core.server._store import StoreLink
from iii_core.stream import StreamChangeEvent
from tests.redis_server import RedisServer

ITEM = {"stream_name": "s", "group_id": "g", "item_id": "i"}
INCREMENT = {**ITEM, "ops": [{"type": "increment", "path": "n", "by": 1}]}


def counts(events: list[ChangeEvent]) -> list[Any]:
    return [
        cast(dict[str, Any], e.event.data)["n"] for e in events if isinstance(e, StreamChangeEvent)
    ]


def test_a_write_on_the_loop_is_delivered_before_the_call_returns() -> None:
    async def scenario() -> None:
        link = StoreLink(MemoryStore())
        seen: list[ChangeEvent] = []
        await link.watch(seen.append)
        await link.call("stream::set", {**ITEM, "data": {"n": 0}})
        assert counts(seen) == [0]  # no loop iteration in between: delivered directly
        answer = await link.call_json(
            "stream::update",
            b'{"stream_name":"s","group_id":"g",'
            b'"item_id":"i","ops":[{"type":"increment","path":"n","by":1}]}',
        )
        assert answer == b'{"old_value":{"n":0},"new_value":{"n":1}}'
        assert counts(seen) == [0, 1]
        link.unwatch()

    asyncio.run(scenario())


def test_writes_from_other_threads_keep_their_order_beside_loop_writes() -> None:
    store = MemoryStore()
    store.call("stream::set", {**ITEM, "data": {"n": 0}})

    async def scenario() -> list[ChangeEvent]:
        link = StoreLink(store)
        seen: list[ChangeEvent] = []
        loop_thread = threading.get_ident()
        delivered_on: set[int] = set()

        def deliver(event: ChangeEvent) -> None:
            delivered_on.add(threading.get_ident())
            seen.append(event)

        await link.watch(deliver)

        def writer() -> None:
            for _ in range(300):
                store.call("stream::update", INCREMENT)

        thread = threading.Thread(target=writer)
        thread.start()
        for _ in range(300):
            await link.call("stream::update", INCREMENT)
            await asyncio.sleep(0)
        await asyncio.to_thread(thread.join)
        await link.sync_events()
        assert delivered_on == {loop_thread}
        return seen

    seen = asyncio.run(scenario())
    assert counts(seen) == list(range(1, 601))  # every event, in the item's write order


def test_a_store_that_fsyncs_runs_off_the_loop(tmp_path: Path) -> None:
    store = MemoryStore(tmp_path / "store.log", fsync=True)
    written_on: list[int] = []
    store.watch(lambda event: written_on.append(threading.get_ident()))

    async def scenario() -> list[ChangeEvent]:
        link = StoreLink(store)
        seen: list[ChangeEvent] = []
        await link.watch(seen.append)
        for n in range(20):
            await link.call("stream::set", {**ITEM, "data": {"n": n}})
        await link.sync_events()
        assert threading.get_ident() not in written_on
        return seen

    try:
        assert counts(asyncio.run(scenario())) == list(range(20))
    finally:
        store.close()


def test_the_resync_signal_reaches_the_loop(redis_server: RedisServer) -> None:
    redis_server.flush()
    raw = redis.Redis(port=redis_server.port)

    async def scenario(store: Store | AsyncRedisStore) -> None:
        link = StoreLink(store)
        resynced = asyncio.Event()
        threads: list[int] = []

        def on_resync() -> None:
            threads.append(threading.get_ident())
            resynced.set()

        await link.watch(lambda event: None, on_resync=on_resync)
        raw.client_kill_filter(_type="pubsub")
        await asyncio.wait_for(resynced.wait(), 20)
        assert threads == [threading.get_ident()]
        link.unwatch()
        if isinstance(store, AsyncRedisStore):
            await store.close()

    try:
        sync_store = RedisStore.from_url(redis_server.url)
        asyncio.run(scenario(sync_store))
        sync_store.close()

        async def with_async_store() -> None:
            await scenario(AsyncRedisStore.from_url(redis_server.url))

        asyncio.run(with_async_store())
    finally:
        raw.close()
