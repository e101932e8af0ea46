"""Fixtures: every backend test runs against the memory store, the durable memory store and a
real Redis (a redis-server started here on a free loopback port)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import cast

import pytest

from iii_core.backends import MemoryStore, Store
from iii_core.backends.redis import RedisStore
from tests.backends.async_facade import SyncFacade
from tests.redis_server import RedisServer


@pytest.fixture(params=["memory", "memory-durable", "redis", "redis-async"])
def store(
    request: pytest.FixtureRequest, tmp_path: Path, redis_server: RedisServer
) -> Iterator[Store]:
    if request.param == "memory":
        opened: Store = MemoryStore()
    elif request.param == "memory-durable":
        opened = MemoryStore(tmp_path / "store.log")
    elif request.param == "redis":
        redis_server.flush()
        opened = RedisStore.from_url(redis_server.url)
    else:
        redis_server.flush()
        # The facade has the same methods as a Store, run on AsyncRedisStore's event loop.
        opened = cast(Store, SyncFacade(redis_server.url))
    yield opened
    opened.close()
