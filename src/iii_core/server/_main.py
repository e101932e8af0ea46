"""``iii-core serve``: run a :class:`StreamServer` until SIGINT or SIGTERM.

Rules: a binding. The store is the embedded ``MemoryStore`` (durable with a data file) or an
``AsyncRedisStore``, where the events of every process on that Redis reach every subscriber.
One line on standard output announces the address once the server listens (with the port it
picked, for port 0); the store is closed on the way out.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import TYPE_CHECKING

from iii_core.backends import MemoryStore
from iii_core.server._server import (
    DEFAULT_HOST,
    DEFAULT_MAX_BUFFERED_BYTES,
    DEFAULT_PORT,
    StreamServer,
)
from iii_core.store import StoreCallError

if TYPE_CHECKING:
    from iii_core.backends.redis_async import AsyncRedisStore

__all__ = ["serve"]


def _open_store(data: str | None, redis_url: str | None) -> MemoryStore | AsyncRedisStore:
    if redis_url is None:
        return MemoryStore(data)
    from iii_core.backends.redis_async import AsyncRedisStore

    return AsyncRedisStore.from_url(redis_url)


async def _serve(
    host: str, port: int, data: str | None, redis_url: str | None, max_buffered_bytes: int
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    store = _open_store(data, redis_url)
    try:
        server = StreamServer(store, host=host, port=port, max_buffered_bytes=max_buffered_bytes)
        async with server:
            where = f"{server.host}:{server.port}"
            print(
                f"iii-core serve: listening on {where} "
                f"(WebSocket ws://{where}/, calls POST http://{where}/call/<function_id>)",
                flush=True,
            )
            await stop.wait()
    finally:
        if isinstance(store, MemoryStore):
            store.close()
        else:
            await store.close()


def serve(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
    data: str | None = None,
    redis_url: str | None = None,
) -> int:
    """Serve until SIGINT or SIGTERM; returns the exit status (1 if the address cannot be
    bound)."""
    try:
        asyncio.run(_serve(host, port, data, redis_url, max_buffered_bytes))
    except OSError as exc:
        print(f"iii-core serve: {exc}", file=sys.stderr)
        return 1
    except StoreCallError as exc:  # the store cannot be opened or reached (Redis down)
        print(f"iii-core serve: {exc.message}", file=sys.stderr)
        return 1
    return 0
