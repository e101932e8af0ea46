"""Fixtures shared by every test folder: one real redis-server for the whole session, on a free
loopback port (see tests/redis_server.py), and one real Redis Cluster, started only by the tests
that ask for it (see tests/redis_cluster.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_cluster import RedisCluster
from tests.redis_server import RedisServer


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    """A real 3-primary Redis Cluster with a replica each (see tests/redis_cluster.py)."""
    cluster = RedisCluster(tmp_path_factory.mktemp("redis-cluster"))
    cluster.start()
    yield cluster
    cluster.stop()
