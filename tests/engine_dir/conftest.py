"""Fixtures: the engine directory store on a fresh data directory; a real 3-primary Redis
Cluster for the copy tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from iii_core.backends import Store
from iii_core.backends.engine_dir import EngineDirStore
from tests.redis_cluster import RedisCluster


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = EngineDirStore(tmp_path / "data")
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def redis_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[RedisCluster]]:
    """Two clusters of three primaries (no replicas), so that a copy can go from one cluster to
    another (tests/redis_cluster.py: the suite's one cluster fixture)."""
    clusters = [RedisCluster(tmp_path_factory.mktemp("cluster"), replicas=0) for _ in range(2)]
    try:
        for cluster in clusters:
            cluster.start()
        yield clusters
    finally:
        for cluster in clusters:
            cluster.stop()
