"""Drive an ``AsyncStore`` (an ``AsyncRedisStore``, or any store's ``as_async()`` face) from
synchronous tests, so that the one backend suite runs against it too: its event loop runs in a
background thread, and every coroutine method is called through ``run_coroutine_threadsafe``."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any

from iii_core.backends import AsyncStore, MemoryStore
from iii_core.backends.redis_async import AsyncRedisStore


class SyncFacade:
    """``SyncFacade(url)`` drives an ``AsyncRedisStore`` on ``url``; ``SyncFacade(open=...)``
    drives the ``AsyncStore`` that ``open()`` returns (called on the facade's loop)."""

    def __init__(self, url: str = "", *, open: Callable[[], AsyncStore] | None = None) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        opener = open or (lambda: AsyncRedisStore.from_url(url))
        self.store: AsyncStore = self._run(self._open(opener))
        # The memory store's quirks (insertion order, emptied groups listed) hold through it.
        self.memory = isinstance(getattr(self.store, "store", None), MemoryStore)

    @staticmethod
    async def _open(opener: Callable[[], AsyncStore]) -> AsyncStore:
        return opener()

    def _run(self, awaitable: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(awaitable, self._loop).result(timeout=120)

    @property
    def max_value_bytes(self) -> int | None:
        return self.store.max_value_bytes

    @max_value_bytes.setter
    def max_value_bytes(self, limit: int | None) -> None:
        self.store.max_value_bytes = limit

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.store, name)
        if not inspect.iscoroutinefunction(method):
            raise AttributeError(name)

        def run(*args: Any, **kwargs: Any) -> Any:
            return self._run(method(*args, **kwargs))

        return run

    def close(self) -> None:
        self._run(self.store.close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()


def keeps_memory_order(store: object) -> bool:
    """Whether ``store`` is (or faces) a memory store, with the engine kv's list order."""
    return isinstance(store, MemoryStore) or getattr(store, "memory", False) is True
