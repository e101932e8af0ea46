"""Fixtures: every backend test runs, through the same methods, against the memory store, the
durable memory store, a real Redis (a redis-server started here on a free loopback port) with
the sync and the async store, and the asynchronous faces (``as_async()``) of a durable memory
store with fsync (its calls run in worker threads) and of a sync Redis store, and a real
3-primary Redis Cluster (sync and async)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest
import redis

from iii_core.backends import MemoryStore, Store
from iii_core.backends.redis import RedisStore
from iii_core.backends.redis_async import AsyncRedisStore
from tests.backends.async_facade import SyncFacade
from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer


@pytest.fixture(
    params=[
        "memory",
        "memory-durable",
        "redis",
        "redis-async",
        "memory-fsync-face",
        "redis-face",
        "redis-cluster",
        "redis-cluster-async",
    ]
)
def store(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> Iterator[Store]:
    if request.param.startswith("redis-cluster"):
        cluster: RedisCluster = request.getfixturevalue("redis_cluster")
        cluster.flush()
        if request.param == "redis-cluster":
            opened: Store = RedisStore.from_cluster_url(cluster.url)
        else:
            opened = cast(
                Store, SyncFacade(open=lambda: AsyncRedisStore.from_cluster_url(cluster.url))
            )
    elif request.param == "memory":
        opened = MemoryStore()
    elif request.param == "memory-durable":
        opened = MemoryStore(tmp_path / "store.log")
    elif request.param == "redis":
        redis_server.flush()
        opened = RedisStore.from_url(redis_server.url)
    elif request.param == "redis-async":
        redis_server.flush()
        # The facade has the same methods as a Store, run on AsyncRedisStore's event loop.
        opened = cast(Store, SyncFacade(redis_server.url))
    elif request.param == "memory-fsync-face":
        path = tmp_path / "store.log"
        opened = cast(Store, SyncFacade(open=lambda: MemoryStore(path, fsync=True).as_async()))
    else:
        redis_server.flush()
        opened = cast(
            Store, SyncFacade(open=lambda: RedisStore.from_url(redis_server.url).as_async())
        )
    yield opened
    opened.close()


@pytest.fixture(params=["redis", "redis-async"])
def shared_store(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[Store]:
    """A store shared between processes: Redis, sync and async (through ``SyncFacade``)."""
    redis_server.flush()
    opened: Store = (
        RedisStore.from_url(redis_server.url)
        if request.param == "redis"
        else cast(Store, SyncFacade(redis_server.url))
    )
    yield opened
    opened.close()


@pytest.fixture
def raw(redis_server: RedisServer) -> Iterator[redis.Redis]:
    """A plain redis-py client on the test's Redis, to look under the store."""
    client = redis.Redis(port=redis_server.port)
    yield client
    client.close()
