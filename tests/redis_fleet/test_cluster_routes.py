"""The routing design on a real 3-primary Redis Cluster: a route channel is served by the
primary that owns its group's hash, so the one-key write script can SPUBLISH it, and a shard
subscriber of that channel receives it (and a subscriber of another group's channel does not)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from redis.cluster import RedisCluster as ClusterClient

from iii_core.backends._event_routing import key_slot, route_channel
from tests.redis_cluster import RedisCluster

KEYS = [
    "stream:chat:room",
    "stream:chat:other",
    "state:users",
    "stream:{a}:b",
    "stream:a}b:c",
    "state:}{",
    "stream:é:ü",
]

# Writes one field and shard-publishes to ARGV[3] from inside the script, as the store's
# compare-and-set does: Redis refuses it unless the channel is in the key's slot.
WRITE_AND_PUBLISH = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return redis.call('SPUBLISH', ARGV[3], ARGV[2])
"""


@pytest.fixture
def client(redis_cluster: RedisCluster) -> Iterator[ClusterClient]:
    redis_cluster.flush()
    opened = ClusterClient.from_url(redis_cluster.url)
    yield opened
    opened.close()


def test_the_cluster_has_three_primaries_each_with_a_replica(redis_cluster: RedisCluster) -> None:
    assert len(redis_cluster.primaries()) == 3
    assert sorted(node.role() for node in redis_cluster.nodes) == ["master"] * 3 + ["slave"] * 3


@pytest.mark.parametrize("key", KEYS)
def test_slots_agree_with_the_cluster(client: ClusterClient, key: str) -> None:
    assert client.cluster_keyslot(key) == key_slot(key)
    assert client.cluster_keyslot(route_channel(key)) == key_slot(key)


def test_the_write_script_publishes_on_its_shard(client: ClusterClient) -> None:
    script = client.register_script(WRITE_AND_PUBLISH)
    pubsub = client.pubsub()  # type: ignore[no-untyped-call]
    try:
        for key in KEYS:
            pubsub.ssubscribe(route_channel(key))
        deadline = time.monotonic() + 10
        confirmed = 0
        while confirmed < len(KEYS) and time.monotonic() < deadline:
            message = pubsub.get_sharded_message(timeout=0.1)
            confirmed += message is not None and message["type"] == "ssubscribe"
        assert confirmed == len(KEYS)
        for index, key in enumerate(KEYS):
            assert script(keys=[key], args=["f", str(index), route_channel(key)]) == 1
        received: dict[str, bytes] = {}
        while len(received) < len(KEYS) and time.monotonic() < deadline:
            message = pubsub.get_sharded_message(timeout=0.1)
            if message is not None and message["type"] == "smessage":
                channel = message["channel"].decode()
                assert channel not in received
                received[channel] = message["data"]
        assert received == {route_channel(key): str(i).encode() for i, key in enumerate(KEYS)}
    finally:
        pubsub.close()
