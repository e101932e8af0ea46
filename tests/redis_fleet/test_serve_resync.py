"""``iii-core serve --redis``: when its Redis pub/sub connection drops, the events published
meanwhile are gone, so the store signals a resync and the server sends every live subscription
a fresh ``sync`` (``StreamServer.resync``), which holds the write it never heard of.

The drop is caused for real, both ways Redis does it: ``CLIENT KILL TYPE pubsub``, and the
subscriber output-buffer limit, overrun by the very event of the missed write."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from websockets.sync.client import connect

from tests.redis_server import RedisServer
from tests.server.support import ServeProcess, join

BIG = "x" * 400_000  # one event of it overruns a 256 KB subscriber output buffer


def write_unheard_then_kill(raw: redis.Redis, server: ServeProcess) -> Any:
    # Written past iii-core (no event at all), then the connection dropped: the server can
    # only learn of it from the resync.
    raw.hset("stream:s:g", "i", json.dumps({"n": 1}))
    raw.client_kill_filter(_type="pubsub")
    return {"n": 1}


def write_over_the_output_buffer(raw: redis.Redis, server: ServeProcess) -> Any:
    # Redis drops the server's subscriber connection rather than send it this event.
    server.call("stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": BIG})
    return BIG


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    redis_server.flush()
    client = redis.Redis.from_url(redis_server.url)
    limits: Any = client.config_get("client-output-buffer-limit")["client-output-buffer-limit"]
    client.config_set("client-output-buffer-limit", "pubsub 256kb 128kb 60")
    try:
        yield client
    finally:
        client.config_set("client-output-buffer-limit", limits)
        client.close()


@pytest.mark.parametrize(
    "drop", [write_unheard_then_kill, write_over_the_output_buffer], ids=["kill", "buffer"]
)
def test_a_dropped_pubsub_connection_sends_subscribers_a_fresh_sync(
    redis_server: RedisServer,
    raw: redis.Redis,
    drop: Callable[[redis.Redis, ServeProcess], Any],
) -> None:
    server = ServeProcess("--redis", redis_server.url, "--max-buffer", str(4 << 20))
    try:
        with connect(server.url, open_timeout=10, max_size=None) as client:
            assert join(client, "a", group="g")["event"] == {"type": "sync", "data": []}
            missed = drop(raw, server)
            resync = json.loads(client.recv(timeout=30))
            assert resync["event"] == {"type": "sync", "data": [missed]}
            assert server.stats()["subscriptions"] == 1
            # Listening again: the next write arrives as a change, once.
            server.call(
                "stream::set", {"stream_name": "s", "group_id": "g", "item_id": "i", "data": 2}
            )
            change = json.loads(client.recv(timeout=30))["event"]
            assert (change["type"], change["data"]) == ("update", 2)
            with pytest.raises(TimeoutError):
                client.recv(timeout=0.5)
        assert b"synced again" in server.stderr()
    finally:
        assert server.stop() == 0


def test_one_drop_is_one_fresh_sync_per_subscription(
    redis_server: RedisServer, raw: redis.Redis
) -> None:
    # Three groups followed on the one pub/sub connection: each reports the drop, the server
    # resyncs once.
    server = ServeProcess("--redis", redis_server.url)
    try:
        with connect(server.url, open_timeout=10) as client:
            for group in ("g1", "g2", "g3"):
                assert join(client, group, group=group)["event"]["type"] == "sync"
            raw.client_kill_filter(_type="pubsub")
            resynced = sorted(json.loads(client.recv(timeout=30))["groupId"] for _ in range(3))
            assert resynced == ["g1", "g2", "g3"]
            with pytest.raises(TimeoutError):
                client.recv(timeout=1)
    finally:
        assert server.stop() == 0
