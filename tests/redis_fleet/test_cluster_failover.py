"""A Redis Cluster failover for real: a primary is killed with SIGKILL and its replica promoted.
Calls to its slots fail with STORE_UNAVAILABLE (never anything else, never a hang) until the
cluster has recovered; nothing acknowledged is lost (every node fsyncs every write, and the
store waits for a replica's acknowledgement of each write); the other shards keep serving."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from redis.cluster import RedisCluster as ClusterClient

from iii_core.backends.redis import RedisStore
from iii_core.store import StoreCallError
from tests.redis_cluster import ClusterNode, RedisCluster

SCOPES = [f"scope{n}" for n in range(12)]


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[RedisCluster]:
    """A cluster of its own: this test breaks it."""
    started = RedisCluster(tmp_path / "failover")
    started.start()
    yield started
    started.stop()


def owner(cluster: RedisCluster, hash_key: str) -> ClusterNode:
    client = ClusterClient.from_url(cluster.url)
    try:
        port = client.get_node_from_key(hash_key).port  # type: ignore[no-untyped-call]
    finally:
        client.close()
    return next(node for node in cluster.nodes if node.port == int(port))


def write(store: RedisStore, scope: str, n: int) -> bool:
    """Whether the write was acknowledged; an unavailable store is the only failure allowed."""
    try:
        store.call("state::set", {"scope": scope, "key": "k", "value": n})
    except StoreCallError as exc:
        assert exc.code == "STORE_UNAVAILABLE", exc
        return False
    return True


def test_a_killed_primary_loses_nothing_acknowledged(cluster: RedisCluster) -> None:
    store = RedisStore.from_cluster_url(cluster.url, replica_acks=1)
    acknowledged: dict[str, int] = {}
    attempted: dict[str, int] = {}
    counter = 0

    def write_all() -> list[str]:
        nonlocal counter
        failed = []
        for scope in SCOPES:
            counter += 1
            attempted[scope] = counter
            if write(store, scope, counter):
                acknowledged[scope] = counter
            else:
                failed.append(scope)
        return failed

    try:
        assert write_all() == []
        victim = owner(cluster, "state:scope0")
        its_scopes = {s for s in SCOPES if owner(cluster, f"state:{s}") is victim}
        victim.kill()

        # Until a replica has taken over and the old primary is back as its replica, the
        # victim's scopes fail (unavailable, or no replica to acknowledge); the others never do.
        saw_failures = False
        restarted = False
        deadline = time.monotonic() + 90
        while True:
            assert time.monotonic() < deadline, "the cluster did not recover"
            failed = set(write_all())
            assert failed <= its_scopes
            saw_failures = saw_failures or bool(failed)
            if not failed and restarted:
                break
            if not restarted and len(cluster.primaries()) == 3:
                victim.start()  # it rejoins as the replica of its promoted replica
                restarted = True
            time.sleep(0.1)
        assert saw_failures
        assert victim.role() == "slave"
    finally:
        store.close()

    with RedisStore.from_cluster_url(cluster.url) as reader:
        for scope in SCOPES:
            value = reader.call("state::get", {"scope": scope, "key": "k"})
            # The last acknowledged write, or a later attempt that failed only on its reply.
            assert acknowledged[scope] <= value <= attempted[scope], scope
