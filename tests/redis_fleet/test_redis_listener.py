"""The Redis listeners on a real redis-server and a real 3-primary cluster, sync and async:
each process listens on the channels its subscriptions need, decodes only the events of the
groups it serves (by counter), gets each change exactly once, iii-core's and the engine's alike,
and stops listening when the last subscription of a channel goes."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
import redis.asyncio as aioredis
from redis.cluster import RedisCluster as ClusterClient

from iii_core._generated.state import StateTriggerConfig
from iii_core._generated.stream import StreamTriggerConfig
from iii_core.backends._engine_channel import ENGINE_CHANNEL
from iii_core.backends._event_routing import publish_commands, route_channel
from iii_core.backends._redis_listener import AsyncEventListener, EventListener
from iii_core.store._events import item_change, state_event, stream_event
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer


def change(group: str, item: str, n: int) -> Any:
    return stream_event(
        now_ms=n, stream_name="chat", group_id=group, item_id=item, change=item_change("create", n)
    )


def engine_message(group: str, item: str, n: int) -> bytes:
    """A StreamWrapperMessage exactly as serde_json writes it."""
    return (
        f'{{"type":"stream","timestamp":{n},"streamName":"chat","groupId":"{group}",'
        f'"id":"{item}","event":{{"type":"update","data":{{"n":{n}}}}}}}'
    ).encode()


class Process:
    """One listener, as one iii-core process would have it, sync or async (on its own loop)."""

    def __init__(self, url: str, *, cluster: bool, asynchronous: bool, engine: bool = True):
        self.cluster = cluster
        self.asynchronous = asynchronous
        if asynchronous:
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()
            self.client = self._run(self._async_client(url))
            self.listener: Any = AsyncEventListener(
                self.client, cluster=cluster, engine_channel=engine
            )
        else:
            self.client = ClusterClient.from_url(url) if cluster else redis.Redis.from_url(url)
            self.listener = EventListener(self.client, cluster=cluster, engine_channel=engine)

    async def _async_client(self, url: str) -> Any:
        if self.cluster:
            return aioredis.RedisCluster.from_url(url)
        return aioredis.Redis.from_url(url)

    def _run(self, awaitable: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(awaitable, self.loop).result(timeout=60)

    def add(self, config: Any, handler: Callable[[Any], None]) -> Callable[[], None]:
        if self.asynchronous:
            unsubscribe: Callable[[], None] = self._run(self.listener.add(config, handler))

            def on_loop() -> None:
                self.loop.call_soon_threadsafe(unsubscribe)

            return on_loop
        result: Callable[[], None] = self.listener.add(config, handler)
        return result

    def sync(self) -> None:
        if self.asynchronous:
            self._run(self.listener.sync(10))
        else:
            self.listener.sync(10)

    def counts(self) -> dict[str, Any]:
        if self.asynchronous:

            async def read() -> dict[str, Any]:
                result: dict[str, Any] = self.listener.counts()
                return result

            return self._run(read())  # type: ignore[no-any-return]
        return self.listener.counts()  # type: ignore[no-any-return]

    def close(self) -> None:
        if self.asynchronous:
            self._run(self.listener.close())
            self._run(self.client.aclose())
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()
        else:
            self.listener.close()
            self.client.close()


@pytest.fixture(params=["redis", "redis-async", "cluster", "cluster-async"])
def deployment(
    request: pytest.FixtureRequest, redis_server: RedisServer, redis_cluster: RedisCluster
) -> Iterator[tuple[str, bool, bool, Any]]:
    cluster = request.param.startswith("cluster")
    asynchronous = request.param.endswith("async")
    url = redis_cluster.url if cluster else redis_server.url
    writer: Any = ClusterClient.from_url(url) if cluster else redis.Redis.from_url(url)
    yield url, cluster, asynchronous, writer
    writer.close()


def write(writer: Any, events: list[Any], *, cluster: bool, engine: bool = True) -> None:
    """Publish as an iii-core write does (the store's script runs the same commands)."""
    for command, channel, message in publish_commands(
        events, engine_channel=engine, cluster=cluster
    ):
        writer.execute_command(command, channel, message)


def test_each_process_decodes_only_its_groups(deployment: tuple[str, bool, bool, Any]) -> None:
    url, cluster, asynchronous, writer = deployment
    room = Process(url, cluster=cluster, asynchronous=asynchronous)
    other = Process(url, cluster=cluster, asynchronous=asynchronous)
    idle = Process(url, cluster=cluster, asynchronous=asynchronous)
    try:
        got_room: list[Any] = []
        got_other: list[Any] = []
        room.add(StreamTriggerConfig(stream_name="chat", group_id="room"), got_room.append)
        other.add(StreamTriggerConfig(stream_name="chat", group_id="other"), got_other.append)
        idle.add(StateTriggerConfig(scope="nobody"), lambda e: None)
        write(writer, [change("room", f"m{n}", n) for n in range(5)], cluster=cluster)
        write(writer, [change("other", f"m{n}", n) for n in range(3)], cluster=cluster)
        write(writer, [state_event("state:created", "elsewhere", "k", None, 1)], cluster=cluster)
        for process in (room, other, idle):
            process.sync()
        assert [e.timestamp for e in got_room] == list(range(5))
        assert [e.timestamp for e in got_other] == list(range(3))
        # Each decoded exactly its own group's events; iii-core's copies on the engine channel
        # were received and skipped undecoded.
        assert room.counts()["events_decoded"] == 5
        assert other.counts()["events_decoded"] == 3
        assert room.counts()["events_received"] == 5 + 8
        assert idle.counts()["events_decoded"] == 0
        assert idle.counts()["events_received"] == 0
    finally:
        for process in (room, other, idle):
            process.close()


def test_engine_writes_and_iii_core_writes_reach_every_subscriber_once(
    deployment: tuple[str, bool, bool, Any],
) -> None:
    url, cluster, asynchronous, writer = deployment
    process = Process(url, cluster=cluster, asynchronous=asynchronous)
    try:
        narrow: list[Any] = []
        wide: list[Any] = []
        everything: list[Any] = []
        process.add(StreamTriggerConfig(stream_name="chat", group_id="room"), narrow.append)
        process.add(StreamTriggerConfig(stream_name="chat"), wide.append)
        process.add(None, everything.append)
        write(writer, [change("room", "a", 1)], cluster=cluster)
        writer.execute_command("PUBLISH", ENGINE_CHANNEL, engine_message("room", "b", 2))
        writer.execute_command("PUBLISH", ENGINE_CHANNEL, engine_message("hall", "c", 3))
        write(writer, [state_event("state:created", "s", "k", None, 4)], cluster=cluster)
        writer.execute_command("PUBLISH", ENGINE_CHANNEL, b"not a change event")
        process.sync()
        assert [(e.group_id, e.id) for e in narrow] == [("room", "a"), ("room", "b")]
        assert sorted((e.group_id, e.id) for e in wide) == [
            ("hall", "c"),
            ("room", "a"),
            ("room", "b"),
        ]
        assert sorted(getattr(e, "id", None) or e.scope for e in everything) == ["a", "b", "c", "s"]
        assert narrow[1].event.type == "update" and narrow[1].event.data == {"n": 2}
        assert process.counts()["events_ignored"] == 1
    finally:
        process.close()


def test_the_engine_channel_can_be_turned_off(deployment: tuple[str, bool, bool, Any]) -> None:
    url, cluster, asynchronous, writer = deployment
    process = Process(url, cluster=cluster, asynchronous=asynchronous, engine=False)
    try:
        narrow: list[Any] = []
        everything: list[Any] = []
        process.add(StreamTriggerConfig(stream_name="chat", group_id="room"), narrow.append)
        process.add(None, everything.append)
        write(writer, [change("room", "a", 1)], cluster=cluster, engine=False)
        writer.execute_command("PUBLISH", ENGINE_CHANNEL, engine_message("room", "b", 2))
        process.sync()
        assert [e.id for e in narrow] == ["a"]
        assert [e.id for e in everything] == ["a"]
    finally:
        process.close()


def listened(writer: Any, channel: str, *, cluster: bool) -> bool:
    if cluster:
        node = writer.get_node_from_key(channel)
        found = writer.execute_command("PUBSUB SHARDCHANNELS", channel, target_nodes=node)
    else:
        found = writer.execute_command("PUBSUB CHANNELS", channel)
    return bool(found)


def test_channels_follow_the_subscriptions(deployment: tuple[str, bool, bool, Any]) -> None:
    url, cluster, asynchronous, writer = deployment
    process = Process(url, cluster=cluster, asynchronous=asynchronous)
    channel = route_channel("stream:chat:gone")
    try:
        first = process.add(StreamTriggerConfig(stream_name="chat", group_id="gone"), print)
        second = process.add(StreamTriggerConfig(stream_name="chat", group_id="gone"), print)
        assert listened(writer, channel, cluster=cluster)
        first()
        process.sync()
        assert listened(writer, channel, cluster=cluster)
        second()
        deadline = time.monotonic() + 10
        while listened(writer, channel, cluster=cluster):
            assert time.monotonic() < deadline, "the route channel is still listened on"
            time.sleep(0.02)
    finally:
        process.close()


def test_a_handler_may_subscribe(deployment: tuple[str, bool, bool, Any]) -> None:
    url, cluster, asynchronous, writer = deployment
    process = Process(url, cluster=cluster, asynchronous=asynchronous)
    try:
        later: list[Any] = []
        added: list[Callable[[], None]] = []

        config = StreamTriggerConfig(stream_name="chat", group_id="later")

        # Runs in the listener (its thread, or awaited in its task): it cannot wait for its own
        # confirmation there, and does not.
        def subscribe_another(event: Any) -> None:
            if not added:
                added.append(process.listener.add(config, later.append))

        async def subscribe_another_async(event: Any) -> None:
            if not added:
                added.append(await process.listener.add(config, later.append))

        process.add(
            StreamTriggerConfig(stream_name="chat", group_id="first"),
            subscribe_another_async if asynchronous else subscribe_another,  # type: ignore[arg-type]
        )
        write(writer, [change("first", "a", 1)], cluster=cluster)
        process.sync()
        assert len(added) == 1
        deadline = time.monotonic() + 10
        n = 2
        while not later:
            assert time.monotonic() < deadline, "the handler's subscription never took effect"
            write(writer, [change("later", f"b{n}", n)], cluster=cluster)
            process.sync()
            n += 1
        assert [e.group_id for e in later] == ["later"] * len(later)
    finally:
        process.close()
