"""Fixtures: a real redis-server on a free loopback port (as ``tests/backends``), in-process
servers over the memory store and over Redis, and the Node client installed by npm."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.redis_server import RedisServer
from tests.server.support import ServerThread, store_factory

NODE_DIR = Path(__file__).parent / "node"
NODE_CLIENT = NODE_DIR / "node_modules" / "@motiadev" / "stream-client-node" / "package.json"


@pytest.fixture(params=["memory", "redis"])
def store_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def start_server(
    store_kind: str, redis_server: RedisServer
) -> Iterator[Callable[..., ServerThread]]:
    """``start_server(**options)``: a server over the parametrised store, stopped afterwards."""
    started: list[ServerThread] = []

    def start(**options: object) -> ServerThread:
        server = ServerThread(store_factory(store_kind, redis_server), **options)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def node() -> str:
    """The ``node`` binary, with the client installed from the committed lock file."""
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm is not None and node is not None, "the Node client test needs node and npm"
    if not NODE_CLIENT.exists():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=600,
        )
    return node
